"""Markdown injection: text from configuration, data and the URL never becomes a link, a
picture or a request to another host, on any page.

A server of its own runs on a copy of config/ in which every title, unit, owner, code,
source and intervention name, slide and story, the board's and the framework's titles
carry hostile Markdown (a javascript: link, a remote image in Markdown and in HTML, a bare
URL, a bare www. host, an e-mail address and a reference-style link), and every
description carries the same plus a link to a host on the board's `link_hosts` allow-list.
Its data are the sample data, except a provider's and a service line's names in the cost
file, which carry the same text. Every page is opened in headless Chromium, some with
hostile URL parameters too, with every expander opened, and:

* no <a> points at another host (other than the allowed https host), at javascript:,
  data: or mailto:, or is a link the renderer neutralised (href="#");
* no <img> has a source on another host;
* the browser asks no other host for anything (requests are recorded and blocked);
* the hostile text is shown, literally, where the page shows that title;
* descriptions keep their allowed link (the safe Markdown subset works end to end);
* an unknown value in the URL gets a calm notice, echoed only if it reads like a name.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from metrics.text import WORD_JOINER
from tests.browser.conftest import (
    ROOT,
    Server,
    screenshot,
    site_server,
    wait_ready,
)
from tests.browser.test_accessibility import OPEN_EXPANDERS_JS
from tests.browser.test_escaping import _edit_yaml

pytestmark = pytest.mark.browser

ALLOWED_HOST = "www.england.nhs.uk"
ALLOWED_LINK = f"https://{ALLOWED_HOST}/mdc/"
HOSTILE = (
    "[x](javascript:alert(1)) ![p](https://evil.example/t.png) "
    "<img src=https://evil.example/h.png> https://evil.example/login "
    "www.evil.example someone@evil.example [a][r]"
)
TITLE = "T " + HOSTILE
DESCRIPTION = (
    f"**Bold**, [an allowed link]({ALLOWED_LINK}) and {HOSTILE}\n\n[r]: https://evil.example/ref"
)
PHISHING = "[Session expired - sign in again](https://evil.example/login)"
PICTURE = "![p](https://evil.example/t.png)"
METRIC = "secondary_referrals"
IMPACT = f"/impact?metric={METRIC}&intervention=hub_scale_up"


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# (name, path, what the page must show literally, whether the link earns a notice). Every
# page of the site, some with hostile parameters.
PAGES: list[Any] = [
    ("overview", f"/?lcn={q(PHISHING)}", TITLE, False),
    ("outcomes", "/outcomes", TITLE, False),
    ("access", "/access", TITLE, False),
    ("crisis", "/crisis", TITLE, False),
    ("equity", f"/equity?metric=detention_rate&by=ethnicity&reference={q(PHISHING)}", TITLE, True),
    ("equity_unknown_metric", f"/equity?metric={q(PHISHING)}", TITLE, True),
    ("money", f"/money?year={q(PICTURE)}", None, True),
    ("money_through", f"/money?year=2023/24&through={q(PHISHING)}", None, True),
    ("data_quality", f"/data_quality?source={q(PHISHING)}", None, True),
    ("impact", f"{IMPACT}&model={q(PHISHING)}", TITLE, True),
    ("impact_by_group", f"{IMPACT}&breakdown=lcn", TITLE, False),
    ("metric", f"/metric?metric={METRIC}", TITLE, False),
    ("metric_unknown", f"/metric?metric={q(PHISHING)}", TITLE, True),
    ("metric_breakdown", f"/metric?metric={METRIC}&breakdown={q(PICTURE)}", TITLE, True),
    ("metric_by_group", f"/metric?metric={METRIC}&breakdown=ethnicity", TITLE, False),
    ("catalogue", f"/catalogue?metric={METRIC}", TITLE, False),
    ("catalogue_unknown", "/catalogue?metric=www.evil.example", "www.evil.example", True),
    ("editor", f"/editor?metric={METRIC}", None, False),
    ("diagnostics", "/diagnostics", None, False),
    ("showcase", "/showcase?slide=1", TITLE, False),
    ("showcase_unknown", f"/showcase?slide={q(PHISHING)}", TITLE, True),
]  # fmt: skip

# Every link and image in one frame, as the browser resolved them (with the text of the
# element they sit in, to find the call that drew them when a test fails).
LINKS_AND_IMAGES_JS = """() => ({
  links: [...document.querySelectorAll('a[href]')].map((a) => ({
    // An SVG <a> has an SVGAnimatedString for href: resolve its attribute as the browser would.
    href: new URL(a.getAttribute('href'), document.baseURI).href,
    raw: a.getAttribute('href'), text: (a.textContent || '').slice(0, 80),
    svg: a instanceof SVGElement,
    html: (a.parentElement ? a.parentElement.outerHTML : '').slice(0, 300),
    in: ((a.closest('[data-testid="stElementContainer"]') || {}).innerText || '').slice(0, 120),
  })),
  images: [...document.querySelectorAll('img, image, source')].map(
    (i) => i.getAttribute('src') || i.getAttribute('href') || i.getAttribute('srcset') || ''),
})"""


# ------------------------------------------------------------------------ the hostile copy


def _poison_metrics(data: dict[str, Any]) -> None:
    for metric in data["metrics"]:
        metric["title"] = f"{TITLE} ({metric['id']})"
        metric["description"] = DESCRIPTION
        metric["caveats"] = DESCRIPTION
        metric["owner"] = TITLE
        metric["code"] = PICTURE
        if metric["unit"] not in {"%", "GBP", "£"}:
            metric["unit"] = f"{metric['unit']} {PICTURE}"


def _poison_framework(data: dict[str, Any]) -> None:
    data["title"] = TITLE
    for item in [*data["outcomes"], *data["domains"]]:
        item["title"] = f"{TITLE} ({item['id']})"
        item["description"] = DESCRIPTION


def _poison_sources(data: dict[str, Any]) -> None:
    for source in data["sources"]:
        source["title"] = f"{TITLE} ({source['id']})"
        source["description"] = DESCRIPTION
        source["owner"] = TITLE


def _poison_interventions(data: dict[str, Any]) -> None:
    for item in data["interventions"]:
        item["title"] = f"{TITLE} ({item['id']})"
        item["description"] = DESCRIPTION
        item["source"] = TITLE


def _poison_board(data: dict[str, Any]) -> None:
    data["title"] = TITLE
    data["organisation"] = TITLE
    data["link_hosts"] = [ALLOWED_HOST]


def _poison_showcase(data: dict[str, Any]) -> None:
    data["title"] = TITLE
    data["subtitle"] = TITLE
    data["event"] = TITLE
    for slide in data["slides"]:
        slide["headline"] = TITLE
        slide["caption"] = DESCRIPTION
        slide["notes"] = DESCRIPTION
        if slide.get("story"):
            slide["story"]["title"] = TITLE
            # (A line of spaces is a blank line: it would end an HTML block early.)
            slide["story"]["text"] = f"{DESCRIPTION}\n \n{PICTURE} [y](https://evil.example/y)"


def _poison_costs(source: Path, target: Path) -> None:
    """The cost file with one provider's and one service line's names made hostile."""
    with source.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        if row["provider_id"] == "SLAM":
            row["provider_name"] = f"SLaM {HOSTILE}"
        if row["service_line_id"] == "acute_inpatient":
            row["service_line"] = f"Acute {HOSTILE}"
    with target.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def hostile_copy(target: Path) -> tuple[Path, Path]:
    """(config, data): copies of config/ and sample_data/ with hostile text everywhere."""
    config = target / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    for path in (config / "metrics").glob("*.yaml"):
        _edit_yaml(path, _poison_metrics)
    _edit_yaml(config / "framework.yaml", _poison_framework)
    _edit_yaml(config / "sources.yaml", _poison_sources)
    _edit_yaml(config / "interventions.yaml", _poison_interventions)
    _edit_yaml(config / "board.yaml", _poison_board)
    _edit_yaml(config / "showcase.yaml", _poison_showcase)
    data = target / "data"
    data.mkdir()
    for path in (ROOT / "sample_data").iterdir():
        if path.name == "costs_monthly.csv":
            _poison_costs(path, data / path.name)
        elif path.is_file():
            (data / path.name).symlink_to(path)
    # The edits must have landed and still validate, or every check below is vacuous.
    board = yaml.safe_load((config / "board.yaml").read_text(encoding="utf-8"))
    assert board["title"] == TITLE and board["link_hosts"] == [ALLOWED_HOST]
    check = subprocess.run(
        [sys.executable, "-m", "metrics", "validate", str(config), "--no-data"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, ALLIANCE_DATA_DIR=str(data)),
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return config, data


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`streamlit run` on a free port over the hostile copies (as in test_escaping)."""
    config, data = hostile_copy(tmp_path_factory.mktemp("markdown"))
    env = {"ALLIANCE_CONFIG_DIR": str(config), "ALLIANCE_DATA_DIR": str(data)}
    with site_server(env, background_reload=False) as running:
        yield running


@dataclass
class Guarded:
    """A browser context that records (and blocks) every request to another host."""

    context: Any
    app_host: str
    foreign_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def guarded(hostile_server: Server, chromium_browser: Any) -> Iterator[Guarded]:
    app_host = urllib.parse.urlparse(hostile_server.url).netloc
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    state = Guarded(context, app_host)

    def guard(route: Any, request: Any) -> None:
        host = urllib.parse.urlparse(request.url).netloc
        if request.url.startswith(("data:", "blob:")) or host == app_host:
            route.continue_()
        else:
            state.foreign_requests.append(request.url)
            route.abort()

    context.route("**/*", guard)
    try:
        yield state
    finally:
        context.close()


# ------------------------------------------------------------------------------- checks


def bad_link(link: dict[str, str], app_host: str) -> str | None:
    """Why a link must not be there, or None if it may."""
    url = urllib.parse.urlsplit(link["href"])
    if link["raw"] == "#":
        return "a link the renderer neutralised (its URL was unsafe): Markdown was interpreted"
    if url.scheme in {"http", "https"} and url.netloc == app_host:
        return None
    if url.scheme == "https" and url.netloc == ALLOWED_HOST:
        return None
    return "points off the site"


def bad_image(source: str, app_host: str) -> bool:
    if not source or source.startswith(("data:", "blob:")):
        return False
    url = urllib.parse.urlsplit(source)
    return bool(url.netloc) and url.netloc != app_host


def shown_text(page: Any) -> str:
    return page.inner_text("body").replace(WORD_JOINER, "")


@pytest.mark.parametrize(
    ("name", "path", "shows", "notice"),
    PAGES,
    ids=[p[0] if isinstance(p, tuple) else p.id for p in PAGES],
)
def test_no_link_picture_or_request_leaves_the_site(
    guarded: Guarded,
    hostile_server: Server,
    name: str,
    path: str,
    shows: str | None,
    notice: bool,
) -> None:
    foreign = len(guarded.foreign_requests)
    page = guarded.context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(hostile_server.url + path)
        wait_ready(page)
        if page.evaluate(OPEN_EXPANDERS_JS):
            wait_ready(page)
        page.wait_for_timeout(300)  # a remote image is requested as soon as it is drawn
        found: dict[str, list] = {"links": [], "images": []}
        for frame in page.frames:
            result = frame.evaluate(LINKS_AND_IMAGES_JS)
            found["links"] += result["links"]
            found["images"] += result["images"]
        body = shown_text(page)
        notices = page.locator('[data-testid="stAlertContentInfo"]').all_inner_texts()
        exceptions = page.locator('[data-testid="stException"]').all_inner_texts()
        screenshot(page, f"markdown_injection_{name}")
    finally:
        page.close()

    links = [(link, why) for link in found["links"] if (why := bad_link(link, guarded.app_host))]
    assert not links, f"{name}: links that must not be there: {links}"
    images = [src for src in found["images"] if bad_image(src, guarded.app_host)]
    assert not images, f"{name}: images from another host: {images}"
    assert guarded.foreign_requests[foreign:] == [], f"{name}: requests to another host"
    assert not dialogs and not exceptions, f"{name}: {dialogs} {exceptions}"
    assert "This page could not be shown" not in body, f"{name}: the page failed"
    if shows:
        assert shows in body, f"{name}: {shows!r} is not shown as text:\n{body[:3000]}"
    # A URL parameter is never echoed unless it reads like a name.
    assert "Session expired" not in body, f"{name}: the phishing text was echoed"
    if notice:
        assert any("not available here" in n for n in notices), f"{name}: no notice: {notices}"


@pytest.mark.parametrize("path", [f"/metric?metric={METRIC}", "/outcomes"])
def test_descriptions_keep_their_allowed_links(
    guarded: Guarded, hostile_server: Server, path: str
) -> None:
    """The safe subset, end to end: the allowed https link is a link, bold is bold."""
    page = guarded.context.new_page()
    try:
        page.goto(hostile_server.url + path)
        wait_ready(page)
        main = '[data-testid="stMain"]'
        hrefs = page.eval_on_selector_all(f"{main} a", "(links) => links.map((a) => a.href)")
        bold = page.locator(f"{main} strong", has_text="Bold")
        assert ALLOWED_LINK in hrefs, hrefs
        assert bold.count() > 0
    finally:
        page.close()
