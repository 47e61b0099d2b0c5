"""Making Data Count special-cause rules: one small, pure, vectorised function per rule.

Each rule takes plain sequences for ONE rebase group of ONE facet (points in date order)
and returns a numpy array with one item per point. No rule window ever crosses the end
of its input, so calling a rule per rebase group is what keeps windows from crossing a
rebase. The engine (`metrics.spc.engine`) composes the rules in one place.

The names of the window helpers follow NHSRplotthedots v0.2.2 (`R/ptd_calculate_point_type.R`)
so that the reference's rule-level cases (`unit_cases.json`) can be run against them:

- `seven_point_one_side_mean` marks the point that ENDS a run of `run_length` points on one
  side of the mean; `shift` flags every point of such a run;
- `seven_point_trend` marks the point that ENDS `trend_length` points strictly rising (+1) or
  falling (-1); `trend` flags every point of such a trend;
- `two_in_three` flags every point of a 3-point window with >= 2 points in the 2-3 sigma
  band, all on one side of the mean; `part_of_two_in_three` keeps only those close points;
- `special_cause_rule` / `special_cause_direction` / `special_cause_type` apply the label
  precedence (outside limits > trend > two-in-three > shift);
- `point_type`, `variation_icon` and `assurance_type` turn labels into the reference's
  point types and icon names.

Run charts (a group whose XmR limits would carry no information, see `metrics.spc.xmr`)
use their own two rules, as NHS England's Making Data Count run-chart guidance states them:

- `run_chart_shift`: 6 or more consecutive points all above or all below the median; a
  point ON the median neither breaks the run nor counts towards it (and is not flagged);
- `run_chart_trend`: 5 or more consecutive points all going up or all going down; a value
  equal to the one before neither breaks the trend nor counts (and is not flagged, except
  that a trend starts from the last of equal values: where the movement begins).

Missing values (NaN) are never on either side of the mean and never rise or fall, so a
missing point breaks any run, trend or two-in-three window that would span it (in run
charts too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

IMPROVEMENT_DIRECTIONS: Final = ("increase", "decrease", "neutral")

# Special-cause rule codes, in order of precedence (a point caught by several rules takes
# the lowest non-zero code).
NO_RULE: Final = 0
OUTSIDE_LIMITS: Final = 1
TREND: Final = 2
TWO_IN_THREE: Final = 3
SHIFT: Final = 4

COMMON_CAUSE_LABEL: Final = "Common Cause"

# Run-chart rules (NHS England, Making Data Count: run charts).
RUN_CHART_SHIFT_LENGTH: Final = 6
RUN_CHART_TREND_LENGTH: Final = 5

POINT_TYPES: Final = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
VARIATION_ICONS: Final = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neutral_high",
    "neutral_low",
)
ASSURANCE_TYPES: Final = ("consistent_pass", "consistent_fail", "inconsistent")
ASSURANCE_ICON_FOR_TYPE: Final = {
    "consistent_pass": "pass",
    "consistent_fail": "fail",
    "inconsistent": "inconsistent",
}


def _floats(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _ints(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1).astype(np.int8)


def _window_ends(flags: np.ndarray, length: int) -> np.ndarray:
    """True at i when flags[i - length + 1 .. i] are all True (a full window ends at i)."""
    n = flags.size
    ends = np.zeros(n, dtype=bool)
    if length <= n:
        ends[length - 1 :] = sliding_window_view(flags, length).all(axis=1)
    return ends


def _spread_back(ends: np.ndarray, length: int) -> np.ndarray:
    """True at every point of a window of `length` points that ends where `ends` is True."""
    n = ends.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    padded = np.concatenate([ends.astype(bool), np.zeros(length - 1, dtype=bool)])
    return sliding_window_view(padded, length).any(axis=1)[:n]


# --- inputs to the rules -----------------------------------------------------------------


def relative_to_mean(values: ArrayLike, mean: ArrayLike) -> np.ndarray:
    """sign(value - mean) per point: +1 above, -1 below, 0 exactly on the mean or missing."""
    diff = _floats(values) - np.asarray(mean, dtype=float)
    side = np.sign(diff)
    side[np.isnan(side)] = 0
    return side.astype(np.int8)


def outside_limits(values: ArrayLike, lpl: ArrayLike, upl: ArrayLike) -> np.ndarray:
    """Astronomical points: strictly above the upper or below the lower process limit.

    A point exactly on a limit is inside; NaN limits or values never flag.
    """
    y = _floats(values)
    return (y > np.asarray(upl, dtype=float)) | (y < np.asarray(lpl, dtype=float))


def close_to_limits(
    values: ArrayLike, lpl: ArrayLike, upl: ArrayLike, nlpl: ArrayLike, nupl: ArrayLike
) -> np.ndarray:
    """Points in the 2-3 sigma band only: beyond a 2-sigma line but not outside the limits."""
    y = _floats(values)
    near = (y < np.asarray(nlpl, dtype=float)) | (y > np.asarray(nupl, dtype=float))
    return near & ~outside_limits(y, lpl, upl)


# --- run (shift) ------------------------------------------------------------------------


def seven_point_one_side_mean(relative_to_mean: ArrayLike, run_length: int = 7) -> np.ndarray:
    """1 at a point that ends a run of `run_length` points on the same side of the mean.

    `relative_to_mean` is +1/-1/0 per point; a 0 (on the mean, or missing) breaks the run.
    Returns 0/1 (int8); a longer run marks every point from the `run_length`-th onwards.
    """
    side = _ints(relative_to_mean)
    ends = _window_ends(side == 1, run_length) | _window_ends(side == -1, run_length)
    return ends.astype(np.int8)


def part_of_seven_trend(run_ends: ArrayLike, length: int = 7) -> np.ndarray:
    """1 for each marked run end and the `length - 1` points before it (0/1, int8).

    Used for both runs and trends: it turns "a window ends here" markers (+1/-1/0)
    into "this point belongs to a qualifying window".
    """
    return _spread_back(_ints(run_ends) != 0, length).astype(np.int8)


def shift(relative_to_mean: ArrayLike, run_length: int = 7) -> np.ndarray:
    """Shift rule: True for every point of a run of `run_length`+ points on one side of the mean."""
    return _spread_back(seven_point_one_side_mean(relative_to_mean, run_length) != 0, run_length)


# --- trend ------------------------------------------------------------------------------


def seven_point_trend(values: ArrayLike, trend_length: int = 7) -> np.ndarray:
    """+1 (-1) at a point ending `trend_length` points in a row strictly rising (falling).

    That is `trend_length - 1` consecutive rises (falls). An equal value or a missing value
    breaks the trend. Returns int8 (+1, -1, 0).
    """
    y = _floats(values)
    n = y.size
    out = np.zeros(n, dtype=np.int8)
    if n < 2:
        return out
    step = np.sign(np.diff(y))  # NaN where either neighbour is missing
    rising = np.concatenate([[False], _window_ends(step > 0, trend_length - 1)])
    falling = np.concatenate([[False], _window_ends(step < 0, trend_length - 1)])
    out[rising] = 1
    out[falling] = -1
    return out


def trend(values: ArrayLike, trend_length: int = 7) -> np.ndarray:
    """Trend rule: True for every point of `trend_length`+ points strictly rising or falling."""
    return _spread_back(seven_point_trend(values, trend_length) != 0, trend_length)


def trend_direction(values: ArrayLike, part_of_trend: ArrayLike) -> np.ndarray:
    """Direction (+1 rising, -1 falling) of the trend each trend point belongs to; 0 elsewhere.

    As in the reference, a point takes the direction of the step to the NEXT point when that
    point is also part of a trend, otherwise the step from the previous point; so a peak
    shared by a rising and a falling trend takes the trend that follows it. Where the next
    step is flat (only possible when a new trend starts on the next point) the previous
    step is used, so the label is always the direction of a trend the point belongs to.
    """
    y = _floats(values)
    in_trend = np.asarray(part_of_trend).reshape(-1) != 0
    n = y.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    step = np.sign(np.diff(y))
    step[np.isnan(step)] = 0
    next_step = np.concatenate([step, [0.0]])
    prev_step = np.concatenate([[0.0], step])
    next_in_trend = np.concatenate([in_trend[1:], [False]])
    use_next = next_in_trend & (next_step != 0)
    direction = np.where(use_next, next_step, prev_step)
    return np.where(in_trend, direction, 0).astype(np.int8)


# --- run-chart rules ----------------------------------------------------------------------


def _runs(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) of each maximal run of equal tokens."""
    if tokens.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    starts = np.flatnonzero(np.concatenate(([True], tokens[1:] != tokens[:-1])))
    stops = np.concatenate((starts[1:], [tokens.size]))
    return starts, stops


def run_chart_shift(
    values: ArrayLike,
    median: float,
    length: int = RUN_CHART_SHIFT_LENGTH,
    *,
    tolerance: float = 0.0,
) -> np.ndarray:
    """Run-chart shift: True for each point of `length` or more consecutive points all above
    or all below the median.

    Points on the median (within `tolerance`) are skipped: they neither break the run nor
    count towards it, and are not flagged. A missing value breaks the run.
    """
    y = _floats(values)
    diff = y - float(median)
    side = np.where(np.abs(diff) <= tolerance, 0.0, np.sign(diff))  # NaN where missing
    kept = np.flatnonzero(np.isnan(side) | (side != 0))  # drop points on the median
    tokens = np.nan_to_num(side[kept], nan=0.0)  # 0 = a missing value: a break
    flags = np.zeros(y.size, dtype=bool)
    starts, stops = _runs(tokens)
    for start, stop in zip(starts, stops, strict=True):
        if tokens[start] != 0 and stop - start >= length:
            flags[kept[start:stop]] = True
    return flags


def run_chart_trend(
    values: ArrayLike, length: int = RUN_CHART_TREND_LENGTH, *, tolerance: float = 0.0
) -> np.ndarray:
    """Run-chart trend: +1 (-1) for each point of `length` or more consecutive points all
    going up (down); 0 elsewhere (int8).

    A value equal to the one before (within `tolerance`) is skipped: it neither breaks the
    trend nor counts towards it, and is not flagged. Of a run of equal values, the trend's
    FIRST point is the last of them (where the movement starts: 7, 7, 7, 8, 9, ... flags
    the third 7), every later point the first of them (where the value is reached). A
    missing value breaks the trend. A point shared by a rising and a falling trend (a peak)
    takes the direction of the trend that follows it, as the XmR trend labels do.
    """
    y = _floats(values)
    present = ~np.isnan(y)
    repeat = np.zeros(y.size, dtype=bool)
    repeat[1:] = present[1:] & present[:-1] & (np.abs(y[1:] - y[:-1]) <= tolerance)
    kept = np.flatnonzero(~repeat)
    steps = np.nan_to_num(np.sign(np.diff(y[kept])), nan=0.0)  # 0 across a missing value
    direction = np.zeros(y.size, dtype=np.int8)
    starts, stops = _runs(steps)
    for start, stop in zip(starts, stops, strict=True):
        # steps start..stop-1 join the kept points start..stop
        if steps[start] != 0 and stop - start + 1 >= length:
            first = kept[start + 1] - 1  # the last of the equal values the trend leaves
            direction[[first, *kept[start + 1 : stop + 1]]] = int(steps[start])
    return direction


def run_chart_rule_descriptions(
    shift_length: int = RUN_CHART_SHIFT_LENGTH, trend_length: int = RUN_CHART_TREND_LENGTH
) -> np.ndarray:
    """Plain-English run-chart rule text indexed [rule code, direction + 1]."""
    table = np.full((5, 3), "", dtype=object)
    table[TREND] = [
        f"Trend of {trend_length} or more points in a row falling",
        "",
        f"Trend of {trend_length} or more points in a row rising",
    ]
    table[SHIFT] = [
        f"Run of {shift_length} or more points in a row below the median",
        "",
        f"Run of {shift_length} or more points in a row above the median",
    ]
    return table


# --- two in three -----------------------------------------------------------------------


def _two_in_three_windows(close: np.ndarray, side: np.ndarray) -> np.ndarray:
    """True at i when the window i-2..i qualifies (window end marker)."""
    n = close.size
    ends = np.zeros(n, dtype=bool)
    if n >= 3:
        close_count = sliding_window_view(close.astype(np.int8), 3).sum(axis=1)
        side_sum = sliding_window_view(side.astype(np.int8), 3).sum(axis=1)
        ends[2:] = (close_count >= 2) & (np.abs(side_sum) == 3)
    return ends


def two_in_three(close_to_limits: ArrayLike, relative_to_mean: ArrayLike) -> np.ndarray:
    """1 for every point of a 3-point window holding >= 2 points in the 2-3 sigma band,
    with all 3 points on the same side of the mean (0/1, int8). Windows lie wholly inside
    the input.
    """
    close = _ints(close_to_limits) != 0
    side = _ints(relative_to_mean)
    return _spread_back(_two_in_three_windows(close, side), 3).astype(np.int8)


def part_of_two_in_three(close_to_limits: ArrayLike, relative_to_mean: ArrayLike) -> np.ndarray:
    """Two-in-three rule as flagged: only the close points of qualifying windows (0/1, int8).

    The third point of a window is not flagged, nor is a point beyond the limits (that one
    is an astronomical point in its own right).
    """
    close = _ints(close_to_limits) != 0
    return (two_in_three(close, relative_to_mean).astype(bool) & close).astype(np.int8)


# --- labels -----------------------------------------------------------------------------


def special_cause_rule(
    outside_limits: ArrayLike,
    part_of_trend: ArrayLike,
    part_of_two_in_three: ArrayLike,
    part_of_one_side: ArrayLike,
) -> np.ndarray:
    """The rule that labels each point, by precedence: OUTSIDE_LIMITS (1) > TREND (2) >
    TWO_IN_THREE (3) > SHIFT (4); NO_RULE (0) for common cause. Returns int8 codes."""
    conditions = [
        np.asarray(outside_limits).reshape(-1) != 0,
        np.asarray(part_of_trend).reshape(-1) != 0,
        np.asarray(part_of_two_in_three).reshape(-1) != 0,
        np.asarray(part_of_one_side).reshape(-1) != 0,
    ]
    codes = np.select(conditions, [OUTSIDE_LIMITS, TREND, TWO_IN_THREE, SHIFT], NO_RULE)
    return codes.astype(np.int8)


def special_cause_direction(
    rule: ArrayLike, relative_to_mean: ArrayLike, trend_direction: ArrayLike
) -> np.ndarray:
    """+1 (high: above / increasing) or -1 (low) per special-cause point, 0 for common cause.

    Trend points follow the trend's direction; every other rule follows the side of the
    mean (so an astronomical point is "Above UCL" because it is above the mean).
    """
    code = np.asarray(rule).reshape(-1)
    side = _ints(relative_to_mean)
    direction = np.where(code == TREND, _ints(trend_direction), side)
    direction = np.where(code == NO_RULE, 0, direction)
    # A flagged point always has a side; this guards NaN inputs from the caller.
    return direction.astype(np.int8)


def special_cause_labels(run_length: int = 7, trend_length: int = 7) -> np.ndarray:
    """Reference label table indexed [rule code, direction + 1] (object array of str).

    The reference's labels name 7 points; other run or trend lengths name their own length.
    """
    table = np.full((5, 3), COMMON_CAUSE_LABEL, dtype=object)
    table[OUTSIDE_LIMITS] = ["Below LCL", COMMON_CAUSE_LABEL, "Above UCL"]
    table[TREND] = [
        f"{trend_length} Point Trend (Decreasing)",
        COMMON_CAUSE_LABEL,
        f"{trend_length} Point Trend (Increasing)",
    ]
    table[TWO_IN_THREE] = ["2 in 3 Below CL", COMMON_CAUSE_LABEL, "2 in 3 Above CL"]
    table[SHIFT] = [
        f"{run_length} Points Below CL",
        COMMON_CAUSE_LABEL,
        f"{run_length} Points Above CL",
    ]
    return table


def rule_descriptions(run_length: int = 7, trend_length: int = 7) -> np.ndarray:
    """Plain-English rule text indexed [rule code, direction + 1]; empty for common cause."""
    table = np.full((5, 3), "", dtype=object)
    table[OUTSIDE_LIMITS] = ["Below the lower process limit", "", "Above the upper process limit"]
    table[TREND] = [
        f"Trend of {trend_length} points in a row falling",
        "",
        f"Trend of {trend_length} points in a row rising",
    ]
    table[TWO_IN_THREE] = [
        "2 of 3 points in a row close to the lower process limit",
        "",
        "2 of 3 points in a row close to the upper process limit",
    ]
    table[SHIFT] = [
        f"Run of {run_length} points below the mean",
        "",
        f"Run of {run_length} points above the mean",
    ]
    return table


def special_cause_type(
    values: ArrayLike,
    relative_to_mean: ArrayLike,
    outside_limits: ArrayLike,
    part_of_trend: ArrayLike,
    part_of_two_in_three: ArrayLike,
    part_of_one_side: ArrayLike,
    *,
    run_length: int = 7,
    trend_length: int = 7,
) -> np.ndarray:
    """Reference label per point ("Above UCL", "7 Point Trend (Increasing)", "2 in 3 Below CL",
    "7 Points Above CL", "Common Cause", ...) after applying the rule precedence."""
    rule = special_cause_rule(outside_limits, part_of_trend, part_of_two_in_three, part_of_one_side)
    direction = special_cause_direction(
        rule, relative_to_mean, trend_direction(values, part_of_trend)
    )
    return special_cause_labels(run_length, trend_length)[rule, direction + 1]


# --- point types and icons ---------------------------------------------------------------


def _direction_error(direction: object) -> ValueError:
    allowed = ", ".join(IMPROVEMENT_DIRECTIONS)
    return ValueError(f"improvement direction must be one of {allowed}; got {direction!r}")


def _point_type_table(improvement: str) -> np.ndarray:
    """Point type indexed by direction + 1 (low, none, high) for one improvement direction."""
    if improvement == "increase":
        return np.array(
            ["special_cause_concern", "common_cause", "special_cause_improvement"], dtype=object
        )
    if improvement == "decrease":
        return np.array(
            ["special_cause_improvement", "common_cause", "special_cause_concern"], dtype=object
        )
    if improvement == "neutral":
        return np.array(
            ["special_cause_neutral_low", "common_cause", "special_cause_neutral_high"],
            dtype=object,
        )
    raise _direction_error(improvement)


def point_type(direction: ArrayLike, improvement: str) -> np.ndarray:
    """Reference point type per point from its special-cause direction (+1 high, -1 low,
    0 common cause) and the improvement direction ("increase", "decrease", "neutral")."""
    return _point_type_table(improvement)[_ints(direction) + 1]


_VARIATION_ICON = {
    ("common_cause", "increase"): "common_cause",
    ("common_cause", "decrease"): "common_cause",
    ("common_cause", "neutral"): "common_cause",
    ("special_cause_improvement", "increase"): "improvement_high",
    ("special_cause_improvement", "decrease"): "improvement_low",
    ("special_cause_concern", "increase"): "concern_low",
    ("special_cause_concern", "decrease"): "concern_high",
    ("special_cause_neutral_high", "neutral"): "neutral_high",
    ("special_cause_neutral_low", "neutral"): "neutral_low",
}


def variation_icon(point_type: str | None, direction: str) -> str | None:
    """Variation icon name for the latest point's type and the improvement direction.

    None when there is no latest point or the combination cannot arise (for example an
    improvement point under a neutral direction).
    """
    if point_type is None:
        return None
    return _VARIATION_ICON.get((point_type, direction))


def _missing(x: float | None) -> bool:
    return x is None or bool(np.isnan(x))


def assurance_type(
    lpl: float | None, upl: float | None, target: float | None, direction: str
) -> str | None:
    """Assurance of meeting `target` given the latest process limits (strict comparisons).

    None for no target or a neutral direction. A target above the upper limit always fails
    when higher is better (and always passes when lower is better), and the reverse for a
    target below the lower limit; otherwise, including a target on a limit or NaN limits,
    the process will "inconsistently" meet the target.
    """
    if _missing(target) or direction == "neutral":
        return None
    if direction not in IMPROVEMENT_DIRECTIONS:
        raise _direction_error(direction)
    above_upper = not _missing(upl) and target > upl
    below_lower = not _missing(lpl) and target < lpl
    if above_upper:
        return "consistent_fail" if direction == "increase" else "consistent_pass"
    if below_lower:
        return "consistent_pass" if direction == "increase" else "consistent_fail"
    return "inconsistent"


def assurance_icon(assurance_type: str | None) -> str | None:
    """Assurance icon name ("pass", "fail", "inconsistent") or None when no icon is drawn."""
    return ASSURANCE_ICON_FOR_TYPE.get(assurance_type) if assurance_type else None


def short_group_warning(group_sizes: Sequence[int], threshold: int = 13) -> list[bool]:
    """Trial-limit warning per rebase group: True when a group has fewer than `threshold`
    points (the reference's default threshold is 13, so 12 points or fewer warn)."""
    return [int(size) < threshold for size in group_sizes]
