"""The verdict and the headline study where the board reads them: the Impact page, the
board pack's impact pages and cover, the slides' charts, and board.yaml's validation."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from metrics.analyses.impact import (
    ImpactRequest,
    headline_study_id,
    run_impact,
    studies_headline_first,
    verdict_badge,
)
from metrics.board import open_board
from metrics.exports.content import board_pack_content, deck_content
from metrics.validation import load_config
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
CODES = re.compile(r"\b(ols|arima|quasipoisson|negbin|fourier:\d)\b|ljung|durbin", re.I)


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


def test_the_headline_study_is_the_one_board_yaml_names(board):
    assert board.catalogue.board.headline_study == "secondary_referrals"
    assert headline_study_id(board) == "secondary_referrals"
    assert studies_headline_first(board)[0].id == "secondary_referrals"
    # Catalogue order for the rest.
    rest = [m.id for m in studies_headline_first(board)[1:]]
    assert rest[0] == "front_door_introductions"


def test_without_a_headline_study_the_first_study_leads(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], its: {interventions: [change]}}",
    )
    board = open_board(mini)
    assert board.catalogue.board.headline_study is None
    assert headline_study_id(board) == "count_a"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_such_metric", "unknown metric 'no_such_metric'"),
        ("rate_a", "metric 'rate_a' has no its: block"),
    ],
)
def test_a_headline_study_must_name_a_study(mini, value, message):
    with (mini / "board.yaml").open("a", encoding="utf-8") as handle:
        handle.write(f"headline_study: {value}\n")
    issues = [i for i in load_config(mini).issues if i.field == "headline_study"]
    assert len(issues) == 1 and message in issues[0].message
    assert issues[0].file.endswith("board.yaml") and issues[0].line > 0


def test_board_pack_opens_on_the_headline_study_with_its_verdict(board):
    pack = board_pack_content(board, "board", meeting_date=dt.date(2025, 4, 30))
    pages = [p for p in pack.impact_pages]
    assert pages[0].metric_id == "secondary_referrals" and pages[0].headline
    assert sum(p.headline for p in pages) == 1
    for page in pages:
        if not page.available:
            continue
        impact = run_impact(board, ImpactRequest(page.metric_id))
        assert (page.verdict, page.verdict_colour) == verdict_badge(impact)
        assert page.verdict_words == impact.result.verdict.words()
        # Board text: the model in words, no codes or test names.
        for text in (page.model, page.sentence, page.big_number, page.interval, *page.diagnostics):
            assert not CODES.search(text), (page.metric_id, text)
        assert page.chart is not None and page.verdict in page.chart.alt_text
    lead = next(b for b in pack.cover.summary if "planned impact studies" in b)
    assert "Referrals from primary care to secondary mental health care" in lead
    assert f"[{pages[0].verdict}]" in lead


def test_slides_that_use_a_study_carry_its_verdict(board):
    deck = deck_content(board, "public")
    used = [s for s in deck.slides if s.chart is not None and s.chart.kind == "its"]
    assert used, "the showcase has slides with an impact chart"
    for slide in used:
        spec = slide.chart.chart.to_dict()
        title = spec.get("title")
        title = title.get("text") if isinstance(title, dict) else title
        assert title in ("Model fits", "Model fits, with caveats", "Does not fit: no conclusion")
        assert title in slide.chart.alt_text


def test_impact_page_opens_on_the_headline_study_with_a_badge():
    app = run_page("pages/impact.py")
    assert app.header[0].value == "Referrals from primary care to secondary mental health care"
    badges = [m.value for m in app.markdown if "-badge[" in m.value]
    assert badges and re.search(r":(green|orange)-badge\[Model fits", badges[0])
    expanders = [e.label for e in app.expander]
    assert "Details for analysts (tests and coefficients)" in expanders


def test_a_study_that_does_not_fit_shows_a_red_badge_and_no_conclusion():
    app = run_page(
        "pages/impact.py",
        metric="ipsa_living_independently",
        intervention="ipsa_go_live",
        model="ols",
    )
    badges = [m.value for m in app.markdown if "-badge[" in m.value]
    assert badges and ":red-badge[Does not fit: no conclusion]" in badges[0]
    assert any("does not fit the data well enough" in w.value for w in app.warning)
    assert any("No conclusion on whether" in m.value for m in app.markdown)
    assert not any("consistent with no change" in m.value for m in app.markdown)


def test_bad_input_names_the_metric_and_field_and_the_page_keeps_working():
    app = run_page("pages/impact.py", metric="dialog_review_score", intervention="ipsa_go_live")
    (warning,) = [w.value.replace("\\", "") for w in app.warning if "No impact estimate" in w.value]
    assert "Average DIALOG quality of life at review" in warning
    assert "[its.interventions]" in warning
    # The choices above the message still work: another study can be picked.
    assert app.selectbox(key="impact_metric").options
