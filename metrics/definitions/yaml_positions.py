"""Load YAML keeping the line and column of every value, so problems can point at them.

PyYAML's composer gives nodes with start marks; we build the plain Python value and, beside
it, a map from the path of each value (a tuple of keys and list indexes) to its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class LoadedYaml:
    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)

    def position(self, path: Path) -> Position:
        """The position of the value at `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Position(1, 1))

    def key_position(self, path: Path) -> Position:
        """Where the key of the mapping entry at `path` is written (for unknown-field errors)."""
        return self.key_positions.get(tuple(path)) or self.position(path)


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


# libyaml's parser when PyYAML was built with it (much faster on big files); node marks are
# the same. Safe loading either way: no Python objects are ever constructed from tags.
_NodeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def load_yaml(text: str) -> LoadedYaml:
    """Parse one YAML document. Raises `YamlSyntaxError` with a position on bad syntax."""
    loader = _NodeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise YamlSyntaxError(f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:  # e.g. a second document in one file
        raise YamlSyntaxError(f"YAML error: {exc}", 0, 0) from None
    finally:
        loader.dispose()
    result = LoadedYaml(data=None)
    if root is None:
        return result
    constructor = yaml.SafeLoader("")
    try:
        result.data = _build(root, (), result, constructor)
    finally:
        constructor.dispose()
    return result


def _build(node: yaml.Node, path: Path, out: LoadedYaml, constructor: yaml.SafeLoader) -> Any:
    out.positions[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                pos = _mark(key_node)
                raise YamlSyntaxError(
                    "YAML error: a mapping key must be a plain value", pos.line, pos.column
                )
            key = str(key) if not isinstance(key, str) else key
            if key in mapping:
                pos = _mark(key_node)
                raise YamlSyntaxError(
                    f"YAML error: the key '{key}' appears twice in the same mapping",
                    pos.line,
                    pos.column,
                )
            child = (*path, key)
            out.key_positions[child] = _mark(key_node)
            mapping[key] = _build(value_node, child, out, constructor)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), out, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)
