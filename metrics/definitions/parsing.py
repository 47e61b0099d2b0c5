"""Stages 1 and 2 of validation: each YAML file parsed (with positions) and checked
against its schema, every problem an `Issue` at its file, line, column and field."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from metrics.definitions.assemble import (
    salvage,
)
from metrics.definitions.issues import Issue, did_you_mean
from metrics.definitions.yaml_hints import shown_value, syntax_hint, value_hint
from metrics.definitions.yaml_positions import LoadedYaml, YamlSyntaxError, load_yaml
from metrics.definitions.yaml_positions import Path as YPath


@dataclass
class YamlFile:
    path: Path
    display: str
    loaded: LoadedYaml | None = None


# --------------------------------------------------------------------------- helpers


def display_path(path: Path, config_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(config_dir.resolve().parent))
    except ValueError:
        return str(path)


def field_label(path: YPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def issue_at(
    file: YamlFile,
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
        field=label if label is not None else field_label(path),
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


def validate_model(
    file: YamlFile,
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
            issues.append(issue_at(file, path, message, hint=hint, key=at_key, label=label))
        return None


# --------------------------------------------------------------------------- stages 1 and 2


DEFAULT_MAX_METRICS = 5_000
DEFAULT_MAX_FILE_KB = 2_048


def env_limit(name: str, default: int) -> int:
    """An operator's limit from the environment (not from the configuration it limits)."""
    try:
        return max(1, int(os.environ.get(name) or default))
    except ValueError:
        return default


def parse_file(file: YamlFile, issues: list[Issue]) -> None:
    limit_kb = env_limit("ALLIANCE_MAX_CONFIG_FILE_KB", DEFAULT_MAX_FILE_KB)
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


def items_of(
    file: YamlFile,
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
        issues.append(issue_at(file, (), f"the file is empty; expected a '{list_key}:' list"))
        return
    if not isinstance(data, dict) or list_key not in data:
        issues.append(
            issue_at(file, (), f"expected a mapping with a '{list_key}:' list at the top")
        )
        return
    others = {k: v for k, v in data.items() if k != list_key}
    validate_model(file, container_model, {**others, list_key: []}, (), issues)
    items = data[list_key]
    if not isinstance(items, list):
        issues.append(
            issue_at(file, (list_key,), f"'{list_key}' must be a list (items start with '- ')")
        )
        return
    for index, item in enumerate(items):
        label = f"{list_key}[{index}]"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            label = f"{list_key}[{item['id']}]"
        model = validate_model(
            file, item_model, item, (list_key, index), issues, label_prefix=label
        )
        if model is not None:
            yield index, model
        elif salvaged is not None and isinstance(item, dict) and isinstance(item.get("id"), str):
            rescued, gone = salvage(item_model, item)
            salvaged.append((index, item["id"], rescued, gone))
