"""Same numbers everywhere: the sample alliance on embedded DuckDB, PostgreSQL and Spark.

The sample's files are checked and loaded into a throwaway PostgreSQL cluster and into
local Spark by `python -m metrics warehouse load`'s code, and a board is opened on each
(the site's PostgreSQL role can only SELECT). Every metric x breakdown x period, a
neighbourhood, every rate, the money report, every equity analysis and the data-quality
report must be identical: exact for counts, within 1e-9 relative for sums and averages of
doubles (engines add floating-point numbers in different orders).

PostgreSQL and Java are installed by .ci/run; where they are absent these tests skip with
the reason (and fail under CI=true).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.board import Board, open_board
from metrics.sql.remote import load_files
from metrics.sql.series import SeriesQuery, compute_series, compute_sources_by_lcn
from metrics.validation import load_config
from tests.warehouse_support import SITE_PASSWORD, require_spark, start_postgres

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
RTOL = 1e-9
# Not figures: when a source's file last changed (a warehouse table has no file; the board
# says when it read it) and how long loading took.
NOT_FIGURES = ("[file_modified]", "[load_seconds]", ".file_modified", ".load_seconds")
PERIODS = [
    (None, None),
    (dt.date(2016, 4, 1), dt.date(2017, 3, 1)),
    (dt.date(2024, 4, 1), dt.date(2025, 3, 1)),
]


class _Env:
    """Set environment variables for the life of a fixture."""

    def __init__(self, **values: str) -> None:
        self.values = values
        self.before = {k: os.environ.get(k) for k in values}

    def __enter__(self) -> None:
        os.environ.update(self.values)

    def __exit__(self, *_: object) -> None:
        for key, value in self.before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def duckdb_board() -> Iterator[Board]:
    board = open_board(CONFIG)
    yield board
    board.warehouse.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[object]:
    cluster = start_postgres()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def postgres_board(postgres) -> Iterator[Board]:
    catalogue = load_config(CONFIG).catalogue
    report = load_files(catalogue, postgres.loader_url, schema="alliance")
    assert not [i for i in report.issues if i.is_error]
    with _Env(ALLIANCE_WAREHOUSE=postgres.site_url, PGPASSWORD=SITE_PASSWORD):
        board = open_board(CONFIG)
    yield board
    board.warehouse.close()


@pytest.fixture(scope="module")
def spark_board(tmp_path_factory) -> Iterator[Board]:
    folder = tmp_path_factory.mktemp("spark-warehouse")
    require_spark(folder)
    catalogue = load_config(CONFIG).catalogue
    report = load_files(catalogue, "spark://local", schema="alliance")
    assert not [i for i in report.issues if i.is_error]
    # Local Spark takes a second or two per query while its JVM warms up, more with
    # several at once: the operator's time limit is raised, as docs/warehouse.md advises.
    with _Env(ALLIANCE_WAREHOUSE="local[2]", ALLIANCE_QUERY_TIMEOUT_SECONDS="300"):
        board = open_board(CONFIG)
    yield board
    board.warehouse.close()


# --------------------------------------------------------------------------- comparing


def assert_same(expected: object, actual: object, where: str = "") -> None:
    """Equal, with floats within RTOL relative (NaN equals NaN); charts are not compared."""
    if type(expected).__module__.startswith("altair") or where.endswith(NOT_FIGURES):
        return
    if where.endswith(".issue_lines"):
        # Findings name where each source is: a file here, a warehouse table there.
        assert sorted(_message(line) for line in expected) == sorted(  # type: ignore[union-attr]
            _message(line)
            for line in actual  # type: ignore[union-attr]
        ), where
        return
    if isinstance(expected, pd.DataFrame):
        assert isinstance(actual, pd.DataFrame), where
        assert list(expected.columns) == list(actual.columns), where
        assert len(expected) == len(actual), f"{where}: {len(expected)} != {len(actual)} rows"
        for name in expected.columns:
            assert_same(expected[name], actual[name], f"{where}[{name}]")
        return
    if isinstance(expected, pd.Series):
        left, right = expected.reset_index(drop=True), actual.reset_index(drop=True)
        numeric = pd.api.types.is_numeric_dtype(left) and not pd.api.types.is_bool_dtype(left)
        if numeric and pd.api.types.is_numeric_dtype(right):
            a = pd.to_numeric(left, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            b = pd.to_numeric(right, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            np.testing.assert_allclose(b, a, rtol=RTOL, atol=0, equal_nan=True, err_msg=where)
            return
        if pd.api.types.is_datetime64_any_dtype(left):
            assert list(pd.to_datetime(left)) == list(pd.to_datetime(right)), where
            return
        for position, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
            assert_same(a, b, f"{where}[{position}]")
        return
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        for item in dataclasses.fields(expected):
            assert_same(
                getattr(expected, item.name), getattr(actual, item.name), f"{where}.{item.name}"
            )
        return
    if isinstance(expected, dict):
        assert set(expected) == set(actual), where
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}[{key!r}]")
        return
    if isinstance(expected, list | tuple):
        assert len(expected) == len(actual), where
        for position, (a, b) in enumerate(zip(expected, actual, strict=True)):
            assert_same(a, b, f"{where}[{position}]")
        return
    if isinstance(expected, float | np.floating) and not isinstance(expected, bool):
        if math.isnan(expected):
            assert actual is None or math.isnan(float(actual)), where  # type: ignore[arg-type]
            return
        assert math.isclose(float(expected), float(actual), rel_tol=RTOL, abs_tol=0), (  # type: ignore[arg-type]
            f"{where}: {expected!r} != {actual!r}"
        )
        return
    if expected is None or expected is pd.NA or expected is pd.NaT:
        assert (
            actual is None
            or actual is pd.NA
            or actual is pd.NaT
            or (isinstance(actual, float) and math.isnan(actual))
        ), f"{where}: {expected!r} != {actual!r}"
        return
    if isinstance(expected, pd.Timestamp | dt.date):
        assert pd.Timestamp(expected) == pd.Timestamp(actual), f"{where}: {expected} != {actual}"  # type: ignore[arg-type]
        return
    assert expected == actual, f"{where}: {expected!r} != {actual!r}"


def _message(line: str) -> str:
    """An issue's text without its location (file or table, and line)."""
    return line.split(": ", 1)[-1]


def _series_cases(board: Board) -> list[tuple[str, SeriesQuery]]:
    cases: list[tuple[str, SeriesQuery]] = []
    lcn = board.catalogue.board.lcns[0] if board.catalogue.board.lcns else None
    for metric in board.catalogue.metrics.values():
        for start, end in PERIODS:
            cases.append((metric.id, SeriesQuery(start=start, end=end)))
        for breakdown in metric.breakdowns:
            for start, end in (PERIODS[0], PERIODS[-1]):
                cases.append((metric.id, SeriesQuery(breakdown=breakdown, start=start, end=end)))
        if lcn:
            cases.append((metric.id, SeriesQuery(lcn=lcn)))
    return cases


def _all_series(board: Board) -> dict[tuple[str, SeriesQuery], object]:
    def one(case: tuple[str, SeriesQuery]) -> object:
        metric_id, query = case
        metric = board.catalogue.metrics[metric_id]
        try:
            return compute_series(
                board.warehouse,
                metric,
                board.catalogue.sources,
                query,
                lcn_column=board.catalogue.board.lcn_column,
                lcn_recorded=not query.lcn or board.lcn_recorded(metric_id),
            ).frame
        except Exception as exc:  # the same failure everywhere is the same result
            return f"{type(exc).__name__}"

    cases = _series_cases(board)
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(cases, pool.map(one, cases), strict=True))


@pytest.fixture(scope="module")
def duckdb_series(duckdb_board) -> dict:
    return _all_series(duckdb_board)


def _check_series(expected: dict, board: Board) -> None:
    actual = _all_series(board)
    assert set(actual) == set(expected)
    problems = []
    for case, frame in expected.items():
        try:
            assert_same(frame, actual[case], f"{case[0]} {case[1]}")
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    assert not problems, f"{len(problems)} of {len(expected)} series differ: " + "; ".join(
        problems[:10]
    )


def _lcn_splits(board: Board) -> dict[object, object]:
    """Every neighbourhood's series of every metric served from its source's shared query
    (compute_sources_by_lcn), as the board serves the neighbourhood filter. The shared
    queries must run on the backend itself: a metric falling back to its own query would
    hide a dialect the shared query does not suit."""
    failed: list[str] = []
    select = board.warehouse.select

    def watching(query, *, label: str):
        try:
            return select(query, label=label)
        except Exception:
            if label.startswith("the metrics of source"):
                failed.append(label)
            raise

    board.warehouse.select = watching  # type: ignore[method-assign]
    found: dict[object, object] = {}
    try:
        for source in board.catalogue.sources:
            split = [
                m
                for m in board.catalogue.metrics.values()
                if m.source == source and board._splits_by_lcn(m)
            ]
            if not split:
                continue
            outcome = compute_sources_by_lcn(
                board.warehouse,
                split,
                board.catalogue.sources,
                lcn_column=board.catalogue.board.lcn_column,
            )
            for metric_id, series in outcome.items():
                if isinstance(series, Exception):
                    found[metric_id] = type(series).__name__
                    continue
                for lcn, frame in series.items():
                    found[(metric_id, lcn)] = frame
    finally:
        del board.warehouse.select
    assert not failed, failed
    return found


@pytest.fixture(scope="module")
def duckdb_splits(duckdb_board) -> dict:
    splits = _lcn_splits(duckdb_board)
    assert len(splits) >= 20
    return splits


def _analyses(board: Board) -> dict[str, object]:
    """Every money, equity and data-quality figure the pages show for the default views."""
    from metrics.analyses import bed_share, equity, money
    from metrics.analyses.data_quality import data_quality_report

    out: dict[str, object] = {}
    out["money"] = money.money_report(board)
    for year in money.financial_years(board)[-2:]:
        out[f"money {year}"] = money.money_report(board, year)
    out["unit cost trend"] = money.unit_cost_trend(board)
    for metric in equity.equity_metrics(board.catalogue):
        for dimension in equity.metric_dimensions(metric):
            key = f"equity {metric.id} by {dimension}"
            try:
                out[key] = equity.equity_rates(board, metric.id, dimension)
            except equity.EquityError as exc:
                out[key] = str(exc)
        try:
            out[f"bed share {metric.id}"] = bed_share.bed_day_share(
                board, population_metric_id=metric.id
            )
        except equity.EquityError as exc:
            out[f"bed share {metric.id}"] = str(exc)
    out["data quality"] = data_quality_report(board)
    for start, end in PERIODS[1:]:
        out[f"data quality {start}"] = data_quality_report(board, start, end)
    return out


@pytest.fixture(scope="module")
def duckdb_analyses(duckdb_board) -> dict:
    return _analyses(duckdb_board)


def test_the_sample_has_every_kind_of_measure(duckdb_board):
    measures = {m.measure for m in duckdb_board.catalogue.metrics.values()}
    assert {"count", "sum", "mean", "median", "ratio", "rate", "p90"} <= measures


def test_sources_read_alike(duckdb_board, postgres_board):
    for name, board in (("PostgreSQL", postgres_board),):
        assert set(board.warehouse.loaded) == set(duckdb_board.warehouse.loaded), name
        for source_id, loaded in duckdb_board.warehouse.loaded.items():
            other = board.warehouse.loaded[source_id]
            assert (other.rows, other.first_month, other.last_month) == (
                loaded.rows,
                loaded.first_month,
                loaded.last_month,
            ), source_id
            assert other.covered_months == loaded.covered_months, source_id


def test_postgres_series_are_identical(duckdb_series, postgres_board):
    assert postgres_board.warehouse.location.startswith("PostgreSQL at postgresql://alliance_site@")
    assert not postgres_board.errors, [i.format_text() for i in postgres_board.errors]
    _check_series(duckdb_series, postgres_board)


def test_postgres_neighbourhood_splits_are_identical(duckdb_splits, postgres_board):
    actual = _lcn_splits(postgres_board)
    assert set(actual) == set(duckdb_splits)
    for key, frame in duckdb_splits.items():
        assert_same(frame, actual[key], f"postgres {key}")


def test_postgres_money_equity_and_data_quality_are_identical(duckdb_analyses, postgres_board):
    assert_same(duckdb_analyses, _analyses(postgres_board), "postgres")


def test_spark_series_are_identical(duckdb_board, duckdb_series, spark_board):
    assert spark_board.warehouse.location.startswith("Spark at ")
    assert not spark_board.errors, [i.format_text() for i in spark_board.errors]
    for source_id, loaded in duckdb_board.warehouse.loaded.items():
        other = spark_board.warehouse.loaded[source_id]
        assert (other.rows, other.covered_months) == (loaded.rows, loaded.covered_months)
    _check_series(duckdb_series, spark_board)


def test_spark_neighbourhood_splits_are_identical(duckdb_splits, spark_board):
    actual = _lcn_splits(spark_board)
    assert set(actual) == set(duckdb_splits)
    for key, frame in duckdb_splits.items():
        assert_same(frame, actual[key], f"spark {key}")


def test_spark_money_equity_and_data_quality_are_identical(duckdb_analyses, spark_board):
    assert_same(duckdb_analyses, _analyses(spark_board), "spark")
