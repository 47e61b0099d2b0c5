"""Every configured study recovers the effect planted in the sample data (truth.json),
within its own interval, with a model that fits.

The studies are run exactly as the site runs them (`run_impact` on the configured `its:`
blocks). Each planted effect is read on the scale the study reports: a rate ratio for
count models, an odds ratio or percentage points for proportions, the relative effect at
the horizon for a linear model of a ratio-scale truth, a slope per month for IPSA.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.analyses.impact import (
    ImpactRequest,
    headline,
    impact_sentence,
    metrics_with_its,
    run_impact,
)
from metrics.board import open_board
from metrics.its import InterventionSpec, ITSInputError, ITSSpec, ShockSpec, fit_its

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


def planted(truth: dict, effect_id: str) -> dict:
    return next(e for e in [*truth["effects"], *truth["planted_nulls"]] if e["id"] == effect_id)


# metric -> (planted effect, intervention, how the study reports it)
STUDIES = {
    "front_door_introductions": ("front_door_referrals_hub", "hub_scale_up", "ratio"),
    "secondary_referrals": ("secondary_referrals_hub", "hub_scale_up", "ratio"),
    "secondary_acceptance_rate": ("secondary_accepted_hub", "hub_scale_up", "points"),
    "days_to_first_contact_median": ("front_door_wait_hub", "hub_scale_up", "relative"),
    "seen_within_4_weeks": ("second_contact_within_28_days_lwc", "living_well_centres", "points"),
    "liaison_referrals": ("liaison_evening_sanctuary", "evening_sanctuary", "ratio"),
    "acute_admissions": ("admissions_alliance_go_live", "alliance_go_live", "ratio"),
    "ipsa_living_independently": ("ipsa_living_independently_slope", "ipsa_go_live", "slope"),
    "residential_placements": ("ipsa_residential_placements_slope", "ipsa_go_live", "slope"),
}


def test_every_configured_study_is_checked_here(board):
    assert {m.id for m in metrics_with_its(board)} == set(STUDIES)


@pytest.mark.parametrize("metric_id", sorted(STUDIES))
def test_configured_study_recovers_the_planted_effect(board, truth, metric_id):
    effect_id, intervention, reading = STUDIES[metric_id]
    truth_effect = planted(truth, effect_id)
    impact = run_impact(board, ImpactRequest(metric_id))
    assert impact.error == "", impact.error
    result = impact.result
    assert result.verdict.fits, (metric_id, result.verdict.words())
    if reading == "ratio":
        level = result.effect(intervention, "level")
        assert level.ci_low <= truth_effect["value"] <= level.ci_high, (metric_id, level)
    elif reading == "points":
        h = result.horizon_effect(intervention)
        points = 100 * truth_effect["value"]
        assert h.absolute_low <= points <= h.absolute_high, (metric_id, h)
    elif reading == "relative":
        h = result.horizon_effect(intervention)
        assert h.relative_low <= truth_effect["value"] - 1 <= h.relative_high, (metric_id, h)
    else:
        slope = result.effect(intervention, "slope")
        assert slope.ci_low <= truth_effect["value"] <= slope.ci_high, (metric_id, slope)
        assert result.reported_term() == "slope"
    sentence = impact_sentence(impact)
    assert "95% CI" in sentence and not sentence.startswith("No conclusion")
    nulls = {e["id"] for e in truth["planted_nulls"]}
    if effect_id in nulls:
        assert "consistent with no change" in sentence
    else:
        assert "consistent with no change" not in sentence


def test_the_front_door_study_models_the_changes_the_hub_must_not_be_credited_with(board, truth):
    impact = run_impact(board, ImpactRequest("front_door_introductions"))
    result = impact.result
    lwc = result.effect("living_well_centres", "level")
    step = planted(truth, "front_door_referrals_lwc")["value"]
    assert lwc.ci_low <= step <= lwc.ci_high
    assert {s.id for s in result.spec.shocks} == {"covid", "post_covid_demand"}
    demand = next(s for s in result.spec.shocks if s.id == "post_covid_demand")
    assert demand.lasting and demand.ramp_periods == 6  # 2020-10 to 2021-03, as planted
    # The lasting rise stays in the counterfactual: the Hub's cumulative effect contains
    # the planted one (the expected series with the Hub minus without it, summed).
    series = truth["expected_series"]
    months = pd.to_datetime(series["months"])
    front = series["referrals_front_door"]
    gap = pd.Series(front["with_effect"], index=months) - pd.Series(
        front["counterfactual_without_hub"], index=months
    )
    total = result.cumulative_effect("hub_scale_up")
    expected = gap[total.start : total.end].sum()
    assert total.ci_low <= expected <= total.ci_high, (total, expected)


def test_ipsa_studies_cover_the_growth_phase_and_say_so(board):
    for metric_id in ("ipsa_living_independently", "residential_placements"):
        impact = run_impact(board, ImpactRequest(metric_id))
        result = impact.result
        assert result.spec.interventions[0].post_periods == 36
        frame = result.counterfactual
        beyond = frame["date"] >= pd.Timestamp("2018-04-01")
        assert frame.loc[beyond, "fitted"].isna().all()
        assert frame.loc[beyond, "counterfactual"].isna().all()
        assert not frame.loc[beyond, "in_fit"].any()
        assert result.cumulative_effect().end == pd.Timestamp("2018-03-01")
        assert any(w.code == "post_window" for w in result.warnings)
        big, interval = headline(impact)
        assert big.endswith("people a month") and "change in trend" in interval
        assert result.placebo.term == "slope"


# --- the design options behind them -------------------------------------------------------


DATES = pd.date_range("2013-01", periods=120, freq="MS")
T = np.arange(120)


def test_a_lasting_shock_is_a_phased_step_in_the_counterfactual() -> None:
    rng = np.random.default_rng(3)
    demand = np.clip((T - 80 + 1) / 6, 0, 1)
    mean = 100 * np.where(T >= 40, 2.0, 1.0) * np.exp(np.log(1.2) * demand)
    data = pd.DataFrame({"date": DATES, "value": rng.poisson(mean).astype(float)})
    change = InterventionSpec("change", DATES[40], slope=False)
    lasting = ShockSpec("demand", DATES[80], ramp_periods=6)
    result = fit_its(
        data, ITSSpec(model="quasipoisson", interventions=(change,), shocks=(lasting,))
    )
    row = result.coefficients.set_index("term").loc["shock[demand]"]
    assert row["ci_low"] <= math.log(1.2) <= row["ci_high"]
    level = result.effect(term="level")
    assert level.ci_low <= 2.0 <= level.ci_high
    frame = result.counterfactual.set_index("date")
    # Expected without the change still rises with the outside demand.
    assert frame.loc[DATES[100], "counterfactual"] > 1.1 * frame.loc[DATES[60], "counterfactual"]


def test_a_lasting_shock_takes_no_recovery_and_a_temporary_one_no_ramp() -> None:
    with pytest.raises(ITSInputError, match="lasting shock"):
        ShockSpec("x", "2020-01", recovery_periods=2)
    with pytest.raises(ITSInputError, match="phase-in"):
        ShockSpec("x", "2020-01", "2020-03", ramp_periods=2)


def test_a_post_window_limits_the_fit_and_every_derived_effect() -> None:
    rng = np.random.default_rng(4)
    y = 10 + 2.0 * np.clip(T - 30, 0, 36) + rng.normal(0, 1, T.size)
    data = pd.DataFrame({"date": DATES, "value": y})
    change = InterventionSpec("go", DATES[30], post_periods=36, label="go-live")
    result = fit_its(data, ITSSpec(interventions=(change,), term="slope", horizon=48))
    slope = result.effect(term="slope")
    assert slope.ci_low <= 2.0 <= slope.ci_high
    assert result.n_post == 36
    assert result.cumulative_effect().n_periods == 36
    assert result.horizon_effect().months_after == 35
    assert any(
        w.code == "horizon_beyond_data" and "studied window ends" in w.message
        for w in result.warnings
    )
    # Without the window, the straight line through the flat years misreads the slope.
    whole = fit_its(data, ITSSpec(interventions=(InterventionSpec("go", DATES[30]),), term="slope"))
    assert not (whole.effect(term="slope").ci_low <= 2.0 <= whole.effect(term="slope").ci_high)


def test_a_later_intervention_after_the_post_window_is_refused() -> None:
    data = pd.DataFrame({"date": DATES, "value": np.arange(120.0) % 7})
    first = InterventionSpec("first", DATES[30], post_periods=24)
    later = InterventionSpec("later", DATES[70])
    with pytest.raises(ITSInputError, match="starts after the post window"):
        fit_its(data, ITSSpec(model="ols", interventions=(first, later)), series_name="X")
