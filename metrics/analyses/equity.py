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
group's term of the log ratio's variance), and the page says so (`dispersion_sentence`).

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

Disclosure: the analysis (`equity_rates`, `pool_rates`, `yearly_rate_ratios`) works on
exact numbers. Everything shown goes through `shown_rates` / `shown_yearly` under the
page's policy: each group's event count is controlled (`metrics.analyses.disclosure`), and its
rate, Garwood interval, rate ratio and ratio interval are recomputed from the counts as
shown (rounded), never from the exact ones. Otherwise rate x person-years / 100,000 beside
a rounded count would give the exact count back (a count shown as 15 with a rate from 17
events). A group's rate, interval and ratio are hidden when its count is suppressed, and
ratios too when the reference group's count is. Person-years come from published
population estimates and are not controlled. Likewise `shown_standardised` works from
each group x age band count as shown (no standardised rate where one is suppressed) and
`shown_dispersion` from each month's count as shown (not judged where a month is
suppressed; the variance rounding to 5 adds is taken off), so every figure shown can be
computed from controlled counts alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from scipy.stats import chi2
from sqlglot import exp

from metrics.analyses.disclosure import (
    MISSING,
    SUPPRESSED,
    Policy,
    control_count,
    control_ratio,
    count_as_shown,
)
from metrics.analyses.standardisation import (
    CRUDE,
    DSR,
    NOT_JUDGED,
    ROUNDING_VARIANCE_TO_5,
    STANDARD_NAME,
    STANDARDISED,
    Dispersion,
    StandardisationError,
    band_weights,
    directly_standardised_rate,
    dsr_ratio,
    monthly_dispersion,
    widen,
)
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
PREFERRED_REFERENCE = {"ethnicity": "White"}  # the usual comparator in NHS equality reports
CONFIDENCE = 0.95
NO_POPULATION = "no population figures for this group, so no rate"
BED_SHARE_METRIC = "black_bed_day_share"
BED_SHARE_GROUP = "Black"
BED_SHARE_SERIES = "Share of acute bed days"
POPULATION_SHARE_SERIES = "Share of the adult population"


class EquityError(ValueError):
    """An equity analysis cannot be produced; the message is for readers."""


@dataclass(frozen=True)
class GroupRate:
    """One group's pooled events, person-years, rate and rate ratio (exact figures).

    Rates are per `RateTable.per` (e.g. 100,000) people per year.
    """

    group: str
    events: float
    person_years: float
    rate: float | None = None
    rate_lower: float | None = None
    rate_upper: float | None = None
    rate_ratio: float | None = None
    ratio_lower: float | None = None
    ratio_upper: float | None = None
    is_reference: bool = False
    reason: str = ""  # why there is no rate (or no interval)
    suppressed: bool = False  # as shown: the event count is suppressed (so is all else)
    ratio_suppressed: bool = False  # as shown: the reference count is, so the ratio is
    dispersion: float = 1.0  # variance factor the intervals are widened by (1: Poisson)

    @property
    def widened(self) -> bool:
        """Whether the intervals are widened for month-to-month variation."""
        return self.dispersion > 1

    @property
    def ratio_excludes_one(self) -> bool | None:
        """Whether the 95% CI of the rate ratio excludes 1 (None: no interval)."""
        if self.ratio_lower is None or self.ratio_upper is None:
            return None
        return self.ratio_lower > 1 or self.ratio_upper < 1


@dataclass(frozen=True)
class RateTable:
    """Pooled rates per group over `months`, and ratios against `reference`."""

    groups: tuple[GroupRate, ...]
    reference: str | None
    per: float = 100_000
    months: tuple[dt.date, ...] = ()
    confidence: float = CONFIDENCE

    def group(self, name: str) -> GroupRate:
        for row in self.groups:
            if row.group == name:
                return row
        raise KeyError(name)

    @property
    def with_rates(self) -> list[GroupRate]:
        return [g for g in self.groups if g.rate is not None]

    def to_frame(self) -> pd.DataFrame:
        """Exact figures, one row per group (for downloads by analysts and tests)."""
        columns = [f for f in GroupRate.__dataclass_fields__]
        frame = pd.DataFrame(
            [[getattr(g, c) for c in columns] for g in self.groups], columns=columns
        )
        frame["ratio_excludes_one"] = [g.ratio_excludes_one for g in self.groups]
        return frame


@dataclass(frozen=True)
class StandardisedRate:
    """One group's directly age-standardised rate (ESP2013) and its ratio to the
    reference group's, with intervals (Dobson; log scale for the ratio), widened by the
    group's dispersion factor where its monthly counts vary more than Poisson."""

    group: str
    events: float  # events in all age bands (Dobson's O); as shown under a policy
    rate: float | None = None
    lower: float | None = None
    upper: float | None = None
    ratio: float | None = None
    ratio_lower: float | None = None
    ratio_upper: float | None = None
    is_reference: bool = False
    variance: float = math.nan  # var(DSR) per person-year, before any widening
    dispersion: float = 1.0
    reason: str = ""
    suppressed: bool = False  # as shown: an age band's count is suppressed
    ratio_suppressed: bool = False  # as shown: the reference group's is

    @property
    def ratio_excludes_one(self) -> bool | None:
        if self.ratio_lower is None or self.ratio_upper is None:
            return None
        return self.ratio_lower > 1 or self.ratio_upper < 1


@dataclass(frozen=True)
class StandardisedTable:
    """Age-standardised rates per group against `reference`, and the standard used
    (`weights`: ESP2013 population for each of the project's age bands)."""

    groups: tuple[StandardisedRate, ...]
    reference: str | None
    weights: Mapping[str, float]
    per: float = 100_000
    confidence: float = CONFIDENCE

    def group(self, name: str) -> StandardisedRate:
        for row in self.groups:
            if row.group == name:
                return row
        raise KeyError(name)


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


# --------------------------------------------------------------------------- statistics


def poisson_rate_ci(
    events: float, person_years: float, *, per: float = 100_000, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Exact (Garwood) Poisson interval for a rate per `per` people per year."""
    if person_years <= 0:
        raise ValueError("person-years must be positive")
    alpha = 1 - confidence
    lower = chi2.ppf(alpha / 2, 2 * events) / 2 if events > 0 else 0.0
    upper = chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    return float(lower) * per / person_years, float(upper) * per / person_years


def rate_ratio_ci(
    events: float,
    person_years: float,
    reference_events: float,
    reference_person_years: float,
    *,
    confidence: float = CONFIDENCE,
    dispersion: float = 1.0,
    reference_dispersion: float = 1.0,
) -> tuple[float | None, float | None, float | None]:
    """(rate ratio, lower, upper): delta-method interval on the log scale.

    SE(log RR) = sqrt(phi/events + phi_ref/reference_events), where phi and phi_ref are
    the groups' dispersion factors where their intervals are widened for overdispersion
    (1 otherwise: Poisson). The ratio is None when the reference group has no events or
    either group no person-years; the interval is None when either group has no events
    (the log scale has no room for a zero).
    """
    if person_years <= 0 or reference_person_years <= 0 or reference_events <= 0:
        return None, None, None
    ratio = (events / person_years) / (reference_events / reference_person_years)
    if events <= 0:
        return ratio, None, None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    spread = z * math.sqrt(dispersion / events + reference_dispersion / reference_events)
    return ratio, ratio * math.exp(-spread), ratio * math.exp(spread)


def default_reference(dimension: str | None, person_years: dict[str, float]) -> str | None:
    """White for ethnicity (when present), otherwise the group with most person-years."""
    candidates = {g: py for g, py in person_years.items() if py > 0}
    if not candidates:
        return None
    preferred = PREFERRED_REFERENCE.get(dimension or "")
    if preferred in candidates:
        return preferred
    return max(sorted(candidates), key=lambda g: candidates[g])


def pool_rates(
    frame: pd.DataFrame,
    *,
    per: float = 100_000,
    reference: str | None = None,
    dimension: str | None = None,
    confidence: float = CONFIDENCE,
    dispersion: Mapping[str, float] | None = None,
) -> RateTable:
    """Pool a broken-down rate series (month, group, numerator, denominator) per group.

    `numerator` is the month's event count and `denominator` the group's mid-year
    population. A month counts for a group where both are known; person-years are the
    sum of population / 12 over those months. `reference` falls back to
    `default_reference` when it is missing or has no population. `dispersion` maps a
    group to the variance factor its intervals are widened by (phi; missing: 1).
    """
    factors = dispersion or {}
    known = frame[frame["numerator"].notna()]
    months = tuple(pd.Timestamp(m).date() for m in sorted(known["month"].unique()))
    pooled: dict[str, tuple[float, float]] = {}
    for group, rows in known.groupby("group", sort=True):
        with_population = rows[rows["denominator"].notna() & (rows["denominator"] > 0)]
        if with_population.empty:
            pooled[str(group)] = (float(rows["numerator"].sum()), 0.0)
        else:
            pooled[str(group)] = (
                float(with_population["numerator"].sum()),
                float(with_population["denominator"].sum()) / 12,
            )
    person_years = {g: py for g, (_, py) in pooled.items()}
    if reference not in person_years or person_years[reference] <= 0:
        reference = default_reference(dimension, person_years)
    ref_events, ref_py = pooled[reference] if reference else (0.0, 0.0)

    rows_out = [
        _group_rate(
            group,
            events,
            py,
            reference=reference,
            reference_events=ref_events,
            reference_person_years=ref_py,
            per=per,
            confidence=confidence,
            dispersion=factors.get(group, 1.0),
            reference_dispersion=factors.get(reference, 1.0) if reference else 1.0,
        )
        for group, (events, py) in pooled.items()
    ]
    # Groups with rates first (in their natural order), then those without a population.
    rows_out.sort(key=lambda g: (g.rate is None, g.group))
    return RateTable(tuple(rows_out), reference, per, months, confidence)


def _group_rate(
    group: str,
    events: float,
    person_years: float,
    *,
    reference: str | None,
    reference_events: float,
    reference_person_years: float,
    per: float,
    confidence: float,
    dispersion: float = 1.0,
    reference_dispersion: float = 1.0,
) -> GroupRate:
    """One group's rate, Garwood interval and rate ratio against `reference`.

    The same arithmetic serves the exact analysis and the figures as shown (where
    `events` and `reference_events` are the controlled counts, and the dispersion
    factors come from the monthly counts as shown). A dispersion factor phi > 1 widens
    the rate's interval by sqrt(phi) about the rate and adds phi to the ratio's variance.
    """
    if person_years <= 0:
        return GroupRate(group, events, 0.0, reason=NO_POPULATION)
    lower, upper = poisson_rate_ci(events, person_years, per=per, confidence=confidence)
    rate = events / person_years * per
    if dispersion > 1:
        lower, upper = widen(rate, lower, upper, math.sqrt(dispersion))
    if group == reference:
        return GroupRate(
            group,
            events,
            person_years,
            rate,
            lower,
            upper,
            1.0,
            is_reference=True,
            dispersion=dispersion,
        )
    ratio, r_lower, r_upper = rate_ratio_ci(
        events,
        person_years,
        reference_events,
        reference_person_years,
        confidence=confidence,
        dispersion=dispersion,
        reference_dispersion=reference_dispersion,
    )
    reason = ""
    if ratio is None and reference is not None:
        reason = f"no {reference} events to compare against"
    elif ratio is not None and r_lower is None:
        reason = "no events, so no interval for the rate ratio"
    return GroupRate(
        group,
        events,
        person_years,
        rate,
        lower,
        upper,
        ratio,
        r_lower,
        r_upper,
        reason=reason,
        dispersion=dispersion,
    )


def financial_year(month: dt.date | pd.Timestamp) -> str:
    """The NHS financial year (April to March) holding `month`, e.g. '2019/20'."""
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def yearly_rate_ratios(
    frame: pd.DataFrame,
    *,
    per: float = 100_000,
    reference: str | None = None,
    dimension: str | None = None,
    confidence: float = CONFIDENCE,
    dispersion: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Pooled rates and rate ratios per financial year (April to March) and group.

    `dispersion` widens each group's intervals as in `pool_rates` (the factor measured
    over the whole period).

    Columns: fin_year, group, events, person_years, rate, rate_lower, rate_upper,
    rate_ratio, ratio_lower, ratio_upper, is_reference, reference, reference_events,
    reference_person_years, months (pooled in that year) and complete (all 12 months).
    Exact figures: pages show them through `shown_yearly`.
    """
    columns = [
        "fin_year",
        "group",
        "events",
        "person_years",
        "rate",
        "rate_lower",
        "rate_upper",
        "rate_ratio",
        "ratio_lower",
        "ratio_upper",
        "is_reference",
        "reference",
        "reference_events",
        "reference_person_years",
        "months",
        "complete",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    labelled = frame.assign(fin_year=[financial_year(m) for m in frame["month"]])
    records = []
    for year, rows in labelled.groupby("fin_year", sort=True):
        table = pool_rates(
            rows,
            per=per,
            reference=reference,
            dimension=dimension,
            confidence=confidence,
            dispersion=dispersion,
        )
        if not table.months:
            continue
        ref_events = table.group(table.reference).events if table.reference else math.nan
        ref_py = table.group(table.reference).person_years if table.reference else math.nan
        for g in table.with_rates:
            records.append(
                {
                    "fin_year": year,
                    "group": g.group,
                    "events": g.events,
                    "person_years": g.person_years,
                    "rate": g.rate,
                    "rate_lower": g.rate_lower,
                    "rate_upper": g.rate_upper,
                    "rate_ratio": g.rate_ratio,
                    "ratio_lower": g.ratio_lower,
                    "ratio_upper": g.ratio_upper,
                    "is_reference": g.is_reference,
                    "reference": table.reference,
                    "reference_events": ref_events,
                    "reference_person_years": ref_py,
                    "months": len(table.months),
                    "complete": len(table.months) == 12,
                }
            )
    out = pd.DataFrame.from_records(records, columns=columns)
    for column in ("rate", "rate_lower", "rate_upper", "rate_ratio", "ratio_lower", "ratio_upper"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


# --------------------------------------------------------------------------- overdispersion

SMALL_MONTHS = "some months have small numbers, so their variation cannot be checked"


def _month_numbers(months: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(months)
    return (stamps.dt.year * 12 + stamps.dt.month).to_numpy(dtype=float)


def group_dispersion(frame: pd.DataFrame, policy: Policy | None = None) -> dict[str, Dispersion]:
    """Each group's dispersion factor from its monthly counts (`metrics.analyses.standardisation.
    monthly_dispersion`), with person-years (population / 12) as exposure.

    Under a `policy` that applies, the counts are those shown (`count_as_shown`): a group
    with any suppressed month is not judged, and the variance that rounding to 5 adds is
    taken off. Exact counts otherwise.
    """
    if frame is None or frame.empty:
        return {}
    known = frame[
        frame["numerator"].notna() & frame["denominator"].notna() & (frame["denominator"] > 0)
    ]
    controlled = policy is not None and policy.applies()
    out: dict[str, Dispersion] = {}
    for group, rows in known.groupby("group", sort=True):
        counts = rows["numerator"].to_numpy(dtype=float)
        rounding: np.ndarray | float = 0.0
        if controlled:
            assert policy is not None
            shown = [count_as_shown(float(c), policy) for c in counts]
            if any(v is None for v in shown):
                out[str(group)] = dataclasses.replace(
                    NOT_JUDGED, months=len(rows), reason=SMALL_MONTHS
                )
                continue
            exact_zero = np.array([v == 0 for v in shown])
            counts = np.array(shown, dtype=float)
            # A 0 shown under nhs_secondary_care is exact; other shown counts are rounded.
            rounding = np.where(exact_zero, 0.0, ROUNDING_VARIANCE_TO_5)
        out[str(group)] = monthly_dispersion(
            counts,
            rows["denominator"].to_numpy(dtype=float) / 12,
            _month_numbers(rows["month"]),
            rounding_variance=rounding,
        )
    return out


def dispersion_factors(dispersion: Mapping[str, Dispersion]) -> dict[str, float]:
    """Variance factors to widen by: phi where a group's intervals are widened, else 1."""
    return {group: d.variance_factor for group, d in dispersion.items()}


# --------------------------------------------------------------------------- age standardisation

AGE_COLUMN = "age_band"
SMALL_AGE_BAND = "an age band has too few events to show: no standardised rate"


def standardise(
    cells: pd.DataFrame,
    *,
    weights: Mapping[str, float],
    groups: Sequence[str],
    reference: str | None,
    per: float = 100_000,
    confidence: float = CONFIDENCE,
    dispersion: Mapping[str, float] | None = None,
    suppressed: Sequence[str] = (),
) -> StandardisedTable:
    """Directly age-standardised rates of `groups` from `cells` (group, age_band, events,
    person_years), with Dobson intervals and ratios against `reference`.

    `dispersion` maps a group to the variance factor its intervals are widened by;
    `suppressed` lists groups whose age-band counts cannot be shown (figures as shown:
    no rate, and no ratio against them).
    """
    factors = dispersion or {}
    bands = list(weights)
    standard = [weights[b] for b in bands]
    hidden = set(suppressed)
    dsrs: dict[str, DSR] = {}
    for group in groups:
        if group in hidden:
            continue
        mine = cells[cells["group"] == group].groupby("age_band")[["events", "person_years"]].sum()
        events = [float(mine["events"].get(b, 0.0)) for b in bands]
        years = [float(mine["person_years"].get(b, 0.0)) for b in bands]
        dsrs[group] = directly_standardised_rate(
            events, years, standard, per=per, confidence=confidence
        )
    reference_dsr = dsrs.get(reference) if reference is not None else None
    rows: list[StandardisedRate] = []
    for group in groups:
        if group in hidden:
            rows.append(
                StandardisedRate(
                    group,
                    math.nan,
                    is_reference=group == reference,
                    reason=SMALL_AGE_BAND,
                    suppressed=True,
                )
            )
            continue
        dsr = dsrs[group]
        phi = factors.get(group, 1.0)
        lower, upper = dsr.lower, dsr.upper
        if dsr.rate is not None and lower is not None and upper is not None and phi > 1:
            lower, upper = widen(dsr.rate, lower, upper, math.sqrt(phi))
        row = StandardisedRate(
            group,
            dsr.events,
            dsr.rate,
            lower,
            upper,
            is_reference=group == reference,
            variance=dsr.variance,
            dispersion=phi,
            reason=dsr.reason,
        )
        if group == reference:
            row = dataclasses.replace(row, ratio=1.0 if dsr.rate else None)
        elif reference is not None and reference in hidden:
            row = dataclasses.replace(
                row,
                reason=row.reason or f"{reference} numbers too small: ratio not shown",
                ratio_suppressed=True,
            )
        elif reference_dsr is not None and dsr.rate is not None:
            ratio, low, high = dsr_ratio(
                dsr,
                reference_dsr,
                group_dispersion=phi,
                reference_dispersion=factors.get(reference, 1.0),
                confidence=confidence,
            )
            reason = row.reason
            if ratio is None:
                reason = reason or f"no standardised rate for {reference} to compare against"
            row = dataclasses.replace(
                row, ratio=ratio, ratio_lower=low, ratio_upper=high, reason=reason
            )
        rows.append(row)
    return StandardisedTable(tuple(rows), reference, dict(weights), per, confidence)


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


# --------------------------------------------------------------------------- words


def group_phrase(dimension: str, group: str) -> str:
    """How a group is named in a sentence: 'Black adults', 'adults aged 18-24', 'women'."""
    if dimension == "ethnicity":
        special = {
            "Other": "adults from other ethnic groups",
            "Mixed": "adults of mixed ethnicity",
        }
        return special.get(group, f"{group} adults")
    if dimension == "age_band":
        return f"adults aged {group}"
    if dimension == "gender":
        return {"Female": "women", "Male": "men"}.get(group, f"adults recorded as {group}")
    if dimension == "lcn":
        return f"adults in the {group} neighbourhood"
    return group


def event_noun(metric: MetricDef) -> str:
    """'detentions' from 'Detentions per 100,000 adults'."""
    noun = metric.title.split(" per ")[0].strip()
    return noun[:1].lower() + noun[1:]


def _ratio_text(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def group_suppressed(result: EquityResult, group: str, policy: Policy) -> bool:
    """Whether `group`'s event count is suppressed under `policy` (a breakdown cell)."""
    return control_count(result.rates.group(group).events, policy).suppressed


def ratio_suppressed(result: EquityResult, group: str, policy: Policy) -> bool:
    """A ratio is hidden when either its group's or the reference's count is suppressed."""
    reference = result.reference
    return group_suppressed(result, group, policy) or (
        reference is not None and group_suppressed(result, reference, policy)
    )


# --------------------------------------------------------------------------- as shown


SMALL_NUMBER_NOTE = "small number: rate and ratio not shown"


def shown_rates(result: EquityResult, policy: Policy) -> RateTable:
    """The rate table as readers see it under `policy` (every page, chart and download).

    Group order, person-years and the reference are those of the analysis; each group's
    `events` is its count as shown (rounded) and its rate, interval, rate ratio and ratio
    interval are recomputed from the counts as shown, with the same arithmetic as the
    analysis. A group whose count is suppressed has NaN events, no rate and
    `suppressed`; a ratio against a suppressed reference count is None with
    `ratio_suppressed`. Under a policy that does not apply, the exact table.
    """
    if not policy.applies():
        return result.rates
    exact = result.rates
    reference = exact.reference
    factors = dispersion_factors(shown_dispersion(result, policy))
    ref_phi = factors.get(reference, 1.0) if reference is not None else 1.0
    shown = {g.group: count_as_shown(g.events, policy) for g in exact.groups}
    ref_events = shown.get(reference) if reference is not None else None
    ref_py = exact.group(reference).person_years if reference is not None else 0.0
    rows: list[GroupRate] = []
    for g in exact.groups:
        events = shown[g.group]
        if events is None:
            rows.append(
                GroupRate(
                    g.group,
                    math.nan,
                    g.person_years,
                    is_reference=g.is_reference,
                    reason=SMALL_NUMBER_NOTE,
                    suppressed=True,
                )
            )
            continue
        if reference is not None and g.group != reference and ref_events is None:
            # The reference count is suppressed: the rate can be shown, the ratio cannot.
            row = _group_rate(
                g.group,
                events,
                g.person_years,
                reference=None,
                reference_events=0.0,
                reference_person_years=0.0,
                per=exact.per,
                confidence=exact.confidence,
                dispersion=factors.get(g.group, 1.0),
            )
            if row.rate is not None:
                row = dataclasses.replace(
                    row,
                    rate_ratio=None,
                    ratio_lower=None,
                    ratio_upper=None,
                    reason=f"{reference} count too small: ratio not shown",
                    ratio_suppressed=True,
                )
            rows.append(row)
            continue
        rows.append(
            _group_rate(
                g.group,
                events,
                g.person_years,
                reference=reference,
                reference_events=ref_events or 0.0,
                reference_person_years=ref_py,
                per=exact.per,
                confidence=exact.confidence,
                dispersion=factors.get(g.group, 1.0),
                reference_dispersion=ref_phi,
            )
        )
    return RateTable(tuple(rows), reference, exact.per, exact.months, exact.confidence)


def shown_dispersion(result: EquityResult, policy: Policy) -> dict[str, Dispersion]:
    """Each group's dispersion factor as used for the figures shown under `policy`:
    measured on the monthly counts as shown (`group_dispersion`); the exact analysis's
    where the policy does not apply. Empty when the result keeps no monthly series."""
    if not policy.applies():
        return dict(result.dispersion)
    if result.frame is None:
        return {}
    key = ("dispersion", policy)
    if key not in result._shown:
        result._shown[key] = group_dispersion(result.frame, policy)
    return dict(result._shown[key])


def shown_yearly(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """`result.yearly` as shown: years where the group's or the reference's count is
    suppressed are left out; the others have events as shown and rates, intervals and
    ratios recomputed from the counts as shown. Under a policy that does not apply, the
    exact frame."""
    yearly = result.yearly
    if not policy.applies() or yearly.empty:
        return yearly.copy()
    per, confidence = result.per, result.rates.confidence
    factors = dispersion_factors(shown_dispersion(result, policy))
    records = []
    for row in yearly.to_dict("records"):
        events = count_as_shown(row["events"], policy)
        ref_events = count_as_shown(row["reference_events"], policy)
        if events is None or ref_events is None:
            continue
        shown = _group_rate(
            row["group"],
            events,
            row["person_years"],
            reference=row["reference"],
            reference_events=ref_events,
            reference_person_years=row["reference_person_years"],
            per=per,
            confidence=confidence,
            dispersion=factors.get(row["group"], 1.0),
            reference_dispersion=factors.get(row["reference"], 1.0),
        )
        records.append(
            {
                **row,
                "events": events,
                "reference_events": ref_events,
                "rate": shown.rate,
                "rate_lower": shown.rate_lower,
                "rate_upper": shown.rate_upper,
                "rate_ratio": shown.rate_ratio,
                "ratio_lower": shown.ratio_lower,
                "ratio_upper": shown.ratio_upper,
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(yearly.columns))
    for column in ("rate", "rate_lower", "rate_upper", "rate_ratio", "ratio_lower", "ratio_upper"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


def shown_standardised(result: EquityResult, policy: Policy) -> StandardisedTable | None:
    """The age-standardised rates as readers see them under `policy`.

    Worked out again from the age-band counts as shown (each group x age band pooled
    count controlled) and the dispersion factors as shown, so they can be computed from
    controlled counts alone. A group with any age band's count suppressed has no
    standardised rate (and no ratio), and nor has a ratio against such a reference.
    Under a policy that does not apply, the exact table. None without standardisation.
    """
    exact = result.standardised
    if exact is None or not policy.applies() or result.age_cells is None:
        return exact
    cells = result.age_cells.copy()
    shown = [count_as_shown(float(e), policy) for e in cells["events"]]
    cells["events"] = [math.nan if v is None else v for v in shown]
    hidden = sorted({str(g) for g, v in zip(cells["group"], shown, strict=True) if v is None})
    return standardise(
        cells,
        weights=exact.weights,
        groups=[g.group for g in exact.groups],
        reference=exact.reference,
        per=exact.per,
        confidence=exact.confidence,
        dispersion=dispersion_factors(shown_dispersion(result, policy)),
        suppressed=hidden,
    )


def standard_description(weights: Mapping[str, float]) -> str:
    """'18-24: 8,200; 25-34: 12,500; ...' (ESP2013 population per age band)."""
    return "; ".join(f"{band}: {value:,.0f}" for band, value in weights.items())


def standardised_sentence(result: EquityResult, group: str, policy: Policy) -> str:
    """The headline comparison again, allowing for age ('' when there is none)."""
    table = shown_standardised(result, policy)
    reference = result.reference
    if table is None or reference is None or group == reference:
        return ""
    try:
        row = table.group(group)
    except KeyError:
        return ""
    other = group_phrase(result.dimension, reference)
    subject = group_phrase(result.dimension, group)
    if row.suppressed or row.ratio_suppressed:
        return (
            f"Numbers in some age bands are too small to compare {subject} with {other} "
            "after allowing for age."
        )
    if row.ratio is None:
        return f"No age-standardised comparison of {subject} with {other}: {row.reason}."
    text = (
        f"Allowing for differences in age (rates standardised to the {STANDARD_NAME}), "
        f"{subject} had a rate of {event_noun(result.metric)} {_ratio_text(row.ratio)} times "
        f"that of {other}"
    )
    if row.ratio_lower is None or row.ratio_upper is None:
        return text + "."
    text += f" (95% CI {_ratio_text(row.ratio_lower)} to {_ratio_text(row.ratio_upper)})."
    if not row.ratio_excludes_one:
        text += " The interval includes 1, so the difference could be down to chance."
    return text


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def dispersion_sentence(result: EquityResult, policy: Policy) -> str:
    """In board words: whose intervals are widened because their numbers vary more from
    month to month than chance alone would give, by how much, and whose could not be
    checked ('' when nothing was checked)."""
    dispersion = shown_dispersion(result, policy)
    if not dispersion:
        return ""
    noun = event_noun(result.metric)
    widened = [(g, d) for g, d in dispersion.items() if d.widened]
    judged = [g for g, d in dispersion.items() if d.phi is not None]
    unjudged = [g for g, d in dispersion.items() if d.phi is None]
    parts = []
    if widened:
        who = _names([group_phrase(result.dimension, g) for g, _ in widened])
        by = _names([f"{100 * (d.factor - 1):.0f}%" for _, d in widened])
        parts.append(
            f"The monthly numbers of {noun} among {who} go up and down more than chance "
            f"alone would explain, so their confidence intervals have been widened to "
            f"allow for it (by {by}{' respectively' if len(widened) > 1 else ''})."
        )
    elif judged:
        parts.append(
            f"The monthly numbers of {noun} vary no more than chance would explain, so "
            "the confidence intervals are not widened."
        )
    if unjudged:
        who = _names([group_phrase(result.dimension, g) for g in unjudged])
        parts.append(
            f"For {who} the monthly numbers are too small (or too few months) to check "
            "this, so their intervals assume chance variation only."
        )
    return " ".join(parts)


def ratio_sentence(result: EquityResult, group: str, policy: Policy) -> str:
    """A plain-English sentence a board member can read aloud, with the interval."""
    reference = result.reference
    row = shown_rates(result, policy).group(group)
    subject = group_phrase(result.dimension, group)
    subject = subject[:1].upper() + subject[1:]
    if reference is None or group == reference:
        return f"{subject} are the reference group."
    other = group_phrase(result.dimension, reference)
    if ratio_suppressed(result, group, policy):
        small = [g for g in (group, reference) if group_suppressed(result, g, policy)]
        who = " and ".join(group_phrase(result.dimension, g) for g in small)
        return (
            f"The number of {event_noun(result.metric)} among {who} is too small to show "
            f"a comparison with {other}."
            if small == [group]
            else f"The number of {event_noun(result.metric)} among {who} is too small to "
            "show a comparison."
        )
    if row.rate_ratio is None:
        return f"No comparison with {other} is possible: {row.reason}."
    period = f" between {result.period_text}" if result.period_text else ""
    text = (
        f"{subject} had a rate of {event_noun(result.metric)} "
        f"{_ratio_text(row.rate_ratio)} times that of {other}"
    )
    if row.ratio_lower is None or row.ratio_upper is None:
        return f"{text}{period} ({row.reason})."
    text += f" (95% CI {_ratio_text(row.ratio_lower)} to {_ratio_text(row.ratio_upper)}){period}."
    if not row.ratio_excludes_one:
        text += " The interval includes 1, so the difference could be down to chance."
    return text


def default_comparison(result: EquityResult, policy: Policy) -> str | None:
    """The group with the highest rate ratio that can be shown (the headline comparison)."""
    shown = [
        g
        for g in shown_rates(result, policy).with_rates
        if not g.is_reference and g.rate_ratio is not None and not g.ratio_suppressed
    ]
    if not shown:
        return None
    return max(shown, key=lambda g: g.rate_ratio or 0).group


# --------------------------------------------------------------------------- tables


def _fmt(value: float | None, decimals: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:,.{decimals}f}"


def equity_table(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """The group table as readers see it (text) under `policy`.

    Counts are controlled; rates, intervals and ratios come from the counts as shown
    (`shown_rates`). A group's rate, interval and ratio are '*' when its event count is
    suppressed (and the ratio too when the reference group's count is).
    """
    per_text = f"{result.per:,.0f}"
    reference = result.reference or ""
    decimals = result.metric.decimals
    rows = []
    for exact, g in zip(result.rates.groups, shown_rates(result, policy).groups, strict=True):
        events = control_count(exact.events, policy)
        if g.person_years <= 0:
            rate = interval = ratio = ratio_interval = clear = MISSING
        elif g.suppressed:
            rate = interval = ratio = ratio_interval = clear = SUPPRESSED
        else:
            rate = _fmt(g.rate, decimals)
            interval = f"{_fmt(g.rate_lower, decimals)} to {_fmt(g.rate_upper, decimals)}"
            if g.is_reference:
                ratio, ratio_interval, clear = "1 (reference)", MISSING, MISSING
            elif g.ratio_suppressed:
                ratio = ratio_interval = clear = SUPPRESSED
            else:
                ratio = MISSING if g.rate_ratio is None else f"{g.rate_ratio:.2f}"
                ratio_interval = (
                    MISSING
                    if g.ratio_lower is None or g.ratio_upper is None
                    else f"{g.ratio_lower:.2f} to {g.ratio_upper:.2f}"
                )
                excludes = g.ratio_excludes_one
                clear = MISSING if excludes is None else ("yes" if excludes else "no")
        note = g.reason
        if g.widened and not g.suppressed:
            widened = (
                f"intervals widened by {100 * (math.sqrt(g.dispersion) - 1):.0f}% for "
                "month-to-month variation"
            )
            note = f"{note}; {widened}" if note else widened
        rows.append(
            {
                DIMENSION_TITLES.get(result.dimension, result.dimension): g.group,
                "Events": events.text,
                "Person-years": _fmt(g.person_years, 0) if g.person_years > 0 else MISSING,
                f"Rate per {per_text} a year": rate,
                "95% CI (rate)": interval,
                f"Rate ratio vs {reference}": ratio,
                "95% CI (ratio)": ratio_interval,
                "Interval excludes 1": clear,
                "Note": note,
            }
        )
    return pd.DataFrame(rows).astype("str")


def standardised_table(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Crude and age-standardised rates side by side, and standardised rate ratios, as
    readers see them under `policy` (empty when there is no standardisation).

    Crude rates come from `shown_rates`, standardised figures from `shown_standardised`
    (both from counts as shown); '*' where an age band's count is suppressed.
    """
    table = shown_standardised(result, policy)
    if table is None:
        return pd.DataFrame()
    crude = {g.group: g for g in shown_rates(result, policy).groups}
    per_text = f"{result.per:,.0f}"
    reference = result.reference or ""
    decimals = result.metric.decimals
    rows = []
    for g in table.groups:
        c = crude.get(g.group)
        crude_text = SUPPRESSED if c is not None and c.suppressed else _fmt(c.rate if c else None)
        if g.suppressed:
            rate = interval = ratio = ratio_interval = clear = SUPPRESSED
        else:
            rate = _fmt(g.rate, decimals)
            interval = (
                MISSING
                if g.lower is None or g.upper is None
                else f"{_fmt(g.lower, decimals)} to {_fmt(g.upper, decimals)}"
            )
            if g.is_reference:
                ratio = "1 (reference)" if g.rate else MISSING
                ratio_interval = clear = MISSING
            elif g.ratio_suppressed:
                ratio = ratio_interval = clear = SUPPRESSED
            else:
                ratio = MISSING if g.ratio is None else f"{g.ratio:.2f}"
                ratio_interval = (
                    MISSING
                    if g.ratio_lower is None or g.ratio_upper is None
                    else f"{g.ratio_lower:.2f} to {g.ratio_upper:.2f}"
                )
                excludes = g.ratio_excludes_one
                clear = MISSING if excludes is None else ("yes" if excludes else "no")
        note = g.reason
        if g.dispersion > 1 and not g.suppressed and g.rate is not None:
            widened = (
                f"intervals widened by {100 * (math.sqrt(g.dispersion) - 1):.0f}% for "
                "month-to-month variation"
            )
            note = f"{note}; {widened}" if note else widened
        rows.append(
            {
                DIMENSION_TITLES.get(result.dimension, result.dimension): g.group,
                f"Crude rate per {per_text} a year": crude_text,
                f"Age-standardised rate per {per_text} a year": rate,
                "95% CI (standardised rate)": interval,
                f"Standardised rate ratio vs {reference}": ratio,
                "95% CI (standardised ratio)": ratio_interval,
                "Interval excludes 1": clear,
                "Note": note,
            }
        )
    return pd.DataFrame(rows).astype("str")


DOWNLOAD_COLUMNS = (
    "group",
    "events",
    "person_years",
    "rate",
    "rate_lower",
    "rate_upper",
    "rate_ratio",
    "ratio_lower",
    "ratio_upper",
    "is_reference",
    "suppressed",
    "note",
    "dispersion_factor",
    "intervals_widened",
    "standardised_rate",
    "standardised_lower",
    "standardised_upper",
    "standardised_ratio",
    "standardised_ratio_lower",
    "standardised_ratio_upper",
    "standardised_note",
)


def equity_download(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """The group table as numbers for a CSV download, under `policy`.

    The same figures as `equity_table` (`shown_rates`): events as shown (NaN where
    suppressed), person-years, rates and ratios from the counts as shown, `suppressed`
    where the count is and `note` saying why a figure is missing. Never exact counts
    under a policy that applies.
    """
    shown = shown_rates(result, policy)
    dispersion = shown_dispersion(result, policy)
    table = shown_standardised(result, policy)
    standardised = {s.group: s for s in table.groups} if table is not None else {}
    missing = StandardisedRate("", math.nan, reason=result.standardise_note)

    def standard(group: str) -> StandardisedRate:
        row = standardised.get(group)
        if row is None:
            return missing if table is None else StandardisedRate(group, math.nan)
        return row

    rows = [
        {
            "group": g.group,
            "events": g.events,
            "person_years": g.person_years if g.person_years > 0 else math.nan,
            "rate": g.rate,
            "rate_lower": g.rate_lower,
            "rate_upper": g.rate_upper,
            "rate_ratio": g.rate_ratio,
            "ratio_lower": g.ratio_lower,
            "ratio_upper": g.ratio_upper,
            "is_reference": g.is_reference,
            "suppressed": g.suppressed,
            "note": g.reason,
            "dispersion_factor": (
                dispersion[g.group].phi if g.group in dispersion and not g.suppressed else math.nan
            ),
            "intervals_widened": g.widened and not g.suppressed,
            "standardised_rate": standard(g.group).rate,
            "standardised_lower": standard(g.group).lower,
            "standardised_upper": standard(g.group).upper,
            "standardised_ratio": standard(g.group).ratio,
            "standardised_ratio_lower": standard(g.group).ratio_lower,
            "standardised_ratio_upper": standard(g.group).ratio_upper,
            "standardised_note": standard(g.group).reason,
        }
        for g in shown.groups
    ]
    frame = pd.DataFrame(rows, columns=list(DOWNLOAD_COLUMNS))
    numeric = [
        c
        for c in DOWNLOAD_COLUMNS
        if c not in ("group", "is_reference", "suppressed", "note", "intervals_widened")
        and not c.endswith("_note")
    ]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


# --------------------------------------------------------------------------- charts


def rate_chart_data(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Groups with a rate that can be shown: group, rate, rate_lower, rate_upper, role
    (figures as shown: `shown_rates`)."""
    rows = [
        {
            "group": g.group,
            "rate": g.rate,
            "rate_lower": g.rate_lower,
            "rate_upper": g.rate_upper,
            "role": "Reference group" if g.is_reference else "Compared group",
            "label": _fmt(g.rate, result.metric.decimals),
        }
        for g in shown_rates(result, policy).with_rates
    ]
    return pd.DataFrame(
        rows, columns=["group", "rate", "rate_lower", "rate_upper", "role", "label"]
    )


def standardised_chart_data(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Crude and age-standardised rates of the groups that have both as shown: group,
    measure, rate, lower, upper, label, interval (no counts: the data go to the
    browser whole)."""
    columns = ["group", "measure", "rate", "lower", "upper", "label", "interval"]
    table = shown_standardised(result, policy)
    if table is None:
        return pd.DataFrame(columns=columns)
    crude = {g.group: g for g in shown_rates(result, policy).with_rates}
    decimals = result.metric.decimals
    rows = []
    for s in table.groups:
        c = crude.get(s.group)
        if s.suppressed or s.rate is None or s.lower is None or s.upper is None or c is None:
            continue
        assert c.rate is not None and c.rate_lower is not None and c.rate_upper is not None
        for measure, rate, lower, upper in (
            (CRUDE, c.rate, c.rate_lower, c.rate_upper),
            (STANDARDISED, s.rate, s.lower, s.upper),
        ):
            rows.append(
                {
                    "group": s.group,
                    "measure": measure,
                    "rate": rate,
                    "lower": lower,
                    "upper": upper,
                    "label": _fmt(rate, decimals),
                    "interval": f"{_fmt(lower, decimals)} to {_fmt(upper, decimals)}",
                }
            )
    return pd.DataFrame(rows, columns=columns)


def rate_alt_text(result: EquityResult, policy: Policy) -> str:
    data = rate_chart_data(result, policy)
    if data.empty:
        return "Chart of rates by group: no group has a rate that can be shown."
    per_text = f"{result.per:,.0f}"
    parts = [
        f"{r.group} {r.rate:,.1f} (95% CI {r.rate_lower:,.1f} to {r.rate_upper:,.1f})"
        for r in data.itertuples()
    ]
    hidden = [g.group for g in result.rates.with_rates if g.group not in set(data["group"])]
    text = (
        f"{result.metric.title} by {result.dimension.replace('_', ' ')}, per {per_text} a year, "
        f"{result.period_text.replace(' and ', ' to ')}: " + "; ".join(parts) + "."
    )
    if hidden:
        text += " Not shown (small numbers): " + ", ".join(hidden) + "."
    return text


def ratio_trend_data(result: EquityResult, group: str, policy: Policy) -> pd.DataFrame:
    """Yearly rate ratio of `group` against the reference, as shown (`shown_yearly`):
    years with suppressed counts out, ratios from the counts as shown.

    Only what the chart shows is kept: the chart's data travel to the browser whole, so
    event counts must not ride along.
    """
    yearly = shown_yearly(result, policy)
    rows = yearly[(yearly["group"] == group) & yearly["rate_ratio"].notna()].copy()
    rows["year_kind"] = ["Full year" if c else "Part year" for c in rows["complete"]]
    return rows[
        ["fin_year", "rate_ratio", "ratio_lower", "ratio_upper", "months", "year_kind"]
    ].reset_index(drop=True)


def ratio_trend_alt_text(result: EquityResult, group: str, policy: Policy) -> str:
    data = ratio_trend_data(result, group, policy)
    reference = result.reference or "the reference group"
    if data.empty:
        return f"Chart of the yearly rate ratio of {group} vs {reference}: nothing to show."
    parts = [
        f"{r.fin_year} {r.rate_ratio:.2f} ({r.ratio_lower:.2f} to {r.ratio_upper:.2f})"
        if pd.notna(r.ratio_lower)
        else f"{r.fin_year} {r.rate_ratio:.2f}"
        for r in data.itertuples()
    ]
    return (
        f"Rate ratio of {result.metric.title.lower()} for {group} compared with {reference}, "
        "by financial year, with 95% confidence intervals: " + "; ".join(parts) + "."
    )


# --------------------------------------------------------------------------- bed days


@dataclass(frozen=True)
class BedShare:
    """A group's share of acute bed days against its share of the adult population.

    `yearly` columns: fin_year, numerator (group's bed days), denominator (all bed days),
    bed_share (%), population_share (%), months, complete. Figures are exact; pages
    control them with `bed_share_table`.
    """

    group: str
    metric: MetricDef
    yearly: pd.DataFrame
    numerator: float
    denominator: float
    population_share: float | None
    months: tuple[dt.date, ...]
    notes: tuple[str, ...] = ()

    @property
    def bed_share(self) -> float | None:
        if not self.denominator:
            return None
        return 100 * self.numerator / self.denominator


def _population_share_by_month(frame: pd.DataFrame, group: str) -> pd.Series:
    """Percent of the population in `group` each month (from a broken-down rate series)."""
    known = frame[frame["denominator"].notna()]
    totals = known.groupby("month")["denominator"].sum()
    mine = known[known["group"] == group].groupby("month")["denominator"].sum()
    return (100 * mine / totals).dropna()


def bed_day_share(
    board: Board,
    *,
    population_metric_id: str,
    share_metric_id: str = BED_SHARE_METRIC,
    group: str = BED_SHARE_GROUP,
    dimension: str = "ethnicity",
    start: dt.date | None = None,
    end: dt.date | None = None,
    include_provisional: bool = False,
) -> BedShare:
    """Share of acute bed days used by `group` (a ratio metric) against the group's share
    of the mid-year adult population (the denominators of `population_metric_id`).

    Bed days are recorded for the whole area only, so both shares are whole-area figures.
    The population share for a financial year is the average over its months of the
    calendar year's mid-year estimate (so mostly the estimate dated inside the year).
    """
    metric = board.catalogue.metrics.get(share_metric_id)
    if metric is None:
        raise EquityError(f"there is no metric called '{share_metric_id}'")
    try:
        share = board.series(share_metric_id, SeriesQuery(start=start, end=end)).frame
        population = board.series(
            population_metric_id, SeriesQuery(breakdown=dimension, start=start, end=end)
        ).frame
    except SeriesError as exc:
        raise EquityError(str(exc)) from exc
    notes = []
    cut = provisional_start(board, metric)
    known = share.dropna(subset=["numerator", "denominator"])
    if cut is not None and not include_provisional:
        late = known["month"] >= pd.Timestamp(cut)
        if late.any():
            known = known[~late]
            notes.append(
                f"Months from {cut:%B %Y} are provisional (still filling up) and are left out."
            )
    if known.empty:
        raise EquityError("no bed-day data in the selected period")
    pop_share = _population_share_by_month(population, group)
    known = known.assign(
        fin_year=[financial_year(m) for m in known["month"]],
        population_share=known["month"].map(pop_share),
    )
    yearly = (
        known.groupby("fin_year", sort=True)
        .agg(
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
            population_share=("population_share", "mean"),
            months=("month", "nunique"),
        )
        .reset_index()
    )
    yearly["bed_share"] = metric.per * yearly["numerator"] / yearly["denominator"]
    yearly["complete"] = yearly["months"] == 12
    overall_pop = known["population_share"].mean()
    return BedShare(
        group=group,
        metric=metric,
        yearly=yearly,
        numerator=float(known["numerator"].sum()),
        denominator=float(known["denominator"].sum()),
        population_share=None if pd.isna(overall_pop) else float(overall_pop),
        months=tuple(pd.Timestamp(m).date() for m in sorted(known["month"].unique())),
        notes=tuple(notes),
    )


def bed_share_table(share: BedShare, policy: Policy) -> pd.DataFrame:
    """Yearly bed-day share (controlled as a whole-area figure) and population share."""
    decimals = share.metric.decimals
    rows = []
    for r in share.yearly.itertuples():
        cell = control_ratio(
            r.numerator,
            r.denominator,
            policy,
            per=share.metric.per,
            decimals=decimals,
            top_level=True,
        )
        rows.append(
            {
                "Financial year": r.fin_year + ("" if r.complete else " (part year)"),
                f"Share of acute bed days ({share.group} patients)": cell.text,
                f"Share of adult population ({share.group})": (
                    MISSING if pd.isna(r.population_share) else f"{r.population_share:.1f}%"
                ),
            }
        )
    return pd.DataFrame(rows).astype("str")


def bed_share_alt_text(share: BedShare, policy: Policy) -> str:
    table = bed_share_table(share, policy)
    if table.empty:
        return "Chart of bed-day share: no data."
    first, last = table.iloc[0], table.iloc[-1]
    columns = list(table.columns)
    return (
        f"Share of acute bed days used by {share.group} patients against their share of the "
        f"adult population, by financial year. {first[columns[0]]}: {first[columns[1]]} of bed "
        f"days, {first[columns[2]]} of adults. {last[columns[0]]}: {last[columns[1]]} of bed "
        f"days, {last[columns[2]]} of adults."
    )


def bed_share_sentence(share: BedShare, policy: Policy) -> str:
    """'Black patients used 45.1% of acute bed days ... while Black adults are 24.0% ...'"""
    cell = control_ratio(
        share.numerator,
        share.denominator,
        policy,
        per=share.metric.per,
        decimals=share.metric.decimals,
        top_level=True,
    )
    if cell.suppressed or cell.value is None:
        return f"The share of acute bed days used by {share.group} patients cannot be shown."
    first, last = share.months[0], share.months[-1]
    text = (
        f"{share.group} patients used {cell.text} of acute bed days between {first:%B %Y} and "
        f"{last:%B %Y}"
    )
    if share.population_share is None:
        return text + "."
    times = cell.value / share.population_share if share.population_share else None
    text += (
        f", while {share.group} adults are {share.population_share:.1f}% of the adult population"
    )
    if times:
        text += f" ({times:.1f} times their population share)"
    return text + "."
