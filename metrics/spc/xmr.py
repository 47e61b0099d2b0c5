"""XmR (individuals) chart limits with NHSRplotthedots v0.2.2 semantics.

For one rebase group's values y1..yn in date order (units: whatever the metric measures):

- only the first `fix_after_n_points` rows (all rows when None) feed the limits;
- centre line = mean of those values, ignoring missing ones;
- moving range mr[i] = |y[i] - y[i-1]|; a missing value makes both neighbouring moving
  ranges missing (the moving range never bridges a gap);
- mean moving range = mean of the moving ranges; with screening (the default) only moving
  ranges strictly below 3.267 x that mean are kept and the mean recomputed (one pass);
- process limits = mean -/+ 2.66 x mean moving range (never floored at 0, never capped);
- 2-sigma lines = mean -/+ (2 x 2.66 / 3) x mean moving range.

One deliberate difference from the reference (documented in docs/spc.md): when every
moving range is 0 (a constant baseline), screening would keep none of them (0 < 0 is
false) and the reference returns NaN limits. Here the screen is skipped in that case, so
the limits equal the mean, exactly as they do with screening off: a later change is then a
special cause, and a target can still be assessed against the limits.

When do the limits carry no information? `ProcessLimits.limits_uninformative` is True
when MORE THAN HALF of the moving ranges that feed the limits (non-missing, within the
fixed baseline, counted before screening) are 0; equivalently, the median moving range is
0. "0" means exactly 0 up to floating-point rounding (`same_value_tolerance`: 1e-9 of the
largest value). Then the limits describe the recording resolution (values in whole days that
mostly repeat), not the process, and the engine reads the group as a run chart against
`baseline_median` instead (see docs/spc.md, "Run charts").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

LIMIT_FACTOR: Final = 2.66  # exactly 2.66 as in the reference, not 3 / 1.128
SCREEN_FACTOR: Final = 3.267  # upper range limit for a moving range (Nelson 1982)
NEAR_LIMIT_FACTOR: Final = 2 * LIMIT_FACTOR / 3  # the 2-sigma lines
# Two values closer than this fraction of the group's largest absolute value count as the
# same value when deciding whether the limits carry information (and in the run-chart
# rules): sums of money in floating point can differ in the last bits between runs.
SAME_VALUE_FRACTION: Final = 1e-9


@dataclass(frozen=True)
class ProcessLimits:
    """Centre line and limits for one rebase group, in the metric's own units."""

    mean: float
    mean_moving_range: float
    lpl: float
    upl: float
    nlpl: float
    nupl: float
    n_baseline_values: int  # non-missing values that fed the mean
    n_moving_ranges: int  # moving ranges that fed the limits (after screening)
    n_screened_out: int  # moving ranges dropped by the outlier screen
    constant_baseline: bool  # every moving range was 0, so the limits equal the mean
    n_zero_moving_ranges: int = 0  # moving ranges exactly 0 (before screening)

    @property
    def n_moving_ranges_before_screening(self) -> int:
        """Every moving range of the baseline (missing ones excluded), before screening."""
        return self.n_moving_ranges + self.n_screened_out

    @property
    def limits_uninformative(self) -> bool:
        """More than half of the baseline's moving ranges are exactly 0 (so the median moving
        range is 0): the limits reflect how coarsely values are recorded, not the process."""
        total = self.n_moving_ranges_before_screening
        return total > 0 and 2 * self.n_zero_moving_ranges > total


def moving_ranges(values: ArrayLike) -> np.ndarray:
    """|y[i] - y[i-1]| per point; the first point and both sides of a missing value are NaN."""
    y = np.asarray(values, dtype=float).reshape(-1)
    mr = np.full(y.size, np.nan)
    if y.size > 1:
        mr[1:] = np.abs(np.diff(y))
    return mr


def same_value_tolerance(values: ArrayLike) -> float:
    """Largest difference treated as "the same value": 1e-9 of the largest absolute value
    (0 when there are no values), i.e. rounding in the last bits only."""
    y = np.abs(np.asarray(values, dtype=float).reshape(-1))
    y = y[~np.isnan(y)]
    return float(SAME_VALUE_FRACTION * y.max()) if y.size else 0.0


def _mean_or_nan(values: np.ndarray) -> float:
    # np.nanmean warns on an empty slice; a group with no values is an expected input here.
    return float(values.mean()) if values.size else float("nan")


def process_limits(
    values: ArrayLike, *, fix_after_n_points: int | None = None, screen_outliers: bool = True
) -> ProcessLimits:
    """XmR limits for one rebase group (values in date order, NaN for missing)."""
    y = np.asarray(values, dtype=float).reshape(-1)
    baseline = y if fix_after_n_points is None else y[:fix_after_n_points]
    present = baseline[~np.isnan(baseline)]
    mean = _mean_or_nan(present)

    mr = moving_ranges(baseline)
    mr = mr[~np.isnan(mr)]
    amr = _mean_or_nan(mr)
    kept = mr
    if screen_outliers and amr > 0:
        kept = mr[mr < SCREEN_FACTOR * amr]
        amr = _mean_or_nan(kept)

    half_width = LIMIT_FACTOR * amr
    near_width = NEAR_LIMIT_FACTOR * amr
    return ProcessLimits(
        mean=mean,
        mean_moving_range=amr,
        lpl=mean - half_width,
        upl=mean + half_width,
        nlpl=mean - near_width,
        nupl=mean + near_width,
        n_baseline_values=int(present.size),
        n_moving_ranges=int(kept.size),
        n_screened_out=int(mr.size - kept.size),
        constant_baseline=bool(mr.size > 0 and amr == 0),
        n_zero_moving_ranges=int(np.count_nonzero(mr <= same_value_tolerance(present))),
    )


def baseline_median(values: ArrayLike, *, fix_after_n_points: int | None = None) -> float:
    """Median of the values that feed the centre line (the first `fix_after_n_points`, all
    when None), ignoring missing ones: a run chart's centre line. NaN when there are none."""
    y = np.asarray(values, dtype=float).reshape(-1)
    baseline = y if fix_after_n_points is None else y[:fix_after_n_points]
    present = baseline[~np.isnan(baseline)]
    return float(np.median(present)) if present.size else float("nan")
