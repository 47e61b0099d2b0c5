"""End to end: every page deep-linked on a freshly started server, in headless Chromium.

No exception box, no "Page not found", the synthetic-data notice on every page, no error
in the browser's console, no request answered with an error (Streamlit's page used to
look for its server under the page's own path first: two 404s on every page but home),
and no request to any host but the app's own. Screenshots are kept in test-artifacts/.
"""

from __future__ import annotations

import urllib.parse

import pytest

from tests.browser.conftest import open_page, screenshot, wait_ready

pytestmark = pytest.mark.browser

# The first entry is deep-linked first on a freshly started server (the case where
# legacy pages/ discovery used to show a spurious "Page not found").
PAGES = [
    ("metric", "/metric?metric=secondary_referrals&breakdown=ethnicity"),
    ("overview", "/"),
    ("overview_by_path", "/overview?from=2020-04&to=2021-03&lcn=North"),
    ("metric_money", "/metric?metric=pooled_spend"),
    ("metric_rate", "/metric?metric=detention_rate&breakdown=ethnicity"),
    ("outcomes", "/outcomes"),
    ("showcase", "/showcase?slide=3"),
    ("catalogue", "/catalogue?metric=detention_rate"),
    ("editor", "/editor?metric=open_referrals"),
    ("diagnostics", "/diagnostics"),
    ("money", "/money?year=2024/25"),
    ("data_quality", "/data_quality"),
    ("equity", "/equity?metric=detention_rate&by=ethnicity&reference=White"),
    ("access", "/access?lcn=South%20East"),
    ("crisis", "/crisis?from=2021-04&to=2025-03"),
    ("impact", "/impact?metric=secondary_referrals&intervention=hub_scale_up&breakdown=lcn"),
    ("impact_explore", "/impact?metric=acute_admissions&intervention=hub_scale_up&model=negbin"),
]


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_deep_links_cleanly(browser_session, server, name, path):
    page = browser_session.context.new_page()
    console_errors: list[str] = []
    failed: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto(server.url + path)
        wait_ready(page)
        body = page.inner_text("body")
        screenshot(page, name)
        assert page.locator('[data-testid="stException"]').count() == 0, body[:2000]
        assert "Page not found" not in body
        assert "Synthetic data" in body
        assert "Traceback" not in body
        assert failed == [] and console_errors == [], (failed, console_errors)
    finally:
        page.close()
    assert browser_session.foreign_requests == []


def test_filters_live_in_the_url_and_persist_across_pages(browser_session, server):
    page = open_page(browser_session, server.url + "/?from=2020-04&to=2021-03")
    try:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert query["from"] == ["2020-04"] and query["to"] == ["2021-03"]
        # choose a neighbourhood in the sidebar
        page.get_by_label("Neighbourhood (Local Care Network)").click()
        page.get_by_role("option", name="North").click()
        page.wait_for_function("() => location.search.includes('lcn=North')")
        wait_ready(page)
        assert "North" in page.inner_text("body")
        # move to another page through the navigation menu: the filters come along
        page.get_by_text("Analysis", exact=True).click()  # the top navigation's section menu
        page.get_by_text("Metric detail", exact=True).click()
        page.wait_for_function("() => location.pathname.endsWith('/metric')")
        wait_ready(page)
        page.wait_for_function("() => location.search.includes('lcn=North')")
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        assert query["from"] == ["2020-04"] and query["lcn"] == ["North"]
        assert "Synthetic data" in page.inner_text("body")
        screenshot(page, "metric_after_navigation")
    finally:
        page.close()
    assert browser_session.foreign_requests == []


def test_an_unknown_page_gets_the_sites_own_calm_page(browser_session, server):
    page = open_page(browser_session, server.url + "/no_such_page?from=2020-04")
    try:
        body = page.inner_text("body")
        screenshot(page, "not_found")
        assert page.locator("h1").first.inner_text() == "Page not found"
        assert "does not lead to a page of this board" in body
        # Streamlit's own pop-up ("You have requested page ...") is not shown.
        assert "You have requested page" not in body
        assert page.locator('[role="dialog"]').count() == 0
        home = page.get_by_role("link", name="Go to Overview")
        home.click()
        page.wait_for_function("() => !location.pathname.endsWith('/no_such_page')")
        wait_ready(page)
        assert "Needs the board's attention" in page.inner_text("body")
    finally:
        page.close()
    assert browser_session.foreign_requests == []
