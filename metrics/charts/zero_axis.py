"""Charts of counts start their y axis at zero.

A count read from an axis that starts at 80 makes a rounding step of 5 look like a fall
of a third; on slides, where a chart is seen for seconds, the axis of a count starts at
zero (rates and percentages already do where they should). `from_zero` takes any Altair
chart and returns the same chart with every quantitative y scale including zero: log
scales and scales with a fixed domain are left as they are.
"""

from __future__ import annotations

from typing import Any

import altair as alt


def _zero_y(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _zero_y(item)
        return
    if not isinstance(node, dict):
        return
    encoding = node.get("encoding")
    if isinstance(encoding, dict):
        y = encoding.get("y")
        if isinstance(y, dict) and y.get("type") == "quantitative":
            scale = y.get("scale") if isinstance(y.get("scale"), dict) else {}
            if scale.get("type") not in {"log", "symlog"} and "domain" not in scale:
                y["scale"] = {**scale, "zero": True}
    for key, value in node.items():
        if key not in {"data", "datasets", "config"}:
            _zero_y(value)


def y_starts_at_zero(spec: dict[str, Any]) -> bool:
    """Whether every quantitative y scale in a Vega-Lite spec includes zero."""
    found: list[bool] = []

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        encoding = node.get("encoding")
        if isinstance(encoding, dict):
            y = encoding.get("y")
            if isinstance(y, dict) and y.get("type") == "quantitative":
                scale = y.get("scale") if isinstance(y.get("scale"), dict) else {}
                domain = scale.get("domain")
                found.append(
                    scale.get("zero", True) is not False
                    if domain is None
                    else (isinstance(domain, list) and bool(domain) and domain[0] == 0)
                )
        for key, value in node.items():
            if key not in {"data", "datasets", "config"}:
                visit(value)

    visit(spec)
    return bool(found) and all(found)


def from_zero(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """`chart` with its quantitative y scales starting at zero (a new chart)."""
    spec = chart.to_dict()
    _zero_y(spec)
    return type(chart).from_dict(spec)


__all__ = ["from_zero", "y_starts_at_zero"]
