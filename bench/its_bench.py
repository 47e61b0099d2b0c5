"""ITS engine timing, as ratios against a plain numpy least-squares fit in the same run.

    .venv/bin/python bench/its_bench.py [--quick]

1. The baseline: `numpy.linalg.lstsq` on the same 144 x 8 design (no standard errors).
2. Linear Newey-West fits (the numpy fast path, and statsmodels for reference): fits a
   second, and the ratio to the baseline (issue 3 target: 2,000+ fits a second).
3. One full study per model family (`fit_its`: design, fit, effects, counterfactual,
   diagnostics), with and without the placebo check: ms per study and ratio to the baseline.
4. The catalogue: every ITS definition in config/ x every breakdown (whole area, then each
   group) on the sample data, as the Impact page runs them (`run_impact`), on a freshly
   opened board (series computed cold) and again warm (issue 3 target: under 1 s).
Figures depend on the machine and its load; tests never assert on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.analyses.impact import ImpactRequest, group_studies, metrics_with_its, run_impact  # noqa: E402
from metrics.board import open_board  # noqa: E402
from metrics.its import InterventionSpec, ITSSpec, ShockSpec, fit_its  # noqa: E402
from metrics.its.models import fit_ols_hac  # noqa: E402
from metrics.its.spec import FAMILIES  # noqa: E402
from metrics.sql.series import SeriesQuery  # noqa: E402


def _series(seed: int, n: int = 144) -> pd.DataFrame:
    """A referral-like series: AR(1) noise on the log scale, a phased 43% drop at month 30."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.4 * noise[i - 1] + rng.normal(0, 0.06)
    ramp = np.clip((t - 30 + 1) / 9, 0, 1)
    mean = 200 * np.exp(0.001 * t + noise) * 0.57**ramp
    return pd.DataFrame(
        {
            "date": pd.date_range("2013-04-01", periods=n, freq="MS"),
            "value": rng.poisson(mean).astype(float),
        }
    )


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm imports and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7

    frame = _series(0)
    n = len(frame)
    t = np.arange(n, dtype=float)
    month = t % 12 + 1
    design = np.column_stack(
        [
            np.ones(n),
            t,
            t >= 30,
            np.where(t >= 30, t - 30, 0),
            np.sin(2 * np.pi * month / 12),
            np.cos(2 * np.pi * month / 12),
            np.sin(4 * np.pi * month / 12),
            np.cos(4 * np.pi * month / 12),
        ]
    )
    y = frame["value"].to_numpy(float)
    batch = 2000
    lstsq = (
        _median_seconds(
            lambda: [np.linalg.lstsq(design, y, rcond=None) for _ in range(batch)], repeats
        )
        / batch
    )
    hac = (
        _median_seconds(lambda: [fit_ols_hac(y, design, t, None, 4) for _ in range(batch)], repeats)
        / batch
    )
    statsmodels_hac = (
        _median_seconds(
            lambda: [
                sm.OLS(y, design).fit(
                    cov_type="HAC", use_t=True, cov_kwds={"maxlags": 4, "use_correction": True}
                )
                for _ in range(200)
            ],
            repeats,
        )
        / 200
    )
    print("Baseline: numpy lstsq, 144 points x 8 terms")
    print(f"  {1 / lstsq:>10,.0f} fits/s  ({lstsq * 1e6:.1f} us per fit)")
    print("Linear Newey-West (lag 4), ratio = time per fit / lstsq")
    print(
        f"  numpy fast path  {1 / hac:>10,.0f} fits/s  ratio {hac / lstsq:6.1f}x  (target 2,000+/s)"
    )
    print(
        f"  statsmodels OLS  {1 / statsmodels_hac:>10,.0f} fits/s  "
        f"ratio {statsmodels_hac / lstsq:6.1f}x"
    )

    hub = InterventionSpec("hub_scale_up", "2015-10", label="Hub scale-up", ramp_periods=9)
    covid = ShockSpec("covid", "2020-04", "2020-05", recovery_periods=3)
    print("\nOne full study per family (Hub with phase-in, COVID shock, fourier:2), 144 months")
    print(f"  {'model':<14}{'placebo':>8}{'ms/study':>10}{'ratio to lstsq':>16}")
    for model in FAMILIES:
        for placebo in (False, True):
            spec = ITSSpec(
                model=model,
                interventions=(hub,),
                shocks=(covid,),
                seasonality="fourier:2",
                placebo=placebo,
            )
            seconds = _median_seconds(lambda s=spec: fit_its(frame, s), repeats)
            print(f"  {model:<14}{placebo!s:>8}{seconds * 1e3:>10.2f}{seconds / lstsq:>15,.0f}x")

    print("\nCatalogue: every ITS definition x every breakdown on the sample data (run_impact)")
    started = time.perf_counter()
    board = open_board(ROOT / "config")
    open_seconds = time.perf_counter() - started
    definitions = metrics_with_its(board)

    def run_all() -> int:
        """Each definition once for the whole area (placebo included), then once per group
        of each breakdown, as the Impact page does."""
        studies = 0
        for metric in definitions:
            impact = run_impact(board, ImpactRequest(metric.id))
            studies += 1
            for breakdown in metric.breakdowns:
                studies += len(
                    group_studies(board, metric, impact.spec, SeriesQuery(breakdown=breakdown))
                )
        return studies

    started = time.perf_counter()
    studies = run_all()
    cold = time.perf_counter() - started
    warm = _median_seconds(run_all, max(1, repeats // 2))
    print(
        f"  {len(definitions)} definitions, "
        f"{sum(len(m.breakdowns) for m in definitions)} breakdowns, {studies} fitted studies"
    )
    print(f"  board open (validate + load, not counted): {open_seconds:.2f} s")
    print(
        f"  cold (series computed on first use): {cold:.3f} s  ({cold / 1.0:.2f} of the 1 s target)"
    )
    print(
        f"  warm (series cached):                {warm:.3f} s  ({warm / 1.0:.2f} of the 1 s target)"
    )
    print(
        f"  per study (warm): {warm / studies * 1e3:.2f} ms = {warm / studies / lstsq:,.0f}x lstsq"
    )


if __name__ == "__main__":
    main()
