"""Impact studies from catalogue definitions: the planted Hub effect is recovered, every
failure is a readable message, breakdowns give one study per group."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from metrics.analyses.disclosure import MHSDS, NHS_SECONDARY_CARE, Policy, control_count
from metrics.analyses.impact import (
    ImpactRequest,
    controlled_counterfactual,
    controlled_result,
    cumulative_sentence,
    diagnostics_for_analysts,
    diagnostics_in_words,
    group_table,
    headline,
    impact_sentence,
    metrics_with_its,
    run_impact,
    sensitivity_display,
    sensitivity_table,
)
from metrics.board import open_board
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


def planted(truth, effect_id):
    return next(e for e in truth["effects"] if e["id"] == effect_id)


def test_hub_effect_on_secondary_referrals_contains_the_planted_truth(board, truth):
    impact = run_impact(board, ImpactRequest("secondary_referrals"))
    assert impact.error == ""
    level = impact.result.effect("hub_scale_up", "level")
    assert level.scale == "ratio"
    assert level.ci_low <= planted(truth, "secondary_referrals_hub")["value"] <= level.ci_high
    assert impact.result.spec.interventions[0].ramp_periods == 9
    assert any("provisional" in note for note in impact.notes)


def test_planted_null_is_read_as_no_change(board):
    impact = run_impact(board, ImpactRequest("acute_admissions"))
    effect = impact.result.horizon_effect()
    assert effect.relative_low <= 0 <= effect.relative_high
    assert "consistent with no change" in impact_sentence(impact)


TEST_NAMES = re.compile(
    r"ljung|durbin|breusch|newey|\bols\b|\barima\b|quasipoisson|negbin|poisson model\b"
    r"|\bphi\b|p ?= ?0",
    re.I,
)


def test_every_catalogue_study_has_a_verdict_and_an_honest_sentence(board):
    studies = metrics_with_its(board)
    assert len(studies) >= 8
    for metric in studies:
        impact = run_impact(board, ImpactRequest(metric.id))
        assert impact.error == "", (metric.id, impact.error)
        sentence = impact_sentence(impact)
        big, interval = headline(impact)
        verdict = impact.result.verdict
        if verdict.fits:
            assert "95% CI" in sentence and interval.startswith("95% CI"), metric.id
            assert big not in ("–", "No conclusion")
        else:  # never "consistent with no change" from a model that does not fit
            assert sentence.startswith("No conclusion") and big == "No conclusion", metric.id
            assert "consistent with no change" not in sentence
            assert cumulative_sentence(impact) == ""
        board_words = [sentence, big, interval, *diagnostics_in_words(impact.result)]
        board_words.append(cumulative_sentence(impact))
        for text in board_words:
            assert not TEST_NAMES.search(text), (metric.id, text)
        analysts = " ".join(diagnostics_for_analysts(impact.result))
        assert "Ljung-Box" in analysts and impact.result.model in analysts


def test_cumulative_effect_only_for_counts(board):
    referrals = run_impact(board, ImpactRequest("secondary_referrals"))
    assert "fewer referrals than expected in total" in cumulative_sentence(referrals)
    waits = run_impact(board, ImpactRequest("days_to_first_contact_median"))
    assert cumulative_sentence(waits) == ""


def test_linear_sentence_uses_units(board):
    impact = run_impact(board, ImpactRequest("secondary_acceptance_rate"))
    sentence = impact_sentence(impact)
    assert "percentage points higher" in sentence and "95% CI" in sentence


def test_breakdown_gives_one_study_per_group(board):
    impact = run_impact(board, ImpactRequest("acute_admissions", breakdown="lcn"))
    assert [g.group for g in impact.groups] == ["North", "South East", "South West"]
    table = group_table(impact)
    assert list(table["Group"]) == ["North", "South East", "South West"]
    assert (table["Reading"] == "consistent with no change").all()


def test_a_multiple_baseline_study_reads_each_group_from_the_joint_fit(board):
    impact = run_impact(board, ImpactRequest("secondary_referrals", breakdown="lcn"))
    assert impact.groups == ()  # no separate fits: the study already has every group
    table = group_table(impact)
    assert list(table["Group"]) == ["North", "South East", "South West"]
    assert (table["Reading"] == "a change").all()


def test_sensitivity_has_every_family(board):
    impact = run_impact(board, ImpactRequest("secondary_referrals"))
    table = sensitivity_table(impact)
    # A multiple-baseline study allows for carry-over in its covariance: no arima row.
    assert set(table["family"]) == {"ols", "poisson", "quasipoisson", "negbin"}
    shown = sensitivity_display(table)
    assert shown["Effect at horizon"].str.endswith("%").all()
    single = sensitivity_table(run_impact(board, ImpactRequest("acute_admissions")))
    assert set(single["family"]) == {"ols", "arima", "poisson", "quasipoisson", "negbin"}


def test_rate_metric_uses_population_offset_for_count_models(board):
    impact = run_impact(
        board, ImpactRequest("detention_rate", ("alliance_go_live",), model="quasipoisson")
    )
    assert impact.error == ""
    assert impact.spec.offset_col == "population"
    assert "population" in impact.data


def test_any_metric_with_any_intervention(board):
    impact = run_impact(board, ImpactRequest("open_referrals", ("alliance_go_live",)))
    assert impact.error == "" and impact.result is not None


def test_intervention_outside_the_data_is_a_clear_message(board):
    impact = run_impact(board, ImpactRequest("dialog_review_score", ("ipsa_go_live",)))
    assert impact.result is None
    assert "Average DIALOG quality of life at review" in impact.error
    assert "outside the data" in impact.error or "point" in impact.error


def test_unknown_intervention_is_a_message_not_an_exception(board):
    impact = run_impact(board, ImpactRequest("secondary_referrals", ("no_such_change",)))
    assert impact.result is None and "no_such_change" in impact.error


def test_too_few_points_is_refused_with_the_metric_named(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], its: {interventions: [late_change]}}",
    )
    board = open_board(mini)
    impact = run_impact(board, ImpactRequest("count_a"))
    assert impact.result is None
    assert impact.error.startswith("Count of a:")


def test_count_model_on_a_percentage_is_a_validation_error(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        '    unit: "%"\n    better: up\n  - id: rate_a',
        '    unit: "%"\n    better: up\n'
        "    its: {interventions: [change], model: poisson}\n  - id: rate_a",
    )
    issues = load_config(mini).issues
    issue = next(i for i in issues if "is for counts" in i.message)
    assert issue.field == "metrics[pct_flag].its.model" and "arima" in issue.hint


def test_observed_values_in_a_neighbourhood_are_shown_as_on_every_page(board):
    board_policy = Policy("mhsds", area_totals_unrounded=True)
    impact = run_impact(board, ImpactRequest("secondary_referrals", lcn="North"))
    exact = impact.result.counterfactual
    shown = controlled_counterfactual(impact, board_policy)
    assert [control_count(v, MHSDS).value or math.nan for v in exact["observed"]] == [
        pytest.approx(v, nan_ok=True) for v in shown["observed"]
    ]
    assert (shown["observed"].dropna() % 5 == 0).all()
    # Model figures are kept as computed.
    for column in ("fitted", "counterfactual", "cf_low", "cf_high"):
        pd.testing.assert_series_equal(shown[column], exact[column])
    # The chart reads the same frame; the effects are unchanged.
    chart_result = controlled_result(impact, board_policy)
    pd.testing.assert_frame_equal(chart_result.counterfactual, shown)
    assert chart_result.horizon_effect() == impact.result.horizon_effect()
    # The whole area on the board is top level (shown as computed); public outputs are not.
    whole = run_impact(board, ImpactRequest("secondary_referrals"))
    as_computed = controlled_counterfactual(whole, board_policy)
    pd.testing.assert_series_equal(as_computed["observed"], whole.result.counterfactual["observed"])
    public = controlled_counterfactual(whole, NHS_SECONDARY_CARE)
    assert (public["observed"].dropna() % 5 == 0).all()


def test_a_small_percentage_is_never_shown_exactly(board):
    impact = run_impact(board, ImpactRequest("secondary_acceptance_rate", lcn="North"))
    shown = controlled_counterfactual(impact, MHSDS)
    series = impact.series.set_index("month")
    for date, value, hidden in shown[["date", "observed", "suppressed"]].itertuples(index=False):
        row = series.loc[pd.Timestamp(date)]
        if row["numerator"] < 5 or row["denominator"] < 5:
            assert hidden and math.isnan(value)
        else:  # from the rounded parts, as a whole number
            parts = round(row["numerator"] / 5) * 5, round(row["denominator"] / 5) * 5
            assert value == round(100 * parts[0] / parts[1])
