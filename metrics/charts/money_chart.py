"""The Money page's charts (Altair), from the frames metrics.analyses.money computes:
budget against actual, cumulative spend and its variance, unit costs by month."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.analyses.money import (
    ON_BUDGET_TOLERANCE_GBP,
    signed_money,
)
from metrics.charts.theme import CATEGORICAL, SECONDARY_TEXT, TEXT, apply_theme
from metrics.formatting import format_money

OVERSPEND_COLOUR = CATEGORICAL[5]  # vermillion
UNDERSPEND_COLOUR = CATEGORICAL[0]  # blue
ON_BUDGET_COLOUR = "#A6A6A6"


def _millions_axis(title: str) -> alt.Axis:
    # '~' trims trailing zeros: £0m, £2.5m, £10m.
    return alt.Axis(
        title=title,
        labelExpr="(datum.value < 0 ? '-' : '') + '£' "
        "+ format(abs(datum.value) / 1000000, ',.3~f') + 'm'",
    )


def budget_actual_chart(frame: pd.DataFrame, *, height_per_row: int = 34) -> alt.LayerChart:
    """Year-to-date actual as a bar, budget as a black tick, and a text label on every row
    saying over or under and by how much (colour is never the only cue)."""
    data = pd.DataFrame(
        {
            "name": frame["group_name"].astype(str),
            "budget": frame["ytd_budget_gbp"].astype(float),
            "actual": frame["ytd_actual_gbp"].astype(float),
            "variance": frame["ytd_variance_gbp"].astype(float),
            "status": frame["status"].astype(str),
        }
    )
    data["label"] = [
        "on budget"
        if s == "on budget"
        else f"{signed_money(v)} {'over' if s == 'overspend' else 'under'}"
        for v, s in zip(data["variance"], data["status"], strict=True)
    ]
    data["end"] = data[["budget", "actual"]].max(axis=1)
    data["budget_text"] = data["budget"].map(format_money)
    data["actual_text"] = data["actual"].map(format_money)
    order = data["name"].tolist()  # already sorted, largest overspend first
    top = float(data["end"].max()) if not data.empty else 1.0
    x_scale = alt.Scale(domain=[0, top * 1.3])
    y = alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    tooltip = [
        alt.Tooltip("name:N", title="Name"),
        alt.Tooltip("budget_text:N", title="Budget to date"),
        alt.Tooltip("actual_text:N", title="Actual to date"),
        alt.Tooltip("label:N", title="Variance"),
    ]
    bars = (
        alt.Chart(data, name="actual_bars")
        .mark_bar(height={"band": 0.7})
        .encode(
            x=alt.X("actual:Q", scale=x_scale, axis=_millions_axis("Year to date (GBP)")),
            y=y,
            color=alt.Color(
                "status:N",
                title="Position",
                scale=alt.Scale(
                    domain=["overspend", "underspend", "on budget"],
                    range=[OVERSPEND_COLOUR, UNDERSPEND_COLOUR, ON_BUDGET_COLOUR],
                ),
                # Below the plot: on the right it lay over the bar labels on a phone.
                legend=alt.Legend(orient="bottom", direction="horizontal"),
            ),
            tooltip=tooltip,
        )
    )
    ticks = (
        alt.Chart(data, name="budget_ticks")
        .mark_tick(color=TEXT, thickness=3, size=22)
        .encode(x=alt.X("budget:Q", scale=x_scale), y=y, tooltip=tooltip)
    )
    labels = (
        alt.Chart(data, name="variance_labels")
        .mark_text(align="left", dx=6, color=TEXT, fontSize=12)
        .encode(x=alt.X("end:Q", scale=x_scale), y=y, text="label:N")
    )
    chart = alt.layer(bars, ticks, labels).properties(
        height=max(120, height_per_row * len(data)), width="container"
    )
    return apply_theme(chart)


def cumulative_chart(monthly: pd.DataFrame) -> alt.LayerChart:
    """Cumulative actual (solid line, dots) against cumulative budget (dashed line, squares)
    through the year; provisional months shaded and labelled."""
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "month": monthly["month"],
                    "series": "Actual (cumulative)",
                    "value": monthly["cumulative_actual_gbp"],
                    "provisional": monthly["provisional"],
                }
            ),
            pd.DataFrame(
                {
                    "month": monthly["month"],
                    "series": "Budget (cumulative)",
                    "value": monthly["cumulative_budget_gbp"],
                    "provisional": monthly["provisional"],
                }
            ),
        ],
        ignore_index=True,
    )
    long["value_text"] = long["value"].map(format_money)
    long["status"] = long["provisional"].map(lambda p: "provisional" if p else "final")
    series = ["Actual (cumulative)", "Budget (cumulative)"]
    base = alt.Chart(long).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
        y=alt.Y("value:Q", axis=_millions_axis("Cumulative (GBP)")),
        color=alt.Color(
            "series:N",
            title=None,
            scale=alt.Scale(domain=series, range=[CATEGORICAL[5], CATEGORICAL[0]]),
        ),
        tooltip=[
            alt.Tooltip("month:T", title="Month", format="%B %Y"),
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("value_text:N", title="Amount"),
            alt.Tooltip("status:N", title="Data"),
        ],
    )
    lines = base.mark_line().encode(
        strokeDash=alt.StrokeDash(
            "series:N", title=None, scale=alt.Scale(domain=series, range=[[1, 0], [6, 4]])
        )
    )
    points = base.mark_point(filled=True, size=45).encode(
        shape=alt.Shape(
            "series:N", title=None, scale=alt.Scale(domain=series, range=["circle", "square"])
        )
    )
    layers: list[alt.Chart] = []
    provisional = monthly[monthly["provisional"]]
    if not provisional.empty:
        shade = pd.DataFrame(
            {
                "start": [provisional["month"].min() - pd.Timedelta(days=15)],
                "end": [provisional["month"].max() + pd.Timedelta(days=15)],
                "text": ["provisional"],
            }
        )
        layers.append(
            alt.Chart(shade, name="provisional_shading")
            .mark_rect(color="#D8DDE0", opacity=0.5)
            .encode(x="start:T", x2="end:T")
        )
        layers.append(
            alt.Chart(shade, name="provisional_label")
            .mark_text(align="left", baseline="top", dx=2, dy=4, color=SECONDARY_TEXT)
            .encode(x="start:T", y=alt.value(0), text="text:N")
        )
    chart = alt.layer(*layers, lines, points).properties(height=320, width="container")
    return apply_theme(chart)


def cumulative_variance_chart(monthly: pd.DataFrame) -> alt.LayerChart:
    """The running over- or underspend month by month: bars above zero are over budget
    (orange), below zero under (blue), each labelled with its signed amount."""
    data = pd.DataFrame(
        {
            "month": monthly["month"],
            "variance": monthly["cumulative_variance_gbp"].astype(float),
            "provisional": monthly["provisional"],
        }
    )
    data["position"] = [
        "over budget" if v > ON_BUDGET_TOLERANCE_GBP else "under budget" for v in data["variance"]
    ]
    data["label"] = data["variance"].map(signed_money)
    data["status"] = data["provisional"].map(lambda p: "provisional" if p else "final")
    positions = ["over budget", "under budget"]
    # Room beyond the longest bars for their labels (and for the month labels below zero).
    low, high = min(0.0, float(data["variance"].min())), max(0.0, float(data["variance"].max()))
    pad = 0.25 * ((high - low) or 1.0)
    padded = [low - pad if low < 0 else low, high + pad if high > 0 else high]
    x = alt.X("yearmonth(month):O", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0))
    bars = (
        alt.Chart(data, name="variance_bars")
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "variance:Q",
                axis=_millions_axis("Over (+) or under (-) budget to date"),
                scale=alt.Scale(domain=padded),
            ),
            color=alt.Color(
                "position:N",
                title=None,
                scale=alt.Scale(domain=positions, range=[OVERSPEND_COLOUR, UNDERSPEND_COLOUR]),
            ),
            opacity=alt.Opacity(
                "status:N",
                title=None,
                scale=alt.Scale(domain=["final", "provisional"], range=[1.0, 0.45]),
            ),
            tooltip=[
                alt.Tooltip("yearmonth(month):O", title="Month", format="%B %Y"),
                alt.Tooltip("label:N", title="Variance to date"),
                alt.Tooltip("status:N", title="Data"),
            ],
        )
    )
    # Labels sit beyond the end of each bar: above a bar over zero, below one under it.
    over = (
        alt.Chart(data[data["variance"] > 0], name="over_labels")
        .mark_text(color=TEXT, fontSize=11, dy=-8)
        .encode(x=x, y="variance:Q", text="label:N")
    )
    under = (
        alt.Chart(data[data["variance"] <= 0], name="under_labels")
        .mark_text(color=TEXT, fontSize=11, dy=10)
        .encode(x=x, y="variance:Q", text="label:N")
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=TEXT).encode(y="y:Q")
    chart = alt.layer(bars, zero, over, under).properties(height=240, width="container")
    return apply_theme(chart)


def unit_cost_chart(trend: pd.DataFrame, service_line_ids: list[str]) -> alt.FacetChart:
    """Unit cost by financial year, one small panel per service line (each with its own
    scale and unit in the title); the latest, partly provisional year is a hollow point."""
    data = trend[trend["service_line_id"].isin(service_line_ids)].copy()
    data = data[data["unit_cost_gbp"].notna()]
    data["panel"] = data["service_line"].astype(str) + " (" + data["unit_label"].astype(str) + ")"
    data["cost_text"] = data["unit_cost_gbp"].map(format_money)
    data["status"] = data["provisional"].map(
        lambda p: "includes provisional months" if p else "final"
    )
    data = data[["fin_year", "panel", "unit_cost_gbp", "cost_text", "status"]]
    base = alt.Chart(data).encode(
        x=alt.X("fin_year:O", title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("unit_cost_gbp:Q", title="GBP per unit", scale=alt.Scale(zero=False)),
        tooltip=[
            alt.Tooltip("fin_year:O", title="Year"),
            alt.Tooltip("cost_text:N", title="Unit cost"),
            alt.Tooltip("status:N", title="Data"),
        ],
    )
    line = base.mark_line(color=CATEGORICAL[0])
    statuses = ["final", "includes provisional months"]
    # Fill and shape share one field and title, so Vega-Lite draws one legend whose symbols
    # look like the points (filled circle, hollow diamond).
    points = base.mark_point(size=50, filled=True, stroke=CATEGORICAL[0]).encode(
        fill=alt.Fill(
            "status:N",
            title=None,
            scale=alt.Scale(domain=statuses, range=[CATEGORICAL[0], "white"]),
        ),
        shape=alt.Shape(
            "status:N", title=None, scale=alt.Scale(domain=statuses, range=["circle", "diamond"])
        ),
    )
    chart = (
        alt.layer(line, points, data=data)
        .properties(width=260, height=160)
        .facet(facet=alt.Facet("panel:N", title=None), columns=2)
        .resolve_scale(y="independent")
    )
    return apply_theme(chart)
