"""One shape for every validation problem: the CLI, the site and the editor all show it."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Level = Literal["error", "warning"]
Stage = Literal["parse", "schema", "references", "sql", "data"]


@dataclass(frozen=True)
class Issue:
    """A problem found in the configuration or the data it points at.

    `line` and `column` are 1-based positions in `file` (0 when unknown); `field` is a
    dotted path such as ``metrics[3].source`` or, for data files, a column name.
    """

    level: Level
    stage: Stage
    file: str
    message: str
    line: int = 0
    column: int = 0
    field: str = ""
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def location(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def format_text(self) -> str:
        """``file:line:col: error [field]: message (hint)`` on one line."""
        text = f"{self.location()}: {self.level}"
        if self.field:
            text += f" [{self.field}]"
        text += f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def format_github(self) -> str:
        """A GitHub Actions workflow annotation (``::error file=...,line=...::message``)."""
        props = [f"file={self.file}"]
        if self.line:
            props.append(f"line={self.line}")
        if self.column:
            props.append(f"col={self.column}")
        props.append(f"title={self.stage} check")
        body = self.message + (f" ({self.hint})" if self.hint else "")
        if self.field:
            body = f"[{self.field}] {body}"
        # Workflow commands need %, CR and LF escaped in the message.
        body = body.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{self.level} {','.join(props)}::{body}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(issue.is_error for issue in issues)


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Errors first, then by file and position, so the first thing read is the first to fix."""
    return sorted(issues, key=lambda i: (i.level != "error", i.file, i.line, i.column, i.field))


def issues_to_json(issues: Sequence[Issue], counts: object | None = None) -> str:
    """Counts and every issue; with `counts` (metrics.definitions.assemble.MetricCounts),
    how many metrics are valid, have errors, or wait for a source with errors."""
    body: dict[str, object] = {
        "errors": sum(1 for i in issues if i.is_error),
        "warnings": sum(1 for i in issues if not i.is_error),
    }
    if counts is not None:
        body["metrics"] = asdict(counts)  # type: ignore[call-overload]
    body["issues"] = [i.to_dict() for i in issues]
    return json.dumps(body, indent=2)


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name` (a typo, a different case, or a prefixed/suffixed
    variant such as 'event_date' for 'date'), or None when nothing is close."""
    options = sorted({str(c) for c in candidates})
    text = str(name)
    folded = {c.lower(): c for c in options}
    if text.lower() in folded:
        return folded[text.lower()]
    matches = difflib.get_close_matches(text, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    containing = [c for c in options if len(text) >= 3 and (text in c or c in text)]
    return containing[0] if len(containing) == 1 else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A "did you mean 'x'?" hint for a misspelt name, or "" when nothing is close."""
    match = closest(name, candidates)
    return f"did you mean '{match}'?" if match else ""
