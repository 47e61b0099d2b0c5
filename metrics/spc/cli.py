"""`python -m metrics spc FILE ...`: Making Data Count SPC for a series in a CSV or Excel file.

    python -m metrics spc referrals.csv --date-col month --value-col referrals \\
        --improvement decrease --target 120 --rebase 2019-04-01
    python -m metrics spc accepted.csv --date-col month --chart laney \\
        --numerator-col accepted --denominator-col referred          # Laney p' chart, in %

Files are read by metrics.files: CSV (delimiter detected) or an Excel sheet (--sheet), from
--header-row (or after --skip-rows) when title lines come first; messages name the file's
own line (or the sheet and row). A month with no row in a monthly series is added as a
missing value, with a warning, so no moving range spans it.

Prints a readable report, or with `--json` a JSON list with one object per facet. Bad
input (missing file, unknown column, unreadable date, duplicate date within a facet,
non-numeric value, a bad option value) prints one line on stderr naming the file, column
and line, and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from metrics.files import FileProblem, TextTable, add_arguments, complete_months, read_table
from metrics.spc.engine import (
    CHART_CHOICES,
    LANEY_CHART_KINDS,
    MIN_FIX_AFTER_N_POINTS,
    FacetSPC,
    SPCInputError,
    SPCOptions,
    SPCResult,
    compute_spc,
    parse_date_strings,
)
from metrics.spc.laney import LANEY_KINDS, LANEY_NAMES
from metrics.spc.rules import IMPROVEMENT_DIRECTIONS
from metrics.spc.wording import POINT_TYPE_WORDS, plain_number

EXIT_OK: Final = 0
EXIT_BAD_INPUT: Final = 2
MISSING_TOKENS: Final = frozenset({"", "na", "n/a", "nan", "null", "none"})
THOUSANDS: Final = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
MAX_LISTED_POINTS: Final = 20


class BadInput(Exception):
    """A problem with the command's input, reported as one line on stderr."""


def register(subparsers: Any) -> None:
    """Add the `spc` sub-command to the `python -m metrics` parser."""
    parser = subparsers.add_parser(
        "spc",
        help="Making Data Count SPC (XmR chart rules and icons) for a CSV series",
        description=(
            "Making Data Count SPC (XmR) for one metric series in a CSV file, with "
            "NHSRplotthedots v0.2.2 rules by default. Blank or NA values are missing."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="CSV file or Excel workbook (.xlsx)")
    add_arguments(parser)
    parser.add_argument("--date-col", required=True, metavar="COL", help="column of dates")
    parser.add_argument(
        "--value-col", metavar="COL", help="column of values (not with --chart laney)"
    )
    parser.add_argument("--facet-col", metavar="COL", help="column splitting the series")
    parser.add_argument(
        "--improvement",
        choices=IMPROVEMENT_DIRECTIONS,
        default="increase",
        help="which way is better (default: increase)",
    )
    parser.add_argument("--target", metavar="X", help="target value, for the assurance icon")
    parser.add_argument(
        "--rebase", nargs="+", metavar="DATE", default=[], help="recalculate limits from DATE"
    )
    parser.add_argument(
        "--fix-after",
        metavar="N",
        help=f"limits from the first N (>= {MIN_FIX_AFTER_N_POINTS}) points of each group",
    )
    parser.add_argument(
        "--no-screen", action="store_true", help="no moving-range screening (MDC Excel tool)"
    )
    parser.add_argument("--run-length", metavar="N", default="7", help="shift rule (default 7)")
    parser.add_argument("--trend-length", metavar="N", default="7", help="trend rule (default 7)")
    parser.add_argument("--no-two-in-three", action="store_true", help="turn off the 2-of-3 rule")
    parser.add_argument(
        "--chart",
        choices=CHART_CHOICES,
        default="auto",
        help=(
            "auto (default): XmR, but a run chart against the median for a rebase group where "
            "more than half of the moving ranges are 0; xmr: always XmR; run: always run "
            "charts; laney: Laney p' (or u') chart from --numerator-col over --denominator-col"
        ),
    )
    parser.add_argument(
        "--numerator-col", metavar="COL", help="with --chart laney: column of counts on top"
    )
    parser.add_argument(
        "--denominator-col", metavar="COL", help="with --chart laney: column of denominators"
    )
    parser.add_argument(
        "--laney-chart",
        choices=LANEY_KINDS,
        default="p",
        help="with --chart laney: p (a proportion; default) or u (a rate)",
    )
    parser.add_argument(
        "--per",
        metavar="X",
        help="with --chart laney: values are numerator / denominator x X "
        "(default 100, percent, for p; 1 for u)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, one object per facet")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit status (0, or 2 for bad input)."""
    try:
        options = _options(args)
        target = _number(args.target, "--target") if args.target is not None else None
        rebase = [_option_date(text) for text in args.rebase]
        laney = args.chart == "laney"
        _check_columns(args, laney)
        per = None
        if args.per is not None:
            per = _number(args.per, "--per")
            if per <= 0:
                raise BadInput(f"--per must be more than 0; got {args.per!r}")
        frame = load_series(
            args.file,
            args.date_col,
            None if laney else args.value_col,
            args.facet_col,
            numerator_col=args.numerator_col if laney else None,
            denominator_col=args.denominator_col if laney else None,
            sheet=args.sheet,
            header_row=args.header_row,
            skip_rows=args.skip_rows,
        )
        frame, gaps = complete_months(frame, args.date_col, args.facet_col)
        result = compute_spc(
            frame,
            date_col=args.date_col,
            value_col=args.value_col or "value",
            facet_col=args.facet_col,
            options=options,
            target=target,
            rebase=rebase,
            numerator_col=args.numerator_col if laney else None,
            denominator_col=args.denominator_col if laney else None,
            per=per,
        )
    except (BadInput, SPCInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if gaps:
        notes = tuple(_gap_warning(args.file, facet, months) for facet, months in gaps.items())
        result = dataclasses.replace(
            result,
            warnings=(*notes, *result.warnings),
            input_warnings=(*notes, *result.input_warnings),
        )
    measure = (
        f"{args.numerator_col!r} / {args.denominator_col!r}" if laney else repr(args.value_col)
    )
    if args.json:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(json.dumps(result.to_json_records(), indent=2, allow_nan=False))
    else:
        print(format_report(result, source=args.file, value_col=args.value_col, measure=measure))
    return EXIT_OK


def _check_columns(args: argparse.Namespace, laney: bool) -> None:
    """--value-col for XmR and run charts; --numerator-col and --denominator-col (only)
    for the Laney chart."""
    if laney:
        missing = [
            flag
            for flag, given in (
                ("--numerator-col", args.numerator_col),
                ("--denominator-col", args.denominator_col),
            )
            if given is None
        ]
        if missing:
            raise BadInput(f"--chart laney needs {' and '.join(missing)}")
        if args.value_col is not None:
            raise BadInput(
                "--chart laney charts --numerator-col over --denominator-col; leave out --value-col"
            )
        return
    if args.value_col is None:
        raise BadInput(
            "--value-col is required (or use --chart laney with --numerator-col "
            "and --denominator-col)"
        )
    for flag, given in (
        ("--numerator-col", args.numerator_col),
        ("--denominator-col", args.denominator_col),
        ("--per", args.per),
    ):
        if given is not None:
            raise BadInput(f"{flag} is only for --chart laney")


# --- arguments ------------------------------------------------------------------------------


def _whole_number(text: str, flag: str, least: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise BadInput(f"{flag} must be a whole number; got {text!r}") from None
    if number < least:
        raise BadInput(f"{flag} must be at least {least}; got {number}")
    return number


def _number(text: str, flag: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise BadInput(f"{flag} must be a number; got {text!r}") from None
    if not math.isfinite(number):
        raise BadInput(f"{flag} must be a finite number; got {text!r}")
    return number


def _option_date(text: str) -> pd.Timestamp:
    parsed = parse_date_strings(pd.Series([text], dtype="string"))
    if pd.isna(parsed.iloc[0]):
        raise BadInput(f"--rebase {text!r} is not a date (use YYYY-MM-DD)")
    return parsed.iloc[0]


def _options(args: argparse.Namespace) -> SPCOptions:
    fix_after = None
    if args.fix_after is not None:
        fix_after = _whole_number(args.fix_after, "--fix-after", MIN_FIX_AFTER_N_POINTS)
    return SPCOptions(
        improvement=args.improvement,
        screen_outliers=not args.no_screen,
        run_length=_whole_number(args.run_length, "--run-length", 2),
        trend_length=_whole_number(args.trend_length, "--trend-length", 3),
        two_in_three=not args.no_two_in_three,
        fix_after_n_points=fix_after,
        chart=args.chart,
        laney_chart=args.laney_chart,
    )


# --- reading the CSV --------------------------------------------------------------------------


def _gap_warning(file: str, facet: Any, months: list[pd.Timestamp]) -> str:
    shown = ", ".join(f"{m:%Y-%m}" for m in months[:5]) + (", ..." if len(months) > 5 else "")
    where = f" for facet {facet!r}" if facet is not None else ""
    return (
        f"{file}: no row{where} for {len(months)} month{'s' if len(months) > 1 else ''} "
        f"({shown}): charted as missing, so no moving range spans the gap"
    )


def load_series(
    path: str | Path,
    date_col: str,
    value_col: str | None,
    facet_col: str | None = None,
    *,
    numerator_col: str | None = None,
    denominator_col: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    skip_rows: int | None = None,
) -> pd.DataFrame:
    """Read and check a series from a CSV or an Excel sheet (metrics.files); returns a frame
    with parsed dates and float values (the value column, or for a Laney chart the
    numerator and denominator columns).

    Raises BadInput with a one-line message naming the file, column and line (or row).
    """
    try:
        table = read_table(
            path,
            sheet=sheet,
            header_row=header_row,
            skip_rows=skip_rows,
            date_columns=[date_col],  # Excel: a day number there is a date
        )
    except FileProblem as exc:
        raise BadInput(str(exc)) from None
    name = table.name
    frame = table.frame.fillna("")

    numeric = [
        (flag, column)
        for flag, column in (
            ("--value-col", value_col),
            ("--numerator-col", numerator_col),
            ("--denominator-col", denominator_col),
        )
        if column is not None
    ]
    columns = [("--date-col", date_col), *numeric, ("--facet-col", facet_col)]
    for flag, column in columns:
        if column is not None and column not in frame.columns:
            known = ", ".join(repr(c) for c in frame.columns)
            raise BadInput(f"{name}: no column {column!r} (from {flag}); columns are: {known}")
    if frame.empty:
        raise BadInput(f"{name}: no data rows under the header")

    date_text = frame[date_col].str.strip()
    blank_date = (date_text == "").to_numpy()
    if blank_date.any():
        i = int(np.flatnonzero(blank_date)[0])
        raise BadInput(f"{table.where(i)}: missing date in column {date_col!r}")
    dates = parse_date_strings(date_text)
    unreadable = dates.isna().to_numpy()
    if unreadable.any():
        i = int(np.flatnonzero(unreadable)[0])
        raise BadInput(
            f"{table.where(i)}: {date_text.iloc[i]!r} in column {date_col!r} is not a date "
            "(use YYYY-MM-DD)"
        )

    series = pd.DataFrame({date_col: dates})
    for _, column in numeric:
        series[column] = _numbers(frame, column, table)
    if facet_col is not None and facet_col not in (date_col, *(c for _, c in numeric)):
        facets = frame[facet_col].str.strip()
        blank_facet = (facets == "").to_numpy()
        if blank_facet.any():
            i = int(np.flatnonzero(blank_facet)[0])
            raise BadInput(f"{table.where(i)}: missing facet in column {facet_col!r}")
        series[facet_col] = facets
    keys = [date_col] if facet_col is None else [facet_col, date_col]
    repeated = series.duplicated(keys, keep=False).to_numpy()
    if repeated.any():
        rows = np.flatnonzero(repeated)
        key = tuple(series.iloc[rows[0]][k] for k in keys)
        same = [r for r in rows if tuple(series.iloc[r][k] for k in keys) == key]
        in_facet = f" in facet {key[0]!r}" if facet_col is not None else ""
        raise BadInput(
            f"{table.where(same[1])}: date {date_text.iloc[same[1]]!r} appears again"
            f"{in_facet} (first on {table.line_word} {table.lines[same[0]]}); give one value "
            "per date"
        )
    return series


def _numbers(frame: pd.DataFrame, column: str, table: TextTable) -> np.ndarray:
    """A column of numbers: blank/NA tokens missing, '1,234' read as 1234."""
    text = frame[column].str.strip()
    missing = text.str.lower().isin(MISSING_TOKENS).to_numpy()
    cleaned = text.where(~text.str.match(THOUSANDS), text.str.replace(",", ""))
    values = pd.to_numeric(cleaned.mask(missing), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    bad = (np.isnan(values) & ~missing) | np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise BadInput(f"{table.where(i)}: {text.iloc[i]!r} in column {column!r} is not a number")
    return values


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- the readable report ------------------------------------------------------------------------


def _date(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _facet_report(result: SPCResult, facet: FacetSPC, faceted: bool) -> list[str]:
    lines = ["", f"== {facet.facet} =="] if faceted else [""]
    if facet.latest_date is None:
        lines.append("No values.")
    else:
        kind = POINT_TYPE_WORDS.get(facet.latest_point_type or "", "")
        rule = f"; {facet.latest_rule}" if facet.latest_rule else ""
        lines.append(
            f"Latest value: {plain_number(facet.latest_value)} on {_date(facet.latest_date)} "
            f"({kind}{rule})"
        )
    laney = _laney_kind(facet.chart_kind)
    if laney:
        lines.append(
            f"Chart: {LANEY_NAMES[laney]} (limits adjusted for the size of each point's "
            "denominator and for variation between points). " + facet.chart_note
        )
    elif facet.chart_note:
        kind = "run chart" if facet.chart_kind == "run" else "XmR (latest group)"
        lines.append(f"Chart: {kind}. {facet.chart_note}")
    lines.append(f"Variation: {facet.variation_meaning} [{facet.variation_icon}]")
    if facet.assurance_type:
        lines.append(
            f"{facet.assurance_meaning} "
            f"[{facet.assurance_type}; target {plain_number(facet.target)}]"
        )
    elif facet.assurance_note:
        lines.append(f"Assurance: none. {facet.assurance_note}")
    else:
        lines.append("Assurance: none (no target, or no better direction)")

    if laney:
        lines.append(
            "Centre line and limits by rebase group (Laney: the limits vary by point; shown "
            "are those of each group's latest value):"
        )
    else:
        lines.append("Centre line and limits by rebase group (run chart: median, no limits):")
    header = (
        f"  {'group':<6}{'from':<12}{'to':<12}{'chart':<7}{'points':>7}{'centre':>12}"
        f"{'lower':>12}{'upper':>12}{'special cause':>15}"
    )
    lines.append(header)
    for group in facet.summary:
        flagged = group.n - group.common_cause
        run_chart = group.chart_kind == "run"
        trial = "  (trial limits)" if group.trial_limits and not run_chart else ""
        centre = group.centre if not math.isnan(group.centre) else group.mean
        centre_text, lower, upper = (plain_number(x) for x in (centre, group.lpl, group.upl))
        if run_chart:
            centre_text, lower, upper = f"{centre_text} (median)", "none", "none"
        kind = "run" if run_chart else "XmR"
        group_laney = _laney_kind(group.chart_kind)
        if group_laney:
            kind = f"{group_laney}'"
            if not math.isnan(group.sigma_z):
                trial += f"  (sigma z {plain_number(round(group.sigma_z, 2))})"
        lines.append(
            f"  {group.rebase_group:<6}{_date(group.start):<12}{_date(group.end):<12}{kind:<7}"
            f"{group.n:>7}{centre_text:>12}{lower:>12}{upper:>12}{flagged:>15}{trial}"
        )

    points = result.facet_points(facet.facet)
    flagged_points = points[points["special_cause_flag"].to_numpy(dtype=bool)]
    if len(flagged_points):
        lines.append(f"Special-cause points ({len(flagged_points)}):")
        if len(flagged_points) > MAX_LISTED_POINTS:
            earlier = len(flagged_points) - MAX_LISTED_POINTS
            lines.append(f"  ... {earlier} earlier, then the latest {MAX_LISTED_POINTS}:")
            flagged_points = flagged_points.iloc[-MAX_LISTED_POINTS:]
        for date, value, kind, rule in zip(
            flagged_points["date"],
            flagged_points["value"],
            flagged_points["point_type"],
            flagged_points["rule"],
            strict=True,
        ):
            lines.append(
                f"  {_date(date):<12}{plain_number(value):>12}  {POINT_TYPE_WORDS[kind]:<22}{rule}"
            )
    else:
        lines.append("Special-cause points: none")
    if facet.warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {warning}" for warning in facet.warnings)
    return lines


def _laney_kind(chart_kind: str) -> str | None:
    """ "p" or "u" for a Laney chart kind, None otherwise."""
    return next((k for k, v in LANEY_CHART_KINDS.items() if v == chart_kind), None)


def format_report(
    result: SPCResult,
    *,
    source: str = "",
    value_col: str | None = "value",
    measure: str | None = None,
) -> str:
    """Readable plain-text report of an SPC result: per facet, the latest point and its
    icons, whether it is read as a run chart and why (or, for a Laney chart, what sigma z
    says), centre line and limits per rebase group, special-cause points and warnings.
    `measure` names what is charted (default: the value column)."""
    faceted = len(result.facets) > 1 or (result.facets and result.facets[0].facet is not None)
    what = measure if measure is not None else repr(value_col)
    chart = (
        LANEY_NAMES[result.options.laney_chart]
        if result.options.chart == "laney"
        else "Making Data Count XmR"
    )
    lines = [
        f"SPC ({chart}) of {what}" + (f" in {source}" if source else ""),
        f"Options: {result.options.describe()}",
    ]
    if result.input_warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {warning}" for warning in result.input_warnings)
    for facet in result.facets:
        lines.extend(_facet_report(result, facet, bool(faceted)))
    return "\n".join(lines)
