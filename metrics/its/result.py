"""The frozen result of one ITS study, and how it reads as prose, text and JSON.

Everything downstream (the chart, the page's effect card, the command line, exports) reads
this one object. Tables are handed out as fresh DataFrames, so a caller cannot change the
result by editing what it was given.

Effect conventions:
- level change: the jump at the first point after the interruption (centred slope term);
  with a phase-in ramp, the full change once phased in. Log-link models report it as a rate
  ratio, linear models in the outcome's units.
- slope change: change in trend per period (per month, or per year for annual data); a
  ratio per period for log-link models.
- horizon effect: fitted minus counterfactual mean `horizon` months after the start of the
  intervention (both from the model, so noise in a single month does not drive it), with a
  relative version (fitted / counterfactual - 1). Intervals by simulation: percentiles of
  both effects over seeded draws of the coefficients (`ITSSpec.simulations`, default 2,000),
  so the absolute and relative intervals agree on whether they include no change; with
  simulations=0, the delta method (the relative interval exact for log-link models).
- cumulative effect: sum of fitted minus counterfactual over every period from the start of
  the intervention to the end of the data (negative = e.g. referrals averted), by the same
  simulation (a sum of exponentials is skewed, so a symmetric interval would mislead).
- counterfactual band: a confidence band for the counterfactual mean, not a prediction
  interval for single months.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metrics.its.diagnostics import Diagnostics
from metrics.its.spec import ITSSpec
from metrics.its.verdict import Verdict


@dataclass(frozen=True)
class ITSWarning:
    """A caveat the reader should see next to the result (`code` is stable for tests/UI)."""

    code: str
    message: str


@dataclass(frozen=True)
class Effect:
    """Level or slope change of one intervention.

    Attributes:
        estimate, ci_low, ci_high: on `scale`: "ratio" (rate ratio, log-link models) or
            "absolute" (outcome units, or units per period for a slope change).
        coefficient, se: the underlying coefficient and standard error (link scale).
        per: "" for a level change; "month" or "year" for a slope change.
        comparison: True when the effect is a difference against a comparison series.
    """

    intervention: str
    label: str
    term: str
    estimate: float
    ci_low: float
    ci_high: float
    scale: str
    coefficient: float
    se: float
    p_value: float
    per: str = ""
    comparison: bool = False
    group: str = ""  # a multiple-baseline study's group ("" for the pooled effect)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervention": self.intervention,
            **({"group": self.group} if self.group else {}),
            "term": self.term,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "scale": self.scale,
            "p_value": self.p_value,
            "per": self.per or None,
            "comparison": self.comparison,
        }


@dataclass(frozen=True)
class HorizonEffect:
    """Absolute and relative effect of one intervention at the reporting horizon.

    `absolute` = fitted - counterfactual (outcome units per period); `relative` = fitted /
    counterfactual - 1 (-0.43 is "43% lower"). `months_after` may be less than asked for
    when the data end sooner (see the result's warnings).
    """

    intervention: str
    label: str
    months_after: int
    date: pd.Timestamp
    fitted: float
    counterfactual: float
    absolute: float
    absolute_low: float
    absolute_high: float
    relative: float
    relative_low: float
    relative_high: float
    method: str = "delta"
    group: str = ""  # a multiple-baseline study's group ("" for all groups together)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervention": self.intervention,
            **({"group": self.group} if self.group else {}),
            "months_after": self.months_after,
            "date": self.date.strftime("%Y-%m-%d"),
            "fitted": self.fitted,
            "counterfactual": self.counterfactual,
            "absolute": {
                "estimate": self.absolute,
                "ci_low": self.absolute_low,
                "ci_high": self.absolute_high,
            },
            "relative": {
                "estimate": self.relative,
                "ci_low": self.relative_low,
                "ci_high": self.relative_high,
            },
            "method": self.method,
        }


@dataclass(frozen=True)
class CumulativeEffect:
    """Total of fitted minus counterfactual from the intervention to the end of the data.

    `difference` < 0 means fewer than expected: `averted` (= -difference) is then, e.g.,
    the number of referrals averted.
    """

    intervention: str
    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    n_periods: int
    fitted_total: float
    counterfactual_total: float
    difference: float
    ci_low: float
    ci_high: float
    method: str = "delta"

    @property
    def averted(self) -> float:
        return -self.difference

    @property
    def averted_ci(self) -> tuple[float, float]:
        return (-self.ci_high, -self.ci_low)

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervention": self.intervention,
            "start": self.start.strftime("%Y-%m-%d"),
            "end": self.end.strftime("%Y-%m-%d"),
            "n_periods": self.n_periods,
            "fitted_total": self.fitted_total,
            "counterfactual_total": self.counterfactual_total,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
        }


@dataclass(frozen=True)
class Trend:
    """Underlying (pre-intervention) trend of the treated series.

    Log-link models: a ratio per year (exp(12 beta) for monthly data). Linear models: the
    change in outcome units per period (`per`).
    """

    estimate: float
    ci_low: float
    ci_high: float
    scale: str
    per: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "scale": self.scale,
            "per": self.per,
        }


MIN_PLACEBO_DATES = 5  # with fewer false dates a rank says nothing (1 in 5 is p = 0.2)


@dataclass(frozen=True)
class PlaceboCheck:
    """Refits of the pre-period with false intervention dates.

    Attributes:
        term: the compared term: the one the study reports (`ITSSpec.term`).
        dates: the false intervention dates.
        estimates, ci_low, ci_high: placebo effects on the result's scale.
        real_estimate: the real effect on the same scale.
        rank: 1 when the real effect is larger (on the link scale, in absolute value) than
            every placebo effect; k when k - 1 placebo effects are at least as large.
        n_significant: placebo intervals that exclude no change (false positives).
        fixed_nuisance: nuisance parameter held at the main fit's value ("phi", "alpha").
    """

    term: str
    scale: str
    dates: tuple[pd.Timestamp, ...]
    estimates: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    real_estimate: float
    rank: int
    n_significant: int
    fixed_nuisance: str = ""

    @property
    def n_placebo(self) -> int:
        return len(self.dates)

    @property
    def too_few(self) -> bool:
        """Fewer false dates than a placebo check needs to say anything (MIN_PLACEBO_DATES)."""
        return self.n_placebo < MIN_PLACEBO_DATES

    def text(self) -> str:
        """One sentence for the diagnostics panel."""
        n = self.n_placebo
        what = f"{self.term} change"
        dates = f"{n} false date{'s' if n != 1 else ''}"
        if self.too_few:
            return (
                f"Only {dates} before the intervention could be tested for a {what}: too few "
                f"for the placebo check to show whether the real {what} is unusual (it needs "
                f"at least {MIN_PLACEBO_DATES})."
            )
        if self.rank == 1:
            head = f"The real {what} is larger than the {what} at each of {dates}"
        else:
            larger = self.rank - 1
            head = f"At {larger} of {dates} the {what} was at least as large as the real one"
        return (
            f"{head} before the intervention; {self.n_significant} of the {n} false-date "
            "intervals excluded no change."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "scale": self.scale,
            "dates": [d.strftime("%Y-%m-%d") for d in self.dates],
            "estimates": list(self.estimates),
            "ci_low": list(self.ci_low),
            "ci_high": list(self.ci_high),
            "real_estimate": self.real_estimate,
            "rank": self.rank,
            "n_placebo": self.n_placebo,
            "n_significant": self.n_significant,
            "fixed_nuisance": self.fixed_nuisance or None,
            "too_few": self.too_few,
            "text": self.text(),
        }


@dataclass(frozen=True)
class InterventionWindow:
    """Where an intervention sits on the chart: its start and any shaded window."""

    id: str
    label: str
    start: pd.Timestamp
    window: str | None  # "phase-in", "excluded" or None
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None  # last period inside the window


# --- formatting -----------------------------------------------------------------------------


def number_decimals(value: float) -> int:
    """Decimals that suit a magnitude: 0 from 10 up, 1 from 1, else 2."""
    size = abs(value)
    return 0 if size >= 10 else 1 if size >= 1 else 2


def format_number(value: float, decimals: int | None = None) -> str:
    """Readable magnitude: 98, 4.3, 0.27, 12,345 (or with the given decimals)."""
    if not math.isfinite(value):
        return "n/a"
    places = number_decimals(value) if decimals is None else decimals
    return f"{value:,.{places}f}"


def format_percent(fraction: float) -> str:
    """0.4312 -> "43%"; 0.004 -> "0.4%"."""
    size = abs(fraction) * 100
    if size >= 1 or size == 0:
        return f"{size:.0f}%"
    return f"{size:.1f}%"


def the_label(label: str) -> str:
    """Add "the" unless the label already starts with an article."""
    first = label.split(" ", 1)[0].lower()
    return label if first in ("the", "a", "an") else f"the {label}"


def period_label(stamp: pd.Timestamp, frequency: str) -> str:
    """ "2016-01" for monthly data, "2016 Q1" for quarterly, "1989" for annual data."""
    if frequency == "quarterly":
        return f"{stamp:%Y} Q{(stamp.month - 1) // 3 + 1}"
    return f"{stamp:%Y}" if frequency == "annual" else f"{stamp:%Y-%m}"


def _when(effect: HorizonEffect, frequency: str, label: str) -> str:
    label = the_label(label)
    if frequency == "quarterly":
        quarters = effect.months_after // 3
        if quarters == 0:
            return f"in the first quarter of {label}"
        return f"{quarters} quarter{'s' if quarters != 1 else ''} after {label}"
    if frequency == "annual":
        years = effect.months_after // 12
        if years == 0:
            return f"in the first year of {label}"
        return f"{years} year{'s' if years != 1 else ''} after {label}"
    if effect.months_after == 0:
        return f"in the first month of {label}"
    months = effect.months_after
    return f"{months} month{'s' if months != 1 else ''} after {label}"


# Heads that make a title singular whatever follows ("Average acute beds occupied").
_SINGULAR_HEADS = frozenset(
    {
        "average", "median", "mean", "percentage", "proportion", "rate", "number", "share",
        "total", "count", "ratio", "cost", "spend", "time", "length", "amount",
    }
)  # fmt: skip
_IRREGULAR_PLURALS = frozenset({"people", "children", "men", "women", "staff", "police"})
# Words that end the head noun phrase ("Referrals from primary care ...").
_PHRASE_ENDS = frozenset(
    {
        "from", "to", "in", "of", "with", "for", "at", "by", "on", "per", "under", "over",
        "within", "who", "that", "which", "after", "before", "into", "than", "not", "as",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z][A-Za-z&'-]*")


def verb_for(subject: str) -> str:
    """ "were" for a plural subject, "was" for a singular one, from its head noun phrase.

    The head phrase runs to the first preposition or relative word ("Referrals from primary
    care ..." -> "Referrals"); trailing participles and adverbs are set aside ("Secondary
    referrals accepted ..." -> "referrals"); two nouns joined by "and" are plural; titles led
    by "Average", "Median", "Percentage" and the like are singular.
    """
    words = _WORD.findall(subject.split("(")[0])
    if not words:
        return "was"
    if words[0].lower() in _SINGULAR_HEADS:
        return "was"
    head: list[str] = []
    for word in words:
        if word.lower() in _PHRASE_ENDS:
            break
        head.append(word)
    if any(word.lower() == "and" for word in head[1:]):
        return "were"
    core = list(head) or words[:1]
    while len(core) > 1 and core[-1].lower().endswith(("ed", "ing", "ly")) and len(core[-1]) > 4:
        core.pop()
    last = core[-1]
    lowered = last.lower()
    if lowered in _IRREGULAR_PLURALS:
        return "were"
    if last.isupper():  # an acronym: IAPT, A&E
        return "was"
    plural = lowered.endswith("s") and not lowered.endswith(("ss", "us", "is"))
    return "were" if plural else "was"


def _verb(subject: str) -> str:
    return verb_for(subject)


def _lower(subject: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (IPSA, A&E)."""
    return subject[0].lower() + subject[1:] if subject[1:2].islower() else subject


def no_conclusion_sentence(subject: str, label: str, verdict: Verdict) -> str:
    """What a board hears when the model does not fit: no effect, and why."""
    what = _lower(subject)
    reasons = "; and ".join(r.words for r in verdict.reasons)
    return (
        f"No conclusion on whether {the_label(label)} changed {what}: the model does not fit the "
        f"data well enough to say, because {reasons}."
    )


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# --- the result -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ITSResult:
    """The outcome of `fit_its`: effects, counterfactual, diagnostics, warnings, placebo.

    Tables (`coefficients`, `counterfactual`) are properties returning new DataFrames.
    """

    series: str
    spec: ITSSpec
    model: str
    link: str
    frequency: str
    n_obs: int
    n_pre: int
    n_post: int
    effects: tuple[Effect, ...]
    horizon_effects: tuple[HorizonEffect, ...]
    cumulative_effects: tuple[CumulativeEffect, ...]
    trend: Trend
    diagnostics: Diagnostics
    warnings: tuple[ITSWarning, ...]
    placebo: PlaceboCheck | None
    windows: tuple[InterventionWindow, ...]
    model_details: dict[str, float]
    params: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    coefficient_table: pd.DataFrame = field(repr=False)
    counterfactual_table: pd.DataFrame = field(repr=False)
    placebo_note: str = ""  # why there is no placebo check (when one was asked for)
    verdict: Verdict | None = None  # whether the model fits well enough to conclude
    design: str = "single"  # "single" series, or "multiple_baseline" (groups together)
    groups: tuple[str, ...] = ()  # a multiple-baseline study's groups
    group_effects: tuple[Effect, ...] = ()  # each group's level and slope changes
    group_horizon_effects: tuple[HorizonEffect, ...] = ()  # each group's horizon effect

    # -- tables --------------------------------------------------------------------------

    @property
    def coefficients(self) -> pd.DataFrame:
        """term, estimate, se, ci_low, ci_high, p_value (link scale)."""
        return self.coefficient_table.copy()

    @property
    def counterfactual(self) -> pd.DataFrame:
        """Tidy frame: date, observed, fitted, counterfactual, cf_low, cf_high, in_fit,
        segment (plus `control` with a comparison series). One row per period."""
        return self.counterfactual_table.copy()

    def get_plot_data(self) -> pd.DataFrame:
        """Alias of `counterfactual` (CausalPy's name for the tidy plotting frame)."""
        return self.counterfactual

    # -- lookups ----------------------------------------------------------------------------

    @property
    def confidence_level(self) -> float:
        return 1.0 - self.spec.alpha

    @property
    def dispersion(self) -> float | None:
        return self.diagnostics.dispersion

    @property
    def main_intervention(self) -> str:
        """The first intervention in time: the one the sentence is about by default."""
        return self.windows[0].id

    def effect(self, intervention: str | None = None, term: str = "level") -> Effect | None:
        """The level or slope change of an intervention (first by default)."""
        wanted = intervention or self.main_intervention
        for item in self.effects:
            if item.intervention == wanted and item.term == term:
                return item
        return None

    def horizon_effect(self, intervention: str | None = None) -> HorizonEffect:
        wanted = intervention or self.main_intervention
        return next(h for h in self.horizon_effects if h.intervention == wanted)

    def group_effect(self, group: str, intervention: str | None = None, term: str = "level"):
        """A multiple-baseline study's effect in one group (None if not estimated)."""
        wanted = intervention or self.main_intervention
        for item in self.group_effects:
            if item.group == group and item.intervention == wanted and item.term == term:
                return item
        return None

    def cumulative_effect(self, intervention: str | None = None) -> CumulativeEffect:
        wanted = intervention or self.main_intervention
        return next(c for c in self.cumulative_effects if c.intervention == wanted)

    # -- prose ------------------------------------------------------------------------------

    def sentence(
        self,
        subject: str | None = None,
        unit: str | None = None,
        intervention: str | None = None,
    ) -> str:
        """One sentence a board member can read aloud, with the interval.

        Args:
            subject: what is measured, e.g. "Referrals" (default: the series name).
            unit: for linear models, what is counted per period, e.g. "referrals a month";
                gives "There were 98 fewer referrals a month (95% CI 78 to 118) than ...".
            intervention: id of the intervention (default: the first).
        """
        effect = self.horizon_effect(intervention)
        subject = (subject or self.series or "The measure").strip()
        subject = subject[0].upper() + subject[1:]
        level = f"{self.confidence_level:.0%} CI"
        if self.verdict is not None and not self.verdict.fits:
            return no_conclusion_sentence(subject, effect.label, self.verdict)
        if self.reported_term(intervention) == "slope":
            return self.slope_sentence(subject, unit, intervention)
        when = _when(effect, self.frequency, effect.label)
        if self.link == "log":
            estimate, low, high = effect.relative, effect.relative_low, effect.relative_high
            direction = "lower" if estimate < 0 else "higher"
            if low <= 0 <= high:
                low_word = "lower" if low < 0 else "higher"
                high_word = "lower" if high < 0 else "higher"
                return (
                    f"{subject} {_verb(subject)} {format_percent(estimate)} {direction} than "
                    f"expected {when}, but the {level} runs from {format_percent(low)} "
                    f"{low_word} to {format_percent(high)} {high_word}, so the data are "
                    "consistent with no change."
                )
            a, b = sorted((abs(low), abs(high)))
            return (
                f"{subject} {_verb(subject)} {format_percent(estimate)} {direction} "
                f"({level} {format_percent(a)} to {format_percent(b)}) than expected {when}."
            )
        estimate, low, high = effect.absolute, effect.absolute_low, effect.absolute_high
        places = number_decimals(estimate)
        expected = format_number(effect.counterfactual)
        if self.link == "logit":
            return self._proportion_sentence(subject, effect, when)

        def size(value: float) -> str:
            return format_number(abs(value), places)

        if unit:

            def word(value: float) -> str:
                return "fewer" if value < 0 else "more"

            opening = f"There were {size(estimate)} {word(estimate)} {unit}"
        else:

            def word(value: float) -> str:
                return "lower" if value < 0 else "higher"

            opening = f"{subject} {_verb(subject)} {size(estimate)} {word(estimate)}"
        if low <= 0 <= high:
            return (
                f"{opening} than the {expected} expected {when}, but the {level} runs from "
                f"{size(low)} {word(low)} to {size(high)} {word(high)}, so the data are "
                "consistent with no change."
            )
        a, b = sorted((abs(low), abs(high)))
        return (
            f"{opening} ({level} {format_number(a, places)} to {format_number(b, places)}) "
            f"than the {expected} expected {when}."
        )

    def _proportion_sentence(self, subject: str, effect: HorizonEffect, when: str) -> str:
        """A binomial result: the difference in percentage points against the expected
        percentage, with the odds ratio of the level change."""
        percent = abs(self.spec.per - 100.0) < 1e-9
        points = "percentage points" if percent else "points"
        sign = "%" if percent else ""
        estimate, low, high = effect.absolute, effect.absolute_low, effect.absolute_high
        places = 1 if abs(estimate) < 10 else 0
        level = f"{self.confidence_level:.0%} CI"
        direction = "higher" if estimate > 0 else "lower"
        opening = (
            f"{subject} {_verb(subject)} {format_number(abs(estimate), places)} {points} "
            f"{direction}"
        )
        expected = f"the {format_number(effect.counterfactual, places)}{sign} expected {when}"
        odds = self.effect(effect.intervention, "level")
        odds_text = (
            f" (odds ratio of the level change {odds.estimate:.2f}, {level} "
            f"{odds.ci_low:.2f} to {odds.ci_high:.2f})"
            if odds is not None
            else ""
        )
        if low <= 0 <= high:
            low_word = "lower" if low < 0 else "higher"
            high_word = "lower" if high < 0 else "higher"
            return (
                f"{opening} than {expected}, but the {level} runs from "
                f"{format_number(abs(low), places)} {low_word} to "
                f"{format_number(abs(high), places)} {high_word}, so the data are consistent "
                f"with no change{odds_text}."
            )
        a, b = sorted((abs(low), abs(high)))
        return (
            f"{opening} ({level} {format_number(a, places)} to {format_number(b, places)}) than "
            f"{expected}{odds_text}."
        )

    def reported_term(self, intervention: str | None = None) -> str:
        """The term the study reports for an intervention: the spec's term for the first
        (main) one, the level change for any other."""
        wanted = intervention or self.main_intervention
        if wanted != self.main_intervention:
            return "level" if self.effect(wanted, "level") is not None else "slope"
        return self.spec.main_term(self.effect(wanted, "level") is not None)

    def slope_sentence(
        self, subject: str, unit: str | None = None, intervention: str | None = None
    ) -> str:
        """The change in trend, e.g. "IPSA cohort living independently rose by 2.1 people a
        month more than before the IPSA go-live (95% CI 1.8 to 2.5)."."""
        effect = self.effect(intervention, "slope")
        assert effect is not None
        per = effect.per or "period"
        level = f"{self.confidence_level:.0%} CI"
        label = the_label(effect.label)
        if effect.scale in ("ratio", "odds_ratio"):
            estimate, low, high = (effect.estimate - 1, effect.ci_low - 1, effect.ci_high - 1)

            def amount(value: float) -> str:
                return format_percent(value)

            size = f"{amount(estimate)} a {per}"
        else:
            estimate, low, high = effect.estimate, effect.ci_low, effect.ci_high
            places = number_decimals(estimate)

            def amount(value: float) -> str:
                return format_number(abs(value), places)

            what = f" {unit}" if unit else ""
            size = f"{amount(estimate)}{what} a {per}"
        rising = estimate > 0
        verb = "rose" if rising else "fell"
        if effect.scale in ("ratio", "odds_ratio"):
            what = "the odds of " if effect.scale == "odds_ratio" else ""
            opening = (
                f"After {label}, {what}{_lower(subject)} {verb} {size} faster than the earlier "
                "trend"
            )
        else:
            opening = (
                f"After {label}, {_lower(subject)} {verb} by {size} more than the earlier trend"
            )
        if low <= 0 <= high:
            sign_low = "down" if low < 0 else "up"
            sign_high = "down" if high < 0 else "up"
            return (
                f"{opening}, but the {level} runs from {amount(low)} {sign_low} to "
                f"{amount(high)} {sign_high} a {per}, so the data are consistent with no "
                "change in trend."
            )
        a, b = sorted((abs(low), abs(high)))
        bounds = (
            f"{format_percent(a)} to {format_percent(b)}"
            if effect.scale in ("ratio", "odds_ratio")
            else f"{format_number(a, number_decimals(estimate))} to "
            f"{format_number(b, number_decimals(estimate))}"
        )
        return f"{opening} ({level} {bounds} a {per})."

    def summary(self) -> str:
        """A readable multi-line report (the command line's default output)."""
        pct = f"{self.confidence_level:.0%}"
        lines = [
            f"Interrupted time series: {self.series or '(unnamed series)'}",
            f"  model: {self.model} ({self.link} link), {self.frequency}, "
            f"{self.n_obs} points fitted ({self.n_pre} before, {self.n_post} after)",
        ]
        details = ", ".join(f"{k}={v:.4g}" for k, v in self.model_details.items())
        if details:
            lines.append(f"  model details: {details}")
        lines.append(f"  effects ({pct} CI):")
        for item in self.effects:
            per = f" per {item.per}" if item.per else ""
            against = " vs comparison" if item.comparison else ""
            lines.append(
                f"    {item.intervention} {item.term}{against}: {item.estimate:.4g}{per} "
                f"({item.ci_low:.4g} to {item.ci_high:.4g}), {item.scale}, p={item.p_value:.3g}"
            )
        for h in self.horizon_effects:
            lines.append(
                f"  at {h.months_after} months ({period_label(h.date, self.frequency)}) after "
                f"{h.intervention}: "
                f"fitted {h.fitted:.4g} vs counterfactual {h.counterfactual:.4g}; "
                f"difference {h.absolute:.4g} ({h.absolute_low:.4g} to {h.absolute_high:.4g}), "
                f"relative {h.relative:+.1%} ({h.relative_low:+.1%} to {h.relative_high:+.1%})"
            )
        for c in self.cumulative_effects:
            lines.append(
                f"  cumulative {c.intervention} {period_label(c.start, self.frequency)} to "
                f"{period_label(c.end, self.frequency)}: "
                f"{c.difference:.4g} ({c.ci_low:.4g} to {c.ci_high:.4g}) vs expected "
                f"{c.counterfactual_total:.4g}"
            )
        t = self.trend
        if self.design == "multiple_baseline":
            lines.append(
                f"  multiple baseline: {len(self.groups)} groups ({', '.join(self.groups)})"
            )
            for item in self.group_effects:
                per = f" per {item.per}" if item.per else ""
                lines.append(
                    f"    {item.group}: {item.intervention} {item.term}: {item.estimate:.4g}{per} "
                    f"({item.ci_low:.4g} to {item.ci_high:.4g}), {item.scale}"
                )
        lines.append(
            f"  underlying trend: {t.estimate:.4g} per {t.per} ({t.ci_low:.4g} to "
            f"{t.ci_high:.4g}), {t.scale}"
        )
        d = self.diagnostics
        diag = f"  diagnostics: Durbin-Watson {d.durbin_watson:.3f}; Ljung-Box({d.ljung_box_lags}) "
        diag += f"p={d.ljung_box_p:.3g}"
        if d.breusch_godfrey_p is not None:
            diag += f"; Breusch-Godfrey({d.breusch_godfrey_lags}) p={d.breusch_godfrey_p:.3g}"
        if d.dispersion is not None:
            diag += f"; dispersion {d.dispersion:.3f}"
        lines.append(diag)
        lines.append(
            "  residual ACF 1-12: " + " ".join("." if math.isnan(v) else f"{v:+.2f}" for v in d.acf)
        )
        if self.placebo is not None:
            lines.append(f"  placebo: {self.placebo.text()}")
        elif self.placebo_note:
            lines.append(f"  placebo: {self.placebo_note}")
        for warning in self.warnings:
            lines.append(f"  warning: {warning.message}")
        if self.verdict is not None:
            lines.append(f"  verdict: {self.verdict.badge}")
            for reason in (*self.verdict.reasons, *self.verdict.cautions):
                lines.append(f"    {reason.code}: {reason.detail}")
        lines.append(f"  summary: {self.sentence()}")
        return "\n".join(lines)

    # -- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (NaN becomes null)."""
        coefficients = [
            {
                "term": row.term,
                "estimate": row.estimate,
                "se": row.se,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "p_value": row.p_value,
            }
            for row in self.coefficient_table.itertuples(index=False)
        ]
        return _clean(
            {
                "series": self.series,
                "model": self.model,
                "link": self.link,
                "frequency": self.frequency,
                "confidence_level": self.confidence_level,
                "n_obs": self.n_obs,
                "n_pre": self.n_pre,
                "n_post": self.n_post,
                "effects": [e.to_dict() for e in self.effects],
                "horizon_effects": [h.to_dict() for h in self.horizon_effects],
                "cumulative_effects": [c.to_dict() for c in self.cumulative_effects],
                "dispersion": self.dispersion,
                "trend": self.trend.to_dict(),
                "diagnostics": self.diagnostics.to_dict(),
                "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
                "placebo": None if self.placebo is None else self.placebo.to_dict(),
                "placebo_note": self.placebo_note or None,
                "verdict": None if self.verdict is None else self.verdict.to_dict(),
                "design": self.design,
                **(
                    {
                        "groups": list(self.groups),
                        "group_effects": [e.to_dict() for e in self.group_effects],
                        "group_horizon_effects": [h.to_dict() for h in self.group_horizon_effects],
                    }
                    if self.design == "multiple_baseline"
                    else {}
                ),
                "coefficients": coefficients,
                "model_details": dict(self.model_details),
                "summary": self.sentence(),
            }
        )

    def to_json(self, indent: int | None = None) -> str:
        """`to_dict()` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)
