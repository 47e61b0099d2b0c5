"""Making Data Count SPC chart (XmR) from an `SPCResult`, and its alt text.

Layers: the values (a thin line that breaks at missing values), the centre line (solid),
the process limits (dashed), the target (dashed, stepped), a dotted rule at each rebase
(the centre and limit lines break there), and the points, marked by type with SHAPE as
well as colour: a circle for common cause, a triangle pointing up for a high special
cause and down for a low one. The legend names the point types in plain words, the lines
are labelled at their right-hand end, and each point's tooltip gives the date, value,
limits, target and the rule that fired ("Run of 7 points above the mean").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from metrics.charts.theme import (
    SECONDARY_TEXT,
    SPC_COMMON,
    SPC_CONCERN,
    SPC_IMPROVEMENT,
    SPC_LIMIT,
    SPC_MEAN,
    SPC_NEUTRAL,
    SPC_TARGET,
    TEXT,
    apply_theme,
)
from metrics.spc import FacetSPC, SPCResult
from metrics.spc.wording import LEGEND_LABELS, POINT_TYPE_WORDS, plain_number

POINT_COLOURS = {
    "common_cause": SPC_COMMON,
    "special_cause_improvement": SPC_IMPROVEMENT,
    "special_cause_concern": SPC_CONCERN,
    "special_cause_neutral_high": SPC_NEUTRAL,
    "special_cause_neutral_low": SPC_NEUTRAL,
}
HIGH_SHAPE = "triangle-up"
LOW_SHAPE = "triangle-down"
COMMON_SHAPE = "circle"
LIMIT_DASH = [6, 4]
TARGET_DASH = [2, 3]
LINE_LABELS = {"upl": "Upper limit", "mean": "Mean", "lpl": "Lower limit", "target": "Target"}


def point_shapes(improvement: str) -> dict[str, str]:
    """Shape per point type: high special causes point up, low ones down."""
    high_is_improvement = improvement == "increase"
    if improvement == "neutral":
        return {
            "common_cause": COMMON_SHAPE,
            "special_cause_neutral_high": HIGH_SHAPE,
            "special_cause_neutral_low": LOW_SHAPE,
        }
    return {
        "common_cause": COMMON_SHAPE,
        "special_cause_improvement": HIGH_SHAPE if high_is_improvement else LOW_SHAPE,
        "special_cause_concern": LOW_SHAPE if high_is_improvement else HIGH_SHAPE,
    }


def _chart_data(result: SPCResult, facet: Hashable | None, all_facets: bool) -> pd.DataFrame:
    points = result.points if all_facets else result.facet_points(facet)
    data = points[
        ["facet", "date", "value", "mean", "lpl", "upl", "target", "rebase_group", "point_type"]
    ].copy()
    labels = LEGEND_LABELS[result.options.improvement]
    data["point_label"] = data["point_type"].map(labels)
    data["rule_text"] = np.where(points["rule"] == "", "None (common cause)", points["rule"])
    facet_codes = pd.factorize(data["facet"].astype(str))[0]
    group = data["rebase_group"].to_numpy()
    same_facet = np.concatenate([[False], facet_codes[1:] == facet_codes[:-1]])
    new_group = np.concatenate([[False], group[1:] != group[:-1]])
    data["rebase_start"] = same_facet & new_group
    data["is_last"] = np.concatenate([facet_codes[1:] != facet_codes[:-1], [True]])
    data["facet"] = data["facet"].astype(str)
    return data


def spc_chart(
    result: SPCResult,
    facet: Hashable | None = None,
    *,
    title: str | None = None,
    y_title: str = "Value",
    value_format: str = ",.2~f",
    date_format: str = "%b %Y",
    height: int = 320,
    all_facets: bool = False,
    themed: bool = True,
) -> alt.TopLevelMixin:
    """Altair SPC chart of one facet (or of every facet, one row each, with all_facets).

    value_format: d3 format for values in tooltips (default: up to 2 decimals).
    themed: apply the project theme (turn off to layer or concatenate the chart further).
    """
    if not result.facets:
        raise ValueError("the SPC result has no data to chart")
    data = _chart_data(result, facet, all_facets)
    improvement = result.options.improvement
    labels = LEGEND_LABELS[improvement]
    shapes = point_shapes(improvement)
    domain = list(labels.values())
    x = alt.X("date:T", title=None, axis=alt.Axis(format=date_format, labelAngle=0))
    base = alt.Chart().encode(x=x)

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title, scale=alt.Scale(zero=False))

    # detail by rebase group: the centre and limit lines break at a rebase
    by_group = alt.Detail("rebase_group:N")
    line_kwargs: dict[str, Any] = {"invalid": "break-paths-show-domains"}
    layers: list[alt.Chart] = [
        base.mark_line(
            color=SPC_LIMIT, strokeDash=LIMIT_DASH, strokeWidth=1.5, **line_kwargs
        ).encode(y=y(limit), detail=by_group)
        for limit in ("upl", "lpl")
    ]
    layers.append(
        base.mark_line(color=SPC_MEAN, strokeWidth=1.5, **line_kwargs).encode(
            y=y("mean"), detail=by_group
        )
    )
    if data["target"].notna().any():
        layers.append(
            base.mark_line(
                color=SPC_TARGET,
                strokeDash=TARGET_DASH,
                strokeWidth=2,
                interpolate="step-after",
                **line_kwargs,
            ).encode(y=y("target"))
        )
    if data["rebase_start"].any():
        layers.append(
            base.transform_filter("datum.rebase_start")
            .mark_rule(color=SECONDARY_TEXT, strokeDash=[1, 3], strokeWidth=1.5)
            .encode(
                tooltip=[alt.Tooltip("date:T", title="Limits recalculated from", format="%d %b %Y")]
            )
        )
    layers.append(
        base.mark_line(color=SPC_COMMON, strokeWidth=1.5, **line_kwargs).encode(y=y("value"))
    )
    tooltip = [
        alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
        alt.Tooltip("value:Q", title="Value", format=value_format),
        alt.Tooltip("mean:Q", title="Mean", format=value_format),
        alt.Tooltip("lpl:Q", title="Lower process limit", format=value_format),
        alt.Tooltip("upl:Q", title="Upper process limit", format=value_format),
        *(
            [alt.Tooltip("target:Q", title="Target", format=value_format)]
            if data["target"].notna().any()
            else []
        ),
        alt.Tooltip("point_label:N", title="Point type"),
        alt.Tooltip("rule_text:N", title="Rule"),
    ]
    legend = alt.Legend(title="Point type", orient="bottom", direction="horizontal", labelLimit=0)
    layers.append(
        base.transform_filter("isValid(datum.value)")
        .mark_point(filled=True, size=70, opacity=1, stroke=TEXT, strokeWidth=0.5)
        .encode(
            y=y("value"),
            color=alt.Color(
                "point_label:N",
                scale=alt.Scale(domain=domain, range=[POINT_COLOURS[kind] for kind in labels]),
                legend=legend,
            ),
            shape=alt.Shape(
                "point_label:N",
                scale=alt.Scale(domain=domain, range=[shapes[kind] for kind in labels]),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    # direct labels at the right-hand end of the latest group's lines
    layers.append(
        base.transform_filter("datum.is_last")
        .transform_fold(list(LINE_LABELS), as_=["line", "line_value"])
        .transform_filter("isValid(datum.line_value)")
        .transform_calculate(
            line_label=" : ".join(f"datum.line === '{k}' ? '{v}'" for k, v in LINE_LABELS.items())
            + " : ''"
        )
        .mark_text(align="left", dx=6, fontSize=11, color=SECONDARY_TEXT)
        .encode(y=alt.Y("line_value:Q"), text="line_label:N")
    )
    chart: Any = alt.layer(*layers, data=data)
    if all_facets:
        chart = (
            chart.properties(height=height, width=600)
            .facet(
                row=alt.Row(
                    "facet:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")
                )
            )
            .resolve_scale(y="independent")
        )
    else:
        chart = chart.properties(height=height, width="container")
    # screen readers read the top-level description as the chart's accessible name
    description = spc_alt_text(result, facet, all_facets=all_facets)
    chart = chart.properties(description=description, **({"title": title} if title else {}))
    return apply_theme(chart) if themed else chart


# --- alt text ---------------------------------------------------------------------------------


def _date_words(value: Any, monthly: bool) -> str:
    ts = pd.Timestamp(value)
    return ts.strftime("%B %Y") if monthly else ts.strftime("%d %B %Y").lstrip("0")


def _facet_alt_text(
    result: SPCResult,
    facet: FacetSPC,
    measure: str,
    fmt: Callable[[float | None], str],
) -> str:
    points = result.facet_points(facet.facet)
    if facet.latest_date is None:
        return f"SPC chart of {measure}: no values to show."
    dates = points["date"]
    monthly = bool((dates.dt.day == 1).all())
    latest = points[points["date"] == facet.latest_date].iloc[0]
    lpl, mean, upl = float(latest["lpl"]), float(latest["mean"]), float(latest["upl"])
    span = f"{_date_words(dates.iloc[0], monthly)} to {_date_words(dates.iloc[-1], monthly)}"
    value_text = f"{fmt(facet.latest_value)} in {_date_words(facet.latest_date, monthly)}"
    if np.isnan(lpl) or np.isnan(upl):
        where = f"with a mean of {fmt(mean)} and no process limits (too few values)"
    elif facet.latest_value > upl:
        where = f"above the upper process limit of {fmt(upl)} (mean {fmt(mean)})"
    elif facet.latest_value < lpl:
        where = f"below the lower process limit of {fmt(lpl)} (mean {fmt(mean)})"
    else:
        where = (
            f"within the process limits of {fmt(lpl)} to {fmt(upl)} around a mean of {fmt(mean)}"
        )
    flagged = points[points["special_cause_flag"].to_numpy(dtype=bool)]
    if len(flagged):
        last = flagged.iloc[-1]
        kind = POINT_TYPE_WORDS[str(last["point_type"])]
        special = (
            f"{len(flagged)} point{'s show' if len(flagged) > 1 else ' shows'} special cause "
            f"variation (latest, {_date_words(last['date'], monthly)}: "
            f"{str(last['rule']).lower()}, {kind})"
        )
    else:
        special = "no point shows special cause variation"
    first = (
        f"SPC chart of {measure}, {span}: the latest value, {value_text}, is {where}, "
        f"and {special}."
    )
    second = facet.variation_meaning
    if facet.assurance_icon:
        assurance = facet.assurance_meaning.removeprefix("Assurance: ")
        second += f"; assurance against the target of {fmt(facet.target)}: {assurance}"
    return f"{first} {second}."


def spc_alt_text(
    result: SPCResult,
    facet: Hashable | None = None,
    *,
    measure: str = "the value",
    format_value: Callable[[float | None], str] = plain_number,
    all_facets: bool = False,
) -> str:
    """One or two sentences describing the chart: the latest value and limits, any special
    cause, and what the icons mean. `format_value` writes numbers with their unit."""
    if not result.facets:
        return f"SPC chart of {measure}: no data."
    if all_facets:
        return " ".join(
            f"{f.facet}: {_facet_alt_text(result, f, measure, format_value)}" for f in result.facets
        )
    return _facet_alt_text(result, result.facet(facet), measure, format_value)
