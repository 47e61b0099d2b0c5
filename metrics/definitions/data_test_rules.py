"""Data tests as definitions: what each test says in words, and which columns a test on a
source or a metric may name. Running them is metrics.sql.data_tests."""

from __future__ import annotations

from typing import Any

from metrics.definitions.issues import did_you_mean
from metrics.definitions.models import ColumnType, DataTest, SourceDef

NUMERIC = {ColumnType.integer, ColumnType.number}
Problem = tuple[tuple[Any, ...], str, str]  # (path under the test, message, hint)


def describe(test: DataTest) -> str:
    """The test in a few words: 'every_month by provider_code'."""
    if test.test in {"not_null", "unique"}:
        return f"{test.test} ({', '.join(test.columns)})"
    if test.test == "every_month":
        return f"every_month by {', '.join(test.by)}" if test.by else "every_month"
    if test.test == "accepted_values":
        return f"accepted_values of {test.column}"
    bounds = []
    if test.min is not None:
        bounds.append(f"at least {test.min:g}")
    if test.max is not None:
        bounds.append(f"at most {test.max:g}")
    what = test.column or "the monthly value"
    return f"range of {what} ({' and '.join(bounds)})"


# --------------------------------------------------------------------------- reference stage


def test_problems(test: DataTest, source: SourceDef, *, on_metric: bool) -> list[Problem]:
    """What stops `test` from running on `source` (unknown columns and the like)."""
    problems: list[Problem] = []
    named: list[tuple[tuple[Any, ...], str]] = [
        *((("columns", i), c) for i, c in enumerate(test.columns)),
        *((("by", i), c) for i, c in enumerate(test.by)),
    ]
    if test.column is not None:
        named.append((("column",), test.column))
    for path, name in named:
        if name not in source.columns:
            problems.append(
                (
                    path,
                    f"data test {test.test}: unknown column '{name}' in source '{source.id}'",
                    did_you_mean(name, source.columns) or f"columns: {', '.join(source.columns)}",
                )
            )
    if test.test == "range":
        if test.column is None and not on_metric:
            problems.append(
                (("test",), "data test range on a source needs column", "e.g. column: breaches")
            )
        declared = source.columns.get(test.column or "")
        if declared is not None and declared.type not in NUMERIC:
            problems.append(
                (
                    ("column",),
                    f"data test range: '{test.column}' is a {declared.type} column",
                    "range checks integer and number columns",
                )
            )
    if test.test == "every_month":
        dated = source.columns.get(source.date_column)
        if dated is not None and dated.type != ColumnType.date:
            problems.append(
                (
                    ("test",),
                    f"data test every_month needs dates by month, but '{source.date_column}' "
                    f"is a {dated.type} column",
                    "",
                )
            )
    return problems
