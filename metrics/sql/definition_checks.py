"""Checks of the definitions that need a SQL engine but no data (run by
metrics.validation with the reference rules, before what is served is decided):
every date format is one DuckDB's strptime reads, and every SQL fragment of every metric
parses, passes the allow-list and binds against empty typed tables."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
from sqlglot import exp

from metrics.definitions.catalogue import Catalogue, fragment_texts
from metrics.definitions.issues import did_you_mean
from metrics.definitions.models import ColumnType, MetricDef
from metrics.definitions.parsing import field_label
from metrics.definitions.rules import NUMERIC_TYPES, RuleContext
from metrics.definitions.yaml_positions import Path as YPath
from metrics.sql.compiler import fragment_columns, population_plan, table, table_name
from metrics.sql.fragments import FragmentError, parse_fragment
from metrics.sql.series import SeriesQuery, plan_series
from metrics.sql.warehouse import SQL_TYPES, date_format_problem, quote


def date_formats_are_known(ctx: RuleContext) -> None:
    """A date column's format is one DuckDB's strptime understands (checked once per
    distinct format: an invalid specifier would make every data check fail)."""
    for source in ctx.catalogue.sources.values():
        for name, column in source.columns.items():
            if not name.strip() or column.format is None or column.type != ColumnType.date:
                continue
            problem = date_format_problem(column.format)
            if problem:
                ctx.source_issue(
                    source,
                    ("columns", name, "format"),
                    f"column '{name}': format '{column.format}' {problem}",
                    "use strptime codes such as '%d/%m/%Y', or 'excel' for Excel "
                    "serial day numbers",
                )


def fragments_bind(ctx: RuleContext) -> None:
    """Every SQL fragment of every metric, parsed on its own and checked (one expression
    over the source's own columns, allow-listed constructs only: metrics.sql.fragments),
    then every query built from them bound against empty typed tables.

    Each refused fragment is reported with its field and the construct refused. Queries
    are built as expression trees from the checked fragments, so a fragment cannot reach
    outside the query it belongs to (a filter that opens a string for a value to close is
    refused on its own). DuckDB's binder then catches unknown columns and type mistakes
    without reading any data, on a scratch database with file access and settings locked.
    """
    cat = ctx.catalogue
    already = {i.field for i in ctx.issues if i.is_error}
    issues_before = len(ctx.issues)
    # A metric whose definition, sources and neighbourhood setting all bound cleanly before
    # binds cleanly again: the editor checks the whole configuration on every edit, and
    # one edit changes one metric.
    keys = _bind_keys(cat)
    passed_before = {mid for mid, key in keys.items() if _bound_before(key)}
    refused: set[str] = set()
    for metric in cat.metrics.values():
        needed = {metric.source, metric.rate.population if metric.rate else metric.source}
        if not needed <= set(cat.sources):
            continue  # an unknown source is reported by the reference rules
        if metric.id in passed_before:
            continue
        for path, text in fragment_texts(metric).items():
            label = ".".join([f"metrics[{metric.id}]", *path])
            if text is None or label in already:
                continue
            try:
                fragment = parse_fragment(text, fragment_columns(metric, cat.sources, path))
            except FragmentError as exc:
                refused.add(metric.id)
                ctx.metric_issue(
                    metric, path, exc.describe(field_label(path)), exc.hint, stage="sql"
                )
                continue
            rate_part = path[0] == "rate" and metric.rate is not None
            owner = cat.sources[metric.rate.population if rate_part else metric.source]  # type: ignore[union-attr]
            mismatch = literal_type_problem(fragment.tree, owner.columns)
            if mismatch is not None:
                refused.add(metric.id)
                ctx.metric_issue(
                    metric, path, f"{field_label(path)} {mismatch[0]}", mismatch[1], stage="sql"
                )

    if all(m in passed_before for m in cat.metrics):
        return
    bound: set[str] = set()
    con = duckdb.connect(":memory:")
    try:
        unusable: set[str] = set()
        for source in cat.sources.values():
            columns = ", ".join(
                f"{quote(n)} {SQL_TYPES[c.type]}" for n, c in source.columns.items()
            )
            try:
                con.execute(f"CREATE TABLE {table_name(source.id)} ({columns})")
            except duckdb.Error:
                # Blank, clashing or no column names: reported by columns_are_usable.
                unusable.add(source.id)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        already_metrics = {i.field.split(".")[0] for i in ctx.issues if i.is_error}
        for metric in cat.metrics.values():
            needed = {metric.source, metric.rate.population if metric.rate else metric.source}
            if not needed <= set(cat.sources) - unusable or metric.id in passed_before:
                continue
            if metric.id in refused or f"metrics[{metric.id}]" in already_metrics:
                # The whole query cannot be built: bind each remaining fragment on its own,
                # so its problems are reported in this run too, not after the next fix.
                _bind_fragments_alone(con, ctx, metric)
                continue
            # The series with a neighbourhood filter binds every fragment the site uses;
            # a breakdown only adds a grouping column checked by the reference rules.
            lcn = cat.board.lcns[0] if cat.board.lcns else None
            try:
                plan = plan_series(
                    metric,
                    cat.sources,
                    SeriesQuery(lcn=lcn),
                    lcn_column=cat.board.lcn_column,
                    lcn_recorded=True,
                )
                # (The covered-months query reads a table made at load time, not fragments.)
                queries = [plan.aggregate]
                if metric.rate is not None:
                    queries.append(population_plan(metric, cat.sources))
                for query in queries:
                    if query is not None:
                        con.execute(query.sql(dialect="duckdb", comments=False)).fetchall()
                bound.add(metric.id)
            except (duckdb.Error, KeyError, AssertionError, ValueError) as exc:
                if not _bind_fragments_alone(con, ctx, metric):
                    _report_sql_error(ctx, metric, exc)
    finally:
        con.close()
    reported = {i.field.split(".")[0] for i in ctx.issues[issues_before:]}
    _remember_bound(keys[m] for m in bound if f"metrics[{m}]" not in reported)


def _bind_keys(cat: Catalogue) -> dict[str, str]:
    """What a metric's SQL checks depend on, as one string per metric: its definition, the
    definitions of the sources it reads and the neighbourhood setting."""
    sources = {sid: source.model_dump_json() for sid, source in cat.sources.items()}
    lcn = json.dumps([cat.board.lcn_column, cat.board.lcns[:1]])
    keys = {}
    for metric in cat.metrics.values():
        needed = sorted({metric.source, metric.rate.population if metric.rate else metric.source})
        parts = [metric.model_dump_json(), lcn, *(sources.get(s, "") for s in needed)]
        keys[metric.id] = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return keys


BOUND_KEPT = 4096  # metric definitions remembered as binding cleanly (about 64 bytes each)
_BOUND: OrderedDict[str, None] = OrderedDict()
_BOUND_LOCK = threading.Lock()


def _bound_before(key: str) -> bool:
    with _BOUND_LOCK:
        if key in _BOUND:
            _BOUND.move_to_end(key)
            return True
        return False


def _remember_bound(keys: Iterable[str]) -> None:
    with _BOUND_LOCK:
        for key in keys:
            _BOUND[key] = None
            _BOUND.move_to_end(key)
        while len(_BOUND) > BOUND_KEPT:
            _BOUND.popitem(last=False)


def _bind_fragments_alone(
    con: duckdb.DuckDBPyConnection, ctx: RuleContext, metric: MetricDef
) -> int:
    """Bind each of a metric's fragments alone against the empty typed tables (a filter as
    a WHERE, a value as a column); report each that fails at its own field. Returns how
    many were reported."""
    cat = ctx.catalogue
    errored = {i.field for i in ctx.issues if i.is_error}
    reported = 0
    for path, text in fragment_texts(metric).items():
        label = ".".join([f"metrics[{metric.id}]", *path])
        if text is None or label in errored:
            continue
        try:
            fragment = parse_fragment(text, fragment_columns(metric, cat.sources, path))
        except FragmentError:
            continue  # reported with the fragment checks
        owner = metric.rate.population if path[0] == "rate" and metric.rate else metric.source
        source = table(table_name(owner))
        if path[-1] == "filter":
            query = exp.select(exp.Count(this=exp.Star())).from_(source).where(fragment.tree.copy())
        else:
            query = exp.select(fragment.tree.copy()).from_(source)
        try:
            con.execute(query.sql(dialect="duckdb", comments=False)).fetchall()
        except duckdb.Error as exc:
            message = re.sub(r"^[A-Za-z ]+ Error: ", "", _first_error_line(exc))
            ctx.metric_issue(
                metric, path, f"{field_label(path)} does not run: {message}", stage="sql"
            )
            reported += 1
    return reported


def _first_error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)
_TEXT_TYPES = {ColumnType.string, ColumnType.category}


def literal_type_problem(
    tree: exp.Expression, columns: Mapping[str, Any]
) -> tuple[str, str] | None:
    """(problem, fix) when a fragment compares a text column with a bare number (kind = 1:
    codes are text, so the number must be quoted) or a number column with text; None
    otherwise. DuckDB would only fail on reading the data ("could not convert")."""
    for node in tree.walk():
        pairs: list[tuple[exp.Expression, exp.Expression]] = []
        if isinstance(node, _COMPARISONS + _ARITHMETIC):
            pairs = [(node.this, node.expression), (node.expression, node.this)]
        elif isinstance(node, exp.In):
            pairs = [(node.this, value) for value in node.expressions]
        for side, other in pairs:
            if not isinstance(side, exp.Column) or not isinstance(other, exp.Literal):
                continue
            declared = columns.get(side.name)
            if declared is None:
                continue
            if (
                declared.type in _TEXT_TYPES
                and not other.is_string
                and isinstance(node, (*_COMPARISONS, exp.In))
            ):
                return (
                    f"compares the text column '{side.name}' with the number {other.this}",
                    f"codes are text: write {side.name} = '{other.this}' (in single quotes)",
                )
            if declared.type in NUMERIC_TYPES and other.is_string:
                try:
                    float(other.this)
                except ValueError:
                    verb = "does arithmetic on" if isinstance(node, _ARITHMETIC) else "compares"
                    return (
                        f"{verb} the number column '{side.name}' with the text '{other.this}'",
                        f"compare {side.name} with a number, or check the column's type "
                        "in sources.yaml",
                    )
    return None


def _expressions(metric: MetricDef) -> dict[YPath, str | None]:
    """Every piece of SQL a metric writes, by where it is written."""
    return dict(fragment_texts(metric))


def _report_sql_error(ctx: RuleContext, metric: MetricDef, exc: BaseException) -> None:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    source = ctx.catalogue.sources[metric.source]
    missing = re.search(r'column "([^"]+)" not found', text) or re.search(
        r'Referenced column "([^"]+)"', text
    )
    expressions = _expressions(metric)
    subpath: YPath = ("filter",) if metric.filter else ("measure",)
    if missing:
        name = missing.group(1)
        for path, expression in expressions.items():
            if expression and re.search(rf"\b{re.escape(name)}\b", expression):
                subpath = path
                break
        columns = source.columns
        if subpath[0] == "rate" and metric.rate:
            columns = ctx.catalogue.sources[metric.rate.population].columns
        ctx.metric_issue(
            metric,
            subpath,
            f"unknown column '{name}' in {field_label(subpath)}",
            did_you_mean(name, columns) or f"columns: {', '.join(columns)}",
            stage="sql",
        )
        return
    for path, expression in expressions.items():
        if expression:
            subpath = path
            break
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    ctx.metric_issue(metric, subpath, f"the SQL does not run: {message}", stage="sql")


SQL_CHECKS = (date_formats_are_known, fragments_bind)
