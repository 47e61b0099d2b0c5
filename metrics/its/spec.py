"""What an analyst asks of an interrupted time-series study: interventions, shocks, model.

All three classes are frozen, hashable value objects so they can be cached and compared
(the site caches fits keyed on the spec). Dates may be given as ISO strings ("2016-01",
"2016-01-01"), `datetime.date`, `pandas.Timestamp` or, for annual data, a year (1989).

Parameterisation (centred, as in Linden's Stata `itsa`): for an intervention starting at
period T0, the level term is 1 from T0 on and the slope term is (t - T0) from T0 on, so it
is 0 at the first point after the interruption. The level change is therefore the jump at
that first point, and the slope change is the change in trend per period after it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Union

from metrics.its.errors import ITSInputError

DateLike = Union[str, int, dt.date, dt.datetime]  # noqa: UP007 (runtime alias, kept readable)

FAMILIES: tuple[str, ...] = ("ols", "poisson", "quasipoisson", "negbin", "arima", "binomial")
LOG_LINK_FAMILIES: frozenset[str] = frozenset({"poisson", "quasipoisson", "negbin"})
COUNT_FAMILIES: frozenset[str] = LOG_LINK_FAMILIES
# Families whose effects are ratios (rate ratios, or odds ratios for binomial).
RATIO_FAMILIES: frozenset[str] = LOG_LINK_FAMILIES | {"binomial"}
FREQUENCIES: tuple[str, ...] = ("monthly", "quarterly", "annual")
PERIOD_NAMES = {"monthly": "month", "quarterly": "quarter", "annual": "year"}

# Default model: regression with AR(1) errors (phi by REML, coefficients by GLS). Board
# series are short (often 24-60 months a side) and autocorrelated (AR(1) with phi 0.3-0.6
# in the sample data and in real referral counts). Newey-West standard errors under-cover
# badly in such short series with a step regressor (79-88% for a nominal 95% in our
# simulations), and Poisson-type models ignore the autocorrelation altogether; modelling the
# AR(1) error keeps 95% intervals at 92-95% (tests/test_its_simulation.py). Count models
# remain one keyword away (model="quasipoisson") and are right for small counts.
DEFAULT_MODEL = "arima"

TERMS: tuple[str, ...] = ("auto", "level", "slope")
# Horizon and cumulative effects are non-linear in the coefficients (a sum of exponentials
# for count models); their intervals come from draws of the coefficients (multivariate
# normal, or t with the fit's degrees of freedom), seeded so that every run agrees.
# 2,000 draws put the Monte Carlo error of a 2.5% quantile at about 0.35 percentage points
# of coverage and cost about 1 ms per study.
DEFAULT_SIMULATIONS = 2000
MIN_SIMULATIONS = 200
DEFAULT_SEED = 20150401


@dataclass(frozen=True)
class InterventionSpec:
    """One interruption (a service change) in the series.

    Attributes:
        id: short identifier used in column names and JSON (e.g. "hub_scale_up").
        start: the first period under the intervention (a month, or a year for annual data).
        label: words for charts and sentences (defaults to `id`).
        level: estimate a level change (the jump at `start`, or the full phased-in change
            when `ramp_periods` > 0).
        slope: estimate a change in trend (per period: per month, or per year) from `start`.
        ramp_periods: phase-in length in periods: the level term rises linearly from 1/n at
            `start` to 1 at `start + n - 1` (0 = an abrupt change).
        exclude_periods: a transition window of this many periods from `start` that is left
            out of the fit (but still shown); level and slope are then centred on the first
            period after the window.
        group_starts: a staggered roll-out: each group's own first period, as (group, date)
            pairs (a dict is accepted). Used by a multiple-baseline study (`ITSSpec.group_col`);
            a single-series study uses `start`.
        group_ramp_periods: each group's phase-in in a multiple-baseline study (None: the
            same as `ramp_periods`).
        post_periods: a limited post window: the study covers only the `post_periods`
            periods from `start` (e.g. a programme's growth phase, before it levels off);
            later periods are shown but not modelled, and the effects describe the window.
    """

    id: str
    start: DateLike
    label: str = ""
    level: bool = True
    slope: bool = True
    ramp_periods: int = 0
    exclude_periods: int = 0
    group_starts: tuple[tuple[str, DateLike], ...] = ()
    group_ramp_periods: int | None = None
    post_periods: int | None = None

    def __post_init__(self) -> None:
        if not self.id or not str(self.id).strip():
            raise ITSInputError("an intervention needs a non-empty id")
        if not self.label:
            object.__setattr__(self, "label", str(self.id))
        if not (self.level or self.slope):
            raise ITSInputError(f"intervention '{self.id}': estimate a level or a slope change")
        if self.ramp_periods < 0 or self.exclude_periods < 0:
            raise ITSInputError(f"intervention '{self.id}': ramp and exclusion must be >= 0")
        if self.ramp_periods > 0 and self.exclude_periods > 0:
            raise ITSInputError(
                f"intervention '{self.id}': choose a phase-in ramp or an excluded window, not both"
            )
        starts = self.group_starts
        if isinstance(starts, dict):
            starts = tuple(starts.items())
        starts = tuple(sorted((str(group), date) for group, date in starts))
        object.__setattr__(self, "group_starts", starts)
        if len({group for group, _ in starts}) != len(starts):
            raise ITSInputError(f"intervention '{self.id}': a group has two staggered starts")
        if self.post_periods is not None and self.post_periods < 3:
            raise ITSInputError(f"intervention '{self.id}': a post window needs at least 3 periods")
        if self.group_ramp_periods is not None and self.group_ramp_periods < 0:
            raise ITSInputError(f"intervention '{self.id}': group_ramp_periods must be >= 0")

    @property
    def staggered(self) -> bool:
        """True when groups start at different dates (a staggered roll-out)."""
        return bool(self.group_starts)

    def ramp_for_groups(self) -> int:
        """Each group's phase-in in a multiple-baseline study."""
        return self.ramp_periods if self.group_ramp_periods is None else self.group_ramp_periods


@dataclass(frozen=True)
class ShockSpec:
    """An outside disturbance (e.g. the first COVID-19 lockdown) with its own term.

    Temporary (an `end`): the shock term is 1 from `start` to `end` inclusive; with
    `recovery_periods` = r it then falls linearly back to 0 over the next r periods (r/(r+1),
    ..., 1/(r+1)). Lasting (no `end`, e.g. demand that stayed higher after the pandemic): a
    step from `start` that stays, phased in over `ramp_periods` (1/n, 2/n, ..., 1). Shocks
    stay in the counterfactual: they would have happened without the intervention.
    """

    id: str
    start: DateLike
    end: DateLike | None = None
    label: str = ""
    recovery_periods: int = 0
    ramp_periods: int = 0

    def __post_init__(self) -> None:
        if not self.id or not str(self.id).strip():
            raise ITSInputError("a shock needs a non-empty id")
        if not self.label:
            object.__setattr__(self, "label", str(self.id))
        if self.recovery_periods < 0 or self.ramp_periods < 0:
            raise ITSInputError(f"shock '{self.id}': recovery and ramp periods must be >= 0")
        if self.end is not None and self.ramp_periods:
            raise ITSInputError(
                f"shock '{self.id}': a phase-in (ramp_periods) is for a lasting shock (no end)"
            )
        if self.end is None and self.recovery_periods:
            raise ITSInputError(
                f"shock '{self.id}': a lasting shock (no end) has no recovery; give an end"
            )

    @property
    def lasting(self) -> bool:
        """True for a step that stays (no end)."""
        return self.end is None


_FOURIER = re.compile(r"^fourier:?(\d+)$")


def parse_seasonality(seasonality: str) -> tuple[str, int]:
    """Normalise a seasonality setting: ("none", 0), ("fourier", k) or ("month", 0).

    Accepts "none", "month", "fourier:K", "fourierK" (the YAML shorthand) and "auto"
    (("auto", 0): fourier:2 unless month terms fit better; resolved by `fit_its`).
    """
    text = str(seasonality).strip().lower()
    if text in ("none", ""):
        return "none", 0
    if text == "auto":
        return "auto", 0
    if text in ("month", "months", "month_of_year"):
        return "month", 0
    match = _FOURIER.match(text)
    if match and int(match.group(1)) >= 1:
        return "fourier", int(match.group(1))
    raise ITSInputError(
        f"unknown seasonality '{seasonality}': use none, auto, month or fourier:K (K >= 1)"
    )


@dataclass(frozen=True, kw_only=True)
class ITSSpec:
    """The full specification of one ITS study.

    Attributes:
        model: "arima" (default: regression with ARMA errors, AR(1) unless `arma_order` says
            otherwise), "ols" (Newey-West standard errors), "poisson", "quasipoisson"
            (Pearson chi-square / df scale), "negbin" (NB2) or "binomial" (quasi-binomial
            logistic regression of the numerator out of `denominator_col`).
        interventions: one or more `InterventionSpec`, in any order.
        shocks: temporary shocks, each with its own term.
        seasonality: "none", "fourier:K" (harmonics 1..K of `period`), "month" (11
            month-of-year indicators, January the reference) or "auto": fourier:2 unless
            month terms explain significantly more (F test of harmonics 3-6, p < 0.05;
            see `metrics.its.checks.choose_seasonality`); none for annual data.
        period: season length in periods for Fourier terms (12 for monthly data).
        hac_lags: Newey-West truncation lag for "ols"; None = floor(4 (n/100)^(2/9)) (Newey &
            West 1994), n the number of fitted points per series.
        offset_col: population (or exposure) column; log(offset) enters count models as an
            offset, so effects are on rates.
        control_col: a comparison series in the same frame (Linden's multiple-group design);
            the effects become differences in level and slope against it.
        control_offset_col: population of the comparison series (count models with an offset).
        denominator_col: the denominator of a binomial model (the outcome column is then
            the numerator: e.g. referrals accepted out of referrals assessed).
        per: a binomial model's proportions are shown times `per` (100: percentages, and
            differences in percentage points).
        horizon: months after the start of an intervention at which the absolute and relative
            effect is reported (12 = one year; annual data use horizon // 12 years).
        alpha: 1 - confidence level (0.05 gives 95% intervals).
        frequency: "monthly", "quarterly" or "annual". Quarterly data: `period` 4 (the
            default 12 is read as 4), "month" seasonality means quarter-of-year terms, and the
            horizon is `horizon // 3` quarters.
        placebo: run the placebo check (false intervention dates in the pre-period).
        placebo_count: at most this many placebo dates, evenly spaced.
        arma_order: (p, q) of the ARMA error for model "arima".
        group_col: a multiple-baseline study: the frame is long (one row per period and
            group) and every group is fitted together, each with its own intercept and trend
            and its own start for a staggered intervention (`group_starts`); the effects are
            pooled, with each group's beside them. Families ols, poisson, quasipoisson,
            negbin and binomial, with a Driscoll-Kraay covariance (months that move together
            within and across groups).
        group_effects: a multiple-baseline study also fits each group's own effect (a
            second fit); the sensitivity table, which shows the pooled effect only, skips it.
        term: the effect the study is about, for the first intervention: "level" (the jump),
            "slope" (the change in trend) or "auto" (the level when one is estimated, else
            the slope). The placebo check tests this term.
        simulations: draws from the coefficients' sampling distribution behind the intervals
            of the horizon and cumulative effects (0: delta method instead).
        seed: seed of those draws, so every run gives the same intervals.
        check_fit: run the lack-of-fit test behind the verdict (one extra fit). Runs
            whenever `placebo` does, so switching both off gives the quickest fit.
    """

    interventions: tuple[InterventionSpec, ...] = ()
    model: str = DEFAULT_MODEL
    shocks: tuple[ShockSpec, ...] = ()
    seasonality: str = "none"
    period: int = 12
    hac_lags: int | None = None
    offset_col: str | None = None
    control_col: str | None = None
    control_offset_col: str | None = None
    denominator_col: str | None = None
    per: float = 100.0
    horizon: int = 12
    alpha: float = 0.05
    frequency: str = "monthly"
    placebo: bool = True
    placebo_count: int = 12
    arma_order: tuple[int, int] = field(default=(1, 0))
    term: str = "auto"
    simulations: int = DEFAULT_SIMULATIONS
    seed: int = DEFAULT_SEED
    check_fit: bool = True
    group_col: str | None = None
    group_effects: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "interventions", tuple(self.interventions))
        object.__setattr__(self, "shocks", tuple(self.shocks))
        object.__setattr__(self, "arma_order", tuple(int(v) for v in self.arma_order))
        if self.model not in FAMILIES:
            raise ITSInputError(f"unknown model '{self.model}': use one of {', '.join(FAMILIES)}")
        if self.frequency not in FREQUENCIES:
            raise ITSInputError(
                f"unknown frequency '{self.frequency}': use monthly, quarterly or annual"
            )
        if self.frequency == "quarterly" and self.period == 12:
            object.__setattr__(self, "period", 4)
        if not self.interventions:
            raise ITSInputError("an ITS study needs at least one intervention")
        ids = [i.id for i in self.interventions] + [s.id for s in self.shocks]
        if len(set(ids)) != len(ids):
            raise ITSInputError("intervention and shock ids must be unique")
        kind, _ = parse_seasonality(self.seasonality)
        if kind not in ("none", "auto") and self.frequency == "annual":
            raise ITSInputError("annual data have no seasonality: use seasonality='none'")
        if kind == "month" and self.period != (4 if self.frequency == "quarterly" else 12):
            raise ITSInputError("month-of-year terms need period=12 (4 for quarterly data)")
        if self.period < 2:
            raise ITSInputError("period must be at least 2")
        if self.hac_lags is not None and self.hac_lags < 0:
            raise ITSInputError("hac_lags must be >= 0")
        if self.horizon < 0:
            raise ITSInputError("horizon must be >= 0 months")
        if not 0.0 < self.alpha < 1.0:
            raise ITSInputError("alpha must lie between 0 and 1")
        if len(self.arma_order) != 2 or min(self.arma_order) < 0 or sum(self.arma_order) == 0:
            raise ITSInputError("arma_order is (p, q) with p, q >= 0 and p + q >= 1")
        if self.term not in TERMS:
            raise ITSInputError(f"unknown term '{self.term}': use auto, level or slope")
        if self.simulations < 0 or 0 < self.simulations < MIN_SIMULATIONS:
            raise ITSInputError(
                f"simulations must be 0 (delta method) or at least {MIN_SIMULATIONS}"
            )
        if self.model == "binomial" and not self.denominator_col:
            raise ITSInputError(
                "model 'binomial' needs a denominator: give denominator_col (the outcome is "
                "then the numerator)"
            )
        if self.model == "binomial" and (self.control_col or self.offset_col):
            raise ITSInputError(
                "model 'binomial' takes a numerator and a denominator; a comparison series "
                "or an offset is not supported with it"
            )
        if not self.per > 0:
            raise ITSInputError("per must be positive")
        if self.group_col and self.model == "arima":
            raise ITSInputError(
                "a multiple-baseline study allows for months that move together through its "
                "covariance (Driscoll-Kraay): use model ols, a count model or binomial, not "
                "arima"
            )
        if self.group_col and self.control_col:
            raise ITSInputError("a multiple-baseline study takes no comparison series")
        if self.control_offset_col and not self.control_col:
            raise ITSInputError("control_offset_col needs control_col")
        if (
            self.control_col
            and self.offset_col
            and not self.control_offset_col
            and self.model in LOG_LINK_FAMILIES
        ):
            raise ITSInputError(
                "a count model with an offset and a control series needs control_offset_col"
            )

    @property
    def is_log_link(self) -> bool:
        """True for the count families, whose effects are rate ratios."""
        return self.model in LOG_LINK_FAMILIES

    @property
    def effects_are_ratios(self) -> bool:
        """True when level and slope changes are ratios (rate or odds ratios)."""
        return self.model in RATIO_FAMILIES

    @property
    def periods_per_year(self) -> int:
        """12 for monthly data, 1 for annual data."""
        return {"monthly": 12, "quarterly": 4}.get(self.frequency, 1)

    def main_term(self, estimates_level: bool) -> str:
        """The term the study reports for its first intervention ("level" or "slope")."""
        if self.term == "auto":
            return "level" if estimates_level else "slope"
        return self.term

    @property
    def horizon_periods(self) -> int:
        """The reporting horizon in data periods (months, or whole years for annual data)."""
        return self.horizon * self.periods_per_year // 12

    @property
    def period_name(self) -> str:
        """ "month", "quarter" or "year": the unit of a slope change."""
        return PERIOD_NAMES[self.frequency]
