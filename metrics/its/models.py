"""Model families behind one interface: `fit_model(family, data) -> ModelFit`.

Every adapter takes the same `FitInput` (all rows of the design on the full time grid, and
a mask of the rows that enter the fit) and returns a `ModelFit` with coefficients, their
covariance and residuals for diagnostics, so the study code never depends on the family.

Families:

- "ols": least squares with Newey-West (HAC, Bartlett kernel) covariance, in numpy. Small-
  sample convention of Stata's `newey` (and so of Linden's `itsa`): the whole HAC matrix is
  multiplied by n / (n - k), and intervals use Student's t with n - k degrees of freedom.
  (statsmodels' `cov_type="HAC"` defaults to neither: it matches with
  `cov_kwds={"maxlags": L, "use_correction": True}` and `use_t=True`.) Autocovariances
  are taken between points L periods apart in time within a series, so missing months and
  a stacked comparison series are handled; on a complete single series this is exactly the
  textbook estimator.
- "poisson" / "quasipoisson": log-link GLM by iteratively reweighted least squares, with an
  optional log offset. Quasi-Poisson scales the covariance by the Pearson chi-square / df
  (as R's `glm(family = quasipoisson)`). Wald intervals with the normal quantile.
- "negbin": NB2 (variance mu + alpha mu^2) by maximum likelihood, alternating IRLS for the
  coefficients and a one-dimensional search for alpha (as R's `MASS::glm.nb`); coefficient
  covariance from the expected information at the estimate.
- "binomial": quasi-binomial logistic regression of a numerator out of a denominator (logit
  link, IRLS; covariance times the Pearson chi-square / df, as R's `quasibinomial`). Wald
  intervals with the normal quantile; effects are log odds ratios.
- "arima": linear regression with ARMA errors. AR(1) (the default) has a numpy fast path:
  phi is estimated by restricted maximum likelihood (REML) on the exact AR(1) likelihood,
  concentrated over the coefficients (a one-dimensional search), then the coefficients are
  GLS. The exact transform handles gaps (a gap of g periods uses phi^g). REML rather than ML
  because ML underestimates phi in short series and so gives intervals that are too narrow
  (Turner et al. 2021, BMC Med Res Methodol 21:134, found REML the best-covering of the
  common ITS methods); with `reml=False` the fast path maximises the same likelihood as
  statsmodels' SARIMAX. Other orders use SARIMAX itself (a Kalman filter: missing months are
  skipped exactly). Intervals use t with n - k - 1 degrees of freedom for the fast path and
  the normal quantile for SARIMAX.

Covariances: Newey-West (`newey_west_meat`, for "ols") and Driscoll-Kraay
(`driscoll_kraay`, for a multiple-baseline study's stacked groups) share one Bartlett
kernel; every GLM's bread is `glm_bread`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from metrics.its.errors import ITSConvergenceError, ITSInputError

LINKS = {
    "ols": "identity",
    "arima": "identity",
    "poisson": "log",
    "quasipoisson": "log",
    "negbin": "log",
    "binomial": "logit",
}


@dataclass(frozen=True)
class FitInput:
    """Rows of the design on the full time grid (treated series first, then any comparison).

    Attributes:
        y: outcome for every row (NaN where missing).
        X: design matrix, one row per `y`.
        t: period of each row (0 = first period of the data).
        group: 1 for the treated series, 0 for the comparison series.
        offset: log offset per row (0 without one); NaN where the population is missing.
        mask: rows that enter the fit (observed, outside excluded windows, offset known).
        trials: denominators of a binomial model (the outcome is then the numerator, the
            number of "successes" out of `trials`); None for other families.
    """

    y: np.ndarray
    X: np.ndarray
    t: np.ndarray
    group: np.ndarray
    offset: np.ndarray
    mask: np.ndarray
    trials: np.ndarray | None = None


@dataclass(frozen=True)
class ModelFit:
    """What every family returns.

    Attributes:
        family, link: the model family and its link ("identity" or "log").
        params, cov: coefficients (link scale) and their covariance.
        df_resid: degrees of freedom for Student's t intervals (inf: normal quantile).
        resid: residuals for diagnostics on the fitted rows, in row order: raw (ols),
            Pearson (count models) or standardised one-step innovations (arima).
        dispersion: Pearson chi-square / df for count models, else None.
        converged: whether the optimiser reported convergence.
        details: family-specific values (hac_lags, alpha, phi, sigma2, ...).
    """

    family: str
    link: str
    params: np.ndarray
    cov: np.ndarray
    df_resid: float
    resid: np.ndarray
    dispersion: float | None
    converged: bool
    n_obs: int
    details: dict[str, float] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return int(self.params.shape[0])

    def quantile(self, alpha: float) -> float:
        """Two-sided critical value for a (1 - alpha) interval."""
        return critical_value(alpha, self.df_resid)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


def critical_value(alpha: float, df: float) -> float:
    """Two-sided critical value: Student's t with `df` degrees of freedom, or normal."""
    if math.isfinite(df):
        return float(special.stdtrit(df, 1.0 - alpha / 2.0))
    return float(special.ndtri(1.0 - alpha / 2.0))


def two_sided_p(z: np.ndarray | float, df: float) -> np.ndarray:
    """Two-sided p-value of a t (finite df) or z statistic."""
    z = np.abs(np.asarray(z, dtype=float))
    if math.isfinite(df):
        return 2.0 * special.stdtr(df, -z)
    return 2.0 * special.ndtr(-z)


# --- OLS with Newey-West ------------------------------------------------------------------


def default_hac_lags(n_per_series: int) -> int:
    """Newey & West (1994) rule of thumb floor(4 (n/100)^(2/9)) (statsmodels' default too)."""
    return math.floor(4.0 * (max(n_per_series, 1) / 100.0) ** (2.0 / 9.0))


def newey_west_meat(scores: np.ndarray, t: np.ndarray, group: np.ndarray, lags: int) -> np.ndarray:
    """Bartlett-weighted sum of score autocovariances, S = G0 + sum_l w_l (Gl + Gl').

    `scores` are x_i * e_i (one row per fitted point). Pairs count as lag l when they are l
    periods apart in the same series; missing periods contribute nothing.
    """
    meat = scores.T @ scores
    if lags <= 0:
        return meat
    t = np.asarray(t, dtype=np.int64)
    codes = np.unique(group, return_inverse=True)[1] if group.size else group
    span = int(t.max()) + 1 + lags  # lags rows of zeros keep series apart
    grid = np.zeros((span * (int(codes.max()) + 1), scores.shape[1]))
    grid[codes * span + t] = scores
    return _add_bartlett_lags(meat, grid, lags)


def _add_bartlett_lags(meat: np.ndarray, grid: np.ndarray, lags: int) -> np.ndarray:
    """meat + sum over l = 1..lags of (1 - l / (lags + 1)) (Gl + Gl'), Gl the lag-l
    autocovariance of the rows of `grid` (one row per period, zeros where there is none).
    Adds to `meat` in place and returns it."""
    for lag in range(1, lags + 1):
        weight = 1.0 - lag / (lags + 1.0)
        gamma = grid[lag:].T @ grid[:-lag]
        meat += weight * (gamma + gamma.T)
    return meat


def driscoll_kraay(
    X: np.ndarray,
    weights: np.ndarray,
    scores: np.ndarray,
    t: np.ndarray,
    lags: int,
) -> np.ndarray:
    """Driscoll-Kraay (1998) sandwich covariance of a stacked panel: the scores x_i s_i of
    every row summed within each period, a Newey-West (Bartlett) estimator over periods as
    the meat, the family's (X'WX)^-1 as the bread; small-sample factor T/(T - 1) x
    (n - 1)/(n - k), T the number of periods (statsmodels' `cov_type="hac-groupsum"`)."""
    n, k = X.shape
    bread = glm_bread(X, weights)
    t = np.asarray(t, dtype=np.int64)
    span = int(t.max()) + 1
    summed = np.zeros((span, k))
    np.add.at(summed, t, X * scores[:, None])
    meat = _add_bartlett_lags(summed.T @ summed, summed, lags)
    periods = int(np.count_nonzero(np.bincount(t)))
    factor = periods / max(periods - 1, 1) * (n - 1) / max(n - k, 1)
    return factor * (bread @ meat @ bread)


def fit_ols_hac(
    y: np.ndarray,
    X: np.ndarray,
    t: np.ndarray,
    group: np.ndarray | None = None,
    lags: int | None = None,
) -> ModelFit:
    """OLS with Newey-West covariance, Stata `newey` convention (see module docstring).

    Args:
        y: outcome (no missing values), n.
        X: design matrix, n x k, full column rank.
        t: period of each row (integers; gaps allowed).
        group: series of each row (None: one series).
        lags: truncation lag; None uses `default_hac_lags` on the points per series.
    """
    n, k = X.shape
    group = np.ones(n, dtype=np.int64) if group is None else np.asarray(group)
    if lags is None:
        lags = default_hac_lags(int(np.max(np.bincount(np.unique(group, return_inverse=True)[1]))))
    q, r = np.linalg.qr(X)
    params = np.linalg.solve(r, q.T @ y)
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T  # (X'X)^-1
    resid = y - X @ params
    meat = newey_west_meat(X * resid[:, None], t, group, lags)
    cov = (n / (n - k)) * (bread @ meat @ bread)
    return ModelFit(
        family="ols",
        link="identity",
        params=params,
        cov=cov,
        df_resid=float(n - k),
        resid=resid,
        dispersion=None,
        converged=True,
        n_obs=n,
        details={"hac_lags": float(lags)},
    )


# --- log-link GLMs --------------------------------------------------------------------------


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    ratio = np.where(y > 0, y / np.where(y > 0, mu, 1.0), 1.0)
    return float(2.0 * np.sum(y * np.log(ratio) - (y - mu)))


def _irls_log_link(
    y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray,
    weight_of: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, bool, int]:
    """IRLS for a log-link GLM with working weights `weight_of(mu)`; returns params, mu.

    Columns are scaled to unit norm and each step solves the weighted normal equations:
    for the small designs here that is several times faster than a QR per iteration and,
    with the scaling, accurate to far more digits than the reported three.
    """
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    scaled = X / norms
    if start is None:
        mu = y + 0.1  # R's glm start for the Poisson family
        eta = np.log(mu)
        params = np.zeros(X.shape[1])
    else:
        params = start
        eta = X @ start + offset
        mu = np.exp(eta)
    deviance_old = math.inf
    converged = False
    iteration = 0
    while iteration < max_iter:
        iteration += 1
        working = eta - offset + (y - mu) / mu
        weighted = scaled.T * weight_of(mu)
        params = np.linalg.solve(weighted @ scaled, weighted @ working) / norms
        eta = X @ params + offset
        with np.errstate(over="ignore"):
            mu = np.exp(eta)
        if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
            raise ITSConvergenceError("the count model diverged (fitted values overflow)")
        deviance = _poisson_deviance(y, mu)
        if abs(deviance - deviance_old) / (abs(deviance) + 0.1) < tol:
            converged = True
            break
        deviance_old = deviance
    return params, mu, converged, iteration


def glm_bread(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(X' W X)^-1, computed on unit-norm columns for accuracy."""
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    scaled = X / norms
    inverse = np.linalg.inv((scaled.T * weights) @ scaled)
    return inverse / np.outer(norms, norms)


def fit_poisson(y: np.ndarray, X: np.ndarray, offset: np.ndarray, *, quasi: bool) -> ModelFit:
    """Poisson (scale 1) or quasi-Poisson (Pearson chi-square / df scale) log-link GLM."""
    n, k = X.shape
    params, mu, converged, iterations = _irls_log_link(y, X, offset, lambda m: m)
    pearson = (y - mu) / np.sqrt(mu)
    dispersion = float(pearson @ pearson / (n - k))
    cov = glm_bread(X, mu) * (dispersion if quasi else 1.0)
    return ModelFit(
        family="quasipoisson" if quasi else "poisson",
        link="log",
        params=params,
        cov=cov,
        df_resid=math.inf,
        resid=pearson,
        dispersion=dispersion,
        converged=converged,
        n_obs=n,
        details={"iterations": float(iterations), "deviance": _poisson_deviance(y, mu)},
    )


def fit_binomial(y: np.ndarray, trials: np.ndarray, X: np.ndarray) -> ModelFit:
    """Quasi-binomial logistic regression of y successes out of `trials` (R's
    `glm(cbind(y, n - y) ~ X, family = quasibinomial)`): IRLS on the logit link, then the
    covariance scaled by the Pearson chi-square / (n - k), whatever its size, as R does.

    Effects are log odds ratios (the study reports odds ratios and, at the horizon,
    differences in the proportion).
    """
    n, k = X.shape
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    scaled = X / norms
    share = (y + 0.5) / (trials + 1.0)  # R's start: (y + 0.5) / (n + 1)
    eta = np.log(share / (1.0 - share))
    params = np.zeros(k)
    deviance_old = math.inf
    converged = False
    iterations = 0
    while iterations < 100:
        iterations += 1
        p = special.expit(eta)
        weight = trials * p * (1.0 - p)
        if np.any(weight <= 0) or not np.all(np.isfinite(weight)):
            raise ITSConvergenceError("the binomial model diverged (fitted shares of 0 or 1)")
        working = eta + (y - trials * p) / weight
        weighted = scaled.T * weight
        params = np.linalg.solve(weighted @ scaled, weighted @ working) / norms
        eta = X @ params
        p = special.expit(eta)
        deviance = _binomial_deviance(y, trials, p)
        if abs(deviance - deviance_old) / (abs(deviance) + 0.1) < 1e-10:
            converged = True
            break
        deviance_old = deviance
    p = special.expit(eta)
    variance = trials * p * (1.0 - p)
    pearson = (y - trials * p) / np.sqrt(variance)
    dispersion = float(pearson @ pearson / (n - k))
    cov = glm_bread(X, variance) * dispersion
    return ModelFit(
        family="binomial",
        link="logit",
        params=params,
        cov=cov,
        df_resid=math.inf,
        resid=pearson,
        dispersion=dispersion,
        converged=converged,
        n_obs=n,
        details={"iterations": float(iterations), "deviance": deviance},
    )


def _binomial_deviance(y: np.ndarray, trials: np.ndarray, p: np.ndarray) -> float:
    fitted = trials * p
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(y > 0, y * np.log(y / fitted), 0.0)
        rest = trials - y
        second = np.where(rest > 0, rest * np.log(rest / (trials - fitted)), 0.0)
    return float(2.0 * np.sum(first + second))


def _negbin_loglik(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    theta = 1.0 / alpha
    return float(
        np.sum(
            special.gammaln(y + theta)
            - special.gammaln(theta)
            - special.gammaln(y + 1.0)
            + theta * np.log(theta / (theta + mu))
            + y * np.log(np.where(y > 0, mu / (theta + mu), 1.0))
        )
    )


_LOG_ALPHA_BOUNDS = (math.log(1e-8), math.log(1e3))


def fit_negbin(
    y: np.ndarray, X: np.ndarray, offset: np.ndarray, *, alpha: float | None = None
) -> ModelFit:
    """NB2 regression by maximum likelihood; `alpha` fixed when given (placebo refits)."""
    n, k = X.shape
    estimate_alpha = alpha is None
    params = None
    if estimate_alpha:
        params, mu, converged, _ = _irls_log_link(y, X, offset, lambda m: m)
        # Method-of-moments start: E[(y - mu)^2 - mu] = alpha mu^2.
        moment = float(np.sum(((y - mu) ** 2 - mu) / mu**2) / max(n - k, 1))
        alpha = min(max(moment, 1e-6), 10.0)
    for _ in range(100):
        current = alpha
        params, mu, converged, _ = _irls_log_link(
            y, X, offset, lambda m, a=current: m / (1.0 + a * m), start=params
        )
        if not estimate_alpha:
            break
        search = optimize.minimize_scalar(
            lambda log_a, m=mu: -_negbin_loglik(y, m, math.exp(log_a)),
            bounds=_LOG_ALPHA_BOUNDS,
            method="bounded",
            options={"xatol": 1e-9},
        )
        alpha = math.exp(float(search.x))
        # The profile likelihood is flat near its maximum, so the 1-D search is only precise
        # to about 1e-7 on log(alpha); 1e-6 moves the coefficients by far less than that.
        if abs(math.log(alpha) - math.log(current)) < 1e-6:
            break
    else:
        converged = False
    weights = mu / (1.0 + alpha * mu)
    cov = glm_bread(X, weights)
    pearson = (y - mu) / np.sqrt(mu + alpha * mu**2)
    dispersion = float(pearson @ pearson / (n - k))
    return ModelFit(
        family="negbin",
        link="log",
        params=params,
        cov=cov,
        df_resid=math.inf,
        resid=pearson,
        dispersion=dispersion,
        converged=converged,
        n_obs=n,
        details={
            "alpha": alpha,
            "alpha_at_bound": float(math.log(alpha) <= _LOG_ALPHA_BOUNDS[0] + 1e-6),
            "loglik": _negbin_loglik(y, mu, alpha),
        },
    )


# --- regression with AR(1) errors (fast path) ---------------------------------------------


class _AR1Profile:
    """Concentrated Gaussian log-likelihood of a regression with AR(1) errors.

    The exact transform: the first point of each series is scaled by sqrt(1 - phi^2); a point
    g periods after the previous one becomes (z_t - phi^g z_{t-g}) sqrt((1 - phi^2) /
    (1 - phi^(2g))), which has the innovation variance. Cross-products are precomputed per
    gap length, so each likelihood evaluation is a (k+1)-square update and one solve.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, t: np.ndarray, group: np.ndarray):
        self.y, self.X, self.t, self.group = y, X, np.asarray(t, dtype=np.int64), group
        self.n, self.k = X.shape
        z = np.column_stack([X, y])
        first, self.gap = _series_starts(self.t, group)
        self.first = first
        self.first_cross = z[first].T @ z[first]
        self.n_first = int(first.sum())
        self.by_gap: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        rows = np.nonzero(~first)[0]
        for g in np.unique(self.gap[rows]):
            now = rows[self.gap[rows] == g]
            current, previous = z[now], z[now - 1]
            cross = current.T @ previous
            self.by_gap.append(
                (int(g), now.size, current.T @ current, cross + cross.T, previous.T @ previous)
            )

    def cross_products(self, phi: float) -> tuple[np.ndarray, float]:
        one_minus = 1.0 - phi * phi
        total = one_minus * self.first_cross
        log_det = -self.n_first * math.log(one_minus)
        for g, count, current, cross, previous in self.by_gap:
            power = phi**g
            factor = one_minus / (1.0 - power * power) if g > 1 else 1.0
            total = total + factor * (current - power * cross + power * power * previous)
            if g > 1:
                log_det -= count * math.log(factor)
        return total, log_det

    def neg_loglik(self, phi: float, reml: bool = True) -> float:
        """Minus the concentrated log-likelihood (REML by default) at `phi`, up to a constant.

        ML: n/2 log(SSR/n) + 1/2 log|Omega|. REML adds 1/2 log|X*'X*| and uses n - k, which
        removes most of the small-sample downward bias of phi (and so of the standard errors).
        """
        cross, log_det = self.cross_products(phi)
        xx, xy, yy = cross[:-1, :-1], cross[:-1, -1], cross[-1, -1]
        try:
            beta = np.linalg.solve(xx, xy)
        except np.linalg.LinAlgError:
            return math.inf
        ssr = max(float(yy - xy @ beta), 1e-300)
        if not reml:
            return 0.5 * self.n * math.log(ssr / self.n) + 0.5 * log_det
        sign, log_det_xx = np.linalg.slogdet(xx)
        if sign <= 0:
            return math.inf
        dof = self.n - self.k
        return 0.5 * dof * math.log(ssr / dof) + 0.5 * log_det + 0.5 * float(log_det_xx)

    def transform(self, phi: float) -> tuple[np.ndarray, np.ndarray]:
        """Whitened design and outcome (rows with unit innovation scale factor)."""
        return _ar1_whiten(self.y, self.X, self.t, self.first, self.gap, phi)


def _ar1_whiten(
    y: np.ndarray, X: np.ndarray, t: np.ndarray, first: np.ndarray, gap: np.ndarray, phi: float
) -> tuple[np.ndarray, np.ndarray]:
    n = y.shape[0]
    factor = np.empty(n)
    power = np.zeros(n)
    factor[first] = math.sqrt(1.0 - phi * phi)
    rest = ~first
    power[rest] = phi ** gap[rest]
    factor[rest] = np.sqrt((1.0 - phi * phi) / (1.0 - power[rest] ** 2))
    xs = X * factor[:, None]
    xs[1:] -= (power[1:] * factor[1:])[:, None] * X[:-1]
    ys = y * factor
    ys[1:] -= power[1:] * factor[1:] * y[:-1]
    return xs, ys


def _series_starts(t: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row of each series, and the gap in periods to the previous row otherwise."""
    first = np.ones(t.shape[0], dtype=bool)
    first[1:] = group[1:] != group[:-1]
    gap = np.zeros(t.shape[0], dtype=np.int64)
    gap[1:] = np.diff(np.asarray(t, dtype=np.int64))
    gap[first] = 0
    if np.any(gap[~first] <= 0):
        raise ITSInputError("periods must increase within a series")
    return first, gap


PHI_BOUND = 0.99


def fit_ar1(
    y: np.ndarray,
    X: np.ndarray,
    t: np.ndarray,
    group: np.ndarray | None = None,
    *,
    phi: float | None = None,
    reml: bool = True,
) -> ModelFit:
    """Regression with AR(1) errors by exact (restricted) maximum likelihood.

    phi is estimated by REML unless `reml` is False (plain ML, as statsmodels' SARIMAX) or
    `phi` is given (held fixed, for placebo refits); the coefficients are then GLS.

    The covariance of the coefficients is sigma^2 (X*'X*)^-1 on the whitened design, with
    sigma^2 = SSR / (n - k) (the ML estimate divides by n and is biased low in short series);
    intervals use t with n - k - 1 degrees of freedom (one for phi).
    """
    n, k = X.shape
    group = np.ones(n, dtype=np.int64) if group is None else np.asarray(group)
    converged = True
    if phi is None:
        profile = _AR1Profile(y, X, t, group)
        search = optimize.minimize_scalar(
            lambda value: profile.neg_loglik(value, reml),
            bounds=(-PHI_BOUND, PHI_BOUND),
            method="bounded",
            options={"xatol": 1e-9},
        )
        phi = float(search.x)
        converged = bool(search.success)
        fixed = 0.0
    else:
        fixed = 1.0
    first, gap = _series_starts(t, group)
    xs, ys = _ar1_whiten(y, X, t, first, gap, phi)
    q, r = np.linalg.qr(xs)
    params = np.linalg.solve(r, q.T @ ys)
    innovations = ys - xs @ params
    ssr = float(innovations @ innovations)
    sigma2 = ssr / (n - k)
    r_inv = np.linalg.inv(r)
    cov = sigma2 * (r_inv @ r_inv.T)
    return ModelFit(
        family="arima",
        link="identity",
        params=params,
        cov=cov,
        df_resid=float(n - k - 1),
        # A perfect fit (e.g. a placebo window of all-zero months) has no residual scale.
        resid=innovations / math.sqrt(sigma2) if sigma2 > 0 else np.zeros_like(innovations),
        dispersion=None,
        converged=converged,
        n_obs=n,
        details={
            "phi": phi,
            "sigma2": sigma2,
            "sigma2_ml": ssr / n,
            "phi_at_bound": float(abs(phi) > PHI_BOUND - 1e-3),
            "phi_fixed": fixed,
            "reml": float(reml),
            "ar_order": 1.0,
            "ma_order": 0.0,
        },
    )


# --- general ARMA errors (statsmodels SARIMAX) ---------------------------------------------


def fit_arma_sarimax(data: FitInput, order: tuple[int, int]) -> ModelFit:
    """Regression with ARMA(p, q) errors via statsmodels SARIMAX (single series only).

    Rows outside `data.mask` enter as missing, so the Kalman filter skips them exactly.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # imported lazily: slow import

    if np.any(data.group != data.group[0]):
        raise ITSInputError(
            "a comparison series with ARMA errors other than AR(1) is not supported; "
            "use arma_order=(1, 0) or model='ols'"
        )
    endog = np.where(data.mask, data.y, np.nan)
    p, q = order
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SARIMAX(endog, exog=data.X, order=(p, 0, q), trend="n")
        result = model.fit(disp=False, maxiter=500)
    k = data.X.shape[1]
    params = np.asarray(result.params)[:k]
    cov = np.asarray(result.cov_params())[:k, :k]
    if not np.all(np.isfinite(params)):
        raise ITSConvergenceError("the ARMA fit did not converge to finite estimates")
    converged = bool(result.mle_retvals.get("converged", True)) and not any(
        "converge" in str(w.message).lower() for w in caught
    )
    standardized = np.asarray(result.filter_results.standardized_forecasts_error)[0]
    details: dict[str, float] = {
        "ar_order": float(p),
        "ma_order": float(q),
        "sigma2": float(result.params[-1]),
    }
    for name, value in zip(result.param_names[k:-1], np.asarray(result.params)[k:-1], strict=True):
        details[name] = float(value)
    return ModelFit(
        family="arima",
        link="identity",
        params=params,
        cov=cov,
        df_resid=math.inf,
        resid=standardized[data.mask],
        dispersion=None,
        converged=converged,
        n_obs=int(data.mask.sum()),
        details=details,
    )


# --- dispatch -------------------------------------------------------------------------------


def fit_model(
    family: str,
    data: FitInput,
    *,
    hac_lags: int | None = None,
    arma_order: tuple[int, int] = (1, 0),
    fixed: dict[str, float] | None = None,
) -> ModelFit:
    """Fit `family` to the masked rows of `data`.

    Args:
        family: "ols", "poisson", "quasipoisson", "negbin" or "arima".
        data: the design on the full grid with the fit mask.
        hac_lags: Newey-West lag for "ols" (None: rule of thumb).
        arma_order: (p, q) for "arima".
        fixed: nuisance parameters to hold (``{"phi": ...}`` or ``{"alpha": ...}``), used
            by the placebo refits so they are cheap.
    """
    fixed = fixed or {}
    mask = data.mask
    y, X, t, group, offset = (
        data.y[mask],
        data.X[mask],
        data.t[mask],
        data.group[mask],
        data.offset[mask],
    )
    if family == "ols":
        return fit_ols_hac(y, X, t, group, hac_lags)
    if family in ("poisson", "quasipoisson"):
        return fit_poisson(y, X, offset, quasi=family == "quasipoisson")
    if family == "negbin":
        return fit_negbin(y, X, offset, alpha=fixed.get("alpha"))
    if family == "binomial":
        if data.trials is None:
            raise ITSInputError("a binomial model needs a denominator (the number of trials)")
        return fit_binomial(y, data.trials[mask], X)
    if family == "arima":
        if tuple(arma_order) == (1, 0):
            return fit_ar1(y, X, t, group, phi=fixed.get("phi"))
        return fit_arma_sarimax(data, tuple(arma_order))
    raise ITSInputError(f"unknown model '{family}'")
