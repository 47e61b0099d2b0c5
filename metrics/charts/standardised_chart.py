"""Crude and age-standardised rates side by side for each group, with 95% intervals.

Built from figures as shown (the caller passes rates already computed from controlled
counts, `metrics.analyses.equity_shown.standardised_chart_data`); the data carry no event
counts. The two measures differ by colour, point shape and a legend, and each point's
value is written beside it (colour is never the only cue). The x axis starts at zero, so
the size of each group's rate is drawn to scale.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.analyses.standardisation import CRUDE, STANDARDISED
from metrics.charts.theme import NHS_BLUE, SECONDARY_TEXT, TEXT, apply_theme

COLUMNS = ["group", "measure", "rate", "lower", "upper", "label", "interval"]
MEASURES = [CRUDE, STANDARDISED]


def crude_and_standardised_chart(
    data: pd.DataFrame, *, x_title: str, height: int | None = None
) -> alt.LayerChart:
    """One row per group, two points per row (crude and age-standardised) with their
    interval bars (columns: group, measure, rate, lower, upper, label, interval)."""
    frame = data[COLUMNS].copy()
    order = list(dict.fromkeys(frame["group"]))
    y = alt.Y("group:N", title=None, sort=order)
    offset = alt.YOffset("measure:N", scale=alt.Scale(domain=MEASURES), sort=MEASURES)
    x_scale = alt.Scale(zero=True)
    base = alt.Chart(frame).encode(
        y=y,
        yOffset=offset,
        tooltip=[
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("measure:N", title="Measure"),
            alt.Tooltip("label:N", title=x_title),
            alt.Tooltip("interval:N", title="95% CI"),
        ],
    )
    bars = base.mark_rule(strokeWidth=2, color=SECONDARY_TEXT).encode(
        x=alt.X("lower:Q", title=x_title, scale=x_scale), x2="upper:Q"
    )
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X("rate:Q", title=x_title, scale=x_scale),
        shape=alt.Shape(
            "measure:N", title=None, scale=alt.Scale(domain=MEASURES, range=["circle", "square"])
        ),
        color=alt.Color(
            "measure:N",
            title=None,
            scale=alt.Scale(domain=MEASURES, range=[SECONDARY_TEXT, NHS_BLUE]),
            legend=alt.Legend(orient="top"),
        ),
    )
    labels = base.mark_text(align="left", dx=6, color=TEXT, fontSize=11).encode(
        x=alt.X("upper:Q", title=x_title, scale=x_scale), text="label:N"
    )
    chart = alt.layer(bars, points, labels).properties(
        height=height or max(180, 56 * len(order)), width="container"
    )
    return apply_theme(chart)


def crude_and_standardised_alt_text(data: pd.DataFrame, *, what: str, hidden: list[str]) -> str:
    """The chart in words: each group's crude and standardised rate with intervals."""
    if data.empty:
        return f"Chart of {what}: no group has rates that can be shown."
    parts = []
    for group, rows in data.groupby("group", sort=False):
        by = {r.measure: r for r in rows.itertuples()}
        words = [
            f"{measure.lower()} {by[measure].label} (95% CI {by[measure].interval})"
            for measure in MEASURES
            if measure in by
        ]
        parts.append(f"{group}: " + ", ".join(words))
    text = f"Chart of {what}, crude and age-standardised, with 95% confidence intervals; " + (
        "; ".join(parts) + "."
    )
    if hidden:
        text += " Not shown (small numbers): " + ", ".join(hidden) + "."
    return text


__all__ = [
    "CRUDE",
    "STANDARDISED",
    "crude_and_standardised_alt_text",
    "crude_and_standardised_chart",
]
