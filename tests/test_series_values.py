"""Series values against results computed by hand on tests/fixtures/mini."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from metrics.board import open_board
from metrics.sql.series import SeriesQuery

NAN = math.nan


@pytest.fixture(scope="module")
def board():
    return open_board(Path(__file__).parent / "fixtures" / "mini" / "config")


def values(frame, column="value"):
    return [None if math.isnan(v) else round(v, 6) for v in frame[column]]


@pytest.mark.parametrize(
    ("metric_id", "expected"),
    [
        # Jan: e1 a, e2 a, e3 b; Feb: no rows in the source at all (missing, not zero);
        # Mar: e4 a, e5 b; Apr: e6 b only (a true zero for counts).
        ("count_a", [2, None, 1, 0]),
        ("sum_days", [18, None, 8, 2]),
        ("mean_days", [6, None, 4, 2]),
        ("median_days", [5, None, 4, 2]),
        # quantile_cont: Jan [3, 5, 10] -> 5 + 0.8 * 5 = 9; Mar [1, 7] -> 1 + 0.9 * 6 = 6.4
        ("p90_days", [9, None, 6.4, 2]),
        # Jan 2 of 3 flagged; Mar e5 has a blank flag so 1 of 1; Apr 0 of 1
        ("pct_flag", [66.666667, None, 100, 0]),
        # a per 1,000 of 4,000 people
        ("rate_a", [0.5, None, 0.25, 0]),
        # monthly table: a blank value makes the month missing
        ("sum_x", [10, None, 12]),
        ("x_over_y", [50, None, 40]),
    ],
)
def test_series_matches_hand_computation(board, metric_id, expected):
    frame = board.series(metric_id).frame
    assert [m.date() for m in frame["month"]][:3] == [
        dt.date(2024, 1, 1),
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
    ]
    assert values(frame) == expected


def test_ratio_keeps_numerator_and_denominator(board):
    frame = board.series("pct_flag").frame
    assert values(frame, "numerator") == [2, None, 1, 0]
    assert values(frame, "denominator") == [3, None, 1, 1]


def test_rate_keeps_population_denominator(board):
    frame = board.series("rate_a").frame
    assert values(frame, "numerator")[0] == 2
    assert values(frame, "denominator")[0] == 4000


def test_breakdown_gives_zero_cells_and_missing_months(board):
    frame = board.series("count_a", SeriesQuery(breakdown="lcn")).frame
    table = {
        (m.month, g): v
        for m, g, v in zip(frame["month"], frame["group"], values(frame), strict=True)
    }
    assert table[(1, "North")] == 1 and table[(1, "South")] == 1
    assert table[(2, "North")] is None and table[(2, "South")] is None
    assert table[(3, "South")] == 0 and table[(4, "North")] == 0


def test_rate_by_group_uses_the_group_population(board):
    frame = board.series("rate_a", SeriesQuery(breakdown="lcn")).frame
    january = frame[frame["month"] == "2024-01-01"].set_index("group")["value"]
    assert january["North"] == pytest.approx(1.0)  # 1 per 1,000
    assert january["South"] == pytest.approx(1 / 3)  # 1 per 3,000 -> 0.333 per 1,000


def test_neighbourhood_filter_applies_to_rows(board):
    frame = board.series("count_a", SeriesQuery(lcn="North")).frame
    assert values(frame) == [1, None, 1, 0]


def test_neighbourhood_filter_on_a_source_without_lcn_is_noted(board):
    result = board.series("sum_x", SeriesQuery(lcn="North"))
    assert values(result.frame) == [10, None, 12]
    assert any("not recorded by neighbourhood" in note for note in result.notes)


def test_period_filter(board):
    frame = board.series(
        "count_a", SeriesQuery(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 1))
    ).frame
    assert values(frame) == [1]


def test_reading_reports_latest_month_and_no_year_ago(board):
    from metrics.analyses.reading import read_metric

    reading = read_metric(board, "count_a", SeriesQuery())
    assert reading.available and not reading.provisional  # the mini source has none
    assert reading.month == dt.date(2024, 4, 1)
    assert reading.period == "Apr 2024"
    assert reading.value == 0 and reading.display == "0 events"
    assert reading.change is None and reading.change_display == ""  # nothing a year earlier
    # The sparkline leaves the missing month out (a gap is not a value).
    assert reading.sparkline == (2.0, 1.0, 0.0)


def test_series_sql_is_plain_sql_over_the_loaded_table(board):
    sql = board.series("count_a").sql
    assert "src_events" in sql and "GROUP BY" in sql
