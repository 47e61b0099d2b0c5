"""Charts of the Equity page: group rates with intervals, the yearly rate ratio, and the
bed-day share against the population share.

Each builder takes a frame of figures already as shown (`metrics.analyses.equity_shown`
builds them from controlled counts: `rate_chart_data`, `ratio_trend_data`; and
`metrics.charts.equity_figures.bed_share_chart` the bed-day shares); the frames carry no
event counts. Colour is never the only cue: shapes, dashes and written values carry the
same meaning.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, NHS_BLUE, SECONDARY_TEXT, TEXT, apply_theme

ROLES = ["Compared group", "Reference group"]
YEAR_KINDS = ["Full year", "Part year"]


def group_rates_points(
    data: pd.DataFrame, *, per_text: str, height: int | None = None
) -> alt.LayerChart:
    """Rates per `per_text` a year as points with 95% CI bars, one row per group
    (columns: group, rate, rate_lower, rate_upper, role, label).

    The reference group differs by shape (diamond) and colour, and is named in the
    legend; each rate is also written beside its bar.
    """
    order = list(data["group"])
    y = alt.Y("group:N", title=None, sort=order)
    base = alt.Chart(data).encode(
        y=y,
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("rate:Q", title=f"Rate per {per_text} a year", format=",.1f"),
            alt.Tooltip("rate_lower:Q", title="95% CI from", format=",.1f"),
            alt.Tooltip("rate_upper:Q", title="95% CI to", format=",.1f"),
        ],
    )
    bars = base.mark_rule(strokeWidth=2, color=SECONDARY_TEXT).encode(
        x=alt.X("rate_lower:Q", title=f"Rate per {per_text} a year (95% CI)"),
        x2="rate_upper:Q",
    )
    points = base.mark_point(filled=True, size=110).encode(
        x="rate:Q",
        shape=alt.Shape(
            "role:N", title=None, scale=alt.Scale(domain=ROLES, range=["circle", "diamond"])
        ),
        color=alt.Color(
            "role:N",
            title=None,
            scale=alt.Scale(domain=ROLES, range=[NHS_BLUE, CATEGORICAL[5]]),
            legend=alt.Legend(orient="top"),
        ),
    )
    labels = base.mark_text(align="left", dx=6, color=TEXT, fontSize=12).encode(
        x="rate_upper:Q", text="label:N"
    )
    chart = alt.layer(bars, points, labels).properties(
        height=height or max(160, 48 * len(data)), width="container"
    )
    return apply_theme(chart)


def ratio_trend(data: pd.DataFrame, *, group: str, reference: str) -> alt.LayerChart:
    """Rate ratio of `group` vs `reference` by financial year, with 95% CI bars (columns:
    fin_year, rate_ratio, ratio_lower, ratio_upper, months, year_kind).

    A dashed rule marks a ratio of 1 (equal rates); the y axis is logarithmic, so a
    doubling looks the same size either side of 1. Part years are hollow points.
    """
    x = alt.X("fin_year:O", title="Financial year", axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(type="log", zero=False)
    y_title = f"Rate ratio: {group} vs {reference} (log scale)"
    base = alt.Chart(data).encode(
        x=x,
        tooltip=[
            alt.Tooltip("fin_year:O", title="Financial year"),
            alt.Tooltip("rate_ratio:Q", title=f"Rate ratio vs {reference}", format=".2f"),
            alt.Tooltip("ratio_lower:Q", title="95% CI from", format=".2f"),
            alt.Tooltip("ratio_upper:Q", title="95% CI to", format=".2f"),
            alt.Tooltip("months:Q", title="Months pooled"),
        ],
    )
    intervals = base.mark_rule(strokeWidth=2, color=SECONDARY_TEXT).encode(
        y=alt.Y("ratio_lower:Q", scale=y_scale, title=y_title),
        y2="ratio_upper:Q",
    )
    line = base.mark_line(color=NHS_BLUE, strokeWidth=2).encode(
        y=alt.Y("rate_ratio:Q", scale=y_scale, title=y_title)
    )
    points = base.mark_point(size=80, color=NHS_BLUE, strokeWidth=2).encode(
        y=alt.Y("rate_ratio:Q", scale=y_scale, title=y_title),
        fill=alt.Fill(
            "year_kind:N",
            title=None,
            scale=alt.Scale(domain=YEAR_KINDS, range=[NHS_BLUE, "#FFFFFF"]),
            legend=alt.Legend(orient="top"),
        ),
    )
    one = alt.Chart(pd.DataFrame({"y": [1.0], "label": ["Equal rates (ratio 1)"]}))
    equal = one.mark_rule(strokeDash=[6, 4], color=TEXT).encode(
        y=alt.Y("y:Q", scale=y_scale, title=y_title)
    )
    equal_label = one.mark_text(align="left", dy=-7, x=4, color=TEXT, fontSize=12).encode(
        y=alt.Y("y:Q", scale=y_scale, title=y_title), text="label:N"
    )
    chart = alt.layer(equal, equal_label, intervals, line, points).properties(
        height=320, width="container"
    )
    return apply_theme(chart)


def share_lines(data: pd.DataFrame, *, group: str, series: list[str]) -> alt.LayerChart:
    """Two yearly percentage lines (columns: fin_year, series, share), told apart by
    colour, dash, point shape and legend; the y axis runs from 0 to 100%."""
    encoding = {
        "x": alt.X("fin_year:O", title="Financial year", axis=alt.Axis(labelAngle=0)),
        "y": alt.Y("share:Q", title=f"Percent ({group})", scale=alt.Scale(domain=[0, 100])),
        "color": alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=series, range=[NHS_BLUE, CATEGORICAL[5]]),
            legend=alt.Legend(orient="top"),
        ),
        "tooltip": [
            alt.Tooltip("fin_year:O", title="Financial year"),
            alt.Tooltip("series:N", title="Measure"),
            alt.Tooltip("share:Q", title="Percent", format=".1f"),
        ],
    }
    base = alt.Chart(data).encode(**encoding)
    lines = base.mark_line(strokeWidth=2).encode(
        strokeDash=alt.StrokeDash(
            "series:N", title=None, scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]])
        )
    )
    points = base.mark_point(filled=True, size=60).encode(
        shape=alt.Shape(
            "series:N", title=None, scale=alt.Scale(domain=series, range=["circle", "square"])
        )
    )
    return apply_theme(alt.layer(lines, points).properties(height=300, width="container"))


__all__ = ["group_rates_points", "ratio_trend", "share_lines"]
