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
    # The text as written of every plain scalar YAML read as something other than text
    # (01 -> 1, No -> false, 2024-04-01 -> a date), for hints that say what YAML did.
    raw: dict[Path, str] = field(default_factory=dict)

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


def load_yaml(text: str) -> LoadedYaml:
    """Parse one YAML document. Raises `YamlSyntaxError` with a position on bad syntax.

    Hostile input never escapes as another exception: bad tags, unreadable scalars,
    self-referencing aliases, alias bombs and control characters are all reported as
    `YamlSyntaxError` pointing at the offending value.
    """
    loader = _NodeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else 0
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise YamlSyntaxError(f"YAML syntax error: {problem}", line, column) from None
    except yaml.reader.ReaderError as exc:  # a control character; knows its offset only
        line, column = _line_column(text, exc.position)
        reason = f"character #x{exc.character:04x} is not allowed ({exc.reason})"
        raise YamlSyntaxError(f"YAML error: {reason}", line, column) from None
    except yaml.YAMLError as exc:  # anything else the parser rejects, without a mark
        raise YamlSyntaxError(f"YAML error: {_first_line(exc)}", 1, 0) from None
    finally:
        loader.dispose()
    result = LoadedYaml(data=None)
    if root is None:
        return result
    builder = _Builder(result)
    try:
        result.data = builder.build(root, ())
    except RecursionError:
        raise YamlSyntaxError(
            "YAML error: values are nested too deeply", *_line_column(text, 0)
        ) from None
    finally:
        builder.constructor.dispose()
    return result


# Generous for any configuration file (the bundled config has a few thousand values) yet
# small enough that an alias bomb ("billion laughs") is refused in milliseconds.
MAX_VALUES = 100_000


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class _Builder:
    """Builds plain values from composed nodes, recording the position of each.

    Aliases are expanded (a value reached twice is built twice, at each path), so the
    builder refuses a node that contains itself and stops after `MAX_VALUES` values.
    """

    def __init__(self, out: LoadedYaml) -> None:
        self.out = out
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()  # ids of the nodes on the path being built
        self.count = 0

    def fail(self, node: yaml.Node, message: str) -> YamlSyntaxError:
        pos = _mark(node)
        return YamlSyntaxError(f"YAML error: {message}", pos.line, pos.column)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(node, f"more than {MAX_VALUES:,} values (aliases expand too much)")
        if id(node) in self.active:
            raise self.fail(node, "an alias refers to the value that contains it")
        self.out.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.active.add(id(node))
            try:
                return self.mapping(node, path)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.active.add(id(node))
            try:
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        value = self.scalar(node)
        if not isinstance(value, str) and isinstance(node, yaml.ScalarNode) and not node.style:
            self.out.raw[path] = node.value
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        try:
            self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or node.start_mark
            raise YamlSyntaxError(
                f"YAML error: {exc.problem or exc}", mark.line + 1, mark.column + 1
            ) from None
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a mapping key must be a plain value")
            key = self.scalar(key_node)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise self.fail(key_node, "a mapping key must be a plain value")
            key = str(key) if not isinstance(key, str) else key
            if key in mapping:
                raise self.fail(key_node, f"the key '{key}' appears twice in the same mapping")
            child = (*path, key)
            self.out.key_positions[child] = _mark(key_node)
            mapping[key] = self.build(value_node, child)
        return mapping

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML's constructors raise IndexError, ValueError, ...
            if self.implicit(node):
                # A plain scalar that merely looks like a date or number (2024-13-01):
                # keep the text, so the field's own check explains what is wrong with it.
                return node.value
            detail = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else exc
            text = str(node.value)
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise self.fail(node, f"cannot read the value '{shown}': {detail}") from None

    def implicit(self, node: yaml.Node) -> bool:
        """Whether the node's tag comes from how its text looks (no !!tag written)."""
        if node.style or not isinstance(node.value, str):
            return False
        return node.tag == self.constructor.resolve(yaml.ScalarNode, node.value, (True, False))


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)
