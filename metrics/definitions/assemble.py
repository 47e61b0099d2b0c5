"""Assembling the metric catalogue from many files, so that one mistake is one message.

`metrics.definitions.validate.load_definitions` calls these around its rules:

- **Salvage.** An item (a source, a metric) that fails the schema is not served, but a
  copy with the faulty parts removed is still checked against everything else, so every
  problem of one metric is reported in one run (a wrong `better:` does not hide an
  unknown breakdown column until the next run).
- **No follow-on errors.** A reference to something already reported as broken (a source
  whose `values:` are numbers, a domain in a framework.yaml that does not parse, a
  column whose settings are wrong) is not reported again at every metric that uses it;
  those metrics are counted as waiting on the broken thing.
- **Duplicate ids** are an error at both definitions; the earlier one keeps serving (the
  one in the file written first: a new or just-edited file is the later one), so a new
  file that sorts first never silently replaces a live definition.
- **Parameterised metrics** (`for_each`): one definition, one metric per value of a
  column, each with its own id, title and page. Values written in the definition are
  expanded here; `values_from: data` (and `labels_from`) when the data are loaded
  (`metrics.sql.expand.expand_from_data`). Problems in the definition are reported once,
  at the definition.
- **The summary**: how many metrics are valid, have errors, or wait on a source with
  errors (`metric_counts`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from metrics.definitions.catalogue import Origin, fragment_texts
from metrics.definitions.issues import Issue, did_you_mean
from metrics.definitions.models import ColumnType, MetricDef, SourceDef

if TYPE_CHECKING:
    pass

Loc = tuple[Any, ...]
_GONE = object()  # marks a value removed by salvage

# Placeholders for required fields removed by salvage: they let the rest of the item be
# checked; issues at their place are never reported (the schema error already was).
PLACEHOLDERS: dict[str, Any] = {
    "type": "string",
    "title": "",
    "unit": "",
    "better": "neutral",
    "domain": "",
    "source": "",
    "grain": "monthly",
    "path": "",
    "date_column": "",
    "columns": {},
    "population": "",
}
MAX_EXPANDED = 1_000  # values one for_each may take from the data


# --------------------------------------------------------------------------- salvage


def salvage(model: type[BaseModel], data: Any) -> tuple[Any, list[Loc]]:
    """A valid model from `data` with the faulty parts removed (and required fields given
    placeholders), and the paths removed; (None, paths) when nothing sensible is left."""
    if not isinstance(data, dict):
        return None, []
    work = copy.deepcopy(data)
    broken: list[Loc] = []
    placed: set[Loc] = set()
    removed: set[Loc] = set()
    for _ in range(8):
        try:
            return model.model_validate(work), broken
        except ValidationError as exc:
            errors = exc.errors()
        for error in errors:
            loc = tuple(error["loc"])
            options = _placeholder(work, loc) if loc else {}
            if loc and isinstance(loc[-1], str) and loc[-1] in options and loc not in placed:
                _put(work, loc, copy.deepcopy(options[loc[-1]]))
                placed.add(loc)
                broken.append(loc)
                continue
            # Remove the faulty part (a required one: what holds it).
            target = loc[:-1] if error["type"] == "missing" else loc
            while target and target in removed:  # removing it was not enough
                target = target[:-1]
            if not target:
                return None, broken  # the item as a whole is wrong
            _put(work, target, _GONE)
            removed.add(target)
            broken.append(target)
        work = _purge(work)
    return None, broken


def _placeholder(work: Any, loc: Loc) -> dict[str, Any]:
    if len(loc) == 1 and loc[0] == "measure" and isinstance(work, dict):
        guess = "count"
        if work.get("numerator") is not None:
            guess = "ratio"
        elif work.get("rate") is not None:
            guess = "rate"
        elif work.get("value") is not None:
            guess = "sum"
        return {"measure": guess}
    return PLACEHOLDERS


def _put(data: Any, loc: Loc, value: Any) -> None:
    holder = data
    for part in loc[:-1]:
        try:
            holder = holder[part]
        except (KeyError, IndexError, TypeError):
            return
    with contextlib.suppress(IndexError, TypeError):
        holder[loc[-1]] = value


def _purge(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _purge(v) for k, v in data.items() if v is not _GONE}
    if isinstance(data, list):
        return [_purge(v) for v in data if v is not _GONE]
    return data


def under(path: Loc, broken: Iterable[Loc]) -> bool:
    """Whether `path` is at, inside or around a removed part."""
    for gone in broken:
        size = min(len(gone), len(path))
        if tuple(str(p) for p in gone[:size]) == tuple(str(p) for p in path[:size]):
            return True
    return False


# --------------------------------------------------------------------------- follow-ons

# Messages that name something by id: (pattern, kind of thing named).
_REFERENCES = (
    (re.compile(r"unknown (?:population )?source '([^']*)'"), "source"),
    (re.compile(r"unknown domain '([^']*)'"), "domain"),
    (re.compile(r"unknown outcome '([^']*)'"), "outcome"),
    (re.compile(r"unknown (?:intervention|shock) '([^']*)'"), "intervention"),
    (re.compile(r"unknown (?:comparison )?metric '([^']*)'"), "metric"),
)


@dataclass
class Broken:
    """What is already reported as broken, so references to it are not reported again."""

    ids: dict[str, set[str]] = field(default_factory=dict)  # kind -> ids with errors
    opaque: set[str] = field(default_factory=set)  # kinds whose whole file is unreadable
    # source id -> paths removed by salvage (its columns' settings, say)
    sources: dict[str, list[Loc]] = field(default_factory=dict)

    def add(self, kind: str, item_id: str) -> None:
        self.ids.setdefault(kind, set()).add(item_id)

    def named(self, kind: str, item_id: str) -> bool:
        return kind in self.opaque or item_id in self.ids.get(kind, set())

    def source_columns(self, source_id: str) -> set[str] | None:
        """Columns of a salvaged source whose settings are broken (None: all of them)."""
        paths = self.sources.get(source_id)
        if paths is None:
            return set()
        names: set[str] = set()
        for path in paths:
            if path == ("columns",) or path[:1] == ("date_column",):
                return None
            if path[:1] == ("columns",):
                names.add(str(path[1]))
        return names


def is_follow_on(issue: Issue, broken: Broken, metric: MetricDef | None) -> bool:
    """Whether `issue` only repeats a problem already reported (a reference to a broken
    thing, or a metric's use of a broken source's columns)."""
    for pattern, kind in _REFERENCES:
        found = pattern.search(issue.message)
        if found and broken.named(kind, found.group(1)):
            return True
    if metric is None:
        return False
    for source_id in {metric.source, metric.rate.population if metric.rate else metric.source}:
        if source_id not in broken.sources:
            continue
        columns = broken.source_columns(source_id)
        if columns is None:
            return "column" in issue.message or issue.stage == "sql"
        if any(re.search(rf"\b{re.escape(c)}\b", issue.message) for c in columns):
            return True
        if issue.stage == "sql" and any(_reads(metric, c) for c in columns):
            return True
    return False


def _reads(metric: MetricDef, column: str) -> bool:
    texts = [t for t in fragment_texts(metric).values() if t]
    texts += [metric.date or "", *metric.breakdowns]
    return any(re.search(rf"\b{re.escape(column)}\b", t) for t in texts)


def metric_of(issue: Issue) -> str | None:
    """The metric id an issue's field names (``metrics[id].source`` -> id)."""
    found = re.match(r"metrics\[([^\]]+)\]", issue.field)
    return found.group(1) if found else None


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class Definition:
    """One metric as written: where, and the model (salvaged ones are never served)."""

    display: str  # file, as issues name it
    line: int
    index: int
    metric: MetricDef
    written: int  # the file's modification time (ns): earlier files keep their ids
    order: int  # position in the catalogue's file order
    salvaged: tuple[Loc, ...] | None = None  # removed parts, for a salvaged metric

    @property
    def origin(self) -> Origin:
        return Origin(self.display, self.line)


def keeper(definitions: list[Definition], served_in: str | None = None) -> Definition:
    """Of several definitions of one id, the one that keeps serving: a valid one before a
    salvaged one, then the one in `served_in` (the file that defines the id in the
    configuration being served, when known), then the one in the file written first (a
    new or just-edited file is the later one), then file order."""
    return min(
        definitions,
        key=lambda d: (d.salvaged is not None, d.display != served_in, d.written, d.order, d.index),
    )


def duplicate_messages(metric_id: str, kept: Definition, other: Definition) -> tuple[str, str]:
    """(message at the kept definition, message at the other one)."""
    return (
        f"duplicate metric id '{metric_id}': it is also defined at {other.display}:"
        f"{other.line}; this definition (the earlier) keeps serving, the other is not served",
        f"duplicate metric id '{metric_id}' (first defined at {kept.display}:{kept.line}, "
        "which keeps serving): this definition is not served",
    )


DUPLICATE_HINT = "ids must be unique across every metric file: rename one of them"


# --------------------------------------------------------------------------- for_each


def value_slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")


def expanded_id(template_id: str, value: str) -> str:
    return f"{template_id}_{value_slug(value)}"


def _titled(text: str, value: str, label: str, default_suffix: bool) -> str:
    if "{label}" in text or "{value}" in text:
        return text.replace("{label}", label).replace("{value}", value)
    return f"{text}: {label}" if default_suffix else text


def expand(
    template: MetricDef, values: Iterable[str], labels: Mapping[str, str] | None = None
) -> list[MetricDef]:
    """One metric per value: id `<id>_<value>`, title with the value's label, and its
    for_each narrowed to that value (the compiler selects its rows by it)."""
    each = template.for_each
    assert each is not None
    names = {**(labels or {}), **each.labels}
    out = []
    for value in values:
        label = names.get(value) or value
        narrowed = each.model_copy(update={"values": [value], "values_from": None})
        out.append(
            template.model_copy(
                update={
                    "id": expanded_id(template.id, value),
                    "title": _titled(template.title, value, label, True),
                    "description": _titled(template.description, value, label, False),
                    "for_each": narrowed,
                }
            )
        )
    return out


def for_each_problems(
    template: MetricDef, sources: Mapping[str, SourceDef], taken: set[str]
) -> list[tuple[Loc, str, str, str]]:
    """(path under the metric, message, hint, level) for a for_each block that cannot be
    expanded as written; `taken`: ids of every other metric."""
    each = template.for_each
    assert each is not None
    source = sources.get(template.source)
    if source is None:
        return []  # an unknown source is reported by the reference rules
    problems: list[tuple[Loc, str, str, str]] = []
    column = source.columns.get(each.column)
    if column is None:
        problems.append(
            (
                ("for_each", "column"),
                f"unknown column '{each.column}' in source '{source.id}'",
                did_you_mean(each.column, source.columns)
                or f"columns: {', '.join(source.columns)}",
                "error",
            )
        )
    elif column.type not in {ColumnType.category, ColumnType.string, ColumnType.integer}:
        problems.append(
            (
                ("for_each", "column"),
                f"cannot make one metric per value of '{each.column}': it is a "
                f"{column.type} column",
                "use a category, string or integer column (a provider or team code)",
                "error",
            )
        )
    if each.labels_from is not None and each.labels_from not in source.columns:
        problems.append(
            (
                ("for_each", "labels_from"),
                f"unknown column '{each.labels_from}' in source '{source.id}'",
                did_you_mean(each.labels_from, source.columns),
                "error",
            )
        )
    if each.column in template.breakdowns:
        position = template.breakdowns.index(each.column)
        problems.append(
            (
                ("breakdowns", position),
                f"each metric of for_each has one value of '{each.column}', so breaking it "
                "down by that column shows one group",
                "remove the breakdown",
                "warning",
            )
        )
    values = each.values or []
    declared = column.values if column is not None else None
    seen: dict[str, str] = {}
    for position, value in enumerate(values):
        where = ("for_each", "values", position)
        if declared is not None and value not in declared:
            problems.append(
                (
                    where,
                    f"'{value}' is not a value of '{each.column}' in source '{source.id}'",
                    did_you_mean(value, declared) or f"values: {', '.join(declared)}",
                    "error",
                )
            )
        slug = value_slug(value)
        new_id = expanded_id(template.id, value)
        if not slug:
            problems.append(
                (where, f"'{value}' gives no metric id (no letters or digits)", "", "error")
            )
        elif slug in seen:
            problems.append(
                (
                    where,
                    f"'{value}' and '{seen[slug]}' both give the metric id '{new_id}'",
                    "values must differ in their letters or digits",
                    "error",
                )
            )
        elif new_id in taken:
            problems.append(
                (
                    where,
                    f"'{value}' gives the metric id '{new_id}', which another metric already has",
                    "rename the definition's id or the other metric",
                    "error",
                )
            )
        seen.setdefault(slug, value)
    for name in each.labels:
        if values and name not in values:
            problems.append(
                (
                    ("for_each", "labels", name),
                    f"labels names '{name}', which is not among the values",
                    did_you_mean(name, values),
                    "warning",
                )
            )
    return problems


def rewrite_expanded(issue: Issue, expanded_from: Mapping[str, str]) -> Issue:
    """An issue about one metric of a for_each definition, said of the definition (every
    metric of it has the same problem: it is reported once)."""
    metric_id = metric_of(issue)
    template = expanded_from.get(metric_id or "")
    if template is None:
        return issue
    return dataclasses.replace(
        issue,
        field=issue.field.replace(f"metrics[{metric_id}]", f"metrics[{template}]", 1),
        message=issue.message.replace(f"metric '{metric_id}'", f"metric '{template}'"),
    )


def once(issues: Iterable[Issue]) -> list[Issue]:
    """The issues without exact repeats, in order."""
    seen: set[Issue] = set()
    out = []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            out.append(issue)
    return out


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class MetricCounts:
    valid: int
    with_errors: int
    waiting: int  # not served because a source they read has errors

    def words(self) -> str:
        text = f"{self.valid} metric(s) valid"
        if self.with_errors:
            text += f", {self.with_errors} with errors"
        if self.waiting:
            text += f", {self.waiting} waiting for a source with errors"
        return text


def metric_counts(
    defined: Iterable[tuple[str, str | None]],
    served: Iterable[str],
    issues: Iterable[Issue],
    waiting: Mapping[str, str],
) -> MetricCounts:
    """Count every metric defined ((id, or file:line for one without an id; its for_each
    definition's id)) as valid, with errors (of its own), or waiting for a source (or
    file) with errors."""
    failing = {metric_of(i) for i in issues if i.is_error}
    served = set(served)
    valid = with_errors = waiting_count = 0
    for label, template in defined:
        if label in failing or (template is not None and template in failing):
            with_errors += 1
        elif label in waiting or (template is not None and template in waiting):
            waiting_count += 1
        elif label in served:
            valid += 1
        else:
            with_errors += 1
    return MetricCounts(valid, with_errors, waiting_count)
