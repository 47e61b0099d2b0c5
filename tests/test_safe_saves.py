"""Saves that never lose an edit: one save at a time (threads and processes), the hash
checked again just before the rename, the whole configuration validated (an edit that
breaks another file is refused and names it), unsafe paths refused, stale temporary files
cleaned, a killed save leaving nothing behind, the folder fsynced, and the editor page
previewing a renamed metric and explaining every refusal calmly (and auditing it)."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from metrics import editing
from metrics.board import Board
from metrics.editing import (
    BreaksOtherFilesError,
    BusyError,
    ConflictError,
    InvalidDefinitionError,
    UnsafePathError,
    clean_stale_temporaries,
    config_lock,
    edited_metric_id,
    history,
    locate_metric,
    save_file,
    text_hash,
    validate_candidate,
)
from metrics.validation import load_config
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60  # seconds: only a safety net so a broken test fails instead of hanging


def _titled(text: str, title: str) -> str:
    """The mini metrics file with count_a's title changed (a valid edit)."""
    assert "title: Count of a," in text
    return text.replace("title: Count of a,", f"title: {title},", 1)


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.tmp"))


# --------------------------------------------------------------------------- concurrency


class ArrivalLock:
    """A real lock that tells the test when a second caller is waiting for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self.arrivals = 0
        self.second_waiting = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._count:
            self.arrivals += 1
            if self.arrivals == 2:
                self.second_waiting.set()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()


def test_two_threads_saving_with_the_same_opened_hash_one_wins(mini, monkeypatch):
    location = locate_metric(mini, "count_a")
    path, opened = location.path, location.file_hash
    texts = {
        "first": _titled(location.file_text, "Count A (first session)"),
        "second": _titled(location.file_text, "Count A (second session)"),
    }
    # The first save is held inside validation (with the lock) until the second session
    # is waiting for that lock: exactly the interleaving that used to lose an edit.
    lock = ArrivalLock()
    monkeypatch.setitem(editing._THREAD_LOCKS, mini.resolve(), lock)
    real_validate = editing.validate_candidate
    inside, carry_on, validated = threading.Event(), threading.Event(), []

    def held_validation(*args, **kwargs):
        validated.append(threading.current_thread().name)
        if len(validated) == 1:
            inside.set()
            assert carry_on.wait(WAIT)
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(editing, "validate_candidate", held_validation)
    outcomes: dict[str, object] = {}

    def session(name: str) -> None:
        try:
            save_file(mini, path, texts[name], expected_hash=opened)
            outcomes[name] = "saved"
        except ConflictError as conflict:
            outcomes[name] = conflict

    first = threading.Thread(target=session, args=("first",), name="first")
    first.start()
    assert inside.wait(WAIT)
    second = threading.Thread(target=session, args=("second",), name="second")
    second.start()
    assert lock.second_waiting.wait(WAIT)
    carry_on.set()
    first.join(WAIT)
    second.join(WAIT)

    assert outcomes["first"] == "saved"
    assert isinstance(outcomes["second"], ConflictError)
    assert outcomes["second"].current_text == texts["first"]  # shown to the loser
    assert path.read_text() == texts["first"]  # the winner's whole text, nothing mixed
    assert validated == ["first"]  # the loser saw the conflict before validating
    versions = history(mini, path)
    assert len(versions) == 1 and versions[0].path.read_text() == location.file_text
    assert _temporaries(mini.parent) == []


def _save_in_process(config: str, text: str, expected: str, barrier, results) -> None:
    """One site process saving (run by multiprocessing: no shared memory, no thread lock)."""
    config_dir = Path(config)
    barrier.wait(WAIT)
    try:
        save_file(config_dir, config_dir / "metrics" / "all.yaml", text, expected_hash=expected)
        results.put((text, "saved"))
    except ConflictError:
        results.put((text, "conflict"))


def test_two_processes_saving_with_the_same_opened_hash_one_wins(mini):
    location = locate_metric(mini, "count_a")
    texts = [
        _titled(location.file_text, "Count A (process one)"),
        _titled(location.file_text, "Count A (process two)"),
    ]
    # Separate interpreters, as behind a proxy: only the file lock under .history/ can
    # serialise them. Both start saving at once (a barrier) with the same opened hash.
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(
            target=_save_in_process,
            args=(str(mini), text, location.file_hash, barrier, results),
        )
        for text in texts
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=WAIT * 2) for _ in workers)
    for worker in workers:
        worker.join(WAIT)
        assert worker.exitcode == 0
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(text for text, outcome in outcomes.items() if outcome == "saved")
    assert location.path.read_text() == winner
    versions = history(mini, location.path)
    assert len(versions) == 1 and versions[0].path.read_text() == location.file_text
    assert (mini / ".history" / editing.LOCK_FILE).exists()


def test_a_write_during_validation_is_caught_just_before_the_rename(mini, monkeypatch):
    location = locate_metric(mini, "count_a")
    theirs = _titled(location.file_text, "Their title (a text editor on the server)")
    real_validate = editing.validate_candidate

    def someone_writes_meanwhile(*args, **kwargs):
        # A writer that does not take the lock (vi over ssh) saves while we validate.
        location.path.write_text(theirs)
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(editing, "validate_candidate", someone_writes_meanwhile)
    mine = _titled(location.file_text, "My title")
    with pytest.raises(ConflictError) as conflict:
        save_file(mini, location.path, mine, expected_hash=location.file_hash)
    assert conflict.value.current_text == theirs
    assert location.path.read_text() == theirs
    assert history(mini, location.path) == []  # no history entry for a save that did not happen
    assert _temporaries(mini.parent) == []


def test_a_save_waits_for_the_lock_and_then_refuses_calmly(mini, monkeypatch):
    location = locate_metric(mini, "count_a")
    new = _titled(location.file_text, "Count A")
    monkeypatch.setattr(editing, "LOCK_TIMEOUT", 0.2)
    refusals: list[BaseException] = []

    def another_session() -> None:
        try:
            save_file(mini, location.path, new, expected_hash=location.file_hash)
        except BusyError as busy:
            refusals.append(busy)

    with config_lock(mini):  # a save in another session of this process
        worker = threading.Thread(target=another_session)
        worker.start()
        worker.join(WAIT)
    assert len(refusals) == 1 and "try again" in str(refusals[0])
    assert location.path.read_text() == location.file_text


def test_the_os_file_lock_is_honoured(mini, monkeypatch):
    """Another process's save holds the flock under .history/ (simulated by a separate
    open file description): this process waits for it, then refuses rather than writes."""
    location = locate_metric(mini, "count_a")
    monkeypatch.setattr(editing, "LOCK_TIMEOUT", 0.2)
    (mini / ".history").mkdir()
    holder = os.open(mini / ".history" / editing.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(BusyError):
            save_file(
                mini,
                location.path,
                _titled(location.file_text, "Count A"),
                expected_hash=location.file_hash,
            )
    finally:
        os.close(holder)
    assert location.path.read_text() == location.file_text
    save_file(
        mini,
        location.path,
        _titled(location.file_text, "Count A"),
        expected_hash=text_hash(location.file_text),
    )  # and once it is free, the save goes through


# --------------------------------------------------------------------------- whole config


def test_renaming_a_metric_that_showcase_uses_is_refused_and_names_it(mini):
    location = locate_metric(mini, "count_a")
    renamed = location.file_text.replace("{id: count_a,", "{id: count_b,", 1)
    check = validate_candidate(mini, location.path, renamed)
    assert check.errors == []  # fine in its own file...
    assert [(i.file, i.line, i.field) for i in check.caused_errors] == [
        ("config/showcase.yaml", 3, "slides[one].metric")  # ...but breaks the showcase
    ]
    with pytest.raises(BreaksOtherFilesError) as refused:
        save_file(mini, location.path, renamed, expected_hash=location.file_hash)
    assert isinstance(refused.value, InvalidDefinitionError)  # older callers still refuse
    assert "config/showcase.yaml" in str(refused.value)
    assert "config/showcase.yaml:3:" in refused.value.issues[0].format_text()
    assert "unknown metric 'count_a'" in refused.value.issues[0].message
    assert location.path.read_text() == location.file_text
    assert history(mini, location.path) == []


def test_insisting_saves_and_says_the_board_keeps_the_last_good_version(mini):
    location = locate_metric(mini, "count_a")
    renamed = location.file_text.replace("{id: count_a,", "{id: count_b,", 1)
    result = save_file(
        mini, location.path, renamed, expected_hash=location.file_hash, allow_breaking_others=True
    )
    assert location.path.read_text() == renamed
    assert [i.file for i in result.broke_elsewhere] == ["config/showcase.yaml"]
    assert not result.check.serves  # the board will keep its last good configuration
    assert result.previous is not None and result.previous.path.read_text() == location.file_text


def test_removing_a_domain_is_refused_naming_every_file_it_breaks(mini):
    framework = mini / "framework.yaml"
    original = framework.read_text()
    line = "  - {id: access, title: Access, kind: system}\n"
    assert line in original
    without_access = original.replace(line, "")
    with pytest.raises(BreaksOtherFilesError) as refused:
        save_file(mini, framework, without_access, expected_hash=text_hash(original))
    broken = {(i.file, i.field.split("[")[0]) for i in refused.value.issues}
    assert ("config/board.yaml", "overview_domains") in broken
    assert ("config/metrics/all.yaml", "metrics") in broken
    board_issue = next(i for i in refused.value.issues if i.file == "config/board.yaml")
    assert board_issue.line == 2
    assert framework.read_text() == original


def test_problems_elsewhere_that_were_already_there_do_not_block_a_save(mini, edit):
    edit(mini / "board.yaml", "[access, outcomes]", "[access, outcomes, nowhere]")
    location = locate_metric(mini, "count_a")
    new = _titled(location.file_text, "Count of type a")
    check = validate_candidate(mini, location.path, new)
    assert check.caused == []
    assert [(i.file, i.field) for i in check.before] == [
        ("config/board.yaml", "overview_domains[2]")
    ]
    result = save_file(mini, location.path, new, expected_hash=location.file_hash)
    assert location.path.read_text() == new
    assert result.broke_elsewhere == [] and not result.check.serves


def test_an_issue_quoting_a_moved_line_of_the_edited_file_is_not_new(mini):
    """A duplicate id elsewhere quotes where the first one is (file:line); an edit above it
    moves that line, which must not make the old problem look like a new one."""
    second = mini / "metrics" / "more.yaml"
    second.write_text(
        "metrics:\n"
        "  - {id: sum_x, title: Again, domain: outcomes, source: monthly, measure: count,"
        " unit: things, better: up}\n"
    )
    location = locate_metric(mini, "count_a")
    longer = location.file_text.replace(
        "metrics:\n", "metrics:\n  # a comment that moves every item down\n", 1
    )
    check = validate_candidate(mini, location.path, longer)
    assert [i.file for i in check.before if i.is_error] == ["config/metrics/more.yaml"]
    assert check.caused == []


# --------------------------------------------------------------------------- unsafe paths


def test_a_symlinked_file_is_refused_and_its_target_untouched(mini, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("metrics: []\n")
    link = mini / "metrics" / "linked.yaml"
    link.symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        save_file(mini, link, "metrics: []\n# mine\n", expected_hash=text_hash("metrics: []\n"))
    assert outside.read_text() == "metrics: []\n" and link.is_symlink()
    assert history(mini, link) == []  # listing its history is harmless, not a ValueError

    alias = mini / "metrics" / "alias.yaml"  # a link inside the folder is refused too
    alias.symlink_to(mini / "metrics" / "all.yaml")
    text = alias.read_text()
    with pytest.raises(UnsafePathError, match="symbolic link"):
        save_file(mini, alias, text, expected_hash=text_hash(text))


def test_a_file_behind_a_symlinked_folder_is_refused(mini, tmp_path):
    real = tmp_path / "real_metrics"
    shutil.move(mini / "metrics", real)
    (mini / "metrics").symlink_to(real)
    path = mini / "metrics" / "all.yaml"
    text = path.read_text()
    with pytest.raises(UnsafePathError, match="symbolic link"):
        save_file(mini, path, _titled(text, "Count A"), expected_hash=text_hash(text))
    assert (real / "all.yaml").read_text() == text


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("../elsewhere.yaml", "outside the config folder"),
        ("../../outside.yaml", "outside the config folder"),
        ("metrics/../../data/events.yaml", "outside the config folder"),
        ("metrics/all.yml", "not a .yaml file"),
        ("metrics/notes.txt", "not a .yaml file"),
        ("access.yaml", "not a definition file"),
        ("schema/metrics.yaml", "not a definition file"),
        (".history/x.yaml", "not a definition file"),
        ("metrics/.hidden.yaml", "not a definition file"),
    ],
)
def test_paths_that_are_not_definition_files_are_refused(mini, where, why):
    path = mini / where
    before = sorted(p for p in mini.parent.rglob("*"))
    with pytest.raises(UnsafePathError, match=re.escape(why)):
        save_file(mini, path, "metrics: []\n", expected_hash=text_hash(""))
    assert sorted(p for p in mini.parent.rglob("*")) == before  # nothing created


# --------------------------------------------------------------------------- files on disk


def test_stale_temporary_files_are_cleaned_before_a_save(mini):
    location = locate_metric(mini, "count_a")
    folder = location.path.parent
    long_ago = time.time() - 600

    def temporary(name: str, *, old: bool) -> Path:
        path = folder / name
        path.write_text("half a file")
        if old:
            os.utime(path, (long_ago, long_ago))
        return path

    killed = temporary(".all.yaml.killed01.tmp", old=True)
    recent = temporary(".all.yaml.recent1.tmp", old=False)  # maybe a save in progress
    live = temporary(".all.yaml.live001.tmp", old=True)
    holder = os.open(live, os.O_RDONLY)  # a live save (another process) holds it
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        save_file(
            mini,
            location.path,
            _titled(location.file_text, "Count A"),
            expected_hash=location.file_hash,
        )
    finally:
        os.close(holder)
    assert not killed.exists()
    assert recent.exists() and live.exists()
    # Once no save holds them and they are old enough, they go too.
    assert set(clean_stale_temporaries(folder, older_than=0)) == {recent, live}


def test_a_save_killed_between_write_and_rename_leaves_no_temporary_file(mini, monkeypatch):
    location = locate_metric(mini, "count_a")

    class Killed(BaseException):
        """Not an Exception: like a KeyboardInterrupt or SystemExit mid-save."""

    real_replace = os.replace

    def dies_before_renaming(source, destination):
        if Path(destination) == location.path:
            raise Killed
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", dies_before_renaming)
    with pytest.raises(Killed):
        save_file(
            mini,
            location.path,
            _titled(location.file_text, "Count A"),
            expected_hash=location.file_hash,
        )
    assert _temporaries(mini.parent) == []
    assert location.path.read_text() == location.file_text
    assert history(mini, location.path) == []


def test_the_folder_is_fsynced_after_the_rename(mini, monkeypatch):
    location = locate_metric(mini, "count_a")
    folder_inode = location.path.parent.stat().st_ino
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(descriptor: int) -> None:
        info = os.fstat(descriptor)
        events.append(("fsync_dir" if stat.S_ISDIR(info.st_mode) else "fsync", info.st_ino))
        real_fsync(descriptor)

    def spy_replace(source, destination) -> None:
        events.append(("replace", Path(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    save_file(
        mini,
        location.path,
        _titled(location.file_text, "Count A"),
        expected_hash=location.file_hash,
    )
    renamed = events.index(("replace", location.path))
    assert ("fsync_dir", folder_inode) in events[renamed + 1 :]
    assert events[renamed - 1][0] == "fsync"  # the new text itself was on disk first


def test_the_edited_id_is_read_from_the_item():
    assert edited_metric_id("  - id: new_name\n    title: x\n") == "new_name"
    assert edited_metric_id("  - {id: other, title: y}\n") == "other"
    assert edited_metric_id("  - id: [\n") is None


# --------------------------------------------------------------------------- the page


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """A copy of the real config (never the project's own), served by the site."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns(".history"))
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(target))
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(ROOT / "sample_data"))
    return target


def shown(where) -> str:
    """Every error, warning, success and info in an app or a tab, as the reader sees it
    (Markdown escapes and the invisible joiners that stop auto-linking removed)."""
    texts = [
        e.value for kind in (where.error, where.warning, where.success, where.info) for e in kind
    ]
    return re.sub(r"\\(.)", r"\1", re.sub("[\u200b\u2060\ufeff]", "", "\n".join(texts)))


def line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` holding `text` (the real config may gain lines)."""
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def audit_entries(config: Path) -> list[dict]:
    path = config.parent / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def open_editor(metric: str):
    return run_page("pages/editor.py", timeout=120, metric=metric)


def test_the_preview_follows_a_renamed_metric(config):
    app = open_editor("seen_within_4_weeks")
    text = app.text_area(key="editor_text")
    text.set_value(
        text.value.replace("id: seen_within_4_weeks", "id: seen_within_4_weeks_v2", 1)
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    edit_tab = app.tabs[0]
    assert "Valid: no problems found." in shown(edit_tab)
    assert "Fix the errors above" not in shown(edit_tab)
    headings = [m.value for m in edit_tab.markdown if m.value.startswith("#### ")]
    assert any("Accepted secondary referrals with a second contact" in h for h in headings), (
        headings
    )

    app.button(key="editor_save").click().run()
    assert "the board serves the new one as soon as it has reloaded" in shown(app.tabs[0])
    app.run()  # the board has not reloaded yet: the editor waits, calmly
    assert not app.exception, [e.message for e in app.exception]
    # The entry point hands pages the reloaded board; AppTest reruns the page alone, so
    # hand it one here (only `.board` is read by the editor). It follows the new id.
    served = app.session_state["board_state"].board
    reloaded = Board(load_config(config).catalogue, served.warehouse, [])
    app.session_state["board_state"] = SimpleNamespace(board=reloaded)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.selectbox(key="editor_metric").value == "seen_within_4_weeks_v2"
    assert app.text_area(key="editor_text").value.startswith("  - id: seen_within_4_weeks_v2")


def test_a_rename_that_breaks_the_showcase_is_refused_until_insisted_on(config):
    path = config / "metrics" / "access.yaml"
    before = path.read_text()
    app = open_editor("secondary_referrals")
    text = app.text_area(key="editor_text")
    text.set_value(
        text.value.replace("id: secondary_referrals", "id: secondary_referrals_v2", 1)
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    message = shown(app.tabs[0])
    slide = line_of(config / "showcase.yaml", "metric: secondary_referrals")
    featured = line_of(config / "board.yaml", "featured_metrics:")
    assert "This edit would break config/board.yaml, config/showcase.yaml" in message
    assert f"config/showcase.yaml:{slide}:" in message and "[slides[hub].metric]" in message
    assert "unknown metric 'secondary_referrals'" in message
    assert f"config/board.yaml:{featured}:" in message and "[featured_metrics[0]]" in message
    assert "Valid: no problems found." not in message
    assert app.button(key="editor_save").disabled
    assert path.read_text() == before

    app.checkbox(key="editor_insist").check().run()
    assert not app.button(key="editor_save").disabled
    app.button(key="editor_save").click().run()
    assert not app.exception, [e.message for e in app.exception]
    message = shown(app)
    assert "Saved anyway" in message
    assert "the board keeps serving the last good version until it is fixed" in message
    assert "id: secondary_referrals_v2" in path.read_text()
    saved = [e for e in audit_entries(config) if e["action"] == "save_definition"]
    assert saved and saved[-1]["broke"] == "config/board.yaml, config/showcase.yaml"


def test_a_showcase_edit_made_meanwhile_makes_the_save_refuse_and_audit(config, monkeypatch):
    """The edit was fine when typed; by the time Save is pressed another file names the
    old id. The save re-validates under the lock, refuses, and says which file and line."""
    path = config / "metrics" / "access.yaml"
    app = open_editor("seen_within_4_weeks")
    text = app.text_area(key="editor_text")
    text.set_value(
        text.value.replace("id: seen_within_4_weeks", "id: seen_within_4_weeks_v2", 1)
    ).run()
    assert not app.button(key="editor_save").disabled
    before = path.read_text()
    showcase = config / "showcase.yaml"
    slide = line_of(showcase, "metric: secondary_referrals")
    real_save = editing.save_file

    def someone_edits_the_showcase_first(*args, **kwargs):
        # Between the page's check and this save, another analyst points a slide at the
        # old id (and the page script imports save_file afresh on every run).
        showcase.write_text(
            showcase.read_text().replace(
                "metric: secondary_referrals", "metric: seen_within_4_weeks"
            )
        )
        return real_save(*args, **kwargs)

    monkeypatch.setattr(editing, "save_file", someone_edits_the_showcase_first)
    app.button(key="editor_save").click().run()
    assert not app.exception, [e.message for e in app.exception]
    message = shown(app.tabs[0])
    assert "Not saved: this edit would make config/showcase.yaml invalid" in message
    assert f"config/showcase.yaml:{slide}:" in message
    assert path.read_text() == before
    refusal = audit_entries(config)[-1]
    assert refusal["action"] == "save_refused" and refusal["reason"] == "breaks_other_files"
    assert refusal["what"] == "config/metrics/access.yaml" and refusal["who"]
    assert refusal["metric"] == "seen_within_4_weeks"
    assert any(f"config/showcase.yaml:{slide}:" in p for p in refusal["problems"])


def test_a_conflict_is_refused_calmly_and_audited(config):
    path = config / "metrics" / "access.yaml"
    app = open_editor("open_referrals")
    theirs = path.read_text().replace("title: Open referrals", "title: Caseload (their edit)")
    path.write_text(theirs)
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner: Performance team", "owner: Mine")).run()
    app.button(key="editor_save").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert "changed by someone else" in shown(app)
    assert path.read_text() == theirs
    refusal = audit_entries(config)[-1]
    assert (refusal["action"], refusal["reason"]) == ("save_refused", "conflict")
    assert refusal["what"] == "config/metrics/access.yaml"
    assert refusal["attempted"] == "save_definition"


def test_a_symlinked_definition_file_is_explained_not_a_crash(config, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / "money.yaml"
    shutil.move(config / "metrics" / "money.yaml", real)
    (config / "metrics" / "money.yaml").symlink_to(real)
    original = real.read_text()
    app = open_editor("pooled_spend")
    assert "cannot be saved from the site" in shown(app)
    assert "config/metrics/money.yaml is a symbolic link" in shown(app)
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner:", "owner: Someone else #", 1)).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.button(key="editor_save").disabled
    app.selectbox(key="history_file").set_value("money.yaml").run()
    assert not app.exception, [e.message for e in app.exception]
    assert real.read_text() == original
