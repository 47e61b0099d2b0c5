"""The board's pack from the site (issue 16, requirement 4).

- PDF tables (read back with pypdf): a long table repeats its header row on every page
  and never splits a row across pages; a table that fits on a page is kept whole with its
  title.
- Exports carry the shared filters: the file's name and its text say the period and
  neighbourhood; the built-file cache is keyed by them.
- The Export page (AppTest) per role: board members and analysts get the board version,
  public viewers the public one whatever the link says; "Prepare" becomes the download.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from metrics.board import open_board
from metrics.exports import ExportFilters, build_export
from metrics.exports.content import board_pack_content
from metrics.exports.model import Table
from metrics.exports.pdf_pack import _PackPDF

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
MINI = ROOT / "tests" / "fixtures" / "mini" / "config"
PAGE = "pages/export.py"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "alliance-board",
    "client_secret": "not-a-secret",
    "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
}
BOARD_MEMBER = {"is_logged_in": True, "email": "b@nhs.net", "roles": ["Alliance.Board"]}
SIGNED_OUT = {"is_logged_in": False}


# --------------------------------------------------------------------------- PDF tables


def _pdf_with(table: Table, *, before: int = 0) -> list[str]:
    """The text of each page of a pack PDF holding `before` filler paragraphs and then
    `table`."""
    pack = SimpleNamespace(
        cover=SimpleNamespace(title="Test pack"),
        audience="board",
        status_label="",
        synthetic_label="",
    )
    pdf = _PackPDF(pack)  # type: ignore[arg-type]
    pdf.add_page()
    for number in range(before):
        pdf.paragraph(f"Filler paragraph {number}: " + "words to fill the page " * 12)
    pdf.data_table(table)
    return [page.extract_text() for page in PdfReader(io.BytesIO(bytes(pdf.output()))).pages]


def _pages_of(pages: list[str], text: str) -> set[int]:
    return {index for index, page in enumerate(pages) if text in page}


def test_a_long_table_repeats_its_header_and_never_splits_a_row():
    rows = tuple(
        (
            f"Start{n:03d}",
            # A middle cell that wraps over several lines: a split would part its words.
            " ".join(f"w{n:03d}x{k}" for k in range(14)),
            f"End{n:03d}",
        )
        for n in range(110)
    )
    table = Table("A long table", ("Leftheading", "Middleheading", "Rightheading"), rows)
    pages = _pdf_with(table)
    with_rows = sorted(_pages_of(pages, "Start") | _pages_of(pages, "End"))
    assert len(with_rows) >= 3, "the table is long enough to run over several pages"
    for index in with_rows:
        assert "Leftheading" in pages[index] and "Rightheading" in pages[index], (
            f"page {index + 1} holds rows but not the header row"
        )
        # The header comes before the page's first row.
        assert pages[index].index("Leftheading") < pages[index].index("Start")
    for n in range(110):
        words = [f"Start{n:03d}", f"End{n:03d}", *(f"w{n:03d}x{k}" for k in range(14))]
        found = set().union(*(_pages_of(pages, w) for w in words))
        assert len(found) == 1, f"row {n} is split across pages {sorted(found)}"
        assert all(_pages_of(pages, w) == found for w in words), f"row {n} is incomplete"


def test_a_table_that_fits_on_a_page_is_kept_whole_with_its_title():
    rows = tuple((f"Line{n:02d}", f"per thing {n}", f"Last{n:02d}") for n in range(30))
    table = Table("Unit costs title", ("Service line", "Unit", "Unit cost"), rows)
    # Enough filler that the table would otherwise start near the foot of the first page.
    pages = _pdf_with(table, before=9)
    title_pages = _pages_of(pages, "Unit costs title")
    assert len(title_pages) == 1
    for n in range(30):
        assert _pages_of(pages, f"Line{n:02d}") == title_pages, f"row {n} left its table"
        assert _pages_of(pages, f"Last{n:02d}") == title_pages


# --------------------------------------------------------------------------- filters


@pytest.fixture(scope="module")
def mini_board():
    return open_board(MINI)


def test_the_pack_says_and_is_named_for_its_period_and_neighbourhood(mini_board):
    span = mini_board.data_span()
    assert span is not None
    start = span[0]
    end = dt.date(start.year + 1, start.month, 1)
    filters = ExportFilters(start, end, "North")
    export = build_export(mini_board, "pdf", "board", filters=filters)
    assert export.file_name == f"board-pack-board-{start:%Y-%m}-to-{end:%Y-%m}-north.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(export.data)).pages)
    text = " ".join(text.split())
    assert f"{start:%B %Y} to {end:%B %Y}, North neighbourhood" in text
    pack = board_pack_content(mini_board, "board", filters=filters)
    assert pack.cover.period.startswith(f"{start:%B %Y} to {end:%B %Y}, North")
    # Without filters: the board's default period, the whole area, the old file name.
    plain = board_pack_content(mini_board, "board")
    assert plain.cover.period.endswith("the whole area")
    assert plain is not pack


def test_the_deck_says_its_period(mini_board):
    span = mini_board.data_span()
    assert span is not None
    filters = ExportFilters(span[0], span[1], None)
    export = build_export(mini_board, "html", "public", filters=filters)
    assert export.file_name == f"showcase-public-{span[0]:%Y-%m}-to-{span[1]:%Y-%m}.html"
    assert f"{span[0]:%B %Y} to {span[1]:%B %Y}" in export.data.decode("utf-8")
    from pptx import Presentation

    pptx = build_export(mini_board, "pptx", "public", filters=filters)
    assert pptx.file_name == f"showcase-public-{span[0]:%Y-%m}-to-{span[1]:%Y-%m}.pptx"
    deck = Presentation(io.BytesIO(pptx.data))
    assert f"{span[0]:%B %Y} to {span[1]:%B %Y}" in deck.core_properties.subject
    for slide in deck.slides:
        assert f"{span[0]:%B %Y}" in slide.notes_slide.notes_text_frame.text


# --------------------------------------------------------------------------- the page


def open_export(user: dict | None = None, **params: str) -> AppTest:
    """The Export page as `user` (None: the suite's development default, an analyst)."""
    app = AppTest.from_file(APP, default_timeout=180)
    if user is not None:
        app.secrets["auth"] = AUTH
        app.user = user
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    app.switch_page(PAGE)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def page_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    return "\n".join(str(p) for p in parts)


def buttons(app: AppTest) -> list[str]:
    return [b.label for b in app.button]


def downloads(app: AppTest) -> list[str]:
    return [str(e.proto) for e in app.get("download_button")]


def test_the_export_page_is_in_every_roles_navigation():
    for user in (None, BOARD_MEMBER, SIGNED_OUT):
        app = open_export(user)
        assert "Export the board pack" in [t.value for t in app.title]


def test_an_analyst_gets_the_board_version_for_the_filters_and_the_button_becomes_the_download():
    app = open_export(**{"from": "2023-04", "to": "2024-03", "lcn": "North"})
    text = page_text(app)
    assert "**Board version**" in text
    assert "Apr 2023 to Mar 2024, North neighbourhood" in text
    assert "Prepare the Board pack PDF" in buttons(app)
    app.button(key="export_page_board_pdf_build").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert "Prepare the Board pack PDF" not in buttons(app), "the download takes its place"
    offered = [d for d in downloads(app) if "Download the Board pack PDF" in d]
    assert len(offered) == 1
    # The other formats are still waiting to be prepared.
    assert "Prepare the HTML deck" in buttons(app)
    # Building again is not needed: a rerun offers the file at once, alone in its slot.
    app.run()
    assert "Prepare the Board pack PDF" not in buttons(app)
    assert [d for d in downloads(app) if "Download the Board pack PDF" in d]
    # The file was built for the filters and the board's audience.
    from metrics.ui import exports as ui_exports

    state = app.session_state["board_state"]
    built = ui_exports.prepared_export(
        state.board,
        "board",
        "pdf",
        ExportFilters(dt.date(2023, 4, 1), dt.date(2024, 3, 1), "North"),
    )
    assert built is not None
    assert built.file_name == "board-pack-board-2023-04-to-2024-03-north.pdf"
    assert "Board version" in PdfReader(io.BytesIO(built.data)).pages[1].extract_text()


def test_a_board_member_gets_the_board_version():
    app = open_export(BOARD_MEMBER)
    assert "**Board version**" in page_text(app)
    assert any(b.key == "export_page_board_pdf_build" for b in app.button)
    assert not any(b.key.startswith("export_page_public") for b in app.button)


def test_a_public_viewer_gets_only_the_public_version_whatever_the_link_says():
    app = open_export(
        SIGNED_OUT, audience="board", role="analyst", **{"from": "2024-01", "to": "2024-06"}
    )
    text = page_text(app)
    assert "**Public version**" in text and "**Board version**" not in text
    keys = [b.key for b in app.button]
    assert "export_page_public_html_build" in keys
    assert not any(re.search(r"_board_", k or "") for k in keys)
    app.button(key="export_page_public_html_build").click().run()
    assert not app.exception, [e.message for e in app.exception]
    offered = [d for d in downloads(app) if "Download the HTML deck" in d]
    assert len(offered) == 1
    from metrics.ui import exports as ui_exports

    state = app.session_state["board_state"]
    filters = ExportFilters(dt.date(2024, 1, 1), dt.date(2024, 6, 1), None)
    built = ui_exports.prepared_export(state.board, "public", "html", filters)
    assert built is not None and built.audience == "public"
    assert built.file_name == "showcase-public-2024-01-to-2024-06.html"
