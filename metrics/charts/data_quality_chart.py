"""The Data quality page's charts (Altair), from the frames metrics.analyses.data_quality
computes: completeness by source and month, and how far early figures are revised."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.analyses.data_quality import (
    CELL_COLOURS,
    CELL_SHAPES,
    CELL_STATES,
    cell_state,
)
from metrics.charts.theme import CATEGORICAL, SECONDARY_TEXT, TEXT, apply_theme
from metrics.sql.month_checks import (
    RECORDS,
)


def completeness_heatmap(frame: pd.DataFrame, *, by_source: bool) -> alt.LayerChart:
    """Rows (sources, or one source's measures) x months. Colour says whether the month is
    complete, provisional, incomplete or missing (dark to pale blue); a shape inside every
    cell that is not complete says the same (diamond, triangle, cross), so colour is never
    the only carrier. The tooltip gives the share of a usual month's values present."""
    if by_source:
        label = frame["source_title"].astype(str)
    elif frame["source_id"].nunique() == 1:
        label = frame["measure"].astype(str)  # the source is named above the chart
    else:
        label = frame["source_title"].astype(str) + ": " + frame["measure"].astype(str)
        label = label.where(frame["measure"] != RECORDS, frame["source_title"].astype(str))
    data = pd.DataFrame(
        {
            "row": label,
            "month": frame["month"],
            "share_pct": (100 * frame["share"].astype(float)).round(1),
            "why": frame["reason"].fillna("").astype(str).to_numpy() if "reason" in frame else "",
            "state": [
                cell_state(s, bool(p))
                for s, p in zip(frame["status"], frame["provisional"], strict=True)
            ],
        }
    )
    rows = list(dict.fromkeys(data["row"]))
    y = alt.Y("row:N", title=None, sort=rows, axis=alt.Axis(labelLimit=320))
    x = alt.X("yearmonth(month):T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0))
    tooltip = [
        alt.Tooltip("row:N", title="Source"),
        alt.Tooltip("yearmonth(month):T", title="Month", format="%B %Y"),
        alt.Tooltip("state:N", title="Status"),
        alt.Tooltip("share_pct:Q", title="% of a usual month's values"),
        alt.Tooltip("why:N", title="Why"),
    ]
    legend = alt.Legend(orient="bottom", direction="horizontal", title="Month is")
    cells = (
        alt.Chart(data, name="completeness_cells")
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(CELL_STATES), range=CELL_COLOURS),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    flagged = data[data["state"] != "complete"]
    markers = (
        alt.Chart(flagged, name="completeness_markers")
        .mark_point(filled=True, fill="white", stroke=TEXT, strokeWidth=1, size=40, opacity=1)
        .encode(
            x=alt.X("yearmonth(month):T", bandPosition=0.5),
            y=y,
            shape=alt.Shape(
                "state:N",
                scale=alt.Scale(domain=list(CELL_STATES), range=CELL_SHAPES),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    # Fit the width only: a row per source keeps its 22 px and the axis, legend and title
    # come on top (Streamlit's default, "fit", squeezed them all into the height, leaving
    # the rows a few pixels each and their labels on top of one another).
    chart = alt.layer(cells, markers).properties(
        height=max(60, 22 * len(rows)),
        width="container",
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return apply_theme(chart)


def revisions_chart(by_lag: pd.DataFrame) -> alt.LayerChart:
    """Median % of the final figure by months after the period, one line per measure
    (colour, dash and point shape differ), with a labelled rule at 100% (final)."""
    data = by_lag[by_lag["measure_key"] != "all measures"].copy()
    keys = sorted(data["measure_key"].unique())
    dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4], [3, 1]]
    shapes = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
    colour = alt.Color(
        "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=CATEGORICAL)
    )
    base = alt.Chart(data).encode(
        x=alt.X(
            "months_after:O",
            title="Months after the month it describes",
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y(
            "median_pct_of_final:Q",
            title="% of the final figure (median)",
            scale=alt.Scale(zero=False),
        ),
        color=colour,
        tooltip=[
            alt.Tooltip("measure_key:N", title="Measure"),
            alt.Tooltip("months_after:O", title="Months after"),
            alt.Tooltip("median_pct_of_final:Q", title="% of final (median)", format=".1f"),
            alt.Tooltip("low_pct_of_final:Q", title="lowest", format=".1f"),
            alt.Tooltip("high_pct_of_final:Q", title="highest", format=".1f"),
            alt.Tooltip("months:Q", title="Months counted"),
        ],
    )
    lines = base.mark_line().encode(
        strokeDash=alt.StrokeDash(
            "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=dashes)
        )
    )
    points = base.mark_point(filled=True, size=50).encode(
        shape=alt.Shape(
            "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=shapes)
        )
    )
    final = pd.DataFrame({"y": [100.0], "text": ["final"]})
    rule = alt.Chart(final).mark_rule(color=SECONDARY_TEXT, strokeDash=[3, 3]).encode(y="y:Q")
    rule_label = (
        alt.Chart(final)
        .mark_text(align="left", dx=4, dy=-6, color=SECONDARY_TEXT)
        .encode(y="y:Q", x=alt.value(0), text="text:N")
    )
    chart = alt.layer(rule, rule_label, lines, points).properties(height=300, width="container")
    return apply_theme(chart)
