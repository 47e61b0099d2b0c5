"""Money's queries are sqlglot trees, written portably: each emits as one statement in the
DuckDB, PostgreSQL, Spark and SQL Server dialects, and values (years, lines, months) reach
the SQL only as literal nodes, so a hostile value is data, never SQL."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from metrics.analyses import money
from metrics.board import SharedMemo, open_board
from metrics.sql.compiler import literal, table, table_name

ROOT = Path(__file__).resolve().parents[1]
YEAR = "2024/25"
DECEMBER = dt.date(2024, 12, 1)
DIALECTS = ("duckdb", "postgres", "spark", "tsql")
HOSTILE = ("2024/25'; DROP TABLE src_costs; --", "O'Brien", "'; DROP TABLE x; --")


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture
def recorded(board, monkeypatch):
    """Every query tree the warehouse is asked to run, with its label; any SQL text run
    another way fails the test."""
    calls: list[tuple[str, exp.Expression]] = []
    select = board.warehouse.select

    def record(query: exp.Expression, *, label: str) -> pd.DataFrame:
        calls.append((label, query))
        return select(query, label=label)

    monkeypatch.setattr(board.warehouse, "select", record)
    monkeypatch.setattr(board, "_memo", SharedMemo())  # computed afresh: every query seen
    return calls


def _strings(query: exp.Expression) -> list[str]:
    """The values of a tree's string literals."""
    return [lit.this for lit in query.find_all(exp.Literal) if lit.is_string]


def _run_everything(board) -> None:
    money.financial_years(board)
    money.year_months(board, YEAR)
    money.provisional_months(board)
    money.provisional_months(board, YEAR)
    for by in ("provider", "service_line", "alliance"):
        money.budget_vs_actual(board, YEAR, by, DECEMBER)
        money.forecast_outturn(board, YEAR, DECEMBER, by)
    money.monthly_spend(board, YEAR)
    money.year_end_accrual(board, YEAR)
    money.unit_cost_trend(board)
    money.unit_costs(board, YEAR, DECEMBER)
    money.savings_against_baseline(board, YEAR, None, DECEMBER)
    money.money_report(board, YEAR, DECEMBER)


def test_every_money_query_is_a_tree_that_emits_in_each_dialect(board, recorded):
    _run_everything(board)
    labels = {label for label, _ in recorded if label.startswith("money: ")}
    assert {
        "money: financial years",
        "money: months of 2024/25",
        "money: provisional months",
        "money: budget against actual by provider",
        "money: budget against actual by service_line",
        "money: budget against actual by alliance",
        "money: forecast outturn by alliance",
        "money: monthly spend in 2024/25",
        "money: year-end accrual in 2024/25",
        "money: unit costs",
        "money: savings in 2024/25 against 2014/15",
    } <= labels
    for label, query in recorded:
        if not label.startswith("money: "):
            continue  # e.g. the data-quality engine's revision figure in the summary
        assert isinstance(query, exp.Select), label
        assert not list(query.find_all(exp.Placeholder)), label
        for dialect in DIALECTS:
            sql = query.sql(dialect=dialect)
            statements = sqlglot.parse(sql, read=dialect)
            assert len(statements) == 1 and isinstance(statements[0], exp.Query), (label, dialect)
        duckdb_sql = query.sql(dialect="duckdb").upper()
        for construct in ("FILTER (WHERE", "GROUP BY ALL", "::", "BOOL_OR", "MODE(", "USING ("):
            assert construct not in duckdb_sql, (label, construct)


def test_money_builds_no_sql_text():
    source = inspect.getsource(money)
    for banned in ("sql_literal", "quote(", "run_select(", 'f"""'):
        assert banned not in source, banned


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_year_is_refused_calmly_before_any_query(board, recorded, hostile):
    with pytest.raises(money.MoneyError, match="no costs for financial year"):
        money.budget_vs_actual(board, hostile)
    with pytest.raises(money.MoneyError, match="no costs for financial year"):
        money.money_report(board, hostile)
    assert all(hostile not in _strings(query) for _, query in recorded)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_year_that_got_past_the_check_is_only_a_literal(
    board, recorded, monkeypatch, hostile
):
    """Were the check against the data's years ever bypassed, the value would still be a
    literal: each query stays one SELECT, matches nothing and changes nothing."""
    before = money.budget_vs_actual(board, YEAR, "provider", DECEMBER)
    monkeypatch.setattr(money, "_check_year", lambda board, fin_year, source_id: fin_year)

    assert money.year_months(board, hostile) == []
    assert money.provisional_months(board, hostile) == []
    assert money.monthly_spend(board, hostile).empty
    assert money.year_end_accrual(board, hostile) is None
    with pytest.raises(money.MoneyError, match="no cost rows"):
        money.budget_vs_actual(board, hostile)
    with pytest.raises(money.MoneyError, match="no cost rows"):
        money.unit_costs(board, hostile, DECEMBER)

    # Each function ran its query with the whole value as one string literal (the months
    # of a year are queried once and shared by the functions that need them).
    hostile_queries = [q for _, q in recorded if hostile in _strings(q)]
    labels = [label for label, q in recorded if hostile in _strings(q)]
    for kind in (
        "money: months of",
        "money: provisional months",
        "money: monthly spend in",
        "money: year-end accrual in",
    ):
        assert any(label.startswith(kind) for label in labels), (kind, labels)
    for query in hostile_queries:
        for dialect in DIALECTS:
            (parsed,) = sqlglot.parse(query.sql(dialect=dialect), read=dialect)
            assert isinstance(parsed, exp.Select) and hostile in _strings(parsed)

    monkeypatch.undo()
    assert "src_costs" in board.warehouse.connection.execute("SHOW TABLES").df()["name"].tolist()
    pd.testing.assert_frame_equal(
        money.budget_vs_actual(board, YEAR, "provider", DECEMBER), before, check_exact=True
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_line_is_not_found(board, recorded, hostile):
    assert money.line_savings(board, YEAR, hostile, None, DECEMBER) is None
    assert all(hostile not in _strings(query) for _, query in recorded)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_literal_holding_a_quote_round_trips_in_every_dialect(hostile):
    query = money._tree(
        money._YEAR_MONTHS_SQL, costs=table(table_name("costs")), fin_year=literal(hostile)
    )
    for dialect in DIALECTS:
        (parsed,) = sqlglot.parse(query.sql(dialect=dialect), read=dialect)
        assert isinstance(parsed, exp.Select)
        assert _strings(parsed) == [hostile]
        assert not list(parsed.find_all(exp.Drop))
