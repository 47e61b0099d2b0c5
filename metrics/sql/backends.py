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

    def close(self) -> None: ...


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
        isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Into)
        for node in statement.walk()
    ):
        kind = type(statement).__name__.upper()
        raise QueryRefused(f"{label}: refused a {kind} statement; only SELECT is allowed")


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

    def close(self) -> None:
        self.connection.close()
