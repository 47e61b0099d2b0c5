"""Residual diagnostics, in numpy: Durbin-Watson, Ljung-Box, Breusch-Godfrey, ACF.

Residuals are taken in time order, ignoring gaps (a missing month simply joins its
neighbours), which is what statsmodels' own tests do with a dropped row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Diagnostics:
    """Residual checks for one fit.

    Attributes:
        residual_kind: "raw" (ols), "pearson" (count models) or "innovation" (arima: the
            standardised one-step errors, which should be white if the ARMA part fits).
        durbin_watson: about 2 without lag-1 autocorrelation; below 1.5 suggests positive.
        ljung_box_stat, ljung_box_p, ljung_box_lags: portmanteau test for autocorrelation up
            to `ljung_box_lags` (df reduced by fitted ARMA terms).
        breusch_godfrey_stat, breusch_godfrey_p, breusch_godfrey_lags: LM test (linear
            families only; None otherwise).
        dispersion: Pearson chi-square / df (count models only).
        acf: residual autocorrelation at lags 1..12 (NaN where the series is too short).
        lack_of_fit_stat, lack_of_fit_p, lack_of_fit_df: F test of a separate level for each
            year before and after the first intervention, added to the model (Wald test with
            the model's own covariance, AR coefficient or NB alpha held); None when the
            series is too short or the model is fitted by SARIMAX.
    """

    residual_kind: str
    durbin_watson: float
    ljung_box_stat: float
    ljung_box_p: float
    ljung_box_lags: int
    breusch_godfrey_stat: float | None
    breusch_godfrey_p: float | None
    breusch_godfrey_lags: int | None
    dispersion: float | None
    acf: tuple[float, ...]
    lack_of_fit_stat: float | None = None
    lack_of_fit_p: float | None = None
    lack_of_fit_df: int | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form."""
        return {
            "residual_kind": self.residual_kind,
            "durbin_watson": self.durbin_watson,
            "ljung_box": {
                "statistic": self.ljung_box_stat,
                "p_value": self.ljung_box_p,
                "lags": self.ljung_box_lags,
            },
            "breusch_godfrey": None
            if self.breusch_godfrey_stat is None
            else {
                "statistic": self.breusch_godfrey_stat,
                "p_value": self.breusch_godfrey_p,
                "lags": self.breusch_godfrey_lags,
            },
            "dispersion": self.dispersion,
            "acf": list(self.acf),
            "lack_of_fit": None
            if self.lack_of_fit_p is None
            else {
                "statistic": self.lack_of_fit_stat,
                "p_value": self.lack_of_fit_p,
                "df": self.lack_of_fit_df,
            },
        }


def autocorrelations(resid: np.ndarray, max_lag: int = 12) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag (NaN beyond n - 2)."""
    centred = resid - resid.mean()
    denominator = float(centred @ centred)
    out = np.full(max_lag, np.nan)
    if denominator <= 0:
        return out
    for lag in range(1, min(max_lag, resid.size - 2) + 1):
        out[lag - 1] = float(centred[lag:] @ centred[:-lag]) / denominator
    return out


def durbin_watson(resid: np.ndarray) -> float:
    """Sum of squared successive differences over the sum of squares."""
    denominator = float(resid @ resid)
    return float(np.sum(np.diff(resid) ** 2) / denominator) if denominator > 0 else math.nan


def portmanteau_lags(n: int) -> int:
    """Lags for the Ljung-Box / Breusch-Godfrey tests: 12, fewer for short series (n / 4)."""
    return max(1, min(12, n // 4))


def ljung_box(resid: np.ndarray, lags: int, fitted_arma_terms: int = 0) -> tuple[float, float]:
    """Ljung-Box Q and its chi-square p-value (df = lags - fitted ARMA terms, at least 1)."""
    n = resid.size
    rho = autocorrelations(resid, lags)
    rho = np.nan_to_num(rho)
    k = np.arange(1, lags + 1)
    q = float(n * (n + 2) * np.sum(rho**2 / (n - k)))
    df = max(lags - fitted_arma_terms, 1)
    return q, float(special.chdtrc(df, q))


def breusch_godfrey(resid: np.ndarray, X: np.ndarray, lags: int) -> tuple[float, float]:
    """Breusch-Godfrey LM = n R^2 of resid on [X, resid lagged 1..lags (zero-filled)]."""
    n = resid.size
    lagged = np.zeros((n, lags))
    for lag in range(1, lags + 1):
        lagged[lag:, lag - 1] = resid[:-lag]
    aux = np.column_stack([X, lagged])
    coef, *_ = np.linalg.lstsq(aux, resid, rcond=None)
    fitted_resid = resid - aux @ coef
    centred = resid - resid.mean()
    total = float(centred @ centred)
    r2 = 1.0 - float(fitted_resid @ fitted_resid) / total if total > 0 else 0.0
    statistic = n * r2
    return statistic, float(special.chdtrc(lags, statistic))


def residual_kind(model: str) -> str:
    """The residuals a family's diagnostics are read on: raw (ols), the AR error model's
    innovations (arima), Pearson (the GLMs)."""
    return {"ols": "raw", "arima": "innovation"}.get(model, "pearson")


def residual_diagnostics(
    resid: np.ndarray,
    *,
    residual_kind: str,
    X: np.ndarray | None = None,
    dispersion: float | None = None,
    fitted_arma_terms: int = 0,
) -> Diagnostics:
    """All residual checks for one series' residuals in time order.

    Args:
        resid: residuals of the treated series, in time order.
        residual_kind: see `Diagnostics.residual_kind`.
        X: the design rows of those residuals; given only for linear models (enables the
            Breusch-Godfrey test).
        dispersion: Pearson chi-square / df for count models.
        fitted_arma_terms: p + q of an ARMA error model (reduces the Ljung-Box df).
    """
    lags = portmanteau_lags(resid.size)
    lb_stat, lb_p = ljung_box(resid, lags, fitted_arma_terms)
    bg_stat = bg_p = None
    bg_lags = None
    if X is not None and resid.size > X.shape[1] + lags + 1:
        bg_stat, bg_p = breusch_godfrey(resid, X, lags)
        bg_lags = lags
    return Diagnostics(
        residual_kind=residual_kind,
        durbin_watson=durbin_watson(resid),
        ljung_box_stat=lb_stat,
        ljung_box_p=lb_p,
        ljung_box_lags=lags,
        breusch_godfrey_stat=bg_stat,
        breusch_godfrey_p=bg_p,
        breusch_godfrey_lags=bg_lags,
        dispersion=dispersion,
        acf=tuple(float(v) for v in autocorrelations(resid, 12)),
    )
