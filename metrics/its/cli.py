"""`python -m metrics its FILE ...`: interrupted time-series analysis of any CSV or Excel sheet.

Examples::

    python -m metrics its referrals.csv --date-col month --value-col referrals \\
        --intervention 2016-01 --model quasipoisson --seasonality fourier:2
    python -m metrics its acceptance.csv --date-col month --value-col accepted \\
        --denominator-col assessed --intervention 2016-01 --model binomial
    python -m metrics its california_prop99.csv --date-col Year --value-col PacksPerCapita \\
        --series-col State --intervention 1989 --model ols --hac-lags 1 --json

Files are read by metrics.files: CSV delimited by , ; tab or | (detected), or an Excel
sheet (--sheet); --header-row or --skip-rows for title lines above the header. With
--frequency auto (the default) the dates' spacing sets the frequency: year-only dates (1989)
or dates a whole number of years apart (1970-01-01, 1971-01-01) mean annual data, dates a
whole number of quarters apart quarterly data, anything else monthly. Bad input never
gives a traceback: one line on stderr that names the series and the problem, and exit code
2 (with --json and --series-col, failed series become {"series": ..., "error": ...}
objects when at least one series succeeds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import pandas as pd

from metrics.files import FileProblem, add_arguments, read_from_arguments
from metrics.its.design import detect_frequency
from metrics.its.errors import ITSInputError
from metrics.its.result import ITSResult
from metrics.its.spec import DEFAULT_MODEL, FAMILIES, InterventionSpec, ITSSpec, ShockSpec
from metrics.its.study import fit_its

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


class _UsageError(Exception):
    """A problem with the file or the options (reported as one line, exit code 2)."""


def register(subparsers: Any) -> None:
    """Add the `its` sub-command to the `python -m metrics` parser."""
    parser = subparsers.add_parser(
        "its",
        help="interrupted time-series analysis of a CSV file",
        description="Segmented regression (interrupted time series) for one or more series "
        "in a CSV file. Level change = the jump at the first point after the interruption; "
        "slope change = the change in trend after it.",
    )
    parser.add_argument("file", help="CSV file (, ; tab or | delimited) or Excel workbook")
    add_arguments(parser)
    parser.add_argument("--date-col", default="date", help="date column (YYYY-MM, dates or years)")
    parser.add_argument("--value-col", default="value", help="outcome column")
    parser.add_argument(
        "--intervention",
        action="append",
        required=True,
        metavar="[LABEL=]DATE",
        help="start of an intervention (repeatable), e.g. 2016-01, 1989 or 'Hub scale-up=2016-01'",
    )
    parser.add_argument(
        "--model",
        choices=FAMILIES,
        default=DEFAULT_MODEL,
        help=f"model family (default {DEFAULT_MODEL}: regression with AR(1) errors; binomial: "
        "a numerator out of --denominator-col)",
    )
    parser.add_argument("--offset-col", help="population column (log offset for count models)")
    parser.add_argument(
        "--denominator-col",
        help="denominator column for --model binomial (the value column is the numerator)",
    )
    parser.add_argument(
        "--per",
        type=float,
        default=100.0,
        help="binomial proportions are shown times this (default 100: percentages)",
    )
    parser.add_argument("--seasonality", default="none", help="none, month or fourier:K")
    parser.add_argument("--hac-lags", type=int, help="Newey-West lag for --model ols")
    parser.add_argument("--series-col", help="column that splits the file into several series")
    parser.add_argument(
        "--horizon",
        type=int,
        default=12,
        help="months after the intervention for the reported effect (default 12)",
    )
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.add_argument("--control-col", help="comparison series column (multiple-group design)")
    parser.add_argument(
        "--shock",
        action="append",
        default=[],
        metavar="START:END[:RECOVERY]",
        help="temporary shock term, e.g. 2020-04:2020-06:3 (repeatable)",
    )
    parser.add_argument(
        "--ramp", type=int, default=0, help="phase-in periods for every intervention"
    )
    parser.add_argument(
        "--exclude",
        type=int,
        default=0,
        help="transition periods left out of the fit after every intervention",
    )
    parser.add_argument("--no-slope", action="store_true", help="estimate level changes only")
    parser.add_argument(
        "--frequency",
        choices=("auto", "monthly", "quarterly", "annual"),
        default="auto",
        help="auto (default): from the dates' spacing (years apart: annual; quarters apart: "
        "quarterly; else monthly)",
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
    parser.add_argument("--no-placebo", action="store_true", help="skip the placebo check")
    parser.set_defaults(func=run)


def _read(args: argparse.Namespace) -> pd.DataFrame:
    """The file as text cells (blank cells missing), read by metrics.files."""
    if not os.path.isfile(args.file):
        raise _UsageError(f"file not found: {args.file}")
    try:
        return read_from_arguments(args.file, args).frame
    except FileProblem as exc:
        raise _UsageError(str(exc)) from None


def _intervention(
    text: str, index: int, args: argparse.Namespace, taken: set[str]
) -> InterventionSpec:
    label, _, date = text.rpartition("=")
    date = date.strip()
    if not date:
        raise _UsageError(f"--intervention '{text}' has no date")
    return InterventionSpec(
        id=date if date not in taken else f"{date}#{index}",
        start=date,
        label=label.strip() or f"intervention of {date}",
        slope=not args.no_slope,
        ramp_periods=args.ramp,
        exclude_periods=args.exclude,
    )


def _shock(text: str, index: int) -> ShockSpec:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise _UsageError(f"--shock '{text}': use START:END or START:END:RECOVERY")
    try:
        recovery = int(parts[2]) if len(parts) == 3 else 0
    except ValueError as exc:
        raise _UsageError(f"--shock '{text}': recovery must be a whole number") from exc
    return ShockSpec(
        id=f"shock_{index}",
        start=parts[0],
        end=parts[1],
        label=f"shock {parts[0]} to {parts[1]}",
        recovery_periods=recovery,
    )


def _build_spec(args: argparse.Namespace, frame: pd.DataFrame) -> ITSSpec:
    frequency = args.frequency
    if frequency == "auto":
        frequency = detect_frequency(frame[args.date_col])
    interventions: list[InterventionSpec] = []
    for index, text in enumerate(args.intervention, start=1):
        taken = {item.id for item in interventions}
        interventions.append(_intervention(text, index, args, taken))
    return ITSSpec(
        model=args.model,
        interventions=tuple(interventions),
        shocks=tuple(_shock(text, i + 1) for i, text in enumerate(args.shock)),
        seasonality=args.seasonality,
        hac_lags=args.hac_lags,
        offset_col=args.offset_col,
        control_col=args.control_col,
        denominator_col=args.denominator_col,
        per=args.per,
        horizon=args.horizon,
        alpha=args.alpha,
        frequency=frequency,
        placebo=not args.no_placebo,
    )


def _series(frame: pd.DataFrame, args: argparse.Namespace) -> list[tuple[str, pd.DataFrame]]:
    if not args.series_col:
        return [(str(args.value_col), frame)]
    return [
        (str(name), part) for name, part in frame.groupby(args.series_col, sort=False, dropna=False)
    ]


def run(args: argparse.Namespace) -> int:
    """Run the `its` sub-command; returns the exit code (0 ok, 2 bad input, 1 internal)."""
    try:
        frame = _read(args)
        needed = [args.date_col, args.value_col] + [
            c
            for c in (args.series_col, args.offset_col, args.control_col, args.denominator_col)
            if c
        ]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise _UsageError(
                f"column(s) not found in {args.file}: {', '.join(missing)} "
                f"(columns are: {', '.join(map(str, frame.columns))})"
            )
        spec = _build_spec(args, frame)
    except (_UsageError, ITSInputError) as exc:
        print(f"its: {exc}", file=sys.stderr)
        return EXIT_INPUT

    results: list[tuple[str, ITSResult | None, str]] = []
    internal_failure = False
    for name, part in _series(frame, args):
        try:
            result = fit_its(
                part, spec, date_col=args.date_col, value_col=args.value_col, series_name=name
            )
            results.append((name, result, ""))
        except ITSInputError as exc:
            message = str(exc) if str(exc).startswith("series '") else f"series '{name}': {exc}"
            results.append((name, None, message))
        except Exception as exc:  # a bug must still not print a traceback at analysts
            internal_failure = True
            results.append(
                (name, None, f"series '{name}': internal error ({type(exc).__name__}: {exc})")
            )

    failures = [message for _, result, message in results if result is None]
    for message in failures:
        print(f"its: {message}", file=sys.stderr)
    succeeded = len(failures) < len(results)

    try:
        _emit(args, results, succeeded)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return EXIT_OK

    if internal_failure and not succeeded:
        return EXIT_INTERNAL
    if not failures:
        return EXIT_OK
    if args.json and args.series_col and succeeded:
        return EXIT_OK  # the failures are in the JSON as error objects
    return EXIT_INPUT


def _emit(
    args: argparse.Namespace, results: list[tuple[str, ITSResult | None, str]], succeeded: bool
) -> None:
    if args.json:
        objects: list[dict[str, Any]] = [
            result.to_dict() if result is not None else {"series": name, "error": message}
            for name, result, message in results
        ]
        if succeeded:
            payload: Any = objects if args.series_col else objects[0]
            print(json.dumps(payload, indent=2))
    else:
        reports = [result.summary() for _, result, _ in results if result is not None]
        if reports:
            print("\n\n".join(reports))
