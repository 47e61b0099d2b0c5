"""ITS engine timing: raw linear HAC fits, and a catalogue of 100 full studies.

    .venv/bin/python bench/its_bench.py

Budgets (issue 3): 2,000+ linear Newey-West fits a second; every ITS in the catalogue
(about 10 definitions x 10 breakdown groups = 100 studies, placebo check included) in under
1 s. Prints rates and ratios to the budgets, and statsmodels' rate for the same HAC fit.
Figures depend on the machine; tests never assert on them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import statsmodels.api as sm

from metrics.its import InterventionSpec, ITSSpec, ShockSpec, fit_its
from metrics.its.models import fit_ols_hac

HAC_FITS_PER_SECOND_BUDGET = 2000.0
CATALOGUE_BUDGET_S = 1.0


def _series(seed: int, n: int = 144) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.4 * noise[i - 1] + rng.normal(0, 0.06)
    ramp = np.clip((t - 30 + 1) / 9, 0, 1)
    mean = 200 * np.exp(0.001 * t + noise) * 0.57**ramp
    return pd.DataFrame({"date": pd.date_range("2013-04-01", periods=n, freq="MS"),
                         "value": rng.poisson(mean).astype(float)})


def _best_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm caches and imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    frame = _series(0)
    n = len(frame)
    t = np.arange(n, dtype=float)
    month = t % 12 + 1
    X = np.column_stack([np.ones(n), t, t >= 30, np.where(t >= 30, t - 30, 0),
                         np.sin(2 * np.pi * month / 12), np.cos(2 * np.pi * month / 12),
                         np.sin(4 * np.pi * month / 12), np.cos(4 * np.pi * month / 12)])
    y = frame["value"].to_numpy(float)
    batch = 2000
    ours = _best_seconds(lambda: [fit_ols_hac(y, X, t, None, 4) for _ in range(batch)], 5)
    theirs = _best_seconds(lambda: [
        sm.OLS(y, X).fit(cov_type="HAC", use_t=True,
                         cov_kwds={"maxlags": 4, "use_correction": True})
        for _ in range(200)], 5) * batch / 200
    print("Linear Newey-West fit, 144 points x 8 terms, lag 4")
    print(f"  numpy fast path : {batch / ours:>9,.0f} fits/s  "
          f"({batch / ours / HAC_FITS_PER_SECOND_BUDGET:.1f} x the 2,000/s budget)")
    print(f"  statsmodels OLS : {batch / theirs:>9,.0f} fits/s")

    series = [_series(seed) for seed in range(100)]
    hub = InterventionSpec("hub_scale_up", "2015-10", label="Hub scale-up", ramp_periods=9)
    covid = ShockSpec("covid", "2020-04", "2020-05", recovery_periods=3)
    print("\nCatalogue: 100 studies of 144 months (Hub with phase-in, COVID shock, fourier:2)")
    print(f"  {'model':<14}{'placebo':>8}{'total s':>10}{'/ 1 s budget':>14}{'ms/study':>10}")
    for model in ("arima", "ols", "quasipoisson", "negbin"):
        for placebo in (True, False):
            spec = ITSSpec(model=model, interventions=(hub,), shocks=(covid,),
                           seasonality="fourier:2", placebo=placebo)
            seconds = _best_seconds(lambda s=spec: [fit_its(f, s) for f in series], 3)
            print(f"  {model:<14}{placebo!s:>8}{seconds:>10.3f}"
                  f"{seconds / CATALOGUE_BUDGET_S:>14.2f}{seconds * 10:>10.2f}")


if __name__ == "__main__":
    main()
