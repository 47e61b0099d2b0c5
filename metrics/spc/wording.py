"""Plain words for SPC results, shared by the report, the chart and its alt text."""

from __future__ import annotations

import math
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
