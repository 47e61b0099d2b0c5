"""A board on PostgreSQL when things go wrong, and sources that are tables already there.

A warehouse that is unreachable, a table or column that is missing, a permission refused,
a query over its time limit: each gives a clear message naming the source (and the metric
when a figure was asked for), the last good board keeps serving, and no password appears
in any message, issue, log line or health report. A table's data checks run in the
warehouse and report counts and a few examples. The site's role can only read.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from metrics.board import open_board
from metrics.serving import BoardHolder
from metrics.sql.backends import QueryError, QueryRefused, QueryTimeout, safe_url
from metrics.sql.postgres import PostgresBackend
from metrics.sql.remote import load_files
from metrics.sql.series import SeriesError
from metrics.validation import load_config
from tests.warehouse_support import (
    LOADER_PASSWORD,
    SITE_PASSWORD,
    SUPER_PASSWORD,
    free_port,
    start_postgres,
)

MINI = Path(__file__).parent / "fixtures" / "mini"
SECRETS = (SITE_PASSWORD, LOADER_PASSWORD, SUPER_PASSWORD)


@pytest.fixture(scope="module")
def postgres() -> Iterator[object]:
    cluster = start_postgres()
    catalogue = load_config(MINI / "config").catalogue
    report = load_files(catalogue, cluster.loader_url, schema="alliance")
    assert set(report.loaded) == {"events", "monthly", "pop"}
    import psycopg

    with psycopg.connect(cluster.loader_url, autocommit=True) as loader:
        # A table someone else keeps, with every kind of problem in it.
        loader.execute(
            "CREATE TABLE alliance.ext_events (id text, date text, kind text, lcn text, "
            "flag boolean, days bigint)"
        )
        loader.execute(
            "INSERT INTO alliance.ext_events VALUES "
            "('e1', '2024-01-05', 'a', 'North', true, 3),"
            "('e2', '2024-01-20', 'c', 'South', false, -4),"
            "('e2', '05/02/2024', 'a', 'North', true, 5),"
            "(NULL, '2024-03-02', 'a', 'East', NULL, 7)"
        )
        loader.execute("CREATE TABLE alliance.secret_events AS SELECT * FROM alliance.src_events")
        loader.execute("REVOKE ALL ON alliance.secret_events FROM alliance_site")
        loader.execute(
            "CREATE VIEW alliance.events_view AS SELECT id, date, kind, lcn, flag, days "
            "FROM alliance.src_events"
        )
        loader.execute("GRANT SELECT ON alliance.events_view TO alliance_site")
    yield cluster
    cluster.stop()


@pytest.fixture
def site(monkeypatch, postgres):
    monkeypatch.setenv("ALLIANCE_WAREHOUSE", postgres.site_url)
    monkeypatch.setenv("PGPASSWORD", SITE_PASSWORD)
    return postgres


def _config(tmp_path: Path, events: str | None = None) -> Path:
    """The mini config; `events` replaces the events source's `path:` line."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    if events is not None:
        sources = target / "config" / "sources.yaml"
        text = sources.read_text()
        assert "path: events.csv" in text
        sources.write_text(text.replace("path: events.csv", events, 1))
    return target / "config"


def _shown(board) -> str:  # type: ignore[no-untyped-def]
    """Everything a board could show or log about itself."""
    parts = [i.format_text() for i in board.issues]
    parts += [i.format_text() for i in board.warehouse.issues]
    parts += [board.warehouse.location, repr(board.warehouse)]
    parts += [board.warehouse.failure_reason(s) for s in board.warehouse.failed]
    return "\n".join(parts)


def _no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture(scope="module")
def embedded() -> list[float]:
    """count_a on the embedded database (the files)."""
    board = open_board(MINI / "config")
    assert board.warehouse.location == "embedded DuckDB"
    return board.series("count_a").frame["value"].tolist()


def test_files_loaded_into_postgres_serve_the_same_board(site, tmp_path, embedded):
    board = open_board(_config(tmp_path))
    assert board.warehouse.location == f"PostgreSQL at {site.site_url}"
    assert set(board.warehouse.loaded) == {"events", "monthly", "pop"}
    assert not board.errors
    assert board.series("count_a").frame["value"].tolist() == pytest.approx(embedded, nan_ok=True)


def test_a_view_that_exists_is_read_and_its_data_checked(site, tmp_path, embedded):
    board = open_board(_config(tmp_path, "table: alliance.events_view"))
    assert "events" in board.warehouse.loaded, _shown(board)
    assert board.series("count_a").frame["value"].tolist() == pytest.approx(embedded, nan_ok=True)


def test_table_data_checks_are_counts_and_examples_from_the_warehouse(site, tmp_path):
    board = open_board(_config(tmp_path, "table: alliance.ext_events"))
    assert "events" in board.warehouse.failed
    messages = "\n".join(i.format_text() for i in board.warehouse.failed["events"])
    assert "column 'date' is kept as text in the warehouse but declared a date" in messages
    assert "column 'date': '05/02/2024' is not a date written YYYY-MM-DD (1 row: id=e2)" in (
        messages
    )
    assert "column 'kind': 'c' is not an allowed value (1 row: id=e2)" in messages
    assert "column 'lcn': 'East' is not an allowed value" in messages
    assert "column 'days': '-4' is below the minimum 0 (a count cannot be negative)" in messages
    assert "column 'id': a value is required but the cell is blank (1 row" in messages
    assert "duplicate key (id): id=e2 (2 rows)" in messages
    assert "PostgreSQL table alliance.ext_events" in messages
    # The other sources keep working; a metric on the failed one says why.
    assert "monthly" in board.warehouse.loaded
    with pytest.raises(SeriesError, match="source 'events'"):
        board.series("count_a")


def test_a_missing_table_names_the_source_and_table(site, tmp_path):
    board = open_board(_config(tmp_path, "table: alliance.no_such_table"))
    reason = board.warehouse.failure_reason("events")
    assert "source 'events'" in reason and "no_such_table" in reason
    with pytest.raises(SeriesError, match="source 'events'"):
        board.series("count_a")


def test_files_not_loaded_yet_say_how_to_load_them(site, tmp_path, monkeypatch):
    monkeypatch.setenv("ALLIANCE_WAREHOUSE_SCHEMA", "public")
    board = open_board(_config(tmp_path))
    issue = board.warehouse.failed["events"][0]
    assert "public.src_events" in issue.message
    assert "python -m metrics warehouse load" in issue.hint


def test_a_missing_column_is_named(site, tmp_path):
    config = _config(tmp_path, "table: alliance.events_view")
    sources = config / "sources.yaml"
    sources.write_text(sources.read_text().replace("days: {type: integer", "dayz: {type: integer"))
    board = open_board(config)
    messages = " ".join(i.message + " " + i.hint for i in board.warehouse.failed["events"])
    assert "column 'dayz' is missing" in messages and "days" in messages


def test_a_permission_refused_is_said_plainly(site, tmp_path):
    board = open_board(_config(tmp_path, "table: alliance.secret_events"))
    reason = board.warehouse.failure_reason("events")
    assert "source 'events'" in reason and "permission refused" in reason
    _no_secrets(_shown(board))


def test_a_query_over_its_time_limit_is_cancelled_and_named(site):
    backend = PostgresBackend(site.site_url)
    try:
        with pytest.raises(QueryTimeout, match=r"metric 'slow_one' took longer than 0\.5 s"):
            backend.run_select(
                "SELECT count(*) FROM generate_series(1, 500000000)",
                label="metric 'slow_one'",
                timeout=0.5,
            )
        # The connection is usable afterwards.
        assert backend.run_select("SELECT 1 AS one", label="q", timeout=5)["one"].tolist() == [1]
    finally:
        backend.close()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM alliance.src_events",
        "WITH gone AS (DELETE FROM alliance.src_events RETURNING *) SELECT * FROM gone",
        "SELECT 1; DROP TABLE alliance.src_events",
        "CREATE TABLE alliance.mine (x int)",
        "SELECT pg_sleep(5)",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
    ],
)
def test_the_backend_runs_one_select_only(site, statement):
    backend = PostgresBackend(site.site_url)
    try:
        with pytest.raises(QueryRefused):
            backend.run_select(statement, label="test", timeout=5)
    finally:
        backend.close()


def test_the_sites_session_and_role_are_read_only(site):
    import psycopg

    with (
        psycopg.connect(
            site.site_url, password=SITE_PASSWORD, options="-c default_transaction_read_only=on"
        ) as connection,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        connection.execute("CREATE TEMP TABLE t (x int)")
    with psycopg.connect(site.site_url, password=SITE_PASSWORD, autocommit=True) as connection:
        # Even outside the read-only session, the role has SELECT only.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("DELETE FROM alliance.src_events")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("CREATE TABLE alliance.mine (x int)")


def test_an_unreachable_warehouse_names_every_source_and_never_a_password(
    tmp_path, monkeypatch, caplog
):
    url = f"postgresql://alliance_site:{SITE_PASSWORD}@127.0.0.1:{free_port()}/alliance"
    monkeypatch.setenv("ALLIANCE_WAREHOUSE", url)
    caplog.set_level(logging.DEBUG)
    board = open_board(_config(tmp_path))
    assert set(board.warehouse.failed) == {"events", "monthly", "pop"}
    reason = board.warehouse.failure_reason("events")
    assert "source 'events'" in reason and "could not be reached" in reason
    assert "127.0.0.1" in reason
    with pytest.raises(SeriesError) as failed:
        board.series("count_a")
    _no_secrets(str(failed.value))
    _no_secrets(_shown(board))
    _no_secrets(caplog.text)


def test_a_password_in_the_url_works_but_is_never_shown(postgres, tmp_path, monkeypatch, caplog):
    url = postgres.url("alliance_site", SITE_PASSWORD)
    monkeypatch.setenv("ALLIANCE_WAREHOUSE", url)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    caplog.set_level(logging.DEBUG)
    board = open_board(_config(tmp_path))
    assert "events" in board.warehouse.loaded
    warning = next(i for i in board.issues if "carries a password" in i.message)
    assert "PGPASSWORD" in warning.hint
    assert safe_url(url) == postgres.site_url
    _no_secrets(_shown(board))
    _no_secrets(caplog.text)
    # A wrong password: refused, and neither password is shown.
    wrong = postgres.url("alliance_site", "Wrong-" + SITE_PASSWORD)
    with pytest.raises(QueryError) as refused:
        PostgresBackend(wrong)
    assert "password authentication failed" in str(refused.value)
    _no_secrets(str(refused.value))
    assert "Wrong-" not in str(refused.value)


def test_health_names_the_backend_without_credentials(site, tmp_path):
    from metrics import serving

    config = _config(tmp_path)
    holder = serving.holder_for(config)
    holder.current()
    _, body = serving.health(config)
    assert body["backend"] == f"PostgreSQL at {site.site_url}"
    _no_secrets(json.dumps(body, default=str))


def test_the_last_good_board_keeps_serving_when_the_warehouse_goes_down(
    site, tmp_path, monkeypatch
):
    holder = BoardHolder(_config(tmp_path), background=False, check_interval=0)
    good = holder.current().board
    figures = good.series("count_a").frame
    monkeypatch.setenv(
        "ALLIANCE_WAREHOUSE", f"postgresql://alliance_site@127.0.0.1:{free_port()}/alliance"
    )
    state = holder.refresh()
    assert state.board is good and state.serving_last_good
    assert any("could not be reached" in i.message for i in state.pending_issues)
    assert state.board.series("count_a").frame.equals(figures)  # computed, still served
    # Back up: a refresh reads the warehouse again and computes afresh.
    monkeypatch.setenv("ALLIANCE_WAREHOUSE", site.site_url)
    state = holder.refresh()
    assert state.board is not good and not state.serving_last_good
    assert state.board.series("count_a").frame.equals(figures)


def test_refresh_on_a_schedule(site, tmp_path, monkeypatch):
    holder = BoardHolder(_config(tmp_path), background=True, check_interval=0)
    first = holder.current().board
    monkeypatch.setenv("ALLIANCE_REFRESH_MINUTES", "0.0001")
    holder._refreshed_at -= 60
    holder.current()
    assert holder.wait_for_reload(120)
    assert holder.current().board is not first


def test_loading_reports_bad_files_and_keeps_them_out(postgres, tmp_path):
    config = _config(tmp_path)
    events = config.parent / "data" / "events.csv"
    events.write_text(events.read_text() + "e9,2024-13-01,z,North,true,1\n")
    owner = postgres.url("postgres", SUPER_PASSWORD)  # a new schema needs CREATE on the db
    report = load_files(load_config(config).catalogue, owner, schema="staging")
    assert "events" not in report.loaded and {"monthly", "pop"} <= set(report.loaded)
    text = "\n".join(i.format_text() for i in report.issues)
    assert "'2024-13-01' is not a date" in text and "'z' is not an allowed value" in text
    assert os.environ.get("PGPASSWORD") != LOADER_PASSWORD
    _no_secrets(text)
