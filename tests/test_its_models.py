"""Model adapters against statsmodels and hand computations (numerical agreement)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats.diagnostic import acorr_breusch_godfrey, acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson as sm_durbin_watson
from statsmodels.tsa.statespace.sarimax import SARIMAX

from metrics.its.diagnostics import breusch_godfrey, durbin_watson, ljung_box
from metrics.its.models import (
    FitInput,
    default_hac_lags,
    fit_ar1,
    fit_model,
    fit_negbin,
    fit_ols_hac,
    fit_poisson,
)


def segmented_design(n: int, start: int, seasonal: bool = False) -> np.ndarray:
    t = np.arange(n, dtype=float)
    columns = [np.ones(n), t, (t >= start).astype(float), np.where(t >= start, t - start, 0.0)]
    if seasonal:
        month = t % 12 + 1
        columns += [np.sin(2 * np.pi * month / 12), np.cos(2 * np.pi * month / 12)]
    return np.column_stack(columns)


def ar1_noise(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    noise = np.empty(n)
    noise[0] = rng.normal(0, sd / math.sqrt(1 - phi**2))
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + rng.normal(0, sd)
    return noise


@pytest.mark.parametrize(
    ("n", "lags", "seasonal"), [(31, 1, False), (60, 3, True), (144, 4, True), (144, 0, False)]
)
def test_newey_west_fast_path_matches_statsmodels_to_1e10(
    n: int, lags: int, seasonal: bool
) -> None:
    rng = np.random.default_rng(n + lags)
    X = segmented_design(n, n // 2, seasonal)
    y = X @ rng.normal(0, 3, X.shape[1]) + ar1_noise(rng, n, 0.5, 2.0)
    ours = fit_ols_hac(y, X, np.arange(n), None, lags)
    reference = sm.OLS(y, X).fit(
        cov_type="HAC", use_t=True, cov_kwds={"maxlags": lags, "use_correction": True}
    )
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.cov, reference.cov_params(), rtol=1e-10, atol=1e-12)
    assert ours.df_resid == reference.df_resid
    interval = np.column_stack(
        [ours.params - ours.quantile(0.05) * ours.se, ours.params + ours.quantile(0.05) * ours.se]
    )
    np.testing.assert_allclose(interval, reference.conf_int(alpha=0.05), rtol=1e-10)


def test_newey_west_with_gaps_pairs_points_by_time_not_by_row() -> None:
    """A missing month contributes no cross-products: lag-1 pairs are 1 period apart."""
    rng = np.random.default_rng(7)
    n = 40
    X_full = segmented_design(n, 20)
    t_full = np.arange(n)
    keep = np.ones(n, dtype=bool)
    keep[[5, 6, 30]] = False
    X, t = X_full[keep], t_full[keep]
    y = X @ np.array([10.0, 0.2, -3.0, 0.1]) + rng.normal(0, 1, keep.sum())
    fit = fit_ols_hac(y, X, t, None, 2)
    resid = y - X @ fit.params
    meat = np.zeros((4, 4))
    for i in range(len(t)):
        for j in range(len(t)):
            lag = abs(t[i] - t[j])
            if lag <= 2:
                meat += (1 - lag / 3) * resid[i] * resid[j] * np.outer(X[i], X[j])
    bread = np.linalg.inv(X.T @ X)
    expected = len(t) / (len(t) - 4) * bread @ meat @ bread
    np.testing.assert_allclose(fit.cov, expected, rtol=1e-10)


def test_newey_west_never_pairs_points_of_different_series() -> None:
    rng = np.random.default_rng(8)
    X1 = segmented_design(30, 15)
    X = np.vstack([X1, X1])
    t = np.concatenate([np.arange(30), np.arange(30)])
    group = np.repeat([1, 0], 30)
    y = rng.normal(0, 1, 60)
    fit = fit_ols_hac(y, X, t, group, 1)
    resid = y - X @ fit.params
    meat = np.zeros((4, 4))
    for i in range(60):
        for j in range(60):
            if group[i] == group[j] and abs(t[i] - t[j]) <= 1:
                weight = 1.0 if i == j else 0.5
                meat += weight * resid[i] * resid[j] * np.outer(X[i], X[j])
    bread = np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(fit.cov, 60 / 56 * bread @ meat @ bread, rtol=1e-10)


def test_default_hac_lag_rule() -> None:
    assert [default_hac_lags(n) for n in (31, 59, 100, 144)] == [3, 3, 4, 4]


def test_ar1_maximum_likelihood_agrees_with_sarimax() -> None:
    """With plain ML, our fast path maximises the same exact likelihood as SARIMAX."""
    rng = np.random.default_rng(11)
    n = 96
    X = segmented_design(n, 48)
    y = X @ np.array([100.0, 0.3, -10.0, 0.0]) + ar1_noise(rng, n, 0.5, 5.0)
    ours = fit_ar1(y, X, np.arange(n), reml=False)
    model = SARIMAX(y, exog=X, order=(1, 0, 0), trend="n")
    reference = model.fit(disp=False)
    ours_vector = np.r_[ours.params, ours.details["phi"], ours.details["sigma2_ml"]]
    # Our optimum is at least as high as SARIMAX's, and the two agree closely.
    assert model.loglike(ours_vector) >= reference.llf - 1e-6
    np.testing.assert_allclose(ours_vector, reference.params, rtol=2e-3, atol=2e-3)


def test_ar1_with_missing_months_agrees_with_sarimax_kalman_filter() -> None:
    rng = np.random.default_rng(12)
    n = 80
    X = segmented_design(n, 40)
    y = X @ np.array([50.0, 0.1, 6.0, -0.1]) + ar1_noise(rng, n, 0.6, 2.0)
    keep = np.ones(n, dtype=bool)
    keep[[9, 10, 11, 55]] = False
    ours = fit_ar1(y[keep], X[keep], np.arange(n)[keep], reml=False)
    model = SARIMAX(np.where(keep, y, np.nan), exog=X, order=(1, 0, 0), trend="n")
    reference = model.fit(disp=False)
    ours_vector = np.r_[ours.params, ours.details["phi"], ours.details["sigma2_ml"]]
    assert model.loglike(ours_vector) >= reference.llf - 1e-6
    np.testing.assert_allclose(ours_vector, reference.params, rtol=2e-3, atol=2e-3)


def test_reml_estimates_phi_higher_than_ml_in_a_short_series() -> None:
    """REML's point: it removes ML's downward bias in phi, on average."""
    rng = np.random.default_rng(13)
    X = segmented_design(48, 24)
    differences = []
    for _ in range(30):
        y = X @ np.array([10.0, 0.1, -2.0, 0.0]) + ar1_noise(rng, 48, 0.5, 1.0)
        reml = fit_ar1(y, X, np.arange(48)).details["phi"]
        ml = fit_ar1(y, X, np.arange(48), reml=False).details["phi"]
        differences.append(reml - ml)
    assert np.mean(differences) > 0.02


def test_ar1_with_fixed_phi_is_gls() -> None:
    rng = np.random.default_rng(14)
    X = segmented_design(50, 25)
    y = X @ np.array([5.0, 0.1, 1.0, 0.0]) + ar1_noise(rng, 50, 0.3, 1.0)
    fit = fit_ar1(y, X, np.arange(50), phi=0.3)
    # GLS by the explicit inverse of the AR(1) correlation matrix.
    lags = np.abs(np.subtract.outer(np.arange(50), np.arange(50)))
    omega_inv = np.linalg.inv(0.3**lags / (1 - 0.09))
    beta = np.linalg.solve(X.T @ omega_inv @ X, X.T @ omega_inv @ y)
    np.testing.assert_allclose(fit.params, beta, rtol=1e-9)
    assert fit.details["phi"] == 0.3 and fit.details["phi_fixed"] == 1.0


def test_poisson_and_quasipoisson_match_statsmodels_glm() -> None:
    rng = np.random.default_rng(21)
    X = segmented_design(60, 30, seasonal=True)
    offset = np.log(rng.uniform(9000, 11000, 60))
    y = rng.poisson(np.exp(X @ np.array([-4, 0.004, -0.2, 0.002, 0.05, -0.03]) + offset))
    y = y.astype(float)
    poisson = fit_poisson(y, X, offset, quasi=False)
    quasi = fit_poisson(y, X, offset, quasi=True)
    reference = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    np.testing.assert_allclose(poisson.params, reference.params, rtol=1e-8)
    np.testing.assert_allclose(poisson.se, reference.bse, rtol=1e-7)
    np.testing.assert_allclose(quasi.se, reference.bse * math.sqrt(quasi.dispersion), rtol=1e-7)
    assert quasi.dispersion == pytest.approx(reference.pearson_chi2 / reference.df_resid)


def test_negative_binomial_matches_statsmodels() -> None:
    rng = np.random.default_rng(22)
    X = segmented_design(96, 48)
    mu = np.exp(X @ np.array([5.0, 0.005, -0.3, 0.0]))
    y = rng.negative_binomial(20, 20 / (20 + mu)).astype(float)
    ours = fit_negbin(y, X, np.zeros(96))
    discrete = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(
        disp=False, maxiter=1000, method="bfgs"
    )
    np.testing.assert_allclose(ours.params, discrete.params[:-1], rtol=1e-5)
    assert ours.details["alpha"] == pytest.approx(discrete.params[-1], rel=1e-4)
    # Coefficient covariance: expected information at the estimate, as GLM with that alpha.
    glm = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=ours.details["alpha"])).fit()
    np.testing.assert_allclose(ours.se, glm.bse, rtol=1e-6)


def test_sarimax_adapter_is_used_for_other_arma_orders() -> None:
    rng = np.random.default_rng(23)
    X = segmented_design(60, 30)
    y = X @ np.array([20.0, 0.1, -4.0, 0.0]) + ar1_noise(rng, 60, 0.4, 1.0)
    data = FitInput(
        y=y,
        X=X,
        t=np.arange(60),
        group=np.ones(60),
        offset=np.zeros(60),
        mask=np.ones(60, dtype=bool),
    )
    fit = fit_model("arima", data, arma_order=(1, 1))
    assert "ma.L1" in fit.details and "ar.L1" in fit.details
    assert math.isinf(fit.df_resid)  # SARIMAX: normal-quantile intervals
    assert fit.params[2] == pytest.approx(-4.0, abs=2.0)


def test_residual_diagnostics_match_statsmodels() -> None:
    rng = np.random.default_rng(31)
    X = segmented_design(72, 36)
    y = X @ np.array([3.0, 0.1, 1.0, 0.0]) + ar1_noise(rng, 72, 0.4, 1.0)
    result = sm.OLS(y, X).fit()
    resid = result.resid
    assert durbin_watson(resid) == pytest.approx(sm_durbin_watson(resid), rel=1e-12)
    q, p = ljung_box(resid, 12)
    reference = acorr_ljungbox(resid, lags=[12])
    assert q == pytest.approx(float(reference["lb_stat"].iloc[0]), rel=1e-10)
    assert p == pytest.approx(float(reference["lb_pvalue"].iloc[0]), rel=1e-8)
    lm, lm_p = breusch_godfrey(resid, X, 4)
    reference_lm, reference_p, _, _ = acorr_breusch_godfrey(result, nlags=4, result_object=False)
    assert lm == pytest.approx(reference_lm, rel=1e-8)
    assert lm_p == pytest.approx(reference_p, rel=1e-7)
