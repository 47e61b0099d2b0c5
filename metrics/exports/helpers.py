"""Small helpers of the export content: months, numbers and units in words."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from metrics.definitions.models import MetricDef
from metrics.formatting import format_value

CONFIDENCE_WORDS = "95% confidence interval"


# --------------------------------------------------------------------------- helpers


def month_words(value: Any) -> str:
    """'January 2025'."""
    return f"{pd.Timestamp(value):%B %Y}"


def month_short(value: Any) -> str:
    """'Jan 2025'."""
    return f"{pd.Timestamp(value):%b %Y}"


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _raw_text(value: float | None, metric: MetricDef) -> str:
    return format_value(value, metric, with_unit=False)


def _unit_words(metric: MetricDef) -> str:
    """What follows a big number: 'introductions', 'per 100,000' ('' for % and GBP)."""
    if metric.is_money or metric.unit == "%":
        return ""
    return metric.unit


def _y_title(metric: MetricDef) -> str:
    if metric.is_money:
        return "GBP"
    return "percent" if metric.unit == "%" else metric.unit


def _is_count(metric: MetricDef) -> bool:
    """Counts and sums of people or events: their chart axes start at zero on slides."""
    return metric.measure in ("count", "sum")


def ratio_words(value: float) -> str:
    """A rate ratio as read aloud: one decimal from 1 up ('4.2'), two below ('0.85')."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def _first_sentence(text: str) -> str:
    head, _, _ = text.partition(". ")
    return head.rstrip(".") + "."


__all__ = [
    "month_short",
    "month_words",
    "ratio_words",
]
