"""The Data quality page's charts for one period (and, for completeness, one source or
every source), made once per board and shared by every reader.

The page lays them out; the server's start-up warm (and each reload's) makes the opening
view's the same way before anyone asks (`warm_data_quality`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics.analyses.data_quality import (
    DataQualityReport,
    completeness_alt_text,
    data_quality_report,
    revisions_alt_text,
)
from metrics.analyses.reading import default_period
from metrics.board import Board
from metrics.charts.data_quality_chart import completeness_heatmap, revisions_chart
from metrics.labels import measure_key_label
from metrics.ui.components import ChartPart, warm_part

ALL_SOURCES = "all"  # the completeness choice of every checked source together


def completeness_shown(report: DataQualityReport, source_choice: str) -> pd.DataFrame:
    """The completeness rows of the choice: one row per source, or one source's measures."""
    if source_choice == ALL_SOURCES:
        return report.completeness_by_source
    return report.completeness[report.completeness["source_id"] == source_choice]


def completeness_chart(
    board: Board, report: DataQualityReport, start: dt.date, end: dt.date, source_choice: str
) -> ChartPart:
    shown = completeness_shown(report, source_choice)
    by_source = source_choice == ALL_SOURCES
    return ChartPart(
        lambda: completeness_heatmap(shown, by_source=by_source),
        lambda: completeness_alt_text(shown, by_source=by_source),
        ("data_quality", start, end, "completeness", source_choice),
        "Complete months, every source"
        if by_source
        else f"Complete months, {board.catalogue.sources[source_choice].title}",
        "each row is a "
        + ("source" if by_source else "measure")
        + " and each column a month. Dark blue months are complete. A cross marks a missing "
        "month, a triangle an incomplete one and a diamond a provisional month still filling "
        "up. A month is incomplete when providers (or other keys) with values in the months "
        "either side have none in it, or when its total falls below the 3 months before, the "
        "3 after and the same month a year earlier by more than the source's tolerance "
        "(sources.yaml checks:) and its usual swings. Hover a cell for why, and the share of "
        "a usual month's values present.",
    )


def revisions_chart_part(
    board: Board, report: DataQualityReport, start: dt.date, end: dt.date
) -> ChartPart | None:
    """None when revisions are unavailable (the page says why)."""
    if report.revisions is None or report.revisions_by_lag is None:
        return None
    by_lag = report.revisions_by_lag
    in_words = by_lag.assign(
        measure_key=by_lag["measure_key"].map(lambda k: measure_key_label(board.catalogue, k))
    )
    return ChartPart(
        lambda: revisions_chart(in_words),
        lambda: revisions_alt_text(in_words),
        ("data_quality", start, end, "revisions"),
        "How close early figures are to final ones, by months since the month",
        "how close a reported figure is to its final value, by how many months after the "
        "month it describes it was extracted (the median over every month that is now "
        "final). Each measure has its own colour, dash and marker; the dotted line at 100% "
        "is final.",
    )


def warm_data_quality(board: Board) -> None:
    """The charts of the page's opening view (the whole period, every source)."""
    period = default_period(board)
    if period is None:
        return
    start, end = period
    report = data_quality_report(board, start, end)
    parts = [revisions_chart_part(board, report, start, end)]
    if not completeness_shown(report, ALL_SOURCES).empty:
        parts.append(completeness_chart(board, report, start, end, ALL_SOURCES))
    for part in parts:
        if part is not None:
            warm_part(part, board)
