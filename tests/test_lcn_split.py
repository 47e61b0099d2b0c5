"""One query for every neighbourhood: a neighbourhood's series cut from the metric broken
down by neighbourhood is the same, figure for figure, as that neighbourhood's own query.

The board serves a neighbourhood filter from the broken-down series (made once per metric),
so a reader's first neighbourhood change does not wait for a query per metric. These tests
hold that to the neighbourhood's own filtered query for every metric of the sample alliance
and every neighbourhood, and check the cases that must keep a query of their own."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from metrics.board import Board, open_board
from metrics.sql.series import SeriesQuery, compute_series

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(ROOT / "config")


def own_query(board: Board, metric_id: str, lcn: str) -> pd.DataFrame:
    """The neighbourhood's own filtered query, as the board ran it before the split."""
    return compute_series(
        board.warehouse,
        board.metric(metric_id),
        board.catalogue.sources,
        SeriesQuery(lcn=lcn),
        lcn_column=board.catalogue.board.lcn_column,
        lcn_recorded=board.lcn_recorded(metric_id),
    ).frame


def split_metrics(board: Board) -> list[str]:
    return [m.id for m in board.catalogue.metrics.values() if board._splits_by_lcn(m)]


def test_most_sample_metrics_are_served_from_one_query(board: Board) -> None:
    split = split_metrics(board)
    live = [m for m in board.catalogue.metrics.values() if m.status != "retired"]
    assert len(split) >= len(live) // 2, (len(split), len(live))
    column = board.catalogue.board.lcn_column
    for metric in live:
        source = board.catalogue.sources[metric.source]
        if column in source.columns and board.lcn_recorded(metric.id):
            assert metric.id in split


def test_every_split_series_equals_its_own_query(board: Board) -> None:
    lcns = board.catalogue.board.lcns
    assert lcns, "the sample alliance has neighbourhoods"
    checked = 0
    for metric_id in split_metrics(board):
        for lcn in lcns:
            served = board.series(metric_id, SeriesQuery(lcn=lcn)).frame
            expected = own_query(board, metric_id, lcn)
            pd.testing.assert_frame_equal(
                served.reset_index(drop=True),
                expected.reset_index(drop=True),
                check_dtype=False,
                obj=f"{metric_id} in {lcn}",
            )
            checked += 1
    assert checked >= len(lcns)


def test_a_period_cut_of_a_split_series_is_the_same_cut(board: Board) -> None:
    import datetime as dt

    metric_id = split_metrics(board)[0]
    lcn = board.catalogue.board.lcns[0]
    query = SeriesQuery(start=dt.date(2022, 4, 1), end=dt.date(2023, 3, 1), lcn=lcn)
    served = board.series(metric_id, query).frame
    whole = own_query(board, metric_id, lcn)
    keep = (whole["month"] >= "2022-04-01") & (whole["month"] <= "2023-03-01")
    assert len(served) == 12
    pd.testing.assert_frame_equal(
        served.reset_index(drop=True), whole[keep].reset_index(drop=True), check_dtype=False
    )


def test_the_shown_sql_is_the_neighbourhoods_own(board: Board) -> None:
    metric_id = split_metrics(board)[0]
    lcn = board.catalogue.board.lcns[-1]
    result = board.series(metric_id, SeriesQuery(lcn=lcn))
    assert lcn in result.sql
    assert "Not recorded" not in result.sql  # not the broken-down query


def test_one_query_of_a_source_serves_every_neighbourhood_of_its_metrics(board: Board) -> None:
    """Requirement: all neighbourhood series for a source come from one query (one per date
    column the source is read by); only a rate's population and a metric's own-date
    calendar are asked separately."""
    fresh = open_board(ROOT / "config")
    by_source: dict[str, list[str]] = {}
    for metric_id in split_metrics(fresh):
        by_source.setdefault(fresh.metric(metric_id).source, []).append(metric_id)
    source, metric_ids = max(by_source.items(), key=lambda item: len(item[1]))
    assert len(metric_ids) >= 3, by_source
    calls: list[str] = []
    select = fresh.warehouse.select

    def counting(*args, **kwargs):
        calls.append(kwargs.get("label", ""))
        return select(*args, **kwargs)

    fresh.warehouse.select = counting  # type: ignore[method-assign]
    for metric_id in metric_ids:
        fresh.lcn_recorded(metric_id)  # the probe is asked once per metric, not per neighbourhood
    calls.clear()
    for metric_id in metric_ids:
        for lcn in fresh.catalogue.board.lcns:
            fresh.series(metric_id, SeriesQuery(lcn=lcn))
    dates = {
        fresh.metric(m).date or fresh.catalogue.sources[source].date_column for m in metric_ids
    }
    shared = [c for c in calls if c == f"the metrics of source '{source}' by neighbourhood"]
    assert len(shared) == len(dates), calls
    for metric_id in metric_ids:
        metric = fresh.metric(metric_id)
        allowed = (metric.rate is not None) + (metric.date is not None)
        assert len([c for c in calls if c == f"metric '{metric_id}'"]) <= allowed, calls


def test_metrics_that_cannot_share_a_query_still_get_their_own_figures(board: Board) -> None:
    """A shared query that fails (here: made to fail) falls back to each metric's own
    query, with the same figures."""
    from metrics.sql.backends import QueryError

    fresh = open_board(ROOT / "config")
    select = fresh.warehouse.select

    def refusing(query, *, label: str = ""):
        if label.startswith("the metrics of source"):
            raise QueryError("refused for the test")
        return select(query, label=label)

    fresh.warehouse.select = refusing  # type: ignore[method-assign]
    lcn = fresh.catalogue.board.lcns[0]
    for metric_id in split_metrics(fresh)[:6]:
        pd.testing.assert_frame_equal(
            fresh.series(metric_id, SeriesQuery(lcn=lcn)).frame.reset_index(drop=True),
            board.series(metric_id, SeriesQuery(lcn=lcn)).frame.reset_index(drop=True),
            obj=f"{metric_id} in {lcn}",
        )


def test_the_check_covers_monthly_sources_rates_and_record_level_sources(board: Board) -> None:
    kinds = set()
    for metric_id in split_metrics(board):
        metric = board.metric(metric_id)
        kinds.add(board.catalogue.sources[metric.source].grain == "monthly")
        kinds.add("rate" if metric.measure == "rate" else "other")
    assert kinds >= {True, False, "other"}, kinds


def test_a_neighbourhood_without_rows_gets_its_own_answer(board: Board) -> None:
    metric_id = split_metrics(board)[0]
    served = board.series(metric_id, SeriesQuery(lcn="Nowhere")).frame
    expected = own_query(board, metric_id, "Nowhere")
    pd.testing.assert_frame_equal(
        served.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
