"""The configured impact studies: time per study and the cost of simulation intervals.

    .venv/bin/python bench/its_studies_bench.py [--repeats N]

For every metric with an `its:` block, on the sample data, with the board opened once and
its series computed (warm), as the Impact page runs it:

1. the study (`run_impact`: the fit, placebo check, lack-of-fit test, verdict, simulated
   intervals) and its sensitivity table (`sensitivity_table`: every family), median ms;
2. the same study with `simulations=0` (delta method) and with the default 2,000 draws:
   the extra ms that simulation costs.

Targets (issue 12): every configured study with its sensitivity table under 1 s warm in
total (the "total/target" ratio must stay below 1), and simulation adding at most 20 ms a
study ("sim/target" below 1). Figures depend on the machine and its load (on a busy 2-core
server BLAS threads wait for each other: the engine blocks its products to stay on one);
tests never assert on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.analyses.impact import (  # noqa: E402
    ImpactRequest,
    run_impact,
    sensitivity_table,
    studies_headline_first,
)
from metrics.board import open_board  # noqa: E402
from metrics.its import fit_its  # noqa: E402

STUDY_TARGET_S = 1.0  # every study with its sensitivity table, warm
SIMULATION_TARGET_MS = 20.0  # extra per study


def _median(call: Callable[[], object], repeats: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    board = open_board(ROOT / "config")
    studies = studies_headline_first(board)
    for metric in studies:  # compute every series once: the page's warm state
        run_impact(board, ImpactRequest(metric.id))
    print(f"board opened and series computed in {time.perf_counter() - started:.1f} s")
    print(
        f"{'study':32} {'design':17} {'model':12} {'study ms':>9} {'sens. ms':>9} "
        f"{'delta ms':>9} {'sim ms':>8} {'sim extra':>9} {'sim/target':>10}"
    )
    total = 0.0
    worst_extra = 0.0
    for metric in studies:
        request = ImpactRequest(metric.id)
        impact = run_impact(board, request)
        study = _median(lambda r=request: run_impact(board, r), args.repeats)
        sens = _median(lambda i=impact: sensitivity_table(i), args.repeats)
        total += study + sens
        spec, data = impact.spec, impact.data
        if impact.result is None or spec is None:
            print(f"{metric.id:32} not fitted: {impact.error}")
            continue
        quick = dataclasses.replace(spec, placebo=False, check_fit=False)
        delta = _median(
            lambda d=data, q=quick: fit_its(d, dataclasses.replace(q, simulations=0)),
            args.repeats,
        )
        simulated = _median(lambda d=data, q=quick: fit_its(d, q), args.repeats)
        extra = (simulated - delta) * 1000
        worst_extra = max(worst_extra, extra)
        print(
            f"{metric.id:32} {impact.result.design:17} {impact.result.model:12} "
            f"{study * 1000:9.1f} {sens * 1000:9.1f} {delta * 1000:9.1f} "
            f"{simulated * 1000:8.1f} {extra:9.1f} {extra / SIMULATION_TARGET_MS:10.2f}"
        )
    print()
    print(
        f"all {len(studies)} studies with their sensitivity tables, warm: {total:.3f} s "
        f"(target {STUDY_TARGET_S:.0f} s; total/target {total / STUDY_TARGET_S:.2f})"
    )
    print(
        f"largest extra cost of simulation intervals: {worst_extra:.1f} ms a study "
        f"(target {SIMULATION_TARGET_MS:.0f} ms; ratio {worst_extra / SIMULATION_TARGET_MS:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
