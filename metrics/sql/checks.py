"""Data checks and source metadata as warehouse queries (trees), never a table pulled into
Python.

A source that is a table or view already in the warehouse (``table: schema.name`` in
sources.yaml) is checked where it lives, with the same rules the loader applies to files:

- every declared column exists, with a type that fits the declaration (from the engine's
  own description of ``SELECT ... LIMIT 0``: no rows are read);
- required columns (and the date column) are never blank;
- category columns hold only their declared values;
- numbers are within min and max;
- dates are dates (a date column kept as text is reported, with the values that do not
  read as YYYY-MM-DD);
- the key identifies each row once.

All cell checks of a source are counted in one aggregate query (one scan); only a check
that finds something asks for a few examples (LIMIT 3). A table has no line numbers, so
examples name the row's key.

The metadata a board needs (rows, first and last month, the months a record-level source
covers) is one aggregate query too: a row per month with its count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlglot import exp

from metrics.definitions.issues import Issue, did_you_mean
from metrics.definitions.models import ColumnDef, ColumnType, SourceDef
from metrics.sql.compiler import MONTH, column, count_where, literal, month_of, table, table_name

MAX_EXAMPLES = 3
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

# The column kinds (metrics.sql.backends.COLUMN_KINDS) each declared type accepts.
ACCEPTED_KINDS: dict[ColumnType, frozenset[str]] = {
    ColumnType.string: frozenset({"text", "integer"}),
    ColumnType.category: frozenset({"text", "integer"}),
    ColumnType.date: frozenset({"date", "timestamp"}),
    ColumnType.integer: frozenset({"integer"}),
    ColumnType.number: frozenset({"integer", "number"}),
    ColumnType.boolean: frozenset({"boolean"}),
}
NUMERIC = frozenset({ColumnType.integer, ColumnType.number})

Select = Callable[[exp.Query, str], pd.DataFrame]
Describe = Callable[[exp.Query, str], list[tuple[str, str]]]


@dataclass(frozen=True)
class SourceFacts:
    """What a board needs to know about a source, from one aggregate query."""

    rows: int
    covered_months: tuple[dt.date, ...]

    @property
    def first_month(self) -> dt.date | None:
        return self.covered_months[0] if self.covered_months else None

    @property
    def last_month(self) -> dt.date | None:
        return self.covered_months[-1] if self.covered_months else None


def columns_query(source: SourceDef) -> exp.Select:
    """Every column of the source's table, no rows (the engine describes the columns)."""
    return exp.select(exp.Star()).from_(table(table_name(source.id))).limit(0)


def facts_query(source: SourceDef, dated: bool) -> exp.Select:
    """Rows per month of the source's date (one row per month, NULL for undated rows)."""
    src = table(table_name(source.id))
    if not dated:
        return exp.select(exp.alias_(count_where(None), "__rows", quoted=True)).from_(src)
    month = month_of(column(source.date_column))
    return (
        exp.select(
            exp.alias_(month.copy(), MONTH, quoted=True),
            exp.alias_(count_where(None), "__rows", quoted=True),
        )
        .from_(src)
        .group_by(month)
    )


def source_facts(source: SourceDef, select: Select, *, dated: bool = True) -> SourceFacts:
    frame = select(facts_query(source, dated), f"source '{source.id}': rows and months")
    rows = int(pd.to_numeric(frame["__rows"]).sum()) if not frame.empty else 0
    months: tuple[dt.date, ...] = ()
    if dated and not frame.empty:
        known = pd.to_datetime(frame[MONTH]).dropna().sort_values()
        months = tuple(m.date() for m in known)
    return SourceFacts(rows=rows, covered_months=months)


@dataclass(frozen=True)
class _Check:
    column: str
    condition: exp.Expression
    message: str  # with {value} for the first example
    hint: str = ""
    show: exp.Expression | None = None  # what an example shows (default: the column)


def _cell_checks(source: SourceDef, usable: dict[str, ColumnDef], kinds: dict[str, str]):
    checks: list[_Check] = []
    for name, declared in usable.items():
        cell = column(name)
        not_blank = exp.Not(this=exp.Is(this=cell.copy(), expression=exp.null()))
        if declared.type == ColumnType.date and kinds.get(name) == "text":
            checks.append(
                _Check(
                    name,
                    exp.and_(
                        not_blank.copy(),
                        exp.Not(
                            this=exp.RegexpLike(this=cell.copy(), expression=literal(DATE_PATTERN))
                        ),
                    ),
                    "'{value}' is not a date written YYYY-MM-DD",
                    "dates in a warehouse table are best kept as DATE",
                )
            )
        if declared.required or name == source.date_column:
            checks.append(
                _Check(
                    name,
                    exp.Is(this=cell.copy(), expression=exp.null()),
                    "a value is required but the cell is blank",
                )
            )
        if declared.type in NUMERIC:
            for bound, op, word in (
                (declared.min, exp.LT, "below the minimum"),
                (declared.max, exp.GT, "above the maximum"),
            ):
                if bound is None:
                    continue
                extra = " (a count cannot be negative)" if op is exp.LT and bound == 0 else ""
                checks.append(
                    _Check(
                        name,
                        op(this=cell.copy(), expression=literal(bound)),
                        f"'{{value}}' is {word} {bound:g}{extra}",
                    )
                )
        if declared.values:
            text = exp.cast(cell.copy(), exp.DataType.Type.VARCHAR)
            checks.append(
                _Check(
                    name,
                    exp.and_(
                        not_blank.copy(),
                        exp.Not(
                            this=exp.In(
                                this=text, expressions=[literal(v) for v in declared.values]
                            )
                        ),
                    ),
                    "'{value}' is not an allowed value",
                    f"allowed: {', '.join(declared.values)}",
                )
            )
    return checks


def check_table(
    source: SourceDef,
    select: Select,
    describe: Describe,
    *,
    where: str,
    cells: bool = True,
) -> tuple[list[Issue], bool, dict[str, str]]:
    """Check a warehouse table against its declaration. Returns (issues, usable, kinds):
    `usable` is False when a metric on it could not run or would mislead (an error);
    `kinds` are the column kinds the engine reported. `where` names the table in messages.
    `cells=False` checks the columns only (a table `warehouse load` made from a checked
    file)."""
    issues: list[Issue] = []

    def error(message: str, field: str = "", hint: str = "", level: str = "error") -> None:
        issues.append(Issue(level, "data", where, message, field=field, hint=hint))  # type: ignore[arg-type]

    label = f"source '{source.id}'"
    described = describe(columns_query(source), f"{label}: columns")
    kinds = {name: kind for name, kind in described}
    usable: dict[str, ColumnDef] = {}
    for name, declared in source.columns.items():
        if name not in kinds:
            near = did_you_mean(name, list(kinds))
            error(
                f"column '{name}' is missing",
                name,
                f"{near}: renamed?" if near else f"the table has: {', '.join(sorted(kinds))}",
            )
            continue
        kind = kinds[name]
        if kind not in ACCEPTED_KINDS[declared.type]:
            if not (declared.type == ColumnType.date and kind == "text"):
                error(
                    f"column '{name}' is {kind} in the warehouse but declared {declared.type}",
                    name,
                    "change the declaration in sources.yaml, or cast the column in a view",
                )
                continue
            error(
                f"column '{name}' is kept as text in the warehouse but declared a date",
                name,
                "cast it to DATE in a view (metrics group dates by month in the warehouse)",
            )
        usable[name] = declared

    checks = _cell_checks(source, usable, kinds) if cells else []
    src = table(table_name(source.id))
    if checks:
        counts_query = exp.select(
            *(
                exp.alias_(count_where(check.condition.copy()), f"__c{i}", quoted=True)
                for i, check in enumerate(checks)
            )
        ).from_(src)
        counts = select(counts_query, f"{label}: data checks")
        key = [k for k in source.key if k in usable]
        for i, check in enumerate(checks):
            found = int(pd.to_numeric(counts[f"__c{i}"]).iloc[0]) if not counts.empty else 0
            if not found:
                continue
            shown = exp.cast(check.show or column(check.column), exp.DataType.Type.VARCHAR)
            example_query = (
                exp.select(
                    exp.alias_(shown, "__value", quoted=True),
                    *(exp.alias_(column(k), f"__k{j}", quoted=True) for j, k in enumerate(key)),
                )
                .from_(src.copy())
                .where(check.condition.copy())
                .limit(MAX_EXAMPLES)
            )
            examples = select(example_query, f"{label}: examples of a data check")
            first = "" if examples.empty else _text(examples["__value"].iloc[0])
            rows_named = (
                [
                    ", ".join(f"{k}={_text(row[f'__k{j}'])}" for j, k in enumerate(key))
                    for _, row in examples.iterrows()
                ]
                if key
                else []
            )
            where_text = f"{found:,} row{'s' if found != 1 else ''}"
            if rows_named:
                where_text += ": " + "; ".join(rows_named)
                if found > len(rows_named):
                    where_text += f" and {found - len(rows_named):,} more"
            error(
                f"column '{check.column}': {check.message.format(value=first)} ({where_text})",
                check.column,
                check.hint,
            )
    if cells:
        key = [k for k in source.key if k in usable]
        if key and len(key) == len(source.key):
            _check_key(source, key, src, select, error, label)
    usable_overall = not any(i.is_error for i in issues)
    return issues, usable_overall, kinds


def _check_key(source, key, src, select, error, label) -> None:  # type: ignore[no-untyped-def]
    keys = [column(k) for k in key]
    grouped = (
        exp.select(*(k.copy() for k in keys), exp.alias_(count_where(None), "__n", quoted=True))
        .from_(src.copy())
        .group_by(*(k.copy() for k in keys))
        .having(exp.GT(this=count_where(None), expression=literal(1)))
    )
    total_query = exp.select(exp.alias_(count_where(None), "__keys", quoted=True)).from_(
        grouped.subquery("__duplicates")
    )
    total = int(pd.to_numeric(select(total_query, f"{label}: duplicate keys")["__keys"]).iloc[0])
    if not total:
        return
    examples = select(
        grouped.order_by(exp.Ordered(this=column("__n"), desc=True)).limit(MAX_EXAMPLES),
        f"{label}: duplicate keys",
    )
    shown = [
        ", ".join(f"{k}={_text(row[k])}" for k in key) + f" ({int(row['__n'])} rows)"
        for _, row in examples.iterrows()
    ]
    more = f" and {total - len(shown)} more keys" if total > len(shown) else ""
    error(
        f"duplicate key ({', '.join(key)}): {'; '.join(shown)}{more}",
        ", ".join(key),
        "each key must appear once; a repeated month is usually a double extract",
    )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "(blank)"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)
