"""A board on a shared warehouse (PostgreSQL, Spark): finding the sources there, and loading
files into it.

Two kinds of source (sources.yaml):

- ``path:`` a file the project loads: ``python -m metrics warehouse load`` reads and checks
  it exactly as the embedded database does (metrics.sql.warehouse: every cell, every rule),
  then copies the checked, typed table into the warehouse as ``<schema>.src_<id>`` (with
  the months it covers as ``<schema>.cov_<id>``): COPY through psycopg for PostgreSQL,
  Parquet in the Spark warehouse folder for local Spark. The site then only reads them.
- ``table: schema.name``: a table or view that already exists there. The site only reads
  it; its data checks (metrics.sql.checks) run as aggregate queries when the board opens.

Opening a board on a warehouse (`open_remote_warehouse`) reads, per source, the engine's
description of its columns and one aggregate query for rows and months covered; nothing
else is read until a page asks for a figure, and then only monthly aggregates come back.
A source whose table is missing, unreadable or fails its checks is reported unavailable
with the reason (the other sources keep working); a warehouse that cannot be reached
makes every source unavailable with that reason, and the server keeps serving the last
good board. Messages show the URL without credentials (backends.safe_url).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlglot import exp

from metrics.definitions.catalogue import Catalogue
from metrics.definitions.issues import Issue
from metrics.definitions.models import SourceDef
from metrics.sql.backends import (
    Backend,
    QueryError,
    backend_kind,
    connect_backend,
    first_line,
    redact,
    safe_url,
)
from metrics.sql.checks import check_table, source_facts
from metrics.sql.compiler import covered_table_name, physical_table, table_name
from metrics.sql.warehouse import LoadedSource, Warehouse, open_warehouse

ENVIRONMENT_URL = "ALLIANCE_WAREHOUSE"
ENVIRONMENT_SCHEMA = "ALLIANCE_WAREHOUSE_SCHEMA"
DEFAULT_SCHEMA = "alliance"


def warehouse_url(catalogue: Catalogue | None = None) -> str | None:
    """ALLIANCE_WAREHOUSE, else sources.yaml's warehouse url, else None (embedded)."""
    url = os.environ.get(ENVIRONMENT_URL) or (catalogue.warehouse_url if catalogue else None)
    if not url or (backend_kind(url) == "duckdb" and not urllib.parse.urlsplit(url).path):
        return None
    return url


def warehouse_schema(catalogue: Catalogue | None = None) -> str:
    return (
        os.environ.get(ENVIRONMENT_SCHEMA)
        or (catalogue.warehouse_schema if catalogue else None)
        or DEFAULT_SCHEMA
    )


def query_timeout(catalogue: Catalogue) -> float:
    """ALLIANCE_QUERY_TIMEOUT_SECONDS (the operator's, e.g. for a Spark cluster whose
    queries take seconds to schedule) over sources.yaml's query_timeout_seconds."""
    try:
        value = float(os.environ.get("ALLIANCE_QUERY_TIMEOUT_SECONDS") or 0)
    except ValueError:
        value = 0.0
    return value if 0 < value <= 3600 else catalogue.query_timeout


def table_of(source: SourceDef, schema: str) -> exp.Table:
    """Where a source lives in the warehouse."""
    if source.table is not None:
        db, _, name = source.table.rpartition(".")
        return physical_table(name, db or None)
    return physical_table(table_name(source.id), schema)


def shown(node: exp.Table) -> str:
    """schema.name of a table, for messages."""
    return ".".join(p.name for p in (node.args.get("db"), node.this) if p is not None)


class UnreachableBackend:
    """Stands in for a warehouse that could not be reached: every query says why."""

    def __init__(self, dialect: str, name: str, reason: str) -> None:
        self.dialect = dialect
        self.name = name
        self.reason = reason

    def run_select(self, sql: str, *, label: str, timeout: float) -> pd.DataFrame:
        raise QueryError(f"{label}: {self.reason}")

    def describe(self, sql: str, *, label: str, timeout: float) -> list[tuple[str, str]]:
        raise QueryError(f"{label}: {self.reason}")

    def close(self) -> None:
        return None


_NAMES = {"postgres": "PostgreSQL", "spark": "Spark", "duckdb": "DuckDB"}


def open_remote_warehouse(
    sources: Iterable[SourceDef],
    url: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    timeout: float = 10.0,
    backend: Backend | None = None,
) -> Warehouse:
    """The sources as they are in the warehouse at `url`, checked and described."""
    sources = list(sources)
    kind = backend_kind(url)
    location = f"{_NAMES[kind]} at {safe_url(url)}"
    if backend is None:
        try:
            backend = connect_backend(url)
        except QueryError as exc:
            reason = str(exc)
            unreachable = UnreachableBackend(kind, _NAMES[kind], reason)
            failed = {
                s.id: [
                    Issue(
                        "error",
                        "data",
                        "sources.yaml",
                        f"source '{s.id}' is unavailable: {reason}",
                        field=f"sources[{s.id}]",
                        hint="the site keeps serving the last board that loaded; check the "
                        "warehouse URL, the network and the credentials (docs/warehouse.md)",
                    )
                ]
                for s in sources
            }
            return Warehouse(
                backend=unreachable,
                failed=failed,
                issues=[i for v in failed.values() for i in v],
                timeout=timeout,
                tables={},
                location=location,
            )
        location = f"{backend.name} at {safe_url(url)}"
    tables: dict[str, exp.Table] = {}
    warehouse = Warehouse(backend=backend, timeout=timeout, tables=tables, location=location)
    for source in sources:
        started = time.perf_counter()
        target = table_of(source, schema)
        tables[table_name(source.id)] = target
        where = f"{location.split(' at ')[0]} table {shown(target)}"
        try:
            issues, usable, kinds = check_table(
                source,
                lambda q, label: warehouse.select(q, label=label),
                lambda q, label: warehouse.describe(q, label=label),
                where=where,
                cells=source.table is not None,
            )
        except QueryError as exc:
            hint = (
                "run python -m metrics warehouse load to load the file into the warehouse"
                if source.table is None
                else "check the table name in sources.yaml and that the site's role may "
                "SELECT from it (docs/warehouse.md)"
            )
            issues, usable, kinds = (
                [
                    Issue(
                        "error",
                        "data",
                        where,
                        f"source '{source.id}' cannot be read: {exc}",
                        field=f"sources[{source.id}]",
                        hint=hint,
                    )
                ],
                False,
                {},
            )
        warehouse.issues.extend(issues)
        if not usable:
            warehouse.failed[source.id] = issues
            del tables[table_name(source.id)]
            continue
        if source.table is None and source.grain != "monthly":
            covered = physical_table(covered_table_name(source.id), schema)
            tables[covered_table_name(source.id)] = covered
            try:
                warehouse.describe(
                    exp.select("*").from_(exp.to_table(covered_table_name(source.id))).limit(0),
                    label=f"source '{source.id}': months covered",
                )
            except QueryError:
                del tables[covered_table_name(source.id)]
        dated = kinds.get(source.date_column) in {"date", "timestamp"}
        try:
            facts = source_facts(
                source, lambda q, label: warehouse.select(q, label=label), dated=dated
            )
        except QueryError as exc:
            problem = Issue("error", "data", where, f"source '{source.id}': {exc}")
            warehouse.issues.append(problem)
            warehouse.failed[source.id] = [problem]
            continue
        warehouse.loaded[source.id] = LoadedSource(
            source=source,
            table=shown(target),
            path=Path(shown(target)),
            rows=facts.rows,
            first_month=facts.first_month,
            last_month=facts.last_month,
            file_modified=dt.datetime.now(),
            load_seconds=time.perf_counter() - started,
            covered_months=facts.covered_months,
        )
    return warehouse


def open_for(
    catalogue: Catalogue, *, folder: Path | None = None, threads: int | None = None
) -> Warehouse:
    """The catalogue's sources where its warehouse keeps them: the embedded database
    loaded from the files (the default), or the warehouse ALLIANCE_WAREHOUSE (or
    sources.yaml's warehouse: url:) names."""
    url = warehouse_url(catalogue)
    if url is None:
        return open_warehouse(
            catalogue.sources.values(),
            catalogue.data_dir,
            timeout=query_timeout(catalogue),
            folder=folder,
            threads=threads,
        )
    warehouse = open_remote_warehouse(
        catalogue.sources.values(),
        url,
        schema=warehouse_schema(catalogue),
        timeout=query_timeout(catalogue),
    )
    if urllib.parse.urlsplit(url).password:
        warehouse.issues.append(
            Issue(
                "warning",
                "data",
                "sources.yaml",
                f"the warehouse URL ({safe_url(url)}) carries a password",
                hint="keep it out of URLs: PGPASSWORD, a .pgpass file or the Streamlit "
                "secret [warehouse] password (docs/warehouse.md)",
            )
        )
    return warehouse


def reconnect(
    catalogue: Catalogue,
    *,
    loaded: dict[str, LoadedSource],
    failed: dict[str, list[Issue]],
    issues: list[Issue],
    tables: dict[str, exp.Table],
    location: str,
) -> Warehouse:
    """A warehouse another process opened and described (the reload worker), connected
    again here."""
    url = warehouse_url(catalogue)
    kind = backend_kind(url) if url else "duckdb"
    backend: Backend
    try:
        if url is None:
            raise QueryError("no warehouse URL is set any more")
        backend = connect_backend(url)
    except QueryError as exc:
        backend = UnreachableBackend(kind, _NAMES.get(kind, kind), str(exc))
    return Warehouse(
        backend=backend,
        loaded=loaded,
        failed=failed,
        issues=issues,
        timeout=query_timeout(catalogue),
        tables=tables,
        location=location,
    )


# --------------------------------------------------------------------------- loading


@dataclass
class LoadReport:
    """What `warehouse load` did: sources copied (with rows) and problems found."""

    location: str
    loaded: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    seconds: float = 0.0


_PG_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


def load_files(
    catalogue: Catalogue,
    url: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    grant_to: str | None = None,
) -> LoadReport:
    """Check every file source as the embedded database does and copy the checked, typed
    tables into the warehouse at `url` (replacing what an earlier load put there)."""
    started = time.perf_counter()
    report = LoadReport(location=safe_url(url))
    files = [s for s in catalogue.sources.values() if s.table is None]
    folder = Path(tempfile.mkdtemp(prefix="alliance-load-"))
    staging = open_warehouse(
        files, catalogue.data_dir, lock_down=False, timeout=3600, folder=folder / "db"
    )
    try:
        report.issues.extend(staging.issues)
        kind = backend_kind(url)
        if kind == "postgres":
            _copy_to_postgres(staging, url, schema, grant_to, folder, report)
        elif kind == "spark":
            _copy_to_spark(staging, url, schema, folder, report)
        else:
            raise QueryError(f"{safe_url(url)}: loading is for PostgreSQL and Spark warehouses")
    finally:
        staging.backend.close()
        shutil.rmtree(folder, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _tables_to_copy(staging: Warehouse) -> list[tuple[str, str]]:
    """(source id, table name) pairs: each loaded source and its covered months."""
    pairs: list[tuple[str, str]] = []
    for source_id, loaded in staging.loaded.items():
        pairs.append((source_id, table_name(source_id)))
        if loaded.source.grain != "monthly" and loaded.covered_months:
            pairs.append((source_id, covered_table_name(source_id)))
    return pairs


def _copy_to_postgres(
    staging: Warehouse,
    url: str,
    schema: str,
    grant_to: str | None,
    folder: Path,
    report: LoadReport,
) -> None:
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    password = urllib.parse.unquote(parts.password) if parts.password else None
    conninfo = urllib.parse.urlunsplit(
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
    secrets = [password or "", os.environ.get("PGPASSWORD", "")]
    duck = staging.connection
    try:
        extra = {"password": password} if password else {}
        connection = psycopg.connect(conninfo, autocommit=False, connect_timeout=10, **extra)
    except psycopg.Error as exc:
        reason = redact(first_line(exc), secrets)
        raise QueryError(f"PostgreSQL at {safe_url(url)} could not be reached: {reason}") from None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            if cursor.fetchone() is None:  # (made by a DBA, the loader needs no CREATE on the db)
                cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            if grant_to:
                cursor.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(grant_to)
                    )
                )
        connection.commit()
        for source_id, name in _tables_to_copy(staging):
            described = duck.execute(f'DESCRIBE "{name}"').fetchall()
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(
                    sql.Identifier(column_name), sql.SQL(_PG_TYPES.get(str(kind), "text"))
                )
                for column_name, kind, *_ in described
            )
            loading = f"{name}__loading"
            csv_path = folder / f"{name}.csv"
            duck.execute(
                f"COPY (SELECT * FROM \"{name}\") TO '{csv_path}' (FORMAT csv, HEADER false)"
            )
            with connection.cursor() as cursor:
                target = sql.Identifier(schema, name)
                staged = sql.Identifier(schema, loading)
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staged))
                cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(staged, columns))
                with (
                    cursor.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(staged)) as copy,
                    csv_path.open("rb") as handle,
                ):
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
                cursor.execute(
                    sql.SQL("ALTER TABLE {} RENAME TO {}").format(staged, sql.Identifier(name))
                )
                if grant_to:
                    cursor.execute(
                        sql.SQL("GRANT SELECT ON {} TO {}").format(target, sql.Identifier(grant_to))
                    )
            connection.commit()
            with connection.cursor() as cursor:
                connection.autocommit = True
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, name)))
                connection.autocommit = False
            csv_path.unlink(missing_ok=True)
            if name == table_name(source_id):
                report.loaded[source_id] = staging.loaded[source_id].rows
    except psycopg.Error as exc:
        connection.rollback()
        raise QueryError(
            f"loading into PostgreSQL at {safe_url(url)} failed: {redact(first_line(exc), secrets)}"
        ) from None
    finally:
        connection.close()


def _copy_to_spark(
    staging: Warehouse, url: str, schema: str, folder: Path, report: LoadReport
) -> None:
    from metrics.sql.spark import master_of, register_local_tables, session, warehouse_dir

    master, connect = master_of(url)
    duck = staging.connection
    local = not connect and master.startswith("local")
    spark = None if local else session(url)
    for source_id, name in _tables_to_copy(staging):
        if local:
            # Local mode: Parquet where the Spark warehouse keeps the schema's tables,
            # swapped in whole (a reader sees the old table or the new one).
            target = warehouse_dir() / f"{schema}.db" / name
            fresh = target.with_name(f".{name}.loading")
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
            duck.execute(
                f"COPY (SELECT * FROM \"{name}\") TO '{fresh / 'part-00000.parquet'}' "
                "(FORMAT parquet)"
            )
            old = target.with_name(f".{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                target.rename(old)
            fresh.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            assert spark is not None
            arrow = duck.execute(f'SELECT * FROM "{name}"').fetch_arrow_table()
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
            spark.createDataFrame(arrow.to_pandas()).write.mode("overwrite").saveAsTable(
                f"`{schema}`.`{name}`"
            )
        if name == table_name(source_id):
            report.loaded[source_id] = staging.loaded[source_id].rows
    if local:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:  # this process reads them too (tests): refresh its catalogue
            register_local_tables(active, refresh=True)
