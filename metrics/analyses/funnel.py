"""Funnel plots: is any group further from the whole area's figure than chance allows?

A funnel plot puts each group (a neighbourhood, team or provider) at its size on the x
axis and its figure on the y axis, around the figure for all the groups together (the
target), with control limits that narrow as groups get bigger: 95% (about 1 in 20 groups
falls outside by chance) and 99.8% (about 1 in 500). Spiegelhalter DJ. "Funnel plots for
comparing institutional performance", Statistics in Medicine 2005; 24(8):1185-1202,
doi:10.1002/sim.1970.

Overdispersion. Real groups differ by more than sampling chance (case mix, recording), so
with many groups plain limits flag too many. NHS indicator methodology (NHS Digital's
SHMI, and the NHS-R community's FunnelPlotR package that follows it) widens the limits by
an **additive random-effects** term estimated from **winsorised z-scores**: Spiegelhalter
DJ. "Handling over-dispersion of performance indicators", Quality and Safety in Health
Care 2005; 14(5):347-351, doi:10.1136/qshc.2005.013755; Spiegelhalter DJ et al.
"Statistical methods for healthcare regulation: rating, screening and surveillance",
JRSS A 2012; 175(1):1-47. That is the method here, step by step:

1. Each group's figure on a variance-stabilising scale (Spiegelhalter 2005, QSHC, table 1):
   - proportion r/n:  Y = asin(sqrt(r/n)),  s = 1 / (2 sqrt(n)),
     target asin(sqrt(sum r / sum n));
   - rate O events in E person-years: Y = sqrt(O/E), s = 1 / (2 sqrt(E)),
     target sqrt(sum O / sum E) (sqrt(O) has variance about 1/4 for a Poisson count);
2. z_i = (Y_i - target) / s_i;
3. the z-scores are winsorised at their 10th and 90th centiles (values beyond are set to
   the centile; centiles by linear interpolation between order statistics, R's type 7 and
   numpy's default, as in FunnelPlotR), so that one extreme group cannot set the limits;
4. phi = sum(z_w^2) / I over the I groups (the overdispersion ratio);
5. tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w = 1 / s^2 (DerSimonian and
   Laird's moment estimator), and 0 when I phi <= I - 1 (no more spread than chance);
6. limits at size n: target +- z sqrt(s(n)^2 + tau^2) on the transformed scale, with
   z = 1.959964 (95%) and 3.090232 (99.8%), transformed back (sin^2 for proportions,
   squared for rates; a lower limit below zero is zero, an upper one above 100% is 100%).

Two choices of ours, both said on the page:

- With fewer than `MIN_GROUPS_FOR_ADJUSTMENT` groups the between-group variance cannot
  be estimated with any confidence, so tau^2 is 0 and the limits allow for chance alone
  (with the 3 neighbourhoods of the sample, one extreme group would otherwise set the
  limits; the NHS methods are used on the order of a hundred trusts).
- Limits are adjusted only between services and places (neighbourhoods, teams,
  providers), whose differences partly reflect what the indicator does not measure. They
  are not adjusted between population groups (`POPULATION_GROUPS`: ethnicity, age,
  gender): there the spread between groups is the finding (a detention rate four times
  another's would otherwise be absorbed into wider limits and read as "within the
  limits").

Disclosure. Under a controlled policy every figure drawn comes from controlled counts:
each group's pooled numerator (and, for a proportion, denominator) is controlled as one
count (`count_as_shown`: rounded to 5, suppressed when small), its point is worked out
from the counts as shown, and the target, z-scores, tau^2 and limits from those points
only. A group whose count is suppressed is not drawn and is listed as not shown; it is
left out of the target too. Person-years are published population estimates and are not
controlled.

Which months are pooled. Record-level sources (each row an event) are pooled over the
period; a proportion from a monthly return (which may count the same people every month,
a caseload) is compared on the latest month in the period instead, so nobody is counted
twice. Provisional months (still filling up) are left out, as in the SPC and equity
readings.

The engine does not import Streamlit; charts are in `metrics.charts.funnel_chart`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from metrics.analyses.disclosure import Policy, count_as_shown, is_controlled
from metrics.analyses.equity import provisional_start
from metrics.board import Board
from metrics.definitions.models import MetricDef
from metrics.sql.series import SeriesError, SeriesQuery

Kind = Literal["proportion", "rate"]

Z95 = 1.959963984540054
Z998 = 3.090232306167813
WINSORISE = 0.10
MIN_GROUPS = 2
MIN_GROUPS_FOR_ADJUSTMENT = 5
# Breakdowns by who people are, not by who serves them: limits never adjusted.
POPULATION_GROUPS = frozenset({"ethnicity", "age_band", "gender"})

INSIDE = "inside both limits"


class FunnelError(ValueError):
    """A funnel plot cannot be drawn; the message is for readers."""


@dataclass(frozen=True)
class FunnelPoint:
    """One group as drawn: its counts as shown, its figure, z-scores and its limits."""

    group: str
    numerator: float  # events (rate) or numerator (proportion), as shown
    denominator: float  # person-years (rate) or denominator (proportion), as shown
    value: float  # the figure, times `Funnel.per`
    z: float  # (Y - target) / s, plain
    z_winsorised: float
    z_adjusted: float  # (Y - target) / sqrt(s^2 + tau^2)
    lower95: float
    upper95: float
    lower998: float
    upper998: float

    @property
    def position(self) -> str:
        """'inside both limits', 'above the 95% limit (inside the 99.8% limit)', ..."""
        if self.value > self.upper998:
            return "above both limits"
        if self.value < self.lower998:
            return "below both limits"
        if self.value > self.upper95:
            return "above the 95% limit, inside the 99.8% limit"
        if self.value < self.lower95:
            return "below the 95% limit, inside the 99.8% limit"
        return INSIDE

    @property
    def outside95(self) -> bool:
        return self.value > self.upper95 or self.value < self.lower95

    @property
    def outside998(self) -> bool:
        return self.value > self.upper998 or self.value < self.lower998


@dataclass(frozen=True)
class Funnel:
    """A funnel plot's points, target, overdispersion and limits (all as shown)."""

    kind: Kind
    per: float  # 100 for a percentage, 100,000 for a rate per 100,000
    target: float  # times per
    points: tuple[FunnelPoint, ...]
    phi: float  # overdispersion ratio of the winsorised z-scores
    tau2: float  # between-group variance added (transformed scale); 0 when not adjusted
    adjusted: bool
    not_shown: tuple[str, ...] = ()  # groups whose counts are suppressed
    note: str = ""  # why the limits are not adjusted, or how they are
    title: str = ""  # what is compared, e.g. 'Detentions per 100,000 adults'
    group_label: str = "group"  # what a group is, e.g. 'neighbourhood'
    unit: str = ""  # '%' or 'per 100,000 a year'
    decimals: int = 1
    period: str = ""  # 'April 2019 to January 2025', or the month compared
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def x_title(self) -> str:
        return "Person-years (population x years)" if self.kind == "rate" else "Denominator"

    def value_text(self, value: float) -> str:
        suffix = "%" if self.kind == "proportion" else ""
        return f"{value:,.{self.decimals}f}{suffix}"

    def label(self, point: FunnelPoint) -> str:
        """'North: 23.4% (inside both limits)'."""
        return f"{point.group}: {self.value_text(point.value)} ({point.position})"

    def curve(self, *, steps: int = 120) -> pd.DataFrame:
        """The limits along the x axis (x, lower95, upper95, lower998, upper998)."""
        return funnel_curve(self, steps=steps)


# --------------------------------------------------------------------------- statistics


def transform(kind: Kind, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """The variance-stabilising transform of numerator / denominator."""
    ratio = np.asarray(numerator, dtype=float) / np.asarray(denominator, dtype=float)
    if kind == "proportion":
        return np.arcsin(np.sqrt(np.clip(ratio, 0.0, 1.0)))
    return np.sqrt(np.maximum(ratio, 0.0))


def back_transform(kind: Kind, value: np.ndarray) -> np.ndarray:
    """The figure (as a fraction or a rate per person-year) for a transformed value."""
    value = np.asarray(value, dtype=float)
    if kind == "proportion":
        return np.sin(np.clip(value, 0.0, math.pi / 2)) ** 2
    return np.maximum(value, 0.0) ** 2


def standard_error(denominator: np.ndarray) -> np.ndarray:
    """s = 1 / (2 sqrt(n)) on the transformed scale (both transforms)."""
    return 1.0 / (2.0 * np.sqrt(np.asarray(denominator, dtype=float)))


def winsorise(z: Sequence[float], fraction: float = WINSORISE) -> np.ndarray:
    """z-scores pulled in to their `fraction` and 1 - `fraction` centiles (R type 7)."""
    values = np.asarray(z, dtype=float)
    if len(values) == 0:
        return values
    low, high = np.quantile(values, [fraction, 1 - fraction])
    return np.clip(values, low, high)


def overdispersion(z_winsorised: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(phi, tau^2) from winsorised z-scores and standard errors (see the docstring)."""
    count = len(z_winsorised)
    if count == 0:
        return math.nan, 0.0
    phi = float(np.sum(np.asarray(z_winsorised) ** 2) / count)
    if count * phi <= count - 1:
        return phi, 0.0
    w = 1.0 / np.asarray(s, dtype=float) ** 2
    tau2 = (count * phi - (count - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return phi, max(0.0, float(tau2))


def limits(
    kind: Kind, target: float, denominator: np.ndarray, tau2: float, z: float
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) limits as fractions / rates per person-year at each denominator;
    `target` is on the same scale (not transformed)."""
    centre = float(transform(kind, np.array([target]), np.array([1.0]))[0])
    spread = z * np.sqrt(standard_error(denominator) ** 2 + tau2)
    return back_transform(kind, centre - spread), back_transform(kind, centre + spread)


def build_funnel(
    groups: Sequence[str],
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    kind: Kind,
    per: float,
    min_groups_for_adjustment: int = MIN_GROUPS_FOR_ADJUSTMENT,
    winsorise_fraction: float = WINSORISE,
    adjust: bool = True,
    not_shown: Sequence[str] = (),
    **details: object,
) -> Funnel:
    """A funnel from the counts to draw (already as shown): target, z-scores,
    overdispersion and each point's limits. `adjust=False` keeps the limits to chance
    alone (phi is still reported)."""
    if len(groups) < MIN_GROUPS:
        raise FunnelError(f"a funnel plot needs at least {MIN_GROUPS} groups with figures")
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if (den <= 0).any():
        raise FunnelError("every group needs a denominator above zero")
    target = float(num.sum() / den.sum())
    y = transform(kind, num, den)
    centre = float(transform(kind, np.array([target]), np.array([1.0]))[0])
    s = standard_error(den)
    z = (y - centre) / s
    z_w = winsorise(z, winsorise_fraction)
    phi, tau2 = overdispersion(z_w, s)
    enough = adjust and len(groups) >= min_groups_for_adjustment
    if not adjust:
        note = (
            "These are groups of people, not services, so the limits allow for chance "
            "alone: differences beyond them are differences to act on, not noise."
        )
        tau2 = 0.0
    elif not enough:
        note = (
            f"With {len(groups)} groups the extra variation between groups cannot be "
            "estimated, so the limits allow for chance alone."
        )
        tau2 = 0.0
    elif tau2 > 0:
        note = (
            "The groups differ by more than chance alone would give, so the limits are "
            "widened to allow for it (as NHS indicators are)."
        )
    else:
        note = "The groups differ by no more than chance would give, so the limits are not widened."
    low95, high95 = limits(kind, target, den, tau2, Z95)
    low998, high998 = limits(kind, target, den, tau2, Z998)
    z_adjusted = (y - centre) / np.sqrt(s**2 + tau2)
    points = tuple(
        FunnelPoint(
            str(g),
            float(num[i]),
            float(den[i]),
            float(num[i] / den[i] * per),
            float(z[i]),
            float(z_w[i]),
            float(z_adjusted[i]),
            float(low95[i] * per),
            float(high95[i] * per),
            float(low998[i] * per),
            float(high998[i] * per),
        )
        for i, g in enumerate(groups)
    )
    return Funnel(
        kind=kind,
        per=per,
        target=target * per,
        points=points,
        phi=phi,
        tau2=tau2,
        adjusted=enough and tau2 > 0,
        not_shown=tuple(not_shown),
        note=note,
        **details,  # type: ignore[arg-type]
    )


def funnel_curve(funnel: Funnel, *, steps: int = 120) -> pd.DataFrame:
    """The limit lines from a little left of the smallest group to a little right of
    the largest (a geometric grid)."""
    sizes = [p.denominator for p in funnel.points]
    low, high = max(min(sizes) * 0.5, 1.0), max(sizes) * 1.2
    x = np.geomspace(low, high, steps)
    target = funnel.target / funnel.per
    low95, high95 = limits(funnel.kind, target, x, funnel.tau2, Z95)
    low998, high998 = limits(funnel.kind, target, x, funnel.tau2, Z998)
    return pd.DataFrame(
        {
            "x": x,
            "lower95": low95 * funnel.per,
            "upper95": high95 * funnel.per,
            "lower998": low998 * funnel.per,
            "upper998": high998 * funnel.per,
        }
    )


# --------------------------------------------------------------------------- as shown


def controlled_parts(
    groups: Sequence[str],
    numerators: Sequence[float],
    denominators: Sequence[float],
    *,
    kind: Kind,
    policy: Policy,
    controlled: bool = True,
) -> tuple[list[str], list[float], list[float], list[str]]:
    """The groups to draw and their counts as shown, and the groups not shown.

    Under a policy that applies (and a metric about individuals): each pooled numerator
    is controlled as one count, and so is a proportion's denominator (a rate's
    person-years are published estimates); a group is not shown when a count it needs is
    suppressed or its denominator as shown is zero. Otherwise the exact counts.
    """
    applies = controlled and policy.applies()
    shown_groups: list[str] = []
    shown_num: list[float] = []
    shown_den: list[float] = []
    hidden: list[str] = []
    for group, numerator, denominator in zip(groups, numerators, denominators, strict=True):
        if applies:
            num = count_as_shown(numerator, policy)
            den = count_as_shown(denominator, policy) if kind == "proportion" else denominator
        else:
            num, den = numerator, denominator
        if num is None or den is None or not math.isfinite(den) or den <= 0:
            hidden.append(str(group))
            continue
        shown_groups.append(str(group))
        shown_num.append(float(num))
        shown_den.append(float(den))
    return shown_groups, shown_num, shown_den, hidden


def funnel_kind(metric: MetricDef) -> Kind | None:
    """'rate' for a rate per population, 'proportion' for a percentage of people (a ratio
    metric with per = 100 that is not money); None otherwise."""
    if metric.measure == "rate" and metric.rate is not None:
        return "rate"
    if metric.measure == "ratio" and metric.per == 100 and not metric.is_money:
        return "proportion"
    return None


GROUP_WORDS = {
    "lcn": "neighbourhood",
    "team": "team",
    "provider": "provider",
    "provider_id": "provider",
    "ethnicity": "ethnic group",
    "age_band": "age band",
    "gender": "gender",
}


def breakdown_funnel(
    board: Board,
    metric_id: str,
    query: SeriesQuery,
    policy: Policy,
    *,
    include_provisional: bool = False,
) -> Funnel:
    """The funnel of `metric_id` broken down by `query.breakdown`, as shown under `policy`.

    Raises FunnelError with a reader-facing reason when there is none (not a rate or a
    percentage, no breakdown, fewer than two groups with figures that can be shown).
    """
    metric = board.catalogue.metrics.get(metric_id)
    if metric is None:
        raise FunnelError(f"there is no metric called '{metric_id}'")
    kind = funnel_kind(metric)
    if kind is None:
        raise FunnelError(f"'{metric.title}' is neither a rate nor a percentage")
    if not query.breakdown:
        raise FunnelError("a funnel plot compares the groups of a breakdown")
    try:
        frame = board.series(metric_id, query).frame
    except SeriesError as exc:
        raise FunnelError(str(exc)) from exc
    notes: list[str] = []
    cut = provisional_start(board, metric)
    known = frame[frame["numerator"].notna() & frame["denominator"].notna()]
    if cut is not None and not include_provisional:
        late = known["month"] >= pd.Timestamp(cut)
        if late.any():
            known = known[~late]
            notes.append(f"Months from {cut:%B %Y} are provisional and are left out.")
    known = known[known["denominator"] > 0]
    if known.empty:
        raise FunnelError("no figures in the selected period")
    monthly_return = board.catalogue.sources[metric.source].grain == "monthly"
    if kind == "proportion" and monthly_return:
        latest = known["month"].max()
        missing = sorted(
            set(known["group"].astype(str))
            - set(known.loc[known["month"] == latest, "group"].astype(str))
        )
        known = known[known["month"] == latest]
        period = f"{pd.Timestamp(latest):%B %Y}"
        notes.append(
            f"Compared on the latest month ({period}): a monthly return may count the same "
            "people every month, so months are not added together."
        )
        if missing:
            notes.append("No figure that month for " + ", ".join(missing) + ".")
    else:
        first, last = known["month"].min(), known["month"].max()
        period = f"{pd.Timestamp(first):%B %Y} to {pd.Timestamp(last):%B %Y}"
    pooled = known.assign(group=known["group"].astype(str)).groupby("group", sort=True)
    groups = list(pooled.groups)
    numerators = [float(v) for v in pooled["numerator"].sum()]
    if kind == "rate":
        denominators = [float(v) / 12 for v in pooled["denominator"].sum()]
        per = float(metric.rate.per)
        unit = f"per {per:,.0f} a year"
    else:
        denominators = [float(v) for v in pooled["denominator"].sum()]
        per = float(metric.per)
        unit = "%"
    shown, num, den, hidden = controlled_parts(
        groups,
        numerators,
        denominators,
        kind=kind,
        policy=policy,
        controlled=is_controlled(metric),
    )
    return build_funnel(
        shown,
        num,
        den,
        kind=kind,
        per=per,
        adjust=query.breakdown not in POPULATION_GROUPS,
        not_shown=hidden,
        title=metric.title,
        group_label=GROUP_WORDS.get(query.breakdown, query.breakdown.replace("_", " ")),
        unit=unit,
        decimals=metric.decimals,
        period=period,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- words


def funnel_caption(funnel: Funnel) -> str:
    """'What this shows' for a funnel, in board words."""
    what = "rate" if funnel.kind == "rate" else "percentage"
    size = "population" if funnel.kind == "rate" else "number of people counted"
    return (
        f"Each point is one {funnel.group_label}'s {what} ({funnel.period}), placed by its "
        f"{size}. The solid line is the figure for all of them together "
        f"({funnel.value_text(funnel.target)}). The dashed lines are 95% limits and the "
        "dotted lines 99.8% limits: they are wider for smaller groups, because small "
        "numbers vary more by chance. A point outside the 99.8% limits is very unlikely "
        f"to differ by chance alone. {funnel.note}"
    )


def funnel_alt_text(funnel: Funnel) -> str:
    """The funnel in words: target, each point with its position, groups not shown."""
    parts = "; ".join(funnel.label(p) for p in funnel.points)
    text = (
        f"Funnel plot of {funnel.title.lower()} by {funnel.group_label}, {funnel.period}: "
        f"the figure for all together is {funnel.value_text(funnel.target)}, with 95% and "
        f"99.8% limits. {parts}."
    )
    if funnel.not_shown:
        text += " Not shown (small numbers): " + ", ".join(funnel.not_shown) + "."
    if funnel.adjusted:
        text += " The limits allow for extra variation between groups."
    return text


def funnel_summary(funnel: Funnel) -> str:
    """One sentence: which groups fall outside the limits, if any."""
    outside = [p for p in funnel.points if p.outside998]
    warning = [p for p in funnel.points if p.outside95 and not p.outside998]
    if not outside and not warning:
        if funnel.adjusted:
            return (
                f"Every {funnel.group_label} shown is within the limits: the differences "
                "between them are no bigger than the usual spread between groups."
            )
        return (
            f"Every {funnel.group_label} shown is within the limits: the differences "
            "between them could be down to chance."
        )
    words = []
    if outside:
        words.append(
            ", ".join(f"{p.group} ({funnel.value_text(p.value)})" for p in outside)
            + (" is" if len(outside) == 1 else " are")
            + " outside the 99.8% limits: very unlikely to be chance alone"
        )
    if warning:
        words.append(
            ", ".join(f"{p.group} ({funnel.value_text(p.value)})" for p in warning)
            + (" is" if len(warning) == 1 else " are")
            + " outside the 95% limits only: worth a look, but 1 group in 20 is by chance"
        )
    return "; ".join(words) + "."


def not_shown_text(funnel: Funnel) -> str:
    if not funnel.not_shown:
        return ""
    return "Not shown (numbers too small to show): " + ", ".join(funnel.not_shown) + "."


def funnel_points_frame(funnel: Funnel) -> pd.DataFrame:
    """Points for a chart or download: group, value, the limits at its size, position
    and label (counts as shown only)."""
    return pd.DataFrame(
        [
            {
                "group": p.group,
                "size": p.denominator,
                "value": p.value,
                "lower95": p.lower95,
                "upper95": p.upper95,
                "lower998": p.lower998,
                "upper998": p.upper998,
                "position": p.position,
                "label": funnel.label(p),
            }
            for p in funnel.points
        ],
        columns=[
            "group",
            "size",
            "value",
            "lower95",
            "upper95",
            "lower998",
            "upper998",
            "position",
            "label",
        ],
    )
