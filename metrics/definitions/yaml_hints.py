"""Hints for the YAML traps analysts fall into, in the words of what YAML did.

- A code written bare is read as something else: ``1`` and ``01`` as the number 1 (the
  leading zero lost), ``No``/``Yes``/``on``/``off`` as false/true, ``2024-04-01`` as a
  date, ``~`` or nothing as null. The fix is always the same: quote it (``'01'``).
- Indentation: tabs are not allowed, and the lines of one mapping or list must start in
  the same column.
- A value holding ``: `` (``title: Access: waits``) must be quoted.

`value_hint` explains a value the schema refused; `syntax_hint` a YAML syntax error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def value_hint(raw: str, value: Any) -> str:
    """How to write `raw` (the text as written) so YAML keeps it as text, saying what YAML
    read it as (`value`); "" when the text was not changed by YAML."""
    quoted = f"'{raw}'" if "'" not in raw else f'"{raw}"'
    if isinstance(value, bool):
        return (
            f"YAML reads {raw} as {str(value).lower()}: write {quoted} in quotes to keep it as text"
        )
    if isinstance(value, dt.date | dt.datetime):
        return f"YAML reads {raw} as a date: write {quoted} in quotes to keep it as text"
    if isinstance(value, int | float):
        digits = raw.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0") and digits[1:2].isdigit():
            return (
                f"YAML reads {raw} as the number {value}, losing the leading zero: write "
                f"{quoted} in quotes (codes are text)"
            )
        return f"YAML reads {raw} as a number: write {quoted} in quotes (codes are text)"
    if value is None:
        shown = raw if raw.strip() else "an empty value"
        return f"YAML reads {shown} as nothing (null): write the value, in quotes if needed"
    return ""


def shown_value(raw: str | None, value: Any) -> str:
    """The refused value as the analyst wrote it (the text, not what YAML made of it)."""
    if raw is not None and raw != str(value):
        return f"'{raw}' (read as {value!r})"
    return f"'{value}'"


def syntax_hint(message: str, line_text: str) -> str:
    """What usually causes the YAML syntax error `message` on a line reading `line_text`."""
    indent = line_text[: len(line_text) - len(line_text.lstrip())]
    if "\t" in indent or ("cannot start any token" in message and "\t" in line_text):
        return "YAML does not allow tabs: indent with spaces (two per level)"
    if "mapping values are not allowed" in message:
        return (
            "a value that holds ': ' must be in quotes (title: \"Access: waits\"); "
            "otherwise check this line's indentation"
        )
    if any(
        text in message
        for text in (
            "did not find expected key",
            "expected '-' indicator",
            "expected <block end>",
            "could not find expected ':'",
        )
    ):
        return (
            "check the indentation: the lines of one mapping or list must start in the same "
            "column (spaces only), and each entry needs 'name: value'"
        )
    if "expected ',' or ']'" in message:
        return "a [ ... ] list is not closed: check for a missing ']' or ','"
    if "expected ',' or '}'" in message:
        return "a { ... } mapping is not closed: check for a missing '}' or ','"
    if "quoted scalar" in message:
        return "a quote is not closed: end the value with the same quote it starts with"
    if "cannot start any token" in message:
        return "a value starting with @, ` or % must be in quotes"
    return ""
