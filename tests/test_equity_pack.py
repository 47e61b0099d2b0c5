"""The board pack's equity section (issue 12, requirement 6): age-standardised rates beside
crude ones, the standardised comparison and the month-to-month variation in words, under
each audience's disclosure policy, and in the PDF itself."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from metrics.analyses.disclosure import SUPPRESSED, policy_for
from metrics.analyses.equity import equity_rates
from metrics.analyses.equity_shown import shown_standardised
from metrics.board import Board, open_board
from metrics.exports import build_export
from metrics.exports.content import board_pack_content

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(ROOT / "config")


@pytest.mark.parametrize("audience", ["board", "public"])
def test_equity_section_shows_standardised_rates_and_says_what_was_widened(board, audience):
    section = board_pack_content(board, audience).equity
    assert section.available
    words = " ".join(section.paragraphs)
    assert "Allowing for differences in age (rates standardised to the 2013 European" in words
    assert "chance" in words  # the month-to-month variation, in board words
    titles = [t.title for t in section.tables]
    assert "Allowing for age: crude and age-standardised rates" in titles
    ages = section.tables[titles.index("Allowing for age: crude and age-standardised rates")]
    assert "Age-standardised rate per 100,000 a year" in ages.columns
    assert "2013 European Standard Population" in ages.note and "8,200" in ages.note
    # The figures are the ones worked out from the counts as shown for this audience.
    policy = policy_for(board.catalogue, audience)
    rows = {row[0]: dict(zip(ages.columns, row, strict=True)) for row in ages.rows}
    kinds = [c.kind for c in section.charts]
    assert kinds.count("equity") == 2  # crude rates, and crude beside standardised
    black = rows["Black"]["Age-standardised rate per 100,000 a year"]
    assert black != SUPPRESSED and float(black.replace(",", "")) > 200
    assert policy.applies()  # so every figure here came from counts as shown


def test_equity_section_figures_match_the_analysis_as_shown(board):
    section = board_pack_content(board, "public").equity
    ages = next(t for t in section.tables if t.title.startswith("Allowing for age"))
    rows = {row[0]: dict(zip(ages.columns, row, strict=True)) for row in ages.rows}
    policy = policy_for(board.catalogue, "public")
    crude = next(t for t in section.tables if not t.title.startswith("Allowing"))
    first, last = crude.title.split(", ")[-1].split(" to ")  # the months pooled
    result = equity_rates(
        board,
        "detention_rate",
        "ethnicity",
        start=dt.datetime.strptime(first, "%B %Y").date(),
        end=dt.datetime.strptime(last, "%B %Y").date(),
    )
    shown = shown_standardised(result, policy)
    for g in shown.groups:
        text = rows[g.group]["Age-standardised rate per 100,000 a year"]
        assert text == (SUPPRESSED if g.suppressed else f"{g.rate:,.1f}")


def test_pdf_pack_prints_the_standardised_table(board):
    export = build_export(board, "pdf", "board")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(export.data)).pages)
    flat = " ".join(text.split())
    assert "Allowing for age" in flat and "Age-standardised" in flat
    assert "2013 European Standard Population" in flat
