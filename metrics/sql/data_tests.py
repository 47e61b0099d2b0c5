"""Data tests written in YAML, run by `validate` and by the site on every load.

A test sits on a source (its rows) or on a metric (the rows its filter selects, and its
monthly values)::

    sources:
      - id: ae
        ...
        tests:
          - {test: not_null, columns: [provider_code, attendances]}
          - {test: unique, columns: [month, provider_code]}
          - {test: every_month, by: provider_code}      # every provider, every month
          - {test: accepted_values, column: provider_code, values: [RJ1, RYJ, RJZ]}
          - {test: range, column: breaches, min: 0}
    metrics:
      - id: ae_within_4h
        ...
        tests:
          - {test: range, min: 50, max: 100}             # its monthly value
          - {test: every_month, by: provider_code, level: warning}

Each test is one query (or two) built as a sqlglot tree with metrics.sql.compiler's
helpers (quoted column and table nodes, literal values, the metric's checked filter
tree), never SQL text; only small results (counts, a few example rows, the months each
group has rows in) come back. A failure is reported at the test's own file and line,
with how many rows (or months) fail and examples that name them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlglot import exp

from metrics.definitions.catalogue import Catalogue
from metrics.definitions.data_test_rules import describe, test_problems
from metrics.definitions.issues import Issue
from metrics.definitions.models import DataTest, MetricDef, SourceDef
from metrics.sql.compiler import (
    all_of,
    column,
    count_where,
    for_each_condition,
    literal,
    metric_fragments,
    month_of,
    table,
    table_name,
)

if TYPE_CHECKING:
    from metrics.sql.warehouse import Warehouse

EXAMPLES = 3


# --------------------------------------------------------------------------- data stage


def run_data_tests(
    catalogue: Catalogue,
    warehouse: Warehouse,
    monthly_values: Callable[[str], pd.DataFrame] | None = None,
) -> list[Issue]:
    """Every data test of every loaded source and served metric; issues at each test's
    own line. `monthly_values(metric_id)` gives a metric's series (month, value)."""
    issues: list[Issue] = []
    for source in catalogue.sources.values():
        if not source.tests or source.id not in warehouse.loaded:
            continue  # a source that did not load has its own message
        for position, test in enumerate(source.tests):
            where = f"sources[{source.id}].tests[{position}]"
            issues += _run(catalogue, warehouse, test, where, source, None, monthly_values)
    for metric in catalogue.metrics.values():
        if not metric.tests or metric.source not in warehouse.loaded:
            continue
        source = catalogue.sources[metric.source]
        definition = catalogue.expanded_from.get(metric.id, metric.id)
        for position, test in enumerate(metric.tests):
            where = f"metrics[{definition}].tests[{position}]"
            issues += _run(catalogue, warehouse, test, where, source, metric, monthly_values)
    return issues


def _run(
    catalogue: Catalogue,
    warehouse: Warehouse,
    test: DataTest,
    where: str,
    source: SourceDef,
    metric: MetricDef | None,
    monthly_values: Callable[[str], pd.DataFrame] | None,
) -> list[Issue]:
    from metrics.sql.backends import QueryError

    origin = catalogue.test_origins.get(where)
    owner = f"metric '{metric.id}'" if metric is not None else f"source '{source.id}'"
    field = (
        where
        if metric is None
        else where.replace(
            f"metrics[{catalogue.expanded_from.get(metric.id, metric.id)}]", f"metrics[{metric.id}]"
        )
    )
    if test_problems(test, source, on_metric=metric is not None):
        return []  # reported by the reference stage
    try:
        failure = _check(warehouse, catalogue.sources, test, source, metric, monthly_values)
    except (QueryError, KeyError, ValueError) as exc:
        failure = (f"could not run: {exc}", "")
    if failure is None:
        return []
    message, hint = failure
    return [
        Issue(
            test.level,
            "data",
            origin.file if origin else "",
            f"{owner}: data test {describe(test)}: {message}",
            line=origin.line if origin else 0,
            field=field,
            hint=hint,
        )
    ]


def _conditions(
    source: SourceDef, metric: MetricDef | None, sources: dict[str, SourceDef]
) -> list[exp.Expression]:
    if metric is None:
        return []
    conditions: list[exp.Expression] = []
    fragments = metric_fragments(metric, sources)
    if fragments.filter is not None:
        conditions.append(fragments.filter.tree.copy())
    one_of = for_each_condition(metric, source)
    if one_of is not None:
        conditions.append(one_of)
    return conditions


def _is_null(name: str) -> exp.Expression:
    return exp.Is(this=column(name), expression=exp.null())


def _row_names(source: SourceDef, checked: Iterable[str]) -> list[str]:
    """Columns that say which row it is: the key (or the date), then the checked ones."""
    names = list(source.key) or [source.date_column]
    return [*names, *(c for c in checked if c not in names)]


def _show(value: Any) -> str:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return f"{value:%Y-%m-%d}"
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(blank)"
    return str(value)


def _rows_text(frame: pd.DataFrame, names: list[str]) -> str:
    return "; ".join(
        ", ".join(f"{n}={_show(row[n])}" for n in names) for _, row in frame.iterrows()
    )


def _check(
    warehouse: Warehouse,
    sources: dict[str, SourceDef],
    test: DataTest,
    source: SourceDef,
    metric: MetricDef | None,
    monthly_values: Callable[[str], pd.DataFrame] | None,
) -> tuple[str, str] | None:
    """(what fails, hint), or None when the test passes."""
    src = table(table_name(source.id))
    base = _conditions(source, metric, sources)
    label = f"data test {describe(test)}"

    def select(query: exp.Expression) -> pd.DataFrame:
        return warehouse.select(query, label=label)

    if test.test == "not_null":
        counts = select(
            exp.select(
                *(
                    exp.alias_(count_where(_is_null(c)), f"n{i}", quoted=True)
                    for i, c in enumerate(test.columns)
                )
            )
            .from_(src.copy())
            .where(all_of(base))
        )
        blanks = {c: int(counts.iloc[0][f"n{i}"] or 0) for i, c in enumerate(test.columns)}
        failing = [c for c, n in blanks.items() if n]
        if not failing:
            return None
        names = _row_names(source, [])
        examples = select(
            exp.select(*(column(n) for n in names))
            .from_(src.copy())
            .where(all_of([*base, exp.or_(*(_is_null(c) for c in failing))]))
            .limit(EXAMPLES)
        )
        counted = ", ".join(f"{n:,} in '{c}'" for c, n in blanks.items() if n)
        return (
            f"blank cells: {counted} (e.g. {_rows_text(examples, names)})",
            "fill them in the extract, or filter those rows out",
        )

    if test.test == "unique":
        keys = [column(c) for c in test.columns]
        groups = (
            exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "__n", quoted=True))
            .from_(src.copy())
            .where(all_of(base))
            .group_by(*(k.copy() for k in keys))
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=literal(1)))
        )
        total = select(
            exp.select(exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True)).from_(
                groups.subquery("__duplicates")
            )
        )
        repeated = int(total.iloc[0]["n"] or 0)
        if not repeated:
            return None
        examples = select(
            groups.order_by(exp.Ordered(this=column("__n"), desc=True)).limit(EXAMPLES)
        )
        shown = "; ".join(
            ", ".join(f"{c}={_show(row[c])}" for c in test.columns) + f" ({int(row['__n'])} rows)"
            for _, row in examples.iterrows()
        )
        return (
            f"{repeated:,} combination(s) appear more than once (e.g. {shown})",
            "a repeated month is usually a double extract",
        )

    if test.test == "accepted_values":
        assert test.column is not None and test.values is not None
        text = exp.cast(column(test.column), exp.DataType.Type.VARCHAR)
        outside = exp.Not(
            this=exp.In(this=text.copy(), expressions=[literal(v) for v in test.values])
        )
        found = select(
            exp.select(
                exp.alias_(text.copy(), "value", quoted=True),
                exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
            )
            .from_(src.copy())
            .where(all_of([*base, exp.Not(this=_is_null(test.column)), outside]))
            .group_by(text.copy())
            .order_by(exp.Ordered(this=column("n"), desc=True))
        )
        if found.empty:
            return None
        shown = ", ".join(
            f"'{v}' ({int(n):,} rows)" for v, n in found.head(5).itertuples(index=False)
        )
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        return (
            f"{int(found['n'].sum()):,} row(s) hold other values: {shown}{more}",
            f"allowed: {', '.join(test.values)}; add a value to the test if it is new",
        )

    if test.test == "range":
        if test.column is None:
            return _range_of_values(test, metric, monthly_values)
        value = column(test.column)
        outside: list[exp.Expression] = []
        if test.min is not None:
            outside.append(exp.LT(this=value.copy(), expression=literal(test.min)))
        if test.max is not None:
            outside.append(exp.GT(this=value.copy(), expression=literal(test.max)))
        condition = exp.or_(*outside) if len(outside) > 1 else outside[0]
        counted = select(
            exp.select(exp.alias_(count_where(condition), "n", quoted=True))
            .from_(src.copy())
            .where(all_of(base))
        )
        failing = int(counted.iloc[0]["n"] or 0)
        if not failing:
            return None
        names = _row_names(source, [test.column])
        examples = select(
            exp.select(*(column(n) for n in names))
            .from_(src.copy())
            .where(all_of([*base, condition.copy()]))
            .limit(EXAMPLES)
        )
        return (
            f"{failing:,} row(s) outside it (e.g. {_rows_text(examples, names)})",
            "check the extract, or widen the range if the values are right",
        )

    # every_month
    date = column(metric.date if metric is not None and metric.date else source.date_column)
    month = month_of(date.copy())
    keys = [column(c) for c in test.by]
    present = select(
        exp.select(exp.alias_(month.copy(), "__month", quoted=True), *keys)
        .distinct()
        .from_(src.copy())
        .where(all_of([*base, exp.Not(this=exp.Is(this=date.copy(), expression=exp.null()))]))
    )
    if present.empty:
        return None
    present["__month"] = pd.to_datetime(present["__month"])
    months = pd.date_range(present["__month"].min(), present["__month"].max(), freq="MS")
    if test.by:
        groups = present[test.by].drop_duplicates().itertuples(index=False, name=None)
        have = set(present[["__month", *test.by]].itertuples(index=False, name=None))
        missing = [(m, *group) for group in groups for m in months if (m, *group) not in have]
    else:
        have_months = set(present["__month"])
        missing = [(m,) for m in months if m not in have_months]
    if not missing:
        return None
    missing.sort()
    shown = "; ".join(
        (
            ", ".join(f"{c}={_show(v)}" for c, v in zip(test.by, item[1:], strict=True)) + " in "
            if test.by
            else ""
        )
        + f"{item[0]:%b %Y}"
        for item in missing[:EXAMPLES]
    )
    span = f"{months[0]:%b %Y} to {months[-1]:%b %Y}"
    what = "group-month(s)" if test.by else "month(s)"
    return (
        f"{len(missing):,} {what} of {span} have no rows (e.g. {shown})",
        "a month missing for one group is often a late or failed submission; "
        "set level: warning if groups start or stop on purpose",
    )


def _range_of_values(
    test: DataTest,
    metric: MetricDef | None,
    monthly_values: Callable[[str], pd.DataFrame] | None,
) -> tuple[str, str] | None:
    if metric is None or monthly_values is None:
        return None
    frame = monthly_values(metric.id).dropna(subset=["value"])
    low = frame["value"] < test.min if test.min is not None else False
    high = frame["value"] > test.max if test.max is not None else False
    outside = frame[low | high] if not frame.empty else frame
    if outside.empty:
        return None
    shown = "; ".join(
        f"{pd.Timestamp(r['month']):%b %Y}: {r['value']:g}"
        for _, r in outside.head(EXAMPLES).iterrows()
    )
    return (
        f"{len(outside):,} month(s) outside it (e.g. {shown})",
        "check the data for those months, or the range if the values are right",
    )
