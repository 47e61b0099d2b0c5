"""Start-up warm: the CPU each step of the server's warm costs, against another commit.

    .venv/bin/python bench/warm_bench.py [--against REF] [--runs N]

A site process warms the board before its first visitor (metrics.ui.server.lifespan: the
figures, metrics.serving.warm, then the pages' PAGE_WARM_STEPS), and every configuration
reload warms the new board the same way before it serves. So the warm sets how soon a
started process is put in service, and how soon an edit reaches readers.

Each run is a fresh Python process that imports the site's layers and warms the project's
configuration on the bundled sample data as the server's lifespan does (charts built
unchecked, as in a server, where the commit has that), timing every step
in CPU seconds (time.process_time: the process's CPU in all its threads). The same is
measured for --against (default HEAD, so uncommitted work is compared with the last
commit; a clean tree then shows the noise), checked out into a temporary git worktree and
run with this checkout's interpreter, alternately with this tree (this, against, this, ...).
Reported per step: the median CPU over --runs for each tree and the ratio this/against.
Nothing asserts on time; the exit status is 1 only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in the tree being measured (its own metrics package, configuration and sample data).
CHILD = r"""
import json, time, warnings
warnings.filterwarnings("ignore")
started = time.process_time()
from metrics import serving
from metrics.ui import server
imported = time.process_time()

class Timed(list):
    # warm_process appends each step's name as it finishes
    def append(self, name):
        super().append((name, time.process_time()))

serving.WARMTH.steps = Timed()
# As the server's lifespan does first (commits before it had none)
getattr(server, "build_charts_unchecked", lambda: None)()
warmth = serving.warm_process(server.config_dir(), more=server.PAGE_WARM_STEPS)
steps, last = [("imports", imported - started)], imported
for name, at in serving.WARMTH.steps:
    steps.append((name, at - last))
    last = at
print(json.dumps({"status": warmth.status, "steps": steps,
                  "total": time.process_time() - started}))
"""


def measure(tree: Path, python: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "ALLIANCE_CONFIG_DIR": str(tree / "config")}
    env.pop("ALLIANCE_DATA_DIR", None)
    done = subprocess.run(
        [python, "-c", CHILD], cwd=tree, env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"warm in {tree} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "ready":
        raise RuntimeError(f"warm in {tree} ended {result['status']!r}")
    return result


def worktree(ref: str, where: Path) -> Path:
    path = where / "against"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), ref],
        check=True,
    )
    return path


def report(this: list[dict], against: list[dict], ref: str) -> None:
    def medians(runs: list[dict]) -> dict[str, float]:
        names = [name for name, _ in runs[0]["steps"]]
        table = {n: statistics.median(dict(r["steps"]).get(n, 0.0) for r in runs) for n in names}
        table["total"] = statistics.median(r["total"] for r in runs)
        return table

    mine, theirs = medians(this), medians(against)
    names = list(dict.fromkeys([*theirs, *mine]))
    names.remove("total")
    print(f"\nwarm CPU seconds, median of {len(this)} run(s) each: this tree against {ref}")
    print(f"  {'step':<28}{'this':>8}{ref[:10]:>12}{'ratio':>8}")
    for name in [*names, "total"]:
        a, b = mine.get(name), theirs.get(name)
        ratio = f"{a / b:.2f}x" if a is not None and b else "-"
        shown_a = f"{a:.2f}" if a is not None else "-"
        shown_b = f"{b:.2f}" if b is not None else "-"
        print(f"  {name:<28}{shown_a:>8}{shown_b:>12}{ratio:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="HEAD", help="git commit to compare (HEAD)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree (3)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for both")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="warm-bench-") as scratch:
        try:
            other = worktree(args.against, Path(scratch))
        except subprocess.CalledProcessError as exc:
            print(f"warm benchmark could not check out {args.against}: {exc}")
            return 1
        try:
            this_runs, other_runs = [], []
            for number in range(args.runs):
                for tree, runs in ((ROOT, this_runs), (other, other_runs)):
                    runs.append(measure(tree, args.python))
                    label = "this tree" if tree == ROOT else args.against
                    print(f"run {number + 1}, {label}: {runs[-1]['total']:.1f} s CPU")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"warm benchmark could not run: {exc}")
            return 1
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                check=False,
                capture_output=True,
            )
    report(this_runs, other_runs, args.against)
    return 0


if __name__ == "__main__":
    sys.exit(main())
