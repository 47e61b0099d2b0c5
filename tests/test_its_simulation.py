"""Coverage of 95% intervals for a known step under AR(1) errors (seeded, so deterministic).

The default model (regression with AR(1) errors, phi by REML) must cover the true level
change in 90-98% of replicates; naive OLS (classical standard errors) must under-cover, and
Newey-West OLS, the common alternative, also falls short in series this long. This is the
reason for the default (metrics/its/spec.py, DEFAULT_MODEL).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from metrics.its import DEFAULT_MODEL, InterventionSpec, ITSSpec, fit_its

N_PRE = N_POST = 48  # four years a side of monthly data
PHI = 0.5  # lag-1 autocorrelation of the errors (domain.md: 0.3-0.6)
INNOVATION_SD = 5.0
TRUE_STEP = -10.0
REPLICATES = 400
SEED = 20240601


def simulate(rng: np.random.Generator) -> np.ndarray:
    n = N_PRE + N_POST
    noise = np.empty(n)
    noise[0] = rng.normal(0, INNOVATION_SD / np.sqrt(1 - PHI**2))  # stationary start
    for i in range(1, n):
        noise[i] = PHI * noise[i - 1] + rng.normal(0, INNOVATION_SD)
    t = np.arange(n)
    return 100 + 0.3 * t + TRUE_STEP * (t >= N_PRE) + noise


@pytest.mark.slow
def test_default_model_covers_a_known_step_and_naive_ols_does_not() -> None:
    rng = np.random.default_rng(SEED)
    dates = pd.date_range("2016-01-01", periods=N_PRE + N_POST, freq="MS")
    step = InterventionSpec("change", dates[N_PRE])
    default_spec = ITSSpec(interventions=(step,), placebo=False)
    hac_spec = ITSSpec(model="ols", interventions=(step,), placebo=False)
    assert default_spec.model == DEFAULT_MODEL == "arima"

    covered = {"default": 0, "newey_west": 0, "naive": 0}
    for _ in range(REPLICATES):
        frame = pd.DataFrame({"date": dates, "value": simulate(rng)})
        default = fit_its(frame, default_spec).effect("change", "level")
        covered["default"] += default.ci_low <= TRUE_STEP <= default.ci_high
        newey_west = fit_its(frame, hac_spec).effect("change", "level")
        covered["newey_west"] += newey_west.ci_low <= TRUE_STEP <= newey_west.ci_high
        # Naive OLS: classical standard errors on the same design.
        t = np.arange(N_PRE + N_POST)
        X = np.column_stack([np.ones_like(t), t, t >= N_PRE, np.where(t >= N_PRE, t - N_PRE, 0)])
        low, high = sm.OLS(frame["value"].to_numpy(), X.astype(float)).fit().conf_int()[2]
        covered["naive"] += low <= TRUE_STEP <= high

    coverage = {name: count / REPLICATES for name, count in covered.items()}
    assert 0.90 <= coverage["default"] <= 0.98, coverage
    assert coverage["naive"] < 0.88, coverage
    assert coverage["naive"] < coverage["default"] - 0.08, coverage
    assert coverage["newey_west"] < coverage["default"], coverage
