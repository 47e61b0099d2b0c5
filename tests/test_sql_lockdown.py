"""Locked-down SQL: what an analyst writes in a definition can only ever be one expression
over its own source's columns, and the warehouse runs nothing but single SELECTs.

Two independent defences are tested separately:
1. validation refuses every hostile fragment (with the file, line, field and construct),
   so it never reaches a query;
2. the warehouse itself, called directly with hostile SQL, refuses anything but one
   SELECT, is read-only with file access and settings locked, and cancels long queries.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from metrics.definitions.models import MetricDef
from metrics.sql.backends import QueryError, QueryRefused, QueryTimeout
from metrics.sql.fragments import FragmentError, parse_fragment
from metrics.sql.series import SeriesError, SeriesQuery, compute_series
from metrics.sql.warehouse import open_warehouse
from metrics.validation import load_config

EVENT_COLUMNS = ["id", "date", "kind", "lcn", "flag", "days"]

# (fragment, words the refusal must contain). Each is put in a metric's filter.
HOSTILE_FILTERS: list[tuple[str, str]] = [
    # subqueries and other tables
    ("EXISTS (SELECT * FROM src_detentions)", "subquery"),
    ("kind IN (SELECT kind FROM src_events)", "subquery"),
    ("(SELECT count(*) FROM src_pop) > 0", "subquery"),
    ("(SELECT max(hash(range)) FROM range(2000000000)) > 0", "subquery"),
    ("days > (SELECT avg(days) FROM src_events)", "subquery"),
    ("kind = 'a' UNION SELECT 1", "subquery"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", "subquery"),
    ("kind = ANY (SELECT kind FROM src_events)", "subquery"),
    ("src_events.kind = 'a'", "qualified name"),
    ("main.src_events.kind = 'a'", "qualified name"),
    # statements and separators
    ("kind = 'a'; DELETE FROM src_events", "statement separator"),
    ("kind = 'a'; DROP TABLE src_events", "statement separator"),
    ("TRUE; ATTACH '/tmp/x.duckdb' AS x", "statement separator"),
    ("TRUE; COPY src_events TO '/tmp/out.csv'", "statement separator"),
    ("TRUE; SET threads = 1", "statement separator"),
    ("TRUE; PRAGMA version", "statement separator"),
    ("TRUE; INSTALL httpfs", "statement separator"),
    ("TRUE)) SELECT 1; COPY (SELECT 42) TO '/tmp/owned.csv'; --", "statement separator"),
    ("'; DROP TABLE src_events; --", "not valid SQL"),
    ("DELETE FROM src_events", "a statement"),
    ("CREATE TABLE t AS SELECT 1", "a statement"),
    # dollar-quoted strings (a filter that opens one for a value to close)
    ("kind = $$a$$", "dollar-quoted"),
    ("kind = 'a' AND $$", "dollar-quoted"),
    ("$tag$ x $tag$ = kind", "dollar-quoted"),
    ("$$) OR (TRUE", "dollar-quoted"),
    # table functions and settings
    ("kind IN (SELECT * FROM read_csv('/etc/passwd'))", "subquery"),
    ("current_setting('threads') = '4'", "function 'current_setting'"),
    ("getvariable('x') IS NULL", "function 'getvariable'"),
    ("getenv('HOME') = kind", "function 'getenv'"),
    ("length(read_text('/etc/passwd')) > 0", "function 'read_text'"),
    ("version() = kind", "function"),
    ("current_database() = kind", "function"),
    ("current_schema() = kind", "function"),
    ("(SELECT value FROM duckdb_settings() LIMIT 1) = kind", "subquery"),
    ("kind IN (SELECT table_name FROM duckdb_tables())", "subquery"),
    ("kind IN (SELECT * FROM query('SELECT 1'))", "subquery"),
    ("pg_sleep(10) IS NULL", "function 'pg_sleep'"),
    ("repeat('x', 1000000000) = kind", "function 'repeat'"),
    ("hash(kind) > 0", "function 'hash'"),
    ("md5(kind) = 'x'", "function"),
    # aggregates, windows, non-determinism, parameters
    ("sum(days) > 0", "aggregate"),
    ("count(*) > 0", "aggregate"),
    ("max(days) OVER () > 0", "window"),
    ("row_number() OVER () = 1", "window"),
    ("random() < 0.5", "random"),
    ("now() > date", "function 'now'"),
    ("date < current_date", "current date"),
    ("days > $1", "parameter"),
    ("days > ?", "parameter"),
    # shapes the allow-list does not know
    ("[1, 2] = [1, 2]", "Array"),
    ("{'a': 1} IS NOT NULL", "Struct"),
    ("list_transform([days], x -> x + 1) IS NOT NULL", "refused"),
    ("COLUMNS(*) IS NOT NULL", "refused"),
    ("*", "'*'"),
    # columns the source does not have
    ("population > 0", "unknown column 'population'"),
    ("knd = 'a'", "unknown column 'knd'"),
    # size
    ("(" * 600 + "TRUE" + ")" * 600, "nested too deeply"),
    ("kind = '" + "a" * 2100 + "'", "at most 2,000"),
]


def test_there_are_at_least_fifty_hostile_fragments():
    assert len(HOSTILE_FILTERS) >= 50


@pytest.mark.parametrize(("fragment", "words"), HOSTILE_FILTERS)
def test_each_hostile_fragment_is_refused_on_its_own(fragment: str, words: str) -> None:
    with pytest.raises(FragmentError) as refused:
        parse_fragment(fragment, EVENT_COLUMNS)
    said = refused.value.describe("filter") + " " + refused.value.hint
    assert words.lower() in said.lower()


def _yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize(("fragment", "words"), HOSTILE_FILTERS[::4])
def test_validation_refuses_the_fragment_with_file_line_and_field(
    mini: Path, edit, fragment: str, words: str
) -> None:
    edit(
        mini / "metrics" / "all.yaml", "filter: \"kind = 'a'\"", f"filter: {_yaml_string(fragment)}"
    )
    loaded = load_config(mini)
    assert "count_a" not in loaded.catalogue.metrics  # never served, never compiled
    issue = next(i for i in loaded.issues if i.field == "metrics[count_a].filter")
    assert issue.is_error and issue.stage == "sql"
    assert issue.file.endswith("metrics/all.yaml") and issue.line == 2
    assert words.lower() in (issue.message + " " + issue.hint).lower()


def test_a_string_opened_in_the_filter_and_closed_in_the_rate_value_is_refused_in_both(
    mini: Path, edit
) -> None:
    """The attack that worked: each fragment alone looked harmless to a check of the whole
    query, and together they built another statement in equity's population query."""
    path = mini / "metrics" / "all.yaml"
    edit(
        path,
        "    filter: \"kind = 'a'\"\n    rate: {population: pop, per: 1000}",
        "    filter: \"kind = 'a' AND $$\"\n"
        "    rate: {population: pop, per: 1000, value: \"$$ = '' ; DELETE FROM src_events; --\"}",
    )
    loaded = load_config(mini)
    fields = {i.field for i in loaded.issues if i.is_error and i.stage == "sql"}
    assert {"metrics[rate_a].filter", "metrics[rate_a].rate.value"} <= fields
    assert "rate_a" not in loaded.catalogue.metrics


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        (
            "value",
            "value: days, unit: days, better: down}",
            "value: 'sum(days)', unit: days, better: down}",
        ),
        (
            "numerator.filter",
            "numerator: {filter: flag}",
            "numerator: {filter: 'EXISTS (SELECT 1)'}",
        ),
        (
            "rate.filter",
            "rate: {population: pop, per: 1000}",
            "rate: {population: pop, per: 1000, filter: \"current_setting('x') = 'y'\"}",
        ),
    ],
)
def test_every_field_that_reaches_the_database_is_checked(mini: Path, edit, field, old, new):
    edit(mini / "metrics" / "all.yaml", old, new)
    loaded = load_config(mini)
    assert any(i.field.endswith(f"].{field}") and i.stage == "sql" for i in loaded.issues)


def test_allowed_fragments_still_compile_and_quote_columns() -> None:
    fragment = parse_fragment(
        "KIND = 'a' AND days BETWEEN 1 AND 28 AND flag IS NOT NULL", EVENT_COLUMNS
    )
    sql = fragment.tree.sql(dialect="duckdb")
    assert '"kind" = ' in sql and '"days" BETWEEN' in sql
    assert fragment.columns == {"kind", "days", "flag"}


def test_a_hostile_definition_that_skipped_validation_is_never_run(mini: Path) -> None:
    """compute_series checks the fragments itself: a MetricDef built in a notebook or by a
    bug, never validated, still cannot run anything."""
    catalogue = load_config(mini).catalogue
    warehouse = open_warehouse(catalogue.sources.values(), catalogue.data_dir)
    metric = MetricDef.model_validate(
        {
            **catalogue.metrics["count_a"].model_dump(by_alias=True),
            "filter": "TRUE; DELETE FROM src_events",
        }
    )
    with pytest.raises(SeriesError, match="statement separator"):
        compute_series(warehouse, metric, catalogue.sources, SeriesQuery())
    rows = warehouse.run_select("SELECT count(*) AS n FROM src_events")
    assert int(rows["n"].iloc[0]) > 0


# --------------------------------------------------------------------------- run-time guard

HOSTILE_STATEMENTS = [
    "DELETE FROM src_events",
    "DROP TABLE src_events",
    "CREATE TABLE x AS SELECT 1",
    "CREATE TEMP TABLE x AS SELECT 1",
    "INSERT INTO src_events (id) VALUES ('x')",
    "UPDATE src_events SET kind = 'b'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "COPY src_events TO '/tmp/out.csv'",
    "SET threads = 1",
    "PRAGMA enable_profiling",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL duckdb_settings()",
    "EXPORT DATABASE '/tmp/x'",
    "SELECT 1; DELETE FROM src_events",
    "SELECT 1; SELECT 2",
    "CHECKPOINT",
]


@pytest.fixture
def warehouse(mini: Path):
    catalogue = load_config(mini).catalogue
    store = open_warehouse(catalogue.sources.values(), catalogue.data_dir, timeout=0.5)
    yield store
    store.close()


@pytest.mark.parametrize("statement", HOSTILE_STATEMENTS)
def test_the_warehouse_runs_only_one_select(warehouse, statement: str) -> None:
    before = warehouse.run_select("SELECT count(*) AS n FROM src_events")["n"].iloc[0]
    with pytest.raises(QueryRefused):
        warehouse.run_select(statement, label="test")
    after = warehouse.run_select("SELECT count(*) AS n FROM src_events")["n"].iloc[0]
    assert before == after


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM src_events",
        "CREATE TABLE y (a INTEGER)",
        "ATTACH '/tmp/other.duckdb' AS other",
        "SET threads = 1",
        "SELECT * FROM read_csv('/etc/passwd')",
    ],
)
def test_the_connection_itself_is_read_only_and_locked(warehouse, statement: str) -> None:
    """Defence in depth: even bypassing the guard, the database refuses writes, files and
    settings."""
    with pytest.raises(duckdb.Error):
        warehouse.connection.execute(statement)


def test_a_select_that_reads_files_is_refused_by_the_database(warehouse) -> None:
    with pytest.raises(QueryError, match="test"):
        warehouse.run_select("SELECT * FROM read_csv('/etc/passwd')", label="test")


def test_a_long_query_is_cancelled_and_names_what_it_was_for(warehouse) -> None:
    with pytest.raises(QueryTimeout, match=r"metric 'slow' took longer than 0\.5 s"):
        warehouse.run_select(
            "SELECT max(hash(range)) FROM range(20000000000)", label="metric 'slow'"
        )
    # The warehouse keeps working after a cancelled query.
    assert warehouse.run_select("SELECT 1 AS one")["one"].iloc[0] == 1
