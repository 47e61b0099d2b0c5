"""Validation of config/ as definitions: parse, schema and references.

Every stage reports all the problems it finds (never just the first), each as an `Issue`
with file, line, column and field, and a hint where one is obvious. Later stages run on
whatever passed the earlier ones, so one broken metric never hides the problems of another
and never stops the valid ones from being served.

Nothing here reads data or needs a SQL engine: checks that do (the SQL of every metric
bound against empty tables, the data stage) are passed in as `checks` from above
(metrics.validation runs every stage).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metrics.definitions.assemble import (
    DUPLICATE_HINT,
    Broken,
    Definition,
    duplicate_messages,
    expand,
    for_each_problems,
    is_follow_on,
    keeper,
    metric_of,
    once,
    rewrite_expanded,
    under,
)
from metrics.definitions.board_files import (
    BoardFile,
    DisclosureFile,
    FrameworkFile,
    ShowcaseFile,
    SlideDef,
)
from metrics.definitions.catalogue import (
    CONFIG_FILES,
    METRICS_DIR,
    Catalogue,
    Origin,
    config_files,
    fingerprint,
    resolve_data_dir,
)
from metrics.definitions.data_test_rules import test_problems
from metrics.definitions.issues import Issue, did_you_mean, sort_issues
from metrics.definitions.models import (
    InterventionDef,
    InterventionsFile,
    MetricDef,
    MetricsFile,
    SourceDef,
    SourcesFile,
)
from metrics.definitions.parsing import (
    DEFAULT_MAX_METRICS,
    YamlFile,
    display_path,
    env_limit,
    issue_at,
    items_of,
    parse_file,
    validate_model,
)
from metrics.definitions.rules import REFERENCE_RULES, RuleContext
from metrics.definitions.yaml_positions import Path as YPath


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


def load_definitions(
    config_dir: Path | str,
    *,
    served: Mapping[str, str] | None = None,
    checks: Sequence[Callable[[RuleContext], None]] = (),
) -> ConfigLoad:
    """Stages 1 to 3: parse, schema and references. The catalogue holds what passed.

    `checks` run after the reference rules, on the same context (metrics.validation passes
    the SQL checks of metrics.sql.definition_checks).

    `served` maps metric ids to the file defining them in the configuration being served
    (the editor passes the one on disk): a duplicate id keeps that definition."""
    config_dir = Path(config_dir).resolve()
    issues: list[Issue] = []
    paths = config_files(config_dir)
    files = {p: YamlFile(p, display_path(p, config_dir)) for p in paths}
    if not config_dir.is_dir():
        issues.append(Issue("error", "parse", str(config_dir), "config folder not found"))
        return ConfigLoad(Catalogue(config_dir, config_dir), issues)
    for file in files.values():
        parse_file(file, issues)

    def named(name: str) -> YamlFile:
        return files[config_dir / name]

    broken_things = Broken()  # what is reported broken: references to it are not repeated
    sources_file = named("sources.yaml")
    if not _list_readable(sources_file, "sources"):
        broken_things.opaque.add("source")
    sources: dict[str, SourceDef] = {}
    source_files: dict[str, tuple[YamlFile, int]] = {}
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
        for index, source in items_of(
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
        for index, item in items_of(
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
            issue_at(framework_file, (), "the file is empty; expected 'outcomes:' and 'domains:'")
        )
    elif framework_file.loaded is not None:
        framework = validate_model(
            framework_file, FrameworkFile, framework_file.loaded.data, (), issues
        )
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
                    issue_at(
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
        board = (
            validate_model(board_file, BoardFile, board_file.loaded.data or {}, (), issues) or board
        )

    disclosure_file = named("disclosure.yaml")
    disclosure = DisclosureFile()
    if disclosure_file.loaded is not None:
        disclosure = (
            validate_model(
                disclosure_file, DisclosureFile, disclosure_file.loaded.data or {}, (), issues
            )
            or disclosure
        )

    showcase_file = named("showcase.yaml")
    showcase = None
    slides: list[SlideDef] = []
    if showcase_file.loaded is not None:
        slides = [
            slide for _, slide in items_of(showcase_file, "slides", SlideDef, issues, ShowcaseFile)
        ]
        data = showcase_file.loaded.data if isinstance(showcase_file.loaded.data, dict) else {}
        showcase = validate_model(showcase_file, ShowcaseFile, {**data, "slides": []}, (), [])

    metrics: dict[str, MetricDef] = {}
    origins: dict[str, Origin] = {}
    metric_files: dict[str, tuple[YamlFile, int]] = {}
    metric_paths = [p for p in paths if p.parent.name == METRICS_DIR]
    if not metric_paths:
        issues.append(
            Issue(
                "error",
                "parse",
                display_path(config_dir / METRICS_DIR, config_dir),
                "no metric files (config/metrics/*.yaml)",
            )
        )
    assembly = _assemble_metrics(
        [files[path] for path in metric_paths], sources, issues, broken_things, served or {}
    )
    metrics, origins, metric_files = assembly.metrics, assembly.origins, assembly.files

    max_metrics = env_limit("ALLIANCE_MAX_METRICS", DEFAULT_MAX_METRICS)
    if len(metrics) > max_metrics:
        # Serve none of them rather than an arbitrary subset; the last good board stays.
        first_extra = list(metrics)[max_metrics]
        file, index = metric_files[first_extra]
        issues.append(
            issue_at(
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
    context = RuleContext(catalogue, metric_files, source_files, board_file, issues, showcase_file)
    for rule in REFERENCE_RULES:
        rule(context)
    for check in checks:
        check(context)
    _data_test_references(context, assembly)
    return _finish(catalogue, issues, assembly, broken_things, sources_file)


# --------------------------------------------------------------------------- assembling metrics


def _list_readable(file: YamlFile, key: str) -> bool:
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
    files: dict[str, tuple[YamlFile, int]] = field(default_factory=dict)
    expanded_from: dict[str, str] = field(default_factory=dict)
    templates: dict[str, MetricDef] = field(default_factory=dict)
    tests: dict[str, Origin] = field(default_factory=dict)  # "metrics[id].tests[0]"
    salvaged: dict[str, list[Any]] = field(default_factory=dict)  # id -> paths removed
    duplicates: list[Issue] = field(default_factory=list)
    defined: list[tuple[str, str | None]] = field(default_factory=list)
    unserved: set[str] = field(default_factory=set)  # checked, never served


def _assemble_metrics(
    metric_files: list[YamlFile],
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
    by_display: dict[str, YamlFile] = {}
    for order, file in enumerate(metric_files):
        if file.loaded is None:
            continue
        by_display[file.display] = file
        written = _written(file.path)
        rescued: list[tuple[int, str, Any, list[Any]]] = []
        for index, metric in items_of(file, "metrics", MetricDef, issues, MetricsFile, rescued):
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
                issue = issue_at(
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
                issue_at(
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
    sources_file: YamlFile, source_files: dict[str, tuple[YamlFile, int]]
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


def _data_test_references(ctx: RuleContext, assembly: _Assembly) -> None:
    """Data tests name columns their source has (and a range on a source names one)."""
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
    sources_file: YamlFile,
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


def _data_dir_at(sources_file: YamlFile) -> Issue | None:
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
    file: YamlFile,
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
        issue_at(
            file,
            (*path, "id"),
            f"duplicate {kind} id '{item_id}'{where}",
            hint="ids must be unique",
            stage="references",
        )
    )
    return False


def _duplicates(file: YamlFile, key: str, ids: list[str], issues: list[Issue]) -> None:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            issues.append(
                issue_at(
                    file,
                    (key, index, "id"),
                    f"duplicate id '{item_id}' in {key}",
                    stage="references",
                )
            )
        seen.add(item_id)


__all__ = [
    "CONFIG_FILES",
    "ConfigLoad",
    "RuleContext",
    "load_definitions",
]
