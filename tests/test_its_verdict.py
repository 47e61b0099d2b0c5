"""The verdict: does the model fit well enough to conclude? Honest headlines when it does not.

Each reason the verdict gives is provoked by data built to fail it, and cured by the model
that fits; a study that does not fit never reads "consistent with no change".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from metrics.its import InterventionSpec, ITSSpec, fit_its
from metrics.its.result import verb_for
from metrics.its.verdict import DOES_NOT_FIT, FITS

N = 144
DATES = pd.date_range("2013-04", periods=N, freq="MS")
T = np.arange(N)
TEST_NAMES = re.compile(
    r"ljung|durbin|breusch|newey|\bols\b|\barima\b|quasipoisson|negbin|\bphi\b|p ?=", re.I
)


def ar_noise(phi: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    noise = np.zeros(N)
    for i in range(N):
        noise[i] = (phi * noise[i - 1] if i else 0.0) + rng.normal(0.0, sd)
    return noise


def frame(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"date": DATES, "value": values})


def growth_that_levels_off(seed: int = 1) -> pd.DataFrame:
    """IPSA-like: none before go-live (month 24), +75 over 36 months, then almost flat."""
    rng = np.random.default_rng(seed)
    y = np.clip(T - 24, 0, 36) * 75 / 36 + np.clip(T - 60, 0, 60) * 0.25
    return frame(np.round(y + ar_noise(0.7, 1.0, rng)))


GO_LIVE = InterventionSpec("go_live", "2015-04", label="go-live")


def codes(items) -> list[str]:
    return [item.code for item in items]


def test_a_straight_line_through_growth_that_levels_off_does_not_fit() -> None:
    result = fit_its(growth_that_levels_off(), ITSSpec(interventions=(GO_LIVE,), term="slope"))
    verdict = result.verdict
    assert verdict.status == DOES_NOT_FIT and not verdict.fits
    assert "ar_at_bound" in codes(verdict.reasons)
    sentence = result.sentence(subject="People living independently")
    assert sentence.startswith("No conclusion on whether the go-live changed people living")
    assert "carries over almost entirely" in sentence
    assert "consistent with no change" not in sentence
    assert verdict.badge == "Does not fit: no conclusion" and verdict.colour == "red"
    # Board words carry no test names; the analysts' detail does.
    assert not TEST_NAMES.search(sentence) and not TEST_NAMES.search(verdict.words())
    assert any("AR(1) coefficient" in r.detail for r in verdict.reasons)
    assert result.to_dict()["verdict"]["status"] == "does_not_fit"


def test_autocorrelation_left_after_a_count_model_does_not_fit() -> None:
    rng = np.random.default_rng(2)
    mean = 200 * np.exp(ar_noise(0.8, 0.1, rng)) * np.where(T >= 60, 0.8, 1.0)
    data = frame(rng.poisson(mean).astype(float))
    change = InterventionSpec("change", DATES[60])
    result = fit_its(data, ITSSpec(model="quasipoisson", interventions=(change,)))
    assert codes(result.verdict.reasons) == ["autocorrelation"]
    assert "move together" in result.verdict.reasons[0].words
    assert "Ljung-Box" in result.verdict.reasons[0].detail


def test_a_step_the_study_leaves_out_is_a_lack_of_fit_and_modelling_it_cures_it() -> None:
    rng = np.random.default_rng(3)
    mean = 100 * np.where(T >= 40, 1.5, 1.0) * np.where(T >= 90, 1.3, 1.0)
    data = frame(rng.poisson(mean).astype(float))
    first = InterventionSpec("first", DATES[40])
    alone = fit_its(data, ITSSpec(model="quasipoisson", interventions=(first,)))
    assert "lack_of_fit" in codes(alone.verdict.reasons)
    assert alone.diagnostics.lack_of_fit_p < 0.001
    both = fit_its(
        data,
        ITSSpec(model="quasipoisson", interventions=(first, InterventionSpec("second", DATES[90]))),
    )
    assert both.verdict.status == FITS and both.verdict.reasons == ()
    assert both.diagnostics.lack_of_fit_p > 0.01
    assert both.to_dict()["diagnostics"]["lack_of_fit"]["df"] >= 5


def test_too_few_points_before_the_change_cannot_conclude() -> None:
    rng = np.random.default_rng(4)
    data = frame(rng.poisson(100 * np.where(T >= 6, 0.7, 1.0)).astype(float))
    change = InterventionSpec("early", DATES[6], slope=False)
    result = fit_its(data, ITSSpec(model="quasipoisson", interventions=(change,), placebo=False))
    assert "too_few_points" in codes(result.verdict.reasons)
    assert "only 6 months of data before the change" in result.verdict.words()


def test_a_sound_model_on_clean_data_fits_without_caveats() -> None:
    rng = np.random.default_rng(5)
    data = frame(rng.poisson(150 * np.where(T >= 60, 0.7, 1.0)).astype(float))
    change = InterventionSpec("change", DATES[60], label="change")
    result = fit_its(data, ITSSpec(model="quasipoisson", interventions=(change,)))
    assert result.verdict.status == FITS
    assert result.verdict.badge in ("Model fits", "Model fits, with caveats")
    sentence = result.sentence()
    assert sentence.startswith("The measure was ") and "lower (95% CI" in sentence


def test_a_near_bound_ar_fit_is_not_rescued_by_a_placebo_refit() -> None:
    """Placebo refits hold phi fixed; only the main fit's estimated phi counts."""
    result = fit_its(growth_that_levels_off(), ITSSpec(interventions=(GO_LIVE,), term="slope"))
    assert result.model_details["phi_fixed"] == 0.0
    assert result.model_details["phi"] > 0.98


# --- seasonality ----------------------------------------------------------------------------


def seasonal_counts(factors: dict[int, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    month = DATES.month.to_numpy()
    mean = 200 * np.array([factors.get(int(m), 1.0) for m in month]) * np.where(T >= 60, 0.7, 1)
    return frame(rng.poisson(mean).astype(float))


def test_auto_seasonality_picks_month_terms_for_a_sharp_december_dip() -> None:
    data = seasonal_counts({1: 1.08, 8: 0.88, 12: 0.85, 4: 0.95}, seed=6)
    change = InterventionSpec("change", DATES[60])
    auto = fit_its(data, ITSSpec(model="quasipoisson", interventions=(change,), seasonality="auto"))
    assert auto.spec.seasonality == "month"
    assert auto.model_details["seasonality_test_p"] < 0.05
    fourier = fit_its(
        data, ITSSpec(model="quasipoisson", interventions=(change,), seasonality="fourier:2")
    )
    # Two harmonics leave the seasonal shape in the residuals (as the lag-12 correlation).
    assert fourier.diagnostics.acf[11] > auto.diagnostics.acf[11] + 0.1


def test_auto_seasonality_keeps_two_harmonics_for_a_smooth_season() -> None:
    smooth = {m: 1 + 0.1 * np.cos(2 * np.pi * m / 12) for m in range(1, 13)}
    data = seasonal_counts(smooth, seed=7)
    change = InterventionSpec("change", DATES[60])
    auto = fit_its(data, ITSSpec(model="quasipoisson", interventions=(change,), seasonality="auto"))
    assert auto.spec.seasonality == "fourier:2"
    assert auto.model_details["seasonality_test_p"] > 0.05


def test_auto_seasonality_means_none_for_annual_data() -> None:
    values = np.arange(30.0) + (np.arange(30) > 15)
    years = pd.DataFrame({"date": range(1970, 2000), "value": values})
    result = fit_its(
        years,
        ITSSpec(
            model="ols",
            interventions=(InterventionSpec("law", 1986),),
            frequency="annual",
            seasonality="auto",
            placebo=False,
        ),
    )
    assert result.spec.seasonality == "none"


# --- grammar --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "verb"),
    [
        ("Referrals from primary care to secondary mental health care", "were"),
        ("Hub and Single Point of Access introductions", "were"),
        ("Secondary referrals accepted for specialist care", "were"),
        ("Median wait from referral to first contact (front door)", "was"),
        ("IPSA cohort living independently", "was"),
        ("People in council-funded residential or nursing placements", "were"),
        ("Average acute beds occupied", "was"),
        ("Acute mental health admissions", "were"),
        ("Detention rate", "was"),
        ("Talking Therapies recovery rate", "was"),
        ("Crisis", "was"),
    ],
)
def test_verbs_agree_with_the_head_of_the_title(title: str, verb: str) -> None:
    assert verb_for(title) == verb


def test_a_plural_title_reads_were_in_the_sentence() -> None:
    rng = np.random.default_rng(8)
    data = frame(rng.poisson(200 * np.where(T >= 60, 0.6, 1.0)).astype(float))
    result = fit_its(
        data,
        ITSSpec(model="quasipoisson", interventions=(InterventionSpec("hub", DATES[60]),)),
    )
    sentence = result.sentence(subject="Referrals from primary care to secondary care")
    assert sentence.startswith("Referrals from primary care to secondary care were ")
