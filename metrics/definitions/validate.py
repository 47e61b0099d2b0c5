"""Staged validation of config/: parse, schema, references, data.

Every stage reports all the problems it finds (never just the first), each as an `Issue`
with file, line, column and field, and a hint where one is obvious. Later stages run on
whatever passed the earlier ones, so one broken metric never hides the problems of another
and never stops the valid ones from being served.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError
from sqlglot import exp

from metrics.definitions.assemble import (
    DUPLICATE_HINT,
    Broken,
    Definition,
    MetricCounts,
    duplicate_messages,
    expand,
    expand_from_data,
    for_each_problems,
    is_follow_on,
    keeper,
    metric_counts,
    metric_of,
    once,
    rewrite_expanded,
    salvage,
    under,
)
from metrics.definitions.catalogue import (
    CONFIG_FILES,
    METRICS_DIR,
    Catalogue,
    Origin,
    config_files,
    fingerprint,
)
from metrics.definitions.issues import Issue, did_you_mean, sort_issues
from metrics.definitions.models import (
    BoardFile,
    ColumnType,
    DisclosureFile,
    FrameworkFile,
    InterventionDef,
    InterventionsFile,
    MetricDef,
    MetricsFile,
    ShowcaseFile,
    SlideDef,
    SourceDef,
    SourcesFile,
)
from metrics.definitions.yaml_hints import shown_value, syntax_hint, value_hint
from metrics.definitions.yaml_positions import LoadedYaml, YamlSyntaxError, load_yaml
from metrics.definitions.yaml_positions import Path as YPath
from metrics.sql.compiler import table, table_name
from metrics.sql.warehouse import (
    SQL_TYPES,
    Warehouse,
    date_format_problem,
    quote,
    resolve_data_dir,
)

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MIN_POINTS_REFUSE = 3  # ITS: fewer points than this in a segment cannot be modelled
MIN_POINTS_WARN = 12  # ITS: fewer than this gives unstable estimates


@dataclass
class _File:
    path: Path
    display: str
    loaded: LoadedYaml | None = None


@dataclass
class ConfigLoad:
    """The result of the parse, schema and reference stages."""

    catalogue: Catalogue
    issues: list[Issue] = field(default_factory=list)
    # Every metric defined, for the summary: (id, or file:line when it has none; its
    # for_each definition's id or None), and why a metric without errors of its own is
    # not served (it reads a source with errors, say).
    defined: tuple[tuple[str, str | None], ...] = ()
    waiting: dict[str, str] = field(default_factory=dict)
    data_dir_at: Issue | None = None  # where data_dir is set (file, line), for messages

    @property
    def ok(self) -> bool:
        return not any(i.is_error for i in self.issues)


# --------------------------------------------------------------------------- helpers


def _display(path: Path, config_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(config_dir.resolve().parent))
    except ValueError:
        return str(path)


def _field_name(path: YPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _issue_at(
    file: _File,
    path: YPath,
    message: str,
    *,
    hint: str = "",
    level: str = "error",
    key: bool = False,
    stage: str = "schema",
    label: str | None = None,
) -> Issue:
    position = None
    if file.loaded is not None:
        position = file.loaded.key_position(path) if key else file.loaded.position(path)
    return Issue(
        level,  # type: ignore[arg-type]
        stage,  # type: ignore[arg-type]
        file.display,
        message,
        line=position.line if position else 0,
        column=position.column if position else 0,
        field=label if label is not None else _field_name(path),
        hint=hint,
    )


def _friendly(error: dict[str, Any], model: type[BaseModel]) -> tuple[str, str, bool]:
    """(message, hint, points_at_key) for one pydantic error, in an analyst's words."""
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else ""
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        return (
            f"unknown field '{name}'",
            did_you_mean(name, allowed)
            or (f"allowed fields: {', '.join(sorted(allowed))}" if allowed else ""),
            True,
        )
    if kind == "missing":
        return f"'{name}' is required", "", False
    if kind in {"literal_error", "enum"}:
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (
            f"'{value}' is not allowed here; use one of: {', '.join(expected)}",
            did_you_mean(str(value), expected),
            False,
        )
    if kind == "string_pattern_mismatch":
        if name == "measure":
            return (
                f"'{value}' is not a measure; use count, sum, mean, median, pNN (e.g. p90), "
                "ratio or rate",
                did_you_mean(
                    str(value), ["count", "sum", "mean", "median", "ratio", "rate", "p90"]
                ),
                False,
            )
        if name == "seasonality":
            return (
                f"'{value}' is not a seasonality; use none, month or fourier:K (K = 1 to 6)",
                "",
                False,
            )
        if name in {"id", "domain", "source"} or "id" in name:
            return (
                f"'{value}' is not a valid id: use lower_snake_case (a-z, 0-9, _), "
                "starting with a letter",
                "",
                False,
            )
        return f"'{value}' does not have the expected form ({ctx.get('pattern', '')})", "", False
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, "), "", False
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        shown = "a list" if isinstance(value, list) else f"'{value}'"
        return f"expected a mapping (name: value lines), got {shown}", "", False
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = kind.removesuffix("_type").removesuffix("_parsing").replace("_", " ")
        shown = "a list or mapping" if isinstance(value, list | dict) else f"'{value}'"
        return f"expected {expected}, got {shown}", "", False
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"{value} is out of range: {error['msg'].lower()}", "", False
    if kind == "too_short":
        return f"'{name}' must not be empty", "", False
    return str(error["msg"]), "", False


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at `loc` inside `model` (following nested models)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", {})
        info = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
        current = _model_of(info.annotation) if info else None
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _model_of(annotation: Any) -> Any:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in getattr(candidate, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _validate(
    file: _File,
    model: type[BaseModel],
    data: Any,
    base: YPath,
    issues: list[Issue],
    label_prefix: str | None = None,
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            message, hint, at_key = _friendly(error, model)
            path = (*base, *error["loc"])
            raw = file.loaded.raw.get(path) if file.loaded is not None else None
            if raw is not None and error["type"].endswith("_type"):
                # A code YAML read as a number, a boolean or a date: say so, and how to quote.
                expected = message.split(",", 1)[0].replace("expected string", "expected text")
                message = f"{expected}, got {shown_value(raw, error.get('input'))}"
                hint = value_hint(raw, error.get("input")) or hint
            label = None
            if label_prefix is not None:
                label = ".".join([label_prefix, *(str(p) for p in error["loc"])]).rstrip(".")
            issues.append(_issue_at(file, path, message, hint=hint, key=at_key, label=label))
        return None


# --------------------------------------------------------------------------- stages 1 and 2


DEFAULT_MAX_METRICS = 5_000
DEFAULT_MAX_FILE_KB = 2_048


def _limit(name: str, default: int) -> int:
    """An operator's limit from the environment (not from the configuration it limits)."""
    try:
        return max(1, int(os.environ.get(name) or default))
    except ValueError:
        return default


def _parse(file: _File, issues: list[Issue]) -> None:
    limit_kb = _limit("ALLIANCE_MAX_CONFIG_FILE_KB", DEFAULT_MAX_FILE_KB)
    try:
        size = file.path.stat().st_size
    except OSError:
        size = 0
    if size > limit_kb * 1024:
        issues.append(
            Issue(
                "error",
                "parse",
                file.display,
                f"the file is {size / 1024:,.0f} KB; configuration files may be at most "
                f"{limit_kb:,} KB",
                hint="split it into several files, or ask the operator to raise "
                "ALLIANCE_MAX_CONFIG_FILE_KB",
            )
        )
        return
    try:
        raw = file.path.read_bytes()
    except FileNotFoundError:
        issues.append(Issue("error", "parse", file.display, "file not found"))
        return
    except OSError as exc:
        issues.append(Issue("error", "parse", file.display, f"cannot read the file: {exc}"))
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Point at the first bad byte: usually one pasted character (a Windows-1252 'é').
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        issues.append(
            Issue(
                "error",
                "parse",
                file.display,
                f"cannot read the file: it is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                line=line,
                column=column,
                hint="save the file as UTF-8",
            )
        )
        return
    try:
        file.loaded = load_yaml(text)
    except YamlSyntaxError as exc:
        lines = text.splitlines()
        line_text = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
        issues.append(
            Issue(
                "error",
                "parse",
                file.display,
                str(exc),
                line=exc.line,
                column=exc.column,
                hint=syntax_hint(str(exc), line_text),
            )
        )


def _items(
    file: _File,
    list_key: str,
    item_model: type[BaseModel],
    issues: list[Issue],
    container_model: type[BaseModel],
    salvaged: list[tuple[int, str, Any, list[Any]]] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Validate each item of a list file on its own, yielding (index, model) for good ones.

    Items with an id that fail are added to `salvaged` as (index, id, model with the
    faulty parts removed or None, paths removed), so the rest of them is still checked."""
    data = file.loaded.data if file.loaded else None
    if data is None:
        issues.append(_issue_at(file, (), f"the file is empty; expected a '{list_key}:' list"))
        return
    if not isinstance(data, dict) or list_key not in data:
        issues.append(
            _issue_at(file, (), f"expected a mapping with a '{list_key}:' list at the top")
        )
        return
    others = {k: v for k, v in data.items() if k != list_key}
    _validate(file, container_model, {**others, list_key: []}, (), issues)
    items = data[list_key]
    if not isinstance(items, list):
        issues.append(
            _issue_at(file, (list_key,), f"'{list_key}' must be a list (items start with '- ')")
        )
        return
    for index, item in enumerate(items):
        label = f"{list_key}[{index}]"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label = f"{list_key}[{item['id']}]"
        model = _validate(file, item_model, item, (list_key, index), issues, label_prefix=label)
        if model is not None:
            yield index, model
        elif salvaged is not None and isinstance(item, dict) and isinstance(item.get("id"), str):
            rescued, gone = salvage(item_model, item)
            salvaged.append((index, item["id"], rescued, gone))


def load_config(config_dir: Path | str, *, served: Mapping[str, str] | None = None) -> ConfigLoad:
    """Stages 1 to 3: parse, schema and references. The catalogue holds what passed.

    `served` maps metric ids to the file defining them in the configuration being served
    (the editor passes the one on disk): a duplicate id keeps that definition."""
    config_dir = Path(config_dir).resolve()
    issues: list[Issue] = []
    paths = config_files(config_dir)
    files = {p: _File(p, _display(p, config_dir)) for p in paths}
    if not config_dir.is_dir():
        issues.append(Issue("error", "parse", str(config_dir), "config folder not found"))
        return ConfigLoad(Catalogue(config_dir, config_dir), issues)
    for file in files.values():
        _parse(file, issues)

    def named(name: str) -> _File:
        return files[config_dir / name]

    broken_things = Broken()  # what is reported broken: references to it are not repeated
    sources_file = named("sources.yaml")
    if not _list_readable(sources_file, "sources"):
        broken_things.opaque.add("source")
    sources: dict[str, SourceDef] = {}
    source_files: dict[str, tuple[_File, int]] = {}
    data_dir_setting = "../sample_data"
    query_timeout = 10.0
    warehouse_url: str | None = None
    warehouse_schema: str | None = None
    if sources_file.loaded is not None:
        if isinstance(sources_file.loaded.data, dict):
            setting = sources_file.loaded.data.get("data_dir", data_dir_setting)
            # Anything but text is reported by the schema stage; keep the default meanwhile.
            data_dir_setting = setting if isinstance(setting, str) else data_dir_setting
            timeout = sources_file.loaded.data.get("query_timeout_seconds", query_timeout)
            if isinstance(timeout, int | float) and 0 < timeout <= 600:
                query_timeout = float(timeout)
            warehouse = sources_file.loaded.data.get("warehouse")
            if isinstance(warehouse, dict):  # its shape is checked by the schema stage
                url, schema = warehouse.get("url"), warehouse.get("schema")
                warehouse_url = url if isinstance(url, str) else None
                warehouse_schema = schema if isinstance(schema, str) else None
        rescued_sources: list[tuple[int, str, Any, list[Any]]] = []
        for index, source in _items(
            sources_file, "sources", SourceDef, issues, SourcesFile, rescued_sources
        ):
            if _unique(sources, source.id, sources_file, ("sources", index), "source", issues):
                sources[source.id] = source
                source_files[source.id] = (sources_file, index)
        for index, source_id, rescued, gone in rescued_sources:
            # Checked with the rest, never served; metrics on it wait for it (one message).
            broken_things.add("source", source_id)
            if rescued is not None and source_id not in sources:
                sources[source_id] = rescued
                source_files[source_id] = (sources_file, index)
                broken_things.sources[source_id] = gone

    interventions_file = named("interventions.yaml")
    interventions: dict[str, InterventionDef] = {}
    if interventions_file.loaded is not None:
        rescued_interventions: list[tuple[int, str, Any, list[Any]]] = []
        for index, item in _items(
            interventions_file,
            "interventions",
            InterventionDef,
            issues,
            InterventionsFile,
            rescued_interventions,
        ):
            if _unique(
                interventions,
                item.id,
                interventions_file,
                ("interventions", index),
                "intervention",
                issues,
            ):
                interventions[item.id] = item

        for _index, item_id, _rescued, _gone in rescued_interventions:
            broken_things.add("intervention", item_id)
    if not _list_readable(interventions_file, "interventions"):
        broken_things.opaque.add("intervention")

    framework_file = named("framework.yaml")
    framework = None
    if framework_file.loaded is not None and framework_file.loaded.data is None:
        issues.append(
            _issue_at(framework_file, (), "the file is empty; expected 'outcomes:' and 'domains:'")
        )
    elif framework_file.loaded is not None:
        framework = _validate(framework_file, FrameworkFile, framework_file.loaded.data, (), issues)
    outcomes = {o.id: o for o in framework.outcomes} if framework else {}
    domains = {d.id: d for d in framework.domains} if framework else {}
    if framework is None:
        broken_things.opaque.update({"domain", "outcome"})
    if framework:
        _duplicates(framework_file, "outcomes", [o.id for o in framework.outcomes], issues)
        _duplicates(framework_file, "domains", [d.id for d in framework.domains], issues)
        for index, domain in enumerate(framework.domains):
            if domain.outcome and domain.outcome not in outcomes:
                issues.append(
                    _issue_at(
                        framework_file,
                        ("domains", index, "outcome"),
                        f"unknown outcome '{domain.outcome}'",
                        hint=did_you_mean(domain.outcome, outcomes),
                        stage="references",
                    )
                )

    board_file = named("board.yaml")
    board = BoardFile()
    if board_file.loaded is not None:
        board = _validate(board_file, BoardFile, board_file.loaded.data or {}, (), issues) or board

    disclosure_file = named("disclosure.yaml")
    disclosure = DisclosureFile()
    if disclosure_file.loaded is not None:
        disclosure = (
            _validate(
                disclosure_file, DisclosureFile, disclosure_file.loaded.data or {}, (), issues
            )
            or disclosure
        )

    showcase_file = named("showcase.yaml")
    showcase = None
    slides: list[SlideDef] = []
    if showcase_file.loaded is not None:
        slides = [
            slide for _, slide in _items(showcase_file, "slides", SlideDef, issues, ShowcaseFile)
        ]
        data = showcase_file.loaded.data if isinstance(showcase_file.loaded.data, dict) else {}
        showcase = _validate(showcase_file, ShowcaseFile, {**data, "slides": []}, (), [])

    metrics: dict[str, MetricDef] = {}
    origins: dict[str, Origin] = {}
    metric_files: dict[str, tuple[_File, int]] = {}
    metric_paths = [p for p in paths if p.parent.name == METRICS_DIR]
    if not metric_paths:
        issues.append(
            Issue(
                "error",
                "parse",
                _display(config_dir / METRICS_DIR, config_dir),
                "no metric files (config/metrics/*.yaml)",
            )
        )
    assembly = _assemble_metrics(
        [files[path] for path in metric_paths], sources, issues, broken_things, served or {}
    )
    metrics, origins, metric_files = assembly.metrics, assembly.origins, assembly.files

    max_metrics = _limit("ALLIANCE_MAX_METRICS", DEFAULT_MAX_METRICS)
    if len(metrics) > max_metrics:
        # Serve none of them rather than an arbitrary subset; the last good board stays.
        first_extra = list(metrics)[max_metrics]
        file, index = metric_files[first_extra]
        issues.append(
            _issue_at(
                file,
                ("metrics", index),
                f"{len(metrics):,} metrics are defined; the site serves at most {max_metrics:,}",
                hint="retire or remove metrics, or ask the operator to raise ALLIANCE_MAX_METRICS",
            )
        )
        metrics, origins, metric_files = {}, {}, {}
    catalogue = Catalogue(
        config_dir=config_dir,
        data_dir=resolve_data_dir(config_dir, data_dir_setting),
        sources=sources,
        outcomes=outcomes,
        domains=domains,
        framework_title=framework.title if framework else "Outcomes framework",
        interventions=interventions,
        metrics=metrics,
        origins=origins,
        board=board,
        disclosure=disclosure,
        showcase=showcase or ShowcaseFile(title="Showcase", slides=[]),
        slides=tuple(slides),
        fingerprint=fingerprint(paths),
        query_timeout=query_timeout,
        expanded_from=assembly.expanded_from,
        templates=assembly.templates,
        test_origins={**_source_test_origins(sources_file, source_files), **assembly.tests},
        warehouse_url=warehouse_url,
        warehouse_schema=warehouse_schema,
    )
    context = _RuleContext(catalogue, metric_files, source_files, board_file, issues, showcase_file)
    for rule in REFERENCE_RULES:
        rule(context)
    _sql_check(context)
    _data_test_references(context, assembly)
    return _finish(catalogue, issues, assembly, broken_things, sources_file)


# --------------------------------------------------------------------------- assembling metrics


def _list_readable(file: _File, key: str) -> bool:
    """Whether a list file parsed and holds its list (else what it defines is unknown, and
    references to it would only repeat the file's own error)."""
    data = file.loaded.data if file.loaded is not None else None
    return isinstance(data, dict) and isinstance(data.get(key), list)


def _written(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@dataclass
class _Assembly:
    """Metrics as checked (expanded for_each metrics, salvaged ones, definitions whose
    values come from the data) and what is needed to decide which are served."""

    metrics: dict[str, MetricDef] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    files: dict[str, tuple[_File, int]] = field(default_factory=dict)
    expanded_from: dict[str, str] = field(default_factory=dict)
    templates: dict[str, MetricDef] = field(default_factory=dict)
    tests: dict[str, Origin] = field(default_factory=dict)  # "metrics[id].tests[0]"
    salvaged: dict[str, list[Any]] = field(default_factory=dict)  # id -> paths removed
    duplicates: list[Issue] = field(default_factory=list)
    defined: list[tuple[str, str | None]] = field(default_factory=list)
    unserved: set[str] = field(default_factory=set)  # checked, never served


def _assemble_metrics(
    metric_files: list[_File],
    sources: dict[str, SourceDef],
    issues: list[Issue],
    broken_things: Broken,
    served: Mapping[str, str],
) -> _Assembly:
    """Every metric of every file: valid ones, salvaged ones (checked, never served),
    duplicate ids reported at both definitions (the earlier keeps serving), for_each
    definitions expanded (or kept to expand from the data)."""
    out = _Assembly()
    definitions: list[Definition] = []
    by_display: dict[str, _File] = {}
    for order, file in enumerate(metric_files):
        if file.loaded is None:
            continue
        by_display[file.display] = file
        written = _written(file.path)
        rescued: list[tuple[int, str, Any, list[Any]]] = []
        for index, metric in _items(file, "metrics", MetricDef, issues, MetricsFile, rescued):
            line = file.loaded.position(("metrics", index)).line
            definitions.append(Definition(file.display, line, index, metric, written, order))
        for index, metric_id, metric, gone in rescued:
            if metric is None:
                broken_things.add("metric", metric_id)
                continue
            line = file.loaded.position(("metrics", index)).line
            definitions.append(
                Definition(file.display, line, index, metric, written, order, tuple(gone))
            )
        data = file.loaded.data
        items = data.get("metrics") if isinstance(data, dict) else None
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                continue  # counted below, with its expansions
            line = file.loaded.position(("metrics", index)).line
            out.defined.append((f"{file.display}:{line}", None))

    groups: dict[str, list[Definition]] = {}
    for definition in definitions:
        groups.setdefault(definition.metric.id, []).append(definition)
    taken = set(groups)

    def register(metric: MetricDef, where: Definition) -> None:
        out.metrics[metric.id] = metric
        out.origins[metric.id] = where.origin
        out.files[metric.id] = (by_display[where.display], where.index)

    for metric_id, group in groups.items():
        kept = keeper(group, served.get(metric_id))
        for other in group:
            if other is kept:
                continue
            at_kept, at_other = duplicate_messages(metric_id, kept, other)
            for where, message in ((kept, at_kept), (other, at_other)):
                issue = _issue_at(
                    by_display[where.display],
                    ("metrics", where.index, "id"),
                    message,
                    hint=DUPLICATE_HINT,
                    stage="references",
                    label=f"metrics[{metric_id}].id",
                )
                issues.append(issue)
                out.duplicates.append(issue)
        metric = kept.metric
        file = by_display[kept.display]
        for position, _test in enumerate(metric.tests):
            out.tests[f"metrics[{metric_id}].tests[{position}]"] = Origin(
                kept.display,
                file.loaded.position(("metrics", kept.index, "tests", position)).line,  # type: ignore[union-attr]
            )
        if kept.salvaged is not None:
            out.salvaged[metric_id] = list(kept.salvaged)
            out.defined.append((metric_id, None))
            register(metric, kept)
            continue
        if metric.for_each is None:
            out.defined.append((metric_id, None))
            register(metric, kept)
            continue
        problems = for_each_problems(metric, sources, taken - {metric_id})
        for path, message, hint, level in problems:
            issues.append(
                _issue_at(
                    file,
                    ("metrics", kept.index, *path),
                    f"metric '{metric_id}': {message}",
                    hint=hint,
                    level=level,
                    stage="references",
                    label=".".join([f"metrics[{metric_id}]", *(str(p) for p in path)]),
                )
            )
        each = metric.for_each
        if any(level == "error" for *_rest, level in problems):
            # One definition with errors: checked as it is (every problem in one run),
            # never served.
            out.defined.append((metric_id, metric_id))
            out.unserved.add(metric_id)
            register(metric, kept)
            continue
        if each.values is None:
            # Values from the data: the definition is checked as it is, expanded on loading.
            out.templates[metric_id] = metric
            out.defined.append((metric_id, metric_id))
            register(metric, kept)
            continue
        if each.labels_from is not None:
            out.templates[metric_id] = metric  # names read on loading
        for expanded in expand(metric, each.values):
            if expanded.id in taken or expanded.id in out.metrics:
                continue  # reported by for_each_problems
            out.expanded_from[expanded.id] = metric_id
            out.defined.append((expanded.id, metric_id))
            register(expanded, kept)
    return out


def _source_test_origins(
    sources_file: _File, source_files: dict[str, tuple[_File, int]]
) -> dict[str, Origin]:
    origins: dict[str, Origin] = {}
    if sources_file.loaded is None:
        return origins
    data = sources_file.loaded.data
    items = data.get("sources") if isinstance(data, dict) else None
    for source_id, (_file, index) in source_files.items():
        item = items[index] if isinstance(items, list) and index < len(items) else None
        tests = item.get("tests") if isinstance(item, dict) else None
        for position in range(len(tests) if isinstance(tests, list) else 0):
            path = ("sources", index, "tests", position)
            origins[f"sources[{source_id}].tests[{position}]"] = Origin(
                sources_file.display, sources_file.loaded.position(path).line
            )
    return origins


def _data_test_references(ctx: _RuleContext, assembly: _Assembly) -> None:
    """Data tests name columns their source has (and a range on a source names one)."""
    from metrics.sql.data_tests import test_problems

    cat = ctx.catalogue
    for source in cat.sources.values():
        for position, test in enumerate(source.tests):
            for subpath, message, hint in test_problems(test, source, on_metric=False):
                ctx.source_issue(source, ("tests", position, *subpath), message, hint)
    seen: set[str] = set()
    for metric in cat.metrics.values():
        definition = assembly.expanded_from.get(metric.id, metric.id)
        source = cat.sources.get(metric.source)
        if definition in seen or source is None:
            continue  # one report per definition; an unknown source is reported already
        seen.add(definition)
        for position, test in enumerate(metric.tests):
            for subpath, message, hint in test_problems(test, source, on_metric=True):
                ctx.metric_issue(metric, ("tests", position, *subpath), message, hint)


def _finish(
    catalogue: Catalogue,
    issues: list[Issue],
    assembly: _Assembly,
    broken_things: Broken,
    sources_file: _File,
) -> ConfigLoad:
    """What is served, and the issues without repeats: a for_each definition's problem is
    reported once (not at each of its metrics), references to what is already reported
    broken are not reported again, nor are a salvaged metric's removed parts."""
    checked = catalogue.metrics
    kept_issues: list[Issue] = []
    for issue in issues:
        if issue.stage in {"references", "sql"}:
            metric_id = assembly.expanded_from.get(metric_of(issue) or "", metric_of(issue))
            metric = checked.get(metric_of(issue) or "")
            if is_follow_on(issue, broken_things, metric):
                continue
            gone = assembly.salvaged.get(metric_id or "")
            if gone is not None and _salvage_follow_on(issue, metric_id or "", gone):
                continue
        kept_issues.append(issue)
    duplicates = {id(i) for i in assembly.duplicates}
    # A metric with a reference error is not served: it would fail or mislead.
    broken = {
        i.field.split(".")[0]
        for i in kept_issues
        if i.is_error and i.stage in {"references", "sql"} and id(i) not in duplicates
    }
    failing = {metric_of(i) for i in kept_issues if i.is_error}
    served_sources = {k: v for k, v in catalogue.sources.items() if k not in broken_things.sources}
    served: dict[str, MetricDef] = {}
    waiting: dict[str, str] = {}
    for metric_id, metric in checked.items():
        definition = assembly.expanded_from.get(metric_id, metric_id)
        if (
            metric_id in assembly.salvaged
            or metric_id in assembly.unserved
            or (metric.for_each is not None and metric.for_each.values is None)
        ):
            continue
        if f"metrics[{metric_id}]" in broken or f"metrics[{definition}]" in broken:
            continue
        reason = _unmet(metric, catalogue, served_sources, broken_things)
        if reason:
            if metric_id not in failing and definition not in failing:
                waiting[metric_id] = reason
            continue
        served[metric_id] = metric
    for metric_id, metric in assembly.templates.items():
        if metric.for_each is not None and metric.for_each.values is None:
            reason = _unmet(metric, catalogue, served_sources, broken_things)
            if reason and metric_id not in failing:
                waiting[metric_id] = reason
    final = [rewrite_expanded(i, assembly.expanded_from) for i in kept_issues]
    templates = {
        k: v
        for k, v in assembly.templates.items()
        if f"metrics[{k}]" not in broken and not _unmet(v, catalogue, served_sources, broken_things)
    }
    catalogue = dataclasses.replace(
        catalogue, metrics=served, sources=served_sources, templates=templates
    )
    return ConfigLoad(
        catalogue,
        sort_issues(once(final)),
        defined=tuple(assembly.defined),
        waiting=waiting,
        data_dir_at=_data_dir_at(sources_file),
    )


def _salvage_follow_on(issue: Issue, metric_id: str, gone: list[Any]) -> bool:
    """An issue of a salvaged metric about a part removed (or replaced) by salvage."""
    prefix = f"metrics[{metric_id}]"
    rest = issue.field[len(prefix) :].lstrip(".")
    path = tuple(rest.split(".")) if rest else ()
    if path and under(path, gone):
        return True
    return any(f"'{p[0]}'" in issue.message for p in gone if p)


def _unmet(
    metric: MetricDef,
    catalogue: Catalogue,
    sources: Mapping[str, SourceDef],
    broken_things: Broken,
) -> str:
    """What a metric needs that is reported broken ("" when it has it all)."""
    for source_id in {metric.source, metric.rate.population if metric.rate else metric.source}:
        if source_id not in sources:
            return f"source '{source_id}'"
    if metric.domain not in catalogue.domains:
        return "framework.yaml"
    references = [*metric.spc.rebase_at]
    if metric.its is not None:
        references += [*metric.its.interventions, *metric.its.shocks]
    if any(ref not in catalogue.interventions for ref in references):
        return "interventions.yaml"
    return ""


def _data_dir_at(sources_file: _File) -> Issue | None:
    """Where data_dir is written in sources.yaml (line 0 when it is left to its default)."""
    if sources_file.loaded is None:
        return None
    data = sources_file.loaded.data
    written = isinstance(data, dict) and "data_dir" in data
    position = sources_file.loaded.key_position(("data_dir",)) if written else None
    return Issue(
        "error",
        "data",
        sources_file.display,
        "",
        line=position.line if position else 0,
        column=position.column if position else 0,
        field="data_dir",
    )


def _unique(
    seen: dict[str, Any],
    item_id: str,
    file: _File,
    path: YPath,
    kind: str,
    issues: list[Issue],
    origins: dict[str, Origin] | None = None,
) -> bool:
    if item_id not in seen:
        return True
    where = (
        f" (first defined in {origins[item_id].file}:{origins[item_id].line})" if origins else ""
    )
    issues.append(
        _issue_at(
            file,
            (*path, "id"),
            f"duplicate {kind} id '{item_id}'{where}",
            hint="ids must be unique",
            stage="references",
        )
    )
    return False


def _duplicates(file: _File, key: str, ids: list[str], issues: list[Issue]) -> None:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            issues.append(
                _issue_at(
                    file,
                    (key, index, "id"),
                    f"duplicate id '{item_id}' in {key}",
                    stage="references",
                )
            )
        seen.add(item_id)


# --------------------------------------------------------------------------- stage 3 rules


@dataclass
class _RuleContext:
    catalogue: Catalogue
    metric_files: dict[str, tuple[_File, int]]
    source_files: dict[str, tuple[_File, int]]
    board_file: _File
    issues: list[Issue]
    showcase_file: _File | None = None

    def metric_issue(
        self,
        metric: MetricDef,
        subpath: YPath,
        message: str,
        hint: str = "",
        level: str = "error",
        stage: str = "references",
    ) -> None:
        file, index = self.metric_files[metric.id]
        label = ".".join([f"metrics[{metric.id}]", *(str(p) for p in subpath)])
        self.issues.append(
            _issue_at(
                file,
                ("metrics", index, *subpath),
                f"metric '{metric.id}': {message}",
                hint=hint,
                level=level,
                stage=stage,  # type: ignore[arg-type]
                label=label,
            )
        )

    def source_issue(
        self, source: SourceDef, subpath: YPath, message: str, hint: str = "", key: bool = False
    ) -> None:
        file, index = self.source_files[source.id]
        label = ".".join([f"sources[{source.id}]", *(str(p) for p in subpath)])
        self.issues.append(
            _issue_at(
                file,
                ("sources", index, *subpath),
                f"source '{source.id}': {message}",
                hint=hint,
                stage="references",
                label=label,
                key=key,
            )
        )


Rule = Callable[[_RuleContext], None]
REFERENCE_RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    REFERENCE_RULES.append(function)
    return function


@rule
def sources_name_their_columns(ctx: _RuleContext) -> None:
    for source in ctx.catalogue.sources.values():
        if source.date_column not in source.columns:
            ctx.source_issue(
                source,
                ("date_column",),
                f"date_column '{source.date_column}' is not among its columns",
                did_you_mean(source.date_column, source.columns),
            )
        elif source.columns[source.date_column].type not in {ColumnType.date, ColumnType.integer}:
            ctx.source_issue(
                source,
                ("date_column",),
                f"date_column '{source.date_column}' must be "
                "of type date (or integer years for annual tables)",
            )
        for position, key in enumerate(source.key):
            if key not in source.columns:
                ctx.source_issue(
                    source,
                    ("key", position),
                    f"key column '{key}' is not among its columns",
                    did_you_mean(key, source.columns),
                )


NUMERIC_TYPES = {ColumnType.integer, ColumnType.number}


@rule
def columns_are_usable(ctx: _RuleContext) -> None:
    """Column settings the data checks could not apply (they would fail or mean nothing)."""
    for source in ctx.catalogue.sources.values():
        if not source.columns:
            ctx.source_issue(source, ("columns",), "declares no columns")
        seen: dict[str, str] = {}
        for name, column in source.columns.items():
            where: YPath = ("columns", name)
            if not name.strip():
                ctx.source_issue(source, where, "a column name must not be blank", key=True)
                continue
            folded = name.casefold()
            if folded in seen:
                # DuckDB, like SQL generally, does not tell 'LCN' from 'lcn'.
                ctx.source_issue(
                    source,
                    where,
                    f"column '{name}' differs from '{seen[folded]}' only in case",
                    "column names are case-insensitive in SQL: rename one",
                    key=True,
                )
            seen.setdefault(folded, name)
            for bound in ("min", "max"):
                if getattr(column, bound) is not None and column.type not in NUMERIC_TYPES:
                    ctx.source_issue(
                        source,
                        (*where, bound),
                        f"column '{name}': {bound} applies only to integer and number "
                        f"columns, not {column.type}",
                    )
            if column.format is not None:
                if column.type != ColumnType.date:
                    ctx.source_issue(
                        source,
                        (*where, "format"),
                        f"column '{name}': format applies only to date columns",
                    )
                else:
                    problem = date_format_problem(column.format)
                    if problem:
                        ctx.source_issue(
                            source,
                            (*where, "format"),
                            f"column '{name}': format '{column.format}' {problem}",
                            "use strptime codes such as '%d/%m/%Y', or 'excel' for Excel "
                            "serial day numbers",
                        )


@rule
def sources_are_read_as_written(ctx: _RuleContext) -> None:
    """header_row, skip_rows, rename and unpivot: settings the loader can follow."""
    for source in ctx.catalogue.sources.values():
        if source.header_row is not None and source.skip_rows is not None:
            ctx.source_issue(
                source,
                ("skip_rows",),
                "give header_row or skip_rows, not both",
                f"header_row: {source.header_row} already says which line holds the names",
            )
        if source.path is not None and source.file_format == "parquet":
            for name in ("header_row", "skip_rows"):
                if getattr(source, name) is not None:
                    ctx.source_issue(
                        source,
                        (name,),
                        f"{name} applies to CSV and Excel files; a Parquet file names its "
                        "columns itself",
                    )
        became: dict[str, str] = {}
        for own, used in source.rename.items():
            if used in became:
                ctx.source_issue(
                    source,
                    ("rename", own),
                    f"rename: '{became[used]}' and '{own}' both become '{used}'",
                    key=True,
                )
            became[used] = own
        spec = source.unpivot
        if spec is None:
            continue
        made = (("name_column", spec.name_column), ("value_column", spec.value_column))
        flagged: set[str] = set()  # one issue per setting: no follow-on for one mistake
        for role, name in made:
            if name not in source.columns:
                example = "{type: date}" if role == "name_column" else "{type: integer, min: 0}"
                problem = f"unpivot.{role} '{name}' is not among its columns"
                fix = f"declare it under columns:, e.g. {name}: {example}"
            elif name in (*spec.id_columns, *spec.ignore_columns):
                problem = (
                    f"unpivot.{role} '{name}' is also listed as an id or ignored column; it "
                    "names a new column the unpivot makes"
                )
                fix = f"give {role} the name of a column the file does not have"
            elif role == "value_column" and name == spec.name_column:
                problem = f"unpivot: name_column and value_column are both '{name}'"
                fix = "name_column holds each cell's month, value_column the cell"
            else:
                continue
            flagged.add(role)
            ctx.source_issue(source, ("unpivot", role), problem, fix)
        month = source.columns.get(spec.name_column)
        if month is None or "name_column" in flagged:
            continue
        if month.type != ColumnType.date:
            ctx.source_issue(
                source,
                ("unpivot", "name_column"),
                f"unpivot.name_column '{spec.name_column}' must be of type date (each "
                f"header is read as a month), not {month.type}",
                f"declare it under columns: as {spec.name_column}: {{type: date}}",
            )
        elif month.format is not None:
            ctx.source_issue(
                source,
                ("columns", spec.name_column, "format"),
                f"column '{spec.name_column}': format does not apply to an unpivot's "
                "name_column; its headers are read as months (Apr-16, 2016-04, ...)",
            )


@rule
def source_checks_name_numeric_columns(ctx: _RuleContext) -> None:
    """checks.measures (the month checks' totals) names integer or number columns."""
    for source in ctx.catalogue.sources.values():
        for position, name in enumerate(source.checks.measures or []):
            where: YPath = ("checks", "measures", position)
            column = source.columns.get(name)
            if column is None:
                ctx.source_issue(
                    source,
                    where,
                    f"checks.measures: '{name}' is not among its columns",
                    did_you_mean(name, source.columns) or "name a column under columns:",
                )
            elif column.type not in NUMERIC_TYPES:
                ctx.source_issue(
                    source,
                    where,
                    f"checks.measures: '{name}' is a {column.type} column; only integer and "
                    "number columns have totals",
                )


@rule
def metrics_point_at_known_things(ctx: _RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        if metric.domain not in cat.domains:
            ctx.metric_issue(
                metric,
                ("domain",),
                f"unknown domain '{metric.domain}'",
                did_you_mean(metric.domain, cat.domains) or f"domains: {', '.join(cat.domains)}",
            )
        source = cat.sources.get(metric.source)
        if source is None:
            ctx.metric_issue(
                metric,
                ("source",),
                f"unknown source '{metric.source}'",
                did_you_mean(metric.source, cat.sources) or f"sources: {', '.join(cat.sources)}",
            )
            continue
        date = metric.date or source.date_column
        if date not in source.columns:
            ctx.metric_issue(
                metric,
                ("date",),
                f"unknown column '{date}' in source '{source.id}'",
                did_you_mean(date, source.columns),
            )
        elif source.columns[date].type != ColumnType.date:
            ctx.metric_issue(metric, ("date",), f"column '{date}' is not a date column")
        if metric.value and IDENTIFIER.match(metric.value) and metric.value not in source.columns:
            ctx.metric_issue(
                metric,
                ("value",),
                f"unknown column '{metric.value}' in source '{source.id}'",
                did_you_mean(metric.value, source.columns),
            )
        for position, breakdown in enumerate(metric.breakdowns):
            if breakdown not in source.columns:
                ctx.metric_issue(
                    metric,
                    ("breakdowns", position),
                    f"unknown breakdown column '{breakdown}' in source '{source.id}'",
                    did_you_mean(breakdown, source.columns),
                )
            elif source.columns[breakdown].type in {ColumnType.date, ColumnType.number}:
                ctx.metric_issue(
                    metric,
                    ("breakdowns", position),
                    f"cannot break down by "
                    f"'{breakdown}': it is a {source.columns[breakdown].type} column",
                )


@rule
def measures_have_what_they_need(ctx: _RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        measure = metric.measure
        needs_value = measure in {"sum", "mean", "median"} or metric.percentile is not None
        if needs_value and not metric.value:
            ctx.metric_issue(
                metric,
                ("measure",),
                f"measure '{measure}' needs 'value' (the column or expression to aggregate)",
            )
        if measure == "count" and metric.value:
            ctx.metric_issue(
                metric,
                ("value",),
                "measure 'count' counts rows and ignores 'value'",
                "use measure: sum to add up a column",
                level="warning",
            )
        if measure == "ratio" and metric.numerator is None:
            ctx.metric_issue(
                metric,
                ("measure",),
                "measure 'ratio' needs 'numerator' (and "
                "optionally 'denominator'; the default denominator is every row "
                "the filter selects)",
            )
        if measure != "ratio" and (metric.numerator or metric.denominator):
            ctx.metric_issue(
                metric,
                ("numerator" if metric.numerator else "denominator",),
                "numerator/denominator apply only to measure: ratio",
            )
        if measure == "rate":
            if metric.rate is None:
                ctx.metric_issue(
                    metric,
                    ("measure",),
                    "measure 'rate' needs a 'rate' block naming the population source",
                )
                continue
            population = cat.sources.get(metric.rate.population)
            if population is None:
                ctx.metric_issue(
                    metric,
                    ("rate", "population"),
                    f"unknown population source '{metric.rate.population}'",
                    did_you_mean(metric.rate.population, cat.sources),
                )
                continue
            for position, breakdown in enumerate(metric.breakdowns):
                if breakdown not in population.columns:
                    ctx.metric_issue(
                        metric,
                        ("breakdowns", position),
                        f"rates by '{breakdown}' "
                        f"need it in the population source '{population.id}'",
                        "remove the breakdown or add the column to the population",
                    )
        elif metric.rate is not None:
            ctx.metric_issue(metric, ("rate",), "a 'rate' block applies only to measure: rate")


@rule
def laney_charts_have_numerator_and_denominator(ctx: _RuleContext) -> None:
    """spc.chart: laney reads each month's numerator over its denominator: a ratio (a
    proportion: Laney's p' chart) or a rate (u' chart) has them; other measures do not."""
    for metric in ctx.catalogue.metrics.values():
        if metric.spc.chart == "laney" and metric.measure not in {"ratio", "rate"}:
            ctx.metric_issue(
                metric,
                ("spc", "chart"),
                f"chart 'laney' needs a numerator and a denominator, but this metric is a "
                f"{metric.measure}",
                "Laney's p' chart is for measure: ratio (a proportion) and u' for measure: "
                "rate; use chart: xmr (the default) for counts, sums, averages and waits",
            )


@rule
def analyses_name_known_interventions(ctx: _RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        for position, ref in enumerate(metric.spc.rebase_at):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("spc", "rebase_at", position),
                    f"unknown intervention '{ref}'",
                    did_you_mean(ref, cat.interventions),
                )
        if metric.its is None:
            continue
        for position, ref in enumerate(metric.its.interventions):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("its", "interventions", position),
                    f"unknown intervention '{ref}'",
                    did_you_mean(ref, cat.interventions)
                    or f"interventions: {', '.join(cat.interventions)}",
                )
            elif cat.interventions[ref].kind == "shock":
                ctx.metric_issue(
                    metric,
                    ("its", "interventions", position),
                    f"'{ref}' is a shock: list it under its.shocks",
                    level="warning",
                )
        for position, ref in enumerate(metric.its.shocks):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("its", "shocks", position),
                    f"unknown shock '{ref}'",
                    did_you_mean(ref, cat.interventions),
                )
        if metric.its.comparison and metric.its.comparison not in cat.metrics:
            ctx.metric_issue(
                metric,
                ("its", "comparison"),
                f"unknown comparison metric '{metric.its.comparison}'",
                did_you_mean(metric.its.comparison, cat.metrics),
            )
        count_model = metric.its.model in {"poisson", "quasipoisson", "negbin"}
        if count_model and metric.measure not in {"count", "sum", "rate"}:
            ctx.metric_issue(
                metric,
                ("its", "model"),
                f"model '{metric.its.model}' is for counts, but this metric is a {metric.measure}",
                "use model: arima (or ols) for percentages, averages and waits",
            )
        if metric.its.offset == "population" and metric.measure != "rate":
            ctx.metric_issue(
                metric,
                ("its", "offset"),
                "a population offset needs measure: rate (its denominator is the population)",
            )


@rule
def slides_name_known_things(ctx: _RuleContext) -> None:
    cat = ctx.catalogue
    file = ctx.showcase_file
    if file is None:
        return
    for index, slide in enumerate(cat.slides):
        checks = [
            ("metric", slide.metric, cat.metrics, "metric"),
            ("outcome", slide.outcome, cat.outcomes, "outcome"),
            ("intervention", slide.intervention, cat.interventions, "intervention"),
        ]
        for field_name, value, known, kind in checks:
            if value and value not in known:
                ctx.issues.append(
                    _issue_at(
                        file,
                        ("slides", index, field_name),
                        f"slide '{slide.id}': unknown {kind} '{value}'",
                        hint=did_you_mean(value, known),
                        stage="references",
                        label=f"slides[{slide.id}].{field_name}",
                    )
                )
        if slide.number == "effect" and slide.metric in cat.metrics:
            metric = cat.metrics[slide.metric]
            if metric.its is None and not slide.intervention:
                ctx.issues.append(
                    _issue_at(
                        file,
                        ("slides", index, "number"),
                        f"slide '{slide.id}': number: effect needs an intervention (the metric has "
                        "no its: block)",
                        stage="references",
                        label=f"slides[{slide.id}].number",
                    )
                )


# Words about how the sample data were made, not about the alliance: speaker notes,
# captions and headlines speak of the alliance (the synthetic-data label says the rest).
GENERATION_WORDS = re.compile(
    r"\b(planted|simulated|simulations?|generated (?:effects?|data|sample)|random seeds?|"
    r"seeds?|seeded|ground truth|truth\.json)\b",
    re.IGNORECASE,
)
# Category values that are not a group a headline can speak of.
GENERIC_GROUPS = {"other", "not stated", "other/not stated", "unknown", "not recorded", "none"}
# Other words for a group (matched without regard to case).
GROUP_ALIASES = {"female": ("women", "female"), "male": ("men", "male")}
SLIDE_TEXTS = (
    ("headline",),
    ("caption",),
    ("notes",),
    ("label",),
    ("story", "title"),
    ("story", "text"),
)


def _mentions(text: str, value: str) -> bool:
    """Whether `text` names the group `value` (a whole word, as written: 'Black', not
    'blackout'; a gender also by its usual words: 'women')."""
    if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
        return True
    return any(
        re.search(rf"\b{re.escape(alias)}\b", text, re.IGNORECASE)
        for alias in GROUP_ALIASES.get(value.casefold(), ())
    )


def headline_groups(slide: SlideDef, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(column, group) for every group of the slide metric's breakdown columns that the
    headline names, e.g. [('ethnicity', 'Black')]."""
    metric = catalogue.metrics.get(slide.metric or "")
    source = catalogue.sources.get(metric.source) if metric else None
    if metric is None or source is None:
        return []
    found = []
    for column in metric.breakdowns:
        definition = source.columns.get(column)
        for value in (definition.values or []) if definition is not None else []:
            if value.casefold() not in GENERIC_GROUPS and _mentions(slide.headline, value):
                found.append((column, value))
    return found


def suggested_reference(catalogue: Catalogue, slide: SlideDef, column: str, group: str) -> str:
    """The comparator to suggest: White for ethnicity (the usual one in NHS equality
    reports), otherwise the column's first other group."""
    metric = catalogue.metrics.get(slide.metric or "")
    source = catalogue.sources.get(metric.source) if metric else None
    definition = source.columns.get(column) if source else None
    declared = (definition.values or []) if definition is not None else []
    values = [v for v in declared if v != group and v.casefold() not in GENERIC_GROUPS]
    if column == "ethnicity" and "White" in values:
        return "White"
    return values[0] if values else "..."


def slide_claim_problem(slide: SlideDef, catalogue: Catalogue) -> str:
    """Why the slide's headline claims more than the slide shows ('' when it does not):
    it names a group while the slide shows the overall figure (no `compare`)."""
    if slide.compare is not None:
        return ""
    named = headline_groups(slide, catalogue)
    if not named:
        return ""
    column, group = named[0]
    reference = suggested_reference(catalogue, slide, column, group)
    return (
        f"the headline speaks of '{group}' but the slide shows the overall figure: add "
        f"compare: {{dimension: {column}, group: {group}, reference: {reference}}} "
        "(and number: ratio, chart: compare) or reword the headline"
    )


@rule
def slides_show_what_they_claim(ctx: _RuleContext) -> None:
    """A headline that speaks of a group needs the comparison on the slide (a rate ratio
    with its interval); `compare` and `out_of` name what the metric can show; slides speak
    of the alliance, never of how the sample data were made."""
    cat = ctx.catalogue
    file = ctx.showcase_file
    if file is None:
        return
    for index, slide in enumerate(cat.slides):

        def report(
            subpath: YPath,
            message: str,
            hint: str = "",
            level: str = "error",
            index: int = index,
            slide: SlideDef = slide,
        ) -> None:
            ctx.issues.append(
                _issue_at(
                    file,
                    ("slides", index, *subpath),
                    f"slide '{slide.id}': {message}",
                    hint=hint,
                    level=level,
                    stage="references",
                    label=".".join([f"slides[{slide.id}]", *(str(p) for p in subpath)]),
                )
            )

        for path in SLIDE_TEXTS:
            text: Any = slide
            for part in path:
                text = getattr(text, part, None) if text is not None else None
            found = GENERATION_WORDS.search(text) if isinstance(text, str) else None
            if found:
                report(
                    path,
                    f"'{found.group(0)}' in the {' '.join(path)} is about how the sample data "
                    "were made: speak of the alliance and its services instead",
                    "the synthetic-data label already tells readers the data are generated",
                    level="warning",
                )
        if slide.number == "ratio" and slide.compare is None:
            report(
                ("number",),
                "number: ratio needs compare (the groups whose rates are compared)",
                "add compare: {dimension: ethnicity, group: Black, reference: White}",
            )
        if slide.chart == "compare" and slide.compare is None:
            report(
                ("chart",),
                "chart: compare needs compare (the groups whose rates are drawn)",
                "add compare: {dimension: ethnicity, group: Black, reference: White}",
            )
        metric = cat.metrics.get(slide.metric or "")
        if slide.compare is None:
            problem = slide_claim_problem(slide, cat)
            if problem:
                report(("headline",), problem)
        else:
            _check_comparison(cat, slide, metric, report)
        if slide.out_of is not None:
            whole = cat.metrics.get(slide.out_of)
            if whole is None:
                report(
                    ("out_of",),
                    f"unknown metric '{slide.out_of}'",
                    did_you_mean(slide.out_of, cat.metrics),
                )
            elif whole.measure not in {"count", "sum"}:
                report(
                    ("out_of",),
                    f"out_of names '{whole.id}', a {whole.measure}: the whole must be a count "
                    "or a sum (e.g. the size of a cohort)",
                )
            elif metric is not None and metric.measure not in {"count", "sum"}:
                report(
                    ("out_of",),
                    f"out_of needs a count or a sum as the big number; '{metric.id}' is a "
                    f"{metric.measure}",
                )
            if slide.number != "latest":
                report(
                    ("out_of",),
                    f"out_of applies to number: latest (this slide has number: {slide.number})",
                )


def _check_comparison(
    cat: Catalogue, slide: SlideDef, metric: MetricDef | None, report: Callable[..., None]
) -> None:
    compare = slide.compare
    assert compare is not None
    if metric is None:
        if not slide.metric:
            report(("compare",), "compare needs a metric (a rate per population)")
        return  # an unknown metric is reported by slides_name_known_things
    if metric.measure != "rate" or metric.rate is None:
        report(
            ("compare",),
            f"compare needs a rate metric (measure: rate, over a population); '{metric.id}' "
            f"is a {metric.measure}",
            "groups differ in size: compare their rates per population, not their counts",
        )
        return
    if compare.dimension not in metric.breakdowns:
        report(
            ("compare", "dimension"),
            f"'{metric.id}' is not broken down by '{compare.dimension}'",
            did_you_mean(compare.dimension, metric.breakdowns)
            or (f"its breakdowns: {', '.join(metric.breakdowns)}" if metric.breakdowns else ""),
        )
        return
    source = cat.sources.get(metric.source)
    population = cat.sources.get(metric.rate.population)
    if source is None or population is None:
        return  # reported by the metric rules
    if compare.dimension not in population.columns:
        report(
            ("compare", "dimension"),
            f"the population source '{population.id}' has no column '{compare.dimension}', "
            "so groups have no rate",
        )
        return
    for key in ("group", "reference"):
        value = getattr(compare, key)
        for where, holder in (("source", source), ("population source", population)):
            column = holder.columns.get(compare.dimension)
            declared = column.values if column is not None else None
            if declared is not None and value not in declared:
                report(
                    ("compare", key),
                    f"'{value}' is not a value of '{compare.dimension}' in the {where} "
                    f"'{holder.id}'",
                    did_you_mean(value, declared) or f"values: {', '.join(declared)}",
                )
                break
    if compare.group == compare.reference:
        report(
            ("compare", "reference"),
            f"the group and the reference are both '{compare.group}'",
            "compare the group with another group",
        )
    if not _mentions(slide.headline, compare.group):
        report(
            ("headline",),
            f"the slide compares '{compare.group}' with '{compare.reference}' but the headline "
            f"does not name '{compare.group}'",
            "say in the headline who the comparison is about",
            level="warning",
        )
    if slide.number not in {"ratio", "none"}:
        report(
            ("number",),
            f"the big number (number: {slide.number}) shows the overall figure while the "
            "slide compares groups",
            "use number: ratio",
            level="warning",
        )
    if slide.chart not in {"compare", "none"}:
        report(
            ("chart",),
            f"the chart (chart: {slide.chart}) shows the overall figure while the slide "
            "compares groups",
            "use chart: compare",
            level="warning",
        )


@rule
def board_layout_names_known_things(ctx: _RuleContext) -> None:
    cat = ctx.catalogue
    file = ctx.board_file
    for position, domain in enumerate(cat.board.overview_domains):
        if domain not in cat.domains:
            ctx.issues.append(
                _issue_at(
                    file,
                    ("overview_domains", position),
                    f"unknown domain '{domain}'",
                    hint=did_you_mean(domain, cat.domains),
                    stage="references",
                )
            )
    for position, metric_id in enumerate(cat.board.featured_metrics):
        if metric_id not in cat.metrics:
            ctx.issues.append(
                _issue_at(
                    file,
                    ("featured_metrics", position),
                    f"unknown metric '{metric_id}'",
                    hint=did_you_mean(metric_id, cat.metrics),
                    stage="references",
                )
            )


@rule
def binomial_studies_have_a_denominator(ctx: _RuleContext) -> None:
    """its.model: binomial models a numerator out of a denominator: a ratio metric has
    them (a proportion); any other measure has no denominator to give it."""
    for metric in ctx.catalogue.metrics.values():
        if metric.its is not None and metric.its.model == "binomial" and metric.measure != "ratio":
            ctx.metric_issue(
                metric,
                ("its", "model"),
                f"model 'binomial' needs a numerator and a denominator, but this metric is a "
                f"{metric.measure}",
                "binomial is for measure: ratio (a proportion); use arima for averages and "
                "waits, or a count model for counts",
            )


def _interventions_file(ctx: _RuleContext) -> _File | None:
    """interventions.yaml with its positions (for issues about an intervention's fields)."""
    path = ctx.catalogue.config_dir / "interventions.yaml"
    file = _File(path, _display(path, ctx.catalogue.config_dir))
    _parse(file, [])
    return file if file.loaded is not None else None


def _intervention_index(file: _File, intervention_id: str) -> int | None:
    data = file.loaded.data if file.loaded is not None else None
    items = data.get("interventions") if isinstance(data, dict) else None
    for index, item in enumerate(items or []):
        if isinstance(item, dict) and item.get("id") == intervention_id:
            return index
    return None


@rule
def staggered_starts_name_known_groups(ctx: _RuleContext) -> None:
    """interventions.yaml staggered.starts: each group a neighbourhood of board.yaml lcns when
    the column is the neighbourhood column (other columns are checked against the data when
    a study runs)."""
    cat = ctx.catalogue
    staggered = [i for i in cat.interventions.values() if i.staggered is not None]
    if not staggered:
        return
    file = _interventions_file(ctx)
    if file is None:
        return
    for item in staggered:
        assert item.staggered is not None
        index = _intervention_index(file, item.id)
        if index is None:
            continue
        where = ("interventions", index, "staggered")
        label = f"interventions[{item.id}].staggered"
        column = item.staggered.column
        if column != cat.board.lcn_column or not cat.board.lcns:
            continue
        for group in item.staggered.starts:
            if group not in cat.board.lcns:
                ctx.issues.append(
                    _issue_at(
                        file,
                        (*where, "starts", group),
                        f"intervention '{item.id}': staggered start for unknown group "
                        f"'{group}' of {column}",
                        hint=did_you_mean(group, cat.board.lcns)
                        or f"neighbourhoods (board.yaml lcns): {', '.join(cat.board.lcns)}",
                        stage="references",
                        label=f"{label}.starts.{group}",
                        key=True,
                    )
                )
        if min(item.staggered.starts.values()) != item.start:
            ctx.issues.append(
                _issue_at(
                    file,
                    (*where, "starts"),
                    f"intervention '{item.id}': the earliest staggered start "
                    f"({min(item.staggered.starts.values()):%Y-%m}) is not its start "
                    f"({item.start:%Y-%m})",
                    hint="start is when the first group began",
                    level="warning",
                    stage="references",
                    label=f"{label}.starts",
                )
            )


@rule
def multiple_baseline_studies_can_run(ctx: _RuleContext) -> None:
    """its.design: multiple_baseline needs a staggered intervention whose column is one of
    the metric's breakdowns, and a model that the design fits (not arima)."""
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        block = metric.its
        if block is None or block.design != "multiple_baseline":
            continue
        staggered = [
            cat.interventions[i]
            for i in block.interventions
            if i in cat.interventions and cat.interventions[i].staggered is not None
        ]
        if not staggered:
            ctx.metric_issue(
                metric,
                ("its", "design"),
                "design 'multiple_baseline' needs an intervention with staggered starts, and "
                f"none of {', '.join(block.interventions)} has them",
                "give the intervention staggered: {column, starts} in interventions.yaml, or "
                "use design: single",
            )
            continue
        column = staggered[0].staggered.column  # type: ignore[union-attr]
        if column not in metric.breakdowns:
            ctx.metric_issue(
                metric,
                ("its", "design"),
                f"design 'multiple_baseline' fits the groups of '{column}', but the metric has "
                f"no breakdown by '{column}'",
                f"add {column} to breakdowns",
            )
        if block.model == "arima" or (block.model is None and metric.measure != "ratio"):
            ctx.metric_issue(
                metric,
                ("its", "model"),
                "design 'multiple_baseline' allows for months that move together in its "
                "covariance and does not take model 'arima'",
                "use model: quasipoisson (counts), binomial (proportions) or ols",
            )


@rule
def headline_study_names_a_study(ctx: _RuleContext) -> None:
    """board.yaml headline_study: a metric with an its: block (the study the Impact page and
    the board pack open on)."""
    cat = ctx.catalogue
    wanted = cat.board.headline_study
    if not wanted:
        return
    metric = cat.metrics.get(wanted)
    if metric is None:
        ctx.issues.append(
            _issue_at(
                ctx.board_file,
                ("headline_study",),
                f"unknown metric '{wanted}'",
                hint=did_you_mean(wanted, cat.metrics),
                stage="references",
            )
        )
    elif metric.its is None:
        studies = [m.id for m in cat.metrics.values() if m.its is not None]
        ctx.issues.append(
            _issue_at(
                ctx.board_file,
                ("headline_study",),
                f"metric '{wanted}' has no its: block, so it has no impact study",
                hint=f"studies: {', '.join(studies)}" if studies else "",
                stage="references",
            )
        )


def _sql_check(ctx: _RuleContext) -> None:
    """Every SQL fragment of every metric, parsed on its own and checked (one expression
    over the source's own columns, allow-listed constructs only: metrics.sql.fragments),
    then every query built from them bound against empty typed tables.

    Each refused fragment is reported with its field and the construct refused. Queries
    are built as expression trees from the checked fragments, so a fragment cannot reach
    outside the query it belongs to (a filter that opens a string for a value to close is
    refused on its own). DuckDB's binder then catches unknown columns and type mistakes
    without reading any data, on a scratch database with file access and settings locked.
    """
    from metrics.sql.compiler import fragment_columns, fragment_texts, population_plan
    from metrics.sql.fragments import FragmentError, parse_fragment
    from metrics.sql.series import SeriesQuery, plan_series

    cat = ctx.catalogue
    already = {i.field for i in ctx.issues if i.is_error}
    refused: set[str] = set()
    for metric in cat.metrics.values():
        needed = {metric.source, metric.rate.population if metric.rate else metric.source}
        if not needed <= set(cat.sources):
            continue  # an unknown source is reported by the reference rules
        for path, text in fragment_texts(metric).items():
            label = ".".join([f"metrics[{metric.id}]", *path])
            if text is None or label in already:
                continue
            try:
                fragment = parse_fragment(text, fragment_columns(metric, cat.sources, path))
            except FragmentError as exc:
                refused.add(metric.id)
                ctx.metric_issue(
                    metric, path, exc.describe(_field_name(path)), exc.hint, stage="sql"
                )
                continue
            rate_part = path[0] == "rate" and metric.rate is not None
            owner = cat.sources[metric.rate.population if rate_part else metric.source]  # type: ignore[union-attr]
            mismatch = literal_type_problem(fragment.tree, owner.columns)
            if mismatch is not None:
                refused.add(metric.id)
                ctx.metric_issue(
                    metric, path, f"{_field_name(path)} {mismatch[0]}", mismatch[1], stage="sql"
                )

    con = duckdb.connect(":memory:")
    try:
        unusable: set[str] = set()
        for source in cat.sources.values():
            columns = ", ".join(
                f"{quote(n)} {SQL_TYPES[c.type]}" for n, c in source.columns.items()
            )
            try:
                con.execute(f"CREATE TABLE {table_name(source.id)} ({columns})")
            except duckdb.Error:
                # Blank, clashing or no column names: reported by columns_are_usable.
                unusable.add(source.id)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        already_metrics = {i.field.split(".")[0] for i in ctx.issues if i.is_error}
        for metric in cat.metrics.values():
            needed = {metric.source, metric.rate.population if metric.rate else metric.source}
            if not needed <= set(cat.sources) - unusable:
                continue
            if metric.id in refused or f"metrics[{metric.id}]" in already_metrics:
                # The whole query cannot be built: bind each remaining fragment on its own,
                # so its problems are reported in this run too, not after the next fix.
                _bind_fragments_alone(con, ctx, metric)
                continue
            # The series with a neighbourhood filter binds every fragment the site uses;
            # a breakdown only adds a grouping column checked by the reference rules.
            lcn = cat.board.lcns[0] if cat.board.lcns else None
            try:
                plan = plan_series(
                    metric,
                    cat.sources,
                    SeriesQuery(lcn=lcn),
                    lcn_column=cat.board.lcn_column,
                    lcn_recorded=True,
                )
                # (The covered-months query reads a table made at load time, not fragments.)
                queries = [plan.aggregate]
                if metric.rate is not None:
                    queries.append(population_plan(metric, cat.sources))
                for query in queries:
                    if query is not None:
                        con.execute(query.sql(dialect="duckdb", comments=False)).fetchall()
            except (duckdb.Error, KeyError, AssertionError, ValueError) as exc:
                if not _bind_fragments_alone(con, ctx, metric):
                    _report_sql_error(ctx, metric, exc)
    finally:
        con.close()


def _bind_fragments_alone(
    con: duckdb.DuckDBPyConnection, ctx: _RuleContext, metric: MetricDef
) -> int:
    """Bind each of a metric's fragments alone against the empty typed tables (a filter as
    a WHERE, a value as a column); report each that fails at its own field. Returns how
    many were reported."""
    from metrics.sql.compiler import fragment_columns, fragment_texts
    from metrics.sql.fragments import FragmentError, parse_fragment

    cat = ctx.catalogue
    errored = {i.field for i in ctx.issues if i.is_error}
    reported = 0
    for path, text in fragment_texts(metric).items():
        label = ".".join([f"metrics[{metric.id}]", *path])
        if text is None or label in errored:
            continue
        try:
            fragment = parse_fragment(text, fragment_columns(metric, cat.sources, path))
        except FragmentError:
            continue  # reported with the fragment checks
        owner = metric.rate.population if path[0] == "rate" and metric.rate else metric.source
        source = table(table_name(owner))
        if path[-1] == "filter":
            query = exp.select(exp.Count(this=exp.Star())).from_(source).where(fragment.tree.copy())
        else:
            query = exp.select(fragment.tree.copy()).from_(source)
        try:
            con.execute(query.sql(dialect="duckdb", comments=False)).fetchall()
        except duckdb.Error as exc:
            message = re.sub(r"^[A-Za-z ]+ Error: ", "", _first_error_line(exc))
            ctx.metric_issue(
                metric, path, f"{_field_name(path)} does not run: {message}", stage="sql"
            )
            reported += 1
    return reported


def _first_error_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)
_TEXT_TYPES = {ColumnType.string, ColumnType.category}


def literal_type_problem(
    tree: exp.Expression, columns: Mapping[str, Any]
) -> tuple[str, str] | None:
    """(problem, fix) when a fragment compares a text column with a bare number (kind = 1:
    codes are text, so the number must be quoted) or a number column with text; None
    otherwise. DuckDB would only fail on reading the data ("could not convert")."""
    for node in tree.walk():
        pairs: list[tuple[exp.Expression, exp.Expression]] = []
        if isinstance(node, _COMPARISONS + _ARITHMETIC):
            pairs = [(node.this, node.expression), (node.expression, node.this)]
        elif isinstance(node, exp.In):
            pairs = [(node.this, value) for value in node.expressions]
        for side, other in pairs:
            if not isinstance(side, exp.Column) or not isinstance(other, exp.Literal):
                continue
            declared = columns.get(side.name)
            if declared is None:
                continue
            if (
                declared.type in _TEXT_TYPES
                and not other.is_string
                and isinstance(node, (*_COMPARISONS, exp.In))
            ):
                return (
                    f"compares the text column '{side.name}' with the number {other.this}",
                    f"codes are text: write {side.name} = '{other.this}' (in single quotes)",
                )
            if declared.type in NUMERIC_TYPES and other.is_string:
                try:
                    float(other.this)
                except ValueError:
                    verb = "does arithmetic on" if isinstance(node, _ARITHMETIC) else "compares"
                    return (
                        f"{verb} the number column '{side.name}' with the text '{other.this}'",
                        f"compare {side.name} with a number, or check the column's type "
                        "in sources.yaml",
                    )
    return None


def _expressions(metric: MetricDef) -> dict[YPath, str | None]:
    """Every piece of SQL a metric writes, by where it is written."""
    from metrics.sql.compiler import fragment_texts

    return dict(fragment_texts(metric))


def _report_sql_error(ctx: _RuleContext, metric: MetricDef, exc: BaseException) -> None:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    source = ctx.catalogue.sources[metric.source]
    missing = re.search(r'column "([^"]+)" not found', text) or re.search(
        r'Referenced column "([^"]+)"', text
    )
    expressions = _expressions(metric)
    subpath: YPath = ("filter",) if metric.filter else ("measure",)
    if missing:
        name = missing.group(1)
        for path, expression in expressions.items():
            if expression and re.search(rf"\b{re.escape(name)}\b", expression):
                subpath = path
                break
        columns = source.columns
        if subpath[0] == "rate" and metric.rate:
            columns = ctx.catalogue.sources[metric.rate.population].columns
        ctx.metric_issue(
            metric,
            subpath,
            f"unknown column '{name}' in {_field_name(subpath)}",
            did_you_mean(name, columns) or f"columns: {', '.join(columns)}",
            stage="sql",
        )
        return
    for path, expression in expressions.items():
        if expression:
            subpath = path
            break
    message = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    ctx.metric_issue(metric, subpath, f"the SQL does not run: {message}", stage="sql")


# --------------------------------------------------------------------------- stage 4: data


def check_data(
    catalogue: Catalogue,
    warehouse: Warehouse,
    series: Callable[[str, Any], Any] | None = None,
) -> list[Issue]:
    """Data checks that need the loaded sources: every metric computes and covers its span.

    `series(metric_id, query)` computes a series (the board's cached one when given)."""
    from metrics.sql.month_checks import month_change_issues
    from metrics.sql.series import SeriesError, SeriesQuery, compute_series

    # Months that look incomplete, or out of line with the months around them (sources.yaml
    # checks:), in every loaded source dated by month, used by a metric or not yet.
    issues: list[Issue] = month_change_issues(catalogue, warehouse)
    for metric in catalogue.metrics.values():

        def report(
            message: str,
            level: str = "error",
            field: str = "",
            hint: str = "",
            metric: MetricDef = metric,
        ) -> None:
            issues.append(_metric_data_issue(catalogue, metric, message, level, field, hint))

        needed = {metric.source, metric.rate.population if metric.rate else metric.source}
        if not needed <= set(warehouse.loaded):
            # The source's own problem is reported once, with the source (not again at
            # every metric on it); the summary counts these metrics as waiting for it.
            continue
        try:
            if series is not None:
                result = series(metric.id, SeriesQuery())
            else:
                result = compute_series(
                    warehouse,
                    metric,
                    catalogue.sources,
                    SeriesQuery(),
                    lcn_column=catalogue.board.lcn_column,
                )
        except SeriesError as exc:
            report(str(exc))
            continue
        values = result.frame.dropna(subset=["value"])
        if values.empty:
            report("no data: the filter selects no rows in any month", "warning", "filter")
            continue
        first = values["month"].min().date()
        if metric.since and metric.since < first:
            report(
                f"since {metric.since:%Y-%m} but the first month with data is {first:%Y-%m}",
                "warning",
                "since",
            )
        gaps = int(result.frame["value"].isna().sum())
        if gaps:
            report(f"{gaps} month(s) have no data and are shown as gaps", "warning")
        if metric.its:
            for position, ref in enumerate(metric.its.interventions):
                intervention = catalogue.interventions.get(ref)
                if intervention is None:
                    continue
                months = values["month"].dt.date
                before = int((months < intervention.start).sum())
                after = int((months >= intervention.start).sum())
                for side, count in (("before", before), ("after", after)):
                    where = f"intervention {ref} ({intervention.start:%Y-%m})"
                    if count < MIN_POINTS_REFUSE:
                        report(
                            f"{where} leaves only {count} point(s) {side} it; at least "
                            f"{MIN_POINTS_REFUSE} are needed",
                            field=f"its.interventions[{position}]",
                        )
                    elif count < MIN_POINTS_WARN:
                        report(
                            f"{where} leaves only {count} points {side} it; estimates from fewer "
                            f"than {MIN_POINTS_WARN} are unstable",
                            "warning",
                            f"its.interventions[{position}]",
                        )
    issues += _run_data_tests(catalogue, warehouse, series)
    return issues


def _run_data_tests(
    catalogue: Catalogue, warehouse: Warehouse, series: Callable[[str, Any], Any] | None
) -> list[Issue]:
    from metrics.sql.data_tests import run_data_tests
    from metrics.sql.series import SeriesQuery, compute_series

    def monthly_values(metric_id: str) -> Any:
        if series is not None:
            return series(metric_id, SeriesQuery()).frame
        metric = catalogue.metrics[metric_id]
        return compute_series(
            warehouse,
            metric,
            catalogue.sources,
            SeriesQuery(),
            lcn_column=catalogue.board.lcn_column,
        ).frame

    return run_data_tests(catalogue, warehouse, monthly_values)


def data_folder_issues(loaded: ConfigLoad, warehouse: Warehouse) -> list[Issue]:
    """The warehouse's issues, with one wrong data folder said once: a data folder that
    does not exist (or holds none of the source files) is one error at data_dir in
    sources.yaml, not one "file not found" per source (and none per metric)."""
    catalogue = loaded.catalogue
    found = [i for i in warehouse.issues if not i.message.startswith("file not found")]
    missing = [i for i in warehouse.issues if i.message.startswith("file not found")]
    if getattr(catalogue, "warehouse_url", None) or not missing:
        return list(warehouse.issues)
    folder = catalogue.data_dir
    exists = folder.is_dir()
    if exists and (len(missing) < 2 or len(missing) < len(catalogue.sources)):
        return list(warehouse.issues)  # some files are there: each missing one is its own slip
    at = loaded.data_dir_at
    override = os.environ.get("ALLIANCE_DATA_DIR")
    setting = "" if override else _data_dir_setting(at, catalogue)
    return [
        missing_data_issue(
            folder,
            catalogue.config_dir,
            at,
            setting=setting,
            override=override,
            files=0 if not exists else len(missing),
        ),
        *found,
    ]


def missing_data_issue(
    folder: Path,
    config_dir: Path,
    at: Issue | None,
    *,
    setting: str = "",
    override: str | None = None,
    files: int = 0,
) -> Issue:
    """The one error for a data folder that is not there (`files` = 0) or holds none of
    the `files` source files, at data_dir in sources.yaml (`at`)."""
    if override:
        why = f"named by ALLIANCE_DATA_DIR={override}"
        hint = (
            "set ALLIANCE_DATA_DIR to the folder holding the source files (an absolute path, "
            "or relative to the folder the command runs in), or unset it to use data_dir"
        )
    else:
        why = (
            f"data_dir: {setting} in sources.yaml, which is relative to the config folder "
            f"{config_dir}"
        )
        hint = (
            "write data_dir as the path from the config folder to the data folder (or an "
            "absolute path), or set ALLIANCE_DATA_DIR to the data folder"
        )
    what = (
        f"none of the {files} source files is in the data folder {folder}"
        if files
        else f"data folder not found: {folder}"
    )
    return Issue(
        "error",
        "data",
        at.file if at is not None else "sources.yaml",
        f"{what} ({why}); no source could be loaded",
        line=at.line if at is not None else 0,
        column=at.column if at is not None else 0,
        field="data_dir",
        hint=hint,
    )


def _data_dir_setting(at: Issue | None, catalogue: Catalogue) -> str:
    if at is None or not at.line:
        return "../sample_data (the default)"
    try:
        data = load_yaml((catalogue.config_dir / "sources.yaml").read_text(encoding="utf-8")).data
    except (OSError, YamlSyntaxError):
        return "(as written)"
    return str(data.get("data_dir")) if isinstance(data, dict) else "(as written)"


def metric_summary(
    loaded: ConfigLoad, catalogue: Catalogue, issues: list[Issue], warehouse: Warehouse | None
) -> MetricCounts:
    """How many metrics are valid, have errors, or wait for a source with errors."""
    waiting = dict(loaded.waiting)
    defined = list(loaded.defined)
    if warehouse is not None:
        failed = set(warehouse.failed) | (set(catalogue.sources) - set(warehouse.loaded))
        for metric_id, metric in catalogue.metrics.items():
            needed = {metric.source, metric.rate.population if metric.rate else metric.source}
            if needed & failed:
                waiting[metric_id] = f"source '{sorted(needed & failed)[0]}'"
        for template_id, template in loaded.catalogue.templates.items():
            if template.source in failed:
                waiting[template_id] = f"source '{template.source}'"
        from_data = {
            t for t, m in loaded.catalogue.templates.items() if m.for_each and not m.for_each.values
        }
        expanded = [
            (metric_id, template_id)
            for metric_id, template_id in catalogue.expanded_from.items()
            if template_id in from_data
        ]
        made = {template_id for _, template_id in expanded}
        defined = [(label, t) for label, t in defined if not (label in made and t == label)]
        defined += expanded
    served = set(catalogue.metrics)
    if warehouse is None:  # definitions only: one whose values come from the data is checked
        served |= set(loaded.catalogue.templates)
    return metric_counts(defined, served, issues, waiting)


def _metric_data_issue(
    catalogue: Catalogue, metric: MetricDef, message: str, level: str, field: str, hint: str
) -> Issue:
    origin = catalogue.origins.get(metric.id)
    return Issue(
        level,  # type: ignore[arg-type]
        "data",
        origin.file if origin else "",
        f"metric '{metric.id}': {message}",
        line=origin.line if origin else 0,
        field=f"metrics[{metric.id}]" + (f".{field}" if field else ""),
        hint=hint,
    )


@dataclass
class ValidationReport:
    catalogue: Catalogue
    issues: list[Issue]
    warehouse: Warehouse | None = None
    counts: MetricCounts | None = None  # metrics valid, with errors, waiting for a source

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]


def validate_config(config_dir: Path | str, *, data: bool = True) -> ValidationReport:
    """All four stages. With data=False, only what can be checked without reading data."""
    from metrics.sql.remote import open_for

    loaded = load_config(config_dir)
    issues = list(loaded.issues)
    warehouse = None
    if data:
        warehouse = open_for(loaded.catalogue)
        catalogue, expanded = expand_from_data(loaded.catalogue, warehouse)
        issues += data_folder_issues(loaded, warehouse) + expanded
        issues += check_data(catalogue, warehouse)
    else:
        catalogue = loaded.catalogue
    counts = metric_summary(loaded, catalogue, issues, warehouse)
    return ValidationReport(catalogue, sort_issues(issues), warehouse, counts)


__all__ = [
    "CONFIG_FILES",
    "ConfigLoad",
    "ValidationReport",
    "check_data",
    "load_config",
    "validate_config",
]
