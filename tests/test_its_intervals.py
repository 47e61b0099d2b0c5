"""Intervals of derived effects by simulation, and the placebo check of the reported term.

Horizon and cumulative effects are non-linear in the coefficients; their intervals come
from seeded draws of the coefficients, so they are reproducible, skewed where the quantity
is, and the absolute and relative intervals agree on whether they include no change.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from metrics.its import InterventionSpec, ITSSpec, fit_its
from metrics.its.result import MIN_PLACEBO_DATES

HUB = InterventionSpec("hub", "2016-01", label="Hub scale-up")


def counts(seed: int, ratio: float = 0.93, n: int = 60, change: int = 36, base: float = 50.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    mean = base * np.where(t >= change, ratio, 1.0)
    return pd.DataFrame(
        {
            "date": pd.date_range("2013-01", periods=n, freq="MS"),
            "value": rng.poisson(mean).astype(float),
        }
    )


def spec(**changes) -> ITSSpec:
    base = dict(model="quasipoisson", interventions=(HUB,), placebo=False)
    base.update(changes)
    return ITSSpec(**base)


def excludes_zero(low: float, high: float) -> bool:
    return low > 0 or high < 0


def test_simulated_intervals_are_reproducible_and_seeded() -> None:
    frame = counts(4)
    first = fit_its(frame, spec())
    again = fit_its(frame, spec())
    assert first.horizon_effect() == again.horizon_effect()
    assert first.cumulative_effect() == again.cumulative_effect()
    assert first.horizon_effect().method == first.cumulative_effect().method == "simulation"
    other = fit_its(frame, spec(seed=7)).cumulative_effect()
    assert other.ci_low != first.cumulative_effect().ci_low
    # ... but only by Monte Carlo error.
    width = first.cumulative_effect().ci_high - first.cumulative_effect().ci_low
    assert abs(other.ci_low - first.cumulative_effect().ci_low) < 0.1 * width


def test_absolute_and_relative_intervals_agree_where_the_delta_method_does_not() -> None:
    disagreements_delta = 0
    for seed in range(200):
        frame = counts(seed)
        simulated = fit_its(frame, spec()).horizon_effect()
        assert excludes_zero(simulated.absolute_low, simulated.absolute_high) == excludes_zero(
            simulated.relative_low, simulated.relative_high
        ), seed
        delta = fit_its(frame, spec(simulations=0)).horizon_effect()
        assert delta.method == "delta"
        disagreements_delta += excludes_zero(
            delta.absolute_low, delta.absolute_high
        ) != excludes_zero(delta.relative_low, delta.relative_high)
    # The old intervals disagreed on some of these series (5 of 200 when written).
    assert disagreements_delta >= 1


def test_cumulative_interval_matches_an_independent_simulation_and_is_skewed() -> None:
    frame = counts(11, ratio=0.7, n=96, change=36)
    result = fit_its(frame, spec(seed=3))
    total = result.cumulative_effect()
    # Independent computation from the published coefficients and covariance.
    rng = np.random.default_rng(99)
    draws = rng.multivariate_normal(result.params, result.cov, size=20_000)
    t = np.arange(36, 96)
    month = (pd.Timestamp("2013-01").month - 1 + t) % 12 + 1
    assert result.spec.seasonality == "none" and len(result.params) == 4
    x1 = np.column_stack([np.ones(t.size), t, np.ones(t.size), t - 36.0])
    x0 = x1.copy()
    x0[:, 2:] = 0.0
    sums = np.exp(draws @ x1.T).sum(axis=1) - np.exp(draws @ x0.T).sum(axis=1)
    low, high = np.quantile(sums, [0.025, 0.975])
    width = high - low
    assert month.size == t.size
    assert total.ci_low == pytest.approx(low, abs=0.06 * width)
    assert total.ci_high == pytest.approx(high, abs=0.06 * width)
    # A total of exponentials is skewed: the interval is not symmetric about the estimate.
    below, above = total.difference - total.ci_low, total.ci_high - total.difference
    assert not math.isclose(below, above, rel_tol=0.02)
    delta = fit_its(frame, spec(simulations=0)).cumulative_effect()
    assert delta.difference - delta.ci_low == pytest.approx(delta.ci_high - delta.difference)


def test_linear_models_draw_from_a_t_distribution() -> None:
    """For a linear model at the horizon without a slope the absolute effect is the level
    coefficient itself: its simulated interval matches the t interval."""
    rng = np.random.default_rng(5)
    n = 40
    t = np.arange(n)
    y = 10 + 0.1 * t - 3.0 * (t >= 20) + rng.normal(0, 1.0, n)
    frame = pd.DataFrame({"date": pd.date_range("2015-01", periods=n, freq="MS"), "value": y})
    step = InterventionSpec("step", "2016-09", slope=False)
    result = fit_its(
        frame, ITSSpec(model="ols", interventions=(step,), placebo=False, simulations=20_000)
    )
    level = result.effect(term="level")
    horizon = result.horizon_effect()
    assert horizon.absolute_low == pytest.approx(level.ci_low, abs=0.06 * level.se)
    assert horizon.absolute_high == pytest.approx(level.ci_high, abs=0.06 * level.se)


@pytest.mark.slow
def test_simulated_cumulative_intervals_cover_the_truth() -> None:
    """Small coverage study: Poisson counts, a known step; the cumulative effect's true value
    is the sum of the true expected differences."""
    n, change, ratio, base = 60, 30, 0.8, 40.0
    t = np.arange(n)
    truth = (base * ratio - base) * (n - change)
    covered = 0
    replicates = 300
    for seed in range(replicates):
        rng = np.random.default_rng(1000 + seed)
        mean = base * np.where(t >= change, ratio, 1.0)
        frame = pd.DataFrame(
            {
                "date": pd.date_range("2013-01", periods=n, freq="MS"),
                "value": rng.poisson(mean).astype(float),
            }
        )
        step = InterventionSpec("step", "2015-07", slope=False)
        total = fit_its(
            frame, ITSSpec(model="poisson", interventions=(step,), placebo=False)
        ).cumulative_effect()
        covered += total.ci_low <= truth <= total.ci_high
    assert 0.91 <= covered / replicates <= 0.985


# --- placebo ---------------------------------------------------------------------------------


def growth(n: int = 96, change: int = 48, slope: float = 2.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 20 + 0.05 * t + slope * np.clip(t - change, 0, None) + rng.normal(0, 1.0, n)
    return pd.DataFrame({"date": pd.date_range("2011-01", periods=n, freq="MS"), "value": y})


def test_placebo_tests_the_slope_when_the_study_reports_a_slope() -> None:
    frame = growth()
    change = InterventionSpec("go_live", "2015-01", label="go-live")
    result = fit_its(frame, ITSSpec(model="ols", interventions=(change,), term="slope"))
    placebo = result.placebo
    assert placebo is not None and placebo.term == "slope"
    slope = result.effect(term="slope")
    assert placebo.real_estimate == slope.estimate
    assert placebo.rank == 1
    assert "slope change" in placebo.text()
    level_study = fit_its(frame, ITSSpec(model="ols", interventions=(change,)))
    assert level_study.placebo.term == "level"
    assert level_study.placebo.real_estimate == level_study.effect(term="level").estimate


def test_a_slope_only_intervention_reports_its_slope() -> None:
    change = InterventionSpec("go_live", "2015-01", level=False)
    result = fit_its(growth(), ITSSpec(model="ols", interventions=(change,)))
    assert result.placebo.term == "slope"


def test_reporting_a_term_that_is_not_estimated_is_refused() -> None:
    from metrics.its import ITSInputError

    change = InterventionSpec("go_live", "2015-01", slope=False)
    with pytest.raises(ITSInputError, match="slope change of 'go_live'"):
        fit_its(growth(), ITSSpec(model="ols", interventions=(change,), term="slope"))


def test_too_few_placebo_dates_are_said_plainly() -> None:
    frame = growth(n=40, change=12)  # 12 points before: one false date, 6 either side
    change = InterventionSpec("go_live", frame["date"].iloc[12])
    result = fit_its(frame, ITSSpec(model="ols", interventions=(change,)))
    placebo = result.placebo
    assert placebo is not None and placebo.n_placebo < MIN_PLACEBO_DATES and placebo.too_few
    text = placebo.text()
    assert text.startswith("Only 1 false date ") and "too few" in text
    assert "all 1" not in text
    assert placebo.to_dict()["too_few"] is True


def test_no_placebo_check_says_why() -> None:
    frame = growth(n=40, change=8)
    change = InterventionSpec("go_live", frame["date"].iloc[8], label="go-live")
    result = fit_its(frame, ITSSpec(model="ols", interventions=(change,)))
    assert result.placebo is None
    assert "needs at least 12 points before the go-live" in result.placebo_note
    assert "there are 8" in result.placebo_note
    assert result.to_dict()["placebo_note"] == result.placebo_note
    silent = fit_its(frame, dataclasses.replace(result.spec, placebo=False))
    assert silent.placebo_note == ""
