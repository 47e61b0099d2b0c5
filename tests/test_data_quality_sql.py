"""Data-quality queries are sqlglot trees: they emit in every backend's dialect, quote
whatever configuration names (source ids, column and measure names, titles) as nodes, and
each stays exactly one SELECT, however hostile the names."""

from __future__ import annotations

import datetime as dt
import inspect
import shutil
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

import metrics.analyses.data_quality as dq
from metrics.board import open_board
from metrics.definitions.models import ColumnDef, ColumnType, SourceDef
from metrics.sql.compiler import literal, table, table_name

ROOT = Path(__file__).resolve().parents[1]
DIALECTS = ("duckdb", "postgres", "spark", "tsql")
HOSTILE_ID = "x\"; DROP TABLE src_referrals; --'`]"
HOSTILE_DATE = 'd"ate]`'
HOSTILE_MEASURES = ("a\"'; DELETE FROM t; --", "b]`)", "c' OR '1'='1")


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


def hostile_sources() -> list[SourceDef]:
    """Sources whose id, date column and measure names would break spliced SQL (built
    without validation: ids are checked on loading, but the queries must not rely on it)."""
    date = ColumnDef(type=ColumnType.date)
    number = ColumnDef(type=ColumnType.number)
    text = ColumnDef(type=ColumnType.string)
    common = {"path": "x.csv", "date_column": HOSTILE_DATE, "key": [], "provisional_months": 1}
    return [
        SourceDef.model_construct(
            id=HOSTILE_ID,
            title="Wide 'title\"",
            grain="monthly",
            columns={HOSTILE_DATE: date, **dict.fromkeys(HOSTILE_MEASURES, number)},
            **common,
        ),
        SourceDef.model_construct(
            id=HOSTILE_ID + "long",
            title="Long",
            grain="monthly",
            columns={HOSTILE_DATE: date, "measure": text, "value": number},
            **common,
        ),
        SourceDef.model_construct(
            id=HOSTILE_ID + "rec",
            title="Records",
            grain="record",
            columns={HOSTILE_DATE: date},
            **common,
        ),
    ]


def create_table(source: SourceDef) -> str:
    types = {ColumnType.date: "DATE", ColumnType.number: "DOUBLE", ColumnType.string: "TEXT"}
    columns = [
        exp.ColumnDef(
            this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(types[c.type])
        )
        for name, c in source.columns.items()
    ]
    schema = exp.Schema(this=table(table_name(source.id)), expressions=columns)
    return exp.Create(this=schema, kind="TABLE").sql(dialect="duckdb")


def insert(source: SourceDef, columns: list[str], rows: list[tuple]) -> str:
    values = exp.values([tuple(literal(v) for v in row) for row in rows])
    target = exp.Schema(
        this=table(table_name(source.id)),
        expressions=[exp.to_identifier(c, quoted=True) for c in columns],
    )
    return exp.insert(values, target).sql(dialect="duckdb")


def board_queries(board) -> dict[str, exp.Expression]:
    scope = dq.completeness_scope(board)
    sources = [board.catalogue.sources[s] for s in scope.checked]
    completeness = dq.completeness_query(sources)
    assert completeness is not None
    revisions = table(table_name(dq.REVISIONS_SOURCE))
    return {
        "completeness": completeness,
        "vintages": dq.revision_vintages_query(revisions),
        "by lag": dq.revisions_by_lag_query(revisions),
        "span": dq.span_query(board.catalogue.sources["population"]),
    }


def assert_portable(tree: exp.Expression) -> None:
    assert isinstance(tree, exp.Query)
    # Nothing DuckDB-only or unportable in the tree itself.
    assert not list(tree.find_all(exp.Filter)), "FILTER (WHERE ...) clause"
    assert not list(tree.find_all(exp.Anonymous)), "a function sqlglot does not know"
    assert not list(tree.find_all(exp.Unnest, exp.Explode, exp.GenerateSeries))
    assert not list(tree.find_all(exp.Placeholder)), "an unfilled template placeholder"
    for group in tree.find_all(exp.Group):
        assert not group.args.get("all"), "GROUP BY ALL"
    for dialect in DIALECTS:
        sql = tree.sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
        statements = sqlglot.parse(sql, read=dialect)
        assert len(statements) == 1, (dialect, sql)
        assert isinstance(statements[0], exp.Query), (dialect, sql)


def test_every_query_is_a_portable_tree(board):
    for name, tree in board_queries(board).items():
        try:
            assert_portable(tree)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_queries_run_as_one_select_on_the_warehouse(board):
    for name, tree in board_queries(board).items():
        frame = board.warehouse.select(tree, label=f"data quality: {name}")
        assert not frame.empty, name


def test_hostile_names_are_quoted_nodes():
    sources = hostile_sources()
    trees = [dq.completeness_query(sources), *(dq.span_query(s) for s in sources)]
    trees.append(dq.revision_vintages_query(table(table_name(HOSTILE_ID))))
    for tree in trees:
        assert tree is not None
        assert_portable(tree)
        identifiers = {i.name for i in tree.find_all(exp.Identifier) if i.quoted}
        assert HOSTILE_DATE in identifiers or "measure_key" in identifiers
        tables = {t.name for t in tree.find_all(exp.Table)}
        assert tables & {table_name(s.id) for s in sources}, tables
    completeness = trees[0]
    strings = {lit.this for lit in completeness.find_all(exp.Literal) if lit.is_string}
    assert {HOSTILE_ID, *HOSTILE_MEASURES} <= strings
    quoted = {i.name for i in completeness.find_all(exp.Identifier) if i.quoted}
    assert {HOSTILE_DATE, *HOSTILE_MEASURES} <= quoted


def test_hostile_names_run_and_count_as_data():
    """The emitted SQL runs on DuckDB against tables with the hostile names, as one SELECT,
    and gives the counts: nothing in a name changes the query."""
    sources = hostile_sources()
    wide, long, records = sources
    con = duckdb.connect(":memory:")
    for source in sources:
        con.execute(create_table(source))
    january, february, march = (dt.date(2024, m, d) for m, d in ((1, 5), (2, 1), (3, 5)))
    con.execute(insert(wide, [HOSTILE_DATE], [(january,), (march,)]))
    con.execute(insert(long, list(long.columns), [(january, "m", 1), (february, "m", None)]))
    con.execute(insert(records, [HOSTILE_DATE], [(dt.date(2024, 1, 2),), (dt.date(2024, 1, 3),)]))
    sql = dq.completeness_query(sources).sql(dialect="duckdb")
    statements = con.extract_statements(sql)
    assert len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT
    cells = con.execute(sql).df()
    scored = dq.score_cells(cells, {s.id: s for s in sources})
    assert set(scored["source_id"]) == {s.id for s in sources}
    assert set(scored.loc[scored["source_id"] == HOSTILE_ID, "measure"]) == set(HOSTILE_MEASURES)
    wide_rows = scored[scored["source_id"] == HOSTILE_ID]
    # Rows in January and March, none in February; no values ever (every cell blank).
    assert sorted(wide_rows.groupby("month")["n_rows"].first()) == [0, 1, 1]
    assert (wide_rows["status"] == "missing").all()
    long_rows = scored[scored["source_id"] == HOSTILE_ID + "long"].set_index("month")
    assert list(long_rows["status"]) == ["complete", "missing"]
    assert list(long_rows["provisional"]) == [False, True]
    counts = scored[scored["source_id"] == HOSTILE_ID + "rec"]
    assert list(counts["n_rows"]) == [2]
    span = con.execute(dq.span_query(records).sql(dialect="duckdb")).fetchall()
    assert span == [(dt.date(2024, 1, 2), dt.date(2024, 1, 3))]


def test_no_sql_text_is_built_or_run_as_text():
    source = inspect.getsource(dq)
    for banned in ("sql_literal", "quote(", ".query(", "run_select(", "GROUP BY ALL", "FILTER ("):
        assert banned not in source, banned
    for constant in (dq.VINTAGES_SQL, dq.REVISIONS_BY_LAG_SQL, dq.SPAN_SQL):
        assert "{" not in constant  # constants, never formatted


def test_report_works_when_no_source_is_checked(tmp_path):
    """With nothing to check (both month-dated sources fail to load), the completeness
    views are empty and typed, and the report still builds."""
    target = tmp_path / "mini"
    shutil.copytree(ROOT / "tests" / "fixtures" / "mini", target)
    for name in ("events.csv", "monthly.csv"):
        path = target / "data" / name
        path.write_text(path.read_text().splitlines()[0] + "\n")
    board = open_board(target / "config")
    report = dq.data_quality_report(board)
    assert report.scope.checked == ()
    assert report.completeness.empty and report.gaps.empty
    assert str(report.completeness["month"].dtype).startswith("datetime64")
