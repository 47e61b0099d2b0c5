"""Every chart says what and where (issue 16, req. 3): the metric page's breakdown lines,
the funnel plots and every chart on a board page carry a title."""

from __future__ import annotations

import json

import pytest

from metrics.analyses.disclosure import MHSDS
from metrics.analyses.funnel import breakdown_funnel
from metrics.board import open_board
from metrics.charts.funnel_chart import funnel_chart
from metrics.charts.series_chart import series_chart
from metrics.sql.series import SeriesQuery
from tests.apptest_support import run_page


@pytest.fixture(scope="module")
def board():
    return open_board("config")


def _title(spec: dict) -> str:
    title = spec.get("title")
    return title if isinstance(title, str) else (title or {}).get("text", "")


def test_a_breakdown_line_chart_carries_its_title(board):
    metric = board.catalogue.metrics["secondary_referrals"]
    frame = board.series(metric.id, SeriesQuery(breakdown="lcn")).frame
    spec = series_chart(frame, metric, title="Referrals by Local Care Network, Lambeth").to_dict()
    assert _title(spec) == "Referrals by Local Care Network, Lambeth"
    assert "title" not in series_chart(frame, metric).to_dict()  # no title unless given


def test_a_funnel_plot_says_what_is_compared_by_what_and_when(board):
    funnel = breakdown_funnel(board, "detention_rate", SeriesQuery(breakdown="lcn"), MHSDS)
    title = _title(funnel_chart(funnel).to_dict())
    assert title.startswith(f"{funnel.title} by {funnel.group_label}")
    assert funnel.period and funnel.period in title


def _charts(node) -> list[dict]:
    """Every Vega-Lite spec in an AppTest element tree."""
    found = []
    children = getattr(node, "children", None) or {}
    for child in children.values() if isinstance(children, dict) else children:
        found += _charts(child)
    proto = getattr(node, "proto", None)
    if getattr(node, "type", "") == "vega_lite_chart" and proto is not None:
        found.append(json.loads(proto.spec))
    return found


@pytest.mark.parametrize(
    "page",
    ["access", "crisis", "equity", "money", "data_quality", "impact", "metric"],
)
def test_every_chart_on_a_board_page_says_what_it_shows(page):
    app = run_page(f"pages/{page}.py")
    charts = _charts(app._tree)
    assert charts, f"{page}: no chart found"
    untitled = [spec.get("description", "")[:80] for spec in charts if not _title(spec)]
    assert not untitled, f"{page}: charts without a title: {untitled}"
