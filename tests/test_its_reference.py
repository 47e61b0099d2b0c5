"""Published ITS analyses reproduced from their public data in ../shared/reference_data/its.

- Lopez Bernal, Cummins & Gasparrini (2017), Sicily smoking ban, models 1 to 3: level-change
  rate ratio with its 95% Wald CI (normal quantile), dispersion and the trend per year, to 3
  decimals, exactly as that folder's README specifies (no slope term: the published model
  is `aces ~ offset(log(stdpop)) + smokban + time`, quasi-Poisson with the Pearson scale).
- Linden (2015), Stata `itsa`, California Proposition 99: OLS with Newey-West standard
  errors, lag 1. Convention: Stata `newey` (the HAC matrix times n/(n-k), Student's t with
  n - k df), checked against a hand computation of the sandwich in numpy below.

The data are read from the shared folder, never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from metrics.its import InterventionSpec, ITSSpec, fit_its

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference_data" / "its"

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"shared ITS reference data not found at {REFERENCE} (outside this repository)",
)


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    frame = pd.read_csv(REFERENCE / "sicily.csv")
    frame["date"] = pd.to_datetime({"year": frame["year"], "month": frame["month"], "day": 1})
    return frame


@pytest.fixture(scope="module")
def california_all() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "california_prop99.csv", sep=";")


@pytest.fixture(scope="module")
def california(california_all: pd.DataFrame) -> pd.DataFrame:
    return california_all[california_all["State"] == "California"].sort_values("Year")


SMOKING_BAN = InterventionSpec("smoking_ban", "2005-01", label="smoking ban", slope=False)


# --- Sicily -----------------------------------------------------------------------------------

SICILY_MODELS = [
    # model, seasonality, (RR, low, high), dispersion, trend per year
    pytest.param("poisson", "none", (0.894, 0.865, 0.925), None, None, id="model1-poisson"),
    pytest.param(
        "quasipoisson", "none", (0.894, 0.839, 0.953), 3.559, None, id="model2-quasipoisson"
    ),
    pytest.param(
        "quasipoisson",
        "fourier:2",
        (0.885, 0.839, 0.933),
        2.262,
        1.067,
        id="model3-quasipoisson-fourier2",
    ),
]


@pytest.mark.parametrize(("model", "seasonality", "level", "dispersion", "trend"), SICILY_MODELS)
def test_sicily_models_match_lopez_bernal_2017_to_three_decimals(
    sicily: pd.DataFrame,
    model: str,
    seasonality: str,
    level: tuple[float, float, float],
    dispersion: float | None,
    trend: float | None,
) -> None:
    spec = ITSSpec(
        model=model,
        interventions=(SMOKING_BAN,),
        seasonality=seasonality,
        offset_col="stdpop",
        placebo=False,
    )
    result = fit_its(sicily, spec, value_col="aces", series_name="Acute coronary events")
    effect = result.effect("smoking_ban", "level")
    assert effect is not None and effect.scale == "ratio"
    assert (round(effect.estimate, 3), round(effect.ci_low, 3), round(effect.ci_high, 3)) == level
    assert result.n_pre == 36 and result.n_post == 23
    if dispersion is not None:
        assert round(result.dispersion, 3) == dispersion
    if trend is not None:
        assert result.trend.scale == "ratio" and result.trend.per == "year"
        assert round(result.trend.estimate, 3) == trend


def test_sicily_poisson_fit_matches_statsmodels_glm_closely(sicily: pd.DataFrame) -> None:
    """Our numpy IRLS against statsmodels' GLM on the same design (far tighter than 3 dp)."""
    spec = ITSSpec(
        model="quasipoisson",
        interventions=(SMOKING_BAN,),
        seasonality="fourier:2",
        offset_col="stdpop",
        placebo=False,
    )
    result = fit_its(sicily, spec, value_col="aces")
    month = sicily["month"].to_numpy(float)
    X = np.column_stack(
        [
            np.ones(len(sicily)),
            sicily["time"] - 1,
            sicily["smokban"],
            np.sin(2 * np.pi * month / 12),
            np.sin(4 * np.pi * month / 12),
            np.cos(2 * np.pi * month / 12),
            np.cos(4 * np.pi * month / 12),
        ]
    )
    glm = sm.GLM(
        sicily["aces"].to_numpy(float),
        X,
        family=sm.families.Poisson(),
        offset=np.log(sicily["stdpop"].to_numpy(float)),
    ).fit(scale="X2")
    np.testing.assert_allclose(result.params, glm.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(result.cov)), glm.bse, rtol=1e-7)
    assert result.dispersion == pytest.approx(glm.scale, rel=1e-9)


def test_fourier_terms_are_tsmodel_harmonic_for_two_pairs(sicily: pd.DataFrame) -> None:
    """Columns sin(2 pi m/12), sin(4 pi m/12), cos(2 pi m/12), cos(4 pi m/12), m = month."""
    spec = ITSSpec(
        model="quasipoisson",
        interventions=(SMOKING_BAN,),
        seasonality="fourier:2",
        offset_col="stdpop",
        placebo=False,
    )
    terms = list(fit_its(sicily, spec, value_col="aces").coefficients["term"])
    assert terms[-4:] == ["sin1", "sin2", "cos1", "cos2"]


# --- California, Linden (2015) -------------------------------------------------------------------


def newey_west_by_hand(X: np.ndarray, resid: np.ndarray, lags: int) -> np.ndarray:
    """The Newey-West sandwich written out term by term, with Stata's n/(n-k) factor."""
    n, k = X.shape
    meat = np.zeros((k, k))
    for i in range(n):
        meat += resid[i] ** 2 * np.outer(X[i], X[i])
    for lag in range(1, lags + 1):
        weight = 1 - lag / (lags + 1)
        for i in range(lag, n):
            cross = np.outer(X[i], X[i - lag])
            meat += weight * resid[i] * resid[i - lag] * (cross + cross.T)
    bread = np.linalg.inv(X.T @ X)
    return n / (n - k) * bread @ meat @ bread


PROP_99 = InterventionSpec("prop99", 1989, label="Proposition 99")


def test_california_single_group_matches_hand_computed_newey_west(
    california: pd.DataFrame,
) -> None:
    spec = ITSSpec(
        model="ols", interventions=(PROP_99,), hac_lags=1, frequency="annual", placebo=False
    )
    result = fit_its(
        california, spec, date_col="Year", value_col="PacksPerCapita", series_name="California"
    )
    year = california["Year"].to_numpy(float)
    y = california["PacksPerCapita"].to_numpy(float)
    post = (year >= 1989).astype(float)
    X = np.column_stack([np.ones_like(year), year - 1970, post, (year - 1989) * post])
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    cov = newey_west_by_hand(X, y - X @ beta, lags=1)
    se = np.sqrt(np.diag(cov))
    t_crit = stats.t.ppf(0.975, df=len(y) - X.shape[1])

    np.testing.assert_allclose(result.params, beta, rtol=1e-10)
    np.testing.assert_allclose(result.cov, cov, rtol=1e-10)
    table = result.coefficients.set_index("term")
    np.testing.assert_allclose(table["ci_low"], beta - t_crit * se, rtol=1e-10)
    np.testing.assert_allclose(table["ci_high"], beta + t_crit * se, rtol=1e-10)

    # The OLS point estimates of Linden (2015), `itsa cigsale, single treat(3) trperiod(1989)
    # lag(1)`; the interval and standard error pin down the Stata `newey` convention (the
    # hand computation above), so a change of convention fails here, not silently.
    level = result.effect("prop99", "level")
    slope = result.effect("prop99", "slope")
    assert level is not None and slope is not None
    assert round(result.trend.estimate, 3) == -1.779  # pre-1989 trend, packs a year
    assert round(level.estimate, 3) == -20.058  # jump in 1989
    assert round(slope.estimate, 3) == -1.495  # change in trend
    assert (round(level.ci_low, 2), round(level.ci_high, 2)) == (-29.75, -10.36)
    assert round(level.se, 4) == 4.7244


def test_newey_west_convention_is_statas_not_statsmodels_default(
    california: pd.DataFrame,
) -> None:
    """statsmodels reproduces us only with use_correction=True and t intervals."""
    spec = ITSSpec(
        model="ols", interventions=(PROP_99,), hac_lags=1, frequency="annual", placebo=False
    )
    result = fit_its(california, spec, date_col="Year", value_col="PacksPerCapita")
    year = california["Year"].to_numpy(float)
    post = (year >= 1989).astype(float)
    X = np.column_stack([np.ones_like(year), year - 1970, post, (year - 1989) * post])
    y = california["PacksPerCapita"].to_numpy(float)
    stata_like = sm.OLS(y, X).fit(
        cov_type="HAC", use_t=True, cov_kwds={"maxlags": 1, "use_correction": True}
    )
    default = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 1})
    np.testing.assert_allclose(result.cov, stata_like.cov_params(), rtol=1e-10)
    np.testing.assert_allclose(
        result.coefficients[["ci_low", "ci_high"]].to_numpy(), stata_like.conf_int(), rtol=1e-10
    )
    assert not np.allclose(result.cov, default.cov_params(), rtol=1e-3)


def test_california_against_other_states_gives_difference_in_differences(
    california: pd.DataFrame, california_all: pd.DataFrame
) -> None:
    """Linden's multiple-group design: with every term interacted with group, the level and
    slope differences are exactly the treated fit's changes minus the comparison fit's."""
    others = (
        california_all[california_all["State"] != "California"]
        .groupby("Year", as_index=False)["PacksPerCapita"]
        .mean()
        .rename(columns={"PacksPerCapita": "others"})
    )
    frame = california.merge(others, on="Year")
    base = dict(
        model="ols", interventions=(PROP_99,), hac_lags=1, frequency="annual", placebo=False
    )
    both = fit_its(
        frame, ITSSpec(control_col="others", **base), date_col="Year", value_col="PacksPerCapita"
    )
    treated = fit_its(frame, ITSSpec(**base), date_col="Year", value_col="PacksPerCapita")
    control = fit_its(frame, ITSSpec(**base), date_col="Year", value_col="others")
    for term in ("level", "slope"):
        difference = both.effect("prop99", term)
        assert difference is not None and difference.comparison
        expected = treated.effect("prop99", term).estimate - control.effect("prop99", term).estimate
        assert difference.estimate == pytest.approx(expected, abs=1e-9)
    # The treated series' own pre-trend is still reported.
    assert both.trend.estimate == pytest.approx(treated.trend.estimate, abs=1e-9)
