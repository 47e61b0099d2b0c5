"""Plain words for SPC results, shared by the report, the chart and its alt text."""

from __future__ import annotations

import math
import re
from typing import Final

POINT_TYPE_WORDS: Final = {
    "common_cause": "common cause",
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neutral_high": "special cause (high)",
    "special_cause_neutral_low": "special cause (low)",
}

# Legend labels per improvement direction, in legend order: which point types can occur,
# and which way each one points (so the chart can mark direction by shape).
LEGEND_LABELS: Final = {
    "increase": {
        "common_cause": "Common cause",
        "special_cause_improvement": "Special cause: improvement (high)",
        "special_cause_concern": "Special cause: concern (low)",
    },
    "decrease": {
        "common_cause": "Common cause",
        "special_cause_improvement": "Special cause: improvement (low)",
        "special_cause_concern": "Special cause: concern (high)",
    },
    "neutral": {
        "common_cause": "Common cause",
        "special_cause_neutral_high": "Special cause: high",
        "special_cause_neutral_low": "Special cause: low",
    },
}


def plain_number(value: float | None) -> str:
    """A number as a reader would write it: 1,234.5, 57, 0.0123; "n/a" when missing."""
    if value is None or math.isnan(value):
        return "n/a"
    if value != 0 and abs(value) < 0.1:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


_RULE_MEANINGS: Final = (
    (
        re.compile(r"^Run of (\d+) points (above|below) the mean$"),
        lambda m: f"{m[1]} months in a row {m[2]} average",
    ),
    (
        re.compile(r"^Run of (\d+) or more points in a row (above|below) the median$"),
        lambda m: f"{m[1]} or more months in a row {m[2]} the middle value",
    ),
    (
        re.compile(r"^Trend of (\d+)(?: or more)? points in a row (rising|falling)$"),
        lambda m: f"{m[2]} {m[1]} months in a row",
    ),
    (
        re.compile(r"^2 of 3 points in a row close to the (upper|lower) process limit$"),
        lambda m: (
            f"2 of 3 months running close to the {'top' if m[1] == 'upper' else 'bottom'}"
            " of the usual range"
        ),
    ),
    (re.compile(r"^Above the upper process limit$"), lambda m: "higher than the usual range"),
    (re.compile(r"^Below the lower process limit$"), lambda m: "lower than the usual range"),
)


def rule_meaning(rule: str) -> str:
    """What an SPC rule's finding means, in board words: 'Run of 7 points above the mean'
    becomes '7 months in a row above average' (analyst pages keep the rule's name)."""
    for pattern, words in _RULE_MEANINGS:
        match = pattern.match(rule.strip())
        if match:
            return words(match)
    return rule
