"""Throwaway warehouses for the tests and the benchmark: a PostgreSQL cluster in a
temporary folder, and Spark in local mode.

PostgreSQL: Debian's server binaries (initdb, pg_ctl: apt-get install postgresql) make a
cluster in a temporary folder, owned by the ``postgres`` user when we are root (the server
refuses to run as root), listening on 127.0.0.1 on a free port with password
authentication. Three roles: the superuser, ``alliance_loader`` (owns the schema the
loader writes) and ``alliance_site`` (LOGIN, SELECT only: what the site connects as).

Spark: PySpark in local mode (SPARK_LOCAL_IP=127.0.0.1), its warehouse folder in a
temporary folder; needs a Java runtime (apt-get install default-jre-headless).

Where either is absent the tests skip with the reason; under CI (CI=true) they fail, since
.ci/run installs both.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPER_PASSWORD = "super-Secret-4821"
LOADER_PASSWORD = "loader-Secret-7713"
SITE_PASSWORD = "site-Secret-3390"  # a test asserts this never appears anywhere shown
DATABASE = "alliance"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this (.ci/run installs it): {reason}")
    pytest.skip(reason)


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    folder: Path
    port: int
    bin: Path
    run_as: str | None

    def url(self, user: str, password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def site_url(self) -> str:
        """What the site is given: no password (it comes from PGPASSWORD)."""
        return self.url("alliance_site")

    @property
    def loader_url(self) -> str:
        return self.url("alliance_loader", LOADER_PASSWORD)

    def superuser(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(self.url("postgres", SUPER_PASSWORD), autocommit=True)

    def stop(self) -> None:
        _run(
            [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
            self.run_as,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(command: list[str], run_as: str | None, *, check: bool = True) -> str:
    if run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def start_postgres() -> PostgresCluster:
    """A new cluster with the alliance database and its two roles (skips where absent)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        _missing("PostgreSQL's server is not installed (apt-get install postgresql)")
    try:
        import psycopg
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[postgres]')")
    assert bin_dir is not None
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _missing("running as root needs the 'postgres' user (Debian's postgresql makes it)")
        run_as = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="alliance-pg-", dir="/tmp"))
    (folder / "socket").mkdir()
    password_file = folder / "pw"
    password_file.write_text(SUPER_PASSWORD + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (folder, folder / "socket", password_file):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(folder / "data"),
            "-U",
            "postgres",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        run_as,
    )
    options = (
        f"-p {port} -k {folder / 'socket'} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=60 -c shared_buffers=256MB"
    )
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(folder / "data"),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        run_as,
    )
    cluster = PostgresCluster(folder, port, bin_dir, run_as)
    import psycopg

    for _ in range(50):
        try:
            with psycopg.connect(
                f"postgresql://postgres:{SUPER_PASSWORD}@127.0.0.1:{port}/postgres"
            ):
                break
        except psycopg.OperationalError:
            time.sleep(0.1)
    with psycopg.connect(
        f"postgresql://postgres:{SUPER_PASSWORD}@127.0.0.1:{port}/postgres", autocommit=True
    ) as admin:
        admin.execute(f"CREATE DATABASE {DATABASE}")
        admin.execute(f"CREATE ROLE alliance_loader LOGIN PASSWORD '{LOADER_PASSWORD}'")
        admin.execute(f"CREATE ROLE alliance_site LOGIN PASSWORD '{SITE_PASSWORD}'")
    with cluster.superuser() as admin:
        admin.execute("CREATE SCHEMA alliance AUTHORIZATION alliance_loader")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute("GRANT USAGE ON SCHEMA alliance TO alliance_site")
        admin.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE alliance_loader IN SCHEMA alliance "
            "GRANT SELECT ON TABLES TO alliance_site"
        )
    return cluster


def require_spark(warehouse: Path) -> None:
    """Skip (fail in CI) where Spark cannot run; point local Spark at `warehouse`."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("Spark needs a Java runtime (apt-get install default-jre-headless)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("PySpark is not installed (pip install -e '.[spark]')")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["ALLIANCE_SPARK_WAREHOUSE_DIR"] = str(warehouse)
