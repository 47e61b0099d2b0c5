"""Where queries run: one small interface, one class per engine.

Every query the engine runs is a sqlglot tree (metrics.sql.compiler); a backend receives
it already emitted in its own dialect and runs it, enforcing three things whatever the
engine: exactly one SELECT statement per call (anything else is refused before it reaches
the engine), a time limit that cancels the query and names what it was for, and read-only
access (the site's connection can read the loaded or existing tables and nothing else).

- `DuckDBBackend`: the embedded default. The loaded database file is opened read-only
  with file access and settings locked; a watchdog thread interrupts long queries.
- PostgreSQL and Spark backends live beside this module (metrics/sql/postgres.py,
  metrics/sql/spark.py) and are chosen by a warehouse URL (`connect_backend`).

Credentials never leave here: `safe_url` is what messages and logs may show.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Protocol, runtime_checkable

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError


class QueryError(RuntimeError):
    """A query did not run: refused, timed out or failed. The message is for readers
    (it names the metric or analysis, never credentials)."""


class QueryRefused(QueryError):
    """The text was not exactly one SELECT statement: nothing was run."""


class QueryTimeout(QueryError):
    """A query ran past the warehouse's timeout and was cancelled."""


@runtime_checkable
class Backend(Protocol):
    """An engine that runs single SELECT statements in its own dialect."""

    dialect: str  # sqlglot's name for it: duckdb, postgres, spark
    name: str  # what readers and analysts are told: "embedded DuckDB", "PostgreSQL"

    def run_select(self, sql: str, *, label: str, timeout: float) -> pd.DataFrame:
        """Run `sql`, exactly one SELECT, cancelled after `timeout` seconds."""
        ...

    def describe(self, sql: str, *, label: str, timeout: float) -> list[tuple[str, str]]:
        """The columns `sql` (one SELECT) would return, as (name, kind): kind is one of
        COLUMN_KINDS, from the engine's own metadata (no rows are read)."""
        ...

    def close(self) -> None: ...


# What a column holds, whatever the engine calls its type (data checks compare these with
# the types sources.yaml declares).
COLUMN_KINDS = ("text", "integer", "number", "date", "timestamp", "boolean", "other")


def safe_url(url: str) -> str:
    """A warehouse URL with any password (and query-string secrets) removed, for messages
    and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urllib.parse.urlunsplit((parts.scheme, user + host, parts.path, "", ""))


def refuse_unless_one_select(sql: str, dialect: str, label: str) -> None:
    """Raise QueryRefused unless `sql` parses as exactly one SELECT (a query: SELECT,
    WITH ... SELECT, UNION of SELECTs). For backends with no statement inspector of their
    own; the check is on the text that will run."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryRefused(f"{label}: the query is not valid SQL") from exc
    if len(statements) != 1:
        raise QueryRefused(
            f"{label}: refused {len(statements)} statements; exactly one SELECT is allowed"
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query) or any(
        isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Into) for node in statement.walk()
    ):
        kind = type(statement).__name__.upper()
        raise QueryRefused(f"{label}: refused a {kind} statement; only SELECT is allowed")
    for node in statement.find_all(exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in FORBIDDEN_FUNCTIONS:
            raise QueryRefused(f"{label}: refused the function {name}()")


# Functions a SELECT could use to reach outside the tables (Java reflection in Spark, files
# and sleeps in PostgreSQL): refused whatever the tree (fragments never allow them anyway).
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "reflect",
        "java_method",
        "try_reflect",
        "pg_sleep",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "lo_import",
        "lo_export",
        "dblink",
        "dblink_exec",
        "set_config",
        "current_setting",
        "read_csv",
        "read_parquet",
        "read_text",
    }
)


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """`text` with every secret (a password, a token) replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def frame_from_rows(
    names: list[str], kinds: list[str], rows: list[tuple[object, ...]]
) -> pd.DataFrame:
    """A result as DuckDB's .df() would give it (so every backend hands the analyses the
    same dtypes): dates as datetime64[us], whole numbers int64 (nullable Int64 with
    blanks), other numbers float64, booleans bool (nullable boolean with blanks)."""
    columns: dict[str, object] = {}
    for position, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        values = [row[position] for row in rows]
        blank = any(v is None for v in values)
        if kind in {"date", "timestamp"}:
            columns[name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
        elif kind == "integer":
            columns[name] = pd.array(values, dtype="Int64" if blank else "int64")
        elif kind == "number":
            columns[name] = pd.array(
                [float("nan") if v is None else float(v) for v in values], dtype="float64"
            )
        elif kind == "boolean":
            columns[name] = pd.array(values, dtype="boolean" if blank else "bool")
        else:
            columns[name] = pd.Series(values, dtype=object if blank or not values else None)
    frame = pd.DataFrame(columns)
    if len(names) != len(set(names)):  # a dict keeps one of each name
        frame = pd.DataFrame(
            {i: columns.get(n, pd.Series(dtype=object)) for i, n in enumerate(names)}
        )
        frame.columns = names
    return frame


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Watchdog:
    """One thread that cancels queries running past their deadline (a timer thread per
    query would cost more than most of the queries it guards)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._deadlines: dict[int, tuple[float, object]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def watch(self, cancel: object, seconds: float) -> int:
        """Call `cancel()` after `seconds` unless released first; returns a token."""
        with self._condition:
            self._next += 1
            self._deadlines[self._next] = (time.monotonic() + seconds, cancel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="query-watchdog", daemon=True
                )
                self._thread.start()
            self._condition.notify()
            return self._next

    def release(self, token: int) -> None:
        with self._condition:
            self._deadlines.pop(token, None)

    def _run(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                for token, (deadline, cancel) in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[token]
                        try:
                            cancel()  # type: ignore[operator]
                        except Exception:  # a cancel that fails leaves the query to finish
                            continue
                wait = min((d for d, _ in self._deadlines.values()), default=now + 60) - now
                self._condition.wait(max(wait, 0.001))


WATCHDOG = _Watchdog()


class DuckDBBackend:
    """The embedded warehouse: a DuckDB database opened read-only after loading."""

    dialect = "duckdb"
    name = "embedded DuckDB"

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def run_select(self, sql: str, *, label: str, timeout: float) -> pd.DataFrame:
        try:
            statements = self.connection.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryRefused(f"{label}: the query is not valid SQL") from exc
        if len(statements) != 1:
            raise QueryRefused(
                f"{label}: refused {len(statements)} statements; exactly one SELECT is allowed"
            )
        if statements[0].type != duckdb.StatementType.SELECT:
            kind = str(statements[0].type).rsplit(".", 1)[-1]
            raise QueryRefused(f"{label}: refused a {kind} statement; only SELECT is allowed")
        cursor = self.connection.cursor()
        token = WATCHDOG.watch(cursor.interrupt, timeout)
        try:
            return cursor.execute(sql).df()
        except duckdb.InterruptException as exc:
            raise QueryTimeout(f"{label} took longer than {timeout:g} s and was stopped") from exc
        except duckdb.Error as exc:
            raise QueryError(f"{label}: {first_line(exc)}") from exc
        finally:
            WATCHDOG.release(token)
            cursor.close()

    def describe(self, sql: str, *, label: str, timeout: float) -> list[tuple[str, str]]:
        refuse_unless_one_select(sql, self.dialect, label)
        cursor = self.connection.cursor()
        try:
            relation = cursor.sql(sql)
            return [
                (n, _duckdb_kind(str(t)))
                for n, t in zip(relation.columns, relation.types, strict=True)
            ]
        except duckdb.Error as exc:
            raise QueryError(f"{label}: {first_line(exc)}") from exc
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


def _duckdb_kind(type_name: str) -> str:
    name = type_name.upper()
    if name in {"VARCHAR", "TEXT", "STRING"} or name.startswith("ENUM"):
        return "text"
    if name in {
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "HUGEINT",
        "UBIGINT",
        "UINTEGER",
        "USMALLINT",
        "UTINYINT",
        "UHUGEINT",
    }:
        return "integer"
    if name in {"DOUBLE", "FLOAT", "REAL"} or name.startswith("DECIMAL"):
        return "number"
    if name == "DATE":
        return "date"
    if name.startswith("TIMESTAMP"):
        return "timestamp"
    if name == "BOOLEAN":
        return "boolean"
    return "other"


# --------------------------------------------------------------------------- choosing


DUCKDB_SCHEMES = ("duckdb",)
POSTGRES_SCHEMES = ("postgresql", "postgres")
SPARK_SCHEMES = ("spark", "sc", "local")


def backend_kind(url: str | None) -> str:
    """'duckdb' (embedded, the default), 'postgres' or 'spark' for a warehouse URL."""
    if not url:
        return "duckdb"
    text = url.strip()
    if text.startswith("local"):  # local, local[2], local[*]
        return "spark"
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if scheme in DUCKDB_SCHEMES:
        return "duckdb"
    if scheme in POSTGRES_SCHEMES:
        return "postgres"
    if scheme in SPARK_SCHEMES:
        return "spark"
    raise QueryError(
        f"warehouse URL {safe_url(text)!r} is not one this site can use: write "
        "postgresql://user@host:port/database, spark://local, local[2] or sc://host:port"
    )


def connect_backend(url: str, *, read_only: bool = True) -> Backend:
    """A backend for a warehouse URL (PostgreSQL or Spark). The URL never needs a password:
    PostgreSQL reads PGPASSWORD, a .pgpass file or the Streamlit secret warehouse.password;
    Spark Connect reads ALLIANCE_SPARK_TOKEN. Raises QueryError (credentials never in it)
    when the warehouse cannot be reached."""
    kind = backend_kind(url)
    if kind == "postgres":
        from metrics.sql.postgres import PostgresBackend

        return PostgresBackend(url, read_only=read_only)
    if kind == "spark":
        from metrics.sql.spark import SparkBackend

        return SparkBackend(url)
    if kind == "duckdb":
        path = urllib.parse.urlsplit(url).path
        if not path:
            raise QueryError(
                "a duckdb: warehouse URL names a database file: duckdb:///path/file.duckdb"
            )
        config = {"enable_external_access": False} if read_only else {}
        try:
            connection = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise QueryError(f"DuckDB database {path}: {first_line(exc)}") from exc
        return DuckDBBackend(connection)
    raise AssertionError(kind)
