"""Small-number suppression (statistical disclosure control) at the output boundary.

Pages, downloads, slides and exports pass figures through these functions just before a
reader sees them. Models (SPC, ITS, equity rates) always use the exact figures; nothing
here is ever applied to the data a model is fitted to.

Presets (domain.md section 3, with its sources):

``mhsds`` (NHS England Mental Health Services Data Set monthly statistics)
    A count under 5, including 0 and a missing value, is shown as ``*``; any other count
    is rounded to the nearest 5. A percentage is ``*`` when its numerator or denominator
    is under 5 (or missing); otherwise it is computed from the *rounded* parts and, as in
    the MHSDS publication, shown as a whole number. Rates per population are ``*`` when
    the event count is under 5, otherwise computed from the rounded count. Means and
    medians are ``*`` when based on fewer than 5 values.

``nhs_secondary_care`` (NHS Digital HES/ECDS methodology from September 2018)
    A count of 1 to 7 is shown as ``*``; 0 is shown as 0; any other count is rounded to
    the nearest 5. Percentages are calculated from the *rounded* numerator and
    denominator, and are ``*`` when either part is. Rates per population are ``*`` when
    the event count is, otherwise computed from the rounded count. Means and medians are
    not shown where based on 1 to 7 values.

``none``
    Figures as computed (internal management information only; never public).

The one rule behind every controlled output: **a figure shown beside controlled counts is
computed only from the counts as shown.** Whenever a preset applies (public outputs
always; the board's for breakdowns and neighbourhood-filtered figures), every derived
figure (a percentage, a rate, the bounds of its interval, a rate ratio and its interval,
a change, a mean of counts, an SPC centre line and its limits) is worked out from the
*controlled* counts, and is suppressed when any count it is built from is suppressed. A
total is itself a count: the exact total, controlled (see below). A reader can therefore
never get back to an exact count by arithmetic: rate x population / 100,000, percentage x
denominator / 100, inverting an interval, or subtracting shown parts from a total all
give back the rounded count (or a range), never the exact one. (Computing from
the exact parts, as the MHSDS publication code does for its percentages, is not safe: a
count shown as 15 beside a rate from 17 events gives the 17 away (rate x person-years /
100,000), and 35% shown beside "5" of "15" can only be 6 of 17: no other pair of counts
that rounds to 5 and 15 makes a whole-number 35%.)
Only models are left as computed: ITS fitted values and counterfactuals, which are complex
statistics (NHS Digital: no control for them); the observed values drawn beside them are
controlled like any other figure.

Choices made here (documented so that reviewers can disagree precisely):

- Rounding to the nearest 5 rounds halves *away from zero* (12.5 -> 15). Whole-number
  counts never sit on a half (x / 5 is never k + 0.5 for an integer x), so this only
  matters for non-integer sums.
- The suppressed ranges are read on the real line, so that a non-integer value cannot
  slip between the integers: ``mhsds`` suppresses ``|x| < 5``; ``nhs_secondary_care``
  suppresses ``0 < |x| < 8``. Counts are never negative in practice; a negative value is
  controlled by its size, keeping its sign, rather than crashing a page.
- Derived figures follow their inputs (see the rule above): computed from the counts as
  shown (`count_as_shown`), suppressed when one of them is.
- Totals beside parts are rounded on their own (`control_total`: the exact total,
  controlled), never the sum of the exact parts, so parts need not add up to totals. A
  total is suppressed too where, with the parts as shown, it would leave only one value
  for a part (under mhsds, '*' and '*' beside '10' can only be 4 and 4).
- SPC charts of a controlled series (`control_spc_points`) show each point as shown, and
  a centre line and limits worked out by the same XmR rules from the points as shown;
  where a point that feeds the lines is suppressed, the lines are suppressed too. The
  special-cause flags and icons stay those of the exact series (the SPC reading itself
  uses exact figures).
- Top level: when a context sets ``area_totals_unrounded``, a whole-area figure (no
  breakdown and no neighbourhood filter) is shown as computed, like the England totals in
  NHS publications. Breakdown cells are always controlled.
- What is controlled (`is_controlled`): figures about individuals: counts of people and
  events (referrals, detentions, admissions, bed days, visits, job starts) and the
  percentages, rates and averages built from them. Money (unit GBP) and capacity
  measures that are not about individuals (unit ``beds``, average occupied beds) are not
  controlled, following NHS Digital's "no control for values not about individuals". A
  metric with a new unit is controlled by default: the safe side.
- Population denominators (mid-year estimates) are published figures and are not
  controlled (nor are person-years built from them). Means and medians of values (days
  waited, scores) are not rounded; they are hidden when based on too few values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from metrics.definitions.board_files import DisclosureContext
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import MetricDef
from metrics.formatting import format_value
from metrics.sql.series import SeriesResult

PolicyName = Literal["mhsds", "nhs_secondary_care", "none"]
Context = Literal["board", "public"]

SUPPRESSED = "*"
MISSING = "–"  # the same dash formatting.format_value uses for a missing value

MHSDS_THRESHOLD = 5  # mhsds: counts under 5 (including 0) are suppressed
SECONDARY_CARE_MAX_SUPPRESSED = 7  # nhs_secondary_care: 1 to 7 are suppressed
ROUNDING_BASE = 5
MHSDS_PERCENT_DECIMALS = 0  # MHSDS publishes controlled proportions as whole numbers

# Units of measures that are not about individuals (NHS Digital: no control for them).
NOT_ABOUT_INDIVIDUALS_UNITS = frozenset({"gbp", "£", "beds"})

LEGEND = (
    "* = a small number (fewer than 5 / 1 to 7 people) suppressed to protect privacy; "
    "other counts rounded to the nearest 5, so parts may not add up to totals"
)


@dataclass(frozen=True)
class Policy:
    """A disclosure-control preset and whether whole-area totals are 'top level'."""

    name: PolicyName
    area_totals_unrounded: bool = False

    @classmethod
    def from_context(cls, context: DisclosureContext) -> Policy:
        return cls(name=context.policy, area_totals_unrounded=context.area_totals_unrounded)

    def applies(self, *, top_level: bool = False) -> bool:
        """Whether figures are controlled at all (not for 'none', nor for an exempt total)."""
        if self.name == "none":
            return False
        return not (top_level and self.area_totals_unrounded)

    def is_small(self, count: float | None) -> bool:
        """Whether a count lies in this policy's suppressed range (missing counts: mhsds)."""
        if _missing(count):
            return self.name == "mhsds"  # MHSDS: NULL is suppressed like a small count
        assert count is not None
        size = abs(count)
        if self.name == "mhsds":
            return size < MHSDS_THRESHOLD
        if self.name == "nhs_secondary_care":
            return 0 < size < SECONDARY_CARE_MAX_SUPPRESSED + 1
        return False


MHSDS = Policy("mhsds")
NHS_SECONDARY_CARE = Policy("nhs_secondary_care")
NO_CONTROL = Policy("none")


@dataclass(frozen=True)
class Cell:
    """A figure as a reader sees it.

    `value` is the number shown (rounded where the policy rounds), None when suppressed or
    missing; `text` is what is printed ("*", "1,235", "57%", "–").
    """

    value: float | None
    text: str
    suppressed: bool = False


SUPPRESSED_CELL = Cell(None, SUPPRESSED, True)
MISSING_CELL = Cell(None, MISSING, False)


def policy_for(catalogue: Catalogue, context: Context) -> Policy:
    """The policy configured for `context` in config/disclosure.yaml.

    Public outputs are never uncontrolled: the configuration refuses it, and should a
    catalogue be built some other way, this falls back to the stricter
    nhs_secondary_care preset with whole-area totals rounded too.
    """
    if context not in ("board", "public"):
        raise ValueError(f"unknown disclosure context '{context}': use 'board' or 'public'")
    configured = getattr(catalogue.disclosure, context)
    policy = Policy.from_context(configured)
    if context == "public" and policy.name == "none":
        return NHS_SECONDARY_CARE
    return policy


def round_to_base(value: float, base: int = ROUNDING_BASE) -> float:
    """`value` rounded to the nearest multiple of `base`, halves away from zero."""
    steps = math.floor(abs(value) / base + 0.5)
    return math.copysign(steps * base, value) + 0.0  # + 0.0: no "-0"


def control_count(
    count: float | None, policy: Policy, *, top_level: bool = False, decimals: int = 0
) -> Cell:
    """A count of people or events as shown under `policy`.

    `decimals` applies only where the count is shown as computed (policy 'none' or an
    exempt whole-area total); controlled counts are whole multiples of 5.
    """
    if not policy.applies(top_level=top_level):
        if _missing(count):
            return MISSING_CELL
        assert count is not None
        return Cell(float(count), _number(count, decimals))
    if policy.is_small(count):
        return SUPPRESSED_CELL
    if _missing(count):
        return MISSING_CELL
    assert count is not None
    shown = round_to_base(count)
    return Cell(shown, _number(shown, 0))


def count_as_shown(count: float | None, policy: Policy, *, top_level: bool = False) -> float | None:
    """The number a derived figure is computed from: the count as shown.

    Rounded under a policy that applies, None when suppressed or missing; the exact count
    where the policy does not apply ('none', or an exempt whole-area total). Rates,
    intervals, ratios, totals and means shown beside counts are built from this, never
    from the exact count, so they cannot be turned back into it.
    """
    return control_count(count, policy, top_level=top_level).value


def control_total(
    parts: Iterable[float | None],
    policy: Policy,
    *,
    top_level: bool = False,
    decimals: int = 0,
) -> Cell:
    """A total shown beside its parts: the exact total, controlled on its own.

    Never the sum of the exact parts shown unrounded (that total minus the other shown
    parts would give a suppressed part back), and not the sum of the rounded parts
    either: totals are rounded independently, as in NHS publications, so parts need not
    add up to the total. Missing parts are left out; all missing gives a missing total.

    Rounding alone is not always enough: under mhsds, parts '*' and '*' beside a total of
    '10' can only be 4 and 4 (the total is at least 8, each part at most 4). So where the
    controlled parts and total, read as ranges of whole numbers, leave only one value for
    a part that is not shown exactly, the total is suppressed too.
    """
    values = list(parts)
    known = [float(x) for x in values if not _missing(x)]  # type: ignore[arg-type]
    if not known:
        return control_count(None, policy, top_level=top_level, decimals=decimals)
    total = control_count(math.fsum(known), policy, top_level=top_level, decimals=decimals)
    if not policy.applies(top_level=top_level) or total.value is None:
        return total
    part_cells = [control_count(x, policy) for x in known]
    if _pins_a_part(total, part_cells, policy):
        return SUPPRESSED_CELL
    return total


def _reader_range(cell: Cell, policy: Policy) -> tuple[int, int]:
    """The whole numbers a reader cannot tell apart from a controlled count (inclusive)."""
    if cell.suppressed:
        if policy.name == "mhsds":
            return 0, MHSDS_THRESHOLD - 1
        return 1, SECONDARY_CARE_MAX_SUPPRESSED
    assert cell.value is not None
    low, high = math.floor(cell.value) - 2, math.ceil(cell.value) + 2
    inside = [
        c
        for c in range(max(low, 0), high + 1)
        if not policy.is_small(c) and round_to_base(c) == cell.value
    ]
    return (inside[0], inside[-1]) if inside else (int(cell.value), int(cell.value))


def _pins_a_part(total: Cell, parts: list[Cell], policy: Policy) -> bool:
    """Whether `total` minus the other parts (all as ranges) leaves one value for a part
    that is not shown exactly."""
    ranges = [_reader_range(c, policy) for c in parts]
    low_total, high_total = _reader_range(total, policy)
    low_sum = sum(low for low, _ in ranges)
    high_sum = sum(high for _, high in ranges)
    for (low, high), cell in zip(ranges, parts, strict=True):
        if low == high and not cell.suppressed:
            continue  # shown exactly already (a 0 under nhs_secondary_care)
        others_low, others_high = low_sum - low, high_sum - high
        first = max(low, low_total - others_high)
        last = min(high, high_total - others_low)
        if first == last:
            return True
    return False


def control_count_mean(
    counts: Iterable[float | None],
    policy: Policy,
    *,
    top_level: bool = False,
    decimals: int = 1,
) -> Cell:
    """The mean of several counts (e.g. an average month) as shown.

    Under a policy that applies: the mean of the counts as shown, suppressed when any of
    them is (the mean times the number of counts, less the other shown counts, would
    otherwise give a suppressed count back). Missing counts are left out under
    nhs_secondary_care; under mhsds a missing count is suppressed like a small one.
    """
    values = list(counts)
    if policy.applies(top_level=top_level):
        cells = [control_count(x, policy) for x in values]
        if any(c.suppressed for c in cells):
            return SUPPRESSED_CELL
        shown = [c.value for c in cells if c.value is not None]
    else:
        shown = [float(x) for x in values if not _missing(x)]  # type: ignore[arg-type]
    if not shown:
        return MISSING_CELL
    mean = round(math.fsum(shown) / len(shown), decimals) + 0.0
    return Cell(mean, _number(mean, decimals))


def control_ratio(
    numerator: float | None,
    denominator: float | None,
    policy: Policy,
    *,
    per: float = 100,
    decimals: int = 1,
    top_level: bool = False,
) -> Cell:
    """`per` x numerator / denominator (a percentage when per = 100) as shown.

    Both parts are counts about people (a proportion such as 'accepted / referred'); for
    a rate per population, whose denominator is a published estimate, use `control_rate`.
    """
    if not policy.applies(top_level=top_level):
        return _ratio_cell(numerator, denominator, per, decimals)
    if policy.is_small(numerator) or policy.is_small(denominator):
        return SUPPRESSED_CELL
    if _missing(numerator) or _missing(denominator):
        return MISSING_CELL
    assert numerator is not None and denominator is not None
    # Both presets: from the parts as shown (rounded), so that the percentage times the
    # shown denominator gives back the shown numerator and never the exact one.
    shown_decimals = decimals
    if policy.name == "mhsds" and per == 100:
        shown_decimals = MHSDS_PERCENT_DECIMALS  # MHSDS publishes whole-number percentages
    return _ratio_cell(round_to_base(numerator), round_to_base(denominator), per, shown_decimals)


def control_rate(
    events: float | None,
    population: float | None,
    policy: Policy,
    *,
    per: float = 100_000,
    decimals: int = 1,
    top_level: bool = False,
) -> Cell:
    """A rate per `per` population (e.g. per 100,000 adults) as shown.

    Suppressed when the event count is; otherwise computed from the event count as shown
    (rounded, under both presets) over the population (a published estimate).
    """
    if not policy.applies(top_level=top_level):
        return _ratio_cell(events, population, per, decimals)
    if policy.is_small(events):
        return SUPPRESSED_CELL
    if _missing(events) or _missing(population):
        return MISSING_CELL
    assert events is not None
    return _ratio_cell(round_to_base(events), population, per, decimals)


def control_mean(
    value: float | None,
    n: float | None,
    policy: Policy,
    *,
    decimals: int = 1,
    top_level: bool = False,
) -> Cell:
    """A mean, median or percentile of `n` values as shown (not rounded to 5).

    Not shown where based on a suppressed number of values (mhsds: under 5;
    nhs_secondary_care: 1 to 7).
    """
    if policy.applies(top_level=top_level) and policy.is_small(n):
        return SUPPRESSED_CELL
    if _missing(value):
        return MISSING_CELL
    assert value is not None
    shown = round(float(value), decimals) + 0.0
    return Cell(shown, _number(shown, decimals))


def control_change(
    current: float | None,
    previous: float | None,
    policy: Policy,
    *,
    top_level: bool = False,
    decimals: int = 0,
) -> Cell:
    """The change between two counts as shown: the difference of the *shown* counts.

    Suppressed when either count is, so an exact difference can never be combined with a
    rounded total to recover a small number.
    """
    now = control_count(current, policy, top_level=top_level, decimals=decimals)
    before = control_count(previous, policy, top_level=top_level, decimals=decimals)
    if now.suppressed or before.suppressed:
        return SUPPRESSED_CELL
    if now.value is None or before.value is None:
        return MISSING_CELL
    change = now.value - before.value + 0.0
    return Cell(change, f"{change:+,.{decimals}f}")


def is_controlled(metric: MetricDef) -> bool:
    """Whether the metric is about individuals, so its figures are disclosure-controlled.

    Money and capacity measures (units in NOT_ABOUT_INDIVIDUALS_UNITS) are not; every
    other unit is (counts of people and events, and what is derived from them).
    """
    return not metric.is_money and metric.unit.strip().lower() not in NOT_ABOUT_INDIVIDUALS_UNITS


def control_value(
    metric: MetricDef,
    policy: Policy,
    *,
    value: float | None,
    numerator: float | None = None,
    denominator: float | None = None,
    n: float | None = None,
    top_level: bool = False,
) -> Cell:
    """One monthly figure of `metric` as shown, using the parts a series frame carries."""
    if not is_controlled(metric) or not policy.applies(top_level=top_level):
        if _missing(value):
            return MISSING_CELL
        assert value is not None
        return Cell(float(value), format_value(value, metric, with_unit=False))
    if metric.measure in ("count", "sum"):
        return control_count(value, policy, decimals=metric.decimals)
    if metric.measure == "rate":
        per = metric.rate.per if metric.rate else 100_000
        return control_rate(numerator, denominator, policy, per=per, decimals=metric.decimals)
    if metric.measure == "ratio":
        return control_ratio(
            numerator, denominator, policy, per=metric.per, decimals=metric.decimals
        )
    # mean, median and percentiles: shown as computed unless based on too few values.
    return control_mean(value, n, policy, decimals=metric.decimals)


def control_series(result: SeriesResult, policy: Policy) -> pd.DataFrame:
    """A display copy of a series frame under `policy`.

    value, numerator, denominator, n (and rows, when the frame has it) hold the figures as
    shown (NaN where suppressed or missing), plus `display` (the text shown) and
    `suppressed`. Each value is computed from its parts as shown (see `control_value`).
    Population denominators of rates are published estimates and are left as they are.
    The whole-area series (no breakdown, no neighbourhood filter) is top level.
    """
    metric = result.metric
    frame = result.frame.copy()
    top_level = result.query.breakdown is None and result.query.lcn is None
    controlled = is_controlled(metric) and policy.applies(top_level=top_level)
    cells = [
        control_value(
            metric,
            policy,
            value=_float(row.value),
            numerator=_float(row.numerator),
            denominator=_float(row.denominator),
            n=_float(row.n),
            top_level=top_level,
        )
        for row in frame.itertuples(index=False)
    ]
    frame["value"] = pd.Series([_nan(c.value) for c in cells], index=frame.index, dtype="float64")
    if controlled:

        def counts(column: str) -> pd.Series:
            shown = [_nan(control_count(_float(x), policy).value) for x in frame[column]]
            return pd.Series(shown, index=frame.index, dtype="float64")

        frame["numerator"] = counts("numerator")
        if metric.measure == "ratio":
            frame["denominator"] = counts("denominator")
        frame["n"] = counts("n")
        if "rows" in frame:
            frame["rows"] = counts("rows")
    frame["display"] = pd.Series([c.text for c in cells], index=frame.index, dtype="str")
    frame["suppressed"] = pd.Series([c.suppressed for c in cells], index=frame.index, dtype=bool)
    return frame


SPC_LINES = ("mean", "lpl", "upl", "nlpl", "nupl")
SPC_LIMITS = ("lpl", "upl", "nlpl", "nupl")
SPC_CENTRE = "centre"  # the centre line drawn: the mean, or the median of a run chart


def control_spc_points(
    points: pd.DataFrame,
    frame: pd.DataFrame,
    metric: MetricDef,
    policy: Policy,
    *,
    top_level: bool,
) -> pd.DataFrame:
    """SPC points (`SPCResult.points`) as shown under `policy`.

    `frame` is the exact series the SPC was computed from (month, [group], value,
    numerator, denominator, n). Under a policy that applies to a controlled metric:

    - `value` is each month's figure as shown (`control_value`: rounded counts, figures
      from rounded parts), NaN where suppressed or missing, matched on the month (and the
      group, for a facet per group);
    - the centre line and limits (mean, lpl, upl, nlpl, nupl, and `centre` where the
      points have it) of each facet and rebase group are worked out by the XmR rules
      (the metric's `fix_after_n_points` and outlier screen) from the values as shown; a
      group the reading drew as a run chart (`chart_kind` "run") keeps no limits and its
      centre is the median of the values as shown. Where a point feeding them is
      suppressed they are all NaN: an exact mean beside rounded points would give a small
      count back (a run of suppressed 4s has a mean of exactly 4).

    Flags, point types, chart kinds and targets are kept (they come from the exact
    reading). Otherwise (policy 'none', an exempt whole-area series, money or beds) a copy
    as computed.
    """
    # Imported here: the SPC package is not needed by anything else in this module.
    from metrics.spc.laney import laney_limits
    from metrics.spc.xmr import baseline_median, process_limits

    out = points.copy()
    if not is_controlled(metric) or not policy.applies(top_level=top_level):
        return out
    by_group = "group" in frame.columns
    facets = out["facet"] if "facet" in out else pd.Series([None] * len(out), index=out.index)
    faceted = bool(facets.notna().any())
    if by_group and not faceted and frame["group"].nunique(dropna=False) > 1:
        raise ValueError("the points have no facet but the series has several groups")
    shown: dict[tuple[object, pd.Timestamp], tuple[float, bool]] = {}
    parts: dict[tuple[object, pd.Timestamp], tuple[float, float]] = {}
    for row in frame.itertuples(index=False):
        cell = control_value(
            metric,
            policy,
            value=_float(row.value),
            numerator=_float(row.numerator),
            denominator=_float(row.denominator),
            n=_float(getattr(row, "n", None)),
            top_level=top_level,
        )
        hidden = cell.suppressed and _float(row.value) is not None
        key = (row.group if by_group and faceted else None, pd.Timestamp(row.month))
        shown[key] = (_nan(cell.value), hidden)
        # A Laney chart's limits come from the parts: the counts as shown (and, for a rate,
        # the published population, which is not controlled).
        numerator = count_as_shown(_float(row.numerator), policy, top_level=top_level)
        denominator = _float(row.denominator)
        if metric.measure == "ratio":
            denominator = count_as_shown(denominator, policy, top_level=top_level)
        parts[key] = (_nan(numerator), _nan(denominator))
    found = [
        shown.get((facet if faceted else None, pd.Timestamp(date)), (math.nan, True))
        for facet, date in zip(facets, out["date"], strict=True)
    ]
    out["value"] = pd.Series([v for v, _ in found], index=out.index, dtype="float64")
    hidden = pd.Series([h for _, h in found], index=out.index, dtype=bool)
    lines = [c for c in (*SPC_LINES, SPC_CENTRE) if c in out]
    if not lines:
        return out
    spc = metric.spc
    keys = [facets.astype("object").where(facets.notna(), "")]
    if "rebase_group" in out:
        keys.append(out["rebase_group"])
    order = out.sort_values("date").index if "date" in out else out.index
    for _, members in out.loc[order].groupby(keys, sort=False, dropna=False):
        index = members.index
        baseline = index if spc.fix_after_n_points is None else index[: spc.fix_after_n_points]
        if hidden.loc[baseline].any():
            out.loc[index, lines] = math.nan
            continue
        values = out.loc[index, "value"].to_numpy(dtype=float)
        kind = str(members["chart_kind"].iloc[0]) if "chart_kind" in out else "xmr"
        if kind.startswith("laney"):
            found_parts = [
                parts.get((f if faceted else None, pd.Timestamp(d)), (math.nan, math.nan))
                for f, d in zip(facets.loc[index], out.loc[index, "date"], strict=True)
            ]
            laney = laney_limits(
                [p[0] for p in found_parts],
                [p[1] for p in found_parts],
                kind="u" if kind.endswith("_u") else "p",
                per=metric.rate.per if metric.rate else metric.per,
                fix_after_n_points=spc.fix_after_n_points,
                screen_outliers=spc.screen_outliers,
            )
            for column in lines:
                if column in (SPC_CENTRE, "mean"):
                    out.loc[index, column] = laney.mean
                else:
                    out.loc[index, column] = getattr(laney, column)
            continue
        limits = process_limits(
            values, fix_after_n_points=spc.fix_after_n_points, screen_outliers=spc.screen_outliers
        )
        run_chart = "chart_kind" in out and members["chart_kind"].iloc[0] == "run"
        for column in lines:
            if column == SPC_CENTRE:
                out.loc[index, column] = (
                    baseline_median(values, fix_after_n_points=spc.fix_after_n_points)
                    if run_chart
                    else limits.mean
                )
            elif column in SPC_LIMITS and run_chart:
                out.loc[index, column] = math.nan
            else:
                out.loc[index, column] = getattr(limits, column)
    return out


def legend(policy: Policy) -> str:
    """The footnote for '*' under `policy` ('' when nothing is ever suppressed)."""
    if policy.name == "mhsds":
        text = (
            "* = a small number (fewer than 5, including 0) suppressed to protect privacy; "
            "other counts rounded to the nearest 5, so parts may not add up to totals."
        )
    elif policy.name == "nhs_secondary_care":
        text = (
            "* = a small number (1 to 7 people) suppressed to protect privacy; 0 is shown; "
            "other counts rounded to the nearest 5, so parts may not add up to totals."
        )
    else:
        return ""
    if policy.area_totals_unrounded:
        text += " Whole-area totals are shown unrounded."
    return text


def shows_suppression(items: pd.DataFrame | Iterable[Cell | str]) -> bool:
    """Whether anything shown is a '*' (so the page must show the legend)."""
    if isinstance(items, pd.DataFrame):
        if "suppressed" in items and bool(items["suppressed"].any()):
            return True
        texts = items.select_dtypes(exclude="number").astype(str)
        return bool((texts == SUPPRESSED).to_numpy().any())
    return any((i.suppressed if isinstance(i, Cell) else i == SUPPRESSED) for i in items)


# --------------------------------------------------------------------------- helpers


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _float(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _number(value: float, decimals: int) -> str:
    value = round(float(value), decimals) + 0.0
    return f"{value:,.{decimals}f}"


def _ratio_cell(
    numerator: float | None, denominator: float | None, per: float, decimals: int
) -> Cell:
    if _missing(numerator) or _missing(denominator) or denominator == 0:
        return MISSING_CELL
    assert numerator is not None and denominator is not None
    shown = round(per * numerator / denominator, decimals) + 0.0
    suffix = "%" if per == 100 else ""
    return Cell(shown, f"{shown:,.{decimals}f}{suffix}")
