"""fit_its end to end: refusals, warnings, effects, the tidy frame, prose, JSON, placebo."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.its import (
    InterventionSpec,
    ITSConvergenceError,
    ITSInputError,
    ITSResult,
    ITSSpec,
    ShockSpec,
    fit_its,
    sensitivity,
)

HUB = InterventionSpec("hub", "2016-01", label="Hub scale-up")


def monthly_counts(
    n: int = 72, start: str = "2013-01", change_at: int = 36, ratio: float = 0.6, seed: int = 1
) -> pd.DataFrame:
    """Poisson counts around 200 a month with a multiplicative level change."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    mean = 200 * np.exp(0.002 * t) * np.where(t >= change_at, ratio, 1.0)
    return pd.DataFrame(
        {
            "date": pd.date_range(start, periods=n, freq="MS"),
            "value": rng.poisson(mean).astype(float),
        }
    )


def spec(**changes) -> ITSSpec:
    base = dict(model="quasipoisson", interventions=(HUB,), placebo=False)
    base.update(changes)
    return ITSSpec(**base)


def codes(result: ITSResult) -> set[str]:
    return {w.code for w in result.warnings}


# --- refusals ----------------------------------------------------------------------------------


def test_fewer_than_three_points_in_a_segment_is_refused() -> None:
    frame = monthly_counts(n=38)  # intervention at 2016-01 = point 36: two points after
    with pytest.raises(ITSInputError, match=r"series 'Referrals': only 2 data points from 'hub'"):
        fit_its(frame, spec(), series_name="Referrals")


def test_fewer_than_twelve_points_in_a_segment_warns() -> None:
    result = fit_its(monthly_counts(n=44), spec())
    assert "short_segment" in codes(result)
    assert not {"short_segment"} & codes(fit_its(monthly_counts(n=72), spec()))


@pytest.mark.parametrize("start", ["2010-01", "2013-01", "2030-06"])
def test_intervention_outside_the_data_is_refused(start: str) -> None:
    outside = spec(interventions=(InterventionSpec("hub", start),))
    with pytest.raises(ITSInputError, match="outside the data"):
        fit_its(monthly_counts(), outside, series_name="S")


def test_constant_and_all_missing_series_are_refused() -> None:
    frame = monthly_counts()
    with pytest.raises(ITSInputError, match="constant"):
        fit_its(frame.assign(value=7.0), spec(), series_name="S")
    with pytest.raises(ITSInputError, match="all values are missing"):
        fit_its(frame.assign(value=np.nan), spec(), series_name="S")


@pytest.mark.parametrize("model", ["poisson", "quasipoisson", "negbin"])
def test_negative_values_are_refused_for_count_models(model: str) -> None:
    frame = monthly_counts()
    frame.loc[3, "value"] = -1
    with pytest.raises(ITSInputError, match="negative values"):
        fit_its(frame, spec(model=model), series_name="S")
    assert fit_its(frame, spec(model="ols")).model == "ols"  # fine for a linear model


def test_missing_column_is_refused_with_the_column_name() -> None:
    with pytest.raises(ITSInputError, match="column\\(s\\) not found: population"):
        fit_its(monthly_counts(), spec(offset_col="population"), series_name="S")


def test_a_count_model_that_cannot_converge_is_refused() -> None:
    frame = monthly_counts()
    frame.loc[36:, "value"] = 0.0  # every count zero after the intervention
    with pytest.raises(ITSConvergenceError, match="did not converge"):
        fit_its(frame, spec(model="poisson"), series_name="S")


def test_duplicate_months_are_refused() -> None:
    frame = pd.concat([monthly_counts(), monthly_counts().iloc[[5]]])
    with pytest.raises(ITSInputError, match="2013-06 appears more than once"):
        fit_its(frame, spec(), series_name="S")


# --- warnings ----------------------------------------------------------------------------------


def test_missing_months_warn_and_stay_as_gaps() -> None:
    frame = monthly_counts().drop(index=[10, 11]).reset_index(drop=True)
    frame.loc[50, "value"] = np.nan
    result = fit_its(frame, spec())
    warning = next(w for w in result.warnings if w.code == "missing_periods")
    assert "3 missing months" in warning.message and "2013-11" in warning.message
    table = result.counterfactual
    assert len(table) == 72 and int((~table["in_fit"]).sum()) == 3
    assert table["observed"].isna().sum() == 3


def test_overlapping_interventions_warn() -> None:
    first = InterventionSpec("hub", "2015-06", ramp_periods=8)
    second = InterventionSpec("spa", "2015-10")
    result = fit_its(monthly_counts(), spec(interventions=(first, second)))
    assert "overlapping_interventions" in codes(result)


def test_autocorrelation_left_in_residuals_warns() -> None:
    rng = np.random.default_rng(3)
    noise = np.zeros(72)
    for i in range(1, 72):
        noise[i] = 0.8 * noise[i - 1] + rng.normal(0, 0.05)
    frame = monthly_counts()
    frame["value"] = np.round(200 * np.exp(noise))
    result = fit_its(frame, spec())
    assert "autocorrelation" in codes(result)
    assert result.diagnostics.ljung_box_p < 0.05 and result.diagnostics.acf[0] > 0.3


def test_non_numeric_values_become_missing_with_a_warning() -> None:
    frame = monthly_counts()
    frame["value"] = frame["value"].astype(object)
    frame.loc[4, "value"] = "*"
    result = fit_its(frame, spec())
    assert "non_numeric" in codes(result) and "missing_periods" in codes(result)


def test_poisson_overdispersion_warns() -> None:
    rng = np.random.default_rng(5)
    frame = monthly_counts()
    frame["value"] = rng.negative_binomial(5, 5 / (5 + 200), size=72).astype(float)
    assert "overdispersion" in codes(fit_its(frame, spec(model="poisson")))


def test_horizon_beyond_the_data_is_reported_at_the_last_point() -> None:
    result = fit_its(monthly_counts(n=44), spec(horizon=24))
    assert "horizon_beyond_data" in codes(result)
    assert result.horizon_effect().months_after == 7


# --- effects and tables ---------------------------------------------------------------------------


def test_level_change_ratio_recovers_a_planted_forty_percent_fall() -> None:
    result = fit_its(monthly_counts(ratio=0.6, seed=11), spec())
    level = result.effect("hub", "level")
    assert level.scale == "ratio" and level.ci_low < 0.6 < level.ci_high
    horizon = result.horizon_effect()
    assert horizon.relative_low < -0.4 < horizon.relative_high
    # For a log link the relative effect at the horizon is exactly exp(level + h*slope) - 1.
    slope = result.effect("hub", "slope")
    expected = math.exp(level.coefficient + 12 * slope.coefficient) - 1
    assert horizon.relative == pytest.approx(expected, rel=1e-12)


def test_cumulative_effect_is_the_sum_of_fitted_minus_counterfactual() -> None:
    result = fit_its(monthly_counts(), spec())
    table = result.counterfactual
    after = table[table["date"] >= "2016-01-01"]
    cumulative = result.cumulative_effect()
    assert cumulative.difference == pytest.approx((after["fitted"] - after["counterfactual"]).sum())
    assert cumulative.averted > 0 and cumulative.ci_low < cumulative.difference < cumulative.ci_high
    assert cumulative.n_periods == len(after)


def test_counterfactual_frame_is_tidy_and_matches_fitted_before_the_change() -> None:
    result = fit_its(monthly_counts(), spec(shocks=(ShockSpec("c", "2017-03", "2017-04"),)))
    table = result.counterfactual
    assert list(table.columns) == [
        "date",
        "observed",
        "fitted",
        "counterfactual",
        "cf_low",
        "cf_high",
        "in_fit",
        "segment",
    ]
    before = table[table["segment"] == "pre"]
    np.testing.assert_allclose(before["fitted"], before["counterfactual"])
    assert (table["cf_low"] <= table["counterfactual"]).all()
    assert (table["counterfactual"] <= table["cf_high"]).all()
    assert set(table["segment"]) == {"pre", "hub"}


def test_phase_in_and_excluded_window_are_reported_for_the_chart() -> None:
    ramped = fit_its(
        monthly_counts(), spec(interventions=(InterventionSpec("hub", "2016-01", ramp_periods=6),))
    )
    window = ramped.windows[0]
    assert window.window == "phase-in" and window.window_end == pd.Timestamp("2016-06-01")
    excluded = fit_its(
        monthly_counts(),
        spec(interventions=(InterventionSpec("hub", "2016-01", exclude_periods=3),)),
    )
    table = excluded.counterfactual
    window_rows = table[(table["date"] >= "2016-01-01") & (table["date"] <= "2016-03-01")]
    assert not window_rows["in_fit"].any() and window_rows["fitted"].isna().all()
    assert window_rows["observed"].notna().all()  # excluded, but still shown


def test_offset_makes_effects_rates() -> None:
    frame = monthly_counts()
    frame["population"] = 100_000.0 * np.exp(0.01 * np.arange(72))
    with_offset = fit_its(frame, spec(offset_col="population"))
    without = fit_its(frame, spec())
    # Population growth moves into the offset, so the trend falls by exactly the growth rate.
    assert math.log(without.trend.estimate) - math.log(with_offset.trend.estimate) == pytest.approx(
        0.12, abs=1e-9
    )


def test_result_survives_pickling_for_the_site_cache() -> None:
    result = fit_its(monthly_counts(), spec(placebo=True))
    copy = pickle.loads(pickle.dumps(result))
    assert copy.sentence() == result.sentence()
    pd.testing.assert_frame_equal(copy.counterfactual, result.counterfactual)
    assert hash(result.spec) == hash(copy.spec)


def test_comparison_series_with_ar1_errors() -> None:
    frame = monthly_counts(ratio=0.6)
    frame["comparison"] = monthly_counts(ratio=1.0, seed=8)["value"]
    result = fit_its(frame, spec(model="arima", control_col="comparison"))
    level = result.effect("hub", "level")
    assert level.comparison and level.ci_low < -0.4 * 200 * 1.07 < level.ci_high
    with pytest.raises(ITSInputError, match="series 'S': a comparison series with ARMA"):
        fit_its(
            frame, spec(model="arima", control_col="comparison", arma_order=(1, 1)), series_name="S"
        )


def test_result_is_frozen_and_hands_out_copies() -> None:
    result = fit_its(monthly_counts(), spec())
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.model = "ols"  # type: ignore[misc]
    table = result.counterfactual
    table.loc[0, "observed"] = -999.0
    assert result.counterfactual.loc[0, "observed"] != -999.0
    with pytest.raises(ValueError):
        result.params[0] = 1.0


# --- prose and JSON -----------------------------------------------------------------------------


def test_sentence_for_a_log_link_model_gives_percent_and_interval() -> None:
    result = fit_its(monthly_counts(ratio=0.57, seed=4), spec())
    sentence = result.sentence(subject="Referrals")
    h = result.horizon_effect()
    low, high = sorted((abs(h.relative_low), abs(h.relative_high)))
    assert sentence == (
        f"Referrals were {abs(h.relative):.0%} lower (95% CI {low:.0%} to "
        f"{high:.0%}) than expected 12 months after the Hub scale-up."
    )


def test_sentence_for_a_linear_model_uses_units() -> None:
    result = fit_its(monthly_counts(ratio=0.5, seed=6), spec(model="ols"))
    sentence = result.sentence(subject="Referrals", unit="referrals a month")
    assert sentence.startswith("There were ") and " fewer referrals a month (95% CI " in sentence
    assert "than the " in sentence and "expected 12 months after the Hub scale-up." in sentence


def test_sentence_says_consistent_with_no_change_when_the_interval_includes_it() -> None:
    result = fit_its(monthly_counts(ratio=1.0, seed=9), spec())
    h = result.horizon_effect()
    assert h.relative_low < 0 < h.relative_high
    assert result.sentence().endswith("so the data are consistent with no change.")


def test_to_json_has_the_documented_fields_and_is_strict_json() -> None:
    result = fit_its(monthly_counts(), spec(placebo=True))
    payload = json.loads(result.to_json())
    for key in (
        "series",
        "model",
        "n_pre",
        "n_post",
        "effects",
        "dispersion",
        "trend",
        "diagnostics",
        "warnings",
        "summary",
        "placebo",
        "horizon_effects",
        "cumulative_effects",
        "coefficients",
    ):
        assert key in payload
    assert payload["effects"][0].keys() >= {
        "intervention",
        "term",
        "estimate",
        "ci_low",
        "ci_high",
        "scale",
    }
    assert payload["effects"][0]["scale"] == "ratio"
    assert payload["trend"]["per"] == "year"
    assert len(payload["diagnostics"]["acf"]) == 12
    json.dumps(payload, allow_nan=False)  # no NaN anywhere
    linear = json.loads(fit_its(monthly_counts(), spec(model="ols")).to_json())
    assert linear["dispersion"] is None and linear["effects"][0]["scale"] == "absolute"


def test_summary_report_mentions_effects_diagnostics_and_sentence() -> None:
    text = fit_its(monthly_counts(), spec(placebo=True)).summary()
    assert "hub level" in text and "Durbin-Watson" in text and "placebo:" in text
    assert "summary: " in text


# --- placebo and sensitivity ---------------------------------------------------------------------


def test_placebo_ranks_a_real_effect_above_false_dates() -> None:
    result = fit_its(monthly_counts(ratio=0.6, seed=2), spec(placebo=True))
    placebo = result.placebo
    assert placebo is not None and placebo.n_placebo >= 8
    assert placebo.rank == 1  # larger than every placebo change
    assert all(d < pd.Timestamp("2016-01-01") for d in placebo.dates)


def test_placebo_does_not_single_out_a_null_effect() -> None:
    result = fit_its(monthly_counts(ratio=1.0, seed=3), spec(placebo=True))
    assert result.placebo is not None and result.placebo.rank > 1


def test_placebo_is_skipped_when_the_pre_period_is_short() -> None:
    frame = monthly_counts(n=50, change_at=10, start="2015-03")
    assert fit_its(frame, spec(placebo=True)).placebo is None


def test_sensitivity_lists_every_family_and_reports_failures_as_rows() -> None:
    frame = monthly_counts()
    table = sensitivity(frame, spec())
    assert list(table["family"]) == ["ols", "poisson", "quasipoisson", "negbin", "arima"]
    assert (table["status"] == "ok").all()
    assert table["relative_ci_low"].lt(-0.2).all()
    frame.loc[3, "value"] = -5
    failed = sensitivity(frame, spec(), families=("quasipoisson", "arima"))
    assert list(failed["status"]) == ["failed", "ok"]
    assert "negative values" in failed.loc[0, "reason"]


def test_arma_errors_other_than_ar1() -> None:
    result = fit_its(monthly_counts(), spec(model="arima", arma_order=(1, 1), placebo=True))
    assert "ma.L1" in result.model_details
    assert result.placebo is not None and result.placebo.n_placebo <= 4


def test_engine_does_not_import_streamlit() -> None:
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, metrics.its, metrics.its.cli, metrics.charts.its_chart; "
        "print('streamlit' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert done.stdout.strip() == "False"
