"""Money charts say over and under budget by colour as their captions promise (orange
over, blue under, grey on budget), with the words on every bar as well."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metrics.charts.money_chart import (
    ON_BUDGET_COLOUR,
    OVERSPEND_COLOUR,
    UNDERSPEND_COLOUR,
    budget_actual_chart,
    cumulative_variance_chart,
)


def colours_of(chart: Any, field: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The colour each value of `field` is drawn in, and that colour encoding."""
    [colour] = [c for c in colour_scales(chart.to_dict()) if c.get("field") == field]
    scale = colour["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True)), colour


def colour_scales(spec: Any) -> list[dict[str, Any]]:
    """Every colour encoding's scale in a Vega-Lite spec."""
    found = []
    if isinstance(spec, dict):
        colour = spec.get("color")
        if isinstance(colour, dict) and "scale" in colour:
            found.append(colour)
        for value in spec.values():
            found += colour_scales(value)
    elif isinstance(spec, list):
        for value in spec:
            found += colour_scales(value)
    return found


def test_budget_bars_are_coloured_by_position() -> None:
    frame = pd.DataFrame(
        {
            "group_name": ["Trust", "Council", "Charity"],
            "ytd_budget_gbp": [10e6, 5e6, 1e6],
            "ytd_actual_gbp": [11e6, 4e6, 1e6],
            "ytd_variance_gbp": [1e6, -1e6, 0.0],
            "status": ["overspend", "underspend", "on budget"],
        }
    )
    colours, colour = colours_of(budget_actual_chart(frame), "status")
    assert colours == {
        "overspend": OVERSPEND_COLOUR,
        "underspend": UNDERSPEND_COLOUR,
        "on budget": ON_BUDGET_COLOUR,
    }
    assert colour["legend"]["orient"] == "bottom"  # never over the bar labels on a phone


def test_running_variance_bars_are_coloured_over_and_under() -> None:
    monthly = pd.DataFrame(
        {
            "month": pd.date_range("2024-04-01", periods=3, freq="MS"),
            "cumulative_variance_gbp": [2e5, -1e5, 3e5],
            "provisional": [False, False, True],
        }
    )
    colours, _ = colours_of(cumulative_variance_chart(monthly), "position")
    assert colours == {
        "over budget": OVERSPEND_COLOUR,
        "under budget": UNDERSPEND_COLOUR,
    }
