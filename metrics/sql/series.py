"""Metric series: every metric compiles to queries at monthly grain (metrics.sql.compiler)
and the few rows they return are laid out on the calendar here.

The queries are sqlglot trees pushed down to the warehouse; they return one row per month
and group with the aggregates the measure needs, so the same definitions run on any
backend and only monthly aggregates come back.

Rules that matter to the numbers:
- a month inside the data's span that has no data is missing (NaN), never zero: for
  record-level sources a month with no rows at all in the source; for monthly sources a
  month with no rows for the metric, or any blank value among the rows it adds up;
- a month the source covers but in which no row passes the metric's filter is a true zero
  for counts and sums (record-level sources) and missing for means, medians and percentiles;
- ratios keep numerator and denominator, and rates keep the population denominator, so
  disclosure control and confidence intervals can use them later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlglot import exp

from metrics.definitions.models import MetricDef, SourceDef
from metrics.sql.backends import QueryError
from metrics.sql.compiler import (
    GROUP,
    MONTH,
    NOT_RECORDED,
    SeriesPlan,
    population_plan,
    scan_key,
    series_plan,
    shared_scan,
)
from metrics.sql.fragments import FragmentError
from metrics.sql.warehouse import LoadedSource, Warehouse

__all__ = [
    "NOT_RECORDED",
    "SeriesError",
    "SeriesQuery",
    "SeriesResult",
    "compute_series",
    "compute_series_by_lcn",
    "compute_sources_by_lcn",
]


@dataclass(frozen=True)
class SeriesQuery:
    """What the reader asked for: an optional breakdown, period and neighbourhood."""

    breakdown: str | None = None
    start: dt.date | None = None  # first month shown (inclusive)
    end: dt.date | None = None  # last month shown (inclusive)
    lcn: str | None = None


@dataclass(frozen=True)
class SeriesResult:
    """A metric's monthly values: columns month, [group], value, numerator, denominator, n
    (values the figure is built from) and rows (rows the metric's filter selects)."""

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


def plan_series(
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    query: SeriesQuery = SeriesQuery(),
    *,
    lcn_column: str = "lcn",
    lcn_recorded: bool = True,
    covered_table: str | None = None,
) -> SeriesPlan:
    """The queries of `metric` under `query` (raises FragmentError for a refused fragment)."""
    start = max(filter(None, [query.start, metric.since]), default=None)
    return series_plan(
        metric,
        sources,
        breakdown=query.breakdown,
        start=_month_start(start) if start else None,
        end_exclusive=_next_month(query.end) if query.end else None,
        lcn=query.lcn,
        lcn_column=lcn_column,
        lcn_recorded=lcn_recorded,
        covered_table=covered_table,
    )


def compute_series(
    warehouse: Warehouse,
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    query: SeriesQuery = SeriesQuery(),
    *,
    lcn_column: str = "lcn",
    lcn_recorded: bool = True,
) -> SeriesResult:
    """Run the metric's queries. Raises `SeriesError` with a reader-facing reason on failure."""
    loaded = _loaded_source(warehouse, metric)
    record_level = loaded.source.grain != "monthly"
    try:
        plan = plan_series(
            metric,
            sources,
            query,
            lcn_column=lcn_column,
            lcn_recorded=lcn_recorded,
            covered_table=warehouse.covered_table(metric.source) if record_level else None,
        )
    except FragmentError as exc:
        raise SeriesError(f"metric '{metric.id}' could not be computed: {exc}") from exc
    label = f"metric '{metric.id}'"
    try:
        aggregates = warehouse.select(plan.aggregate, label=label)
        population = (
            warehouse.select(plan.population, label=label) if plan.population is not None else None
        )
        covered = _covered_months(warehouse, metric, plan, query)
    except QueryError as exc:
        raise SeriesError(f"{label} could not be computed: {exc}") from exc
    frame = assemble_series(metric, aggregates, covered, population, breakdown=query.breakdown)
    return SeriesResult(
        metric=metric,
        query=query,
        frame=_mature_only(frame, metric, loaded.last_month),
        sql=warehouse.render(plan.aggregate),
        notes=plan.notes,
    )


def compute_series_by_lcn(
    warehouse: Warehouse,
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    *,
    lcn_column: str = "lcn",
) -> dict[str, pd.DataFrame]:
    """Every neighbourhood's whole-span series of one metric (compute_sources_by_lcn)."""
    found = compute_sources_by_lcn(warehouse, [metric], sources, lcn_column=lcn_column)
    outcome = found[metric.id]
    if isinstance(outcome, SeriesError):
        raise outcome
    return outcome


def compute_sources_by_lcn(
    warehouse: Warehouse,
    metrics: Sequence[MetricDef],
    sources: Mapping[str, SourceDef],
    *,
    lcn_column: str = "lcn",
) -> dict[str, dict[str, pd.DataFrame] | SeriesError]:
    """Every neighbourhood's whole-span series of each metric given (each must read a
    source that records neighbourhoods): the aggregates grouped by month and neighbourhood,
    one query for all the metrics that read the same source by the same date (shared_scan),
    laid out one neighbourhood at a time exactly as that neighbourhood's own filtered query
    would be (the same rows make each month's figure; the calendar and the covered months
    are the neighbourhood's own for a monthly source and the source's for a record-level
    one; a rate's population is the neighbourhood's where the population records
    neighbourhoods, the area's otherwise).

    By metric id: the series keyed by neighbourhood as the data spell it (a neighbourhood
    with no rows is absent: its series is empty), or the SeriesError that metric met. If a
    shared query fails, each of its metrics is queried on its own, so one cannot fail
    another."""
    plans: dict[str, _LcnPlan] = {}
    outcome: dict[str, dict[str, pd.DataFrame] | SeriesError] = {}
    for metric in metrics:
        try:
            plans[metric.id] = _lcn_plan(warehouse, metric, sources, lcn_column)
        except SeriesError as exc:
            outcome[metric.id] = exc
    by_scan: dict[str, list[MetricDef]] = {}
    for metric in metrics:
        if metric.id in plans:
            by_scan.setdefault(scan_key(plans[metric.id].series.aggregate), []).append(metric)
    for group in by_scan.values():
        aggregates = _shared_aggregates(warehouse, group, plans) if len(group) > 1 else {}
        for metric in group:
            try:
                outcome[metric.id] = _lcn_series(
                    warehouse, metric, plans[metric.id], aggregates.get(metric.id)
                )
            except SeriesError as exc:
                outcome[metric.id] = exc
    return outcome


@dataclass(frozen=True)
class _LcnPlan:
    """A metric's queries by neighbourhood: its series grouped by month and neighbourhood,
    and a rate's population (by neighbourhood when the population records them)."""

    series: SeriesPlan
    population: exp.Select | None
    population_by_lcn: bool


def _lcn_plan(
    warehouse: Warehouse, metric: MetricDef, sources: Mapping[str, SourceDef], lcn_column: str
) -> _LcnPlan:
    _loaded_source(warehouse, metric)
    record_level = sources[metric.source].grain != "monthly"
    try:
        plan = plan_series(
            metric,
            sources,
            SeriesQuery(breakdown=lcn_column),
            lcn_column=lcn_column,
            covered_table=warehouse.covered_table(metric.source) if record_level else None,
        )
        by_lcn = metric.rate is not None and lcn_column in sources[metric.rate.population].columns
        population_query = None
        if metric.rate is not None:
            population_query = population_plan(
                metric, sources, breakdown=lcn_column if by_lcn else None, lcn_column=lcn_column
            )
    except FragmentError as exc:
        raise SeriesError(f"metric '{metric.id}' could not be computed: {exc}") from exc
    return _LcnPlan(plan, population_query, by_lcn)


def _shared_aggregates(
    warehouse: Warehouse,
    metrics: list[MetricDef],
    plans: Mapping[str, _LcnPlan],
) -> dict[str, pd.DataFrame]:
    """Each metric's aggregates, as its own query would return them, from one query of the
    source for them all; empty when they cannot share one (each then runs its own)."""
    combined = shared_scan([plans[m.id].series.aggregate for m in metrics])
    if combined is None:
        return {}
    label = f"the metrics of source '{metrics[0].source}' by neighbourhood"
    try:
        rows = warehouse.select(combined, label=label)
    except QueryError:
        return {}
    keys = [c for c in (MONTH, GROUP) if c in rows.columns]
    split = {}
    for index, metric in enumerate(metrics):
        prefix = f"__q{index}"
        names = {c: c[len(prefix) :] for c in rows.columns if c.startswith(prefix + "__")}
        mine = rows[[*keys, *names]].rename(columns=names)
        # A group where the metric has no rows is one its own query would not return.
        split[metric.id] = mine[mine["__rows"] > 0].reset_index(drop=True)
    return split


def _lcn_series(
    warehouse: Warehouse,
    metric: MetricDef,
    planned: _LcnPlan,
    aggregates: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """The metric's series for each neighbourhood (`aggregates`: from a shared query, or
    None to run its own)."""
    plan, population_query = planned.series, planned.population
    loaded = _loaded_source(warehouse, metric)
    label = f"metric '{metric.id}'"
    try:
        if aggregates is None:
            aggregates = warehouse.select(plan.aggregate, label=label)
        population = (
            warehouse.select(population_query, label=label)
            if population_query is not None
            else None
        )
        covered = _covered_months(warehouse, metric, plan, SeriesQuery())
    except QueryError as exc:
        raise SeriesError(f"{label} could not be computed: {exc}") from exc

    def own(frame: pd.DataFrame | None, lcn: str) -> pd.DataFrame | None:
        if frame is None:
            return None
        mine = frame[frame[GROUP].astype(str) == lcn]
        return mine.drop(columns=GROUP).reset_index(drop=True)

    series: dict[str, pd.DataFrame] = {}
    labels = aggregates[GROUP].astype(str) if not aggregates.empty else pd.Series(dtype=str)
    for lcn in sorted(set(labels) - {NOT_RECORDED}):
        frame = assemble_series(
            metric,
            own(aggregates, lcn),
            covered,
            own(population, lcn) if planned.population_by_lcn else population,
            breakdown=None,
        )
        series[lcn] = _mature_only(frame, metric, loaded.last_month)
    return series


def _loaded_source(warehouse: Warehouse, metric: MetricDef) -> LoadedSource:
    needed = [metric.source] + ([metric.rate.population] if metric.rate else [])
    for source_id in needed:
        if source_id not in warehouse.loaded:
            raise SeriesError(warehouse.failure_reason(source_id))
    return warehouse.loaded[metric.source]


def _covered_months(
    warehouse: Warehouse, metric: MetricDef, plan: SeriesPlan, query: SeriesQuery
) -> pd.DatetimeIndex | None:
    """The months a record-level source covers (None for a monthly source: there a month is
    covered when the metric has rows in it)."""
    loaded = warehouse.loaded[metric.source]
    if loaded.source.grain == "monthly":
        return None
    if (metric.date or loaded.source.date_column) == loaded.source.date_column:
        months = pd.DatetimeIndex(pd.to_datetime(list(loaded.covered_months)))
    else:
        assert plan.covered is not None
        rows = warehouse.select(plan.covered, label=f"metric '{metric.id}'")
        months = pd.DatetimeIndex(pd.to_datetime(rows[MONTH]))
    return _within(months, query, metric)


def _mature_only(
    frame: pd.DataFrame, metric: MetricDef, last_month: dt.date | None
) -> pd.DataFrame:
    """Outcomes that take time to happen (a second contact within 4 weeks) are not yet
    known for the latest months: those months are not reported at all."""
    if not metric.maturity_months or not last_month:
        return frame
    last_reportable = pd.Timestamp(last_month) - pd.DateOffset(months=metric.maturity_months)
    return frame[frame["month"] <= last_reportable].reset_index(drop=True)


def _within(months: pd.DatetimeIndex, query: SeriesQuery, metric: MetricDef) -> pd.DatetimeIndex:
    start = max(filter(None, [query.start, metric.since]), default=None)
    keep = np.ones(len(months), dtype=bool)
    if start is not None:
        keep &= months >= pd.Timestamp(_month_start(start))
    if query.end is not None:
        keep &= months <= pd.Timestamp(_month_start(query.end))
    return months[keep]


def _empty(breakdown: str | None) -> pd.DataFrame:
    columns = ["month", *(["group"] if breakdown else []), "value", "numerator", "denominator"]
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame["month"] = pd.Series(dtype="datetime64[ns]")
    if breakdown:
        frame["group"] = pd.Series(dtype="object")
    frame["n"] = pd.Series(dtype="int64")
    frame["rows"] = pd.Series(dtype="int64")
    return frame


def assemble_series(
    metric: MetricDef,
    aggregates: pd.DataFrame,
    covered: pd.DatetimeIndex | None,
    population: pd.DataFrame | None,
    *,
    breakdown: str | None,
) -> pd.DataFrame:
    """Lay the aggregates out on the calendar: one row per month (from the first to the last
    month the source covers) and group, with value, numerator, denominator and n.

    `covered` is None for monthly sources (a month is covered when the metric has rows in
    it); for record-level sources it lists the months in which the source has any row."""
    if aggregates.empty:
        return _empty(breakdown)
    months = pd.DatetimeIndex(pd.to_datetime(aggregates[MONTH]))
    labels = aggregates[GROUP].astype(str).to_numpy() if breakdown else None
    months_covered = pd.DatetimeIndex(months.unique()) if covered is None else covered
    if len(months_covered) == 0:
        return _empty(breakdown)
    calendar = pd.date_range(months_covered.min(), months_covered.max(), freq="MS")
    groups = sorted(set(labels)) if labels is not None else [""]
    # Rows in the order of the calendar, then the group (as ORDER BY month, group would).
    size = len(calendar) * len(groups)
    month_position = calendar.get_indexer(months)
    if labels is not None:
        group_position = pd.Index(groups).get_indexer(labels)
    else:
        group_position = np.zeros(len(months), dtype=int)
    inside = month_position >= 0
    position = month_position[inside] * len(groups) + group_position[inside]
    row_months = np.repeat(calendar.to_numpy(), len(groups))
    is_covered = np.isin(row_months, months_covered.to_numpy())
    monthly = covered is None

    def number(name: str) -> np.ndarray:
        values = np.full(size, np.nan)
        column = pd.to_numeric(aggregates[name], errors="coerce").to_numpy(dtype="float64")
        values[position] = column[inside]
        return values

    def when(condition: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(condition, values, np.nan)

    nan = np.full(size, np.nan)
    measure = metric.measure
    if measure == "count":
        counted = np.nan_to_num(number("__num"), nan=0.0)
        value = numerator = when(is_covered, counted)
        denominator, n = nan, counted
    elif measure in {"sum", "rate"}:
        total_raw = number("__num")
        missing = number("__missing")
        if monthly:
            total = when(is_covered & (missing == 0), total_raw)
        else:
            total = when(is_covered, np.nan_to_num(total_raw, nan=0.0))
        n = np.nan_to_num(number("__n"), nan=0.0)
        numerator = total
        if measure == "sum":
            value, denominator = total, nan
        else:
            assert metric.rate is not None
            denominator = _population(population, row_months, groups, breakdown)
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(denominator == 0, np.nan, total * metric.rate.per / denominator)
    elif measure in {"mean", "median"} or metric.percentile is not None:
        value = when(is_covered, number("__stat"))
        numerator = denominator = nan
        n = np.nan_to_num(number("__n"), nan=0.0)
    elif measure == "ratio":
        num_raw, den_raw = number("__num"), number("__den")
        if monthly:
            ok = is_covered & (number("__missing") == 0)
            numerator, denominator = when(ok, num_raw), when(ok, den_raw)
        else:
            numerator = when(is_covered, np.nan_to_num(num_raw, nan=0.0))
            denominator = when(is_covered, np.nan_to_num(den_raw, nan=0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denominator == 0, np.nan, metric.per * numerator / denominator)
        n = np.nan_to_num(denominator, nan=0.0)
    else:
        raise ValueError(f"unknown measure '{measure}'")

    frame = pd.DataFrame({"month": row_months})
    if breakdown:
        frame["group"] = np.tile(np.asarray(groups, dtype=object), len(calendar))
    frame["value"] = np.asarray(value, dtype="float64")
    frame["numerator"] = np.asarray(numerator, dtype="float64")
    frame["denominator"] = np.asarray(denominator, dtype="float64")
    frame["n"] = np.asarray(n, dtype="float64").astype("int64")
    frame["rows"] = np.nan_to_num(number("__rows"), nan=0.0).astype("int64")
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def _population(
    population: pd.DataFrame | None,
    row_months: np.ndarray,
    groups: list[str],
    breakdown: str | None,
) -> np.ndarray:
    """Population of each row's year (and group); NaN where the estimates have none."""
    if population is None or population.empty:
        return np.full(len(row_months), np.nan)
    years = pd.to_numeric(population["__year"], errors="coerce").to_numpy()
    labels = population[GROUP].astype(str).to_numpy() if breakdown else [""] * len(years)
    values = pd.to_numeric(population["__population"], errors="coerce").to_numpy(dtype="float64")
    lookup: dict[tuple[float, str], float] = {}
    for year, label, value in zip(years, labels, values, strict=True):
        lookup.setdefault((float(year), str(label)), float(value))
    row_years = pd.DatetimeIndex(row_months).year.to_numpy()
    row_groups = np.tile(np.asarray(groups, dtype=object), len(row_months) // len(groups))
    return np.array(
        [lookup.get((float(y), g), np.nan) for y, g in zip(row_years, row_groups, strict=True)],
        dtype="float64",
    )
