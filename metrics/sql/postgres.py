"""PostgreSQL as the warehouse (psycopg 3).

Chosen by a URL, ``postgresql://user@host:port/database`` (ALLIANCE_WAREHOUSE, or
``warehouse: {url: ...}`` in sources.yaml). The URL names no password: libpq reads
PGPASSWORD or a .pgpass file, and a deployment on Streamlit may put it in the secret
``[warehouse] password``. Whatever the URL holds, messages and logs show only
`backends.safe_url` and any password is replaced by ``***`` in error text.

Per query, the three rules of every backend:

- exactly one SELECT (`backends.refuse_unless_one_select` on the text that will run);
- a time limit that cancels: ``SET LOCAL statement_timeout`` inside the query's own
  transaction, so the server stops it (QueryCanceled), with the process-wide watchdog
  cancelling from the client a little later should the server not answer at all;
- read-only: every session runs with ``default_transaction_read_only = on``; the role the
  site connects as should have SELECT only (docs/warehouse.md lists the grants).

Connections are pooled (a few per process; a broken one is dropped and a new one opened on
the next query), so concurrent sessions do not queue behind one connection.
"""

from __future__ import annotations

import os
import queue
import threading
import urllib.parse

import pandas as pd

from metrics.sql.backends import (
    WATCHDOG,
    QueryError,
    QueryTimeout,
    first_line,
    frame_from_rows,
    redact,
    refuse_unless_one_select,
    safe_url,
)

POOL_SIZE = 4
CONNECT_TIMEOUT = 10  # seconds to reach the server
CLIENT_GRACE = 5.0  # seconds past the server's own timeout before the client cancels


def _password_from_secrets() -> str | None:
    """The Streamlit secret ``[warehouse] password`` when the site runs under Streamlit."""
    try:
        import streamlit as st

        section = st.secrets.get("warehouse")
        value = section.get("password") if section else None
        return str(value) if value else None
    except Exception:  # no secrets file, or not under Streamlit
        return None


class PostgresBackend:
    """A pool of read-only psycopg connections to one database."""

    dialect = "postgres"
    name = "PostgreSQL"

    def __init__(self, url: str, *, read_only: bool = True, pool_size: int = POOL_SIZE) -> None:
        import psycopg  # the [postgres] extra

        self._psycopg = psycopg
        self.url = safe_url(url)
        parts = urllib.parse.urlsplit(url)
        self._secrets = [urllib.parse.unquote(parts.password or "")]
        # The connection string without any password: libpq finds it in the environment,
        # a .pgpass file, or we pass the Streamlit secret as a separate keyword.
        self._conninfo = urllib.parse.urlunsplit(
            (
                "postgresql",
                (f"{parts.username}@" if parts.username else "")
                + (parts.hostname or "")
                + (f":{parts.port}" if parts.port else ""),
                parts.path,
                parts.query,
                "",
            )
        )
        password = urllib.parse.unquote(parts.password) if parts.password else None
        # Read once, here: connections opened later (the pool grows) use the same one. With
        # none at all, libpq still looks in ~/.pgpass (or PGPASSFILE) on each connection.
        password = password or os.environ.get("PGPASSWORD") or _password_from_secrets()
        self._secrets.append(password or "")
        self._password = password
        self.read_only = read_only
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._closed = False
        self._put(self._connect())  # fail now, with a clear message, if it cannot be reached

    # -- connections -----------------------------------------------------------------
    def _connect(self):  # type: ignore[no-untyped-def]
        psycopg = self._psycopg
        options = "-c default_transaction_read_only=on" if self.read_only else ""
        kwargs: dict[str, object] = {
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "alliance-board",
        }
        if options:
            kwargs["options"] = options
        if self._password:
            kwargs["password"] = self._password
        try:
            connection = psycopg.connect(self._conninfo, **kwargs)
        except psycopg.Error as exc:
            raise QueryError(
                f"PostgreSQL at {self.url} could not be reached: {self._clean(exc)}"
            ) from None
        _floats_for_numeric(connection)
        return connection

    def _put(self, connection) -> None:  # type: ignore[no-untyped-def]
        self._pool.put(connection)

    def _take(self):  # type: ignore[no-untyped-def]
        try:
            connection = self._pool.get_nowait()
        except queue.Empty:
            return self._connect()
        if connection.closed or connection.broken:
            return self._connect()
        return connection

    def _clean(self, exc: BaseException) -> str:
        return redact(first_line(exc), self._secrets)

    # -- queries ---------------------------------------------------------------------
    def _execute(self, sql: str, *, label: str, timeout: float, rows: bool):  # type: ignore[no-untyped-def]
        psycopg = self._psycopg
        refuse_unless_one_select(sql, self.dialect, label)
        if self._closed:
            raise QueryError(f"{label}: the connection to PostgreSQL is closed")
        with self._slots:
            try:
                connection = self._take()
            except QueryError as exc:
                raise QueryError(f"{label}: {exc}") from None
            token = WATCHDOG.watch(connection.cancel_safe, timeout + CLIENT_GRACE)
            healthy = True
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    milliseconds = max(int(timeout * 1000), 1)
                    cursor.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                    if self.read_only:
                        cursor.execute("SET LOCAL transaction_read_only = on")
                    cursor.execute(sql.encode())
                    description = cursor.description or []
                    names = [d.name for d in description]
                    kinds = [_kind(connection, d.type_code) for d in description]
                    fetched = cursor.fetchall() if rows else []
                return names, kinds, fetched
            except psycopg.errors.QueryCanceled:
                raise QueryTimeout(
                    f"{label} took longer than {timeout:g} s and was stopped"
                ) from None
            except psycopg.errors.InsufficientPrivilege as exc:
                raise QueryError(
                    f"{label}: permission refused by PostgreSQL ({self._clean(exc)}); the "
                    "site's role needs SELECT on the source's table"
                ) from None
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
                raise QueryError(f"{label}: {self._clean(exc)}") from None
            except psycopg.OperationalError as exc:
                healthy = False
                raise QueryError(
                    f"{label}: PostgreSQL at {self.url} did not answer ({self._clean(exc)})"
                ) from None
            except psycopg.Error as exc:
                raise QueryError(f"{label}: {self._clean(exc)}") from None
            finally:
                WATCHDOG.release(token)
                if healthy and not connection.closed and not connection.broken:
                    self._put(connection)
                else:
                    connection.close()

    def run_select(self, sql: str, *, label: str, timeout: float) -> pd.DataFrame:
        names, kinds, fetched = self._execute(sql, label=label, timeout=timeout, rows=True)
        return frame_from_rows(names, kinds, fetched)

    def describe(self, sql: str, *, label: str, timeout: float) -> list[tuple[str, str]]:
        names, kinds, _ = self._execute(sql, label=label, timeout=timeout, rows=False)
        return list(zip(names, kinds, strict=True))

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return


_KINDS = {
    "text": "text",
    "varchar": "text",
    "bpchar": "text",
    "name": "text",
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "float4": "number",
    "float8": "number",
    "numeric": "number",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamp",
    "bool": "boolean",
}


def _kind(connection, oid: int) -> str:  # type: ignore[no-untyped-def]
    info = connection.adapters.types.get(oid)
    return _KINDS.get(info.name if info is not None else "", "other")


def _floats_for_numeric(connection) -> None:  # type: ignore[no-untyped-def]
    """numeric (what PostgreSQL's sum() of whole numbers and avg() return) read as float, as
    DuckDB returns them: the analyses work in floating point either way."""
    from psycopg.types.numeric import FloatLoader

    connection.adapters.register_loader("numeric", FloatLoader)
