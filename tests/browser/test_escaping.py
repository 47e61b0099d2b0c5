"""Escaping: text from YAML is shown as text on every page, never run as HTML or script.

A server of its own runs on a copy of config/ in which the title of one metric
(secondary_referrals) and one showcase slide's headline and story text are hostile HTML,
over the sample data. Every page is opened in headless Chromium (that metric deep-linked
where a page takes one), with every expander opened, and:

* no JavaScript dialog ever opens (a `dialog` listener on every page, and a wrapper round
  alert/confirm/prompt installed before any page script runs, in every frame);
* no <script> element containing `alert(` and no <img> with an onerror attribute is in
  the DOM of any frame;
* the hostile title is visible, literally, on the pages that show that metric's title
  (the Overview shows it only inside a data grid, which draws on a canvas: there the text
  is read from the grid's accessibility table, which holds what the canvas draws);
* the showcase's HTML deck, built and downloaded from the page, shows the hostile slide
  as text too, and opening it runs nothing.
"""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
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

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
METRIC = "secondary_referrals"
SLIDE = "hub"  # the showcase slide about secondary_referrals (slide 1)

# (name, path, shows the hostile metric title). Every page of the site, deep-linked to the
# hostile metric where the page takes one.
PAGES: list[tuple[str, str, bool]] = [
    ("overview", "/", True),
    ("metric", f"/metric?metric={METRIC}", True),
    ("metric_breakdown", f"/metric?metric={METRIC}&breakdown=ethnicity", True),
    ("catalogue", f"/catalogue?metric={METRIC}", True),
    ("editor", f"/editor?metric={METRIC}", False),
    ("access", "/access", False),
    ("outcomes", "/outcomes", False),
    ("crisis", "/crisis", False),
    ("equity", "/equity", False),
    ("money", "/money", False),
    ("data_quality", "/data_quality", False),
    ("impact", f"/impact?metric={METRIC}&intervention=hub_scale_up", False),
    ("diagnostics", "/diagnostics", False),
    ("showcase", "/showcase?slide=1", False),
]

# Runs before any page script, in every frame: a call to alert/confirm/prompt is recorded
# (then passed on, so the `dialog` event still fires and the test sees both).
RECORD_DIALOGS_JS = """(() => {
  window.__hostileCalls = [];
  for (const name of ['alert', 'confirm', 'prompt']) {
    const original = window[name];
    window[name] = function (...args) {
      window.__hostileCalls.push(name + '(' + String(args[0]) + ')');
      return original.apply(this, args);
    };
  }
})();"""

# What the hostile text may have turned into in one frame's DOM.
DOM_FINDINGS_JS = """() => ({
  scripts: [...document.querySelectorAll('script')]
    .filter((s) => (s.textContent || '').includes('alert('))
    .map((s) => s.outerHTML.slice(0, 200)),
  onerror_images: [...document.querySelectorAll('img[onerror]')]
    .map((i) => i.outerHTML.slice(0, 200)),
  any_onerror: [...document.querySelectorAll('[onerror]')].map((e) => e.outerHTML.slice(0, 200)),
  calls: window.__hostileCalls || [],
})"""


def _edit_yaml(path: Path, edit: Any) -> None:
    """Load a YAML file, change it with `edit(data)`, write it back. (Comments are lost,
    which does not matter in a throwaway copy; the schema comment is put back.)"""
    text = path.read_text(encoding="utf-8")
    header = text.splitlines()[0] if text.startswith("# yaml-language-server") else ""
    data = yaml.safe_load(text)
    edit(data)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text((header + "\n" if header else "") + body, encoding="utf-8")


def _hostile_title(data: dict[str, Any]) -> None:
    metric = next(m for m in data["metrics"] if m["id"] == METRIC)
    metric["title"] = SCRIPT


def _hostile_slide(data: dict[str, Any]) -> None:
    slide = next(s for s in data["slides"] if s["id"] == SLIDE)
    slide["headline"] = SCRIPT
    slide["story"]["text"] = IMG


def hostile_config(target: Path) -> Path:
    """A copy of config/ with the hostile metric title, slide headline and story text."""
    config = target / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    metric_files = [
        f for f in (config / "metrics").glob("*.yaml") if f"id: {METRIC}\n" in f.read_text()
    ]
    assert len(metric_files) == 1, f"{METRIC} should be defined in exactly one file"
    _edit_yaml(metric_files[0], _hostile_title)
    _edit_yaml(config / "showcase.yaml", _hostile_slide)
    # The edit must have landed where intended, or every check below would be vacuous.
    metrics = yaml.safe_load(metric_files[0].read_text(encoding="utf-8"))["metrics"]
    assert next(m for m in metrics if m["id"] == METRIC)["title"] == SCRIPT
    slides = yaml.safe_load((config / "showcase.yaml").read_text(encoding="utf-8"))["slides"]
    hub = next(s for s in slides if s["id"] == SLIDE)
    assert (hub["headline"], hub["story"]["text"]) == (SCRIPT, IMG)
    return config


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`streamlit run` on a free port over the hostile config copy and the sample data.

    (The conftest `server` is session-wide on the project's own config, so this module
    starts its own, in the same way.)"""
    config = hostile_config(tmp_path_factory.mktemp("hostile"))
    env = {"ALLIANCE_CONFIG_DIR": str(config), "ALLIANCE_DATA_DIR": str(ROOT / "sample_data")}
    with site_server(env, background_reload=False) as running:
        yield running


@dataclass
class Watched:
    """A browser context whose every page reports dialogs and foreign requests."""

    context: Any
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def watched(hostile_server: Server, chromium_browser: Any) -> Iterator[Watched]:
    """A context of the run's one shared Chromium (tests/conftest.py: Playwright's sync
    API allows one instance per process), watching every page it opens."""
    app_host = urllib.parse.urlparse(hostile_server.url).netloc
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    state = Watched(context)

    # Nothing leaves the machine, even if some markup did get through (src=x is a request
    # to the app's own host; anything else is blocked and recorded).
    def guard(route: Any, request: Any) -> None:
        host = urllib.parse.urlparse(request.url).netloc
        if request.url.startswith(("data:", "blob:")) or host == app_host:
            route.continue_()
        else:
            state.foreign_requests.append(request.url)
            route.abort()

    context.route("**/*", guard)
    context.add_init_script(RECORD_DIALOGS_JS)
    try:
        yield state
    finally:
        context.close()


def open_watched(watched: Watched, url: str) -> Any:
    """Like conftest.open_page, but the dialog listener is on before the page loads."""
    page = watched.context.new_page()

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    wait_ready(page)
    return page


# A data grid (st.dataframe) draws on a canvas; once focused, it also renders its visible
# cells as an ARIA table inside the canvas. Returns that text for every grid on the page.
GRID_TEXT_JS = """(canvas) => {
  const table = canvas.querySelector('table');
  return table ? table.textContent : '';
}"""


def _grid_text(page: Any) -> str:
    """The cell text of every data grid on the page (each focused in turn)."""
    texts = []
    for canvas in page.locator(
        '[data-testid="stDataFrame"] canvas[data-testid="data-grid-canvas"]'
    ).all():
        if not canvas.is_visible():
            continue
        canvas.focus()
        page.wait_for_function(
            "(c) => c.querySelector('table') !== null", arg=canvas.element_handle(), timeout=5_000
        )
        texts.append(canvas.evaluate(GRID_TEXT_JS))
    return "\n".join(texts)


def _findings(page: Any) -> dict[str, list[str]]:
    """DOM findings of every frame (a component iframe would be a frame of its own)."""
    from playwright.sync_api import Error as PlaywrightError

    merged: dict[str, list[str]] = {}
    for frame in page.frames:
        try:
            found = frame.evaluate(DOM_FINDINGS_JS)
        except PlaywrightError as exc:  # a frame that went away while we looked
            if not frame.is_detached():
                raise
            found = {"detached_frames": [f"{frame.url}: {exc}"]}
        for key, values in found.items():
            merged.setdefault(key, []).extend(values)
    return merged


@pytest.mark.parametrize(("name", "path", "shows_title"), PAGES, ids=[p[0] for p in PAGES])
def test_hostile_text_is_shown_as_text(
    watched: Watched, hostile_server: Server, name: str, path: str, shows_title: bool
) -> None:
    dialogs, foreign = len(watched.dialogs), len(watched.foreign_requests)
    page = open_watched(watched, hostile_server.url + path)
    try:
        if page.evaluate(OPEN_EXPANDERS_JS):
            wait_ready(page)
        # An <img src=x> fails within milliseconds; give any handler the chance to run.
        page.wait_for_timeout(300)
        findings = _findings(page)
        body = page.inner_text("body")
        grids = _grid_text(page) if shows_title and SCRIPT not in body else ""
        exceptions = page.locator('[data-testid="stException"]').all_inner_texts()
        screenshot(page, f"escaping_{name}")
    finally:
        page.close()

    opened = watched.dialogs[dialogs:]
    assert not opened, f"{name}: a JavaScript dialog opened: {opened}"
    assert not findings.get("calls"), f"{name}: alert/confirm/prompt ran: {findings['calls']}"
    assert not findings.get("scripts"), f"{name}: <script> with alert( in DOM: {findings}"
    assert not findings.get("onerror_images"), f"{name}: <img onerror> in DOM: {findings}"
    assert not findings.get("any_onerror"), f"{name}: an onerror handler in DOM: {findings}"
    assert not exceptions, f"{name}: exception boxes: {exceptions}"
    assert "This page could not be shown" not in body, f"{name}: the page failed: {body[:1500]}"
    if shows_title:
        assert SCRIPT in body + grids, f"{name}: the hostile title is not shown as text:\n{body}"
    if name == "showcase":
        # The slide's headline and story are shown, literally, as text.
        assert SCRIPT in body and IMG in body, f"showcase: hostile slide text not shown:\n{body}"
    assert watched.foreign_requests[foreign:] == []


def test_html_deck_export_shows_hostile_text_as_text(
    watched: Watched, hostile_server: Server, tmp_path: Path
) -> None:
    """The showcase's offline HTML deck: built on the page, downloaded, then opened."""
    dialogs, foreign = len(watched.dialogs), len(watched.foreign_requests)
    page = open_watched(watched, hostile_server.url + "/showcase?slide=1")
    try:
        page.get_by_text("Take the deck offline", exact=False).click()
        page.get_by_role("button", name="Prepare the HTML deck").click()
        download_button = page.get_by_role("button", name="Download the HTML deck")
        download_button.wait_for(timeout=120_000)
        with page.expect_download(timeout=60_000) as info:
            download_button.click()
        deck = tmp_path / "deck.html"
        info.value.save_as(deck)
    finally:
        page.close()
    text = deck.read_text(encoding="utf-8")

    page = watched.context.new_page()
    try:
        page.on("dialog", lambda d: (watched.dialogs.append(f"deck: {d.message}"), d.dismiss()))
        page.set_content(text, wait_until="load")
        page.wait_for_timeout(300)
        findings = _findings(page)
        body = page.inner_text("body")
    finally:
        page.close()
    opened = watched.dialogs[dialogs:]
    assert not opened, f"HTML deck: a JavaScript dialog opened: {opened}"
    assert not findings.get("calls"), f"HTML deck: alert/confirm/prompt ran: {findings}"
    assert not findings.get("scripts"), f"HTML deck: <script> with alert( in DOM: {findings}"
    assert not findings.get("any_onerror"), f"HTML deck: an onerror handler in DOM: {findings}"
    assert SCRIPT in body and IMG in body, "HTML deck: the hostile slide is not shown as text"
    assert watched.foreign_requests[foreign:] == []
