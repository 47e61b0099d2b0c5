"""Laney p' and u' chart limits (Laney 2002) for one rebase group.

For a ratio or rate with large denominators, a classic p chart (binomial) or u chart
(Poisson) draws limits so narrow that ordinary month-to-month variation is flagged as
special cause ("overdispersion"); an XmR chart of the percentages has sensible limits but
ignores that a month with a small denominator is less certain. Laney's p' and u' charts
do both: limits vary with each point's denominator, and are widened (or narrowed) by how
much the points really vary from one to the next.

For one rebase group, counts x_i over denominators n_i in date order (p_i = x_i / n_i):

- centre line: p-bar = sum(x) / sum(n) over the baseline (the first `fix_after_n_points`
  points with both parts; all when None);
- the point's own standard error: sigma_i = sqrt(p-bar (1 - p-bar) / n_i) for p' (a
  proportion: binomial), sqrt(p-bar / n_i) for u' (a rate: Poisson);
- z-scores: z_i = (p_i - p-bar) / sigma_i;
- moving ranges of z: |z_i - z_(i-1)|, never across a missing point; their mean MR-bar
  (screened once as the XmR limits are, when `screen_outliers`: only moving ranges below
  3.267 x MR-bar are kept and the mean recomputed);
- sigma_z = MR-bar / 1.128 (d2 for moving ranges of two points);
- limits: p-bar -/+ 3 sigma_i sigma_z; 2-sigma lines: p-bar -/+ 2 sigma_i sigma_z. Limits
  outside the possible range are clipped to it (0 and 100% for p', 0 for u'), as Minitab
  and qicharts2 do: a value can never lie beyond them, so no rule changes.

Everything is returned in the metric's scale: value = per x p (per 100 gives percent).
sigma_z = 1 means the points vary exactly as the binomial (Poisson) model says, and the
chart is the classic p (u) chart; sigma_z > 1 means overdispersion and wider limits. With
equal denominators the limits are those of an XmR chart of the values (3 / 1.128 = 2.66).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from metrics.spc.xmr import SCREEN_FACTOR

D2: Final = 1.128  # expected range of two standard normal values (unbiasing constant)
LIMIT_SIGMAS: Final = 3.0
NEAR_LIMIT_SIGMAS: Final = 2.0
LANEY_KINDS: Final = ("p", "u")
# Laney's chart names, as written on charts and in reports.
LANEY_NAMES: Final = {"p": "Laney p' chart", "u": "Laney u' chart"}


@dataclass(frozen=True)
class LaneyLimits:
    """Centre line and per-point limits for one rebase group, in the metric's scale.

    `mean` is the centre line (per x p-bar); `lpl`, `upl`, `nlpl`, `nupl` are arrays, one
    item per point (NaN where the point's denominator is missing or not positive).
    `sigma` is each point's own standard error (per x sigma_i), `z` its z-score (for every
    point, from the group's p-bar), `sigma_z` the overdispersion factor.
    """

    kind: str  # "p" (proportion, binomial) or "u" (rate, Poisson)
    per: float
    mean: float
    centre_rate: float  # p-bar (or u-bar) before scaling by `per`
    sigma: np.ndarray
    z: np.ndarray
    mean_moving_range: float  # of the z-scores, after screening
    sigma_z: float
    lpl: np.ndarray
    upl: np.ndarray
    nlpl: np.ndarray
    nupl: np.ndarray
    n_baseline_values: int  # baseline points with both parts (they feed p-bar)
    n_moving_ranges: int  # moving ranges of z that fed sigma_z (after screening)
    n_screened_out: int
    degenerate: bool  # p-bar is 0 (or 1 for p'): no binomial/Poisson variation at all

    @property
    def constant_baseline(self) -> bool:
        """Every z moving range was 0 (or p-bar leaves no variation): limits = centre."""
        return self.degenerate or (self.n_moving_ranges > 0 and self.sigma_z == 0)


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def laney_limits(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    kind: str = "p",
    per: float = 1.0,
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
) -> LaneyLimits:
    """Laney p' (kind "p") or u' (kind "u") limits for one rebase group.

    numerators, denominators: the counts in date order (NaN for missing). A point with a
    missing numerator or a denominator that is missing or not positive has no value; its
    limits are drawn where its denominator is known and positive.
    """
    if kind not in LANEY_KINDS:
        raise ValueError(f"kind must be 'p' or 'u'; got {kind!r}")
    x = np.asarray(numerators, dtype=float).reshape(-1)
    n = np.asarray(denominators, dtype=float).reshape(-1)
    if x.shape != n.shape:
        raise ValueError("numerators and denominators must have the same length")
    sized = np.isfinite(n) & (n > 0)
    present = sized & np.isfinite(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(present, x / np.where(sized, n, 1.0), np.nan)

    stop = x.size if fix_after_n_points is None else min(fix_after_n_points, x.size)
    base = present[:stop]
    total = float(n[:stop][base].sum())
    centre = float(x[:stop][base].sum()) / total if total > 0 else float("nan")
    unit_variance = centre * (1.0 - centre) if kind == "p" else centre
    degenerate = bool(np.isfinite(centre) and unit_variance <= 0)

    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(sized, np.sqrt(max(unit_variance, 0.0) / np.where(sized, n, 1.0)), np.nan)
        z = np.where(sigma > 0, (p - centre) / sigma, np.nan)

    mr = np.abs(np.diff(z[:stop])) if stop > 1 else np.zeros(0)
    mr = mr[~np.isnan(mr)]
    amr = _mean_or_nan(mr)
    kept = mr
    if screen_outliers and amr > 0:
        kept = mr[mr < SCREEN_FACTOR * amr]
        amr = _mean_or_nan(kept)
    sigma_z = amr / D2

    # When every baseline value is 0 (or every one 100%) there is no variation to scale:
    # the limits sit on the centre line (as an XmR chart of constant values does), so any
    # later change shows as special cause.
    spread = np.where(sized, 0.0, np.nan) if degenerate else sigma * sigma_z
    upper_bound = 1.0 if kind == "p" else np.inf

    def line(sigmas: float, sign: int) -> np.ndarray:
        value = np.clip(centre + sign * sigmas * spread, 0.0, upper_bound)
        return per * value

    return LaneyLimits(
        kind=kind,
        per=float(per),
        mean=per * centre,
        centre_rate=centre,
        sigma=per * sigma,
        z=z,
        mean_moving_range=amr,
        sigma_z=float("nan") if degenerate else sigma_z,
        lpl=line(LIMIT_SIGMAS, -1),
        upl=line(LIMIT_SIGMAS, 1),
        nlpl=line(NEAR_LIMIT_SIGMAS, -1),
        nupl=line(NEAR_LIMIT_SIGMAS, 1),
        n_baseline_values=int(base.sum()),
        n_moving_ranges=int(kept.size),
        n_screened_out=int(mr.size - kept.size),
        degenerate=degenerate,
    )
