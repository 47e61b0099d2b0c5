"""Every page's ready time in headless Chromium against a hello-world page, and the time
to recompute a page after a filter change.

    .venv/bin/python bench/pages_bench.py [--runs N] [--quick]

1. /work/shared/tools/page_timing.py times a hello-world app (`st.write("hello")`) and then
   one `streamlit run streamlit_app.py` server with every page as a path. The first path
   is loaded straight after the server starts, so its cold time includes opening the board
   (validation, loading and checking the data); every later page's cold time is its first
   load in a fresh browser context on that server; warm is the median of --runs reloads.
   Ratios are against hello world measured in the same run (targets: each page cold at
   most 2.5 x hello world).
2. Filter change: in Chromium, the Overview is loaded, the neighbourhood filter changed,
   and the time until Streamlit has re-run and redrawn the page is measured; on the server
   side, the engine work behind the Overview (every metric's summary and SPC reading) is
   timed directly for a period change and a neighbourhood change on a warm board
   (target: under 0.5 s on the server).
Prints figures; tests never assert on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOOL = Path("/work/shared/tools/page_timing.py")
# Every page is timed, so the servers run the development default (an explicit opt-in).
SERVER_ENV = dict(os.environ, ALLIANCE_DEVELOPMENT_ACCESS="1")
PYTHON = sys.executable
PAGES = [
    ("overview (first load, opens the board)", "/"),
    ("outcomes", "/outcomes"),
    ("access", "/access"),
    ("crisis", "/crisis"),
    ("equity", "/equity"),
    ("money", "/money"),
    ("data_quality", "/data_quality"),
    ("impact", "/impact?metric=secondary_referrals"),
    ("metric", "/metric?metric=secondary_referrals"),
    ("catalogue", "/catalogue"),
    ("editor", "/editor?metric=open_referrals"),
    ("diagnostics", "/diagnostics"),
    ("showcase", "/showcase"),
    ("overview (board already open)", "/overview"),
]


def page_timing(app: Path, paths: list[str], runs: int, out: Path, *, all_charts: bool) -> dict:
    command = [
        PYTHON,
        str(TOOL),
        "--app",
        str(app),
        "--cwd",
        str(app.parent),
        "--runs",
        str(runs),
        "--python",
        PYTHON,
        "--out",
        str(out),
        "--as-configured",
        "--timeout",
        "120",
    ]
    for path in paths:
        command += ["--path", path]
    if all_charts:
        command.append("--all-charts")
    subprocess.run(
        command, capture_output=True, text=True, timeout=1800, check=False, env=SERVER_ENV
    )
    return json.loads(out.read_text()) if out.exists() else {}


def browser_filter_change(runs: int) -> list[float]:
    """Seconds from choosing a neighbourhood to the redrawn Overview, in Chromium."""
    import socket

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from browser.conftest import CHROMIUM_ARGS, READY_JS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=SERVER_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    times = []
    try:
        for line in server.stdout:  # blocks until the server listens
            if "URL:" in line:
                break
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function(READY_JS, timeout=180_000)
            for choice in (["North", "South East", "South West", "All neighbourhoods"] * runs)[
                : 2 * runs
            ]:
                page.get_by_label("Neighbourhood (Local Care Network)").click()
                started = time.perf_counter()
                page.get_by_role("option", name=choice).click()
                # The rerun starts after the click reaches the server: wait for the query
                # string to change (Streamlit writes the filter to the URL), then for ready.
                page.wait_for_function(
                    "(lcn) => new URLSearchParams(location.search).get('lcn')"
                    " === (lcn === 'All neighbourhoods' ? null : lcn)",
                    arg=choice,
                    timeout=120_000,
                )
                page.wait_for_function(READY_JS, timeout=120_000)
                times.append(time.perf_counter() - started)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def server_filter_change(runs: int) -> dict[str, float]:
    """Engine time behind the Overview for a new period and a new neighbourhood: on a board
    warmed as the site warms it at start (metrics.serving.warm, which computes every
    neighbourhood's view), and, for the engine itself, on a board that has computed only
    the default view (a neighbourhood's series then come from one query per metric)."""
    from metrics.analyses.reading import readings
    from metrics.board import open_board
    from metrics.serving import warm
    from metrics.sql.series import SeriesQuery

    def first_times(board, queries) -> float:
        times = []
        for query in queries:
            started = time.perf_counter()
            readings(board, query)
            times.append(time.perf_counter() - started)
        return sorted(times)[len(times) // 2]

    lcns = ("North", "South East", "South West")
    whole = (dt.date(2019, 4, 1), dt.date(2025, 3, 1))
    engine = open_board(ROOT / "config")
    readings(engine, SeriesQuery(start=whole[0], end=whole[1]))  # the default view only
    results = {
        "period change": first_times(
            engine,
            [
                SeriesQuery(start=dt.date(2019 + i % 3, 4, 1), end=whole[1])
                for i in range(1, runs + 1)
            ],
        ),
        "neighbourhood change (first time, engine only)": first_times(
            engine, [SeriesQuery(start=whole[0], end=whole[1], lcn=lcn) for lcn in lcns]
        ),
    }
    site = open_board(ROOT / "config")
    warm(site)
    results["neighbourhood change (first time, board warmed as the site does)"] = first_times(
        site, [SeriesQuery(start=whole[0], end=whole[1], lcn=lcn) for lcn in lcns]
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 warm run, fewer filter changes")
    parser.add_argument(
        "--all-charts",
        action="store_true",
        help="ready only when every chart has drawn (charts in closed tabs never draw: slow)",
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    if not TOOL.exists():
        print(f"{TOOL} is absent: page timings skipped")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        hello = Path(scratch) / "hello.py"
        hello.write_text('import streamlit as st\n\nst.write("hello")\n')
        base = page_timing(hello, ["/"], runs, Path(scratch) / "hello.json", all_charts=False)
        app = page_timing(
            ROOT / "streamlit_app.py",
            [p for _, p in PAGES],
            runs,
            Path(scratch) / "app.json",
            all_charts=args.all_charts,
        )
    hello_entry = (base.get("paths") or [{}])[0]
    hello_cold = hello_entry.get("cold", {}).get("ready_s")
    hello_warm = (hello_entry.get("warm_ready_s") or {}).get("median")
    print(f"hello world: cold {hello_cold} s, warm {hello_warm} s")
    print(f"{'page':42}{'cold s':>8}{'x hello':>9}{'warm s':>8}{'x hello':>9}  problems")
    for (name, _), entry in zip(PAGES, app.get("paths", []), strict=False):
        cold = entry.get("cold", {}).get("ready_s")
        warm = (entry.get("warm_ready_s") or {}).get("median")
        counts = entry.get("counts", {})
        problems = {
            k: v
            for k, v in counts.items()
            if v and k not in {"console_errors", "http_errors", "failed_requests"}
        }
        print(
            f"{name:42}{cold or float('nan'):>8.2f}{(cold or 0) / (hello_cold or 1):>8.2f}x"
            f"{warm or float('nan'):>8.2f}{(warm or 0) / (hello_warm or 1):>8.2f}x  "
            f"{problems or ''}"
        )
    changes = browser_filter_change(1 if args.quick else 3)
    if changes:
        print(
            f"filter change in the browser (neighbourhood, click to redrawn): median "
            f"{sorted(changes)[len(changes) // 2]:.2f} s over {len(changes)}"
        )
    for name, seconds in server_filter_change(3).items():
        print(f"server-side Overview recompute, {name}: {seconds:.3f} s (target < 0.5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
