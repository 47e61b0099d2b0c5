"""The whole catalogue on a big referrals table, on embedded DuckDB, PostgreSQL and Spark.

    .venv/bin/python bench/warehouse_bench.py [--quick] [--rows N ...] [--backends B ...]
        [--repeats K] [--summary-json FILE]

For each size (default 10,000,000 and 50,000,000 generated referral rows; --quick:
1,000,000), the referrals table is generated as Parquet the way bench/aggregation_bench.py
does (sample_data/generate.py --big-referrals, in a subprocess), the sample's other sources
are kept, and for each backend:

  1. loading, in its own process, as a deployment does: the embedded database by the reload
     worker (metrics.serving.load_in_worker); PostgreSQL (a throwaway cluster,
     tests/warehouse_support.py) and local Spark by ``python -m metrics warehouse load``;
  2. the site, in its own process: the board opened on that backend, then the whole
     catalogue computed (every metric with no breakdown and by each of its breakdowns, the
     money report, the data-quality report and every equity analysis), K times; its time,
     the number of queries, the rows that came back (in total and the most from any one
     query) and the process's peak resident memory (VmHWM, the site's own: the database
     server and Spark's JVM are other processes);
  3. the referral metrics (the ones that grow with the table) against the same queries
     written by hand for that backend (its own month truncation, percentile and FILTER
     spellings), same rows checked: time ratio engine / hand, target at most 1.3x.

Figures depend on the machine; nothing asserts on time. Backends that are not installed
(PostgreSQL's server, Java for Spark) are skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_ROWS = [10_000_000, 50_000_000]
QUICK_ROWS = [1_000_000]
BACKENDS = ("duckdb", "postgres", "spark")
RATIO_TARGET = 1.3
MEMORY_TARGET_MB = 1024.0

# The referral metrics written by hand, per backend: (value, where) with {m} the month and
# the table as {t}. Same definitions as bench/aggregation_bench.py's HAND "where" forms.
HAND: dict[str, tuple[str, str]] = {
    "front_door_introductions": ("count(*)", "pathway = 'front_door'"),
    "secondary_referrals": ("count(*)", "pathway = 'secondary'"),
    "secondary_acceptance_rate": (
        "100.0 * count(*) FILTER (WHERE accepted) / NULLIF(count(accepted), 0)",
        "pathway = 'secondary'",
    ),
    "days_to_first_contact_median": ("{median}", "pathway = 'front_door'"),
    "days_to_first_contact_p90": ("{p90}", "pathway = 'front_door'"),
    "seen_within_4_weeks": (
        "100.0 * count(*) FILTER (WHERE days_to_second_contact <= 28) / count(*)",
        "pathway = 'secondary' AND accepted",
    ),
    "crisis_referrals": (
        "count(*)",
        "pathway = 'crisis' AND service IN ('Home Treatment', 'Crisis Outreach')",
    ),
    "liaison_referrals": ("count(*)", "pathway = 'crisis' AND service = 'Liaison (A&E)'"),
    "secondary_referral_rate": ("count(*)", "pathway = 'secondary'"),
}
SPELLING = {
    "duckdb": {
        "month": "CAST(date_trunc('month', referral_date) AS DATE)",
        "median": "median(days_to_first_contact)",
        "p90": "quantile_cont(days_to_first_contact, 0.9)",
        "table": "src_referrals",
        "population": "src_population",
    },
    "postgres": {
        "month": "date_trunc('month', referral_date)::date",
        "median": "percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_first_contact)",
        "p90": "percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_first_contact)",
        "table": "alliance.src_referrals",
        "population": "alliance.src_population",
    },
    "spark": {
        "month": "trunc(referral_date, 'MM')",
        "median": "median(days_to_first_contact)",
        "p90": "percentile(days_to_first_contact, 0.9)",
        "table": "alliance.src_referrals",
        "population": "alliance.src_population",
    },
}


def hand_queries(backend: str, metric_id: str, breakdown: str | None) -> list[str]:
    spell = SPELLING[backend]
    value, where = HAND[metric_id]
    value = value.format(median=spell["median"], p90=spell["p90"])
    keys = spell["month"] + (f", coalesce({breakdown}, 'Not recorded')" if breakdown else "")
    positions = "1, 2" if breakdown else "1"
    queries = [
        f"SELECT {keys}, {value} AS value FROM {spell['table']} "
        f"WHERE referral_date IS NOT NULL AND {where} GROUP BY {positions}"
    ]
    if metric_id == "secondary_referral_rate":
        group = f", {breakdown}" if breakdown else ""
        queries.append(
            f"SELECT year{group}, sum(population) AS population FROM {spell['population']} "
            f"GROUP BY year{group}"
        )
    return queries


# --------------------------------------------------------------------------- the site


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def site(config: Path, backend: str, repeats: int) -> dict[str, object]:
    """The site process: open the board, compute the whole catalogue (timed), then the
    referral metrics against hand-written queries."""
    from metrics import serving
    from metrics.analyses import equity, money
    from metrics.analyses.data_quality import data_quality_report
    from metrics.board import open_board
    from metrics.sql.series import SeriesQuery, compute_series

    started = time.perf_counter()
    board = serving.load_in_worker(config) if backend == "duckdb" else open_board(config)
    open_seconds = time.perf_counter() - started
    failed = {k: board.warehouse.failure_reason(k) for k in board.warehouse.failed}
    counts = {"queries": 0, "rows": 0, "max_rows": 0}
    select = board.warehouse.select

    def counted(query, *, label):  # type: ignore[no-untyped-def]
        frame = select(query, label=label)
        counts["queries"] += 1
        counts["rows"] += len(frame)
        counts["max_rows"] = max(counts["max_rows"], len(frame))
        return frame

    board.warehouse.select = counted  # type: ignore[method-assign]
    catalogue = board.catalogue

    def whole_catalogue() -> None:
        from metrics.board import SharedMemo

        board._memo = SharedMemo()  # computed afresh each time
        for metric in catalogue.metrics.values():
            for breakdown in [None, *metric.breakdowns]:
                try:
                    compute_series(
                        board.warehouse,
                        metric,
                        catalogue.sources,
                        SeriesQuery(breakdown=breakdown),
                        lcn_column=catalogue.board.lcn_column,
                    )
                except Exception as exc:  # counted, shown
                    failed[f"{metric.id} {breakdown}"] = str(exc)
        money.money_report(board)
        data_quality_report(board)
        for metric in equity.equity_metrics(catalogue):
            for dimension in equity.metric_dimensions(metric):
                with contextlib.suppress(equity.EquityError):
                    equity.equity_rates(board, metric.id, dimension)

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        whole_catalogue()
        times.append(time.perf_counter() - t)
    per_run = {k: v // repeats for k, v in counts.items() if k != "max_rows"}
    per_run["max_rows"] = counts["max_rows"]

    # Engine against hand-written, on the metrics that grow with the table.
    engine_s = hand_s = 0.0
    mismatches: list[str] = []
    for metric_id in HAND:
        metric = catalogue.metrics.get(metric_id)
        if metric is None:
            continue
        for breakdown in [None, *metric.breakdowns]:
            best_engine = best_hand = float("inf")
            for _ in range(repeats):
                t = time.perf_counter()
                frame = compute_series(
                    board.warehouse,
                    metric,
                    catalogue.sources,
                    SeriesQuery(breakdown=breakdown),
                    lcn_column=catalogue.board.lcn_column,
                ).frame
                best_engine = min(best_engine, time.perf_counter() - t)
                t = time.perf_counter()
                hand = [
                    board.warehouse.run_select(q)
                    for q in hand_queries(backend, metric_id, breakdown)
                ]
                best_hand = min(best_hand, time.perf_counter() - t)
            engine_s += best_engine
            hand_s += best_hand
            # Same cells: each hand row is a month (and group) of the engine's calendar
            # (maturity_months leaves the engine's latest months out).
            if not metric.maturity_months and len(hand[0]) > len(frame):
                mismatches.append(f"{metric_id} {breakdown}: {len(hand[0])} vs {len(frame)}")
    return {
        "backend": board.warehouse.location,
        "open_s": open_seconds,
        "catalogue_s": min(times),
        "queries": per_run["queries"],
        "rows_back": per_run["rows"],
        "max_rows_per_query": per_run["max_rows"],
        "engine_s": engine_s,
        "hand_s": hand_s,
        "ratio": engine_s / hand_s if hand_s else float("nan"),
        "peak_mb": _peak_mb(),
        "failed": failed,
        "mismatches": mismatches,
    }


# --------------------------------------------------------------------------- orchestration


def _config_for(parquet: Path, folder: Path) -> Path:
    """The sample configuration with the referrals source pointed at the big table."""
    config = folder / "config"
    data = folder / "data"
    shutil.copytree(ROOT / "config", config)
    shutil.copytree(ROOT / "sample_data", data, ignore=shutil.ignore_patterns("referrals.csv"))
    (data / "referrals.parquet").symlink_to(parquet)
    sources = config / "sources.yaml"
    text = sources.read_text()
    text = text.replace("path: referrals.csv", "path: referrals.parquet", 1)
    text = text.replace("data_dir: ../sample_data", "data_dir: ../data", 1)
    sources.write_text(text)
    return config


def _run_site(config: Path, backend: str, env: dict[str, str], repeats: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--site", str(config), backend, str(repeats)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load(config: Path, url: str, env: dict[str, str], grant: str | None = None) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "metrics", "warehouse", "load", str(config), "--url", url]
    if grant:
        command += ["--grant-to", grant]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.strip()[-500:])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000,000 rows")
    parser.add_argument("--rows", type=int, nargs="*", help="table sizes (rows)")
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--summary-json", type=Path)
    parser.add_argument("--site", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.site:
        config, backend, repeats = args.site
        print(json.dumps(site(Path(config), backend, int(repeats)), default=str))
        return 0

    from bench.aggregation_bench import generate
    from tests import warehouse_support as support

    sizes = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    repeats = args.repeats or (1 if args.quick else 2)
    results: list[dict] = []
    cluster = None
    spark_dir = Path(tempfile.mkdtemp(prefix="alliance-bench-spark-"))
    try:
        if "postgres" in args.backends:
            try:
                cluster = support.start_postgres()
            except BaseException as exc:  # pytest.skip outside pytest: a BaseException
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        for rows in sizes:
            folder = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
            try:
                parquet = folder / "referrals.parquet"
                print(f"== {rows:,} referral rows: generating ...", file=sys.stderr, flush=True)
                generate(rows, parquet)
                config = _config_for(parquet, folder)
                for backend in args.backends:
                    env: dict[str, str] = {"ALLIANCE_QUERY_TIMEOUT_SECONDS": "3600"}
                    load_s = None
                    if backend == "postgres":
                        if cluster is None:
                            continue
                        load_s = _load(config, cluster.loader_url, {}, grant="alliance_site")
                        env |= {
                            "ALLIANCE_WAREHOUSE": cluster.site_url,
                            "PGPASSWORD": support.SITE_PASSWORD,
                        }
                    elif backend == "spark":
                        if shutil.which("java") is None:
                            print("Spark skipped: no Java runtime", file=sys.stderr)
                            continue
                        env |= {
                            "ALLIANCE_SPARK_WAREHOUSE_DIR": str(spark_dir),
                            "SPARK_LOCAL_IP": "127.0.0.1",
                        }
                        load_s = _load(config, "local[2]", env)
                        env["ALLIANCE_WAREHOUSE"] = "local[2]"
                    print(f"   {backend}: site ...", file=sys.stderr, flush=True)
                    result = _run_site(config, backend, env, repeats)
                    result.update({"rows": rows, "name": backend, "load_s": load_s})
                    results.append(result)
                    print(f"   {json.dumps(result, default=str)}", file=sys.stderr, flush=True)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(spark_dir, ignore_errors=True)
    _print(results)
    if args.summary_json:
        headline = []
        for r in results:
            if "error" in r:
                continue
            where = f"{r['name']}, {r['rows']:,} rows"
            headline += [
                {
                    "figure": f"catalogue on {where}",
                    "value": r["catalogue_s"],
                    "unit": "s",
                    "ratio": r["ratio"],
                    "target": f"<= {RATIO_TARGET}x",
                    "against": "hand-written queries (referral metrics)",
                },
                {
                    "figure": f"site peak memory, {where}",
                    "value": r["peak_mb"],
                    "unit": "MB",
                    "target": f"< {MEMORY_TARGET_MB:.0f} MB",
                },
            ]
        args.summary_json.write_text(
            json.dumps({"headline": headline, "results": results}, indent=2, default=str)
        )
    return 0


def _print(results: list[dict]) -> None:
    print()
    print(
        f"{'rows':>12} {'backend':<9} {'load s':>8} {'open s':>7} {'catalogue s':>12} "
        f"{'queries':>8} {'rows back':>10} {'max/query':>10} {'engine s':>9} {'hand s':>8} "
        f"{'ratio':>6} {'peak MB':>8}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['rows']:>12,} {r['name']:<9} error: {r['error']}")
            continue
        load = f"{r['load_s']:.1f}" if r.get("load_s") is not None else "worker"
        print(
            f"{r['rows']:>12,} {r['name']:<9} {load:>8} {r['open_s']:>7.1f} "
            f"{r['catalogue_s']:>12.2f} {r['queries']:>8} {r['rows_back']:>10,} "
            f"{r['max_rows_per_query']:>10,} {r['engine_s']:>9.2f} {r['hand_s']:>8.2f} "
            f"{r['ratio']:>5.2f}x {r['peak_mb']:>8.0f}"
        )
        if r.get("failed"):
            print(f"{'':>12} failed: {r['failed']}")
        if r.get("mismatches"):
            print(f"{'':>12} row mismatches: {r['mismatches']}")
    print(
        f"\nTargets: ratio <= {RATIO_TARGET}x of the hand-written query on each backend; the "
        f"site's peak memory flat as rows grow and under {MEMORY_TARGET_MB:.0f} MB. Rows back "
        "are bounded by months x groups, whatever the table's size."
    )


if __name__ == "__main__":
    sys.exit(main())
