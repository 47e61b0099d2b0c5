"""Spark as the warehouse (PySpark): local mode here, Spark Connect in a deployment.

Chosen by a URL (ALLIANCE_WAREHOUSE, or ``warehouse: {url: ...}`` in sources.yaml):

- ``spark://local`` or ``local[N]``: Spark in this process's own JVM (local mode), tables
  kept as Parquet in the Spark warehouse folder (ALLIANCE_SPARK_WAREHOUSE_DIR, default
  ``spark-warehouse`` in the working folder) where ``python -m metrics warehouse load``
  writes them; on start the backend registers each ``<schema>.db/<table>`` folder there
  in the session's catalogue (local mode has no shared metastore);
- ``spark://host:7077``: a standalone Spark cluster's master;
- ``sc://host:port``: a Spark Connect endpoint (Databricks, a Spark 3.4+ server); a token
  comes from ALLIANCE_SPARK_TOKEN, never from the URL shown to anyone. Needs pyspark's
  Connect dependencies (``pip install pyspark[connect]``).

Per query: exactly one SELECT (`backends.refuse_unless_one_select`, which also refuses
Spark's reflection functions), run in its own job group (a tag on Spark Connect) that the
process-wide watchdog cancels at the time limit; SQL on files is switched off
(``spark.sql.runSQLOnFiles=false``), so a query reads catalogue tables only. Spark has no
read-only session of its own: on a shared cluster the site's principal is granted SELECT
only (docs/warehouse.md).
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pandas as pd

from metrics.sql.backends import (
    WATCHDOG,
    QueryError,
    QueryTimeout,
    first_line,
    frame_from_rows,
    redact,
    refuse_unless_one_select,
)

_SESSION_LOCK = threading.Lock()
_GROUPS = itertools.count(1)


def warehouse_dir() -> Path:
    """Where local-mode Spark keeps loaded tables (Parquet)."""
    return Path(os.environ.get("ALLIANCE_SPARK_WAREHOUSE_DIR") or "spark-warehouse").resolve()


def master_of(url: str) -> tuple[str, bool]:
    """(master or remote URL, is_connect) for a spark URL."""
    text = url.strip()
    if text.startswith("sc://"):
        return text, True
    if text.startswith("local"):
        return text, False
    rest = text.removeprefix("spark://")
    if rest.startswith("local"):
        return (rest if "[" in rest else "local[*]"), False
    return text, False


def session(url: str = "local[2]"):  # type: ignore[no-untyped-def]
    """The process's Spark session for `url` (one per process, made on first use)."""
    from pyspark.sql import SparkSession  # the [spark] extra

    master, connect = master_of(url)
    with _SESSION_LOCK:
        if connect:
            token = os.environ.get("ALLIANCE_SPARK_TOKEN")
            remote = master + (f"/;token={token}" if token and ";token=" not in master else "")
            return SparkSession.builder.remote(remote).getOrCreate()
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            SparkSession.builder.master(master)
            .appName("alliance-board")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(warehouse_dir()))
            .config("spark.sql.runSQLOnFiles", "false")
            .config(
                "spark.sql.shuffle.partitions", os.environ.get("ALLIANCE_SPARK_PARTITIONS", "8")
            )
            .config("spark.driver.memory", os.environ.get("ALLIANCE_SPARK_DRIVER_MEMORY", "2g"))
        )
        if master.startswith("local"):
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
                "spark.driver.host", "127.0.0.1"
            )
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark


def register_local_tables(spark, *, refresh: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """Make the tables loaded into the local warehouse folder known to this session
    (`refresh`: re-read the files of tables it knows, after a load)."""
    registered: list[str] = []
    root = warehouse_dir()
    if not root.is_dir():
        return registered
    for database in sorted(root.glob("*.db")):
        schema = database.name.removesuffix(".db")
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
        for folder in sorted(p for p in database.iterdir() if p.is_dir()):
            name = f"{schema}.{folder.name}"
            if folder.name.startswith("."):
                continue  # a load in progress
            if not spark.catalog.tableExists(folder.name, schema):
                spark.catalog.createTable(name, path=str(folder), source="parquet")
            elif refresh:
                spark.catalog.refreshTable(name)
            registered.append(name)
    return registered


_KINDS = {
    "StringType": "text",
    "VarcharType": "text",
    "CharType": "text",
    "LongType": "integer",
    "IntegerType": "integer",
    "ShortType": "integer",
    "ByteType": "integer",
    "DoubleType": "number",
    "FloatType": "number",
    "DecimalType": "number",
    "DateType": "date",
    "TimestampType": "timestamp",
    "TimestampNTZType": "timestamp",
    "BooleanType": "boolean",
}


def _kind(data_type) -> str:  # type: ignore[no-untyped-def]
    return _KINDS.get(type(data_type).__name__, "other")


class SparkBackend:
    """Spark SQL through a Spark session (local, a cluster, or Spark Connect)."""

    dialect = "spark"
    name = "Spark"

    def __init__(self, url: str = "local[2]") -> None:
        self.url, self.connect = master_of(url)
        self._secrets = [os.environ.get("ALLIANCE_SPARK_TOKEN", "")]
        try:
            self.spark = session(url)
            if not self.connect and self.url.startswith("local"):
                register_local_tables(self.spark)
        except QueryError:
            raise
        except Exception as exc:  # Java missing, a cluster that does not answer
            raise QueryError(
                f"Spark at {redact(self.url.split(';')[0], self._secrets)} could not be "
                f"started or reached: {redact(first_line(exc), self._secrets)}"
            ) from None
        if self.connect:
            self.name = "Spark Connect"

    def _run(self, sql: str, *, label: str, timeout: float, rows: bool):  # type: ignore[no-untyped-def]
        refuse_unless_one_select(sql, self.dialect, label)
        group = f"alliance-{next(_GROUPS)}"
        cancelled = threading.Event()

        def cancel() -> None:
            cancelled.set()
            if self.connect:
                self.spark.interruptTag(group)
            else:
                self.spark.sparkContext.cancelJobGroup(group)

        if self.connect:
            self.spark.addTag(group)
        else:
            self.spark.sparkContext.setJobGroup(group, label[:200], interruptOnCancel=True)
        token = WATCHDOG.watch(cancel, timeout)
        try:
            frame = self.spark.sql(sql)
            fields = frame.schema.fields
            names = [f.name for f in fields]
            kinds = [_kind(f.dataType) for f in fields]
            fetched = [tuple(row) for row in frame.collect()] if rows else []
            return names, kinds, fetched
        except Exception as exc:
            if cancelled.is_set():
                raise QueryTimeout(
                    f"{label} took longer than {timeout:g} s and was stopped"
                ) from None
            raise QueryError(f"{label}: {_spark_message(exc, self._secrets)}") from None
        finally:
            WATCHDOG.release(token)
            if self.connect:
                self.spark.removeTag(group)
            else:
                self.spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)

    def run_select(self, sql: str, *, label: str, timeout: float) -> pd.DataFrame:
        names, kinds, fetched = self._run(sql, label=label, timeout=timeout, rows=True)
        return frame_from_rows(names, kinds, fetched)

    def describe(self, sql: str, *, label: str, timeout: float) -> list[tuple[str, str]]:
        names, kinds, _ = self._run(sql, label=label, timeout=timeout, rows=False)
        return list(zip(names, kinds, strict=True))

    def close(self) -> None:
        """The session is the process's, shared by every board: it stays up."""


def _spark_message(exc: BaseException, secrets: list[str]) -> str:
    """Spark's first line, without the JVM stack or the query text it quotes."""
    text = first_line(exc)
    for marker in ("; line ", " SQLSTATE", "\n"):
        text = text.split(marker, 1)[0]
    return redact(text.strip(), secrets)
