"""The script a page's HTML carries (metrics/ui/backend_base.py) names the site's address
in the browser: the browser's address less the page's path as the server received it, so a
proxy that strips a prefix (/board) is still right. Run in Chromium on pages served by a
Playwright route (no server, no network)."""

from __future__ import annotations

import pytest

from metrics.ui.backend_base import base_script

pytestmark = pytest.mark.browser

CASES = [
    ("http://site.test/", "", "http://site.test/"),
    ("http://site.test/metric?metric=detention_rate", "/metric", "http://site.test/"),
    ("http://site.test/metric/", "/metric", "http://site.test/"),
    ("http://site.test/South%20East", "/South%20East", "http://site.test/"),
    # Behind a proxy that serves the site at /board and strips it before the server.
    ("http://site.test/board/metric", "/metric", "http://site.test/board/"),
    ("http://site.test/board/", "", "http://site.test/board/"),
    # server.baseUrlPath = board (the server receives /board/metric; its page is /metric).
    ("http://site.test:8501/board/equity", "/equity", "http://site.test:8501/board/"),
]


@pytest.mark.parametrize(("url", "page", "expected"), CASES)
def test_the_script_names_the_sites_address(chromium_browser, url, page, expected):
    context = chromium_browser.new_context()
    html = b"<!DOCTYPE html><html><head>" + base_script(page) + b"</head><body></body></html>"
    context.route(
        "**/*", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
    )
    try:
        tab = context.new_page()
        tab.goto(url)
        assert tab.evaluate("() => window.__streamlit.BACKEND_BASE_URL") == expected
    finally:
        context.close()
