"""`python -m metrics show ID`: a metric's monthly series, as the engine computes it.

    python -m metrics show ID [CONFIG_DIR] [--breakdown COL] [--from YYYY-MM] [--to YYYY-MM]
        [--lcn NAME] [--csv | --excel FILE]

For analysts checking a definition against their own figures: every month with its value,
numerator, denominator, the number of values behind it (n), the rows the filter selects,
and whether the month is provisional. These are the exact figures (the command runs where
the data are); the site shows them under the disclosure policy of each reader.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from metrics.analyses.readings_cli import DEFAULT_CONFIG, _month


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show",
        help="a metric's monthly series (value, numerator, denominator, n, rows, status)",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("metric", help="metric id")
    parser.add_argument("config_dir", nargs="?", default=None, help="config folder")
    parser.add_argument("--breakdown", help="a breakdown column of the metric")
    parser.add_argument("--from", dest="start", type=_month, help="first month, YYYY-MM")
    parser.add_argument("--to", dest="end", type=_month, help="last month, YYYY-MM")
    parser.add_argument("--lcn", help="a neighbourhood named in board.yaml lcns")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="CSV on standard output")
    output.add_argument("--excel", type=Path, metavar="FILE", help="write an Excel workbook")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from metrics.analyses.reading import provisional_months
    from metrics.board import open_board
    from metrics.definitions.issues import did_you_mean
    from metrics.exports.tables import excel_bytes
    from metrics.sql.series import SeriesError, SeriesQuery

    config = Path(args.config_dir or os.environ.get("ALLIANCE_CONFIG_DIR") or DEFAULT_CONFIG)
    if not config.is_dir():
        print(f"config folder not found: {config}", file=sys.stderr)
        return 2
    board = open_board(config)
    metric = board.catalogue.metrics.get(args.metric)
    if metric is None:
        hint = did_you_mean(args.metric, list(board.catalogue.metrics))
        print(f"unknown metric '{args.metric}'" + (f" ({hint})" if hint else ""), file=sys.stderr)
        return 2
    if args.breakdown and args.breakdown not in metric.breakdowns:
        known = ", ".join(metric.breakdowns) or "none"
        print(
            f"'{args.breakdown}' is not a breakdown of '{metric.id}' (breakdowns: {known})",
            file=sys.stderr,
        )
        return 2
    if args.lcn and args.lcn not in board.catalogue.board.lcns:
        print(f"unknown neighbourhood '{args.lcn}'", file=sys.stderr)
        return 2
    query = SeriesQuery(breakdown=args.breakdown, start=args.start, end=args.end, lcn=args.lcn)
    try:
        result = board.series(metric.id, query)
    except SeriesError as exc:
        print(f"{metric.id}: {exc}", file=sys.stderr)
        return 1
    frame = result.frame.copy()
    pending = {m.isoformat() for m in provisional_months(board, metric)}
    frame["month"] = frame["month"].dt.strftime("%Y-%m")
    frame["status"] = ["provisional" if f"{m}-01" in pending else "final" for m in frame["month"]]
    if args.csv:
        frame.to_csv(sys.stdout, index=False)
        return 0
    if args.excel:
        args.excel.write_bytes(excel_bytes(frame, sheet=metric.id))
        print(f"wrote {args.excel} ({len(frame)} rows)")
        return 0
    print(f"{metric.id}: {metric.title} ({metric.unit})")
    for note in result.notes:
        print(f"  note: {note}")
    print(frame.to_string(index=False, na_rep=""))
    return 0
