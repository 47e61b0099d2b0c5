"""Metric SQL against the same aggregation written by hand, on a big referrals table.

    .venv/bin/python bench/aggregation_bench.py [--rows N] [--repeats K] [--quick]

What is measured:
  1. A referrals table of N rows (default 10,000,000) is written to Parquet in a temporary
     folder by ``sample_data/generate.py --big-referrals`` (``write_big_referrals``), in a
     subprocess so that generating it does not count towards this process's peak memory.
     The folder is deleted at the end (``--keep`` keeps it; ``--parquet`` reuses a file).
  2. The file is loaded the way the site loads data: ``open_warehouse`` with the referrals
     source from config/sources.yaml, its path pointed at the Parquet file, plus the
     population source the referral rate needs (from the sample data). Load time is shown
     against a plain ``CREATE TABLE ... AS SELECT * FROM read_parquet(...)`` of the same
     file, run in a subprocess.
  3. Every metric in config/metrics whose source is ``referrals`` is computed with
     ``compute_series`` (no breakdown, then each of its breakdowns) and, on the same loaded
     table, with hand-written DuckDB SQL in two forms: the headline one, a single GROUP BY
     month (and group) with the metric's conditions in FILTER clauses (every month with
     any referral appears, as in the engine), and for reference the same with the
     conditions in WHERE (scans less, but cannot show a month with none as zero). The
     numbers of both are checked against the engine's (the engine's calendar x groups grid
     may hold cells a hand query leaves out, and the other way round: those must be 0 or
     missing). Each query runs K times, interleaved, for median seconds per metric and in
     total. Headline: engine / hand FILTER (target <= 1.5 x). A hand query written for a
     different definition than the configuration's is reported and not compared.
  4. Memory: the process's peak resident set (``ru_maxrss``), and DuckDB's own memory
     (``duckdb_memory()``) after loading and sampled every 20 ms during one extra untimed
     pass over every query. Target: under 2 GB.

Figures depend on the machine; the script prints them and never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so `metrics` imports when run as bench/<script>.py

from metrics.definitions.models import MetricDef, SourceDef  # noqa: E402
from metrics.sql.series import SeriesQuery, compute_series  # noqa: E402
from metrics.sql.warehouse import Warehouse, open_warehouse  # noqa: E402
from metrics.validation import load_config  # noqa: E402

CONFIG_DIR = ROOT / "config"
GENERATOR = ROOT / "sample_data" / "generate.py"
DEFAULT_ROWS = 10_000_000
QUICK_ROWS = 1_000_000
RATIO_TARGET = 1.5
MEMORY_TARGET_MB = 2048.0

MONTH = "date_trunc('month', referral_date)::DATE"
GROUP = "coalesce({column}, 'Not recorded')"


@dataclass(frozen=True)
class HandQuery:
    """A metric written by hand, twice: with FILTER clauses and with a WHERE clause.

    `definition` is compared with the configuration (see `_definition`) so a hand query
    that no longer matches an edited metric is reported instead of silently compared.
    `value` aggregates every row of the table with the metric's conditions in FILTER
    clauses (every month with any referral appears, zero when none passes). `where` and
    `where_value` are the other obvious way: filter first, then aggregate (months in which
    no row passes are absent, so this form cannot show a true zero, but scans less).
    """

    definition: str
    value: str
    where: str
    where_value: str
    per_population: int | None = None  # rate: value * per / population of the same year


# One hand-written query per referral metric (config/metrics/*.yaml, source: referrals).
HAND: dict[str, HandQuery] = {
    "front_door_introductions": HandQuery(
        "count | pathway = 'front_door'",
        "count(*) FILTER (WHERE pathway = 'front_door')",
        "pathway = 'front_door'",
        "count(*)",
    ),
    "secondary_referrals": HandQuery(
        "count | pathway = 'secondary'",
        "count(*) FILTER (WHERE pathway = 'secondary')",
        "pathway = 'secondary'",
        "count(*)",
    ),
    "secondary_acceptance_rate": HandQuery(
        "ratio | pathway = 'secondary' | num accepted | den accepted IS NOT NULL | per 100",
        "100 * count(*) FILTER (WHERE pathway = 'secondary' AND accepted)"
        " / NULLIF(count(*) FILTER (WHERE pathway = 'secondary' AND accepted IS NOT NULL), 0)",
        "pathway = 'secondary'",
        "100 * count(*) FILTER (WHERE accepted) / NULLIF(count(accepted), 0)",
    ),
    "days_to_first_contact_median": HandQuery(
        "median | pathway = 'front_door' | value days_to_first_contact",
        "median(days_to_first_contact) FILTER (WHERE pathway = 'front_door')",
        "pathway = 'front_door'",
        "median(days_to_first_contact)",
    ),
    "days_to_first_contact_p90": HandQuery(
        "p90 | pathway = 'front_door' | value days_to_first_contact",
        "quantile_cont(days_to_first_contact, 0.9) FILTER (WHERE pathway = 'front_door')",
        "pathway = 'front_door'",
        "quantile_cont(days_to_first_contact, 0.9)",
    ),
    "seen_within_4_weeks": HandQuery(
        "ratio | pathway = 'secondary' AND accepted | num days_to_second_contact <= 28 | per 100",
        "100 * count(*) FILTER (WHERE pathway = 'secondary' AND accepted"
        " AND days_to_second_contact <= 28)"
        " / NULLIF(count(*) FILTER (WHERE pathway = 'secondary' AND accepted), 0)",
        "pathway = 'secondary' AND accepted",
        "100 * count(*) FILTER (WHERE days_to_second_contact <= 28) / count(*)",
    ),
    "crisis_referrals": HandQuery(
        "count | pathway = 'crisis' AND service IN ('Home Treatment', 'Crisis Outreach')",
        "count(*) FILTER (WHERE pathway = 'crisis'"
        " AND service IN ('Home Treatment', 'Crisis Outreach'))",
        "pathway = 'crisis' AND service IN ('Home Treatment', 'Crisis Outreach')",
        "count(*)",
    ),
    "liaison_referrals": HandQuery(
        "count | pathway = 'crisis' AND service = 'Liaison (A&E)'",
        "count(*) FILTER (WHERE pathway = 'crisis' AND service = 'Liaison (A&E)')",
        "pathway = 'crisis' AND service = 'Liaison (A&E)'",
        "count(*)",
    ),
    "secondary_referral_rate": HandQuery(
        "rate | pathway = 'secondary' | population population.population per 100000",
        "count(*) FILTER (WHERE pathway = 'secondary')",
        "pathway = 'secondary'",
        "count(*)",
        per_population=100_000,
    ),
}

VARIANTS = ("filter", "where")  # hand query forms, see HandQuery


# MetricDef fields a hand query either implements (the signature, or maturity_months as a
# parameter) or that do not change the numbers of a series.
HANDLED_FIELDS = {"measure", "filter", "value", "numerator", "denominator", "per", "rate"}
HANDLED_FIELDS |= {"since", "date", "maturity_months", "source"}
PRESENTATION_FIELDS = {"id", "code", "title", "description", "domain", "unit", "decimals"}
PRESENTATION_FIELDS |= {"better", "breakdowns", "target", "owner", "status", "caveats"}
PRESENTATION_FIELDS |= {"spc", "its"}


def _definition(metric: MetricDef) -> str:
    """The parts of a metric definition a hand query depends on, as one comparable string."""
    parts = [metric.measure, metric.filter or ""]
    if metric.value:
        parts.append(f"value {metric.value}")
    if metric.numerator:
        parts.append(f"num {metric.numerator.filter or ''}{metric.numerator.value or ''}")
    if metric.denominator:
        parts.append(f"den {metric.denominator.filter or ''}{metric.denominator.value or ''}")
    if metric.measure == "ratio":
        parts.append(f"per {metric.per:g}")
    if metric.rate:
        rate = metric.rate
        parts.append(f"population {rate.population}.{rate.value} per {rate.per}")
        if rate.filter:
            parts.append(f"population filter {rate.filter}")
    if metric.since or metric.date:
        parts.append(f"since {metric.since} date {metric.date}")
    return " | ".join(parts)


def _unknown_fields(metric: MetricDef) -> list[str]:
    """Fields set away from their default that no hand query knows about (newer engine
    features): the numbers are still compared, and a difference may come from these."""
    found = []
    for name, info in type(metric).model_fields.items():
        if name in HANDLED_FIELDS or name in PRESENTATION_FIELDS:
            continue
        value = getattr(metric, name)
        if value != info.get_default(call_default_factory=True):
            found.append(f"{name}={value!r}")
    return found


def _maturity(metric: MetricDef) -> int:
    """Latest months not reported (maturity_months, where the engine supports it)."""
    return int(getattr(metric, "maturity_months", 0) or 0)


def hand_sql(
    hand: HandQuery, breakdown: str | None, variant: str = "filter", maturity: int = 0
) -> str:
    """The hand-written query: one scan of src_referrals, GROUP BY month (and group).

    `maturity` > 0 leaves out the latest `maturity` months of the table (maturity_months).
    """
    keys = f"{MONTH} AS month"
    if breakdown:
        keys += f', {GROUP.format(column=breakdown)} AS "group"'
    if variant == "filter":
        value, where = hand.value, "referral_date IS NOT NULL"
    else:
        value, where = hand.where_value, f"referral_date IS NOT NULL AND {hand.where}"
    if maturity:
        where += (
            " AND referral_date < date_trunc('month', (SELECT max(referral_date) FROM "
            f"src_referrals)) - INTERVAL {maturity - 1} MONTH"
        )
    aggregate = f"SELECT {keys}, {value} AS value FROM src_referrals WHERE {where} GROUP BY ALL"
    if hand.per_population is None:
        return aggregate + (' ORDER BY month, "group"' if breakdown else " ORDER BY month")
    pop_keys = f'year, {breakdown} AS "group"' if breakdown else "year"
    group_select = ', m."group"' if breakdown else ""
    same_group = ' AND p."group" = m."group"' if breakdown else ""
    order = 'm.month, m."group"' if breakdown else "m.month"
    return (
        f"WITH m AS ({aggregate}), "
        f"p AS (SELECT {pop_keys}, sum(population) AS population FROM src_population "
        "GROUP BY ALL) "
        f"SELECT m.month{group_select}, "
        f"m.value * {hand.per_population} / NULLIF(p.population, 0) AS value "
        f"FROM m LEFT JOIN p ON p.year = year(m.month){same_group} ORDER BY {order}"
    )


@dataclass
class Case:
    """One metric (and optional breakdown): timings of the engine and the hand queries,
    and the number check of each hand form against the engine."""

    metric: MetricDef
    breakdown: str | None
    hand: HandQuery | None
    engine_s: list[float] = field(default_factory=list)
    hand_s: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    compared: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.metric.id + (f" by {self.breakdown}" if self.breakdown else "")

    @property
    def engine(self) -> float:
        return statistics.median(self.engine_s) if self.engine_s else math.nan

    def handwritten(self, variant: str = "filter") -> float:
        times = self.hand_s[variant]
        return statistics.median(times) if times else math.nan


def _same(a: float, b: float) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    return bool(np.isclose(a, b, rtol=1e-9, atol=1e-9))


def compare(
    engine: pd.DataFrame, hand: pd.DataFrame, breakdown: str | None
) -> tuple[int, list[str]]:
    """Cells compared and mismatches. A cell only one side has must be 0 or missing there
    (the engine fills its calendar x groups grid; the hand query lists what it scanned)."""
    keys = ["month", "group"] if breakdown else ["month"]
    left = engine[[*keys, "value"]].copy()
    right = hand[[*keys, "value"]].copy()
    left["month"] = pd.to_datetime(left["month"])
    right["month"] = pd.to_datetime(right["month"])
    right["value"] = pd.to_numeric(right["value"], errors="coerce").astype("float64")
    if breakdown:
        left["group"] = left["group"].astype(str)
        right["group"] = right["group"].astype(str)
    merged = left.merge(
        right, on=keys, how="outer", suffixes=("_engine", "_hand"), indicator="side"
    )
    problems: list[str] = []
    groups = merged["group"] if breakdown else [None] * len(merged)
    for month, group, side, a, b in zip(
        merged["month"],
        groups,
        merged["side"],
        merged["value_engine"],
        merged["value_hand"],
        strict=True,
    ):
        where = f"{month:%Y-%m}" + (f" {group}" if breakdown else "")
        if side == "both":
            if not _same(a, b):
                problems.append(f"{where}: engine {a!r}, hand {b!r}")
        else:
            only = a if side == "left_only" else b
            if not (pd.isna(only) or only == 0):
                who = "engine" if side == "left_only" else "hand"
                problems.append(f"{where}: only the {who} query has it, value {only!r}")
    return len(merged), problems


def _rss_mb() -> float:
    """Current resident set of this process, MB (Linux /proc)."""
    try:
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmRSS:"):
                return int(text.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def duckdb_memory_mb(warehouse: Warehouse) -> float:
    """Memory DuckDB says it holds now (all tags, temporary storage included), MB."""
    frame = warehouse.run_select(
        "SELECT sum(memory_usage_bytes + temporary_storage_bytes) AS b FROM duckdb_memory()"
    )
    return float(frame["b"].iloc[0] or 0) / 2**20


class MemorySampler:
    """Samples DuckDB's memory and the process RSS every `interval` s on its own cursor."""

    def __init__(self, warehouse: Warehouse, interval: float = 0.02) -> None:
        self.warehouse = warehouse
        self.interval = interval
        self.peak_duckdb_mb = 0.0
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_duckdb_mb = max(self.peak_duckdb_mb, duckdb_memory_mb(self.warehouse))
            self.peak_rss_mb = max(self.peak_rss_mb, _rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def generate(rows: int, path: Path) -> float:
    """Write the big referrals table in a subprocess; returns its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(GENERATOR), "--big-referrals", str(rows), "--out", str(path)],
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def plain_load(path: Path) -> tuple[float, float, float]:
    """A plain CREATE TABLE AS read_parquet of the file in a subprocess (its own memory):
    (seconds, the subprocess's peak RSS (VmHWM) in MB, DuckDB's memory after it in MB)."""
    code = (
        "import duckdb, resource, sys, time\n"
        "con = duckdb.connect(':memory:')\n"
        "con.execute('SET enable_progress_bar = false')\n"
        "t = time.perf_counter()\n"
        "con.execute('CREATE TABLE t AS SELECT * FROM read_parquet(?)', [sys.argv[1]])\n"
        "s = time.perf_counter() - t\n"
        "b = con.execute('SELECT sum(memory_usage_bytes) FROM duckdb_memory()').fetchone()[0]\n"
        # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child started from
        # this (big) process would report this process's peak.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(s, int(hwm.split()[1]) / 1024, b / 2**20)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True
    )
    seconds, peak, held = (float(v) for v in out.stdout.strip().splitlines()[-1].split())
    return seconds, peak, held


def _timed(call: Callable[[], pd.DataFrame]) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    frame = call()
    return time.perf_counter() - started, frame


def run_cases(
    cases: list[Case],
    warehouse: Warehouse,
    sources: dict[str, SourceDef],
    lcn_column: str,
    repeats: int,
) -> None:
    """First run of each case checks the numbers; then more runs, the three interleaved."""
    for case in cases:
        query = SeriesQuery(breakdown=case.breakdown)

        def engine(case: Case = case, query: SeriesQuery = query) -> pd.DataFrame:
            return compute_series(
                warehouse, case.metric, sources, query, lcn_column=lcn_column
            ).frame

        maturity = _maturity(case.metric)
        sql = (
            {v: hand_sql(case.hand, case.breakdown, v, maturity) for v in VARIANTS}
            if case.hand
            else {}
        )
        for run in range(repeats):
            seconds, engine_frame = _timed(engine)
            case.engine_s.append(seconds)
            for variant, text in sql.items():
                seconds, hand_frame = _timed(lambda text=text: warehouse.run_select(text))
                case.hand_s[variant].append(seconds)
                if run == 0:
                    compared, problems = compare(engine_frame, hand_frame, case.breakdown)
                    case.compared = max(case.compared, compared)
                    case.mismatches += [f"[{variant}] {p}" for p in problems]
        print(
            f"  .. {case.label:<48} engine {case.engine * 1000:8.1f} ms  "
            + "  ".join(f"{v} {case.handwritten(v) * 1000:8.1f} ms" for v in VARIANTS),
            file=sys.stderr,
            flush=True,
        )


def print_table(title: str, cases: list[Case]) -> dict[str, float]:
    """Per-case medians and ratios; returns totals (engine, filter, where) over hand cases."""
    print(f"\n{title}")
    print(
        f"  {'metric':<46}{'engine ms':>10}{'FILTER ms':>10}{'eng/FILT':>9}"
        f"{'WHERE ms':>10}{'eng/WHERE':>10}  numbers match"
    )
    for case in cases:
        if not case.hand:
            print(f"  {case.label:<46}{case.engine * 1000:>10.1f}  (no hand query)")
            continue
        if case.mismatches:
            match = f"NO: {len(case.mismatches)} cells differ"
        else:
            match = f"yes ({case.compared} cells)"
        filt, where = case.handwritten("filter"), case.handwritten("where")
        print(
            f"  {case.label:<46}{case.engine * 1000:>10.1f}{filt * 1000:>10.1f}"
            f"{case.engine / filt:>8.2f}x{where * 1000:>10.1f}{case.engine / where:>9.2f}x  {match}"
        )
    timed = [c for c in cases if c.hand]
    totals = {
        "engine": sum(c.engine for c in timed),
        "filter": sum(c.handwritten("filter") for c in timed),
        "where": sum(c.handwritten("where") for c in timed),
    }
    label = f"total ({len(timed)} queries)"
    print(
        f"  {label:<46}{totals['engine'] * 1000:>10.1f}{totals['filter'] * 1000:>10.1f}"
        f"{_ratio(totals['engine'], totals['filter']):>8.2f}x{totals['where'] * 1000:>10.1f}"
        f"{_ratio(totals['engine'], totals['where']):>9.2f}x"
    )
    return totals


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help=f"default {DEFAULT_ROWS:,}")
    parser.add_argument("--repeats", type=int, default=None, help="runs per query (default 5)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows, 3 runs")
    parser.add_argument("--parquet", type=Path, help="reuse this file instead of generating")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--show-mismatches", type=int, default=5, help="examples per query")
    parser.add_argument(
        "--show-sql", metavar="METRIC", help="print the engine's and the hand SQL for METRIC"
    )
    parser.add_argument("--summary-json", type=Path, help="write the headline figures here")
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    repeats = args.repeats or (3 if args.quick else 5)

    workdir = Path(tempfile.mkdtemp(prefix="alliance_aggregation_"))
    try:
        if args.parquet:
            parquet = args.parquet.resolve()
            generation = "reused"
        else:
            parquet = workdir / "referrals_big.parquet"
            generation = f"{generate(rows, parquet):.1f} s in a subprocess"
        print(
            f"Big referrals table: {parquet} ({parquet.stat().st_size / 2**20:,.0f} MB Parquet, "
            f"generation {generation})"
        )
        return _bench(args, parquet, workdir, repeats)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(args: argparse.Namespace, parquet: Path, workdir: Path, repeats: int) -> int:
    loaded_config = load_config(CONFIG_DIR)
    catalogue = loaded_config.catalogue
    referrals = catalogue.sources["referrals"].model_copy(update={"path": str(parquet)})
    population_path = (catalogue.data_dir / catalogue.sources["population"].path).resolve()
    population = catalogue.sources["population"].model_copy(update={"path": str(population_path)})
    sources = {"referrals": referrals, "population": population}

    rss_before_load = _peak_rss_mb()
    started = time.perf_counter()
    warehouse = open_warehouse([referrals, population], workdir)
    load_s = time.perf_counter() - started
    rss_after_load, rss_now = _peak_rss_mb(), _rss_mb()
    duckdb_after_load = duckdb_memory_mb(warehouse)
    errors = [i for i in warehouse.issues if i.is_error]
    if errors or "referrals" not in warehouse.loaded:
        for issue in errors[:10]:
            print(f"  load error: {issue.format_text()}")
        print("the referrals table did not load; nothing to time")
        return 1
    table_rows = warehouse.loaded["referrals"].rows
    plain_s, plain_peak, plain_held = plain_load(parquet)
    print(
        f"Loaded {table_rows:,} rows the site's way (open_warehouse: checks, typed table) in "
        f"{load_s:.2f} s = {load_s / plain_s:.1f} x a plain CREATE TABLE AS read_parquet "
        f"({plain_s:.2f} s, in a subprocess)"
    )

    metrics = [m for m in catalogue.metrics.values() if m.source == "referrals"]
    usable: dict[str, HandQuery] = {}
    for metric in metrics:
        hand = HAND.get(metric.id)
        if hand is None:
            print(f"  NO hand query for {metric.id} ({_definition(metric)}): engine timed only")
        elif hand.definition != _definition(metric):
            print(
                f"  STALE hand query for {metric.id}, not compared: written for "
                f"'{hand.definition}', the configuration now says '{_definition(metric)}'"
            )
        else:
            usable[metric.id] = hand
            unknown = _unknown_fields(metric)
            if unknown:
                print(
                    f"  note: {metric.id} sets {', '.join(unknown)}, which the hand query does "
                    "not implement; compared anyway"
                )
            if _maturity(metric):
                print(
                    f"  note: {metric.id} has maturity_months={_maturity(metric)}: the hand "
                    "queries leave out the same latest months"
                )
    plain = [Case(m, None, usable.get(m.id)) for m in metrics]
    broken_down = [Case(m, b, usable.get(m.id)) for m in metrics for b in m.breakdowns]
    print(
        f"{len(metrics)} referral metrics, {len(broken_down)} metric x breakdown queries; "
        f"{repeats} runs each of the engine (compute_series), the hand query with FILTER "
        "clauses and the hand query with WHERE, interleaved; medians below"
    )
    lcn_column = catalogue.board.lcn_column
    if args.show_sql in usable:
        metric = catalogue.metrics[args.show_sql]
        for breakdown in (None, *metric.breakdowns[:1]):
            query = SeriesQuery(breakdown=breakdown)
            engine_sql = compute_series(
                warehouse, metric, sources, query, lcn_column=lcn_column
            ).sql  # exactly what the engine ran (compile_series_sql's output)
            print(f"\n-- engine SQL, {metric.id}, breakdown {breakdown}:\n{engine_sql}")
            for variant in VARIANTS:
                text = hand_sql(usable[metric.id], breakdown, variant, _maturity(metric))
                print(f"-- hand SQL ({variant}):\n{text}")
    run_cases(plain, warehouse, sources, lcn_column, repeats)
    run_cases(broken_down, warehouse, sources, lcn_column, repeats)

    t_plain = print_table("No breakdown", plain)
    t_broken = print_table("With breakdowns", broken_down)
    total = {k: t_plain[k] + t_broken[k] for k in t_plain}
    overall = _ratio(total["engine"], total["filter"])
    n_queries = len(plain) + len(broken_down)
    print(
        f"\nAll {n_queries} queries: engine {total['engine']:.3f} s, hand FILTER "
        f"{total['filter']:.3f} s, hand WHERE {total['where']:.3f} s; engine/hand FILTER "
        f"{overall:.2f} x (target <= {RATIO_TARGET:g} x), engine/hand WHERE "
        f"{_ratio(total['engine'], total['where']):.2f} x"
    )

    mismatched = [c for c in plain + broken_down if c.mismatches]
    if mismatched:
        print(f"\nNUMBERS DIFFER in {len(mismatched)} queries:")
        for case in mismatched:
            print(f"  {case.label}: {len(case.mismatches)} cells, e.g.")
            for text in case.mismatches[: args.show_mismatches]:
                print(f"    {text}")
    else:
        print("Numbers: both hand queries agree with the engine on every query compared.")

    # Memory: an extra untimed pass with the sampler on (its queries would perturb timing).
    with MemorySampler(warehouse) as sampler:
        for case in plain + broken_down:
            compute_series(
                warehouse,
                case.metric,
                sources,
                SeriesQuery(breakdown=case.breakdown),
                lcn_column=lcn_column,
            )
            if case.hand:
                for variant in VARIANTS:
                    warehouse.run_select(
                        hand_sql(case.hand, case.breakdown, variant, _maturity(case.metric))
                    )
    peak = _peak_rss_mb()
    budget = MEMORY_TARGET_MB
    print(
        f"\nMemory: peak RSS (ru_maxrss) {peak:,.0f} MB = {peak / budget:.2f} x the "
        f"{budget / 1024:g} GB budget; after imports {rss_before_load:,.0f} MB, peak by the end "
        f"of loading {rss_after_load:,.0f} MB (RSS then {rss_now:,.0f} MB)"
    )
    print(
        f"  DuckDB holds {duckdb_after_load:,.0f} MB after loading; peak sampled while every "
        f"query ran {sampler.peak_duckdb_mb:,.0f} MB (process RSS {sampler.peak_rss_mb:,.0f} MB)"
    )
    print(
        f"  plain CREATE TABLE AS read_parquet, in its own process: peak RSS {plain_peak:,.0f} "
        f"MB, DuckDB holds {plain_held:,.0f} MB (site load / plain: peak "
        f"{_ratio(rss_after_load, plain_peak):.2f} x, "
        f"held {_ratio(duckdb_after_load, plain_held):.2f} x)"
    )

    if args.summary_json:
        headline: list[dict[str, Any]] = [
            {
                "figure": f"engine / hand FILTER SQL, {n_queries} queries, {table_rows:,} rows",
                "value": round(total["engine"], 3),
                "unit": "s",
                "ratio": round(overall, 2),
                "against": "hand GROUP BY with FILTER (same run)",
                "target": f"<= {RATIO_TARGET:g}",
            },
            {
                "figure": "engine / hand WHERE SQL, same queries",
                "value": round(total["engine"], 3),
                "unit": "s",
                "ratio": round(_ratio(total["engine"], total["where"]), 2),
                "against": "hand GROUP BY with WHERE (same run)",
                "target": "",
            },
            {
                "figure": "peak RSS / 2 GB",
                "value": round(peak),
                "unit": "MB",
                "ratio": round(peak / budget, 2),
                "against": "2 GB budget",
                "target": "<= 1",
            },
            {
                "figure": "queries whose numbers differ, engine vs hand",
                "value": len(mismatched),
                "unit": "",
                "ratio": None,
                "against": "",
                "target": "0",
            },
        ]
        args.summary_json.write_text(json.dumps({"bench": "aggregation", "headline": headline}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
