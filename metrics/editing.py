"""Safe editing of metric definitions: locate, validate a candidate, diff, save atomically
with a restorable history, and detect that a file changed on disk since it was opened.

Whatever an analyst types, the file on disk is either the old valid version or the new
valid version, never a mixture, and no edit is silently lost:

* every save holds a lock for the whole config folder (a thread lock for sessions in this
  process and an OS file lock under `.history/` for other site processes) from comparing
  the opened file, through validating, to the rename;
* the candidate is validated as part of the WHOLE configuration, so an edit that breaks
  another file (a renamed metric that showcase.yaml still names) is refused;
* the new text goes to a temporary file in the same folder, the file's hash is checked
  once more, and the temporary file is renamed over the original (atomic on POSIX), then
  the folder is fsynced so the rename itself survives a power cut;
* symlinks, paths outside the config folder and anything but a definition file are
  refused (`UnsafePathError`), never followed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from metrics.definitions.catalogue import CONFIG_FILES, METRICS_DIR, config_files, fingerprint
from metrics.definitions.issues import Issue
from metrics.definitions.validate import ConfigLoad
from metrics.definitions.yaml_positions import YamlSyntaxError, load_yaml
from metrics.validation import load_config

try:  # POSIX; elsewhere only the in-process lock applies (the site is deployed on Linux).
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

HISTORY_DIR = ".history"  # under the config folder; not read by the catalogue
LOCK_FILE = ".save.lock"  # in HISTORY_DIR: one per config folder, shared by every process
LOCK_TIMEOUT = 30.0  # seconds to wait for another save before refusing (a save takes ~1 s)
STALE_TEMP_AGE = 60.0  # seconds: a temporary file older than this, unlocked, is debris
TEMP_PATTERN = ".*.yaml.*.tmp"  # what atomic_write leaves behind if the process is killed


# --------------------------------------------------------------------------- refusals


class SaveRefused(Exception):
    """Base of every reason a save is refused; nothing was written."""

    reason = "refused"


class ConflictError(SaveRefused, RuntimeError):
    """The file changed on disk since it was opened; `current_text` is what is there now."""

    reason = "conflict"

    def __init__(self, path: Path, current_text: str) -> None:
        super().__init__(f"{path.name} changed on disk since it was opened")
        self.path = path
        self.current_text = current_text


class InvalidDefinitionError(SaveRefused, ValueError):
    """The candidate has errors in the edited file; nothing was written."""

    reason = "invalid"

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} error(s); nothing was saved")
        self.issues = issues


class BreaksOtherFilesError(InvalidDefinitionError):
    """The edit is fine in its own file but makes another file invalid (say, a renamed
    metric that showcase.yaml still names); `issues` are those new errors elsewhere."""

    reason = "breaks_other_files"

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues)
        files = sorted({i.file for i in issues})
        self.args = (f"this edit would make {', '.join(files)} invalid; nothing was saved",)
        self.files = files


class UnsafePathError(SaveRefused, ValueError):
    """The path is a symlink, outside the config folder, or not a definition file."""

    reason = "unsafe_path"

    def __init__(self, shown: str, why: str) -> None:
        super().__init__(f"{shown} {why}; the editor only writes definition files")
        self.shown = shown
        self.why = why


class BusyError(SaveRefused, TimeoutError):
    """Another save of this configuration did not finish in time; nothing was written."""

    reason = "busy"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"another save has held the configuration for over {seconds:g} seconds; "
            "nothing was saved, try again"
        )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class MetricLocation:
    """Where one metric's YAML is written: its file and its lines (1-based, inclusive)."""

    metric_id: str
    path: Path
    start_line: int
    end_line: int
    file_text: str

    @property
    def file_hash(self) -> str:
        return text_hash(self.file_text)

    @property
    def item_text(self) -> str:
        lines = self.file_text.splitlines(keepends=True)
        return "".join(lines[self.start_line - 1 : self.end_line])


def metric_files(config_dir: Path) -> list[Path]:
    return sorted((config_dir / METRICS_DIR).glob("*.yaml"))


def locate_metric(config_dir: Path, metric_id: str) -> MetricLocation | None:
    """Find the list item defining `metric_id` (by its `id:`), in any metrics file."""
    for path in metric_files(config_dir):
        text = path.read_text(encoding="utf-8")
        try:
            loaded = load_yaml(text)
        except YamlSyntaxError:
            continue
        items = loaded.data.get("metrics") if isinstance(loaded.data, dict) else None
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("id") == metric_id:
                start, end = _item_lines(text, loaded.positions, index, len(items))
                return MetricLocation(metric_id, path, start, end, text)
    return None


def locate_definition(
    config_dir: Path, file: str, line: int, metric_id: str
) -> MetricLocation | None:
    """The list item written at `file` (as issues and origins name it, e.g.
    'config/metrics/access.yaml') whose mapping starts on `line`; failing that (the file
    changed since), the item with `id: metric_id` in that file. None when neither is there."""
    root = config_dir.resolve()
    path = root.parent / file
    try:
        checked_path(config_dir, path)
        text = path.read_text(encoding="utf-8")
        loaded = load_yaml(text)
    except (OSError, UnicodeDecodeError, YamlSyntaxError, SaveRefused):
        return None
    items = loaded.data.get("metrics") if isinstance(loaded.data, dict) else None
    if not isinstance(items, list):
        return None
    ours = [
        i for i, item in enumerate(items) if isinstance(item, dict) and item.get("id") == metric_id
    ]
    at_line = [i for i in ours if loaded.position(("metrics", i)).line == line]
    if not ours:
        return None
    found = (at_line or ours)[0]
    start, end = _item_lines(text, loaded.positions, found, len(items))
    return MetricLocation(metric_id, path, start, end, text)


def edited_metric_id(item_text: str) -> str | None:
    """The `id:` of the metric in an edited list item (None while it does not parse), so a
    preview follows a renamed metric instead of the id it was opened under."""
    try:
        data = yaml.safe_load(item_text)
    except yaml.YAMLError:
        return None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return data["id"]
    return None


def _item_lines(text: str, positions: dict, index: int, count: int) -> tuple[int, int]:
    """The lines of list item `index`: from its '- ' to just before the next item. Blank
    lines and comments just before the next item belong to that item."""
    lines = text.splitlines()

    def dash_line(item: int) -> int:
        line = positions[("metrics", item)].line
        while line > 1 and not lines[line - 1].lstrip().startswith("-"):
            line -= 1
        return line

    start = dash_line(index)
    end = dash_line(index + 1) - 1 if index + 1 < count else len(lines)
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return start, end


def replace_lines(file_text: str, start_line: int, end_line: int, new_text: str) -> str:
    """`file_text` with lines start..end (1-based, inclusive) replaced by `new_text`."""
    lines = file_text.splitlines(keepends=True)
    replacement = new_text if new_text.endswith("\n") or not new_text else new_text + "\n"
    return "".join(lines[: start_line - 1]) + replacement + "".join(lines[end_line:])


def unified_diff(
    before: str, after: str, name: str, *, before_label: str = "saved", after_label: str = "edited"
) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{name} ({before_label})",
            tofile=f"{name} ({after_label})",
        )
    )


# --------------------------------------------------------------------------- paths


def _relative(config_dir: Path, path: Path) -> Path:
    """`path` relative to the config folder, worked out from its spelling (no symlink is
    followed, so a link inside the folder keeps its own name). UnsafePathError if outside."""
    candidate = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(config_dir)), config_dir.resolve()):
        with contextlib.suppress(ValueError):
            return candidate.relative_to(base)
    raise UnsafePathError(path.name or str(path), "is outside the config folder")


def display_path(config_dir: Path, path: Path) -> str:
    """How the editor names a file: 'config/metrics/access.yaml' (never a server path)."""
    try:
        return f"{config_dir.resolve().name}/{_relative(config_dir, path).as_posix()}"
    except UnsafePathError:
        return path.name


def checked_path(config_dir: Path, path: Path) -> Path:
    """The path a save may write, or UnsafePathError: a definition file (config/*.yaml read
    by the catalogue, or config/metrics/*.yaml) that is inside the config folder once every
    link is resolved, and is neither a symlink nor behind one, nor anything but a file."""
    root = config_dir.resolve()
    relative = _relative(config_dir, path)
    shown = f"{root.name}/{relative.as_posix()}"
    if relative.suffix != ".yaml":
        raise UnsafePathError(shown, "is not a .yaml file")
    parts = relative.parts
    definition = (len(parts) == 1 and parts[0] in CONFIG_FILES) or (
        len(parts) == 2 and parts[0] == METRICS_DIR and not parts[1].startswith(".")
    )
    if not definition:
        raise UnsafePathError(shown, "is not a definition file read by the board")
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            # A link could point anywhere (another alliance's config, /etc): never follow it.
            raise UnsafePathError(shown, "is a symbolic link (or inside a linked folder)")
    target = root / relative
    try:
        target.resolve().relative_to(root)
    except ValueError:
        raise UnsafePathError(shown, "resolves outside the config folder") from None
    if target.exists() and not target.is_file():
        raise UnsafePathError(shown, "is not an ordinary file")
    return target


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class CandidateCheck:
    """The whole configuration validated with one file replaced by a candidate.

    `own`: every issue in the edited file. `caused`: issues in other files that the edit
    brings about (compared with the configuration on disk now). `before`: issues in other
    files that were already there; they are not the editor's to fix and never block a save.
    """

    loaded: ConfigLoad
    edited: str  # the edited file as issues name it, e.g. 'config/metrics/access.yaml'
    own: list[Issue]
    caused: list[Issue]
    before: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        """Errors in the edited file: these always block a save."""
        return [i for i in self.own if i.is_error]

    @property
    def caused_errors(self) -> list[Issue]:
        """New errors in other files: these block a save unless the analyst insists."""
        return [i for i in self.caused if i.is_error]

    @property
    def issues(self) -> list[Issue]:
        """Everything the edit is responsible for: its own file's issues, then the rest."""
        return [*self.own, *self.caused]

    @property
    def serves(self) -> bool:
        """Whether the board will serve this configuration once saved (a configuration with
        any error anywhere is not served: the last good one keeps serving)."""
        return self.loaded.ok


def validate_candidate(
    config_dir: Path, path: Path, candidate_text: str, *, fresh: bool = False
) -> CandidateCheck:
    """Validate config/ as it would be with `path` holding `candidate_text` (nothing on disk
    changes): a copy of the config folder is checked, and its issues are split into those
    in the edited file, those elsewhere caused by the edit, and those elsewhere already.

    The issues of the configuration on disk now are cached while no file changes (the editor
    checks on every keystroke); `fresh` reloads them regardless (a save does)."""
    root = config_dir.resolve()
    relative = _relative(config_dir, path)
    stamp, current, defined_in = _current(root, fresh=fresh)
    # The page checks on every run; the same text against the same files (definitions and
    # data) gets the same answer, so it is worked out once.
    key = (
        root,
        relative.as_posix(),
        hashlib.sha256(candidate_text.encode("utf-8")).hexdigest(),
        stamp,
        _data_stamp(root),
    )
    with _CHECKS_LOCK:
        known = _CHECKS.get(key)
    if known is not None and not fresh:
        return known
    check = _check_candidate(root, relative, candidate_text, current, defined_in)
    with _CHECKS_LOCK:
        # Only checks against the files as they are now are kept (with what hangs off
        # them, such as a preview's board).
        for stale in [k for k in _CHECKS if k[0] == root and k[3:] != key[3:]]:
            del _CHECKS[stale]
        _CHECKS[key] = check
        while len(_CHECKS) > CHECKS_KEPT:
            _CHECKS.pop(next(iter(_CHECKS)))
    return check


CHECKS_KEPT = 32  # candidate checks remembered (an analyst's last few edits)
_CHECKS: dict[tuple[object, ...], CandidateCheck] = {}
_CHECKS_LOCK = threading.Lock()


def _data_stamp(root: Path) -> str:
    """Changes whenever a file in the data folder the configuration reads changes."""
    folder = _DATA_DIRS.get(root)
    if folder is None or not folder.is_dir():
        return ""
    return fingerprint([p for p in folder.rglob("*") if p.is_file()])


def _check_candidate(
    root: Path,
    relative: Path,
    candidate_text: str,
    current: list[Issue],
    defined_in: dict[str, str],
) -> CandidateCheck:
    """The check itself, against the issues of the files on disk now (`current`); a
    duplicate id keeps the definition on disk now (`defined_in`: an edit never replaces it)."""
    edited = f"{root.name}/{relative.as_posix()}"
    with tempfile.TemporaryDirectory(prefix="alliance-board-edit-") as scratch:
        # Named like the real folder, so issues name files the same way in both loads.
        copy = Path(scratch) / root.name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(HISTORY_DIR, "*.tmp"))
        target = copy / relative
        if target.is_symlink():  # never write through a link, even in the scratch copy
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(candidate_text, encoding="utf-8")
        # Data paths are relative to the config folder: keep pointing at the real data.
        sources = copy / "sources.yaml"
        if sources.is_file():
            sources.write_text(
                _with_data_dir(sources.read_text(encoding="utf-8"), root), encoding="utf-8"
            )
        loaded = load_config(copy, served=defined_in)
    own = [i for i in loaded.issues if i.file == edited]
    already = Counter(_issue_key(i, edited) for i in current if i.file != edited)
    caused, before = [], []
    for issue in (i for i in loaded.issues if i.file != edited):
        key = _issue_key(issue, edited)
        if already[key] > 0:
            already[key] -= 1
            before.append(issue)
        else:
            caused.append(issue)
    return CandidateCheck(_relocated(loaded, root), edited, own, caused, before)


_CURRENT: dict[Path, tuple[str, list[Issue], dict[str, str]]] = {}
_DATA_DIRS: dict[Path, Path] = {}


def _current_issues(root: Path, *, fresh: bool) -> list[Issue]:
    """The issues of the configuration on disk, reloaded when any of its files changes."""
    return _current(root, fresh=fresh)[1]


def _current(root: Path, *, fresh: bool) -> tuple[str, list[Issue], dict[str, str]]:
    """(stamp, issues, the file defining each metric id) of the configuration on disk."""
    stamp = fingerprint(config_files(root))
    cached = _CURRENT.get(root)
    if fresh or cached is None or cached[0] != stamp:
        loaded = load_config(root)
        defined_in = {mid: origin.file for mid, origin in loaded.catalogue.origins.items()}
        cached = (stamp, loaded.issues, defined_in)
        _CURRENT[root] = cached
        _DATA_DIRS[root] = loaded.catalogue.data_dir.resolve()
    return cached


def _issue_key(issue: Issue, edited: str) -> tuple[object, ...]:
    """An issue's identity for "was it there before the edit?": hints are left out (they
    name the closest known id, which an edit can change) and so are line numbers the
    message quotes from the edited file (an edit above them moves them)."""
    message = re.sub(rf"{re.escape(edited)}:\d+", edited, issue.message)
    return (issue.level, issue.file, issue.line, issue.column, issue.field, message)


def _with_data_dir(sources_text: str, config_dir: Path) -> str:
    """Rewrite data_dir as an absolute path so a scratch copy reads the same files. The
    line stays where it was (or is added at the end), so no issue's line number moves."""
    setting = _data_dir_setting(sources_text)
    if setting is None:
        return sources_text  # reported by the parse stage; nothing to point anywhere
    data_dir = (config_dir / setting).resolve()
    line = f"data_dir: {json.dumps(str(data_dir))}"  # JSON strings are YAML strings
    if re.search(r"^data_dir:", sources_text, flags=re.M):
        return re.sub(r"^data_dir:.*$", lambda _: line, sources_text, count=1, flags=re.M)
    body = sources_text if sources_text.endswith("\n") else sources_text + "\n"
    return body + line + "\n"


@functools.lru_cache(maxsize=8)
def _data_dir_setting(sources_text: str) -> str | None:
    """sources.yaml's data_dir (None when the file does not parse to a mapping). Kept for
    the same text: parsing the whole file was a large part of checking an edit, and the
    editor checks on every edit of a metrics file, which leaves sources.yaml as it is."""
    try:
        data = yaml.safe_load(sources_text) or {}
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    return str(data.get("data_dir", "../sample_data"))


def _relocated(loaded: ConfigLoad, config_dir: Path) -> ConfigLoad:
    catalogue = dataclasses.replace(loaded.catalogue, config_dir=config_dir)
    return ConfigLoad(catalogue, loaded.issues)


# --------------------------------------------------------------------------- history


def history_folder(config_dir: Path, path: Path) -> Path:
    relative = _relative(config_dir, path)
    return config_dir / HISTORY_DIR / str(relative.with_suffix("")).replace(os.sep, "__")


@dataclass(frozen=True)
class Version:
    path: Path
    saved_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.saved_at:%d %b %Y %H:%M:%S} UTC"


def history(config_dir: Path, path: Path) -> list[Version]:
    """Earlier versions of `path`, newest first."""
    folder = history_folder(config_dir, path)
    versions = []
    for item in folder.glob("*.yaml"):
        try:
            stamp = dt.datetime.strptime(item.stem[:22], "%Y%m%dT%H%M%S_%f")
        except ValueError:
            continue
        versions.append(Version(item, stamp))
    return sorted(versions, key=lambda v: v.saved_at, reverse=True)


# --------------------------------------------------------------------------- locking


_REGISTRY = threading.Lock()
_THREAD_LOCKS: dict[Path, threading.Lock] = {}


def _thread_lock(root: Path) -> threading.Lock:
    with _REGISTRY:
        return _THREAD_LOCKS.setdefault(root, threading.Lock())


@contextlib.contextmanager
def config_lock(config_dir: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the save lock of a config folder: one save at a time, across threads and
    processes.

    One lock for the folder, not one per file: validation now covers the whole
    configuration, so two saves of different files can still break each other (two
    analysts adding the same metric id to two files would each validate alone). The thread
    lock serialises sessions of this process without relying on how flock treats two
    descriptors in one process; the flock serialises the site processes behind a proxy.
    BusyError if the lock is not free within `timeout` seconds (LOCK_TIMEOUT by default).
    """
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    root = config_dir.resolve()
    deadline = time.monotonic() + timeout
    lock = _thread_lock(root)
    if not lock.acquire(timeout=timeout):
        raise BusyError(timeout)
    try:
        with _os_lock(root, deadline, timeout):
            yield
    finally:
        lock.release()


@contextlib.contextmanager
def _os_lock(root: Path, deadline: float, timeout: float) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    folder = root / HISTORY_DIR
    folder.mkdir(exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(folder / LOCK_FILE, flags, 0o600)
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # Polled rather than blocking, so a stuck process cannot hang every session.
                if time.monotonic() >= deadline:
                    raise BusyError(timeout) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the flock


def clean_stale_temporaries(folder: Path, *, older_than: float = STALE_TEMP_AGE) -> list[Path]:
    """Remove temporary files a killed save left in `folder` (`.<name>.yaml.*.tmp`): only
    those older than `older_than` seconds that no live save holds locked. Returns them."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for item in folder.glob(TEMP_PATTERN):
        try:
            if item.is_symlink() or not item.is_file():
                continue
            if now - item.stat().st_mtime < older_than:
                continue  # perhaps a save in progress in a process that does not lock
            descriptor = os.open(item, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live atomic_write holds it
            item.unlink(missing_ok=True)
            removed.append(item)
        finally:
            os.close(descriptor)
    return removed


# --------------------------------------------------------------------------- writing


def _fsync_directory(folder: Path) -> None:
    """Make a rename in `folder` durable (the rename lives in the folder, not the file)."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Some filesystems cannot fsync a folder; the data itself is already fsynced.
        if error.errno not in {errno.EINVAL, errno.ENOTSUP, errno.EBADF}:
            raise
    finally:
        os.close(descriptor)


def atomic_write(
    path: Path, text: str, *, before_replace: Callable[[], None] | None = None
) -> None:
    """Write `text` to `path` so that readers see the old or the new file, never half.

    The temporary file is flocked while it exists, so a cleaner never removes a live one;
    `before_replace` runs just before the rename (a last check that may raise to abandon
    the write). If anything fails, the temporary file is removed and `path` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            if fcntl is not None:
                fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
            if path.exists():
                shutil.copymode(path, temporary)
            if before_replace is not None:
                before_replace()
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the history entry of the version it replaced (None for a new file)
    and the validation it passed, done under the lock."""

    previous: Version | None
    check: CandidateCheck

    @property
    def broke_elsewhere(self) -> list[Issue]:
        """Errors in other files the analyst chose to save anyway."""
        return self.check.caused_errors


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def save_file(
    config_dir: Path,
    path: Path,
    new_text: str,
    *,
    expected_hash: str,
    allow_breaking_others: bool = False,
) -> SaveResult:
    """Validate and save `new_text` to `path`, keeping the old version in the history.

    Everything from comparing to renaming happens under `config_lock`. Raises (nothing
    written in each case): UnsafePathError for a symlink, a path outside the config folder
    or a file that is not a definition; ConflictError if the file on disk is not the one
    that was opened (`expected_hash`), checked first and again just before the rename;
    InvalidDefinitionError if the new text has errors in its own file; BreaksOtherFilesError
    if it makes another file invalid, unless `allow_breaking_others` (then the board keeps
    serving the last good configuration until that file is fixed); BusyError if another
    save holds the lock too long.
    """
    target = checked_path(config_dir, path)
    with config_lock(config_dir):
        folder = history_folder(config_dir, target)
        for place in (target.parent, folder):
            clean_stale_temporaries(place)
        current = _read(target)
        if text_hash(current) != expected_hash:
            raise ConflictError(target, current)
        check = validate_candidate(config_dir, target, new_text, fresh=True)
        if check.errors:
            raise InvalidDefinitionError(check.errors)
        if check.caused_errors and not allow_breaking_others:
            raise BreaksOtherFilesError(check.caused_errors)
        # Validation takes a moment, and a text editor on the server does not take our
        # lock: look once more, as late as possible, and refuse rather than overwrite.
        checked_path(config_dir, target)

        def unchanged() -> None:
            now = _read(target)
            if text_hash(now) != expected_hash:
                raise ConflictError(target, now)

        previous = None
        if target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC)
            kept = folder / f"{stamp:%Y%m%dT%H%M%S_%f}.yaml"
            atomic_write(kept, current)
            previous = Version(kept, stamp.replace(tzinfo=None))
        try:
            atomic_write(target, new_text, before_replace=unchanged)
        except BaseException:
            # Not replaced after all (a conflict, a full disk): the history entry would
            # duplicate what is still on disk. If the rename did happen, keep it.
            with contextlib.suppress(OSError):
                if previous is not None and _read(target) != new_text:
                    previous.path.unlink(missing_ok=True)
            raise
        return SaveResult(previous, check)


def restore(
    config_dir: Path,
    path: Path,
    version: Version,
    *,
    expected_hash: str,
    allow_breaking_others: bool = False,
) -> SaveResult:
    """Put an earlier version back (itself validated, and the current one kept in history)."""
    return save_file(
        config_dir,
        path,
        version.path.read_text(encoding="utf-8"),
        expected_hash=expected_hash,
        allow_breaking_others=allow_breaking_others,
    )
