"""Every chart says what and where (issue 16, req. 3): the metric page's breakdown lines,
and the funnel plots carry a title."""

from __future__ import annotations

import pytest

from metrics.analyses.disclosure import MHSDS
from metrics.analyses.funnel import breakdown_funnel
from metrics.board import open_board
from metrics.charts.funnel_chart import funnel_chart
from metrics.charts.series_chart import series_chart
from metrics.sql.series import SeriesQuery


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
