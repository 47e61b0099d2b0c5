"""Serving the board: hot reload off the request path, with a safety net and limits.

The board a page reads is always a complete, validated board. When a configuration or
data file changes, the new version is validated and loaded in the background, in a
separate worker process (so a large or slow configuration never holds the server's
interpreter), while the current board keeps serving at normal speed. The worker writes
the loaded warehouse to a database file and the validated catalogue beside it; the
server then opens that file read-only and swaps the new board in, in one step. A
broken edit never replaces a working board: the last good one keeps serving and the
problems are shown to analysts.

Limits protect the server from a configuration that is too large to serve (they are the
operator's, set in the environment, not in the configuration an analyst edits):

- ``ALLIANCE_MAX_METRICS`` (default 5,000 metric definitions),
- ``ALLIANCE_MAX_CONFIG_FILE_KB`` (default 2,048 KB per configuration file),
- ``ALLIANCE_MAX_RELOAD_SECONDS`` (default 300 s for validating and loading a change;
  a worker that takes longer is stopped and the board keeps the last good version).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics import audit
from metrics.board import Board, open_board, watched_files
from metrics.definitions.catalogue import Catalogue, fingerprint
from metrics.definitions.issues import Issue
from metrics.sql.series import SeriesQuery
from metrics.sql.warehouse import LoadedSource, attach_warehouse

LOG = logging.getLogger("alliance_board")
SNAPSHOT = "board.pickle"
DEFAULT_MAX_RELOAD_SECONDS = 300.0
CHECK_INTERVAL = 1.0  # seconds between looks at the files' modification times


def refresh_minutes() -> float:
    """ALLIANCE_REFRESH_MINUTES: how often a board on a shared warehouse re-reads it (its
    sources' rows and months, and every figure computed afresh); 0 or unset: only when an
    analyst presses Refresh on the Diagnostics page or a configuration file changes."""
    try:
        return max(float(os.environ.get("ALLIANCE_REFRESH_MINUTES") or 0), 0.0)
    except ValueError:
        return 0.0


def max_reload_seconds() -> float:
    try:
        return float(os.environ.get("ALLIANCE_MAX_RELOAD_SECONDS") or DEFAULT_MAX_RELOAD_SECONDS)
    except ValueError:
        return DEFAULT_MAX_RELOAD_SECONDS


@dataclass(frozen=True)
class BoardState:
    """The board a page serves, and problems with a newer edit that is not being served."""

    board: Board
    pending_issues: tuple[Issue, ...] = ()  # errors in files on disk that are not being served
    serving_last_good: bool = False
    reloading: bool = False  # a change is being validated and loaded in the background


@dataclass(frozen=True)
class _Snapshot:
    """What the worker hands back: the validated catalogue, every issue, and how the
    sources loaded into its database file."""

    catalogue: Catalogue
    issues: list[Issue]
    loaded: dict[str, LoadedSource]
    failed: dict[str, list[Issue]]
    warehouse_issues: list[Issue] = field(default_factory=list)
    # A shared warehouse (metrics.sql.remote): where each source's table is; None when the
    # worker loaded the embedded database file.
    tables: dict[str, Any] | None = None
    location: str = "embedded DuckDB"


def build_snapshot(config_dir: Path, folder: Path) -> None:
    """Validate `config_dir`, load its data into ``folder/warehouse.duckdb`` and write the
    result beside it (the worker process runs this)."""
    board = open_board(config_dir, folder=folder, threads=1)
    snapshot = _Snapshot(
        catalogue=board.catalogue,
        issues=board.issues,
        loaded=board.warehouse.loaded,
        failed=board.warehouse.failed,
        warehouse_issues=board.warehouse.issues,
        tables=board.warehouse.tables,
        location=board.warehouse.location,
    )
    board.warehouse.backend.close()
    with (folder / SNAPSHOT).open("wb") as stream:
        pickle.dump(snapshot, stream, protocol=pickle.HIGHEST_PROTOCOL)


def _board_from(folder: Path) -> Board:
    with (folder / SNAPSHOT).open("rb") as stream:
        snapshot: _Snapshot = pickle.load(stream)  # our own worker's file, in a private folder
    if snapshot.tables is not None:  # a shared warehouse: connect to it from here
        from metrics.sql.remote import reconnect

        shutil.rmtree(folder, ignore_errors=True)
        remote = reconnect(
            snapshot.catalogue,
            loaded=snapshot.loaded,
            failed=snapshot.failed,
            issues=snapshot.warehouse_issues,
            tables=snapshot.tables,
            location=snapshot.location,
        )
        return Board(snapshot.catalogue, remote, snapshot.issues)
    warehouse = attach_warehouse(
        folder,
        loaded=snapshot.loaded,
        failed=snapshot.failed,
        issues=snapshot.warehouse_issues,
        timeout=snapshot.catalogue.query_timeout,
    )
    return Board(snapshot.catalogue, warehouse, snapshot.issues)


def load_in_worker(config_dir: Path, *, time_limit: float | None = None) -> Board:
    """Validate and load `config_dir` in a separate process; the board it built, opened
    read-only here. A worker that fails or runs past `time_limit` seconds gives a board
    whose only issue says so (and an empty catalogue), so the caller keeps the last good."""
    limit = max_reload_seconds() if time_limit is None else time_limit
    folder = Path(tempfile.mkdtemp(prefix="alliance-warehouse-"))
    command = [sys.executable, "-m", "metrics.serving", str(config_dir), str(folder)]
    started = time.monotonic()
    try:
        process = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limit,
            cwd=Path(__file__).resolve().parents[1],
            check=False,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(folder, ignore_errors=True)
        return _failed_board(
            config_dir,
            f"checking and loading the changed configuration took longer than {limit:g} s "
            "and was stopped (ALLIANCE_MAX_RELOAD_SECONDS); the board keeps the last good "
            "version",
        )
    if process.returncode != 0 or not (folder / SNAPSHOT).exists():
        shutil.rmtree(folder, ignore_errors=True)
        LOG.error("board reload worker failed: %s", process.stderr[-2000:])
        return _failed_board(
            config_dir,
            "the changed configuration could not be loaded (the server log has the details); "
            "the board keeps the last good version",
        )
    LOG.info("board reloaded in a worker in %.1f s", time.monotonic() - started)
    return _board_from(folder)


def _failed_board(config_dir: Path, message: str) -> Board:
    from metrics.sql.warehouse import empty_warehouse

    issue = Issue("error", "parse", str(config_dir.name), message)
    return Board(Catalogue(config_dir, config_dir), empty_warehouse(), [issue])


class BoardHolder:
    """Hot reload with a safety net: a broken edit never replaces a working board, and a
    change is loaded off the request path.

    The first board is opened in the calling thread (the server warms it at start). With
    `background=True` a later change is validated and loaded by a worker process while
    `current()` keeps returning the board being served; `background=False` reloads in the
    calling thread (tests, the command line).
    """

    def __init__(
        self,
        config_dir: Path | str,
        *,
        background: bool = True,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        self.config_dir = Path(config_dir).resolve()
        self.background = background
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._state: BoardState | None = None
        self._fingerprint = ""
        self._checked_at = 0.0
        self._worker: threading.Thread | None = None
        self._refreshed_at = time.monotonic()
        # Further warm steps from the layers above (the site's charts of the default views),
        # run on every board this holder installs after the first: warm_process sets them.
        self.more_warm: Sequence[tuple[str, Callable[[Board], object]]] = ()

    # -- serving ---------------------------------------------------------------------
    def peek(self) -> BoardState | None:
        """The state being served, or None before the first board is open (never loads)."""
        return self._state

    def current(self) -> BoardState:
        """The board to serve now (never waits for a background reload)."""
        if self._state is None:
            with self._lock:
                if self._state is None:
                    before = self._stamp(None)
                    self._install(open_board(self.config_dir), before)
        assert self._state is not None
        now = time.monotonic()
        if now - self._checked_at < self.check_interval:
            return self._state
        self._checked_at = now
        stamp = self._stamp(self._state.board.catalogue)
        if (stamp == self._fingerprint and not self._refresh_due()) or self.reloading:
            return self._state
        self._refreshed_at = now
        if not self.background:
            with self._lock:
                if stamp != self._fingerprint:
                    self._install(open_board(self.config_dir), self._stamp(None))
            return self._state
        self._start_reload()
        return self._state

    @property
    def reloading(self) -> bool:
        worker = self._worker
        return worker is not None and worker.is_alive()

    def refresh(self) -> BoardState:
        """Re-read the warehouse now (the analysts' Refresh button): the sources' rows and
        months are read again and every figure is computed afresh, in the background while
        the current board serves. A warehouse that is down leaves the last good board."""
        self._refreshed_at = time.monotonic()
        self._checked_at = time.monotonic()
        if self._state is None:
            return self.current()
        if not self.background:
            with self._lock:
                self._install(open_board(self.config_dir), self._stamp(None))
            return self._state
        self._start_reload()
        return self._state

    def _refresh_due(self) -> bool:
        minutes = refresh_minutes()
        if not minutes or self._state is None:
            return False
        if self._state.board.warehouse.tables is None:
            return False  # the embedded database reloads when its files change
        return time.monotonic() - self._refreshed_at >= minutes * 60

    def wait_for_reload(self, timeout: float | None = None) -> bool:
        """Block until a background reload has finished (tests, benchmarks); True if none
        is running any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.reloading

    def check_now(self) -> BoardState:
        """Look at the files now, whatever the check interval (tests, the editor after a
        save)."""
        self._checked_at = 0.0
        return self.current()

    # -- internals -------------------------------------------------------------------
    def _stamp(self, catalogue: Catalogue | None) -> str:
        return fingerprint(watched_files(self.config_dir, catalogue))

    def _start_reload(self) -> None:
        with self._lock:
            if self.reloading:
                return
            assert self._state is not None
            self._state = BoardState(
                self._state.board,
                self._state.pending_issues,
                self._state.serving_last_good,
                reloading=True,
            )
            self._worker = threading.Thread(
                target=self._reload, args=(self._stamp(None),), name="board-reload", daemon=True
            )
            self._worker.start()

    def _reload(self, before: str) -> None:
        try:
            attempt = load_in_worker(self.config_dir)
        except Exception:  # the reload must never take the serving board down
            LOG.exception("board reload failed")
            attempt = _failed_board(
                self.config_dir, "the changed configuration could not be loaded"
            )
        with self._lock:
            self._install(attempt, before)
            installed = self._state is not None and self._state.board is attempt
        if installed:
            # Warm the new board while it serves: visitors arriving meanwhile share the
            # computations (the board's memo is single-flight) rather than repeat them.
            problems = warm(attempt) + _run_steps(attempt, self.more_warm)
            if problems:
                LOG.warning("warming the reloaded board: %s", "; ".join(problems))

    def _install(self, attempt: Board, before: str) -> None:
        """Serve `attempt`, unless it brings errors the board being served does not have
        (then the last good board keeps serving and the new errors are pending).

        `before` is the configuration files' stamp taken before `attempt` was read: if they
        changed while it loaded, the stamp is left stale so the next look reloads again."""
        serving = self._state.board if self._state else None
        _audit_refusals(attempt, serving)
        if serving is not None and _new_errors(attempt, serving):
            # Keep serving what worked; tell analysts what is wrong on disk.
            self._state = BoardState(serving, tuple(attempt.errors), serving_last_good=True)
            attempt.warehouse.close()
        else:
            self._state = BoardState(attempt)
        unchanged = self._stamp(None) == before
        self._fingerprint = self._stamp(self._state.board.catalogue) if unchanged else ""


# --------------------------------------------------------------------------- one per process

_HOLDERS: dict[Path, BoardHolder] = {}
_HOLDERS_LOCK = threading.Lock()


def holder_for(config_dir: Path | str) -> BoardHolder:
    """The process's one board holder for `config_dir` (shared by every session, the
    start-up warm-up and the health endpoint)."""
    key = Path(config_dir).resolve()
    with _HOLDERS_LOCK:
        holder = _HOLDERS.get(key)
        if holder is None:
            # ALLIANCE_RELOAD=sync reloads in the request that notices a change (the test
            # suite's page tests edit files and look straight away); the default loads a
            # change in the background while the current board serves.
            sync = os.environ.get("ALLIANCE_RELOAD") == "sync"
            holder = _HOLDERS[key] = BoardHolder(
                key, background=not sync, check_interval=0 if sync else CHECK_INTERVAL
            )
        return holder


# --------------------------------------------------------------------------- warm-up


@dataclass
class Warmth:
    """How far the process is from serving a visitor at full speed."""

    status: str = "starting"  # starting, warming, ready, failed
    seconds: float = 0.0
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


WARMTH = Warmth()


def warm(board: Board, *, on_step: Callable[[str], None] | None = None) -> list[str]:
    """Compute what the pages show for the default view, for both audiences, so the first
    visitor finds it ready: every reading (value, icons, SPC), the money report, the data
    quality report, the impact studies and the showcase and board-pack content. Returns
    the problems met (a step that fails is skipped, never fatal)."""
    from metrics.analyses import money
    from metrics.analyses.data_quality import data_quality_report
    from metrics.analyses.reading import default_period, readings
    from metrics.exports.content import board_pack_content, deck_content

    problems: list[str] = []
    period = default_period(board)
    query = SeriesQuery(start=period[0], end=period[1]) if period else SeriesQuery()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("readings (board)", lambda: readings(board, query, "board")),
        ("readings (public)", lambda: readings(board, query, "public")),
        # Every neighbourhood's view too: a reader's first neighbourhood change is then
        # laid out, not computed (the series behind them come from one query per metric).
        *(
            (f"readings (board, {lcn})", _neighbourhood_readings(board, query, lcn))
            for lcn in board.catalogue.board.lcns
        ),
        ("money", lambda: money.money_report(board)),
        ("data quality", lambda: data_quality_report(board, query.start, query.end)),
        ("board pack (board)", lambda: board_pack_content(board, "board")),
        ("board pack (public)", lambda: board_pack_content(board, "public")),
        ("showcase deck", lambda: deck_content(board, "public")),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # a part that cannot be built is shown as such on its page
            problems.append(f"{name}: {exc}")
        if on_step is not None:
            on_step(name)
    return problems


def _neighbourhood_readings(board: Board, query: SeriesQuery, lcn: str) -> Callable[[], object]:
    from metrics.analyses.reading import readings

    return lambda: readings(board, dataclasses.replace(query, lcn=lcn), "board")


def warm_process(
    config_dir: Path | str,
    more: Sequence[tuple[str, Callable[[Board], object]]] = (),
) -> Warmth:
    """Open the board for `config_dir` and warm it (the server does this before its first
    visitor); then move the long-lived heap out of the garbage collector's way. `more`:
    further named steps from the layers above (the site's own charts of the default
    views), run after the figures, each skipped with its problem noted if it fails."""
    started = time.monotonic()
    WARMTH.status = "warming"
    try:
        holder = holder_for(config_dir)
        holder.more_warm = tuple(more)  # a reloaded board is warmed the same way
        board = holder.current().board
        WARMTH.problems = warm(board, on_step=WARMTH.steps.append)
        WARMTH.problems += _run_steps(board, more, on_step=WARMTH.steps.append)
        WARMTH.problems += [i.format_text() for i in board.errors][:20]
        WARMTH.status = "ready"
    except Exception as exc:
        LOG.exception("warming the board failed")
        WARMTH.status = "failed"
        WARMTH.problems.append(str(exc) or type(exc).__name__)
    # The board and its figures live as long as the process: frozen out of collections,
    # they cost a full collection nothing.
    gc.collect()
    gc.freeze()
    WARMTH.seconds = time.monotonic() - started
    LOG.info("board warmed in %.1f s (%s)", WARMTH.seconds, WARMTH.status)
    return WARMTH


def _run_steps(
    board: Board,
    steps: Sequence[tuple[str, Callable[[Board], object]]],
    *,
    on_step: Callable[[str], None] | None = None,
) -> list[str]:
    """Run each named step on `board`; a step that fails is noted, never fatal."""
    problems = []
    for name, step in steps:
        try:
            step(board)
        except Exception as exc:  # shown as such on its page; never fatal here
            problems.append(f"{name}: {exc}")
        if on_step is not None:
            on_step(name)
    return problems


def health(config_dir: Path | str) -> tuple[int, dict[str, object]]:
    """The readiness report: 200 once warm, 503 before; what is missing either way."""
    holder = holder_for(config_dir)
    body: dict[str, object] = {"status": WARMTH.status, "warm_seconds": round(WARMTH.seconds, 2)}
    state = holder.peek()
    if state is not None:
        board = state.board
        body.update(
            {
                "board": board.catalogue.fingerprint,
                "metrics": len(board.catalogue.metrics),
                "sources_loaded": sorted(board.warehouse.loaded),
                "sources_failed": sorted(board.warehouse.failed),
                "backend": board.warehouse.location,
                "errors": len(board.errors),
                "serving_last_good": state.serving_last_good,
                "reloading": holder.reloading,
            }
        )
    if WARMTH.problems:
        body["problems"] = WARMTH.problems[:20]
    return (200 if WARMTH.status == "ready" else 503), body


def _problem(issue: Issue) -> tuple[str, str, str]:
    # Lines move as files are edited; the file, field and message say which problem it is.
    return (issue.file, issue.field, issue.message)


def _new_errors(attempt: Board, serving: Board) -> bool:
    """Whether `attempt` has an error the board being served does not."""
    known = {_problem(i) for i in serving.errors}
    return any(_problem(i) not in known for i in attempt.errors)


def _audit_refusals(attempt: Board, serving: Board | None) -> None:
    """Refused SQL in definitions goes to the audit log once per new problem."""
    before = {(i.file, i.field, i.message) for i in serving.issues} if serving else set()
    for issue in attempt.issues:
        if (
            issue.stage == "sql"
            and issue.is_error
            and (issue.file, issue.field, issue.message) not in before
        ):
            audit.record(
                "configuration",
                "refused_sql",
                f"{issue.file}:{issue.line}",
                field=issue.field,
                reason=issue.message,
            )


def _main(argv: list[str]) -> int:
    """The worker: ``python -m metrics.serving CONFIG_DIR OUT_FOLDER``."""
    if len(argv) != 2:
        print("usage: python -m metrics.serving CONFIG_DIR OUT_FOLDER", file=sys.stderr)
        return 2
    # A reload is background work: the pages being served come first.
    os.nice(10)
    build_snapshot(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    # Run through the imported module, so what is pickled names metrics.serving (not
    # __main__) and the server can read it back.
    from metrics import serving

    sys.exit(serving._main(sys.argv[1:]))
