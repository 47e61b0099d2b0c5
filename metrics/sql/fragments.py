"""Analyst-written SQL fragments, parsed and checked as exactly one expression.

Metric definitions carry small pieces of SQL: a row filter (``pathway = 'secondary'``), a
value (``actual_gbp - budget_gbp``), the parts of a ratio or a rate. Each is parsed on
its own with sqlglot and must be exactly one scalar or boolean expression over the
source's own columns, built only from the node types and functions allowed below.
Everything else is refused with the construct named: subqueries, other tables, table
functions, settings functions, statement separators, dollar-quoted strings, aggregates,
window functions, parameters, unknown functions.

The checked tree (never the text) is what the query compiler puts into queries, with
every column quoted as the source declares it, so a fragment cannot end a string, a
bracket or a statement it was not given.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

# Fragments are written in DuckDB's dialect (the embedded default) and emitted in each
# backend's dialect by the compiler.
DIALECT = "duckdb"
MAX_LENGTH = 2_000  # characters: a metric's filter is a line or two
MAX_NODES = 400  # expression nodes: deeply nested input is refused before it is compiled

_COMPARISON = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.Between,
    exp.In,
    exp.Like,
    exp.ILike,
    exp.RegexpLike,
)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.Pow)
_LOGIC = (exp.And, exp.Or, exp.Not)
_LEAVES = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.DataType,
    exp.DataTypeParam,
    exp.Var,
    exp.Interval,
)
_CONDITIONALS = (exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Cast, exp.TryCast)
# Functions a metric needs: numbers, text, dates. Deterministic and cheap; nothing that
# reads settings, files, other tables or the clock.
_FUNCTIONS = (
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Sqrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Greatest,
    exp.Least,
    exp.Sign,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Length,
    exp.Substring,
    exp.Concat,
    exp.DPipe,
    exp.Replace,
    exp.Left,
    exp.Right,
    exp.StartsWith,
    exp.Contains,
    exp.StrPosition,
    exp.Year,
    exp.Month,
    exp.Day,
    exp.DayOfMonth,
    exp.DayOfWeek,
    exp.Quarter,
    exp.LastDay,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.DateDiff,
    exp.Extract,
    exp.DateFromParts,
)
ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    _LEAVES + _COMPARISON + _ARITHMETIC + _LOGIC + _CONDITIONALS + _FUNCTIONS
)
ALLOWED_FUNCTION_NAMES = tuple(
    sorted(
        {
            "abs",
            "round",
            "floor",
            "ceil",
            "sqrt",
            "ln",
            "log",
            "exp",
            "greatest",
            "least",
            "sign",
            "lower",
            "upper",
            "trim",
            "length",
            "substring",
            "concat",
            "replace",
            "left",
            "right",
            "starts_with",
            "contains",
            "strpos",
            "year",
            "month",
            "day",
            "dayofmonth",
            "dayofweek",
            "quarter",
            "last_day",
            "date_trunc",
            "date_diff",
            "extract",
            "make_date",
            "coalesce",
            "nullif",
            "if",
            "cast",
            "try_cast",
            "regexp_matches",
        }
    )
)

# Why a construct is refused, in words an analyst can act on.
_STATEMENTS = tuple(
    getattr(exp, name)
    for name in (
        "DML",
        "DDL",
        "Delete",
        "Create",
        "Insert",
        "Update",
        "Drop",
        "Command",
        "Copy",
        "Set",
        "Pragma",
        "Attach",
        "Detach",
        "Use",
        "Describe",
        "Merge",
        "Transaction",
        "Commit",
        "Rollback",
        "Alter",
        "Install",
        "Export",
    )
    if hasattr(exp, name)
)
_REFUSED: list[tuple[tuple[type[exp.Expression], ...], str]] = [
    (_STATEMENTS, "a statement: a definition holds one condition or expression"),
    (
        (exp.Subquery, exp.Select, exp.Exists, exp.Union, exp.Query, exp.Any, exp.All),
        "a subquery: a definition reads only its own source's columns",
    ),
    ((exp.Table,), "a table reference: a definition reads only its own source's columns"),
    ((exp.AggFunc,), "an aggregate: the measure does the adding up; write the row-level value"),
    ((exp.Window,), "a window function: a definition works row by row"),
    ((exp.Placeholder, exp.Parameter), "a parameter placeholder"),
    ((exp.Star,), "'*': name the columns"),
    ((exp.Dot,), "a qualified name: write the column name alone"),
    ((exp.RawString, exp.HexString, exp.ByteString), "a special string literal"),
    ((exp.Command,), "a command"),
    ((exp.Rand,), "a random number: a metric must give the same figure every time"),
    (
        (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime),
        "the current date or time: a metric must give the same figure every time",
    ),
]


class FragmentError(ValueError):
    """A fragment was refused. `construct` names what was refused (empty when the whole
    fragment is at fault), `reason` why, `hint` how to fix it."""

    def __init__(self, construct: str, reason: str, hint: str = "") -> None:
        super().__init__(f"{construct} {reason}" if construct else reason)
        self.construct = construct
        self.reason = reason
        self.hint = hint

    def describe(self, field: str) -> str:
        """The problem as a sentence about the field it is written in."""
        if self.construct.startswith("column '"):
            return f"unknown {self.construct} in {field}"
        if self.construct:
            return f"{field}: {self.construct} {self.reason}"
        return f"{field} {self.reason}"


@dataclass(frozen=True)
class Fragment:
    """A checked fragment: its text, its tree (columns quoted as declared), and the
    columns it reads."""

    text: str
    tree: exp.Expression
    columns: frozenset[str]


def _snippet(node: exp.Expression) -> str:
    text = node.sql(dialect=DIALECT)
    return text if len(text) <= 60 else text[:57] + "..."


def _refusal(node: exp.Expression) -> str | None:
    for types, reason in _REFUSED:
        if isinstance(node, types):
            return reason
    return None


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    return node.sql_name() if isinstance(node, exp.Func) else type(node).__name__


def _check_tokens(text: str) -> None:
    if _dollar_tag(text):
        raise FragmentError(
            "a dollar-quoted string",
            "is refused: strings must be written in single quotes",
            "write 'text' (double any ' inside it)",
        )
    try:
        tokens = sqlglot.tokenize(text, read=DIALECT)
    except (TokenError, ValueError) as exc:
        raise FragmentError("", f"is not valid SQL ({_first_line(exc)})") from exc
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise FragmentError(
                "';'",
                "is refused: a statement separator; a definition holds one condition or "
                "expression, not several statements",
                "remove the ';' and anything after it",
            )
        if token.token_type in {TokenType.HEREDOC_STRING, TokenType.RAW_STRING}:
            raise FragmentError(
                "a dollar-quoted string",
                "is refused: strings must be written in single quotes",
                "write 'text' (double any ' inside it)",
            )


def _dollar_tag(text: str) -> bool:
    """True if `text` holds a $tag$ outside single-quoted strings (PostgreSQL/DuckDB
    dollar quoting), which could open a string that another fragment closes."""
    inside = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "'":
            inside = not inside
        elif char == "$" and not inside:
            end = text.find("$", index + 1)
            tag = text[index + 1 : end] if end > index else None
            if tag is not None and (tag == "" or tag.replace("_", "").isalnum()):
                return True
        index += 1
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def parse_fragment(text: str, columns: Collection[str]) -> Fragment:
    """Parse `text` as one expression over `columns` (the source's declared columns).

    Raises FragmentError naming the refused construct. Column names are matched as
    DuckDB does (ignoring case) and quoted in the tree exactly as declared.
    """
    return _parse_cached(text, tuple(columns))


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, columns: tuple[str, ...]) -> Fragment:
    if not isinstance(text, str) or not text.strip():
        raise FragmentError("", "is empty", "write a condition, or leave the field out")
    if len(text) > MAX_LENGTH:
        raise FragmentError(
            "", f"is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed"
        )
    _check_tokens(text)
    try:
        parsed = [e for e in sqlglot.parse(text, read=DIALECT) if e is not None]
    except RecursionError as exc:
        raise FragmentError("", "is nested too deeply to be refused or run safely") from exc
    except (ParseError, TokenError, ValueError) as exc:
        raise FragmentError("", f"is not valid SQL ({_first_line(exc)})") from exc
    if len(parsed) != 1:
        raise FragmentError("several statements", "a definition holds one condition or expression")
    tree = parsed[0]
    nodes = list(tree.walk())
    if len(nodes) > MAX_NODES:
        raise FragmentError("", f"has {len(nodes)} parts; at most {MAX_NODES} are allowed")
    by_lower = {c.lower(): c for c in columns}
    used: set[str] = set()
    for node in nodes:
        reason = _refusal(node)
        if reason is not None:
            raise FragmentError(f"'{_snippet(node)}'", f"is refused: {reason}")
        if isinstance(node, exp.Anonymous) or (
            isinstance(node, exp.Func) and not isinstance(node, ALLOWED_NODES)
        ):
            name = _function_name(node).lower()
            raise FragmentError(
                f"function '{name}'",
                "is refused: it is not one of the functions a definition may use",
                "allowed: " + ", ".join(ALLOWED_FUNCTION_NAMES),
            )
        if not isinstance(node, ALLOWED_NODES):
            raise FragmentError(
                f"'{_snippet(node)}'",
                f"is refused: {type(node).__name__} is not allowed in a definition",
            )
        if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest")):
            raise FragmentError(
                f"'{_snippet(node)}'",
                "is refused: IN with a subquery; a definition reads only its own source's "
                "columns (IN takes a list of values)",
            )
        if isinstance(node, exp.Column):
            if node.table or node.args.get("db") or node.args.get("catalog"):
                raise FragmentError(
                    f"'{_snippet(node)}'", "is refused: a qualified name; write the column alone"
                )
            name = node.name
            declared = by_lower.get(name.lower())
            if declared is None:
                from metrics.definitions.issues import did_you_mean

                raise FragmentError(
                    f"column '{name}'",
                    "is not a column of the source",
                    did_you_mean(name, list(columns)) or "columns: " + ", ".join(columns),
                )
            used.add(declared)
    quoted = tree.transform(_quote_column, by_lower=by_lower, copy=True)
    return Fragment(text=text, tree=quoted, columns=frozenset(used))


def _quote_column(node: exp.Expression, by_lower: dict[str, str]) -> exp.Expression:
    if isinstance(node, exp.Column):
        return exp.column(by_lower[node.name.lower()], quoted=True)
    return node
