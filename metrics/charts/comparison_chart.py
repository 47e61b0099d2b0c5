"""Two groups' rates side by side, year by year, with their 95% intervals: the chart on a
slide that compares groups (e.g. detentions of Black and of White adults per 100,000 a
year), so the comparison the headline makes is the one the chart shows.

Built from figures as shown (the caller passes rates already disclosure-controlled); the
data carry no event counts. The y axis starts at zero, so the gap between the groups is
drawn to scale. Groups differ by colour, point shape and dash, and each line is named at
its right-hand end (colour is never the only cue); part years are hollow points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, NHS_BLUE, TEXT, apply_theme

COLUMNS = ["period", "group", "rate", "rate_lower", "rate_upper", "year_kind"]
KINDS = ["Full year", "Part year"]


def group_rates_chart(
    data: pd.DataFrame,
    *,
    group: str,
    reference: str,
    y_title: str,
    decimals: int = 1,
    height: int = 320,
) -> alt.LayerChart:
    """Lines of `group`'s and `reference`'s rates by period (columns: period, group, rate,
    rate_lower, rate_upper, year_kind), with an interval bar at each point."""
    frame = data[COLUMNS].copy()
    number = f",.{decimals}f"
    frame["interval"] = [
        f"{lo:{number}} to {up:{number}}" if pd.notna(lo) and pd.notna(up) else "–"
        for lo, up in zip(frame["rate_lower"], frame["rate_upper"], strict=True)
    ]
    last = frame.groupby("group")["period"].transform("max")
    frame["end_label"] = [
        f"{g} {r:{number}}" if p == m else ""
        for g, r, p, m in zip(frame["group"], frame["rate"], frame["period"], last, strict=True)
    ]
    groups = [group, reference]
    colours = [NHS_BLUE, CATEGORICAL[5]]
    colour = alt.Color(
        "group:N",
        title=None,
        scale=alt.Scale(domain=groups, range=colours),
        legend=alt.Legend(orient="top"),
    )
    x = alt.X("period:O", title="Financial year", axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(zero=True)
    base = alt.Chart(frame).encode(
        x=x,
        tooltip=[
            alt.Tooltip("period:O", title="Financial year"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("rate:Q", title=y_title, format=number),
            alt.Tooltip("interval:N", title="95% CI"),
            alt.Tooltip("year_kind:N", title="Months"),
        ],
    )
    intervals = base.mark_rule(strokeWidth=2, opacity=0.7).encode(
        y=alt.Y("rate_lower:Q", title=y_title, scale=y_scale),
        y2="rate_upper:Q",
        color=colour,
    )
    lines = base.mark_line(strokeWidth=2).encode(
        y=alt.Y("rate:Q", title=y_title, scale=y_scale),
        color=colour,
        strokeDash=alt.StrokeDash(
            "group:N", title=None, scale=alt.Scale(domain=groups, range=[[1, 0], [6, 4]])
        ),
    )
    points = base.mark_point(size=80, strokeWidth=2).encode(
        y=alt.Y("rate:Q", title=y_title, scale=y_scale),
        color=colour,
        shape=alt.Shape(
            "group:N", title=None, scale=alt.Scale(domain=groups, range=["circle", "square"])
        ),
        fill=alt.condition(
            "datum.year_kind === 'Part year'",
            alt.value("#FFFFFF"),
            alt.Fill("group:N", scale=alt.Scale(domain=groups, range=colours), legend=None),
        ),
    )
    labels = (
        base.transform_filter("datum.end_label !== ''")
        .mark_text(align="left", dx=8, fontSize=12, color=TEXT)
        .encode(y=alt.Y("rate:Q", title=y_title, scale=y_scale), text="end_label:N")
    )
    chart = alt.layer(intervals, lines, points, labels).properties(height=height, width="container")
    return apply_theme(chart)


def group_rates_alt_text(
    data: pd.DataFrame,
    *,
    group: str,
    reference: str,
    what: str,
    decimals: int = 1,
    describe_group: Callable[[str], str] = str,
) -> str:
    """The chart in words: every period's two rates with their intervals."""
    if data.empty:
        return f"Chart of {what}: no year has figures that can be shown."
    number = f",.{decimals}f"
    parts = []
    for period, rows in data.groupby("period", sort=True):
        by_group: dict[Any, Any] = {r.group: r for r in rows.itertuples()}
        words = []
        for name in (group, reference):
            row = by_group.get(name)
            if row is None:
                words.append(f"{name} not shown (small numbers)")
            else:
                words.append(
                    f"{name} {row.rate:{number}} (95% CI {row.rate_lower:{number}} to "
                    f"{row.rate_upper:{number}})"
                )
        kind = rows["year_kind"].iloc[0]
        parts.append(
            f"{period}{' (part year)' if kind == 'Part year' else ''}: " + ", ".join(words)
        )
    return (
        f"Chart of {what} by financial year, {describe_group(group)} against "
        f"{describe_group(reference)}, with 95% confidence intervals; the axis starts at "
        "zero. " + "; ".join(parts) + "."
    )


__all__ = ["group_rates_alt_text", "group_rates_chart"]
