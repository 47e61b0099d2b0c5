"""Exports: the showcase deck (HTML, PowerPoint) and the board pack (PDF).

Every export reads back (python-pptx, pypdf, html.parser); the HTML deck references no
remote URL and draws its charts in headless Chromium with every network request blocked;
public exports show no count in the suppressed range in any format; bad input (a slide
naming an unknown metric, a chart that fails) marks only that slide unavailable and the
command still exits 0; text from YAML is escaped.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader

from metrics.analyses.disclosure import round_to_base
from metrics.board import open_board
from metrics.exports import build_export, html_deck
from metrics.exports import cli as export_cli
from metrics.exports.content import board_pack_content, deck_content
from metrics.exports.model import BoardPack, Deck
from metrics.sql.series import SeriesQuery

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
MINI = ROOT / "tests" / "fixtures" / "mini"
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_TITLE = "<script>alert(1)</script>"
# A public count as shown: suppressed, a zero (nhs_secondary_care shows 0) or a rounded 5.
CONTROLLED_COUNT = re.compile(r"^(\*|0|\d{1,3}(,\d{3})*)(\s.*)?$")


# --------------------------------------------------------------------------- readers


class DeckParser(HTMLParser):
    """Collects text, every attribute, style and script bodies, and the slide sections."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self.sections: list[dict[str, str]] = []
        self.svgs_in_section: dict[str, int] = {}
        self._stack: list[str] = []
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            self.attributes.append((tag, name, value))
        if tag == "section" and "slide" in values.get("class", ""):
            self.sections.append(values)
            self._section = values.get("id", "")
            self.svgs_in_section[self._section] = 0
        if tag == "svg" and self._section:
            self.svgs_in_section[self._section] += 1
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        while self._stack:
            if self._stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        inside = self._stack[-1] if self._stack else ""
        if inside == "style":
            self.styles.append(data)
        elif inside == "script":
            self.scripts.append(data)
        elif data.strip():
            self.text.append(data.strip())

    def all_text(self) -> str:
        labels = [v for _, name, v in self.attributes if name in ("aria-label", "alt", "title")]
        return " ".join(self.text + labels)


def parse_html(data: bytes) -> DeckParser:
    parser = DeckParser()
    parser.feed(data.decode("utf-8"))
    parser.close()
    return parser


def pptx_text(data: bytes) -> str:
    parts = []
    for slide in Presentation(io.BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            described = shape._element.xpath("./*[1]/p:cNvPr/@descr")
            parts.extend(described)
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def number_forms(value: float) -> set[str]:
    """How an exact count could be printed (so none of them may appear)."""
    return {f"{value:,.0f}", f"{value:.0f}", f"{value:,.1f}"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sample_board():
    return open_board(CONFIG)


@pytest.fixture(scope="module")
def public_exports(sample_board):
    return {fmt: build_export(sample_board, fmt, "public") for fmt in ("html", "pptx", "pdf")}


@pytest.fixture(scope="module")
def public_deck(sample_board, public_exports) -> Deck:
    return deck_content(sample_board, "public")


@pytest.fixture(scope="module")
def public_pack(sample_board, public_exports) -> BoardPack:
    return board_pack_content(sample_board, "public")


@pytest.fixture(scope="module")
def hostile_config(tmp_path_factory) -> Path:
    """The mini project with a slide naming an unknown metric, a slide whose big number is
    a small count, and a metric titled with a script tag."""
    target = tmp_path_factory.mktemp("hostile") / "mini"
    shutil.copytree(MINI, target)
    config = target / "config"
    metrics = config / "metrics" / "all.yaml"
    text = metrics.read_text(encoding="utf-8")
    assert "title: Count of a," in text
    metrics.write_text(
        text.replace("title: Count of a,", f'title: "{SCRIPT_TITLE}",', 1), encoding="utf-8"
    )
    with (config / "showcase.yaml").open("a", encoding="utf-8") as showcase:
        showcase.write(
            "  - {id: ghost, headline: A slide about nothing, metric: no_such_metric, "
            "number: latest, chart: spc}\n"
            "  - {id: small, headline: Few days, metric: sum_days, number: latest, chart: spc,"
            " story: {title: Ann, text: Made up.}}\n"
        )
    return config


@pytest.fixture(scope="module")
def hostile_board(hostile_config):
    return open_board(hostile_config)


@pytest.fixture(scope="module")
def hostile_exports(hostile_board):
    return {fmt: build_export(hostile_board, fmt, "public") for fmt in ("html", "pptx", "pdf")}


# --------------------------------------------------------------------------- reading back


def test_powerpoint_reads_back_one_slide_per_deck_slide(public_exports, public_deck):
    prs = Presentation(io.BytesIO(public_exports["pptx"].data))
    slides = list(prs.slides)
    assert len(slides) == len(public_deck.slides) == 6
    assert (prs.slide_width, prs.slide_height) == (12192000, 6858000)  # 16:9
    for page, slide in zip(slides, public_deck.slides, strict=True):
        shapes = {shape.name: shape for shape in page.shapes}
        assert shapes["Headline"].text_frame.text == slide.headline
        assert shapes["Big number"].text_frame.text == slide.big_number
        assert "Chart" in shapes and shapes["Chart"].shape_type == 13  # a picture
        assert shapes["Slide number"].text_frame.text == f"{slide.number} of 6"
        notes = page.notes_slide.notes_text_frame.text
        assert "Method:" in notes and "Synthetic data" in notes
        if slide.story is not None:
            assert shapes["Story"].text_frame.text.startswith("FICTIONAL STORY")
    hub = slides[0]
    assert "95% CI" in {s.name: s for s in hub.shapes}["Interval"].text_frame.text
    assert "Interrupted time series" in hub.notes_slide.notes_text_frame.text


def test_board_pack_pdf_reads_back_with_every_part(public_exports, public_pack):
    pages = pdf_pages(public_exports["pdf"].data)
    total = len(pages)
    studies = [p for p in public_pack.impact_pages if p.available]
    assert len(studies) == 9
    assert total >= 3 + len(studies) + 4
    for number, text in enumerate(pages, start=1):
        assert "Synthetic data" in text and f"Page {number} of {total}" in text
    whole = "\n".join(pages)
    cover = pages[0]
    for words in ("Meeting", "Date", "Purpose", "Summary of key issues", "Recommendation"):
        assert words in cover
    for bullet in public_pack.cover.summary:
        assert bullet.split(":")[0][:40] in " ".join(cover.split())
    for heading in (
        "Exception report",
        "Making Data Count summary",
        "What the icons mean",
        "Money",
        "Equity: who is being left behind?",
        "Data quality",
        "Method notes",
    ):
        assert heading in whole
    for study in studies:
        assert f"Impact: {study.metric_title}" in whole
        assert study.interval in whole
    for line in public_pack.exceptions:
        assert line.metric_title.split()[0] in whole
    assert "suppressed to protect privacy" in whole


def test_every_pack_table_keeps_its_title_header_and_rows_together(public_exports, public_pack):
    """Issue 16: the unit-cost table broke across pages (its title at the foot of one
    page, its rows on the next). A table that fits on a page is kept whole on one page."""
    pages = [" ".join(text.split()) for text in pdf_pages(public_exports["pdf"].data)]
    tables = [table for table in public_pack.money.tables if table.rows]
    assert any(table.title.startswith("Unit costs") for table in tables)
    for table in tables:
        title = " ".join(table.title.split())
        where = {i for i, text in enumerate(pages) if title in text}
        assert len(where) == 1, f"{title!r} appears on pages {sorted(where)}"
        (page,) = where
        assert " ".join(table.columns[0].split()) in pages[page]
        for row in table.rows:
            # Each row's last cell (short figures), on the page of its title.
            assert row[-1] in pages[page], f"a row of {title!r} left its page"


def test_html_deck_parses_with_one_section_per_slide(public_exports, public_deck):
    parser = parse_html(public_exports["html"].data)
    assert [s["id"] for s in parser.sections] == [f"slide-{n}" for n in range(1, 7)]
    for slide in public_deck.slides:
        assert parser.svgs_in_section[f"slide-{slide.number}"] == 1, slide.id
    text = parser.all_text()
    assert "Synthetic data" in text
    assert public_deck.legend in text
    assert "Fictional story" in text
    for slide in public_deck.slides:
        assert slide.headline in text and slide.big_number in text


def test_html_deck_references_no_remote_url(public_exports):
    parser = parse_html(public_exports["html"].data)
    assert parser.attributes, "the parser saw the deck's attributes"
    for tag, name, value in parser.attributes:
        assert "://" not in value and not value.startswith("//"), (tag, name, value)
        if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            assert value.startswith(("#", "data:")), (tag, name, value)
    css = parser.styles + [v for _, name, v in parser.attributes if name == "style"]
    for block in css:
        for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", block):
            assert target.startswith(("#", "data:")), target
        assert "@import" not in block
    assert not any(
        tag in ("link", "iframe", "img", "object", "embed") for tag, _, _ in parser.attributes
    )


def test_html_deck_draws_every_chart_in_chromium_with_the_network_blocked(
    public_exports, public_deck, tmp_path, chromium_browser
):
    from playwright.sync_api import expect

    deck_file = tmp_path / "deck.html"
    deck_file.write_bytes(public_exports["html"].data)
    page_url = deck_file.as_uri()
    attempted: list[str] = []
    errors: list[str] = []

    def only_the_page(route) -> None:
        url = route.request.url.split("#")[0]
        if url == page_url:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    # The run's shared Chromium (Playwright allows one sync instance per process).
    context = chromium_browser.new_context(viewport={"width": 1600, "height": 900})
    try:
        context.route("**/*", only_the_page)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{page_url}#1")
        # Playwright's expect() waits (up to its timeout) for each state: the deck switches
        # slides and draws charts in event handlers, which a loaded machine runs late.
        for slide in public_deck.slides:
            number = slide.number
            if number > 1:
                page.keyboard.press("ArrowRight")
            expect(page).to_have_url(re.compile(f"#{number}$"))
            section = page.locator(f"#slide-{number}")
            expect(section).to_be_visible()
            chart = section.locator("figure.chart svg")
            expect(chart).to_have_count(1)
            expect(chart).to_be_visible()
            marks = chart.locator("path, line, rect, circle")
            page.wait_for_function(
                "([n, min]) => document.querySelectorAll("
                "`#slide-${n} figure.chart svg :is(path, line, rect, circle)`).length > min",
                arg=[number, 20],
            )
            assert marks.count() > 20, slide.id  # drawn marks
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            expect(page.locator("section.slide:visible")).to_have_count(1)
            expect(page.locator("#counter")).to_have_text(f"{number} of 6")
        page.keyboard.press("ArrowLeft")
        expect(page).to_have_url(re.compile("#5$"))
        page.goto(f"{page_url}#3")  # a deep link opens that slide
        # Only the hash changed, so the deck switches slide on its hashchange event: wait
        # for it (times out, and fails, if the deep link does not work).
        page.locator("#slide-3").wait_for(state="visible", timeout=10_000)
        assert page.locator("#slide-3").is_visible()
        assert not page.locator("#slide-1").is_visible()
    finally:
        context.close()
    assert attempted == [], f"requests left the page: {attempted}"
    assert errors == []


# --------------------------------------------------------------------------- disclosure


def _check_count_cells(pack: BoardPack) -> int:
    checked = 0
    for line in pack.spc_summary:
        if line.latest_is_count:
            assert CONTROLLED_COUNT.match(line.latest), (line.metric_title, line.latest)
            number = line.latest.split()[0].replace(",", "")
            assert number in ("*", "0") or (int(number) % 5 == 0 and int(number) >= 10)
            checked += 1
    for section in pack.sections:
        for table in section.tables:
            for row, column in table.count_cells:
                cell = table.rows[row][column].replace(",", "")
                assert cell in ("*", "0") or (int(cell) % 5 == 0 and int(cell) >= 10), (
                    table.title,
                    table.rows[row],
                )
                checked += 1
    return checked


def test_public_tables_show_only_controlled_counts(public_pack, public_exports):
    assert _check_count_cells(public_pack) > 20
    whole = " ".join(" ".join(pdf_pages(public_exports["pdf"].data)).split())
    equity = public_pack.equity.tables[0]
    for row, column in equity.count_cells:
        assert f"{equity.rows[row][0]} {equity.rows[row][column]}" in whole
    assert public_pack.policy_name == "nhs_secondary_care"


def test_public_deck_and_pack_suppress_what_the_ledger_says(public_deck, public_pack):
    entries = public_deck.disclosed + public_pack.disclosed
    suppressed = [e for e in entries if e.suppressed]
    # Early IPSA months (2014-15) are small counts: their chart points are suppressed.
    assert any(e.where == "chart" for e in suppressed)
    for entry in suppressed:
        assert entry.shown == "*"
        assert entry.raw is None or 1 <= entry.raw <= 7
    for entry in entries:
        if not entry.suppressed and entry.where != "chart" and entry.raw_text.isdigit():
            assert entry.shown.replace(",", "") == f"{round_to_base(entry.raw):.0f}"


def _assert_no_small_count_next_to_label(text: str, entries) -> int:
    flat = " ".join(text.split())
    found = 0
    for entry in entries:
        if not entry.suppressed or entry.raw is None:
            continue
        for form in number_forms(entry.raw):
            pattern = re.escape(entry.label) + r"\s*[:|(]?\s*" + re.escape(form) + r"(?![\d,.])"
            assert not re.search(pattern, flat), (entry, form)
        found += 1
    return found


def test_no_format_prints_a_suppressed_count(public_exports, public_deck, public_pack):
    entries = public_deck.disclosed + public_pack.disclosed
    texts = {
        "html": parse_html(public_exports["html"].data).all_text(),
        "pptx": pptx_text(public_exports["pptx"].data),
        "pdf": "\n".join(pdf_pages(public_exports["pdf"].data)),
    }
    for text in texts.values():
        assert _assert_no_small_count_next_to_label(text, entries) > 0


def test_small_numbers_show_as_stars_in_every_format(hostile_board, hostile_exports):
    deck = deck_content(hostile_board, "public")
    pack = board_pack_content(hostile_board, "public")
    small = next(s for s in deck.slides if s.id == "small")
    assert small.big_number == "*" and small.shows_suppressed
    entries = deck.disclosed + pack.disclosed
    assert sum(e.suppressed for e in entries) >= 5
    assert _check_count_cells(pack) > 0
    html_text = parse_html(hostile_exports["html"].data).all_text()
    pptx = pptx_text(hostile_exports["pptx"].data)
    pdf = " ".join(" ".join(pdf_pages(hostile_exports["pdf"].data)).split())
    for text in (html_text, pptx, pdf):
        assert _assert_no_small_count_next_to_label(text, entries) >= 5
        assert "suppressed to protect privacy" in text
    assert "Sum of days * Apr 2024" in pdf  # the table cell sits next to its label
    assert re.search(r"Few days\s+\*", pptx)


def test_board_version_shows_whole_area_figures_as_computed(sample_board, public_pack):
    board_pack = board_pack_content(sample_board, "board")
    assert board_pack.policy_name == "mhsds"
    public_lines = {line.metric_id: line for line in public_pack.spc_summary}
    compared = 0
    for line in board_pack.spc_summary:
        metric = sample_board.metric(line.metric_id)
        if metric.measure != "count" or not line.month:
            continue
        frame = sample_board.series(line.metric_id, SeriesQuery()).frame
        exact = frame.loc[frame["month"].dt.strftime("%b %Y") == line.month, "value"].iloc[0]
        assert line.latest.split()[0] == f"{exact:,.0f}"
        public = public_lines[line.metric_id].latest.split()[0]
        assert public == f"{round_to_base(exact):,.0f}"
        compared += 1
    assert compared >= 5


# --------------------------------------------------------------------------- bad input


def _args(config: Path, fmt: str, out: Path, audience: str = "public") -> argparse.Namespace:
    return argparse.Namespace(
        format=fmt, out=out, audience=audience, config=config, meeting_date=None
    )


def test_unknown_metric_slide_is_unavailable_and_the_command_exits_0(
    hostile_config, tmp_path, capsys
):
    out = tmp_path / "deck.html"
    assert export_cli.run(_args(hostile_config, "html", out)) == 0
    audit_entries = Path(os.environ["ALLIANCE_AUDIT_LOG"]).read_text().splitlines()
    assert any('"action": "export"' in line and "deck.html" in line for line in audit_entries)
    captured = capsys.readouterr()
    assert "warning: slide 2 (ghost): unknown metric 'no_such_metric'" in captured.err
    assert f"wrote {out}" in captured.out
    parser = parse_html(out.read_bytes())
    assert [s["id"] for s in parser.sections] == ["slide-1", "slide-2", "slide-3"]
    html_text = out.read_text(encoding="utf-8")
    ghost = html_text.split('id="slide-2"')[1].split("</section>")[0]
    assert "Unavailable: unknown metric &#x27;no_such_metric&#x27;" in ghost
    assert "<svg" not in ghost
    assert "<svg" in html_text.split('id="slide-1"')[1].split("</section>")[0]
    for fmt in ("pptx", "pdf"):
        target = tmp_path / f"out.{fmt}"
        assert export_cli.run(_args(hostile_config, fmt, target)) == 0
        assert target.stat().st_size > 1000
    prs = Presentation(io.BytesIO((tmp_path / "out.pptx").read_bytes()))
    ghost_slide = list(prs.slides)[1]
    shapes = {shape.name: shape for shape in ghost_slide.shapes}
    assert shapes["Unavailable"].text_frame.text.startswith("Unavailable: unknown metric")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"


def test_nothing_to_build_exits_1_and_writes_nothing(hostile_config, tmp_path, capsys):
    config = tmp_path / "config"
    shutil.copytree(hostile_config, config)
    (config / "showcase.yaml").write_text(
        "title: Broken\nslides:\n  - {id: a, headline: A, metric: nope, number: latest}\n",
        encoding="utf-8",
    )
    data_dir = hostile_config.parent / "data"
    sources = config / "sources.yaml"
    sources.write_text(
        re.sub(r"data_dir:.*", f"data_dir: {data_dir}", sources.read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    out = tmp_path / "deck.html"
    assert export_cli.run(_args(config, "html", out)) == 1
    assert "nothing could be built" in capsys.readouterr().err
    assert not out.exists()


def test_usage_errors_exit_2(tmp_path, hostile_config, capsys):
    assert export_cli.run(_args(tmp_path / "missing", "html", tmp_path / "x.html")) == 2
    assert export_cli.run(_args(hostile_config, "html", tmp_path / "no" / "x.html")) == 2
    assert export_cli.run(_args(hostile_config, "html", tmp_path)) == 2
    assert export_cli.run(_args(hostile_config, "doc", tmp_path / "x.doc")) == 2
    err = capsys.readouterr().err
    assert "config folder not found" in err and "does not exist" in err


def test_a_metric_title_with_a_script_tag_appears_as_text(hostile_exports):
    raw = hostile_exports["html"].data.decode("utf-8")
    assert SCRIPT_TITLE not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    parser = parse_html(hostile_exports["html"].data)
    assert len(parser.scripts) == 1 and "alert(1)" not in parser.scripts[0]
    assert SCRIPT_TITLE in parser.all_text()  # shown to readers as text
    assert SCRIPT_TITLE in pptx_text(hostile_exports["pptx"].data)
    assert SCRIPT_TITLE in "\n".join(pdf_pages(hostile_exports["pdf"].data))


def test_a_chart_that_fails_marks_only_its_slide(hostile_board, monkeypatch):
    deck = deck_content(hostile_board, "public")
    first_chart = deck.slides[0].chart

    def failing(chart, **_kwargs):
        if chart is first_chart:
            raise RuntimeError("renderer exploded")
        return "<svg></svg>"

    monkeypatch.setattr(html_deck, "chart_svg", failing)
    export = build_export(hostile_board, "html", "public")
    problems = [p.text() for p in export.problems]
    assert "slide 1 (one): the chart could not be drawn: renderer exploded" in problems
    text = export.data.decode("utf-8")
    first = text.split('id="slide-1"')[1].split("</section>")[0]
    assert "Unavailable: the chart could not be drawn" in first
    third = text.split('id="slide-3"')[1].split("</section>")[0]
    assert "Unavailable" not in third and "<svg" in third


def test_write_is_atomic_and_replaces_the_old_file(tmp_path):
    target = tmp_path / "pack.pdf"
    target.write_bytes(b"old")
    export_cli.write_atomically(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]


def test_missing_money_and_data_quality_engines_mark_their_sections(hostile_board, monkeypatch):
    import datetime as dt
    import sys

    # An engine that does not import (still being finished) is a section marked
    # unavailable with the reason, never a crash.
    monkeypatch.setitem(sys.modules, "metrics.analyses.money", None)
    monkeypatch.setitem(sys.modules, "metrics.analyses.data_quality", None)
    pack = board_pack_content(hostile_board, "public", meeting_date=dt.date(2031, 1, 1))
    assert "metrics.analyses.money" in pack.money.unavailable
    assert "metrics.analyses.data_quality" in pack.data_quality.unavailable
    assert pack.equity.available and pack.spc_summary
    wheres = {p.where for p in pack.problems}
    assert {"board pack: money", "board pack: data quality"} <= wheres
    # The same meeting date: the pack computed above (once per board) is the one written.
    export = build_export(hostile_board, "pdf", "public", meeting_date=dt.date(2031, 1, 1))
    text = "\n".join(pdf_pages(export.data))
    assert "Unavailable: import of metrics.analyses.money halted" in " ".join(text.split())


def test_the_export_engine_does_not_import_streamlit():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import metrics.exports, metrics.exports.content, metrics.exports.cli\n"
        "import metrics.exports.html_deck, metrics.exports.pptx_deck, metrics.exports.pdf_pack\n"
        "print('streamlit' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- warm exports


def test_a_second_export_reuses_its_charts_and_is_the_same(sample_board, public_exports):
    """The deck is made once per board, and so are its charts' Vega-Lite dicts: a second
    export makes none again (making them, with the schema check, was nearly all of a warm
    HTML export) and is byte for byte the first."""
    import altair as alt

    made: list[str] = []
    originals = {}
    for kind in (alt.Chart, alt.LayerChart, alt.FacetChart, alt.VConcatChart, alt.HConcatChart):
        originals[kind] = kind.to_dict

        def counting(self, *args, _kind=kind, **kwargs):
            made.append(_kind.__name__)
            return originals[_kind](self, *args, **kwargs)

        kind.to_dict = counting
    try:
        again = build_export(sample_board, "html", "public")
    finally:
        for kind, original in originals.items():
            kind.to_dict = original
    assert made == []
    assert again.data == public_exports["html"].data and again.problems == ()


def test_an_export_spec_never_changes_the_chart_s_shared_dict(public_deck):
    from metrics.exports.render import _chart_dict, export_spec

    chart = next(s.chart for s in public_deck.slides if s.chart is not None)
    narrow = export_spec(chart, width=300, height=200)
    wide = export_spec(chart, width=900)
    assert (narrow["width"], narrow["height"]) == (300, 200) and wide["width"] == 900
    assert narrow["config"]["aria"] is False and narrow["description"] == chart.alt_text
    shared = _chart_dict(chart.chart)
    assert shared is _chart_dict(chart.chart)  # made once for this chart object
    assert shared.get("width") != 300 and "aria" not in shared.get("config", {})


def test_a_chart_s_dict_goes_with_the_chart():
    import gc

    import altair as alt
    import pandas as pd

    from metrics.exports import render

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    twin = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    made = render._chart_dict(chart)
    assert render._chart_dict(twin) is not made  # equal charts, each its own entry
    key = id(chart)
    del chart
    gc.collect()
    assert key not in render._CHART_DICTS
