"""Accessibility: axe-core in headless Chromium on every page of the site (WCAG 2.2 AA).

Public sector sites must meet WCAG 2.2 AA. For every page (the deep links of
test_pages_e2e.PAGES, plus the analysts' pages and the showcase), with every expander
opened so that its contents are checked too:

* axe-core (pinned in tests/a11y/package.json, installed by `npm ci --prefix tests/a11y`)
  finds no violation of impact "serious" or "critical" under the WCAG 2.0/2.1/2.2 A and
  AA rules;
* every chart drawn by Vega (our Altair charts and the sparklines of st.metric) has a text
  alternative that assistive technology can reach;
* every SPC icon <img> says in words what it means.

The axe results of each page are kept in test-artifacts/axe/<page>.json. Without
axe-core the tests are skipped locally and fail in CI (CI set), where it is installed.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ROOT, Browser, Server, open_page, wait_ready
from tests.browser.test_pages_e2e import PAGES

pytestmark = pytest.mark.browser

AXE_JS = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "axe"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe tags its rules by the criteria they test).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class Exclusion:
    """One axe rule on one element that the app cannot fix because Streamlit draws it.

    Only ever an exact rule + selector, never a whole rule or a whole component, and each
    with the Streamlit component and the reason, so it can be dropped once Streamlit is
    fixed."""

    rule: str
    selector: str
    component: str
    reason: str


# Every serious violation found on the pages' own content has a fix on our side (the
# theme's text colour for st.caption's contrast, our own described sparkline instead of
# st.metric's chart_data, wrapped st.code blocks). Add an entry only for a defect inside
# Streamlit's own chrome that no config or markup of ours can reach.
NAV_REASON = (
    "On a narrow screen st.navigation(position='top') moves the page links into the "
    "sidebar, where Streamlit 1.67 wraps each section's <li> items in a <div> directly "
    "inside the <ul> (no config or markup of ours reaches it; at 1400 px the links are in "
    "the top bar and pass)."
)
EXCLUSIONS: tuple[Exclusion, ...] = (
    Exclusion("list", '[data-testid="stSidebarNavItems"]', "st.navigation", NAV_REASON),
    Exclusion("listitem", '[data-testid="stSidebarNavItems"] li', "st.navigation", NAV_REASON),
)

# Pages that test_pages_e2e may not deep-link: the analysts' pages and two more showcase
# slides (the ITS slide with a story, an SPC slide). An entry whose name PAGES already has
# is left out; any page file that neither list opens is added at its own stem.
EXTRA_PAGES: list[tuple[str, str]] = [
    ("catalogue", "/catalogue?metric=secondary_referrals"),
    ("editor", "/editor?metric=secondary_referrals"),
    ("diagnostics", "/diagnostics"),
]
if (ROOT / "pages" / "showcase.py").exists():
    EXTRA_PAGES += [("showcase_story", "/showcase?slide=1"), ("showcase_spc", "/showcase?slide=2")]

# Pages that always show at least one SPC panel, so the icon check is never empty there.
SPC_ICON_PAGES = {"access", "crisis", "metric_money"}


def _stem(path: str) -> str:
    """The page file a deep link opens ("/" is the Overview, the home page)."""
    return path.split("?", 1)[0].strip("/") or "overview"


def _all_pages() -> list[tuple[str, str]]:
    """PAGES, the EXTRA_PAGES it lacks, and any page file that neither opens (so a new
    page is checked from the day it is added, not from the day someone updates a list)."""
    names = {name for name, _ in PAGES}
    pages = list(PAGES) + [(n, p) for n, p in EXTRA_PAGES if n not in names]
    covered = {_stem(path) for _, path in pages}
    for file in sorted((ROOT / "pages").glob("*.py")):
        if file.stem not in covered and not file.stem.startswith("_"):
            pages.append((file.stem, f"/{file.stem}"))
    return pages


ALL_PAGES = _all_pages()

# Sparklines of st.metric are drawn after the script has finished, like other charts, but
# conftest's READY_JS only waits for st.altair_chart (stVegaLiteChart) containers.
SPARKLINES_DRAWN_JS = """() => {
  for (const c of document.querySelectorAll('[data-testid="stMetricChart"]')) {
    if (c.checkVisibility() && !c.querySelector('svg, canvas')) return false;
  }
  return true;
}"""

# Open every closed expander (a client-side toggle: no rerun), so that what is inside
# (chart descriptions, definitions, code) is checked as well. Returns how many it opened.
OPEN_EXPANDERS_JS = """() => {
  const closed = [...document.querySelectorAll('[data-testid="stExpander"] details:not([open])')];
  for (const details of closed) details.querySelector('summary').click();
  return closed.length;
}"""

# Runs axe, drops excluded rule + element pairs (by matching the element itself), and
# returns plain JSON (the element references axe adds are not serialisable).
RUN_AXE_JS = """async ({tags, exclusions}) => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations', 'incomplete'],
    elementRef: true,
  });
  const excluded = [];
  for (const violation of results.violations) {
    violation.nodes = violation.nodes.filter((node) => {
      const rule = exclusions.find((x) => x.rule === violation.id
        && node.element && node.element.matches(x.selector));
      if (rule) excluded.push({rule: violation.id, selector: rule.selector, target: node.target});
      return !rule;
    });
  }
  results.violations = results.violations.filter((v) => v.nodes.length > 0);
  delete results.passes;
  delete results.inapplicable;
  results.excluded = excluded;
  // Element references (on nodes and their related nodes) are dropped from the JSON.
  return JSON.parse(JSON.stringify(results, (key, value) =>
    (value instanceof Node ? undefined : value)));
}"""

# The accessible name or description of every chart Vega has drawn: our Altair charts
# (stVegaLiteChart: vega-embed puts the chart's `description` in aria-label on the
# container, which has role graphics-document) and st.metric's sparklines (stMetricChart).
# Also an SVG <title>/<desc>, aria-labelledby and aria-describedby count.
CHART_TEXT_JS = """() => {
  const text = (ids) => (ids || '').split(/\\s+/).filter(Boolean)
    .map((id) => { const el = document.getElementById(id); return el ? el.textContent : ''; })
    .join(' ').trim();
  const own = (el) => {
    if (!el) return '';
    if (el.getAttribute('aria-hidden') === 'true') return '';
    return (el.getAttribute('aria-label') || '').trim()
      || text(el.getAttribute('aria-labelledby'))
      || text(el.getAttribute('aria-describedby'))
      || (el.querySelector(':scope > title, :scope > desc') || {textContent: ''})
           .textContent.trim();
  };
  const charts = [];
  const selector = '[data-testid="stVegaLiteChart"], [data-testid="stMetricChart"]';
  for (const container of document.querySelectorAll(selector)) {
    if (!container.checkVisibility()) continue;  // not drawn (an unselected tab)
    const drawing = container.querySelector('svg.marks, canvas.marks, svg, canvas');
    const label = own(container) || own(drawing)
      || own(container.querySelector('[role="graphics-document"], [role="img"]'));
    charts.push({
      kind: container.getAttribute('data-testid'),
      label: label.slice(0, 200),
      html: container.outerHTML.slice(0, 300),
    });
  }
  return charts;
}"""

# Every <img> in the page; SPC icons are the site's own icon files (metrics.spc.icon_url,
# served by metrics.ui.server.icon_route) or, in exports, inline SVG data URIs.
IMAGES_JS = """() => [...document.querySelectorAll('img')].map((img) => ({
  spc_icon: /(^data:image\\/svg\\+xml|spc-icons\\/)/.test(img.getAttribute('src') || ''),
  alt: img.getAttribute('alt'),
  src: (img.getAttribute('src') || '').slice(0, 60),
  loaded: img.complete && img.naturalWidth > 0,
}))"""


def _axe_source() -> str:
    """axe-core's browser bundle, or a skip (locally) / failure (CI) when not installed."""
    if AXE_JS.exists():
        return AXE_JS.read_text(encoding="utf-8")
    message = (
        f"axe-core is not installed ({AXE_JS.relative_to(ROOT)} is missing): "
        "run `npm ci --prefix tests/a11y`"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return _axe_source()


def _prepare(page: Any) -> int:
    """Wait for lazily drawn sparklines, open every expander, wait for what that draws."""
    page.wait_for_function(SPARKLINES_DRAWN_JS, timeout=60_000)
    opened = page.evaluate(OPEN_EXPANDERS_JS)
    if opened:
        wait_ready(page)
        page.wait_for_function(SPARKLINES_DRAWN_JS, timeout=60_000)
    return opened


def _run_axe(page: Any, source: str) -> dict[str, Any]:
    page.add_script_tag(content=source)
    exclusions = [{"rule": x.rule, "selector": x.selector} for x in EXCLUSIONS]
    return page.evaluate(RUN_AXE_JS, {"tags": WCAG_TAGS, "exclusions": exclusions})


def _save(name: str, url: str, results: dict[str, Any], opened: int) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    record = {"page": name, "url": url, "expanders_opened": opened, **results}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _describe(violations: list[dict[str, Any]]) -> str:
    """A readable failure: rule, impact, help, then up to five offending elements each."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['impact']} {violation['id']} ({len(violation['nodes'])} element(s)): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:5]:
            summary = " ".join((node.get("failureSummary") or "").split())[:300]
            lines.append(f"    {node['html'][:200]}\n      {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "path"), ALL_PAGES, ids=[p[0] for p in ALL_PAGES])
def test_page_meets_wcag_22_aa(
    browser_session: Browser, server: Server, axe_source: str, name: str, path: str
) -> None:
    url = server.url + path
    page = open_page(browser_session, url)
    try:
        _check_page(page, name, url, axe_source)
    finally:
        page.close()


# On a phone the pages are laid out differently (layout.css): the Overview's domain tables
# become cards, wide tables say they scroll sideways, the sidebar starts closed. These are
# checked too, at 390x844 as a touch screen.
PHONE = {"width": 390, "height": 844}
PHONE_PAGES = [("overview", "/"), ("money", "/money?year=2024/25")]


@pytest.fixture(scope="module")
def phone_session(server: Server, chromium_browser: Any) -> Any:
    app_host = urllib.parse.urlparse(server.url).netloc
    context = chromium_browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.route(
        "**/*",
        lambda route, request: (
            route.continue_()
            if request.url.startswith(("data:", "blob:"))
            or urllib.parse.urlparse(request.url).netloc == app_host
            else route.abort()
        ),
    )
    yield Browser(context, [], [])
    context.close()


@pytest.mark.parametrize(("name", "path"), PHONE_PAGES, ids=[p[0] for p in PHONE_PAGES])
def test_page_on_a_phone_meets_wcag_22_aa(
    phone_session: Browser, server: Server, axe_source: str, name: str, path: str
) -> None:
    url = server.url + path
    page = open_page(phone_session, url)
    try:
        if name == "overview":
            cards = page.locator(".st-key-overview_domains .board-card")
            assert cards.count() >= 10 and cards.first.is_visible(), "no cards on a phone"
        _check_page(page, f"{name}_390", url, axe_source)
    finally:
        page.close()


def _check_page(page: Any, name: str, url: str, axe_source: str) -> None:
    """axe finds nothing serious, every chart has a text alternative and every SPC icon
    says what it means (results kept in test-artifacts/axe/<name>.json)."""
    opened = _prepare(page)
    results = _run_axe(page, axe_source)
    charts = page.evaluate(CHART_TEXT_JS)
    images = page.evaluate(IMAGES_JS)
    saved = _save(name, url, results, opened)

    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{name}: axe found (full results in {saved}):\n" + _describe(blocking)

    unnamed = [c for c in charts if not c["label"]]
    assert not unnamed, f"{name}: charts without a text alternative:\n" + "\n".join(
        f"  {c['kind']}: {c['html']}" for c in unnamed
    )

    icons = [i for i in images if i["spc_icon"]]
    silent = [i for i in icons if not (i["alt"] or "").strip()]
    assert not silent, f"{name}: SPC icons without alt text: {silent}"
    broken = [i["src"] for i in icons if not i["loaded"]]
    assert not broken, f"{name}: SPC icons that did not load: {broken}"
    if name in SPC_ICON_PAGES:
        assert icons, f"{name}: expected SPC icons on this page, found none to check"
    assert all(i["alt"] is not None for i in images), f"{name}: <img> without alt: {images}"
