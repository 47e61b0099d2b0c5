"""Layout: every page fits the screen, from a phone to a projector.

Every page of test_pages_e2e.PAGES is opened in headless Chromium at 1440x900 (a laptop),
390x844 (a phone) and 1920x1080 (a projector), with every expander opened, and:

* the page never scrolls sideways (document scrollWidth <= the window's width);
* nothing in the page's main area is cut off: no element that clips its overflow (a data
  grid's scroller, a link or label ending in "...") holds more than it shows, and nothing
  runs past the main area's right edge. The exceptions are a data grid wider than a
  phone and the Data quality heatmap, on a phone: each scrolls sideways, and its container
  (`st-key-wide_table_...`, metrics.ui.components.fitted_table; `st-key-wide_chart_...`,
  components.draw_part) says so above it;
* on a phone the sidebar starts closed and the Overview shows cards, not tables.

Screenshots of every page at the three sizes are kept in test-artifacts/screenshots/
(layout_<page>_<width>.png). The same checks run on a board with bad input: a very long
metric title, 40 more metrics in one domain, and 12 providers in the Money tables.
"""

from __future__ import annotations

import csv
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.browser.conftest import (
    ROOT,
    Server,
    screenshot,
    site_server,
    wait_ready,
)
from tests.browser.test_accessibility import OPEN_EXPANDERS_JS
from tests.browser.test_pages_e2e import PAGES

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"width": 1440, "height": 900},
    "phone": {"width": 390, "height": 844},
    "projector": {"width": 1920, "height": 1080},
}
PHONE_MAX_PX = 640  # layout.css: at or below this width a page is laid out for a phone

# What is cut off or runs past the main area, as a list of findings (empty when it fits).
OVERFLOW_JS = """(phoneMax) => {
  const found = [];
  const phone = window.innerWidth <= phoneMax;
  const describe = (el, kind, by) => {
    const owner = el.closest('[data-testid^="st"]');
    const keyed = el.closest('[class*="st-key-"]');
    return {
      kind, by: Math.round(by),
      tag: el.tagName.toLowerCase(),
      testid: owner ? owner.getAttribute('data-testid') : '',
      key: keyed ? [...keyed.classList].find((c) => c.startsWith('st-key-')) : '',
      text: (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 100),
    };
  };
  const page = document.documentElement.scrollWidth - window.innerWidth;
  if (page > 1) found.push({kind: 'page scrolls sideways', by: page});
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return found;
  const edge = main.getBoundingClientRect().left + main.clientWidth;
  const walk = (el, clipped) => {
    for (const child of el.children) {
      if (child.getAttribute('aria-hidden') === 'true') continue;
      if (!child.checkVisibility()) continue;
      const clips = ['hidden', 'auto', 'scroll', 'clip']
        .includes(getComputedStyle(child).overflowX);
      // A form field's value scrolls inside the field, as in any text box (the page shows
      // the chosen metric's full title in its heading).
      const field = child.tagName === 'INPUT' || child.tagName === 'TEXTAREA';
      if (clips && !field && child.clientWidth > 2 && child.scrollWidth > child.clientWidth + 1) {
        const grid = child.classList.contains('dvn-scroller');
        const said = child.closest('[class*="st-key-wide_table_"]');
        const wideChart = [...child.classList].some((c) => c.startsWith('st-key-wide_chart_'));
        if (!(phone && ((grid && said) || wideChart))) {
          found.push(describe(child, 'cut off', child.scrollWidth - child.clientWidth));
        }
        continue;  // what is inside is inside the clipped element
      }
      const box = child.getBoundingClientRect();
      if (!clipped && box.width > 0 && box.right > edge + 1) {
        found.push(describe(child, 'past the right edge', box.right - edge));
        continue;
      }
      walk(child, clipped || clips);
    }
  };
  walk(main, false);
  return found;
}"""

SIDEBAR_OPEN_JS = """() => {
  const bar = document.querySelector('[data-testid="stSidebar"]');
  if (!bar) return false;
  if (bar.getAttribute('aria-expanded') === 'false') return false;
  const box = bar.getBoundingClientRect();
  return box.width > 0 && box.right > 0 && bar.checkVisibility();
}"""

OVERVIEW_SHOWS_JS = """() => ({
  tables: [...document.querySelectorAll('.st-key-overview_domains [data-testid="stDataFrame"]')]
    .filter((e) => e.checkVisibility()).length,
  cards: [...document.querySelectorAll('.st-key-overview_domains .board-card')]
    .filter((e) => e.checkVisibility()).length,
})"""


def _context(chromium_browser: Any, server: Server, size: dict[str, int]) -> Any:
    """A browser context of the given size (a phone is a touch screen) that lets no
    request leave the machine."""
    host = urllib.parse.urlparse(server.url).netloc
    phone = size["width"] <= PHONE_MAX_PX
    context = chromium_browser.new_context(viewport=size, is_mobile=phone, has_touch=phone)

    def guard(route: Any, request: Any) -> None:
        if (
            request.url.startswith(("data:", "blob:"))
            or urllib.parse.urlparse(request.url).netloc == host
        ):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    return context


@pytest.fixture(scope="module")
def contexts(chromium_browser: Any, server: Server) -> Iterator[dict[str, Any]]:
    made = {name: _context(chromium_browser, server, size) for name, size in VIEWPORTS.items()}
    yield made
    for context in made.values():
        context.close()


def _describe(found: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {f['kind']} by {f['by']} px: <{f.get('tag', '')}> {f.get('testid', '')} "
        f"{f.get('key', '')} {f.get('text', '')!r}"
        for f in found[:15]
    )


def check_layout(context: Any, url: str, shot: str) -> tuple[Any, list[dict[str, Any]]]:
    """Open `url`, open every expander, keep a screenshot, and return the open page and
    what is cut off or runs past the main area (nothing, when the page fits)."""
    page = context.new_page()
    page.goto(url)
    wait_ready(page)
    if page.evaluate(OPEN_EXPANDERS_JS):
        wait_ready(page)
    found = page.evaluate(OVERFLOW_JS, PHONE_MAX_PX)
    screenshot(page, shot)
    return page, found


CASES = [(name, path, view) for name, path in PAGES for view in VIEWPORTS]


@pytest.mark.parametrize(("name", "path", "view"), CASES, ids=[f"{n}-{v}" for n, _, v in CASES])
def test_page_fits_the_screen(contexts, server, name, path, view):
    width = VIEWPORTS[view]["width"]
    page, found = check_layout(contexts[view], server.url + path, f"layout_{name}_{width}")
    try:
        if view == "phone":
            assert not page.evaluate(SIDEBAR_OPEN_JS), "the sidebar covers the phone's screen"
        if name.startswith("overview"):
            shows = page.evaluate(OVERVIEW_SHOWS_JS)
            if view == "phone":
                assert shows["tables"] == 0 and shows["cards"] >= 10, shows
            else:
                assert shows["tables"] >= 5 and shows["cards"] == 0, shows
    finally:
        page.close()
    assert not found, f"{name} at {width} px: cut off or too wide:\n" + _describe(found)


# The attention tiles' boxes: left edge and width of each, in page order.
TILE_BOXES_JS = """() => [...document.querySelectorAll('.st-key-tiles_attention > *')]
  .map(el => el.getBoundingClientRect()).map(r => [Math.round(r.left), Math.round(r.width)])"""


@pytest.mark.parametrize(("view", "per_row"), [("desktop", 3), ("phone", 1), ("projector", 5)])
def test_tiles_sit_in_equal_columns(contexts, server, view, per_row):
    """components.metric_tiles: one grid of equal columns of at least 16rem, as many as fit
    (the sidebar open on a wide screen), filled row by row."""
    page = contexts[view].new_page()
    try:
        page.goto(server.url + "/")
        wait_ready(page)
        boxes = page.evaluate(TILE_BOXES_JS)
    finally:
        page.close()
    assert len(boxes) >= per_row + 1, boxes
    lefts = sorted({left for left, _ in boxes})
    assert len(lefts) == per_row, boxes  # so many columns, and each tile in one of them
    assert [left for left, _ in boxes[:per_row]] == lefts  # the first row, left to right
    assert max(w for _, w in boxes) - min(w for _, w in boxes) <= 1  # equal widths
    assert min(w for _, w in boxes) >= 16 * 16 or per_row == 1


HEATMAP_JS = """() => {
  const box = document.querySelector('.st-key-wide_chart_completeness');
  const chart = box && box.querySelector('[data-testid="stVegaLiteChart"]');
  return box && chart && {
    chart: Math.round(chart.getBoundingClientRect().width),
    height: Math.round(chart.querySelector('svg.marks').getBoundingClientRect().height),
    shown: box.clientWidth, scrolls: box.scrollWidth > box.clientWidth,
    note: getComputedStyle(box, '::before').content,
  };
}"""


def test_the_completeness_heatmap_keeps_a_readable_size_on_a_phone(contexts, server):
    """Scaled down to a phone's width its labels and cells were too small to read: there it
    keeps 40rem and scrolls sideways, saying so; on a laptop it fits its column. Either way
    each source's row keeps its 22 px, with the axis and legend below on top of that (the
    sample has 7 sources)."""
    sizes = {}
    for view in ("phone", "desktop"):
        page = contexts[view].new_page()
        try:
            page.goto(server.url + "/data_quality")
            wait_ready(page)
            sizes[view] = page.evaluate(HEATMAP_JS)
        finally:
            page.close()
    phone, desktop = sizes["phone"], sizes["desktop"]
    assert phone["chart"] >= 40 * 16 and phone["scrolls"], phone
    assert "Swipe the chart sideways" in phone["note"]
    assert not desktop["scrolls"] and desktop["note"] in ("none", "normal", ""), desktop
    assert phone["height"] >= 7 * 22 + 60 and desktop["height"] >= 7 * 22 + 60, sizes


def test_the_sidebar_is_open_on_a_wide_screen(contexts, server):
    page = contexts["desktop"].new_page()
    try:
        page.goto(server.url + "/")
        wait_ready(page)
        assert page.evaluate(SIDEBAR_OPEN_JS)
    finally:
        page.close()


# ---------------------------------------------------------------- bad input
LONG_TITLE = (
    "Average weekly cost of a supported accommodation placement for adults with severe and "
    "enduring mental illness who were stepped down from an acute inpatient bed, including "
    "every residential, nursing and floating-support arrangement the alliance funds"
)
EXTRA_METRICS = 40
EXTRA_PROVIDERS = 7  # the sample has 5: 12 in all


def _edit_yaml(path: Path, edit: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8"
    )


def bad_input(target: Path) -> tuple[Path, Path]:
    """Copies of config/ and sample_data/ with a very long metric title, 40 more metrics in
    the access domain and 12 providers in the costs."""
    config = target / "config"
    data = target / "data"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    shutil.copytree(ROOT / "sample_data", data, ignore=shutil.ignore_patterns("*.py"))

    def metrics(doc: dict[str, Any]) -> None:
        base = next(m for m in doc["metrics"] if m["id"] == "secondary_referrals")
        base["title"] = LONG_TITLE
        for n in range(1, EXTRA_METRICS + 1):
            copy = {
                k: v for k, v in base.items() if k in ("description", "domain", "source", "unit")
            }
            copy.update(
                id=f"layout_referrals_{n:02d}",
                title=f"Referrals to secondary care, copy {n} of {EXTRA_METRICS} ({LONG_TITLE})",
                measure="count",
                filter="pathway = 'secondary'",
                better="down",
                owner="Layout test",
            )
            doc["metrics"].append(copy)

    _edit_yaml(config / "metrics" / "access.yaml", metrics)

    extra = [
        (f"LAYOUT_{n:02d}", f"Layout test provider number {n} with a long name CIC")
        for n in range(1, EXTRA_PROVIDERS + 1)
    ]

    def sources(doc: dict[str, Any]) -> None:
        costs = next(s for s in doc["sources"] if s["id"] == "costs")
        costs["columns"]["provider_id"]["values"] += [pid for pid, _ in extra]

    _edit_yaml(config / "sources.yaml", sources)
    path = data / "costs_monthly.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    slam = [r for r in rows if r["provider_id"] == "SLAM"]
    for pid, name in extra:
        rows += [{**r, "provider_id": pid, "provider_name": name} for r in slam]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    assert len({r["provider_id"] for r in rows}) == 12
    return config, data


@pytest.fixture(scope="module")
def bad_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`streamlit run` on a free port over the bad-input copies (as test_escaping does)."""
    config, data = bad_input(tmp_path_factory.mktemp("layout"))
    env = {
        "ALLIANCE_CONFIG_DIR": str(config),
        "ALLIANCE_DATA_DIR": str(data),
        "ALLIANCE_DEVELOPMENT_ACCESS": "1",
    }
    with site_server(env) as running:
        yield running


BAD_PAGES = [
    ("overview", "/"),
    ("access", "/access"),
    ("money", "/money"),
    ("metric", "/metric?metric=secondary_referrals&breakdown=ethnicity"),
    ("catalogue", "/catalogue"),
]
BAD_CASES = [(name, path, view) for name, path in BAD_PAGES for view in ("desktop", "phone")]


@pytest.mark.parametrize(
    ("name", "path", "view"), BAD_CASES, ids=[f"{n}-{v}" for n, _, v in BAD_CASES]
)
def test_bad_input_still_fits(chromium_browser, bad_server, name, path, view):
    size = VIEWPORTS[view]
    context = _context(chromium_browser, bad_server, size)
    try:
        page, found = check_layout(
            context, bad_server.url + path, f"layout_bad_{name}_{size['width']}"
        )
        body = page.inner_text("body")
        page.close()
    finally:
        context.close()
    assert "Traceback" not in body
    assert not found, f"{name} at {size['width']} px: cut off or too wide:\n" + _describe(found)
