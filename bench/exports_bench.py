"""Export timing: HTML deck, PowerPoint and board-pack PDF for the full sample, both
audiences, as ratios against baselines measured in the same run.

    .venv/bin/python bench/exports_bench.py [--quick] [--summary-json FILE]

Baselines (same process, same board):

  * one SPC chart rendered to SVG by vl-convert (warm: the median of several renders of
    the Hub introductions chart; the unit every export is built from);
  * the content model alone (every figure of the deck, or of the board pack, computed and
    disclosure-controlled, no file written), on a freshly opened board.

Each export is timed cold, as the site's first click or the command line meets it: on a
freshly opened board (opening it, which validates and loads the data, is timed apart and
is not part of the export) with the chart cache emptied. "warm" is the same export again
on the same board, as when a second format reuses the computed figures (the site serves
a repeated click from its store without rebuilding at all).

Targets (issue 6): board-pack PDF under 20 s, HTML deck under 10 s. Figures depend on the
machine and its load; tests never assert on them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.board import Board, open_board  # noqa: E402
from metrics.exports import FORMATS, build_export  # noqa: E402
from metrics.exports import content as export_content  # noqa: E402
from metrics.exports import render as export_render  # noqa: E402
from metrics.exports.builder import Builder  # noqa: E402
from metrics.exports.deck import build_deck  # noqa: E402
from metrics.exports.pack import build_board_pack  # noqa: E402

TARGETS = {"pdf": 20.0, "html": 10.0}
AUDIENCES = ("public", "board")


def _seconds(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def _fresh_board() -> tuple[float, Board]:
    export_render._RENDERED.clear()  # cold: no chart rendered yet
    return _seconds(lambda: open_board(ROOT / "config"))


def _svg_baseline(board: Board, repeats: int) -> float:
    """Median seconds to render one SPC chart to SVG with vl-convert (warm)."""
    import vl_convert as vlc

    deck = export_content.deck_content(board, "public")
    chart = next(s.chart for s in deck.slides if s.chart is not None and s.chart.kind == "spc")
    spec = export_render.export_spec(chart, width=export_render.SVG_WIDTH)
    vlc.vegalite_to_svg(spec)  # the first render starts vl-convert's JavaScript engine
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        vlc.vegalite_to_svg(spec)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer baseline repeats")
    parser.add_argument("--summary-json", type=Path, help="write the headline figures here")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7

    open_seconds, board = _fresh_board()
    svg = _svg_baseline(board, repeats)
    print(f"Open the board (validate, load, check; not part of any export): {open_seconds:.2f} s")
    print(f"Baseline: one SPC chart to SVG with vl-convert (warm median): {svg * 1e3:.0f} ms")

    print("\nContent model alone (fresh board; figures computed and controlled, no file)")
    content: dict[str, float] = {}
    for audience in AUDIENCES:
        _, board = _fresh_board()
        deck_s, _ = _seconds(lambda b=board, a=audience: build_deck(Builder(b, a)))
        pack_s, _ = _seconds(
            lambda b=board, a=audience: build_board_pack(Builder(b, a), dt.date.today())
        )
        content[f"deck/{audience}"] = deck_s
        content[f"pack/{audience}"] = pack_s
        print(
            f"  {audience:<7} deck {deck_s:6.2f} s ({deck_s / svg:5.0f}x SVG)   "
            f"pack {pack_s:6.2f} s ({pack_s / svg:5.0f}x SVG)"
        )

    print("\nExports, cold on a fresh board (ratio = time / one SVG chart; target in brackets)")
    header = f"  {'export':<16}{'cold s':>8}{'x SVG':>8}{'x content':>11}{'warm s':>8}   target"
    print(header)
    results: dict[str, dict[str, float]] = {}
    for audience in AUDIENCES:
        for fmt in FORMATS:
            _, board = _fresh_board()
            cold, export = _seconds(lambda b=board, f=fmt, a=audience: build_export(b, f, a))
            warm, _ = _seconds(lambda b=board, f=fmt, a=audience: build_export(b, f, a))
            basis = content["pack/" + audience] if fmt == "pdf" else content["deck/" + audience]
            target = TARGETS.get(fmt)
            verdict = ""
            if target is not None:
                verdict = f"< {target:.0f} s {'met' if cold < target else 'MISSED'}"
            name = f"{fmt}/{audience}"
            print(
                f"  {name:<16}{cold:>8.2f}{cold / svg:>8.0f}{cold / basis:>11.1f}"
                f"{warm:>8.2f}   {verdict}"
            )
            results[name] = {
                "cold_seconds": round(cold, 3),
                "warm_seconds": round(warm, 3),
                "ratio_to_svg": round(cold / svg, 1),
                "ratio_to_content": round(cold / basis, 2),
                "bytes": len(export.data),
                "problems": len(export.problems),
            }
    summary = {
        "open_board_seconds": round(open_seconds, 3),
        "svg_baseline_seconds": round(svg, 4),
        "content_seconds": {k: round(v, 3) for k, v in content.items()},
        "exports": results,
        "targets_seconds": TARGETS,
    }
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
