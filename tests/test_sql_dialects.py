"""Every query the engine runs on the sample alliance is a tree, emitted in each backend's
dialect: DuckDB, PostgreSQL and Spark (backends) and SQL Server's T-SQL (emitted, not yet
a backend). Each emission parses back, in its own dialect, as exactly one query that
reads only the tables the compiler names, so the same definitions can be handed to any of
them; the warehouse's placement of tables (schema-qualified) survives emission."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from metrics.board import SharedMemo, open_board
from metrics.sql.checks import check_table, columns_query, facts_query
from metrics.sql.compiler import emit, physical_table
from metrics.sql.series import SeriesQuery, compute_series, compute_sources_by_lcn

ROOT = Path(__file__).resolve().parents[1]
DIALECTS = ("duckdb", "postgres", "spark", "tsql")


@pytest.fixture(scope="module")
def trees() -> list[tuple[str, exp.Expression]]:
    """Every tree the board runs for every metric x breakdown, money, equity, data quality,
    and the table checks, with its label."""
    from metrics.analyses import equity, money
    from metrics.analyses.data_quality import data_quality_report

    board = open_board(ROOT / "config")
    seen: list[tuple[str, exp.Expression]] = []
    select = board.warehouse.select
    describe = board.warehouse.describe

    def record(query: exp.Expression, *, label: str) -> pd.DataFrame:
        seen.append((label, query))
        return select(query, label=label)

    def record_describe(query: exp.Expression, *, label: str) -> list[tuple[str, str]]:
        seen.append((label, query))
        return describe(query, label=label)

    board.warehouse.select = record  # type: ignore[method-assign]
    board.warehouse.describe = record_describe  # type: ignore[method-assign]
    board._memo = SharedMemo()
    for metric in board.catalogue.metrics.values():
        for breakdown in [None, *metric.breakdowns]:
            compute_series(
                board.warehouse, metric, board.catalogue.sources, SeriesQuery(breakdown=breakdown)
            )
        compute_series(board.warehouse, metric, board.catalogue.sources, SeriesQuery(lcn="North"))
    # Every neighbourhood of every metric of a source from one grouped query, as the board
    # serves the filter.
    for source in board.catalogue.sources:
        split = [
            m
            for m in board.catalogue.metrics.values()
            if m.source == source and board._splits_by_lcn(m)
        ]
        if split:
            compute_sources_by_lcn(
                board.warehouse,
                split,
                board.catalogue.sources,
                lcn_column=board.catalogue.board.lcn_column,
            )
    money.money_report(board)
    for metric in equity.equity_metrics(board.catalogue):
        for dimension in equity.metric_dimensions(metric):
            with contextlib.suppress(equity.EquityError):
                equity.equity_rates(board, metric.id, dimension)
    data_quality_report(board)
    for source in board.catalogue.sources.values():
        check_table(
            source,
            lambda q, label: record(q, label=label),
            lambda q, label: record_describe(q, label=label),
            where="test",
        )
        seen.append(("facts", facts_query(source, True)))
        seen.append(("columns", columns_query(source)))
    board.warehouse.close()
    return seen


def test_every_kind_of_query_is_recorded(trees):
    labels = " ".join(label for label, _ in trees)
    for word in ("metric '", "money:", "equity:", "data quality", "data checks", "facts"):
        assert word in labels
    assert len(trees) > 300


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_query_emits_and_parses_back_as_one_query(trees, dialect):
    tables = {"src_referrals": physical_table("referrals_2025", "nhs_analytics")}
    for label, tree in trees:
        sql = emit(tree, dialect, tables=tables)
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
        assert len(statements) == 1, (label, sql)
        back = statements[0]
        assert isinstance(back, exp.Query), (label, sql)
        assert not any(isinstance(n, exp.DML | exp.DDL | exp.Command) for n in back.walk())
        names = {t.name for t in back.find_all(exp.Table)}
        assert not names & {"src_referrals"}, (label, sql)  # placed where the warehouse has it
        ctes = {cte.alias for cte in back.find_all(exp.CTE)}
        for name in names - {"referrals_2025"} - ctes:
            assert name.startswith(("src_", "cov_")) or name.startswith("__"), (label, name)


def test_tsql_is_written_the_sql_server_way(trees):
    """Spot checks on what SQL Server would be given."""
    text = "\n".join(emit(tree, "tsql") for _, tree in trees)
    assert " LIMIT " not in text  # TOP / OFFSET FETCH instead
    assert "DAY_OF_MONTH(" not in text and "DAYOFMONTH(" not in text
    assert "DATETRUNC(MONTH" in text or "DATEFROMPARTS" in text
    assert "COUNT_BIG(" in text or "COUNT(" in text


def test_function_names_differ_by_engine():
    tree = sqlglot.parse_one(
        "SELECT quantile_cont(x, 0.9) AS p, dayofmonth(last_day(d)) AS n FROM src_t",
        read="duckdb",
    )
    assert "PERCENTILE(x, 0.9)" in emit(tree, "spark")
    assert "EXTRACT(DAY FROM" in emit(tree, "postgres")
    assert "DAY(EOMONTH(" in emit(tree, "tsql")
    assert "PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY x)" in emit(tree, "postgres")


def test_the_shared_neighbourhood_queries_are_among_those_checked(trees):
    shared = [label for label, _ in trees if label.startswith("the metrics of source")]
    assert len(shared) >= 2, shared
