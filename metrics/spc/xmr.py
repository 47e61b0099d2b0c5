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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

LIMIT_FACTOR: Final = 2.66  # exactly 2.66 as in the reference, not 3 / 1.128
SCREEN_FACTOR: Final = 3.267  # upper range limit for a moving range (Nelson 1982)
NEAR_LIMIT_FACTOR: Final = 2 * LIMIT_FACTOR / 3  # the 2-sigma lines


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


def moving_ranges(values: ArrayLike) -> np.ndarray:
    """|y[i] - y[i-1]| per point; the first point and both sides of a missing value are NaN."""
    y = np.asarray(values, dtype=float).reshape(-1)
    mr = np.full(y.size, np.nan)
    if y.size > 1:
        mr[1:] = np.abs(np.diff(y))
    return mr


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
    )
