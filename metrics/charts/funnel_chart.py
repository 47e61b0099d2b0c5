"""Funnel plot: each group's figure against its size, with 95% and 99.8% limits.

Built from a `metrics.analyses.funnel.Funnel` (figures as shown: points from controlled counts,
limits from those points). The chart data carry each point's figure, size, limits and
label, never exact counts. Limits are told apart by dash (95% dashed, 99.8% dotted) and
named in the legend; points by shape and colour (inside, outside the 95% limits only,
outside the 99.8% limits), and each point is labelled with its group's name, so colour is
never the only cue. The tooltip says the group, its figure and where it lies against
each limit.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.analyses.funnel import Funnel, funnel_points_frame
from metrics.charts.theme import (
    NHS_BLUE,
    SECONDARY_TEXT,
    SPC_CONCERN,
    TEXT,
    apply_theme,
)

LIMIT_95 = "95% limits"
LIMIT_998 = "99.8% limits"
INSIDE = "Inside the limits"
OUTSIDE_95 = "Outside the 95% limits only"
OUTSIDE_998 = "Outside the 99.8% limits"
STATUSES = [INSIDE, OUTSIDE_95, OUTSIDE_998]


def _status(position: str) -> str:
    if position.endswith("both limits") and not position.startswith("inside"):
        return OUTSIDE_998
    if "95% limit" in position:
        return OUTSIDE_95
    return INSIDE


def funnel_chart_data(funnel: Funnel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, lines): points with status; limit lines in long form (x, value, limit,
    side)."""
    points = funnel_points_frame(funnel)
    points["status"] = [_status(p) for p in points["position"]]
    points["value_text"] = [funnel.value_text(v) for v in points["value"]]
    curve = funnel.curve()
    rows = []
    for limit, lower, upper in (
        (LIMIT_95, "lower95", "upper95"),
        (LIMIT_998, "lower998", "upper998"),
    ):
        for side, column in (("lower", lower), ("upper", upper)):
            rows.append(
                pd.DataFrame(
                    {"x": curve["x"], "value": curve[column], "limit": limit, "side": side}
                )
            )
    lines = pd.concat(rows, ignore_index=True)
    return points, lines


def funnel_chart(funnel: Funnel, *, height: int = 360, title: str | None = None) -> alt.LayerChart:
    """The funnel plot (see the module docstring); `title` says what and where."""
    points, lines = funnel_chart_data(funnel)
    x_title = funnel.x_title
    y_title = f"{funnel.title} ({funnel.unit})" if funnel.unit != "%" else f"{funnel.title} (%)"
    x = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False))
    y_scale = alt.Scale(zero=False)
    limit_lines = (
        alt.Chart(lines)
        .mark_line(color=SECONDARY_TEXT, strokeWidth=1.5)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title, scale=y_scale),
            strokeDash=alt.StrokeDash(
                "limit:N",
                title=None,
                scale=alt.Scale(domain=[LIMIT_95, LIMIT_998], range=[[6, 4], [2, 3]]),
                legend=alt.Legend(orient="top"),
            ),
            detail="side:N",
        )
    )
    target = pd.DataFrame(
        {"y": [funnel.target], "label": [f"All together: {funnel.value_text(funnel.target)}"]}
    )
    target_line = (
        alt.Chart(target)
        .mark_rule(color=TEXT, strokeWidth=1.5)
        .encode(y=alt.Y("y:Q", title=y_title, scale=y_scale))
    )
    target_label = (
        alt.Chart(target)
        .mark_text(align="left", dy=-7, x=4, color=TEXT, fontSize=12)
        .encode(y=alt.Y("y:Q", title=y_title, scale=y_scale), text="label:N")
    )
    base = alt.Chart(points).encode(
        x=alt.X("size:Q", title=x_title, scale=alt.Scale(zero=False)),
        y=alt.Y("value:Q", title=y_title, scale=y_scale),
        tooltip=[
            alt.Tooltip("group:N", title=funnel.group_label.capitalize()),
            alt.Tooltip("value_text:N", title="Figure"),
            alt.Tooltip("position:N", title="Against the limits"),
        ],
    )
    dots = base.mark_point(filled=True, size=110, strokeWidth=1.5).encode(
        shape=alt.Shape(
            "status:N",
            title=None,
            scale=alt.Scale(domain=STATUSES, range=["circle", "triangle-up", "diamond"]),
        ),
        color=alt.Color(
            "status:N",
            title=None,
            scale=alt.Scale(domain=STATUSES, range=[NHS_BLUE, SPC_CONCERN, "#8A1538"]),
            # Below the plot in two columns: beside the limits' legend it ran off a phone.
            legend=alt.Legend(orient="bottom", columns=2),
        ),
    )
    names = base.mark_text(align="left", dx=8, dy=-6, color=TEXT, fontSize=12).encode(
        text="group:N"
    )
    if title is None:  # what, compared how, and when
        title = ", ".join(
            part for part in (f"{funnel.title} by {funnel.group_label}", funnel.period) if part
        )
    chart = alt.layer(limit_lines, target_line, target_label, dots, names).properties(
        height=height, width="container", **({"title": title} if title else {})
    )
    return apply_theme(chart)


__all__ = ["funnel_chart", "funnel_chart_data"]
