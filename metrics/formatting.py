"""How numbers are written for readers: units, money, percentages, changes."""

from __future__ import annotations

import math

from metrics.definitions.models import MetricDef


def is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_money(value: float) -> str:
    """GBP in the way board papers write it: £1.23m, £456k, £789."""
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1_000_000:
        return f"{sign}£{size / 1_000_000:,.2f}m"
    if size >= 10_000:
        return f"{sign}£{size / 1_000:,.0f}k"
    return f"{sign}£{size:,.0f}"


def format_number(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def format_value(value: float | None, metric: MetricDef, *, with_unit: bool = True) -> str:
    """A metric value with its unit, e.g. '57.3%', '£1.20m', '203 referrals'; '–' when missing."""
    if is_missing(value):
        return "–"
    assert value is not None
    value = value + 0.0  # no "-0" for a value that rounds to zero
    if round(value, metric.decimals) == 0:
        value = 0.0
    if metric.is_money:
        return format_money(value)
    if metric.unit == "%":
        return f"{value:,.{metric.decimals}f}%"
    text = format_number(value, metric.decimals)
    return f"{text} {metric.unit}" if with_unit else text


def format_change(change: float | None, metric: MetricDef) -> str:
    """A signed change in the metric's own units ('+12', '-3.4 points' for percentages)."""
    if is_missing(change):
        return "–"
    assert change is not None
    if metric.is_money:
        return ("+" if change >= 0 else "") + format_money(change)
    if metric.unit == "%":
        return f"{change:+,.{metric.decimals}f} points"
    return f"{change:+,.{metric.decimals}f}"


def direction_word(change: float | None, metric: MetricDef, tolerance: float = 1e-9) -> str:
    """'better', 'worse', 'no change' or 'higher'/'lower' for neutral metrics."""
    if is_missing(change):
        return ""
    assert change is not None
    if abs(change) <= tolerance:
        return "no change"
    if metric.better == "neutral":
        return "higher" if change > 0 else "lower"
    improved = (change > 0) == (metric.better == "up")
    return "better" if improved else "worse"
