"""SPC engine timing: one 144-point monthly series, and a 30-metric board page.

    .venv/bin/python bench/spc_bench.py

Prints the median time per call and its ratio to the budgets in issue 4 (a 144-point
series well under 5 ms). Figures depend on the machine; tests never assert on them.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from metrics.spc import SPCOptions, compute_spc

SERIES_BUDGET_MS = 5.0


def _series(seed: int, n: int = 144) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = 200 + rng.normal(0, 12, n)
    values[n // 2 :] -= 40  # a level change, so rules fire
    values[n // 3] = np.nan
    dates = pd.date_range("2013-04-01", periods=n, freq="MS")
    return pd.DataFrame({"date": dates, "value": values})


def _median_ms(call, repeats: int) -> float:
    call()  # warm caches and imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    frame = _series(0)
    options = SPCOptions(improvement="decrease")
    cases = {
        "144 points, defaults": lambda: compute_spc(frame),
        "144 points, target + rebase": lambda: compute_spc(
            frame, options=options, target=180, rebase=["2019-04-01"]
        ),
        "144 points, + to_json_records": lambda: compute_spc(frame).to_json_records(),
    }
    print(f"{'case':<34}{'median ms':>10}{'/ 5 ms budget':>15}")
    for name, call in cases.items():
        ms = _median_ms(call, 200)
        print(f"{name:<34}{ms:>10.2f}{ms / SERIES_BUDGET_MS:>15.2f}")

    metrics = [_series(seed) for seed in range(30)]
    page_ms = _median_ms(lambda: [compute_spc(m, options=options) for m in metrics], 20)
    print(f"{'board page: 30 series, 30 calls':<34}{page_ms:>10.2f}")
    faceted = pd.concat([m.assign(metric=str(i)) for i, m in enumerate(metrics)])
    one_ms = _median_ms(lambda: compute_spc(faceted, facet_col="metric", options=options), 20)
    print(f"{'board page: 30 facets, one call':<34}{one_ms:>10.2f}")


if __name__ == "__main__":
    main()
