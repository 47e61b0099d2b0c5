"""A metric's series as a line chart (one line per group when broken down)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, NHS_BLUE, apply_theme
from metrics.definitions.models import MetricDef
from metrics.formatting import format_value

DASHES = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4], [3, 1]]


def series_chart(
    frame: pd.DataFrame, metric: MetricDef, *, height: int = 320, title: str | None = None
) -> alt.Chart:
    """Lines with points; missing months are gaps, groups differ by colour AND dash.
    `title` says what and where (metrics.labels.chart_title)."""
    data = frame[["month", "value"] + (["group"] if "group" in frame else [])].copy()
    data["label"] = [format_value(v, metric) for v in data["value"]]
    y_title = metric.unit if metric.unit != "%" else "percent"
    base = alt.Chart(data).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=metric.unit != "%")),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format="%B %Y"),
            *([alt.Tooltip("group:N", title="Group")] if "group" in data else []),
            alt.Tooltip("label:N", title=metric.title[:40]),
        ],
    )
    if "group" in data:
        groups = sorted(data["group"].unique())
        colour = alt.Color(
            "group:N",
            title=None,
            scale=alt.Scale(domain=groups, range=CATEGORICAL[: len(groups)] or CATEGORICAL),
        )
        dash = alt.StrokeDash(
            "group:N",
            title=None,
            scale=alt.Scale(domain=groups, range=DASHES[: len(groups)] or DASHES),
        )
        lines = base.mark_line(strokeWidth=2).encode(color=colour, strokeDash=dash)
        points = base.mark_point(filled=True, size=28).encode(
            color=colour, shape=alt.Shape("group:N", title=None)
        )
    else:
        lines = base.mark_line(color=NHS_BLUE, strokeWidth=2)
        points = base.mark_point(color=NHS_BLUE, filled=True, size=28)
    chart = alt.layer(lines, points).properties(
        height=height, width="container", **({"title": title} if title else {})
    )
    return apply_theme(chart)


def series_alt_text(frame: pd.DataFrame, metric: MetricDef) -> str:
    """One or two sentences describing the chart for screen readers."""
    known = frame.dropna(subset=["value"])
    if known.empty:
        return f"Chart of {metric.title}: no data in the selected period."
    first, last = known.iloc[0], known.iloc[-1]
    if "group" in frame:
        latest_month = known["month"].max()
        latest = known[known["month"] == latest_month]
        parts = ", ".join(
            f"{row.group} {format_value(row.value, metric)}" for row in latest.itertuples()
        )
        return (
            f"Line chart of {metric.title} by group from {first.month:%B %Y} to "
            f"{latest_month:%B %Y}. Latest values: {parts}."
        )
    gaps = int(frame["value"].isna().sum())
    gap_text = f" {gaps} month(s) have no data and show as gaps." if gaps else ""
    return (
        f"Line chart of {metric.title} from {first.month:%B %Y} "
        f"({format_value(first.value, metric)}) to {last.month:%B %Y} "
        f"({format_value(last.value, metric)}).{gap_text}"
    )
