"""Validation speed: the definition stages on the sample configuration, now against a
baseline commit, measured in the same run.

    .venv/bin/python bench/validation_bench.py [--baseline REV] [--repeats N] [--quick]

The baseline is the project as it was at REV (default: the head before bound metrics were
remembered), unpacked with `git archive` into a temporary folder.
Each side runs in its own Python process (`load_config` on the sample configuration, the
parse, schema, reference and SQL stages; the same again with the metrics that bound
cleanly remembered, as an editor check after an edit is; then `validate_config` with the
data stage),
alternating between the two, N times each; medians are compared. Target: no slower than
the baseline (ratio <= 1.0, within the machine's noise).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The last stop's head: before the SQL checks remembered the metrics that bound cleanly.
# (The first baseline, daf5e73 before sqlglot, predates metrics.validation and can no
# longer read today's configuration.)
BASELINE = "284c2fd"

PROBE = r"""
import importlib.util, json, sys, time
sys.path.insert(0, sys.argv[1])
from metrics.validation import load_config, validate_config
config = sys.argv[2]
# Metrics that bound cleanly are remembered (newer trees): forgotten before each timing,
# so both sides do the whole work; "remembered" is what an editor check costs.
checks = "metrics.sql.definition_checks"
forget = (
    getattr(importlib.import_module(checks), "_BOUND", {}).clear
    if importlib.util.find_spec(checks) else dict().clear
)
load_config(config)  # imports and caches warm
forget()
started = time.perf_counter(); load_config(config); definitions = time.perf_counter() - started
started = time.perf_counter(); load_config(config); remembered = time.perf_counter() - started
forget()
started = time.perf_counter(); validate_config(config); everything = time.perf_counter() - started
print(json.dumps({"definitions": definitions, "remembered": remembered, "everything": everything}))
"""


def measure(tree: Path, python: str) -> dict[str, float]:
    output = subprocess.run(
        [python, "-c", PROBE, str(tree), str(ROOT / "config")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    with tempfile.TemporaryDirectory(prefix="validation_bench_") as scratch:
        baseline = Path(scratch)
        archive = subprocess.run(
            ["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=False
        )
        if archive.returncode != 0:
            print(f"baseline {args.baseline} is not in this clone's history; nothing compared")
            return 0
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
        now: list[dict[str, float]] = []
        then: list[dict[str, float]] = []
        for _ in range(repeats):
            then.append(measure(baseline, args.python))
            now.append(measure(ROOT, args.python))
    print(f"Validation of the sample configuration, {repeats} runs each, medians")
    for key, label in (
        ("definitions", "load_config (stages 1-3)"),
        ("remembered", "again, bound metrics kept"),
        ("everything", "with data"),
    ):
        a = statistics.median(r[key] for r in now)
        b = statistics.median(r[key] for r in then)
        print(
            f"  {label:28} now {a * 1000:7.0f} ms   baseline {args.baseline} {b * 1000:7.0f} ms"
            f"   ratio {a / b:.2f}x (target <= 1.0x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
