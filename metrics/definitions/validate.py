"""Staged validation of config/: parse, schema, references, data.

Every stage reports all the problems it finds (never just the first), each as an `Issue`
with file, line, column and field, and a hint where one is obvious. Later stages run on
whatever passed the earlier ones, so one broken metric never hides the problems of another
and never stops the valid ones from being served.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError

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
from metrics.definitions.yaml_positions import LoadedYaml, YamlSyntaxError, load_yaml
from metrics.definitions.yaml_positions import Path as YPath
from metrics.sql.compiler import table_name
from metrics.warehouse import (
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
        issues.append(
            Issue("error", "parse", file.display, str(exc), line=exc.line, column=exc.column)
        )


def _items(
    file: _File,
    list_key: str,
    item_model: type[BaseModel],
    issues: list[Issue],
    container_model: type[BaseModel],
) -> Iterator[tuple[int, Any]]:
    """Validate each item of a list file on its own, yielding (index, model) for good ones."""
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


def load_config(config_dir: Path | str) -> ConfigLoad:
    """Stages 1 to 3: parse, schema and references. The catalogue holds what passed."""
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

    sources_file = named("sources.yaml")
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
        for index, source in _items(sources_file, "sources", SourceDef, issues, SourcesFile):
            if _unique(sources, source.id, sources_file, ("sources", index), "source", issues):
                sources[source.id] = source
                source_files[source.id] = (sources_file, index)

    interventions_file = named("interventions.yaml")
    interventions: dict[str, InterventionDef] = {}
    if interventions_file.loaded is not None:
        for index, item in _items(
            interventions_file, "interventions", InterventionDef, issues, InterventionsFile
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
    for path in metric_paths:
        file = files[path]
        if file.loaded is None:
            continue
        for index, metric in _items(file, "metrics", MetricDef, issues, MetricsFile):
            if _unique(metrics, metric.id, file, ("metrics", index), "metric", issues, origins):
                metrics[metric.id] = metric
                origins[metric.id] = Origin(
                    file.display, file.loaded.position(("metrics", index)).line
                )
                metric_files[metric.id] = (file, index)

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
        warehouse_url=warehouse_url,
        warehouse_schema=warehouse_schema,
    )
    context = _RuleContext(catalogue, metric_files, source_files, board_file, issues, showcase_file)
    for rule in REFERENCE_RULES:
        rule(context)
    _sql_check(context)
    # A metric with a reference error is not served: it would fail or mislead.
    broken = {
        i.field.split(".")[0] for i in issues if i.is_error and i.stage in {"references", "sql"}
    }
    kept = {mid: m for mid, m in metrics.items() if f"metrics[{mid}]" not in broken}
    catalogue = Catalogue(**{**catalogue.__dict__, "metrics": kept})
    return ConfigLoad(catalogue, sort_issues(issues))


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
    from metrics.series import SeriesQuery, plan_series
    from metrics.sql.compiler import fragment_columns, fragment_texts, population_plan
    from metrics.sql.fragments import FragmentError, parse_fragment

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
                parse_fragment(text, fragment_columns(metric, cat.sources, path))
            except FragmentError as exc:
                refused.add(metric.id)
                ctx.metric_issue(
                    metric, path, exc.describe(_field_name(path)), exc.hint, stage="sql"
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
            if (
                metric.id in refused
                or f"metrics[{metric.id}]" in already_metrics
                or not needed <= set(cat.sources) - unusable
            ):
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
                _report_sql_error(ctx, metric, exc)
    finally:
        con.close()


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
    from metrics.month_checks import month_change_issues
    from metrics.series import SeriesError, SeriesQuery, compute_series

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

        if metric.source not in warehouse.loaded:
            report(f"unavailable because {warehouse.failure_reason(metric.source)}", field="source")
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
    return issues


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
        issues += warehouse.issues
        issues += check_data(loaded.catalogue, warehouse)
    return ValidationReport(loaded.catalogue, sort_issues(issues), warehouse)


__all__ = [
    "CONFIG_FILES",
    "ConfigLoad",
    "ValidationReport",
    "check_data",
    "load_config",
    "validate_config",
]
