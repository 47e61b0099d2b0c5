"""Reload storm: page times while a large changed configuration loads in the background.

    .venv/bin/python bench/reload_bench.py [--metrics 3000] [--rounds 3] [--quick]

One `streamlit run` of the site on a copy of the sample configuration (data read from
sample_data/), on a free port of 127.0.0.1. Pages are loaded over Streamlit's own
websocket protocol (server time only, no browser drawing):

  1. quiet: every page in PAGES, --rounds times, with nothing else happening (baseline);
  2. storm: a metrics file of --metrics generated definitions (about 1.3 MB for 3,000) is
     written into the configuration, and rewritten every --every seconds, so the server
     keeps validating and loading changes in its background worker; the same page loads
     are timed while a reload worker is running (loads after the worker has gone are not
     counted).

Reported: the median and p95 page time quiet and during the storm, and their ratio
(target: within 1.5x), plus how long the reload worker ran. Ratios come from the same
run, since these machines are shared and noisy. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import Server, _children, protocol_loader  # noqa: E402

PAGES = [("overview", "/"), ("access", "/access"), ("equity", "/equity"), ("metric", "/metric")]
TARGET = 1.5


def copy_config(folder: Path) -> Path:
    """The sample configuration in `folder`, reading the bundled data where it lies."""
    config = folder / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    sources = config / "sources.yaml"
    text = sources.read_text(encoding="utf-8").replace(
        "data_dir: ../sample_data", f"data_dir: {ROOT / 'sample_data'}"
    )
    sources.write_text(text, encoding="utf-8")
    return config


def generated_metrics(config: Path, count: int, version: int) -> str:
    """`count` valid metric definitions copied from the sample's own (ids made unique)."""
    items = []
    for path in sorted((config / "metrics").glob("*.yaml")):
        if path.name.startswith("generated"):
            continue
        items += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("metrics", [])
    out = []
    for index in range(count):
        item = dict(items[index % len(items)])
        item["id"] = f"{item['id']}_g{index}"
        item["title"] = f"{item['title']} (copy {index}, version {version})"
        item.pop("its", None)
        out.append(item)
    return yaml.safe_dump({"metrics": out}, sort_keys=False)


def worker_running(server: Server) -> bool:
    """Whether the server has a board-reload worker process (python -m metrics.serving)."""
    if server.process is None:
        return False
    for pid in _children(server.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"metrics.serving" in command:
            return True
    return False


async def timed_loads(server: Server, rounds: int, *, while_reloading: bool) -> list[float]:
    load = protocol_loader(server.port, timeout_s=300)
    times: list[float] = []
    for _ in range(rounds):
        for name, path in PAGES:
            if while_reloading and not worker_running(server):
                return times
            go = asyncio.Event()
            go.set()
            result = await load(name, path, go)
            if result.error:
                raise RuntimeError(f"{name}: {result.error}")
            if not while_reloading or worker_running(server):
                times.append(result.wall_s or 0.0)
    return times


def storm(config: Path, count: int, every: float, stop: threading.Event) -> None:
    target = config / "metrics" / "generated.yaml"
    version = 0
    while not stop.is_set():
        version += 1
        text = generated_metrics(config, count, version)
        partial = target.with_suffix(".tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
        stop.wait(every)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between rewrites")
    parser.add_argument("--quick", action="store_true", help="1 round, 1,000 metrics")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.metrics = 1, 1000

    with tempfile.TemporaryDirectory(prefix="reload_bench_") as scratch:
        config = copy_config(Path(scratch))
        server = Server(args.python, env={"ALLIANCE_CONFIG_DIR": str(config)})
        stop = threading.Event()
        try:
            server.start()
            asyncio.run(timed_loads(server, 1, while_reloading=False))  # warm every page
            quiet = asyncio.run(timed_loads(server, args.rounds, while_reloading=False))
            writer = threading.Thread(
                target=storm, args=(config, args.metrics, args.every, stop), daemon=True
            )
            writer.start()
            began = time.perf_counter()
            while not worker_running(server):  # the server notices within a second
                if time.perf_counter() - began > 60:
                    raise RuntimeError("the server never started a reload worker")
                asyncio.run(timed_loads(server, 1, while_reloading=False))
            noticed = time.perf_counter() - began
            during: list[float] = []
            while worker_running(server):
                during += asyncio.run(timed_loads(server, 1, while_reloading=True))
            worker_s = time.perf_counter() - began - noticed
            stop.set()
            writer.join(timeout=5)
            server.check_alive()
        finally:
            stop.set()
            server.stop()

    if not during:
        print("no page load finished while the reload worker ran; nothing to compare")
        return 1
    quiet_median, storm_median = statistics.median(quiet), statistics.median(during)
    print(
        f"Reload storm: {args.metrics:,} generated metrics rewritten every {args.every:g} s; "
        f"pages {', '.join(name for name, _ in PAGES)} over the websocket"
    )
    print(f"  reload worker noticed after {noticed:.1f} s and ran {worker_s:.1f} s")
    print(
        f"  quiet:  {len(quiet)} loads, median {quiet_median * 1000:.0f} ms, "
        f"p95 {p95(quiet) * 1000:.0f} ms"
    )
    print(
        f"  storm:  {len(during)} loads, median {storm_median * 1000:.0f} ms, "
        f"p95 {p95(during) * 1000:.0f} ms"
    )
    ratio = storm_median / quiet_median
    print(
        f"  ratio (storm / quiet, medians): {ratio:.2f}x  (target <= {TARGET}x: "
        f"{'met' if ratio <= TARGET else 'missed'}); p95 ratio {p95(during) / p95(quiet):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
