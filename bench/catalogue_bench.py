"""Whole-catalogue timing on the sample data: open the board, then every metric's series.

    .venv/bin/python bench/catalogue_bench.py [--repeats N] [--quick]

What is measured, on the bundled configuration (config/) and sample data (sample_data/):

  (a) ``open_board``: validate the configuration, load every source into DuckDB and run the
      data checks (which compute every metric once). "first" is the first call in this
      process (cold: nothing opened yet); "median" is over the repeats. Its parts are
      timed too: ``load_config`` (stages 1-3), ``open_warehouse`` and ``check_data``.
  (b) every metric's series with no breakdown (``Board.series(id)``) on a fresh ``Board``
      built from the opened catalogue and warehouse, so the board's memo is empty;
  (c) every metric x every one of its breakdowns, on a fresh ``Board`` likewise;
  (d) ``Board.summaries`` of every metric over the board's default period, on a fresh
      ``Board``: the figures behind the Overview's tables (its SPC readings not included).

Baselines, measured in the same run:
  * for (a): ``open_warehouse`` alone, i.e. just loading and checking the source files;
  * for (b), (c) and (d): one trivial DuckDB query, ``SELECT count(*) FROM src_referrals``,
    run through ``Warehouse.query`` (the same cursor and DataFrame path the metric SQL
    takes) as many times as the step runs metric queries.

Budget: the whole catalogue, (a) + (b) + (c) from cold, under 2 s. Figures depend on the
machine; the script prints them and never asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so `metrics` imports when run as bench/<script>.py

from metrics.board import Board, open_board  # noqa: E402
from metrics.sql.data_checks import check_data  # noqa: E402
from metrics.sql.series import SeriesError, SeriesQuery  # noqa: E402
from metrics.sql.warehouse import Warehouse, open_warehouse  # noqa: E402
from metrics.validation import load_config  # noqa: E402

CONFIG_DIR = ROOT / "config"
CATALOGUE_BUDGET_S = 2.0
TRIVIAL_SQL = "SELECT count(*) FROM src_referrals"


@dataclass
class Timing:
    """First call and the median over all calls (first included), in seconds."""

    first: float
    median: float
    runs: int


def _time(call: Callable[[], object], repeats: int) -> Timing:
    """Call `call` `repeats` times; the first call is reported on its own as the cold one."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return Timing(first=times[0], median=statistics.median(times), runs=len(times))


def _fresh_board(board: Board) -> Board:
    """A new Board over the same catalogue and loaded warehouse: its series memo is empty."""
    return Board(board.catalogue, board.warehouse, board.issues)


def _series_or_none(board: Board, metric_id: str, query: SeriesQuery) -> None:
    """One series; an unavailable metric still costs its attempt (validation reports it)."""
    with contextlib.suppress(SeriesError):
        board.series(metric_id, query)


def _all_series(board: Board) -> None:
    """Every metric's series with no breakdown, on a fresh board."""
    fresh = _fresh_board(board)
    for metric_id in board.catalogue.metrics:
        _series_or_none(fresh, metric_id, SeriesQuery())


def _all_breakdowns(board: Board) -> None:
    """Every metric x every one of its breakdowns, on a fresh board."""
    fresh = _fresh_board(board)
    for metric in board.catalogue.metrics.values():
        for breakdown in metric.breakdowns:
            _series_or_none(fresh, metric.id, SeriesQuery(breakdown=breakdown))


def _overview(board: Board) -> None:
    """Summaries of every metric over the board's default period, on a fresh board."""
    layout = board.catalogue.board
    query = SeriesQuery(start=layout.default_from, end=layout.default_to)
    _fresh_board(board).summaries(list(board.catalogue.metrics), query)


def _trivial(warehouse: Warehouse, times: int) -> None:
    for _ in range(times):
        warehouse.run_select(TRIVIAL_SQL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=None, help="runs per step (default 7)")
    parser.add_argument("--quick", action="store_true", help="fewer runs (3)")
    parser.add_argument("--summary-json", type=Path, help="write the headline figures here")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)

    # (a) cold first: nothing has been opened in this process yet.
    latest: dict[str, Board] = {}  # only the last board is kept alive
    open_t = _time(lambda: latest.update(board=open_board(CONFIG_DIR)), repeats)
    board = latest["board"]
    catalogue = board.catalogue
    errors = board.errors
    loaded = board.warehouse.loaded
    rows = sum(source.rows for source in loaded.values())

    config_t = _time(lambda: load_config(CONFIG_DIR), repeats)
    sources = list(catalogue.sources.values())
    warehouse_t = _time(lambda: open_warehouse(sources, catalogue.data_dir), repeats)
    checks_t = _time(lambda: check_data(catalogue, board.warehouse), repeats)

    n_series = len(catalogue.metrics)
    n_breakdowns = sum(len(m.breakdowns) for m in catalogue.metrics.values())
    series_t = _time(lambda: _all_series(board), repeats)
    breakdown_t = _time(lambda: _all_breakdowns(board), repeats)
    overview_t = _time(lambda: _overview(board), repeats)
    trivial_b = _time(lambda: _trivial(board.warehouse, n_series), repeats)
    trivial_c = _time(lambda: _trivial(board.warehouse, n_breakdowns), repeats)

    print("Catalogue on the sample data")
    print(
        f"  {n_series} metrics, {n_breakdowns} metric x breakdown series, "
        f"{len(loaded)} sources loaded ({rows:,} rows), {len(errors)} validation errors; "
        f"{repeats} runs per step"
    )
    if errors:
        for issue in errors[:5]:
            print(f"  error: {issue.format_text()}")
    print(f"  {'step':<46}{'first s':>8}{'median s':>9}  {'baseline, median s':<30}{'ratio':>7}")

    def line(name: str, timing: Timing, base_name: str = "", base: Timing | None = None) -> None:
        text = f"  {name:<46}{timing.first:>8.3f}{timing.median:>9.3f}"
        if base is not None:
            ratio = timing.median / base.median if base.median else float("nan")
            text += f"  {f'{base_name} {base.median:.3f}':<30}{ratio:>6.1f}x"
        print(text)

    trivial = "x trivial query"
    line("(a) open_board: validate + load + checks", open_t, "open_warehouse", warehouse_t)
    line("      load_config (parse, schema, references)", config_t)
    line("      open_warehouse (load + check the files)", warehouse_t)
    line("      check_data (computes every metric once)", checks_t)
    line(f"(b) {n_series} series, no breakdown", series_t, f"{n_series} {trivial}", trivial_b)
    line(
        f"(c) {n_breakdowns} metric x breakdown series",
        breakdown_t,
        f"{n_breakdowns} {trivial}",
        trivial_c,
    )
    line(
        f"(d) {n_series} summaries, default period",
        overview_t,
        f"{n_series} {trivial}",
        trivial_b,
    )
    per_query_ms = 1000 * (series_t.median + breakdown_t.median) / (n_series + n_breakdowns)
    trivial_ms = 1000 * trivial_b.median / n_series
    print(f"  per metric query {per_query_ms:.2f} ms median; trivial query {trivial_ms:.2f} ms")

    cold_total = open_t.first + series_t.first + breakdown_t.first
    median_total = open_t.median + series_t.median + breakdown_t.median
    compute_total = series_t.median + breakdown_t.median
    budget = CATALOGUE_BUDGET_S
    print(
        f"\n  whole catalogue (a)+(b)+(c): {cold_total:.3f} s from cold "
        f"({cold_total / budget:.2f} x the {budget:g} s budget); "
        f"{median_total:.3f} s median ({median_total / budget:.2f} x)"
    )
    print(
        f"  series only (b)+(c): {compute_total:.3f} s median "
        f"({compute_total / budget:.2f} x the {budget:g} s budget)"
    )

    if args.summary_json:
        headline: list[dict[str, Any]] = [
            {
                "figure": "whole catalogue (a)+(b)+(c), cold",
                "value": round(cold_total, 3),
                "unit": "s",
                "ratio": round(cold_total / CATALOGUE_BUDGET_S, 2),
                "against": f"{CATALOGUE_BUDGET_S:g} s budget",
                "target": "<= 1",
            },
            {
                "figure": "open_board / open_warehouse",
                "value": round(open_t.median, 3),
                "unit": "s",
                "ratio": round(open_t.median / warehouse_t.median, 2),
                "against": "open_warehouse (same run)",
                "target": "",
            },
            {
                "figure": f"{n_series} series / trivial queries",
                "value": round(series_t.median, 3),
                "unit": "s",
                "ratio": round(series_t.median / trivial_b.median, 1),
                "against": f"{n_series} x {TRIVIAL_SQL}",
                "target": "",
            },
        ]
        args.summary_json.write_text(json.dumps({"bench": "catalogue", "headline": headline}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
