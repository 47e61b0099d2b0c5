"""Metric series as SQL: every metric compiles to one DuckDB query at monthly grain.

The SQL is plain and portable (CTEs, GROUP BY, FILTER, joins), so the same definitions can
later be pushed down to a warehouse instead of pulling rows into Python.

Rules that matter to the numbers:
- a month inside the data's span that has no data is missing (NULL), never zero: for
  record-level sources a month with no rows at all in the source; for monthly sources a
  month with no rows for the metric, or any blank value among the rows it adds up;
- a month the source covers but in which no row passes the metric's filter is a true zero
  for counts and sums (record-level sources) and missing for means, medians and percentiles;
- ratios keep numerator and denominator, and rates keep the population denominator, so
  disclosure control and confidence intervals can use them later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from metrics.definitions.models import MetricDef, SourceDef
from metrics.warehouse import Warehouse, covered_table_name, quote, sql_literal, table_name

NOT_RECORDED = "Not recorded"  # label for a blank breakdown value


@dataclass(frozen=True)
class SeriesQuery:
    """What the reader asked for: an optional breakdown, period and neighbourhood."""

    breakdown: str | None = None
    start: dt.date | None = None  # first month shown (inclusive)
    end: dt.date | None = None  # last month shown (inclusive)
    lcn: str | None = None


@dataclass(frozen=True)
class CompiledSeries:
    sql: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesResult:
    """A metric's monthly values: columns month, [group], value, numerator, denominator, n."""

    metric: MetricDef
    query: SeriesQuery
    frame: pd.DataFrame
    sql: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def latest(self) -> pd.Series | None:
        """The latest month with a value (whole series, or first group when broken down)."""
        known = self.frame.dropna(subset=["value"])
        return None if known.empty else known.iloc[-1]


class SeriesError(ValueError):
    """A metric cannot be computed (its source failed, or its SQL does not run)."""


def _month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def _next_month(value: dt.date) -> dt.date:
    return dt.date(value.year + (value.month == 12), value.month % 12 + 1, 1)


def compile_series_sql(
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    query: SeriesQuery = SeriesQuery(),
    *,
    covered_table: str | None = None,
    lcn_column: str = "lcn",
    lcn_recorded: bool = True,
) -> CompiledSeries:
    """Compile `metric` to SQL over the loaded ``src_<id>`` tables.

    `covered_table` names a one-column table (__month) of the months in which a
    record-level source has any row, made once at load time so the query scans the source
    once; None means "derive it in SQL".
    """
    source = sources[metric.source]
    date_col = quote(metric.date or source.date_column)
    notes: list[str] = []

    period: list[str] = [f"{date_col} IS NOT NULL"]
    start = max(filter(None, [query.start, metric.since]), default=None)
    if start:
        period.append(f"{date_col} >= {sql_literal(_month_start(start))}")
    if query.end:
        period.append(f"{date_col} < {sql_literal(_next_month(query.end))}")

    row_conditions: list[str] = []
    if metric.filter:
        row_conditions.append(f"({metric.filter})")
    lcn_condition = ""
    if query.lcn:
        if lcn_column in source.columns and lcn_recorded:
            lcn_condition = f"{quote(lcn_column)} = {sql_literal(query.lcn)}"
            row_conditions.append(lcn_condition)
        else:
            notes.append(
                f"{source.title} is not recorded by neighbourhood: figures are for the whole area."
            )

    group_expr = "NULL::VARCHAR"
    if query.breakdown:
        group_expr = (
            f"coalesce(CAST({quote(query.breakdown)} AS VARCHAR), {sql_literal(NOT_RECORDED)})"
        )

    where_rows = " AND ".join(row_conditions) or "TRUE"
    ctes = [
        f"period_src AS (SELECT * FROM {table_name(source.id)} WHERE {' AND '.join(period)})",
        "rows AS (SELECT date_trunc('month', "
        f"{date_col})::DATE AS __month, {group_expr} AS __grp, * FROM period_src "
        f"WHERE {where_rows})",
    ]

    monthly = source.grain == "monthly"
    if monthly:
        ctes.append("covered AS (SELECT DISTINCT __month FROM rows)")
    elif covered_table is not None:
        bounds = ["TRUE"]
        if start:
            bounds.append(f"__month >= {sql_literal(_month_start(start))}")
        if query.end:
            bounds.append(f"__month <= {sql_literal(_month_start(query.end))}")
        ctes.append(
            f"covered AS (SELECT __month FROM {covered_table} WHERE {' AND '.join(bounds)})"
        )
    else:
        ctes.append(
            "covered AS (SELECT DISTINCT date_trunc('month', "
            f"{date_col})::DATE AS __month FROM period_src)"
        )
    ctes.append(
        "calendar AS (SELECT unnest(generate_series(min(__month), max(__month), "
        "INTERVAL 1 MONTH))::DATE AS __month FROM covered HAVING count(*) > 0)"
    )
    ctes.append("groups AS (SELECT DISTINCT __grp FROM rows)")

    aggregates, value_sql, numerator_sql, denominator_sql, n_sql = _measure_sql(metric, monthly)
    ctes.append(f"agg AS (SELECT __month, __grp, {aggregates} FROM rows GROUP BY __month, __grp)")

    joins = ""
    if metric.measure == "rate":
        assert metric.rate is not None
        population = sources[metric.rate.population]
        pop_conditions = []
        if metric.rate.filter:
            pop_conditions.append(f"({metric.rate.filter})")
        if lcn_condition and lcn_column in population.columns:
            pop_conditions.append(lcn_condition)
        pop_group = "NULL::VARCHAR"
        if query.breakdown:
            pop_group = (
                f"coalesce(CAST({quote(query.breakdown)} AS VARCHAR), {sql_literal(NOT_RECORDED)})"
            )
        ctes.append(
            f"pop AS (SELECT {quote(population.date_column)} AS __year, {pop_group} AS __grp, "
            f"sum({metric.rate.value}) AS __population FROM {table_name(population.id)} "
            f"WHERE {' AND '.join(pop_conditions) or 'TRUE'} GROUP BY ALL)"
        )
        joins = (
            " LEFT JOIN pop ON pop.__year = year(c.__month) "
            "AND pop.__grp IS NOT DISTINCT FROM g.__grp"
        )

    group_select = ', g.__grp AS "group"' if query.breakdown else ""
    order = "c.__month, g.__grp" if query.breakdown else "c.__month"
    sql = (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT c.__month AS month"
        + group_select
        + f", {value_sql} AS value, {numerator_sql} AS numerator, "
        + f"{denominator_sql} AS denominator, {n_sql} AS n\n"
        + "FROM calendar c CROSS JOIN groups g\n"
        + "LEFT JOIN covered cov ON cov.__month = c.__month\n"
        + "LEFT JOIN agg a ON a.__month = c.__month AND a.__grp IS NOT DISTINCT FROM g.__grp"
        + joins
        + f"\nORDER BY {order}"
    )
    return CompiledSeries(sql=sql, notes=tuple(notes))


def _measure_sql(metric: MetricDef, monthly: bool) -> tuple[str, str, str, str, str]:
    """(aggregates in agg, value, numerator, denominator, n) expressions for the final SELECT."""
    covered = "cov.__month IS NOT NULL"
    measure = metric.measure
    value = f"({metric.value})" if metric.value else None

    if measure == "count":
        count = f"CASE WHEN {covered} THEN coalesce(a.__num, 0) END"
        return "count(*) AS __num", count, count, "NULL::DOUBLE", "coalesce(a.__num, 0)"

    if measure in {"sum", "rate"}:
        aggregate = (
            f"sum({value}) AS __num, count(*) FILTER (WHERE {value} IS NULL) AS __missing, "
            f"count({value}) AS __n"
            if value
            else "count(*) AS __num, 0 AS __missing, count(*) AS __n"
        )
        if monthly:
            total = f"CASE WHEN {covered} AND a.__missing = 0 THEN a.__num END"
        else:
            total = f"CASE WHEN {covered} THEN coalesce(a.__num, 0) END"
        if measure == "sum":
            return aggregate, total, total, "NULL::DOUBLE", "coalesce(a.__n, 0)"
        assert metric.rate is not None
        rate = f"{total} * {metric.rate.per} / NULLIF(pop.__population, 0)"
        return aggregate, rate, total, "pop.__population", "coalesce(a.__n, 0)"

    if measure in {"mean", "median"} or metric.percentile is not None:
        function = {"mean": f"avg({value})", "median": f"median({value})"}.get(
            measure, f"quantile_cont({value}, {(metric.percentile or 50) / 100})"
        )
        aggregate = f"{function} AS __stat, count({value}) AS __n"
        stat = f"CASE WHEN {covered} THEN a.__stat END"
        return aggregate, stat, "NULL::DOUBLE", "NULL::DOUBLE", "coalesce(a.__n, 0)"

    if measure == "ratio":
        numerator = metric.numerator
        denominator = metric.denominator
        assert numerator is not None

        def part(where: str | None, summed: str | None) -> tuple[str, str]:
            condition = f" FILTER (WHERE {where})" if where else ""
            if summed:
                missing_where = f"({summed}) IS NULL" + (f" AND ({where})" if where else "")
                return f"sum(({summed})){condition}", f"count(*) FILTER (WHERE {missing_where})"
            return f"count(*){condition}", "0"

        num_sum, num_missing = part(numerator.filter, numerator.value)
        den_sum, den_missing = part(
            denominator.filter if denominator else None, denominator.value if denominator else None
        )
        aggregate = (
            f"{num_sum} AS __num, {den_sum} AS __den, "
            f"({num_missing}) + ({den_missing}) AS __missing"
        )
        if monthly:
            ok = f"{covered} AND a.__missing = 0"
            num = f"CASE WHEN {ok} THEN a.__num END"
            den = f"CASE WHEN {ok} THEN a.__den END"
        else:
            num = f"CASE WHEN {covered} THEN coalesce(a.__num, 0) END"
            den = f"CASE WHEN {covered} THEN coalesce(a.__den, 0) END"
        ratio = f"{metric.per} * ({num}) / NULLIF({den}, 0)"
        return aggregate, ratio, num, den, f"coalesce({den}, 0)"

    raise ValueError(f"unknown measure '{measure}'")


def compute_series(
    warehouse: Warehouse,
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    query: SeriesQuery = SeriesQuery(),
    *,
    lcn_column: str = "lcn",
    lcn_recorded: bool = True,
) -> SeriesResult:
    """Run the metric's SQL. Raises `SeriesError` with a reader-facing reason on failure."""
    needed = [metric.source] + ([metric.rate.population] if metric.rate else [])
    for source_id in needed:
        if source_id not in warehouse.loaded:
            raise SeriesError(warehouse.failure_reason(source_id))
    loaded = warehouse.loaded[metric.source]
    covered = None
    if loaded.source.grain == "record" and (metric.date or loaded.source.date_column) == (
        loaded.source.date_column
    ):
        covered = covered_table_name(metric.source)
    compiled = compile_series_sql(
        metric,
        sources,
        query,
        covered_table=covered,
        lcn_column=lcn_column,
        lcn_recorded=lcn_recorded,
    )
    try:
        frame = warehouse.query(compiled.sql)
    except Exception as exc:  # duckdb raises many types; the reader needs the reason only
        raise SeriesError(
            f"metric '{metric.id}' could not be computed: {str(exc).splitlines()[0]}"
        ) from exc
    frame["month"] = pd.to_datetime(frame["month"])
    if metric.maturity_months and loaded.last_month:
        # Outcomes that take time to happen (a second contact within 4 weeks) are not yet
        # known for the latest months: those months are not reported at all.
        last_reportable = pd.Timestamp(loaded.last_month) - pd.DateOffset(
            months=metric.maturity_months
        )
        frame = frame[frame["month"] <= last_reportable].reset_index(drop=True)
    for column in ("value", "numerator", "denominator"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce").fillna(0).astype("int64")
    if "group" in frame:
        frame["group"] = frame["group"].astype(str)
    return SeriesResult(
        metric=metric, query=query, frame=frame, sql=compiled.sql, notes=compiled.notes
    )
