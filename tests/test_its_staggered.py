"""Staggered roll-outs: a multiple-baseline study fits the groups together, each from its
own start, and recovers the pooled and each group's effect; bad input is named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from metrics.analyses.impact import (
    ImpactRequest,
    group_table,
    headline,
    impact_sentence,
    run_impact,
)
from metrics.board import open_board
from metrics.its import InterventionSpec, ITSInputError, ITSSpec, ShockSpec, fit_its
from metrics.its.staggered import driscoll_kraay
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
STARTS = {"North": "2015-10", "South West": "2016-01", "South East": "2016-04"}


def panel(seed: int = 1, ratio: float = 0.6, months: int = 96) -> pd.DataFrame:
    """Three groups, a shared month-to-month shock (as the sample's borough-wide noise), a
    staggered level change phased in over three months in each group."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2013-04", periods=months, freq="MS")
    shared = np.zeros(months)
    for i in range(1, months):
        shared[i] = 0.4 * shared[i - 1] + rng.normal(0, 0.06)
    rows = []
    for group, base in (("North", 70.0), ("South East", 60.0), ("South West", 70.0)):
        start = dates.get_loc(pd.Timestamp(STARTS[group]))
        t = np.arange(months)
        phase = np.clip((t - start + 1) / 3, 0, 1)
        mean = base * np.exp(0.001 * t + phase * np.log(ratio) + shared)
        rows.append(pd.DataFrame({"date": dates, "group": group, "value": rng.poisson(mean)}))
    return pd.concat(rows, ignore_index=True)


def hub(**changes) -> InterventionSpec:
    base = dict(id="hub", start="2015-10", label="Hub", group_starts=STARTS, group_ramp_periods=3)
    base.update(changes)
    return InterventionSpec(**base)


def spec(**changes) -> ITSSpec:
    base = dict(model="quasipoisson", interventions=(hub(),), group_col="group")
    base.update(changes)
    return ITSSpec(**base)


def test_a_multiple_baseline_study_recovers_the_pooled_and_each_groups_effect() -> None:
    result = fit_its(panel(), spec(), series_name="Referrals")
    assert result.design == "multiple_baseline"
    assert result.groups == ("North", "South East", "South West")
    pooled = result.effect(term="level")
    assert pooled.scale == "ratio" and pooled.group == ""
    assert pooled.ci_low <= 0.6 <= pooled.ci_high
    assert pooled.ci_high - pooled.ci_low < 0.2
    for group in result.groups:
        effect = result.group_effect(group)
        assert effect is not None and effect.group == group
        assert effect.ci_low <= 0.6 <= effect.ci_high, group
        # Each group's interval is wider than the pooled one.
        assert effect.ci_high - effect.ci_low > pooled.ci_high - pooled.ci_low
    horizon = result.horizon_effect()
    assert horizon.relative_low < -0.4 < horizon.relative_high
    # Read 12 months after each group's own start: the last group's date.
    assert horizon.date == pd.Timestamp("2017-04-01") and horizon.months_after == 12
    assert [h.group for h in result.group_horizon_effects] == list(result.groups)
    frame = result.counterfactual
    summed = panel().groupby("date")["value"].sum()
    np.testing.assert_allclose(frame["observed"], summed.to_numpy())
    payload = result.to_dict()
    assert payload["design"] == "multiple_baseline"
    assert {e["group"] for e in payload["group_effects"]} == set(result.groups)
    assert result.verdict is not None and result.verdict.fits
    assert "No placebo check" in result.placebo_note


def test_each_group_is_fitted_at_its_own_date() -> None:
    """The same data fitted as if every group started in North's month gives a worse fit:
    the staggered starts matter."""
    data = panel(seed=2, ratio=0.5)
    staggered = fit_its(data, spec())
    same_date = fit_its(
        data, spec(interventions=(hub(group_starts={g: "2015-10" for g in STARTS}),))
    )
    assert abs(np.log(staggered.effect().estimate) - np.log(0.5)) < abs(
        np.log(same_date.effect().estimate) - np.log(0.5)
    )


def test_driscoll_kraay_matches_statsmodels_hac_groupsum() -> None:
    rng = np.random.default_rng(0)
    T, G = 60, 3
    t = np.tile(np.arange(T), G)
    g = np.repeat(np.arange(G), T)
    X = np.column_stack([np.ones(T * G), t, (g == 1) * 1.0, (t > 30) * 1.0])
    y = X @ [1, 0.1, 2, -1] + rng.normal(size=T)[t] + rng.normal(size=T * G)
    ols = sm.OLS(y, X).fit()
    reference = sm.OLS(y, X).fit(cov_type="hac-groupsum", cov_kwds={"time": t, "maxlags": 3})
    mine = driscoll_kraay(X, np.ones_like(y), y - X @ ols.params, t, 3)
    # statsmodels' default small-sample correction for hac-groupsum is ours: T/(T - 1) x
    # (n - 1)/(n - k), T the number of periods.
    np.testing.assert_allclose(np.sqrt(np.diag(mine)), reference.bse, rtol=1e-10)


def test_a_staggered_start_for_an_unknown_group_is_named() -> None:
    starts = {**STARTS, "Nowhere": "2016-01"}
    with pytest.raises(ITSInputError, match="unknown group 'Nowhere'"):
        fit_its(panel(), spec(interventions=(hub(group_starts=starts),)), series_name="X")


def test_a_group_without_a_start_is_named() -> None:
    starts = {k: v for k, v in STARTS.items() if k != "South East"}
    with pytest.raises(ITSInputError, match="no staggered start for group 'South East'"):
        fit_its(panel(), spec(interventions=(hub(group_starts=starts),)))


def test_a_group_start_outside_the_data_is_refused() -> None:
    starts = {**STARTS, "North": "2030-01"}
    with pytest.raises(ITSInputError, match="outside the data for group 'North'"):
        fit_its(panel(), spec(interventions=(hub(group_starts=starts),)))


def test_multiple_baseline_refuses_arima() -> None:
    with pytest.raises(ITSInputError, match="not arima"):
        ITSSpec(model="arima", interventions=(hub(),), group_col="group")


def test_shared_shocks_enter_every_group() -> None:
    data = panel()
    covid = ShockSpec("covid", "2016-06", "2016-07", recovery_periods=2)
    result = fit_its(data, spec(shocks=(covid,)))
    assert "shock[covid]" in set(result.coefficients["term"])


# --- the board ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


def test_the_configured_hub_study_is_multiple_baseline_and_recovers_the_truth(board, truth):
    planted = next(e for e in truth["effects"] if e["id"] == "secondary_referrals_hub")
    impact = run_impact(board, ImpactRequest("secondary_referrals"))
    assert impact.error == ""
    result = impact.result
    assert result.design == "multiple_baseline"
    hub_item = board.catalogue.interventions["hub_scale_up"]
    assert {k: f"{v:%Y-%m}" for k, v in hub_item.staggered.starts.items()} == {
        k: v[:7] for k, v in truth["lcn_phasing"]["start"].items()
    }
    pooled = result.effect("hub_scale_up", "level")
    assert pooled.ci_low <= planted["value"] <= pooled.ci_high
    for group in result.groups:
        effect = result.group_effect(group, "hub_scale_up", "level")
        assert effect.ci_low <= planted["value"] <= effect.ci_high, group
    table = group_table(impact)
    assert list(table["Group"]) == ["North", "South East", "South West"]
    assert list(table["Start"]) == ["2015-10", "2016-04", "2016-01"]
    assert (table["Reading"] == "a change").all()
    assert result.verdict.fits
    assert "95% CI" in impact_sentence(impact) and headline(impact)[0].endswith("%")
    assert any("multiple-baseline" in note for note in impact.notes)


def test_a_neighbourhood_study_starts_at_its_own_date(board):
    impact = run_impact(board, ImpactRequest("secondary_referrals", lcn="South East"))
    assert impact.error == "" and impact.result.design == "single"
    main = impact.spec.interventions[0]
    assert str(main.start)[:7] == "2016-04" and main.ramp_periods == 3


def test_multiple_baseline_on_a_metric_without_the_breakdown_names_metric_and_field(mini, edit):
    edit(
        mini / "interventions.yaml",
        "  - {id: change, title: A change, kind: service_change, start: 2024-03}",
        "  - {id: change, title: A change, kind: service_change, start: 2024-03,\n"
        "     staggered: {column: lcn, starts: {North: 2024-03, South: 2024-05}}}",
    )
    edit(
        mini / "metrics" / "all.yaml",
        "measure: sum, value: days, unit: days, better: down}",
        "measure: sum, value: days, unit: days, better: down, "
        "its: {interventions: [change], model: ols, design: multiple_baseline}}",
    )
    issues = [i for i in load_config(mini).issues if i.field == "metrics[sum_days].its.design"]
    assert len(issues) == 1 and "no breakdown by 'lcn'" in issues[0].message
    assert issues[0].line > 0


def test_validation_names_a_staggered_date_for_an_unknown_group(mini, edit):
    edit(
        mini / "interventions.yaml",
        "  - {id: change, title: A change, kind: service_change, start: 2024-03}",
        "  - id: change\n"
        "    title: A change\n"
        "    kind: service_change\n"
        "    start: 2024-03\n"
        "    staggered:\n"
        "      column: lcn\n"
        "      starts: {North: 2024-03, Nowhere: 2024-05}",
    )
    issues = [i for i in load_config(mini).issues if "unknown group" in i.message]
    assert len(issues) == 1
    issue = issues[0]
    assert issue.file.endswith("interventions.yaml") and issue.line == 8  # the starts line
    assert issue.field == "interventions[change].staggered.starts.Nowhere"
    assert "'Nowhere'" in issue.message and "North" in issue.hint


def test_multiple_baseline_without_a_staggered_intervention_is_refused(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], "
        "its: {interventions: [change], model: quasipoisson, design: multiple_baseline}}",
    )
    issues = [i for i in load_config(mini).issues if i.field == "metrics[count_a].its.design"]
    assert len(issues) == 1 and "staggered starts" in issues[0].message
    board = open_board(mini)
    # The metric is not served; a request naming it through another block says why.
    assert "count_a" not in board.catalogue.metrics


def test_a_step_left_out_of_a_multiple_baseline_study_does_not_fit() -> None:
    data = panel(seed=5, months=144)
    late = data["date"] >= pd.Timestamp("2020-01-01")
    data.loc[late, "value"] = (data.loc[late, "value"] * 1.5).round()
    result = fit_its(data, spec())
    # The step shows as months that move together (the block test, on residuals with AR(1)
    # errors, is the more cautious of the two here).
    assert not result.verdict.fits
    assert {r.code for r in result.verdict.reasons} & {"autocorrelation", "lack_of_fit"}
    sound = fit_its(panel(seed=5, months=144), spec())
    assert sound.verdict.fits and sound.diagnostics.lack_of_fit_p > 0.01


@pytest.mark.slow
def test_the_lack_of_fit_test_rarely_fails_a_sound_study() -> None:
    """Under a correct model the test's p < 0.001 should be rare: 0 of 40 replicates for
    single-series ols (a Newey-West Wald test failed about a quarter) and for multiple
    baseline (a Driscoll-Kraay Wald test failed 24 of 60)."""
    failures = 0
    for seed in range(40):
        result = fit_its(panel(seed=100 + seed, months=144), spec(placebo=False))
        failures += result.diagnostics.lack_of_fit_p < 0.001
        rng = np.random.default_rng(seed)
        t = np.arange(144)
        y = 10 + 0.05 * t - 3 * (t >= 60) + rng.normal(0, 1, 144)
        frame = pd.DataFrame({"date": pd.date_range("2013-01", periods=144, freq="MS"), "value": y})
        ols = fit_its(
            frame,
            ITSSpec(model="ols", interventions=(InterventionSpec("x", "2018-01"),), placebo=False),
        )
        failures += ols.diagnostics.lack_of_fit_p < 0.001
    assert failures <= 1
