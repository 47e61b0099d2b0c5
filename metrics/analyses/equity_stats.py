"""The arithmetic of the equity analysis, on frames of counts: no board, no queries.

Pooled rates per 100,000 a year by group with Garwood intervals (`pool_rates`), rate
ratios with log-scale intervals (`rate_ratio_ci`), the same per financial year
(`yearly_rate_ratios`), each group's overdispersion from its monthly counts
(`group_dispersion`) and directly age-standardised rates and their ratios from counts by
group and age band (`standardise`), with the tables they fill (`RateTable`,
`StandardisedTable`).

Kept apart from `metrics.analyses.equity` (which reads the board and builds an
`EquityResult`) because the same functions serve both the exact analysis and the figures
as shown (`metrics.analyses.equity_shown` runs them again on controlled counts). The
statistics underneath (ESP2013, DSR, Dobson intervals, the dispersion factor) are in
`metrics.analyses.standardisation`; the methods are described in `metrics.analyses.equity`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from scipy.stats import chi2

from metrics.analyses.disclosure import Policy, count_as_shown
from metrics.analyses.standardisation import (
    DSR,
    NOT_JUDGED,
    ROUNDING_VARIANCE_TO_5,
    Dispersion,
    directly_standardised_rate,
    dsr_ratio,
    monthly_dispersion,
    widen,
)

PREFERRED_REFERENCE = {"ethnicity": "White"}  # the usual comparator in NHS equality reports
CONFIDENCE = 0.95
NO_POPULATION = "no population figures for this group, so no rate"


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
        group_rate(
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


def group_rate(
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
    Exact figures: pages show them through `metrics.analyses.equity_shown.shown_yearly`.
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
