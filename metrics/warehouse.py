"""Embedded DuckDB holding every source, loaded once and checked on the way in.

Each source file (CSV, Excel or Parquet) is read as raw text or native columns, checked
against the columns declared in config/sources.yaml (missing column, unparseable date,
number out of range, unknown category, duplicate key, each reported with file and line),
then stored as a typed table ``src_<id>``. A source with errors is not loaded: metrics on
it are reported unavailable with the reason, and every other source keeps working.
After loading, the connection loses access to the file system, so SQL written in metric
definitions can read only the loaded tables.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from metrics.definitions.issues import Issue, closest, did_you_mean
from metrics.definitions.models import ColumnDef, ColumnType, SourceDef

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
MAX_EXAMPLES = 3  # rows quoted per problem; the message says how many more there are


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
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def table_name(source_id: str) -> str:
    return f"src_{source_id}"


def covered_table_name(source_id: str) -> str:
    """The months in which a record-level source has any row (one column, __month)."""
    return f"cov_{source_id}"


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
    """The loaded sources of one catalogue, and the issues found loading them."""

    connection: duckdb.DuckDBPyConnection
    loaded: dict[str, LoadedSource] = field(default_factory=dict)
    failed: dict[str, list[Issue]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def query(self, sql: str) -> pd.DataFrame:
        """Run read-only SQL on its own cursor (safe from Streamlit's script threads)."""
        cursor = self.connection.cursor()
        try:
            return cursor.execute(sql).df()
        finally:
            cursor.close()

    def failure_reason(self, source_id: str) -> str:
        problems = [i for i in self.failed.get(source_id, []) if i.is_error]
        if not problems:
            return f"source '{source_id}' is not loaded"
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        return f"source '{source_id}' could not be loaded: {first.format_text()}{more}"


def resolve_data_dir(config_dir: Path, data_dir_setting: str) -> Path:
    """ALLIANCE_DATA_DIR (for real data) wins over the data_dir written in sources.yaml."""
    override = os.environ.get("ALLIANCE_DATA_DIR")
    if override:
        return Path(override).resolve()
    return (config_dir / data_dir_setting).resolve()


def open_warehouse(
    sources: Iterable[SourceDef],
    data_dir: Path,
    *,
    display_root: Path | None = None,
    lock_down: bool = True,
) -> Warehouse:
    """Load and check every source into a fresh in-memory DuckDB."""
    connection = duckdb.connect(":memory:")
    connection.execute("SET preserve_insertion_order = true")
    warehouse = Warehouse(connection=connection)
    for source in sources:
        started = time.perf_counter()
        loader = _SourceLoader(connection, source, data_dir, display_root)
        loaded, issues = loader.load(started)
        warehouse.issues.extend(issues)
        if loaded is None:
            warehouse.failed[source.id] = issues
        else:
            warehouse.loaded[source.id] = loaded
    if lock_down:
        # Metric SQL comes from configuration: from here on it may read the loaded tables only.
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    return warehouse


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
        self.path = (data_dir / source.path).resolve()
        root = display_root or data_dir.parent
        try:
            self.display = str(self.path.relative_to(root.resolve()))
        except ValueError:
            self.display = str(self.path)
        self.raw = f"raw_{source.id}"
        self.issues: list[Issue] = []
        # Line numbers as a reader of the file counts them (header = line 1 in CSV and Excel).
        self.line_offset = {"csv": 2, "excel": 2, "parquet": 1}[source.file_format]
        self.line_word = "row" if source.file_format == "parquet" else "line"

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

    # -- stages ----------------------------------------------------------------------
    def load(self, started: float) -> tuple[LoadedSource | None, list[Issue]]:
        if not self.path.exists():
            self.error(
                f"file not found: {self.path}", hint="check path and data_dir in sources.yaml"
            )
            return None, self.issues
        try:
            self._read_raw()
        except (duckdb.Error, ValueError, OSError, KeyError) as exc:
            self.error(f"could not be read as {self.source.file_format}: {_first_line(exc)}")
            self._drop_raw()
            return None, self.issues
        header = [row[0] for row in self.fetch(f"SELECT name FROM pragma_table_info('{self.raw}')")]
        row_count = self.fetch(f"SELECT count(*) FROM {self.raw}")[0][0]
        if row_count == 0:
            self.error("the file has no data rows")
        self._check_header(header)
        if any(i.is_error for i in self.issues):
            self._drop_raw()
            return None, self.issues
        for name, column in self.source.columns.items():
            self._check_column(name, column)
        if not any(i.is_error for i in self.issues):
            self._create_typed_table()
            self._check_key()
        self._drop_raw()
        if any(i.is_error for i in self.issues):
            self.con.execute(f"DROP TABLE IF EXISTS {table_name(self.source.id)}")
            return None, self.issues
        return self._summarise(row_count, started), self.issues

    def _read_raw(self) -> None:
        fmt = self.source.file_format
        path_literal = sql_literal(str(self.path))
        if fmt == "csv":
            # Every cell read as text, so each bad cell can be reported with its line number
            # instead of DuckDB guessing a type or failing on the whole file.
            self.con.execute(
                f"CREATE TABLE {self.raw} AS SELECT * FROM read_csv({path_literal}, "
                "all_varchar = true, header = true, sample_size = -1)"
            )
        elif fmt == "parquet":
            self.con.execute(
                f"CREATE VIEW {self.raw} AS SELECT * FROM read_parquet({path_literal})"
            )
        else:
            frame = _read_excel_as_text(self.path, self.source.sheet)
            self.con.register(f"{self.raw}_df", frame)
            self.con.execute(f"CREATE TABLE {self.raw} AS SELECT * FROM {self.raw}_df")
            self.con.unregister(f"{self.raw}_df")

    def _drop_raw(self) -> None:
        kind = "VIEW" if self.source.file_format == "parquet" else "TABLE"
        self.con.execute(f"DROP {kind} IF EXISTS {self.raw}")

    def _check_header(self, header: list[str]) -> None:
        present = set(header)
        unused = [h for h in header if h not in self.source.columns]
        for name in self.source.columns:
            if name in present:
                continue
            renamed = closest(name, unused)
            hint = f"the file has '{renamed}': renamed?" if renamed else ""
            self.error(
                f"column '{name}' is missing (the file has: {', '.join(header) or 'no columns'})",
                column_name=name,
                hint=hint,
            )

    def _raw_type(self, name: str) -> str:
        rows = self.fetch(
            f"SELECT type FROM pragma_table_info('{self.raw}') WHERE name = {sql_literal(name)}"
        )
        return str(rows[0][0]).upper() if rows else "VARCHAR"

    def _cell(self, name: str) -> str:
        """The raw cell as SQL, blanks read as missing."""
        if self._raw_type(name) == "VARCHAR":
            return f"NULLIF(trim({quote(name)}), '')"
        return quote(name)

    def _typed(self, name: str, column: ColumnDef) -> str:
        cell = self._cell(name)
        if column.type == ColumnType.date and column.format:
            return f"TRY_STRPTIME({cell}, {sql_literal(column.format)})::DATE"
        if column.type == ColumnType.boolean and self._raw_type(name) == "VARCHAR":
            return f"TRY_CAST(lower({cell}) AS BOOLEAN)"
        return f"TRY_CAST({cell} AS {SQL_TYPES[column.type]})"

    def _line(self) -> str:
        if self.source.file_format == "parquet":
            return f"(file_row_number + {self.line_offset})"
        return f"(rowid + {self.line_offset})"

    def _examples(self, where: str, name: str) -> tuple[int, list[tuple[int, Any]]]:
        select_from = self.raw
        if self.source.file_format == "parquet":
            select_from = f"read_parquet({sql_literal(str(self.path))}, file_row_number = true)"
        total = self.fetch(f"SELECT count(*) FROM {select_from} WHERE {where}")[0][0]
        if not total:
            return 0, []
        rows = self.fetch(
            f"SELECT {self._line()} AS line, {quote(name)} FROM {select_from} WHERE {where} "
            f"ORDER BY line LIMIT {MAX_EXAMPLES}"
        )
        return int(total), [(int(r[0]), r[1]) for r in rows]

    def _report(
        self, name: str, where: str, describe: str, hint: str = "", level: str = "error"
    ) -> None:
        total, examples = self._examples(where, name)
        if not total:
            return
        first_line, first_value = examples[0]
        where_text = f"{self.line_word}s " + ", ".join(str(line) for line, _ in examples)
        more = f" and {total - len(examples)} more" if total > len(examples) else ""
        message = f"column '{name}': {describe.format(value=first_value)} ({where_text}{more})"
        report = self.error if level == "error" else self.warning
        report(message, line=first_line, column_name=name, hint=hint)

    def _check_column(self, name: str, column: ColumnDef) -> None:
        cell = self._cell(name)
        typed = self._typed(name, column)
        if column.type in EXPECTED_TEXT:
            hint = ""
            if column.type == ColumnType.date:
                hint = "write dates as YYYY-MM-DD, or set format: (e.g. '%d/%m/%Y') in sources.yaml"
            self._report(
                name,
                f"{cell} IS NOT NULL AND {typed} IS NULL",
                "'{value}' is not " + EXPECTED_TEXT[column.type],
                hint,
            )
        if column.required or name == self.source.date_column:
            self._report(name, f"{cell} IS NULL", "a value is required but the cell is blank")
        if column.min is not None:
            self._report(
                name,
                f"{typed} < {column.min!r}",
                f"'{{value}}' is below the minimum {column.min:g}"
                + (" (a count cannot be negative)" if column.min == 0 else ""),
            )
        if column.max is not None:
            self._report(
                name,
                f"{typed} > {column.max!r}",
                f"'{{value}}' is above the maximum {column.max:g}",
            )
        if column.values:
            allowed = ", ".join(sql_literal(v) for v in column.values)
            rows = self.fetch(
                f"SELECT DISTINCT {cell} FROM {self.raw} WHERE {cell} IS NOT NULL "
                f"AND {cell}::VARCHAR NOT IN ({allowed}) LIMIT 5"
            )
            for (bad_value,) in rows:
                self._report(
                    name,
                    f"{cell}::VARCHAR = {sql_literal(str(bad_value))}",
                    "'{value}' is not an allowed value",
                    did_you_mean(str(bad_value), column.values)
                    or f"allowed: {', '.join(column.values)}",
                )

    def _create_typed_table(self) -> None:
        selects = ", ".join(
            f"{self._typed(name, column)} AS {quote(name)}"
            for name, column in self.source.columns.items()
        )
        target = table_name(self.source.id)
        self.con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT {selects} FROM {self.raw}")

    def _check_key(self) -> None:
        if not self.source.key:
            return
        key = ", ".join(quote(k) for k in self.source.key)
        table = table_name(self.source.id)
        duplicates = self.fetch(
            f"SELECT {key}, count(*) AS n FROM {table} GROUP BY ALL HAVING count(*) > 1 "
            f"ORDER BY n DESC LIMIT {MAX_EXAMPLES}"
        )
        total = self.fetch(
            f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
        )[0][0]
        if not duplicates:
            return
        shown = "; ".join(
            ", ".join(f"{k}={_show(v)}" for k, v in zip(self.source.key, row[:-1], strict=True))
            + f" ({row[-1]} rows)"
            for row in duplicates
        )
        more = f" and {total - len(duplicates)} more keys" if total > len(duplicates) else ""
        self.error(
            f"duplicate key ({', '.join(self.source.key)}): {shown}{more}",
            column_name=", ".join(self.source.key),
            hint="each key must appear once; a repeated month is usually a double extract",
        )

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


def _read_excel_as_text(path: Path, sheet: str | None) -> pd.DataFrame:
    """Read a worksheet as text cells (dates as YYYY-MM-DD) so checks treat it like a CSV."""
    frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=object, engine="openpyxl")

    def as_text(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
            return None
        if isinstance(value, dt.datetime | pd.Timestamp):
            return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    frame.columns = [str(c).strip() for c in frame.columns]
    return pd.DataFrame(
        {c: pd.Series([as_text(v) for v in frame[c]], dtype=object) for c in frame.columns}
    )


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
