"""Tables from CSV and Excel files as analysts get them, with the file's own line numbers.

Published extracts rarely start with the header: a title, a "Source: ..." note and a blank
line come first, and Excel sheets hold several tables. `read_table` reads a CSV or an
Excel sheet from its header row (`header_row`, counted as the file or Excel shows it) or
after `skip_rows` lines, as text cells, and keeps each row's line (CSV) or row (Excel),
so every later message can name the file, the sheet and the row a reader will find::

    from metrics.files import FileProblem, read_table

    try:
        table = read_table("ae.xlsx", sheet="Provider", header_row=4)
    except FileProblem as exc:            # one line: file, sheet, row and what to do
        print(f"error: {exc}")
    table.frame                           # every cell as text (None when blank)
    table.where(0)                        # "ae.xlsx sheet 'Provider' row 5"

Reading rules:

- CSV is decoded as UTF-8 (a byte-order mark is dropped); anything else is refused with
  the line of the first byte that is not UTF-8 (save as "CSV UTF-8"). The delimiter is
  whichever of , ; tab | the header line holds most. Line endings of any kind.
- Blank lines (CSV) and empty rows (Excel) are never data and never counted; the lines
  above the header are skipped whatever they hold (titles, notes, a logo's row).
- The header is `header_row` exactly (a blank line there is an error), or the first
  non-blank line after `skip_rows` (default 0). Names are stripped; a blank name is
  "column N" (CSV, 1-based) or "column C" (Excel's letter); a name twice is an error.
  Excel columns with neither a name nor a value are dropped.
- A CSV row with more or fewer fields than the header is an error naming its line.
- Excel cells: dates as YYYY-MM-DD (a date-time keeps its time), whole numbers without
  ".0", other numbers as Python writes them, text as written. In `date_columns`, numbers
  are Excel serial day numbers (a date not formatted as one) when they fall in 1950-2099.

`add_arguments(parser)` adds ``--sheet``, ``--header-row`` and ``--skip-rows`` to a command
and `read_from_arguments(path, args)` reads with them (the `spc` command does;
`metrics.its.cli` can do the same). `month_of_header` reads a column header as a month
(for month-per-column sheets); `complete_months` finds the months missing from a monthly
series and adds them as blank rows (so nothing spans a gap unseen).
"""

from __future__ import annotations

import argparse
import calendar
import codecs
import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t", "|")
EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (it counts 1900 as a leap year)
SERIAL_RANGE = (
    (dt.date(1950, 1, 1) - EXCEL_EPOCH).days,
    (dt.date(2099, 12, 31) - EXCEL_EPOCH).days,
)
MAX_HEADER_ROW = 1000


class FileProblem(ValueError):
    """A file that cannot be read as a table: the message names the file (and sheet and
    line or row) and says what to do; `line` is the line or row (0 when none), `detail`
    the message without the place (for reports that give file and line in fields of their
    own), and `header` is true when the header is not where it was said to be (the fix is
    the header row or rows to skip: sources.yaml's header_row, a command's --header-row)."""

    def __init__(self, message: str, line: int = 0, detail: str = "", header: bool = False):
        super().__init__(message)
        self.line = line
        self.detail = detail or message
        self.header = header


def _fail(where: str, text: str, line: int = 0, *, header: bool = False) -> FileProblem:
    """A FileProblem 'WHERE: TEXT' whose detail is TEXT."""
    return FileProblem(f"{where}: {text}", line, text, header)


@dataclass(frozen=True)
class TextTable:
    """A table read from a file: text cells and each row's place in the file."""

    path: Path
    frame: pd.DataFrame  # every cell as str, or None when blank; columns in file order
    lines: np.ndarray  # each row's line (CSV) or row (Excel), 1-based as the file shows
    header_line: int
    kind: Literal["csv", "excel"]
    sheet: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def line_word(self) -> str:
        return "row" if self.kind == "excel" else "line"

    @property
    def name(self) -> str:
        """The file, and for Excel the sheet: how messages name where the table is."""
        return f"{self.path} sheet {self.sheet!r}" if self.kind == "excel" else str(self.path)

    def where(self, position: int) -> str:
        """'FILE line N' (or 'FILE sheet S row N') of the row at `position` in `frame`."""
        return f"{self.name} {self.line_word} {int(self.lines[position])}"


def is_excel(path: str | Path) -> bool:
    return Path(path).suffix.lower() in EXCEL_SUFFIXES


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    header_row: int | None = None,
    skip_rows: int | None = None,
    date_columns: Iterable[str] = (),
    display: str | None = None,
    keep_empty_rows: bool = False,
) -> TextTable:
    """Read a CSV or an Excel sheet (by the file's suffix) as text cells, from its header.

    `header_row`: the line (row) holding the column names, 1-based; `skip_rows`: lines
    (rows) to skip before looking for the header (give one of the two). `sheet`: an
    Excel sheet by name (default: the first). `display`: how messages name the file
    (default: the path as given). `keep_empty_rows`: keep Excel rows with every cell
    empty between the header and the last row (all None), for a caller that reports them.
    Raises FileProblem."""
    file = Path(path)
    name = display or str(path)
    if header_row is not None and skip_rows is not None:
        raise _fail(name, "give the header row or the rows to skip, not both")
    if header_row is not None and not 1 <= header_row <= MAX_HEADER_ROW:
        raise _fail(name, f"the header row must be 1 to {MAX_HEADER_ROW}; got {header_row}")
    if skip_rows is not None and not 0 <= skip_rows < MAX_HEADER_ROW:
        raise _fail(name, f"rows to skip must be 0 to {MAX_HEADER_ROW - 1}; got {skip_rows}")
    if not file.exists():
        raise _fail(name, "no such file")
    if not file.is_file():
        raise _fail(name, "not a file")
    if is_excel(file):
        return _read_excel(
            file, name, sheet, header_row, skip_rows or 0, set(date_columns), keep_empty_rows
        )
    if sheet is not None:
        raise _fail(name, "a sheet is named, but this is not an Excel file (.xlsx)")
    return _read_csv(file, name, header_row, skip_rows or 0)


# --------------------------------------------------------------------------- CSV


def _decode(file: Path, name: str) -> str:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(name, f"cannot read the file ({exc.strerror or exc})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail(
            f"{name} line {line}",
            "not UTF-8 text; save the CSV as UTF-8 (Excel: 'CSV UTF-8')",
            line,
        ) from None


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line where the record starts, fields) for every record of a CSV text."""
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=True,
    )
    records = []
    previous = 0  # reader.line_num after the previous record: this one starts next
    try:
        for record in reader:
            records.append((previous + 1, record))
            previous = reader.line_num
    except csv.Error as exc:
        line = reader.line_num
        raise FileProblem(f"cannot be read as CSV ({exc})", line) from None
    return records


def _blank(record: Sequence[object]) -> bool:
    return all(value is None or not str(value).strip() for value in record)


def _read_csv(file: Path, name: str, header_row: int | None, skip_rows: int) -> TextTable:
    text = _decode(file, name)
    if not text.strip():
        raise _fail(name, "the file is empty")
    lines = text.splitlines()
    first = (header_row - 1) if header_row is not None else skip_rows
    header_text = next((line for line in lines[first:] if line.strip()), "")
    counts = {d: header_text.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    delimiter = best if counts[best] else ","
    try:
        records = _records(text, delimiter)
    except FileProblem as exc:
        raise _fail(f"{name} line {exc.line}", str(exc), exc.line) from None
    header_line, header, rows = _split_at_header(records, name, header_row, skip_rows, "line")
    names = _column_names(header, name, header_line, "line", excel=False)
    data: list[list[str | None]] = []
    at: list[int] = []
    for line, record in rows:
        if _blank(record):
            continue  # a blank line (or one of only delimiters): never data
        if len(record) != len(names):
            kind = "more" if len(record) > len(names) else "fewer"
            raise _fail(
                f"{name} line {line}",
                f"{len(record)} fields, {kind} than the {len(names)} of "
                f"the header (line {header_line}); a value holding '{delimiter}' must be quoted",
                line,
            )
        data.append([value.strip() or None for value in record])
        at.append(line)
    frame = pd.DataFrame(data, columns=names, dtype=object)
    return TextTable(file, frame, np.asarray(at, dtype="int64"), header_line, "csv")


def _split_at_header(
    records: list[tuple[int, list[Any]]],
    name: str,
    header_row: int | None,
    skip_rows: int,
    word: str,
) -> tuple[int, list[Any], list[tuple[int, list[Any]]]]:
    """(header line, header cells, the records after it)."""
    last = records[-1][0] if records else 0
    if header_row is not None:
        for index, (line, record) in enumerate(records):
            if line == header_row:
                if _blank(record):
                    break
                return line, record, records[index + 1 :]
            if line > header_row:
                break
        if header_row > last:
            raise _fail(
                f"{name}",
                f"the header row is {word} {header_row}, but the file ends at {word} {last}",
                last,
                header=True,
            )
        raise _fail(
            f"{name} {word} {header_row}",
            (
                "the header row is blank; "
                if word == "row"
                else "the header row is blank (or inside a value in quotes); "
            )
            + f"give the {word} the column names are on",
            header_row,
            header=True,
        )
    for index, (line, record) in enumerate(records):
        if line > skip_rows and not _blank(record):
            return line, record, records[index + 1 :]
    if skip_rows and last:
        raise _fail(
            f"{name}",
            f"nothing but blank {word}s after the {skip_rows} skipped; the file ends "
            f"at {word} {last}",
            last,
            header=True,
        )
    raise _fail(name, "the file is empty")


def _excel_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_names(
    header: Sequence[Any], name: str, line: int, word: str, *, excel: bool
) -> list[str]:
    names = []
    for index, value in enumerate(header):
        text = _cell_text(value, False).lstrip("\ufeff") if value is not None else ""
        text = text.strip()
        if not text:
            text = f"column {_excel_letter(index) if excel else index + 1}"
        names.append(text)
    seen: dict[str, int] = {}
    for index, text in enumerate(names):
        if text in seen:
            where = (
                f"columns {_excel_letter(seen[text])} and {_excel_letter(index)}"
                if excel
                else f"columns {seen[text] + 1} and {index + 1}"
            )
            raise _fail(
                f"{name} {word} {line}",
                f"the header names '{text}' twice ({where}); give each column its own name",
                line,
            )
        seen[text] = index
    return names


# --------------------------------------------------------------------------- Excel


def _cell_text(value: Any, is_date: bool) -> str:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    serial = is_date and isinstance(value, int | float) and not isinstance(value, bool)
    if serial and SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
        return (EXCEL_EPOCH + dt.timedelta(days=math.floor(value))).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_excel(
    file: Path,
    name: str,
    sheet: str | None,
    header_row: int | None,
    skip_rows: int,
    date_columns: set[str],
    keep_empty_rows: bool = False,
) -> TextTable:
    import openpyxl  # imported here: only Excel files need it

    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, openpyxl and XML errors each have their own type
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(name, f"cannot be read as an Excel workbook ({first})") from None
    try:
        if sheet is None:
            worksheet = book.worksheets[0]
        elif sheet in book.sheetnames:
            worksheet = book[sheet]
        else:
            from metrics.definitions.issues import did_you_mean

            hint = did_you_mean(sheet, book.sheetnames)
            raise _fail(
                f"{name}",
                f"no sheet {sheet!r} (the sheets are: "
                f"{', '.join(repr(s) for s in book.sheetnames)})" + (f"; {hint}" if hint else ""),
            )
        label = f"{name} sheet {worksheet.title!r}"
        records = [
            (number, list(values))
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    if all(_blank(record) for _, record in records):
        raise _fail(label, "the sheet is empty")
    header_at, header, rows = _split_at_header(records, label, header_row, skip_rows, "row")
    while rows and _blank(rows[-1][1]):
        rows.pop()  # formatted but empty rows at the end of a sheet: not data
    width = max([len(header), *(len(r) for _, r in rows)]) if rows else len(header)
    header = [*header, *([None] * (width - len(header)))]
    keep = [
        i
        for i in range(width)
        if (header[i] is not None and str(header[i]).strip())
        or any(i < len(r) and r[i] is not None and str(r[i]).strip() for _, r in rows)
    ]
    names_all = _column_names(header, label, header_at, "row", excel=True)
    names = [names_all[i] for i in keep]
    data = []
    at = []
    for number, record in rows:
        if not keep_empty_rows and _blank(record):
            continue  # an empty row: never data
        cells = [record[i] if i < len(record) else None for i in keep]
        data.append(
            [
                None
                if value is None or (isinstance(value, str) and not value.strip())
                else _cell_text(value, column in date_columns)
                for value, column in zip(cells, names, strict=True)
            ]
        )
        at.append(number)
    frame = pd.DataFrame(data, columns=names, dtype=object)
    return TextTable(
        file, frame, np.asarray(at, dtype="int64"), header_at, "excel", sheet=worksheet.title
    )


# --------------------------------------------------------------------------- commands


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--sheet, --header-row and --skip-rows, for a command that reads a CSV or Excel file."""
    parser.add_argument("--sheet", metavar="NAME", help="Excel: the sheet (default: the first)")
    place = parser.add_mutually_exclusive_group()
    place.add_argument(
        "--header-row",
        metavar="N",
        type=_positive,
        help="the line (CSV) or row (Excel) holding the column names, as the file shows it; "
        "the lines above are skipped (titles, notes)",
    )
    place.add_argument(
        "--skip-rows",
        metavar="N",
        type=_not_negative,
        help="lines (rows) to skip before the header",
    )


def read_from_arguments(path: str | Path, args: argparse.Namespace) -> TextTable:
    """`read_table` with the --sheet, --header-row and --skip-rows of `add_arguments`."""
    return read_table(
        path,
        sheet=getattr(args, "sheet", None),
        header_row=getattr(args, "header_row", None),
        skip_rows=getattr(args, "skip_rows", None),
    )


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (line 1 is the first); got {number}")
    return number


def _not_negative(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number; got {text!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {number}")
    return number


# --------------------------------------------------------------------------- months

MONTH_NAMES = {
    **{calendar.month_abbr[m].lower(): m for m in range(1, 13)},
    **{calendar.month_name[m].lower(): m for m in range(1, 13)},
    "sept": 9,
}
_NAMED = re.compile(r"^([A-Za-z]+)[\s\-_/.']*(\d{2}|\d{4})$")  # Apr-16, April 2016, Apr'16
_NAMED_YEAR_FIRST = re.compile(r"^(\d{4})[\s\-_/.]*([A-Za-z]+)$")  # 2016 Apr, 2016-April
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[ T]00:00(?::00)?)?$")
_MONTH_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{4})$")  # 04/2016
_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")  # 01/04/2016


def month_of_header(text: str) -> dt.date | None:
    """A column header read as a month (its first day), or None when it is not one.

    Read: Apr-16, Apr 16, April 2016, Apr-2016, Sept 2016, 2016 Apr, 2016-04, 2016/04,
    04/2016, and dates on the first or last day of a month (2016-04-01, 2016-04-30,
    01/04/2016 day first; Excel date cells arrive as 2016-04-01). Two-digit years are
    2000 + yy. Anything else (Total, 2016/17, Q1, a mid-month date) is not a month."""
    value = text.strip()
    match = _NAMED.match(value)
    if match and match.group(1).lower() in MONTH_NAMES:
        year = int(match.group(2))
        return dt.date(year + 2000 if year < 100 else year, MONTH_NAMES[match.group(1).lower()], 1)
    match = _NAMED_YEAR_FIRST.match(value)
    if match and match.group(2).lower() in MONTH_NAMES:
        return dt.date(int(match.group(1)), MONTH_NAMES[match.group(2).lower()], 1)
    year = month = day = None
    if match := _ISO.match(value):
        year, month = int(match.group(1)), int(match.group(2))
        day = int(match.group(3)) if match.group(3) else None
    elif match := _MONTH_FIRST.match(value):
        year, month = int(match.group(2)), int(match.group(1))
    elif match := _DAY_FIRST.match(value):
        year, month, day = int(match.group(3)), int(match.group(2)), int(match.group(1))
    if year is None or month is None or not 1 <= month <= 12 or not 1900 <= year <= 2200:
        return None
    if day is not None and day not in (1, calendar.monthrange(year, month)[1]):
        return None  # a date within a month is a day, not a month
    return dt.date(year, month, 1)


def complete_months(
    frame: pd.DataFrame, date_col: str, facet_col: str | None = None
) -> tuple[pd.DataFrame, dict[Any, list[pd.Timestamp]]]:
    """For a monthly series (every date in its own calendar month, per facet), add a row
    with only the date (and facet) for each month missing between the first and the last,
    and return (frame, {facet: [missing months]}) (facet None without a facet column).

    A series that is not monthly (two dates in one month, or dates mostly more than a
    month apart: quarterly, yearly) is returned as it is, with no gaps. Added rows carry the
    month's first day, or its last when the series is dated by month ends."""
    dates = pd.to_datetime(frame[date_col])
    if dates.empty or dates.isna().any():
        return frame, {}
    groups = [(None, frame.index)] if facet_col is None else frame.groupby(facet_col).groups.items()
    month_ends = bool((dates == dates + pd.offsets.MonthEnd(0)).all()) and not bool(
        (dates.dt.day == 1).all()
    )
    added = []
    gaps: dict[Any, list[pd.Timestamp]] = {}
    for facet, index in groups:
        own = dates.loc[index]
        periods = own.dt.to_period("M")
        if periods.duplicated().any():
            return frame, {}  # not monthly: two dates in one month
        ordinals = np.sort(np.asarray([p.ordinal for p in periods]))
        steps = np.diff(ordinals)
        if steps.size and np.bincount(steps).argmax() != 1:
            return frame, {}  # quarterly, yearly...: most dates are not a month apart
        present = set(periods)
        span = pd.period_range(periods.min(), periods.max(), freq="M")
        missing = [p for p in span if p not in present]
        if not missing:
            continue
        stamps = [
            p.to_timestamp(how="end").normalize() if month_ends else p.to_timestamp()
            for p in missing
        ]
        gaps[facet] = stamps
        rows = pd.DataFrame({date_col: stamps})
        if facet_col is not None:
            rows[facet_col] = facet
        added.append(rows)
    if not added:
        return frame, {}
    extra = pd.concat(added, ignore_index=True)
    if not pd.api.types.is_datetime64_any_dtype(frame[date_col].dtype):
        extra[date_col] = extra[date_col].astype(frame[date_col].dtype)
    return pd.concat([frame, extra], ignore_index=True), gaps
