"""Who is being left behind: rates per 100,000 a year by group, and rate ratios with CIs.

For a rate metric (``measure: rate``: events over a population denominator, e.g.
detentions per 100,000 adults) and a dimension (ethnicity, age band, gender, LCN), the
chosen period is pooled per group:

- events: the sum of the monthly event counts (months inside the data's span with no
  count are missing and left out, never read as zero);
- person-years: each month contributes one twelfth of the group's mid-year population
  for that calendar year (the population the series joins to each month). Summed over the
  months, that is the average annual population x the number of years pooled, so a
  period of 72 months in which a group numbers 100,000 gives 600,000 person-years;
- rate per 100,000 per year = events / person-years x 100,000, with an exact Poisson
  (Garwood, chi-squared) 95% confidence interval;
- rate ratio against a reference group = (events / person-years) / (reference events /
  reference person-years), with a 95% confidence interval on the log scale by the delta
  method (Katz-type: standard error of log RR = sqrt(1/events + 1/reference events),
  populations treated as known). No interval is given when either group has no events.

The intervals above assume events are independent (Poisson). Where a group's monthly
counts vary more than that beyond chance (`metrics.analyses.standardisation.monthly_dispersion`:
Pearson X^2 / df against a smooth trend, tested at 5%), every interval built on the
group's counts is widened by sqrt(phi) (the rate's about the rate; phi added to the
group's term of the log ratio's variance), and the page says so
(`metrics.analyses.equity_shown.dispersion_sentence`).

Allowing for age: for every dimension but age itself, the groups' directly
age-standardised rates (2013 European Standard Population, Dobson intervals) and the
ratios of standardised rates, from the events and person-years by group and age band
(`age_specific_cells`: the metric's own queries grouped by age band too). Methods,
sources and the aggregation of the standard's five-year bands are in
`metrics.analyses.standardisation`.

A group without population figures (ethnicity "Not stated", a blank "Not recorded") has
events but no rate; it is listed with the reason. The latest provisional months of the
source (still filling up) are left out unless asked for, as in the SPC and impact
readings.

Disclosure: this analysis works on exact numbers; every figure readers see goes
through `metrics.analyses.equity_shown`, which says how.

Where things are (imports run one way, down this list):

- `metrics.analyses.equity_shown`: words, figures as shown (small-number suppression),
  tables, chart data and alt texts;
- `metrics.analyses.equity` (this module): the analysis on the board: which metrics and
  dimensions, reading the series and populations, provisional months, events and
  person-years by age band, and `equity_rates` putting it together into an
  `EquityResult`;
- `metrics.analyses.equity_stats`: the arithmetic on frames of counts: pooled rates,
  ratios and their intervals, yearly ratios, overdispersion, age-standardised rates;
- `metrics.analyses.standardisation`: the statistics underneath (ESP2013, DSR, Dobson,
  dispersion factor).

The acute bed-day share (a ratio metric, not a rate by group) is in
`metrics.analyses.bed_share`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlglot import exp

from metrics.analyses.equity_stats import (
    CONFIDENCE,
    RateTable,
    StandardisedTable,
    dispersion_factors,
    group_dispersion,
    pool_rates,
    standardise,
    yearly_rate_ratios,
)
from metrics.analyses.standardisation import Dispersion, StandardisationError, band_weights
from metrics.board import Board
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import MetricDef
from metrics.sql.backends import QueryError
from metrics.sql.compiler import (
    GROUP,
    MONTH,
    NOT_RECORDED,
    group_label,
    population_plan,
    series_plan,
)
from metrics.sql.fragments import FragmentError
from metrics.sql.series import SeriesError, SeriesQuery

DIMENSIONS = ("ethnicity", "age_band", "gender", "lcn")
DIMENSION_TITLES = {
    "ethnicity": "Ethnicity",
    "age_band": "Age band",
    "gender": "Gender",
    "lcn": "Neighbourhood (LCN)",
}


class EquityError(ValueError):
    """An equity analysis cannot be produced; the message is for readers."""


@dataclass(frozen=True)
class EquityResult:
    """Rates and ratios for one rate metric by one dimension over the pooled months."""

    metric: MetricDef
    dimension: str
    rates: RateTable
    yearly: pd.DataFrame  # yearly_rate_ratios(): one row per financial year x group
    lcn: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The monthly series pooled (month, group, numerator, denominator): the dispersion
    # factors as shown are measured on its counts as shown. None: no widening.
    frame: pd.DataFrame | None = None
    dispersion: Mapping[str, Dispersion] = field(default_factory=dict)  # exact counts
    # Events and person-years by group and age band, pooled over the months (exact), and
    # the age-standardised rates from them; `standardise_note` says why there are none.
    age_cells: pd.DataFrame | None = None
    standardised: StandardisedTable | None = None
    standardise_note: str = ""
    # Figures as shown, worked out once per policy (the page asks for them many times).
    _shown: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def per(self) -> float:
        return self.rates.per

    @property
    def reference(self) -> str | None:
        return self.rates.reference

    @property
    def period_text(self) -> str:
        """'April 2019 and January 2025' (the months actually pooled)."""
        if not self.rates.months:
            return ""
        first, last = self.rates.months[0], self.rates.months[-1]
        return f"{first:%B %Y} and {last:%B %Y}"


# --------------------------------------------------------------------------- age bands

AGE_COLUMN = "age_band"


def _next_month(month: dt.date) -> dt.date:
    return month.replace(day=1) + relativedelta(months=1)


def age_specific_cells(
    board: Board,
    metric: MetricDef,
    dimension: str,
    frame: pd.DataFrame,
    *,
    lcn: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """Events and person-years by group and age band over the months `frame` pools.

    The metric's own series query, grouped by age band as well (the same checked
    fragments, period and neighbourhood rule), and its population query likewise. A
    (month, group) counts where the series has a count and a population for it, as in
    `pool_rates`; person-years add a twelfth of the age band's mid-year population for
    each such month. Returns the cells (group, age_band, events, person_years; every
    age band of the population for every group) and the number of events whose age is
    not recorded (left out). Raises EquityError when the data have no age bands.
    """
    sources = board.catalogue.sources
    assert metric.rate is not None
    source, population = sources[metric.source], sources[metric.rate.population]
    if AGE_COLUMN not in source.columns or AGE_COLUMN not in population.columns:
        raise EquityError(
            f"{source.title} or its population is not recorded by age band, so rates "
            "cannot be age-standardised"
        )
    known = frame[
        frame["numerator"].notna() & frame["denominator"].notna() & (frame["denominator"] > 0)
    ]
    if known.empty:
        raise EquityError("no data in the selected period")
    lcn_column = board.catalogue.board.lcn_column
    recorded = not lcn or board.lcn_recorded(metric.id)
    first = pd.Timestamp(known["month"].min()).date()
    last = pd.Timestamp(known["month"].max()).date()
    age = group_label(AGE_COLUMN)
    try:
        plan = series_plan(
            metric,
            sources,
            breakdown=dimension,
            start=first,
            end_exclusive=_next_month(last),
            lcn=lcn,
            lcn_column=lcn_column,
            lcn_recorded=recorded,
        )
        events_query = plan.aggregate.copy()
        events_query = events_query.select(
            exp.alias_(age.copy(), "__age", quoted=True), copy=False
        ).group_by(age.copy(), copy=False)
        counted = board.warehouse.select(events_query, label=f"equity: ages for '{metric.id}'")
        lcn_applies = (
            lcn is not None
            and recorded
            and lcn_column in source.columns
            and lcn_column in population.columns
        )
        population_query = population_plan(
            metric,
            sources,
            breakdown=dimension,
            lcn=lcn if lcn_applies else None,
            lcn_column=lcn_column,
        )
        population_query = population_query.select(
            exp.alias_(age.copy(), "__age", quoted=True), copy=False
        ).group_by(age.copy(), copy=False)
        people = board.warehouse.select(
            population_query, label=f"equity: population by age for '{metric.id}'"
        )
    except (QueryError, FragmentError) as exc:
        raise EquityError(f"age bands could not be read: {exc}") from exc

    pairs = zip(known["month"], known["group"], strict=True)
    pooled = {(pd.Timestamp(m), str(g)) for m, g in pairs}
    counted = counted.assign(__m=pd.to_datetime(counted[MONTH]), __g=counted[GROUP].astype(str))
    inside = [(m, g) in pooled for m, g in zip(counted["__m"], counted["__g"], strict=True)]
    counted = counted[inside]
    people = people.assign(__g=people[GROUP].astype(str))
    ages = sorted(set(people["__age"]) - {NOT_RECORDED})
    unknown = counted[~counted["__age"].isin(ages)]
    left_out = int(pd.to_numeric(unknown["__num"], errors="coerce").fillna(0).sum())
    events = (
        counted[counted["__age"].isin(ages)]
        .assign(__num=lambda f: pd.to_numeric(f["__num"], errors="coerce").fillna(0.0))
        .groupby(["__g", "__age"])["__num"]
        .sum()
    )
    # Months pooled per group, by calendar year: person-years = population x months / 12.
    months_by_year = (
        known.assign(__year=pd.to_datetime(known["month"]).dt.year, __g=known["group"].astype(str))
        .groupby(["__g", "__year"])
        .size()
    )
    lookup = people.set_index(["__g", "__age", "__year"])["__population"]
    rows = []
    for group in sorted({g for _, g in pooled}):
        for band in ages:
            years = 0.0
            if group in months_by_year.index.get_level_values(0):
                for year, months in months_by_year.loc[group].items():
                    value = lookup.get((group, band, int(year)), math.nan)
                    if pd.notna(value):
                        years += float(value) * months / 12
            rows.append(
                {
                    "group": group,
                    "age_band": band,
                    "events": float(events.get((group, band), 0.0)),
                    "person_years": years,
                }
            )
    cells = pd.DataFrame(rows, columns=["group", "age_band", "events", "person_years"])
    return cells, left_out


# --------------------------------------------------------------------------- the board


def equity_metrics(catalogue: Catalogue) -> list[MetricDef]:
    """Live rate metrics broken down by at least one equity dimension."""
    return [
        m
        for m in catalogue.metrics.values()
        if m.measure == "rate" and m.status != "retired" and set(m.breakdowns) & set(DIMENSIONS)
    ]


def metric_dimensions(metric: MetricDef) -> list[str]:
    """The equity dimensions `metric` is broken down by, in the standard order."""
    return [d for d in DIMENSIONS if d in metric.breakdowns]


def provisional_start(board: Board, metric: MetricDef) -> dt.date | None:
    """First provisional month of the metric's source (None when none are provisional)."""
    count = board.catalogue.sources[metric.source].provisional_months
    loaded = board.warehouse.loaded.get(metric.source)
    if not count or loaded is None or loaded.last_month is None:
        return None
    return loaded.last_month - relativedelta(months=count - 1)


def equity_rates(
    board: Board,
    metric_id: str,
    dimension: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lcn: str | None = None,
    reference: str | None = None,
    include_provisional: bool = False,
    confidence: float = CONFIDENCE,
) -> EquityResult:
    """Rates per 100,000 a year, CIs and rate ratios for `metric_id` by `dimension`.

    Raises EquityError with a reader-facing reason when the analysis is impossible.
    """
    metric = board.catalogue.metrics.get(metric_id)
    if metric is None:
        raise EquityError(f"there is no metric called '{metric_id}'")
    if metric.measure != "rate" or metric.rate is None:
        raise EquityError(f"'{metric.title}' is not a rate per population")
    if dimension not in metric.breakdowns:
        raise EquityError(f"'{metric.title}' is not broken down by {dimension.replace('_', ' ')}")
    try:
        series = board.series(
            metric_id, SeriesQuery(breakdown=dimension, start=start, end=end, lcn=lcn)
        )
    except SeriesError as exc:
        raise EquityError(str(exc)) from exc
    frame = series.frame
    notes = list(series.notes)
    # Groups with a population but no events are added with zero events. No note names
    # them: under mhsds a zero is itself a suppressed figure.
    frame = _with_groups_without_events(board, metric, dimension, lcn, frame)
    cut = provisional_start(board, metric)
    if cut is not None and not include_provisional:
        late = frame["month"] >= pd.Timestamp(cut)
        if frame.loc[late, "numerator"].notna().any():
            frame = frame[~late]
            notes.append(
                f"Months from {cut:%B %Y} are provisional (still filling up) and are left out."
            )
    per = metric.rate.per
    dispersion = group_dispersion(frame)
    factors = dispersion_factors(dispersion)
    rates = pool_rates(
        frame,
        per=per,
        reference=reference,
        dimension=dimension,
        confidence=confidence,
        dispersion=factors,
    )
    if not rates.months:
        raise EquityError("no data in the selected period")
    if reference and reference != rates.reference and rates.reference:
        notes.append(
            f"'{reference}' has no rate to compare against, so groups are compared with "
            f"{rates.reference} instead."
        )
    without = [g.group for g in rates.groups if g.rate is None]
    if without:
        notes.append(
            "No rate for "
            + ", ".join(f"'{g}'" for g in without)
            + ": the population estimates have no such group. Their events are still counted."
        )
    yearly = yearly_rate_ratios(
        frame,
        per=per,
        reference=rates.reference,
        dimension=dimension,
        confidence=confidence,
        dispersion=factors,
    )
    cells, standardised, why_not = None, None, ""
    if dimension == AGE_COLUMN:
        why_not = "the groups are age bands, so there is nothing to standardise for"
    else:
        try:
            cells, left_out = age_specific_cells(board, metric, dimension, frame, lcn=lcn)
            weights = band_weights(sorted(set(cells["age_band"])))
        except (EquityError, StandardisationError) as exc:
            why_not = str(exc)
        else:
            if left_out:
                notes.append(
                    "Some events have no age band recorded and are left out of the "
                    "age-standardised rates."
                )
            standardised = standardise(
                cells,
                weights=weights,
                groups=[g.group for g in rates.with_rates],
                reference=rates.reference,
                per=per,
                confidence=confidence,
                dispersion=factors,
            )
    return EquityResult(
        metric,
        dimension,
        rates,
        yearly,
        lcn=lcn,
        notes=tuple(notes),
        frame=frame[["month", "group", "numerator", "denominator"]].reset_index(drop=True),
        dispersion=dispersion,
        age_cells=cells,
        standardised=standardised,
        standardise_note=why_not,
    )


def population_by_year(
    board: Board, metric: MetricDef, dimension: str, lcn: str | None = None
) -> pd.DataFrame | None:
    """Mid-year population of the metric's denominator by year and group (year, group,
    population), filtered as the series filters it; None when it cannot be read."""
    rate = metric.rate
    if rate is None or rate.population not in board.warehouse.loaded:
        return None
    source = board.catalogue.sources[rate.population]
    if dimension not in source.columns:
        return None
    lcn_column = board.catalogue.board.lcn_column
    events_source = board.catalogue.sources[metric.source]
    # The same rule as the series: a neighbourhood filter applies to the population only
    # when the events themselves are recorded by neighbourhood.
    recorded = (
        lcn is not None
        and lcn_column in source.columns
        and lcn_column in events_source.columns
        and board.lcn_recorded(metric.id)
    )
    try:
        query = population_plan(
            metric,
            board.catalogue.sources,
            breakdown=dimension,
            lcn=lcn if recorded else None,
            lcn_column=lcn_column,
        )
        frame = board.warehouse.select(query, label=f"equity: population for '{metric.id}'")
    except (QueryError, FragmentError):  # without it, no groups are added
        return None
    frame = frame.rename(columns={"__year": "year", "__grp": "group", "__population": "population"})
    # Blank groups in the estimates are not a group a rate can be given for.
    frame = frame[frame["group"] != NOT_RECORDED].reset_index(drop=True)
    frame["group"] = frame["group"].astype(str)
    return frame


def _with_groups_without_events(
    board: Board, metric: MetricDef, dimension: str, lcn: str | None, frame: pd.DataFrame
) -> pd.DataFrame:
    """Add groups that have a population but no events in the period.

    A series lists only the groups that occur among the events, so a group with no events
    would silently vanish from the table; it is added with 0 events in every covered month
    (a month with a known count for any group) and its population for that year.
    """
    population = population_by_year(board, metric, dimension, lcn)
    if population is None or frame.empty:
        return frame
    present = set(frame["group"])
    missing = sorted(set(population["group"]) - present)
    covered = sorted(frame.loc[frame["numerator"].notna(), "month"].unique())
    if not missing or not covered:
        return frame
    lookup = population.set_index(["year", "group"])["population"]
    rows = [
        {
            "month": month,
            "group": group,
            "numerator": 0.0,
            "denominator": float(lookup.get((pd.Timestamp(month).year, group), math.nan)),
            "n": 0,
        }
        for group in missing
        for month in covered
    ]
    added = pd.DataFrame(rows)
    added["value"] = 0.0 * added["denominator"]  # 0 where the population is known
    added = added.astype({"group": frame["group"].dtype})
    # Any other column the series carries (such as the rows a filter selects) counts
    # something that did not happen: zero.
    added = added.reindex(columns=frame.columns, fill_value=0)
    combined = pd.concat([frame, added], ignore_index=True)
    return combined.sort_values(["month", "group"], ignore_index=True)
