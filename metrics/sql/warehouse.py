"""Embedded DuckDB holding every source, loaded once and checked on the way in.

Each source file (CSV, Excel or Parquet) is read as raw text or native columns, checked
against the columns declared in config/sources.yaml (missing column, unparseable date,
number out of range, unknown category, duplicate key, each reported with file and line),
then stored as a typed table ``src_<id>``. A source with errors is not loaded: metrics on
it are reported unavailable with the reason, and every other source keeps working.
After loading, the connection loses access to the file system, so SQL written in metric
definitions can read only the loaded tables.

Awkward files, and what happens to them (line numbers are the file's own, header = 1):

- **Byte-order mark** at the start of a CSV: read as UTF-8; header names never carry it.
  A file holding only a byte-order mark (or nothing) is an error: "the file is empty".
- **Not UTF-8** (Windows-1252 / Latin-1, as Excel's plain "CSV" saves "Café"): read as
  Windows-1252 (bytes it leaves undefined as Latin-1) with a *warning* naming the file and
  the line of the first non-UTF-8 byte. DuckDB's own ``encoding = 'latin-1'`` refuses the
  Windows-1252 punctuation (curly quotes, en dashes) that such files usually hold, so
  these files are decoded in Python. A UTF-16 file (with its byte-order mark) is read too.
- **Excel serial dates**: a number such as 45292 in a date column of an Excel file is
  converted (days since 1899-12-30, so 2024-01-01) when it falls in 1950 to 2099; other
  numbers are reported as not dates. In a CSV they are an *error* with the line, naming
  the date they would be, unless the column declares ``format: excel``, which reads day
  numbers (and YYYY-MM-DD) on purpose.
- **A fraction in an integer column** ("100.5"): an *error* naming the lines ("is not a
  whole number"); it is never rounded. "100.0" is 100.
- **Thousands separators** ("1,234", quoted, in an integer or number column): *accepted*
  with a warning naming the column and lines, because the reading is unambiguous when the
  digits are grouped in threes; anything else with a comma ("1,2", "1.234,5") is an error.
- **Blank lines** in a CSV: skipped, never counted as data and not reported. A row whose
  fields are all empty (",,,,") is skipped with a *warning* naming its lines.
- **Duplicate keys** (a month extracted twice): an *error* naming the key and its lines.
- **Renamed column**: an *error* "column 'x' is missing", with "the file has 'y':
  renamed?" when a column of the file looks like it.
- **Header only**: an *error* "the file has no data rows".
- **Line endings**: LF, CRLF, CR and any mix of them are read alike.
- **Title rows above the header** (a title, "Source: ..." notes, a blank line): set
  ``header_row: N`` (the line, or the spreadsheet's row, holding the names, as the file
  shows it) or ``skip_rows: N`` (lines to skip; the header is the next non-blank one).
  Every message keeps the file's own line numbers. A header row that is blank, inside a
  quoted value or past the end of the file is an *error* naming the line.
- **Column names not fit for SQL** ("Provider Code"): ``rename: {"Provider Code":
  provider_code}``; messages name both ("column 'provider_code' (the file's 'Provider
  Code')"). A rename of a column the file does not have is one *error* ("did you mean"),
  not a second one for the column it was to become.
- **One column per month** ("Apr-16", "May-16", ... or "2016-04"): ``unpivot: {id_columns:
  [provider_code], name_column: month, value_column: attendances}`` makes a row per id
  and month, the month read from the header (``metrics.files.month_of_header``); blank
  cells stay, as missing values. A header that is not a month ("Total") is an *error*
  naming it, unless listed under ``ignore_columns``; so are two headers of one month.
  A bad cell is reported with its line and column ("line 6 column 'May-16'").
- **Ragged rows** (more or fewer fields than the header, usually an unquoted comma): an
  *error* naming the lines; the other rows are still checked so every problem is listed.

Fast path: DuckDB reads a CSV directly when every record is one physical line (so a row's
line is its position plus 2). When it cannot (encoding, ragged rows, mixed line endings)
or the file has blank lines or line breaks inside quotes, the file is re-read in Python,
which records each row's line and writes a clean UTF-8 copy for DuckDB to load.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import math
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlglot import exp

from metrics.definitions.issues import Issue, closest, did_you_mean
from metrics.definitions.models import ColumnDef, ColumnType, SourceDef, UnpivotDef
from metrics.files import FileProblem, read_table
from metrics.sql.backends import (
    Backend,
    DuckDBBackend,
    QueryRefused,
)
from metrics.sql.compiler import covered_table_name, emit, table_name
from metrics.sql.loading import (
    CELL_COLUMN,
    HEADER_HINT,
    Problem,
    header_problem,
    plan_rename,
    plan_unpivot,
)

DEFAULT_QUERY_TIMEOUT = 10.0  # seconds; sources.yaml query_timeout_seconds overrides it

SQL_TYPES: dict[ColumnType, str] = {
    ColumnType.string: "VARCHAR",
    ColumnType.category: "VARCHAR",
    ColumnType.date: "DATE",
    ColumnType.integer: "BIGINT",
    ColumnType.number: "DOUBLE",
    ColumnType.boolean: "BOOLEAN",
}
EXPECTED_TEXT: dict[ColumnType, str] = {
    ColumnType.date: "a date written YYYY-MM-DD",
    ColumnType.integer: "a whole number",
    ColumnType.number: "a number",
    ColumnType.boolean: "true or false",
}
NUMERIC_TYPES = frozenset({ColumnType.integer, ColumnType.number})
MAX_EXAMPLES = 3  # rows quoted per problem; the message says how many more there are
LINE_COLUMN = "__alliance_line"  # a row's line in the file, when it is not position + 2
EXCEL_FORMAT = "excel"  # `format: excel` reads Excel serial day numbers
EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (it counts 1900 as a leap year)
# Serial numbers read as dates: 1950-01-01 to 2099-12-31. Narrow on purpose, so that a
# year (2024) or a count in a date column is reported rather than read as a 1905 date.
SERIAL_RANGE = (
    (dt.date(1950, 1, 1) - EXCEL_EPOCH).days,
    (dt.date(2099, 12, 31) - EXCEL_EPOCH).days,
)
THOUSANDS = r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?"  # 1,234 or -12,345,678.5
DELIMITERS = (",", ";", "\t", "|")
BOM = codecs.BOM_UTF8


def quote(identifier: str) -> str:
    """Quote a SQL identifier for DuckDB (column names come from configuration)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and not math.isfinite(value):
        return f"'{value}'::DOUBLE"  # nan and inf are not SQL literals
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@functools.cache
def date_format_problem(date_format: str) -> str:
    """Why DuckDB cannot use `date_format` (a strptime format or 'excel'), or "".

    Checked once per distinct format: an invalid specifier such as '%Q' makes DuckDB's
    strptime raise, even inside TRY_STRPTIME, so it must be caught before any data check.
    """
    if date_format == EXCEL_FORMAT:
        return ""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SELECT TRY_STRPTIME('2000-01-01', {sql_literal(date_format)})").fetchall()
    except duckdb.Error as exc:
        reason = _first_line(exc).split("Error: ", 1)[-1]
        return f"is not a date format DuckDB understands ({reason})"
    finally:
        con.close()
    return ""


@dataclass(frozen=True)
class LoadedSource:
    """A source that passed its checks and is queryable as `table`."""

    source: SourceDef
    table: str
    path: Path
    rows: int
    first_month: dt.date | None
    last_month: dt.date | None
    file_modified: dt.datetime
    load_seconds: float
    covered_months: tuple[dt.date, ...] = ()  # months with any row (record-level sources)


@dataclass
class Warehouse:
    """The sources of one catalogue as a backend can query them, and the issues found
    loading them.

    Queries are trees (metrics.sql.compiler) emitted in the backend's dialect; the backend
    runs exactly one SELECT per call, read-only, cancelled after `timeout` seconds
    (metrics.sql.backends). The embedded default is a DuckDB database loaded from the
    source files and reopened read-only; PostgreSQL and Spark are chosen by a URL.
    """

    backend: Backend = field(repr=False)
    loaded: dict[str, LoadedSource] = field(default_factory=dict, repr=False)
    failed: dict[str, list[Issue]] = field(default_factory=dict, repr=False)
    issues: list[Issue] = field(default_factory=list, repr=False)
    timeout: float = DEFAULT_QUERY_TIMEOUT
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _files: Path | None = field(default=None, repr=False)  # folder of the database file
    # Where each source's table is kept, by the name the compiler uses (src_<id>, cov_<id>);
    # None for the embedded database, where they are those names (metrics.sql.remote).
    tables: dict[str, exp.Table] | None = field(default=None, repr=False)
    location: str = "embedded DuckDB"  # the backend and where it is (never credentials)

    @property
    def dialect(self) -> str:
        return self.backend.dialect

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The embedded database's connection (DuckDB only; tests and loading)."""
        if not isinstance(self.backend, DuckDBBackend):
            raise AttributeError(f"{self.backend.name} has no DuckDB connection")
        return self.backend.connection

    def render(self, query: exp.Expression) -> str:
        """A query tree as this warehouse's SQL (readable, for analysts)."""
        return emit(query, self.dialect, tables=self.tables, pretty=True)

    def covered_table(self, source_id: str) -> str | None:
        """The table of months a record-level source covers, when the warehouse has one."""
        name = covered_table_name(source_id)
        return name if self.tables is None or name in self.tables else None

    def describe(self, query: exp.Expression, *, label: str) -> list[tuple[str, str]]:
        """The columns (name, kind) a query tree would return, read from the engine's own
        description (no rows are read)."""
        if not isinstance(query, exp.Query):
            raise QueryRefused(f"{label}: only queries can be run")
        sql = emit(query, self.dialect, tables=self.tables)
        return self.backend.describe(sql, label=label, timeout=self.timeout)

    def select(self, query: exp.Expression, *, label: str) -> pd.DataFrame:
        """Run a query tree built by metrics.sql; `label` names what it is for (a metric,
        an analysis) in any error."""
        if not isinstance(query, exp.Query):
            raise QueryRefused(f"{label}: only queries can be run")
        return self.run_select(emit(query, self.dialect, tables=self.tables), label=label)

    def run_select(self, sql: str, *, label: str = "query") -> pd.DataFrame:
        """Run `sql` if it is exactly one SELECT statement, cancelling it after the
        timeout (hand-written SQL in tests and benchmarks; pages run trees)."""
        return self.backend.run_select(sql, label=label, timeout=self.timeout)

    def failure_reason(self, source_id: str) -> str:
        problems = [i for i in self.failed.get(source_id, []) if i.is_error]
        if not problems:
            return f"source '{source_id}' is not loaded"
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        return f"source '{source_id}' could not be loaded: {first.format_text()}{more}"

    def close(self) -> None:
        """Close the connection and remove the database file."""
        try:
            self.backend.close()
        finally:
            if self._files is not None:
                shutil.rmtree(self._files, ignore_errors=True)


READ_ONLY_CONFIG = {
    "enable_external_access": False,
    "lock_configuration": True,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
DATABASE_FILE = "warehouse.duckdb"


def open_warehouse(
    sources: Iterable[SourceDef],
    data_dir: Path,
    *,
    display_root: Path | None = None,
    lock_down: bool = True,
    timeout: float = DEFAULT_QUERY_TIMEOUT,
    folder: Path | None = None,
    threads: int | None = None,
) -> Warehouse:
    """Load and check every source into a fresh DuckDB database, then reopen it read-only.

    The sources are loaded into a database file (in `folder`, or a private temporary
    folder); once every source is in, that file is reopened read-only with file access
    and settings locked, so SQL from definitions can read the loaded tables and nothing
    else (no DDL, no DML, no ATTACH, no files). `lock_down=False` keeps the loading
    connection (tests only).
    """
    # A folder the caller names is the caller's to remove (another process will read it).
    owned = folder is None
    folder = folder or Path(tempfile.mkdtemp(prefix="alliance-warehouse-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DATABASE_FILE
    # `threads` caps DuckDB's worker threads (a background reload leaves the server's cores
    # to the pages being served).
    limits = {"threads": threads} if threads else {}
    connection = duckdb.connect(str(path), config=limits)
    connection.execute("SET preserve_insertion_order = true")
    loaded: dict[str, LoadedSource] = {}
    failed: dict[str, list[Issue]] = {}
    all_issues: list[Issue] = []
    try:
        for source in sources:
            if source.table is not None:  # a warehouse table: nothing to load (sql.remote)
                failed[source.id] = [_needs_a_warehouse(source)]
                all_issues.extend(failed[source.id])
                continue
            started = time.perf_counter()
            loader = _SourceLoader(connection, source, data_dir, display_root)
            try:
                result, issues = loader.load(started)
            except (duckdb.Error, OSError, ValueError, csv.Error) as exc:
                # Last line of defence: one source the checks could not cope with must not
                # take the others (or the site) down. Specific problems are reported above.
                loader.error(f"could not be checked: {_first_line(exc)}")
                loader.discard()
                result, issues = None, loader.issues
            all_issues.extend(issues)
            if result is None:
                failed[source.id] = issues
            else:
                loaded[source.id] = result
        if lock_down:
            connection.execute("CHECKPOINT")
            connection.close()
            connection = duckdb.connect(
                str(path), read_only=True, config={**READ_ONLY_CONFIG, **limits}
            )
    except BaseException:
        connection.close()
        if owned:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return _owning(
        Warehouse(
            backend=DuckDBBackend(connection),
            loaded=loaded,
            failed=failed,
            issues=all_issues,
            timeout=timeout,
            _files=folder if owned else None,
        )
    )


def attach_warehouse(
    folder: Path,
    *,
    loaded: dict[str, LoadedSource],
    failed: dict[str, list[Issue]],
    issues: list[Issue],
    timeout: float = DEFAULT_QUERY_TIMEOUT,
) -> Warehouse:
    """Open, read-only, a warehouse another process loaded into `folder`; the folder is
    removed when the warehouse is."""
    connection = duckdb.connect(
        str(folder / DATABASE_FILE), read_only=True, config=READ_ONLY_CONFIG
    )
    return _owning(
        Warehouse(
            backend=DuckDBBackend(connection),
            loaded=loaded,
            failed=failed,
            issues=issues,
            timeout=timeout,
            _files=folder,
        )
    )


def empty_warehouse() -> Warehouse:
    """A warehouse with no sources (a board that could not be loaded)."""
    connection = duckdb.connect(":memory:", config=READ_ONLY_CONFIG)
    return Warehouse(backend=DuckDBBackend(connection))


def _needs_a_warehouse(source: SourceDef) -> Issue:
    return Issue(
        "error",
        "data",
        "sources.yaml",
        f"source '{source.id}' is the warehouse table {source.table}, but the board runs on "
        "the embedded database",
        field=f"sources[{source.id}].table",
        hint="set ALLIANCE_WAREHOUSE (or warehouse: url: in sources.yaml) to the warehouse "
        "that holds it; docs/warehouse.md",
    )


def _owning(warehouse: Warehouse) -> Warehouse:
    # The file goes when the warehouse does (a reload opens a new one).
    if warehouse._files is not None:
        weakref.finalize(warehouse, _remove, warehouse.backend, warehouse._files)
    return warehouse


def _remove(backend: Backend, folder: Path) -> None:
    try:
        backend.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _SourceLoader:
    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        source: SourceDef,
        data_dir: Path,
        display_root: Path | None,
    ) -> None:
        self.con = connection
        self.source = source
        try:
            self.path = (data_dir / source.path).resolve()
        except (OSError, ValueError):  # NUL byte or over-long name: load() reports it
            self.path = data_dir / source.path
        root = display_root or data_dir.parent
        try:
            self.display = str(self.path.relative_to(root.resolve()))
        except (OSError, ValueError):
            self.display = str(self.path)
        self.raw = f"raw_{source.id}"
        self._raw_types: dict[str, str] | None = None
        self.issues: list[Issue] = []
        # Line numbers as a reader of the file counts them (header = line 1 in CSV and Excel).
        self.line_offset = {"csv": 2, "excel": 2, "parquet": 1}[source.file_format]
        self.line_word = "row" if source.file_format == "parquet" else "line"
        self.has_line_column = False  # set when the CSV was re-read line by line
        self.raw_is_table = source.file_format != "parquet"  # a Parquet file is a view
        self.header_line = 1  # the file's line (row) holding the column names
        self.renamed: dict[str, str] = {}  # rename: name used -> the file's own name
        self._not_renamed: set[str] = set()  # rename targets whose file column is missing
        self.cell_column = ""  # unpivot: the column holding each cell's header in the file
        self._unpivoted: set[str] = set()  # unpivot: the name and value columns

    # -- helpers ---------------------------------------------------------------------
    def error(self, message: str, *, line: int = 0, column_name: str = "", hint: str = "") -> None:
        self.issues.append(
            Issue("error", "data", self.display, message, line=line, field=column_name, hint=hint)
        )

    def warning(
        self, message: str, *, line: int = 0, column_name: str = "", hint: str = ""
    ) -> None:
        self.issues.append(
            Issue("warning", "data", self.display, message, line=line, field=column_name, hint=hint)
        )

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def _has_errors(self) -> bool:
        return any(i.is_error for i in self.issues)

    def discard(self) -> None:
        """Drop whatever this loader created (after an error part-way through)."""
        for statement in (
            f"DROP VIEW IF EXISTS {self.raw}",
            f"DROP TABLE IF EXISTS {self.raw}",
            f"DROP TABLE IF EXISTS {table_name(self.source.id)}",
            f"DROP TABLE IF EXISTS {covered_table_name(self.source.id)}",
        ):
            try:
                self.con.execute(statement)
            except duckdb.Error:
                continue  # e.g. DROP VIEW on a table of that name

    # -- stages ----------------------------------------------------------------------
    def load(self, started: float) -> tuple[LoadedSource | None, list[Issue]]:
        problem = self._unreadable()
        if problem:
            hint = "check path and data_dir in sources.yaml" if "not found" in problem else ""
            self.error(problem, hint=hint)
            return None, self.issues
        try:
            self._read_raw()
        except FileProblem as exc:  # no header where it was said to be, a broken record...
            self.error(exc.detail, line=exc.line, hint=HEADER_HINT if exc.header else "")
            self._drop_raw()
            return None, self.issues
        except Exception as exc:  # DuckDB, openpyxl and pyarrow each raise their own types
            self.error(f"could not be read as {self.source.file_format}: {_first_line(exc)}")
            self._drop_raw()
            return None, self.issues
        header = [
            row[0]
            for row in self.fetch(f"SELECT name FROM pragma_table_info('{self.raw}')")
            if row[0] != LINE_COLUMN
        ]
        header, renamed = self._rename(header)
        if self.source.file_format != "parquet":
            self._skip_empty_rows(header)
        if self.source.unpivot is not None:
            # After a failed rename the unpivot is not tried: its complaints would repeat it.
            unpivoted = self._unpivot(self.source.unpivot, header) if renamed else None
            if unpivoted is None:
                self._drop_raw()
                return None, self.issues
            header = unpivoted
        row_count = self.fetch(f"SELECT count(*) FROM {self.raw}")[0][0]
        if row_count == 0:
            self.error("the file has no data rows")
        self._check_header(header)
        if row_count == 0 or not renamed or any(n not in header for n in self.source.columns):
            self._drop_raw()
            return None, self.issues
        # Ragged rows (already reported) do not stop these: every problem is listed at once.
        # The cell checks are collected and counted in one scan of the file; only a check
        # that finds something reads its example lines.
        self._pending: list[tuple[str, str, str, str, str]] = []
        for name, column in self.source.columns.items():
            self._check_column(name, column)
        self._run_pending_checks()
        if not self._has_errors():
            self._create_typed_table()
            self._check_key()
        self._drop_raw()
        if self._has_errors():
            self.con.execute(f"DROP TABLE IF EXISTS {table_name(self.source.id)}")
            return None, self.issues
        return self._summarise(row_count, started), self.issues

    def _unreadable(self) -> str:
        """Why the file cannot even be opened, or "" (an empty CSV counts as unreadable)."""
        try:
            if not self.path.exists():
                return f"file not found: {self.path}"
            size = self.path.stat().st_size
            head = b""
            if self.source.file_format == "csv" and size <= 64:
                head = self.path.read_bytes()
        except (OSError, ValueError) as exc:
            return f"cannot open the file: {exc}"
        if self.source.file_format == "csv" and not head.removeprefix(BOM).strip():
            if size == 0:
                return "the file is empty"
            if size <= 64:
                if head.startswith(BOM):
                    return "the file is empty (it holds only a byte-order mark)"
                return "the file is empty (it holds only blank lines)"
        return ""

    def _read_raw(self) -> None:
        self._raw_types = None  # the raw table is (re)created: its column types may change
        fmt = self.source.file_format
        path_literal = sql_literal(str(self.path))
        if fmt == "csv":
            self._read_csv()
        elif fmt == "parquet" and (self.source.rename or self.source.unpivot):
            # Kept as a table with each row's number: renamed and unpivoted rows still
            # name the file's row.
            self.con.execute(
                f"CREATE TEMP TABLE {self.raw} AS SELECT CAST(file_row_number + 1 AS BIGINT) "
                f"AS {quote(LINE_COLUMN)}, * EXCLUDE (file_row_number) FROM "
                f"read_parquet({path_literal}, file_row_number = true)"
            )
            self.raw_is_table = self.has_line_column = True
        elif fmt == "parquet":
            self.con.execute(
                f"CREATE VIEW {self.raw} AS SELECT * FROM read_parquet({path_literal})"
            )
        else:
            self._read_excel()

    def _read_excel(self) -> None:
        """A sheet as text cells with each row's number (metrics.files), from its header."""
        file_name = {used: own for own, used in self.source.rename.items()}
        dates = [
            file_name.get(n, n) for n, c in self.source.columns.items() if c.type == ColumnType.date
        ]
        table = read_table(
            self.path,
            sheet=self.source.sheet,
            header_row=self.source.header_row,
            skip_rows=self.source.skip_rows,
            date_columns=dates,
            display=self.display,
            keep_empty_rows=True,
        )
        self.header_line = table.header_line
        frame = table.frame
        if LINE_COLUMN in frame.columns:
            raise FileProblem(f"a column is named {LINE_COLUMN!r}, which the loader uses")
        frame.insert(0, LINE_COLUMN, table.lines)
        self.con.register(f"{self.raw}_df", frame)
        self.con.execute(
            f"CREATE TEMP TABLE {self.raw} AS SELECT CAST({quote(LINE_COLUMN)} AS BIGINT) AS "
            f"{quote(LINE_COLUMN)}, * EXCLUDE ({quote(LINE_COLUMN)}) FROM {self.raw}_df"
        )
        self.con.unregister(f"{self.raw}_df")
        self.has_line_column = True

    def _read_csv(self) -> None:
        """Every cell read as text, so each bad cell can be reported with its line number
        instead of DuckDB guessing a type or failing on the whole file."""
        delimiter = _sniff_delimiter(self.path, self._lines_before_header())
        if self._lines_before_header() or self.source.unpivot is not None:
            # Title lines above the header, or rows to unpivot: every row needs its line.
            self._read_csv_line_by_line(delimiter)
            return
        try:
            self.con.execute(
                f"CREATE TEMP TABLE {self.raw} AS SELECT * FROM "
                f"read_csv({sql_literal(str(self.path))}, {_csv_options(delimiter)})"
            )
            rows = self.fetch(f"SELECT count(*) FROM {self.raw}")[0][0]
            if _one_record_per_line(self.path, rows):
                return  # the fast path: a row's line is its position + 2
            self._drop_raw()
        except duckdb.Error:
            self._drop_raw()  # not UTF-8, ragged rows, mixed line endings: read it carefully
        self._read_csv_line_by_line(delimiter)

    def _read_csv_line_by_line(self, delimiter: str) -> None:
        encoding, first_bad_line = _detect_encoding(self.path)
        if first_bad_line:
            self.warning(
                "the file is not UTF-8 text: read as Windows-1252 (Latin-1) "
                f"(first non-UTF-8 character on line {first_bad_line})",
                line=first_bad_line,
                hint="save it as 'CSV UTF-8' to be sure every character reads as intended",
            )
        with tempfile.TemporaryDirectory(prefix="alliance-csv-") as folder:
            clean = Path(folder) / "clean.csv"
            header_line, ragged = _normalise_csv(
                self.path,
                clean,
                encoding,
                delimiter,
                header_row=self.source.header_row,
                skip_rows=self.source.skip_rows or 0,
            )
            self.header_line = header_line
            for kind, lines in ragged.items():
                shown = ", ".join(str(n) for n in lines[:MAX_EXAMPLES])
                more = f" and {len(lines) - MAX_EXAMPLES} more" if len(lines) > MAX_EXAMPLES else ""
                self.error(
                    f"{len(lines)} row(s) have {kind} fields than the header (line "
                    f"{header_line}) and were not read (lines {shown}{more})",
                    line=lines[0],
                    hint='a value holding the delimiter must be quoted, e.g. "1,234"'
                    if kind == "more"
                    else "a row was cut short or split across lines",
                )
            self.con.execute(
                f"CREATE TEMP TABLE {self.raw} AS SELECT CAST({quote(LINE_COLUMN)} AS BIGINT) AS "
                f"{quote(LINE_COLUMN)}, * EXCLUDE ({quote(LINE_COLUMN)}) FROM "
                f"read_csv({sql_literal(str(clean))}, {_csv_options(',')}, new_line = '\\n')"
            )
        self.has_line_column = True

    def _lines_before_header(self) -> int:
        """Lines (rows) sources.yaml says come before the header: header_row - 1, or
        skip_rows (blank lines after those are skipped too)."""
        if self.source.header_row is not None:
            return self.source.header_row - 1
        return self.source.skip_rows or 0

    def _drop_raw(self) -> None:
        kind = "TABLE" if self.raw_is_table else "VIEW"
        self.con.execute(f"DROP {kind} IF EXISTS {self.raw}")

    def _rename(self, header: list[str]) -> tuple[list[str], bool]:
        """sources.yaml rename: the file's column names to the names columns: uses.
        Returns the header after it, and whether every rename could be done."""
        if not self.source.rename:
            return header, True
        plan = plan_rename(self.source.rename, header, self.raw, self.header_line)
        self._report_problems(plan.problems)
        for statement in plan.statements:
            self.con.execute(statement.sql(dialect="duckdb"))
        self.renamed, self._not_renamed = plan.renamed, plan.missing
        self._raw_types = None
        return plan.header, not plan.problems

    def _unpivot(self, spec: UnpivotDef, header: list[str]) -> list[str] | None:
        """sources.yaml unpivot: month-per-column cells into rows, each keeping its line and
        the header of its column. None when it cannot be done (every reason reported)."""
        plan = plan_unpivot(
            spec,
            header,
            self.raw,
            header_line=self.header_line,
            line_word=self.line_word,
            line_column=LINE_COLUMN,
        )
        self._report_problems(plan.problems)
        if plan.query is None:
            return None
        replace = exp.Create(  # the raw table, unpivoted: one row per id and month
            this=exp.table_(exp.to_identifier(self.raw, quoted=True)),
            kind="TABLE",
            replace=True,
            expression=plan.query,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
        self.con.execute(replace.sql(dialect="duckdb"))
        self.raw_is_table = self.has_line_column = True
        self.cell_column = CELL_COLUMN
        self._unpivoted = {spec.name_column, spec.value_column}
        self._raw_types = None
        return plan.header

    def _report_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.error(
                problem.message, line=problem.line, column_name=problem.column, hint=problem.hint
            )

    def _label(self, name: str) -> str:
        """A column as messages name it: 'provider_code' (the file's 'Provider Code')."""
        own = self.renamed.get(name)
        return f"'{name}' (the file's '{own}')" if own else f"'{name}'"

    def _skip_empty_rows(self, header: list[str]) -> None:
        """Rows whose every field is blank (",,,,"): never data, so skipped with a warning."""
        if not header:
            return
        empty = " AND ".join(f"{self._cell(name)} IS NULL" for name in header)
        total, examples = self._examples(empty, header[0])
        if not total:
            return
        self.warning(
            f"{total} row(s) with every field empty were skipped "
            f"({self._where_text(examples, total)})",
            line=examples[0][0],
        )
        self.con.execute(f"DELETE FROM {self.raw} WHERE {empty}")

    def _check_header(self, header: list[str]) -> None:
        present = set(header)
        unused = [h for h in header if h not in self.source.columns]
        for name in self.source.columns:
            if name in present or name in self._not_renamed:
                continue  # a rename that found nothing is reported once, as a rename
            renamed = closest(name, unused)
            hint = f"the file has '{renamed}': renamed?" if renamed else ""
            self.error(
                f"column '{name}' is missing (the file has: {', '.join(header) or 'no columns'})",
                column_name=name,
                hint=hint,
            )

    def _raw_type(self, name: str) -> str:
        # Read once per source: every cell check asks, and each pragma is a query.
        if self._raw_types is None:
            self._raw_types = {
                str(n): str(t).upper()
                for n, t in self.fetch(f"SELECT name, type FROM pragma_table_info('{self.raw}')")
            }
        return self._raw_types.get(name, "VARCHAR")

    def _cell(self, name: str) -> str:
        """The raw cell as SQL, blanks read as missing."""
        if self._raw_type(name) == "VARCHAR":
            return f"NULLIF(trim({quote(name)}), '')"
        return quote(name)

    def _typed(self, name: str, column: ColumnDef) -> str:
        cell = self._cell(name)
        text = self._raw_type(name) == "VARCHAR"
        if column.type == ColumnType.date and column.format == EXCEL_FORMAT and text:
            return f"coalesce(TRY_CAST({cell} AS DATE), {_serial_date_sql(cell)})"
        if column.type == ColumnType.date and column.format and text:
            return f"TRY_STRPTIME({cell}, {sql_literal(column.format)})::DATE"
        if column.type == ColumnType.boolean and text:
            return f"TRY_CAST(lower({cell}) AS BOOLEAN)"
        if column.type in NUMERIC_TYPES and text:
            # "1,234": the separators go (reported as a warning by _check_column).
            cell = (
                f"CASE WHEN contains({cell}, ',') AND regexp_full_match({cell}, '{THOUSANDS}') "
                f"THEN replace({cell}, ',', '') ELSE {cell} END"
            )
        if column.type == ColumnType.integer:
            # TRY_CAST('100.5' AS BIGINT) is 101: a fraction is never rounded, it is
            # reported as not a whole number (100.0 is 100).
            number = f"TRY_CAST({cell} AS DOUBLE)"
            return f"CASE WHEN {number} = trunc({number}) THEN TRY_CAST({cell} AS BIGINT) END"
        return f"TRY_CAST({cell} AS {SQL_TYPES[column.type]})"

    def _rows_from(self) -> str:
        """The raw rows, with what _line() needs to number them."""
        if self.source.file_format == "parquet" and not self.has_line_column:
            return f"read_parquet({sql_literal(str(self.path))}, file_row_number = true)"
        return self.raw

    def _line(self) -> str:
        if self.has_line_column:
            return quote(LINE_COLUMN)
        if self.source.file_format == "parquet":
            return f"(file_row_number + {self.line_offset})"
        return f"(rowid + {self.line_offset})"

    def _examples(self, where: str, name: str) -> tuple[int, list[tuple[Any, ...]]]:
        """(how many, up to MAX_EXAMPLES (line, value[, the file's column])) of the rows
        meeting `where`. After an unpivot, a cell of the unpivoted columns names its
        column in the file; any other column counts each line once."""
        select_from = self._rows_from()
        per_cell = bool(self.cell_column) and name in self._unpivoted
        once = bool(self.cell_column) and not per_cell
        counted = f"count(DISTINCT {self._line()})" if once else "count(*)"
        total = self.fetch(f"SELECT {counted} FROM {select_from} WHERE {where}")[0][0]
        if not total:
            return 0, []
        extra = f", {quote(self.cell_column)}" if per_cell else ""
        rows = self.fetch(
            f"SELECT {'DISTINCT ' if once else ''}{self._line()} AS line, {quote(name)}{extra} "
            f"FROM {select_from} WHERE {where} ORDER BY line LIMIT {MAX_EXAMPLES}"
        )
        return int(total), [(int(r[0]), *r[1:]) for r in rows]

    def _where_text(self, examples: list[tuple[Any, ...]], total: int) -> str:
        if examples and len(examples[0]) > 2:  # unpivoted cells: line and column
            places = [f"{self.line_word} {e[0]} column '{e[2]}'" for e in examples]
            where = ", ".join(places)
        else:
            where = f"{self.line_word}s " + ", ".join(str(e[0]) for e in examples)
        more = f" and {total - len(examples)} more" if total > len(examples) else ""
        return where + more

    def _report(
        self, name: str, where: str, describe: str, hint: str = "", level: str = "error"
    ) -> None:
        """Queue a cell check (counted with the others in one scan by _run_pending_checks)."""
        self._pending.append((name, where, describe, hint, level))

    def _run_pending_checks(self) -> None:
        checks, self._pending = self._pending, []
        if not checks:
            return
        counts = self.fetch(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {where})" for _, where, *_ in checks)
            + f" FROM {self._rows_from()}"
        )[0]
        for (name, where, describe, hint, level), count in zip(checks, counts, strict=True):
            if count:
                self._report_now(name, where, describe, hint, level)

    def _report_now(
        self, name: str, where: str, describe: str, hint: str = "", level: str = "error"
    ) -> None:
        total, examples = self._examples(where, name)
        if not total:
            return
        first_line, first_value = examples[0][:2]
        where_text = self._where_text(examples, total)
        message = f"column {self._label(name)}: {describe.format(value=first_value)} ({where_text})"
        report = self.error if level == "error" else self.warning
        report(message, line=first_line, column_name=name, hint=hint)

    def _check_column(self, name: str, column: ColumnDef) -> None:
        if column.type == ColumnType.date and column.format:
            problem = date_format_problem(column.format)
            if problem:
                self.error(f"column '{name}': format '{column.format}' {problem}", column_name=name)
                return
        cell = self._cell(name)
        typed = self._typed(name, column)
        text = self._raw_type(name) == "VARCHAR"
        if column.type in EXPECTED_TEXT:
            hint = ""
            where = f"{cell} IS NOT NULL AND {typed} IS NULL"
            if column.type == ColumnType.date:
                hint = "write dates as YYYY-MM-DD, or set format: (e.g. '%d/%m/%Y') in sources.yaml"
                if not column.format and text:
                    serial = f"regexp_full_match({cell}, '[0-9]{{5}}(\\.[0-9]+)?')"
                    self._report_serial_dates(name, f"{where} AND {serial}")
                    where += f" AND NOT {serial}"
            if column.type == ColumnType.integer:
                hint = (
                    "whole numbers are never rounded: correct the value, or declare "
                    "type: number if the column holds fractions"
                )
            self._report(name, where, "'{value}' is not " + EXPECTED_TEXT[column.type], hint)
        if column.required or name == self.source.date_column:
            self._report(name, f"{cell} IS NULL", "a value is required but the cell is blank")
        if column.type in NUMERIC_TYPES and text:
            self._report(
                name,
                f"contains({cell}, ',') AND {typed} IS NOT NULL",
                "'{value}' has thousands separators: read as a number",
                "numbers are best written without separators (1234)",
                level="warning",
            )
        # min and max mean something for numbers only (the reference checks say so).
        for bound, op, word in (
            (column.min, "<", "below the minimum"),
            (column.max, ">", "above the maximum"),
        ):
            if bound is None or column.type not in NUMERIC_TYPES or not math.isfinite(bound):
                continue
            extra = " (a count cannot be negative)" if op == "<" and bound == 0 else ""
            self._report(name, f"{typed} {op} {bound!r}", f"'{{value}}' is {word} {bound:g}{extra}")
        if column.values:
            allowed = ", ".join(sql_literal(v) for v in column.values)
            unknown = f"{cell} IS NOT NULL AND {cell}::VARCHAR NOT IN ({allowed})"
            if not self.fetch(f"SELECT EXISTS (SELECT 1 FROM {self.raw} WHERE {unknown})")[0][0]:
                return
            rows = self.fetch(f"SELECT DISTINCT {cell} FROM {self.raw} WHERE {unknown} LIMIT 5")
            for (bad_value,) in rows:
                self._report(
                    name,
                    f"{cell}::VARCHAR = {sql_literal(str(bad_value))}",
                    "'{value}' is not an allowed value",
                    did_you_mean(str(bad_value), column.values)
                    or f"allowed: {', '.join(column.values)}",
                )

    def _report_serial_dates(self, name: str, where: str) -> None:
        """Excel day numbers in a CSV date column: say which date each would be."""
        total, examples = self._examples(where, name)
        if not total:
            return
        first_line, first_value = examples[0][:2]
        days = int(float(first_value))
        meant = ""
        if SERIAL_RANGE[0] <= days <= SERIAL_RANGE[1]:
            meant = f" ({EXCEL_EPOCH + dt.timedelta(days=days):%Y-%m-%d} if it is one)"
        self.error(
            f"column {self._label(name)}: '{first_value}' is not a date written YYYY-MM-DD: it "
            "looks like "
            f"an Excel serial day number{meant} ({self._where_text(examples, total)})",
            line=first_line,
            column_name=name,
            hint="format the column as dates (YYYY-MM-DD) before saving, or set "
            "format: excel for this column in sources.yaml",
        )

    def _create_typed_table(self) -> None:
        selects = ", ".join(
            f"{self._typed(name, column)} AS {quote(name)}"
            for name, column in self.source.columns.items()
        )
        target = table_name(self.source.id)
        self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {selects} FROM {self.raw}")

    def _check_key(self) -> None:
        # A key column that is not declared is a reference error reported by validation.
        key = [k for k in self.source.key if k in self.source.columns]
        if not key or len(key) != len(self.source.key):
            return
        columns = ", ".join(quote(k) for k in key)
        table = table_name(self.source.id)
        duplicates = self.fetch(
            f"SELECT {columns}, count(*) AS n FROM {table} GROUP BY ALL HAVING count(*) > 1 "
            f"ORDER BY n DESC LIMIT {MAX_EXAMPLES}"
        )
        if not duplicates:
            return
        total = self.fetch(
            f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
        )[0][0]
        shown = []
        first_line = 0
        for row in duplicates:
            values = row[:-1]
            lines = self._key_lines(key, values)
            first_line = first_line or (lines[0] if lines else 0)
            listed = ", ".join(str(n) for n in lines)
            if row[-1] > len(lines):
                listed += f" and {row[-1] - len(lines)} more"
            shown.append(
                ", ".join(f"{k}={_show(v)}" for k, v in zip(key, values, strict=True))
                + f" ({self.line_word}s {listed})"
            )
        more = f" and {total - len(duplicates)} more keys" if total > len(duplicates) else ""
        self.error(
            f"duplicate key ({', '.join(key)}): {'; '.join(shown)}{more}",
            line=first_line,
            column_name=", ".join(key),
            hint="each key must appear once; a repeated month is usually a double extract",
        )

    def _key_lines(self, key: list[str], values: tuple[Any, ...]) -> list[int]:
        """The lines (up to MAX_EXAMPLES) holding one duplicated key, found in the raw rows."""
        match = " AND ".join(
            f"{self._typed(k, self.source.columns[k])} IS NOT DISTINCT FROM "
            f"CAST({sql_literal(v)} AS {SQL_TYPES[self.source.columns[k].type]})"
            for k, v in zip(key, values, strict=True)
        )
        rows = self.fetch(
            f"SELECT {self._line()} AS line FROM {self._rows_from()} WHERE {match} "
            f"ORDER BY line LIMIT {MAX_EXAMPLES}"
        )
        return [int(r[0]) for r in rows]

    def _summarise(self, rows: int, started: float) -> LoadedSource:
        table = table_name(self.source.id)
        date_col = self.source.columns.get(self.source.date_column)
        first = last = None
        covered: tuple[dt.date, ...] = ()
        if date_col is not None and date_col.type == ColumnType.date:
            month = f"date_trunc('month', {quote(self.source.date_column)})::DATE"
            covered = tuple(
                row[0]
                for row in self.fetch(
                    f"SELECT DISTINCT {month} AS m FROM {table} WHERE m IS NOT NULL ORDER BY m"
                )
            )
            first, last = (covered[0], covered[-1]) if covered else (None, None)
            self.con.execute(
                f"CREATE OR REPLACE TABLE {covered_table_name(self.source.id)} AS "
                f"SELECT DISTINCT {month} AS __month FROM {table} WHERE __month IS NOT NULL"
            )
        return LoadedSource(
            source=self.source,
            table=table,
            path=self.path,
            rows=int(rows),
            first_month=first,
            last_month=last,
            file_modified=dt.datetime.fromtimestamp(self.path.stat().st_mtime),
            load_seconds=time.perf_counter() - started,
            covered_months=covered,
        )


def _csv_options(delimiter: str) -> str:
    """read_csv options: all text, the header on line 1, and a fixed dialect (a sniffer
    that guesses the delimiter guesses wrong on exactly the ragged files we must report)."""
    return (
        "all_varchar = true, header = true, sample_size = -1, "
        f"delim = {sql_literal(delimiter)}, quote = '\"', escape = '\"'"
    )


def _sniff_delimiter(path: Path, skip: int = 0) -> str:
    """The delimiter of the header line (the first non-blank line after `skip` lines):
    whichever of , ; tab | it holds most (ties: ',')."""
    with path.open("rb") as handle:
        head = handle.read(65536 * (1 + skip // 100)).removeprefix(BOM)
    text = head.decode("latin-1")  # the delimiters are ASCII in every encoding we read
    header = next((line for line in text.splitlines()[skip:] if line.strip()), "")
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


_CHUNK = 1 << 24  # 16 MiB: bounded memory on files of millions of rows


def _one_record_per_line(path: Path, rows: int) -> bool:
    """True when the file's lines are the header plus one line per row DuckDB read: one
    line ending throughout, no blank lines, no line breaks inside quoted values.

    Counted in C over 16 MiB chunks, so even a 10-million-row file costs a fraction of a
    second; when this fails the file is re-read line by line (slower, exact)."""
    lf = cr = crlf = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            lf += chunk.count(b"\n")
            chunk_cr = chunk.count(b"\r")
            if chunk_cr or last == b"\r":  # most files have no CR: skip the third pass
                cr += chunk_cr
                crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
    if cr and not (cr == crlf == lf):
        return False  # CR-only or mixed line endings
    lines = lf + (1 if last not in {b"", b"\n"} else 0)
    return lines == rows + 1


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    """Bytes Windows-1252 leaves undefined (0x81, 0x8D, ...) read as Latin-1 instead."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("alliance-latin-1", _latin1_fallback)


def _detect_encoding(path: Path) -> tuple[str, int]:
    """(encoding, line of the first non-UTF-8 byte or 0). UTF-8 unless proven otherwise."""
    with path.open("rb") as handle:
        start = handle.read(4)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", 0
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        newlines = 0
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.object is what the decoder held back plus this chunk (no newline in
                # the held-back bytes: they are the start of one character).
                return "cp1252", newlines + exc.object.count(b"\n", 0, exc.start) + 1
            newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252", newlines + 1
    return "utf-8-sig", 0


def _normalise_csv(
    source: Path,
    target: Path,
    encoding: str,
    delimiter: str,
    *,
    header_row: int | None = None,
    skip_rows: int = 0,
) -> tuple[int, dict[str, list[int]]]:
    """Copy `source` to `target` as clean UTF-8 CSV with each row's line first.

    The header is line `header_row`, or the first non-blank line after `skip_rows` lines
    (the lines above it, titles and notes, are not read). Blank lines are dropped; rows
    with more or fewer fields than the header are left out and returned by kind ("more",
    "fewer") with their lines. Returns (header line, ragged).
    """
    before = header_row - 1 if header_row is not None else skip_rows
    errors = "alliance-latin-1" if encoding == "cp1252" else "strict"
    ragged: dict[str, list[int]] = {"more": [], "fewer": []}
    header: list[str] | None = None
    header_line = 0
    with (
        source.open(encoding=encoding, errors=errors, newline="") as handle,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"', doublequote=True)
        writer = csv.writer(out, lineterminator="\n")
        previous = 0  # reader.line_num after the previous record: this one starts next
        try:
            for record in reader:
                line, previous = previous + 1, reader.line_num
                blank = not record or all(not value.strip() for value in record)
                if header is None and line <= before:
                    continue  # above the header: titles, notes
                if header is None and header_row is not None and (blank or line != header_row):
                    problem = header_problem(header_row, skip_rows, line, ended=False)
                    raise FileProblem(problem, header_row, header=True)
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line: never data
                if header is None and blank:
                    continue  # only delimiters, before the header
                if header is None:
                    header = [name.strip().lstrip("\ufeff") for name in record]
                    header_line = line
                    writer.writerow([LINE_COLUMN, *header])
                elif len(record) != len(header):
                    ragged["more" if len(record) > len(header) else "fewer"].append(line)
                else:
                    writer.writerow([line, *record])
        except csv.Error as exc:
            raise FileProblem(f"cannot be read as CSV: {exc}", reader.line_num) from None
    if header is None and before:
        problem = header_problem(header_row, skip_rows, previous, ended=True)
        raise FileProblem(problem, previous, header=True)
    if header is None:
        raise FileProblem("the file is empty (it holds only blank lines)", 1)
    return header_line, {kind: lines for kind, lines in ragged.items() if lines}


def _serial_date_sql(cell: str) -> str:
    """SQL turning an Excel serial day number (text) into a DATE, or NULL out of range."""
    number = f"TRY_CAST({cell} AS DOUBLE)"
    low, high = SERIAL_RANGE
    return (
        f"CASE WHEN {number} BETWEEN {low} AND {high} THEN "
        f"DATE '{EXCEL_EPOCH.isoformat()}' + CAST(floor({number}) AS INTEGER) END"
    )


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
