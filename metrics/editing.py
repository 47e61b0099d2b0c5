"""Safe editing of metric definitions: locate, validate a candidate, diff, save atomically
with a restorable history, and detect that a file changed on disk since it was opened.

Whatever an analyst types, the file on disk is either the old valid version or the new
valid version, never a mixture: a save writes a temporary file in the same folder and
renames it over the original (atomic on POSIX), and refuses when the candidate has errors
or when the file changed since it was read.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from metrics.definitions.catalogue import METRICS_DIR
from metrics.definitions.issues import Issue
from metrics.definitions.validate import ConfigLoad, load_config
from metrics.definitions.yaml_positions import YamlSyntaxError, load_yaml

HISTORY_DIR = ".history"  # under the config folder; not read by the catalogue


class ConflictError(RuntimeError):
    """The file changed on disk since it was opened; `current_text` is what is there now."""

    def __init__(self, path: Path, current_text: str) -> None:
        super().__init__(f"{path.name} changed on disk since it was opened")
        self.path = path
        self.current_text = current_text


class InvalidDefinitionError(ValueError):
    """The candidate has errors; nothing was written."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} error(s); nothing was saved")
        self.issues = issues


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def validate_candidate(
    config_dir: Path, path: Path, candidate_text: str
) -> tuple[ConfigLoad, list[Issue]]:
    """Validate config/ as it would be with `path` holding `candidate_text` (nothing on disk
    changes): a copy of the config folder is checked. Returns the load and the issues in
    the edited file (problems elsewhere are not the editor's to fix)."""
    with tempfile.TemporaryDirectory(prefix="alliance-board-edit-") as scratch:
        copy = Path(scratch) / config_dir.name
        shutil.copytree(config_dir, copy, ignore=shutil.ignore_patterns(HISTORY_DIR))
        relative = path.resolve().relative_to(config_dir.resolve())
        (copy / relative).write_text(candidate_text, encoding="utf-8")
        # Data paths are relative to the config folder: keep pointing at the real data.
        sources = copy / "sources.yaml"
        sources.write_text(
            _with_data_dir(sources.read_text(encoding="utf-8"), config_dir), encoding="utf-8"
        )
        loaded = load_config(copy)
    edited = f"{config_dir.name}/{relative}"
    own = [i for i in loaded.issues if i.file == edited]
    return _relocated(loaded, config_dir), own


def _with_data_dir(sources_text: str, config_dir: Path) -> str:
    """Rewrite data_dir as an absolute path so a scratch copy reads the same files."""
    data = yaml.safe_load(sources_text) or {}
    data_dir = (config_dir / str(data.get("data_dir", "../sample_data"))).resolve()
    if re.search(r"^data_dir:", sources_text, flags=re.M):
        return re.sub(
            r"^data_dir:.*$", f"data_dir: '{data_dir}'", sources_text, count=1, flags=re.M
        )
    return f"data_dir: '{data_dir}'\n" + sources_text


def _relocated(loaded: ConfigLoad, config_dir: Path) -> ConfigLoad:
    import dataclasses

    catalogue = dataclasses.replace(loaded.catalogue, config_dir=config_dir)
    return ConfigLoad(catalogue, loaded.issues)


def history_folder(config_dir: Path, path: Path) -> Path:
    relative = path.resolve().relative_to(config_dir.resolve())
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


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_file(config_dir: Path, path: Path, new_text: str, *, expected_hash: str) -> Version | None:
    """Validate and save `new_text` to `path`, keeping the old version in the history.

    Raises ConflictError if the file on disk is not the one that was opened
    (`expected_hash`), and InvalidDefinitionError if the new text has errors in this file.
    Returns the history entry of the previous version (None for a new file).
    """
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if text_hash(current) != expected_hash:
        raise ConflictError(path, current)
    _, issues = validate_candidate(config_dir, path, new_text)
    errors = [i for i in issues if i.is_error]
    if errors:
        raise InvalidDefinitionError(errors)
    previous = None
    if path.exists():
        folder = history_folder(config_dir, path)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC)
        kept = folder / f"{stamp:%Y%m%dT%H%M%S_%f}.yaml"
        atomic_write(kept, current)
        previous = Version(kept, stamp.replace(tzinfo=None))
    atomic_write(path, new_text)
    return previous


def restore(
    config_dir: Path, path: Path, version: Version, *, expected_hash: str
) -> Version | None:
    """Put an earlier version back (itself validated, and the current one kept in history)."""
    return save_file(
        config_dir, path, version.path.read_text(encoding="utf-8"), expected_hash=expected_hash
    )


def slug(title: str, taken: set[str]) -> str:
    """A lower_snake_case id from a title, unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "metric"
    if not base[0].isalpha():
        base = f"m_{base}"
    candidate, number = base[:60], 2
    while candidate in taken:
        candidate, number = f"{base[:56]}_{number}", number + 1
    return candidate


def new_metric_item(
    *,
    metric_id: str,
    title: str,
    domain: str,
    source: str,
    measure: str,
    unit: str,
    better: str,
    date: str | None = None,
    value: str | None = None,
    filter: str | None = None,
    numerator_filter: str | None = None,
    population: str | None = None,
    breakdowns: list[str] | None = None,
    owner: str = "",
) -> str:
    """YAML for one new metric (a list item), with sensible defaults spelt out."""
    item: dict[str, object] = {"id": metric_id, "title": title, "description": "", "domain": domain}
    item["source"] = source
    if date:
        item["date"] = date
    item["measure"] = measure
    if value and measure not in {"count", "ratio", "rate"}:
        item["value"] = value
    if filter:
        item["filter"] = filter
    if measure == "ratio":
        item["numerator"] = {"filter": numerator_filter or "TRUE"}
    if measure == "rate":
        item["rate"] = {"population": population or "population", "per": 100000}
    item["unit"] = "%" if measure == "ratio" else unit
    if measure in {"ratio", "mean", "median", "rate"} or measure.startswith("p"):
        item["decimals"] = 1
    item["better"] = better
    if breakdowns:
        item["breakdowns"] = list(breakdowns)
    item["owner"] = owner
    item["status"] = "draft"
    text = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(("  " + line) if line else line for line in text.splitlines()) + "\n"


def append_item(file_text: str, item_text: str) -> str:
    """`file_text` (a metrics file) with `item_text` added at the end of its list."""
    if not file_text.strip():
        return (
            "# yaml-language-server: $schema=../schema/metrics.schema.json\nmetrics:\n" + item_text
        )
    body = file_text if file_text.endswith("\n") else file_text + "\n"
    return body + "\n" + item_text
