"""Metric tiles and phone cards as one HTML block each: the reading's own words and figures,
everything from configuration escaped, nothing that Markdown could take over, and the
tile made once per board and sent as it is by every session."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from pathlib import Path

import pytest

from metrics.analyses.reading import exceptions_first, read_metric, readings
from metrics.board import open_board
from metrics.formatting import direction_word
from metrics.sql.series import SeriesQuery
from metrics.ui.cards import phone_cards, tile_body
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
PERIOD = SeriesQuery(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))
HOSTILE = "[click](https://evil.example)\n\n<script>alert(1)</script> **bold**"


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def all_readings(board):
    return readings(board, PERIOD, "board")


def words(block: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", block)).split())


def test_a_tile_says_the_reading_its_month_and_its_change(all_readings):
    shown = [r for r in all_readings if r.available and r.change is not None and r.change]
    assert shown
    for reading in shown:
        body = tile_body(reading)
        text = words(body)
        assert reading.display in text and reading.period in text, reading.metric.id
        word = direction_word(reading.change, reading.metric)
        assert f"{reading.change_display} {reading.change_period}, {word}" in text
        # The colour says what the words say: better is green, worse red, else neither.
        colour = re.search(r"board-tile-(better|worse|same)", body).group(1)
        assert colour == (word if word in {"better", "worse"} else "same")
        # The arrow follows the sign of the change (hidden from screen readers: the words
        # carry the meaning).
        arrow = "▲" if reading.change > 0 else "▼"
        assert f'<span aria-hidden="true">{arrow} </span>' in body


def test_a_provisional_headline_says_so_on_its_tile(all_readings):
    provisional = [r for r in all_readings if r.available and r.provisional]
    for reading in provisional:
        assert f"{reading.period} ({reading.status_label})" in words(tile_body(reading))


def test_a_suppressed_tile_shows_no_change(board):
    reading = next(
        r for r in readings(board, PERIOD, "public") if r.available and r.change is not None
    )
    suppressed = dataclasses.replace(reading, suppressed=True, display="*")
    body = tile_body(suppressed)
    assert "board-tile-change" not in body and reading.change_display not in words(body)


def test_an_unavailable_tile_gives_its_reason_escaped(all_readings):
    reading = dataclasses.replace(all_readings[0], available=False, reason=HOSTILE)
    body = tile_body(reading)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "Unavailable:" in words(body)


def test_configuration_text_cannot_become_markup_or_end_the_html_block(all_readings):
    """A blank line would end st.markdown's HTML block and let the rest be read as
    Markdown (a link, bold); every text is escaped and its whitespace folded."""
    base = next(r for r in all_readings if r.available and r.sparkline)
    metric = base.metric.model_copy(update={"title": HOSTILE})
    hostile = dataclasses.replace(base, metric=metric, scope="borough")
    for block in (tile_body(hostile), phone_cards([hostile], "lcn=North")):
        assert "\n" not in block
        assert "<script>" not in block and "&lt;script&gt;" in block
        assert '<a href="https://evil' not in block


def test_phone_cards_link_to_each_metric_with_the_filters(all_readings):
    block = phone_cards(all_readings[:3], "lcn=North+East")
    for reading in all_readings[:3]:
        assert f'href="metric?metric={reading.metric.id}&amp;lcn=North+East"' in block
    assert block.count('<li class="board-card">') == 3


def test_overview_tiles_are_one_block_each_the_same_for_every_session(board):
    app = run_page("pages/overview.py", **{"from": "2019-04", "to": "2025-03"})
    tiles = [m.value for m in app.markdown if m.value.startswith('<div class="board-tile">')]
    attention = [r for r in exceptions_first(readings(board, PERIOD, "board")) if r.needs_attention]
    assert attention and len(tiles) == len(attention)
    for reading, tile in zip(attention, tiles, strict=True):
        assert reading.display in words(tile) and reading.period in words(tile)
    # A second session is sent the very same text (made once per board, by the first).
    again = run_page("pages/overview.py", **{"from": "2019-04", "to": "2025-03"})
    assert [
        m.value for m in again.markdown if m.value.startswith('<div class="board-tile">')
    ] == tiles


def test_the_reading_on_a_tile_is_the_one_read_for_the_board(board):
    reading = read_metric(board, "secondary_referrals", PERIOD)
    assert reading.display in words(tile_body(reading))


def test_tile_links_name_the_registered_page_and_look_nothing_up_on_disk(board, monkeypatch):
    """st.page_link is given this run's st.Page: Streamlit's lookup of a page by its file
    (which resolves the path on disk and compares it with every page) is never reached."""
    import streamlit.elements.widgets.button as button

    def no_lookup(*_args, **_kwargs):
        raise AssertionError("a page link looked its page up by file path")

    monkeypatch.setattr(button, "normalize_path_join", no_lookup)
    app = run_page("pages/overview.py", lcn="North", **{"from": "2019-04", "to": "2025-03"})
    links = [element.proto for element in app.get("page_link")]
    attention = [
        r
        for r in exceptions_first(
            readings(board, dataclasses.replace(PERIOD, lcn="North"), "board")
        )
        if r.needs_attention
    ]
    assert attention and len(links) == len(attention)
    for link, reading in zip(links, attention, strict=True):
        assert link.page == "metric" and link.page_script_hash and not link.icon
        assert f"metric={reading.metric.id}" in link.query_string
        assert "lcn=North" in link.query_string
