"""One number everywhere: for every metric, the figure for a period is identical on the
site, in the PDF board pack, the PowerPoint and the HTML deck, with its period beside it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pypdf import PdfReader

from metrics.analyses.reading import read_metric, readings
from metrics.board import open_board
from metrics.exports import build_export
from metrics.exports.content import deck_content
from metrics.sql.series import SeriesQuery
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
# The board layout's default period: the one the pack and the decks are built for.
PERIOD = SeriesQuery(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))


def flat(text: str) -> str:
    return " ".join(text.replace("\u2060", "").split())


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def exports(board):
    return {
        (fmt, audience): build_export(board, fmt, audience)
        for fmt in ("html", "pptx", "pdf")
        for audience in ("board", "public")
    }


def pdf_text(data: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def pptx_text(data: bytes) -> str:
    parts = []
    for slide in Presentation(io.BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
    return flat(" ".join(parts))


def html_text(data: bytes) -> str:
    import html
    import re

    body = data.decode("utf-8")
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.parametrize("audience", ["board", "public"])
def test_every_reading_is_in_the_pack_with_its_period(board, exports, audience):
    text = pdf_text(exports[("pdf", audience)].data)
    checked = 0
    for reading in readings(board, PERIOD, audience):
        if reading.available:
            assert f"{reading.display} {reading.period}" in text, reading.metric.id
            checked += 1
    assert checked >= 30


def test_the_overview_shows_the_same_figures_as_the_board_pack(board, exports):
    app = run_page("pages/overview.py", **{"from": "2019-04", "to": "2025-03"})
    table = pd.concat([frame.value for frame in app.dataframe], ignore_index=True)
    shown = {row["Metric"]: (row["Latest"], row["Month"]) for _, row in table.iterrows()}
    text = pdf_text(exports[("pdf", "board")].data)
    for reading in readings(board, PERIOD, "board"):
        if not reading.available:
            continue
        latest, month = shown[reading.metric.title]
        assert (latest, month) == (reading.display, reading.period)
        assert f"{latest} {month}" in text


@pytest.mark.parametrize("audience", ["board", "public"])
def test_slide_figures_are_the_readings_in_every_format(board, exports, audience):
    deck = deck_content(board, audience)
    texts = {
        "html": html_text(exports[("html", audience)].data),
        "pptx": pptx_text(exports[("pptx", audience)].data),
        "pdf": pdf_text(exports[("pdf", audience)].data),
    }
    compared = 0
    for slide in deck.slides:
        definition = next(s for s in board.catalogue.slides if s.id == slide.id)
        if definition.number != "latest" or not slide.big_number:
            continue
        reading = read_metric(board, definition.metric, PERIOD, audience)
        assert slide.big_number == reading.value_text, slide.id
        assert reading.period in slide.number_label
        for name in ("html", "pptx"):
            assert slide.big_number in texts[name], (name, slide.id)
            assert reading.period in texts[name], (name, slide.id)
        compared += 1
    assert compared >= 2


def test_the_showcase_page_shows_the_public_readings(board):
    deck = deck_content(board, "public")
    for number, slide in enumerate(deck.slides, start=1):
        definition = next(s for s in board.catalogue.slides if s.id == slide.id)
        if definition.number != "latest" or not slide.big_number:
            continue
        app = run_page("pages/showcase.py", slide=str(number))
        page = flat(" ".join(str(m.value) for m in app.markdown))
        reading = read_metric(board, definition.metric, PERIOD, "public")
        assert reading.value_text in page and reading.period in page
