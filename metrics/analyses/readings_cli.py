"""`python -m metrics readings`: every metric's reading exactly as the site shows it.

    python -m metrics readings [CONFIG_DIR] [--from YYYY-MM] [--to YYYY-MM] [--lcn NAME]
        [--audience public|board] [--json]

The same `Reading` objects the pages, the board pack and the slides use, for the period,
neighbourhood and audience given (default: the board layout's default period, the whole
area, the board's own disclosure policy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config"


def _month(text: str) -> dt.date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month written YYYY-MM")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "readings",
        help="every metric's figure as the site shows it (value, period, status, icons)",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("config_dir", nargs="?", default=None, help="config folder")
    parser.add_argument("--from", dest="start", type=_month, help="first month, YYYY-MM")
    parser.add_argument("--to", dest="end", type=_month, help="last month, YYYY-MM")
    parser.add_argument("--lcn", help="a neighbourhood named in board.yaml lcns")
    parser.add_argument("--audience", choices=["board", "public"], default="board")
    parser.add_argument("--json", action="store_true", help="a JSON list, one per metric")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from metrics.analyses.reading import readings, span_label
    from metrics.board import open_board
    from metrics.sql.series import SeriesQuery

    config = Path(args.config_dir or os.environ.get("ALLIANCE_CONFIG_DIR") or DEFAULT_CONFIG)
    if not config.is_dir():
        print(f"config folder not found: {config}", file=sys.stderr)
        return 2
    board = open_board(config)
    layout = board.catalogue.board
    if args.lcn and args.lcn not in layout.lcns:
        known = ", ".join(layout.lcns) or "none"
        print(f"unknown neighbourhood '{args.lcn}' (board.yaml lcns: {known})", file=sys.stderr)
        return 2
    span = board.data_span()
    start = args.start or layout.default_from or (span[0] if span else None)
    end = args.end or layout.default_to or (span[1] if span else None)
    if start and end and start > end:
        print(f"--from {start:%Y-%m} is after --to {end:%Y-%m}", file=sys.stderr)
        return 2
    items = readings(board, SeriesQuery(start=start, end=end, lcn=args.lcn), args.audience)
    if args.json:
        print(json.dumps([r.to_json() for r in items], indent=2, default=str))
        return 0
    where = args.lcn or "whole area"
    print(f"Readings, {span_label(start, end)}, {where}, {args.audience} audience")
    for reading in items:
        change = (
            f"  {reading.change_display} {reading.change_period}" if reading.change_display else ""
        )
        print(f"  {reading.metric.id:32} {reading.headline}{change}")
    return 0
