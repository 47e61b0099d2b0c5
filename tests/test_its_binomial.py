"""Proportions: a quasi-binomial (logit) family on numerator and denominator, checked
against an independent statsmodels fit; count families refuse what is not a count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special

from metrics.analyses.impact import (
    ImpactRequest,
    headline,
    impact_sentence,
    run_impact,
    sensitivity_table,
)
from metrics.board import open_board
from metrics.its import InterventionSpec, ITSInputError, ITSSpec, fit_its
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
HUB = InterventionSpec("hub", "2016-01", label="Hub scale-up")


def proportions(seed: int = 1, n: int = 72, jump: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    trials = rng.integers(80, 250, n)
    p = special.expit(0.2 + 0.004 * t + jump * (t >= 36))
    return pd.DataFrame(
        {
            "date": pd.date_range("2013-01", periods=n, freq="MS"),
            "accepted": rng.binomial(trials, p),
            "assessed": trials,
        }
    )


def binomial_spec(**changes) -> ITSSpec:
    base = dict(model="binomial", interventions=(HUB,), denominator_col="assessed")
    base.update(changes)
    return ITSSpec(**base)


def test_binomial_matches_an_independent_quasibinomial_glm() -> None:
    data = proportions()
    result = fit_its(data, binomial_spec(placebo=False), value_col="accepted")
    t = np.arange(len(data))
    X = np.column_stack([np.ones(t.size), t, (t >= 36) * 1.0, np.where(t >= 36, t - 36.0, 0.0)])
    trials = data["assessed"].to_numpy(float)
    reference = sm.GLM(
        data["accepted"] / trials, X, family=sm.families.Binomial(), var_weights=trials
    ).fit(scale="X2")
    params, bse = np.asarray(reference.params), np.asarray(reference.bse)
    np.testing.assert_allclose(result.params, params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(result.cov)), bse, rtol=1e-6)
    assert result.dispersion == pytest.approx(reference.scale, rel=1e-8)
    level = result.effect(term="level")
    assert level.scale == "odds_ratio"
    assert level.estimate == pytest.approx(np.exp(params[2]), rel=1e-8)
    low, high = np.exp(np.asarray(reference.conf_int())[2])
    assert (level.ci_low, level.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_the_horizon_effect_is_in_percentage_points_and_the_sentence_says_so() -> None:
    data = proportions()
    result = fit_its(data, binomial_spec(placebo=False), value_col="accepted")
    h = result.horizon_effect()
    b = result.params
    p1 = special.expit(b[0] + b[1] * 48 + b[2] + b[3] * 12)
    p0 = special.expit(b[0] + b[1] * 48)
    assert h.absolute == pytest.approx(100 * (p1 - p0))
    assert h.counterfactual == pytest.approx(100 * p0)
    assert h.relative == pytest.approx(p1 / p0 - 1)
    assert h.absolute_low < h.absolute < h.absolute_high
    frame = result.counterfactual
    observed = 100 * data["accepted"] / data["assessed"]
    np.testing.assert_allclose(frame["observed"], observed)
    sentence = result.sentence()
    assert "percentage points higher (95% CI" in sentence
    assert "than the" in sentence and "% expected" in sentence
    assert "odds ratio of the level change" in sentence
    # The cumulative effect counts cases: each month's difference times its denominator.
    cumulative = result.cumulative_effect()
    after = frame[frame["date"] >= "2016-01-01"]
    expected = ((after["fitted"] - after["counterfactual"]) / 100 * data["assessed"][36:]).sum()
    assert cumulative.difference == pytest.approx(expected)


def test_binomial_without_a_denominator_is_refused() -> None:
    with pytest.raises(ITSInputError, match="needs a denominator"):
        ITSSpec(model="binomial", interventions=(HUB,))


def test_a_numerator_larger_than_its_denominator_is_refused() -> None:
    data = proportions()
    data.loc[5, "accepted"] = data.loc[5, "assessed"] + 1
    with pytest.raises(ITSInputError, match="numerator is larger than the denominator in 2013-06"):
        fit_its(data, binomial_spec(), value_col="accepted", series_name="Acceptance")


def test_months_without_a_denominator_are_left_out() -> None:
    data = proportions()
    data.loc[10, "assessed"] = 0
    data.loc[10, "accepted"] = 0
    result = fit_its(data, binomial_spec(placebo=False), value_col="accepted")
    assert result.n_obs == len(data) - 1
    assert any(w.code == "offset" and "no denominator" in w.message for w in result.warnings)


@pytest.mark.parametrize("model", ["poisson", "quasipoisson", "negbin"])
def test_count_models_refuse_a_percentage(model: str) -> None:
    data = proportions()
    data["percent"] = 100 * data["accepted"] / data["assessed"]
    with pytest.raises(ITSInputError) as caught:
        fit_its(
            data,
            ITSSpec(model=model, interventions=(HUB,)),
            value_col="percent",
            series_name="Acceptance",
        )
    message = str(caught.value)
    assert message.startswith("series 'Acceptance': the values are not whole numbers")
    assert "model 'binomial' with its numerator and denominator" in message


def test_cli_refuses_a_count_model_on_percentages_and_runs_binomial(tmp_path: Path) -> None:
    data = proportions()
    data["percent"] = 100 * data["accepted"] / data["assessed"]
    path = tmp_path / "acceptance.csv"
    data.assign(date=data["date"].dt.strftime("%Y-%m")).to_csv(path, index=False)
    base = [sys.executable, "-m", "metrics", "its", str(path), "--intervention", "2016-01"]
    refused = subprocess.run(
        [*base, "--value-col", "percent", "--model", "quasipoisson"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "not whole numbers" in refused.stderr and "binomial" in refused.stderr
    missing = subprocess.run(
        [*base, "--value-col", "accepted", "--model", "binomial"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert missing.returncode == 2 and "needs a denominator" in missing.stderr
    ran = subprocess.run(
        [
            *base,
            *("--value-col", "accepted", "--model", "binomial"),
            *("--denominator-col", "assessed", "--json", "--no-placebo"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr
    payload = json.loads(ran.stdout)
    assert payload["model"] == "binomial" and payload["link"] == "logit"
    assert payload["effects"][0]["scale"] == "odds_ratio"


# --- the board ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


@pytest.mark.parametrize(
    ("metric_id", "effect_id"),
    [
        ("secondary_acceptance_rate", "secondary_accepted_hub"),
        ("seen_within_4_weeks", "second_contact_within_28_days_lwc"),
    ],
)
def test_ratio_metrics_default_to_binomial_and_recover_the_planted_change(
    board, truth, metric_id, effect_id
) -> None:
    planted = next(e for e in truth["effects"] if e["id"] == effect_id)
    impact = run_impact(board, ImpactRequest(metric_id))
    assert impact.error == "" and impact.spec.model == "binomial"
    result = impact.result
    assert result.verdict.fits
    h = result.horizon_effect()
    points = 100 * planted["value"]
    assert h.absolute_low <= points <= h.absolute_high, (h, points)
    before = planted["baseline"]
    after = before + planted["value"]
    odds_ratio = (after / (1 - after)) / (before / (1 - before))
    level = result.effect(term="level")
    assert level.ci_low <= odds_ratio <= level.ci_high
    big, interval = headline(impact)
    assert big.endswith("percentage points") and interval.startswith("95% CI")
    assert "percentage points higher" in impact_sentence(impact)
    table = sensitivity_table(impact)
    assert list(table["family"]) == ["binomial", "arima", "ols"]
    assert (table["status"] == "ok").all()


def test_binomial_on_a_count_metric_names_the_metric_and_field(board) -> None:
    impact = run_impact(board, ImpactRequest("secondary_referrals", model="binomial"))
    assert impact.result is None
    assert "its.model" in impact.error and "needs a numerator and a denominator" in impact.error


def test_a_count_model_on_a_percentage_is_refused_on_the_site(board) -> None:
    impact = run_impact(board, ImpactRequest("secondary_acceptance_rate", model="quasipoisson"))
    assert impact.result is None
    assert impact.error.startswith("Secondary referrals accepted for specialist care:")
    assert "not whole numbers" in impact.error


def test_binomial_on_a_count_metric_is_a_validation_error(mini, edit) -> None:
    edit(
        mini / "metrics" / "all.yaml",
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], "
        "its: {interventions: [change], model: binomial}}",
    )
    issues = [i for i in load_config(mini).issues if "binomial" in i.message]
    assert len(issues) == 1
    assert issues[0].field == "metrics[count_a].its.model" and issues[0].line > 0
    assert "numerator and a denominator" in issues[0].message
