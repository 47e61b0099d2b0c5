"""Run every benchmark and print one table of the headline ratios.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--skip NAME ...]

Runs, each as its own process with the virtualenv's Python (so one cannot warm another's
caches or inflate its peak memory), from the repository root:

  catalogue    bench/catalogue_bench.py    whole catalogue on the sample data, vs a trivial
                                           query and vs loading the sources
  aggregation  bench/aggregation_bench.py  every referral metric on a big generated table,
                                           engine vs hand-written SQL, and peak memory
  overview     bench/overview_bench.py     Overview and metric page ready time in Chromium,
                                           vs a hello-world page
  spc          bench/spc_bench.py          SPC engine vs its 5 ms budget
  its          bench/its_bench.py          ITS engine vs numpy lstsq, catalogue vs 1 s

``--quick`` is passed to every script that takes it (the aggregation bench then uses
1,000,000 rows instead of 10,000,000; the others run fewer repeats). Each script's own
output is shown as it runs; the final table collects the headline figures (from
``--summary-json`` for the first three, parsed from the printed text for spc and its).
Every ratio is against a baseline or budget measured or stated in the same run; nothing
asserts on time. Exit status 1 only when a script failed to run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass
class Bench:
    """One benchmark script, how it ran, and its headline figures."""

    name: str
    script: str
    summary_json: bool  # writes --summary-json (ours); otherwise its text is parsed
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""
    headline: list[dict[str, Any]] = field(default_factory=list)
    # Always run scaled down here (the full run takes an hour or more: run the script).
    always_quick: bool = False


BENCHES = [
    Bench("catalogue", "catalogue_bench.py", summary_json=True),
    Bench("aggregation", "aggregation_bench.py", summary_json=True),
    Bench("overview", "overview_bench.py", summary_json=True),
    Bench("spc", "spc_bench.py", summary_json=False),
    Bench("its", "its_bench.py", summary_json=False),
    # 1M referral rows on DuckDB, PostgreSQL and Spark; bench/warehouse_bench.py alone runs
    # 10M and 50M (loading 50M rows into PostgreSQL takes a while).
    Bench("warehouse", "warehouse_bench.py", summary_json=True, always_quick=True),
]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_spc(output: str) -> list[dict[str, Any]]:
    """Headline of spc_bench.py: a 144-point series against its 5 ms budget."""
    rows = []
    match = re.search(r"^144 points, defaults\s+([\d.]+)\s+([\d.]+)", output, re.M)
    if match:
        rows.append(
            {
                "figure": "SPC, 144-point series (defaults)",
                "value": _number(match.group(1)),
                "unit": "ms",
                "ratio": _number(match.group(2)),
                "against": "5 ms budget",
                "target": "<= 1",
            }
        )
    match = re.search(r"^board page: 30 series, 30 calls\s+([\d.]+)", output, re.M)
    if match:
        rows.append(
            {
                "figure": "SPC, board page of 30 series",
                "value": _number(match.group(1)),
                "unit": "ms",
                "ratio": None,
                "against": "",
                "target": "",
            }
        )
    return rows


def parse_its(output: str) -> list[dict[str, Any]]:
    """Headlines of its_bench.py: HAC fits against lstsq, the catalogue against 1 s."""
    rows = []
    match = re.search(r"numpy fast path\s+([\d,]+) fits/s\s+ratio\s+([\d.]+)x", output)
    if match:
        rows.append(
            {
                "figure": "ITS, Newey-West fit (numpy path)",
                "value": _number(match.group(1)),
                "unit": "fits/s",
                "ratio": _number(match.group(2)),
                "against": "numpy lstsq (same run)",
                "target": ">= 2,000 fits/s",
            }
        )
    for label in ("cold", "warm"):
        match = re.search(
            rf"{label} \([^)]*\):\s+([\d.]+) s\s+\(([\d.]+) of the 1 s target", output
        )
        if match:
            rows.append(
                {
                    "figure": f"ITS, every definition x breakdown, {label}",
                    "value": _number(match.group(1)),
                    "unit": "s",
                    "ratio": _number(match.group(2)),
                    "against": "1 s budget",
                    "target": "<= 1",
                }
            )
    return rows


def takes_quick(script: Path) -> bool:
    """Whether a script accepts --quick (checked in its source: running --help would run
    scripts without an argument parser)."""
    return '"--quick"' in script.read_text()


def run(bench: Bench, quick: bool, python: str, tmp: Path) -> None:
    """Run one script, echoing its output as it comes, and collect its headline."""
    script = BENCH / bench.script
    command = [python, str(script)]
    if (quick or bench.always_quick) and takes_quick(script):
        command.append("--quick")
    summary = tmp / f"{bench.name}.json"
    if bench.summary_json:
        command += ["--summary-json", str(summary)]
    # Benchmarks time every page: the development default, which needs an explicit opt-in.
    env = dict(os.environ, ALLIANCE_DEVELOPMENT_ACCESS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    print(f"\n===== {bench.name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    bench.returncode = process.returncode
    bench.seconds = time.perf_counter() - started
    bench.output = "".join(lines)
    if bench.summary_json and summary.exists():
        bench.headline = json.loads(summary.read_text()).get("headline", [])
    elif bench.name == "spc":
        bench.headline = parse_spc(bench.output)
    elif bench.name == "its":
        bench.headline = parse_its(bench.output)


def _cell(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        digits = 3 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def print_summary(benches: list[Bench], quick: bool) -> None:
    print("\n" + "=" * 100)
    print(f"Summary ({'quick' if quick else 'full'} run): headline figures and ratios")
    print(f"  {'bench':<12}{'figure':<56}{'value':>14}{'ratio':>8}  {'target':<16}against")
    for bench in benches:
        if bench.returncode != 0:
            print(f"  {bench.name:<12}FAILED (exit {bench.returncode}); see its output above")
        if not bench.headline and bench.returncode == 0:
            print(f"  {bench.name:<12}(no headline found in its output; see above)")
        for row in bench.headline:
            ratio = row.get("ratio")
            ratio_text = f"{ratio:.2f}x" if isinstance(ratio, int | float) else ""
            print(
                f"  {bench.name:<12}{row['figure'][:55]:<56}"
                f"{_cell(row.get('value'), row.get('unit', '')):>14}{ratio_text:>8}  "
                f"{row.get('target', ''):<16}{row.get('against', '')}"
            )
    total = sum(b.seconds for b in benches)
    print(f"  ({len(benches)} scripts, {total:.0f} s in all)")


def main(argv: list[str] | None = None) -> int:
    names = [b.name for b in BENCHES]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled-down runs")
    parser.add_argument("--only", action="append", choices=names, help="run just these")
    parser.add_argument("--skip", action="append", choices=names, default=[], help="skip")
    parser.add_argument(
        "--python",
        default=str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable,
        help="interpreter for the scripts (default: the repository's .venv)",
    )
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only)]
    chosen = [b for b in chosen if b.name not in args.skip]
    with tempfile.TemporaryDirectory(prefix="alliance_run_all_") as tmp:
        for bench in chosen:
            run(bench, args.quick, args.python, Path(tmp))
    print_summary(chosen, args.quick)
    return 1 if any(b.returncode != 0 for b in chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
