"""A count against the whole it is part of, month by month: e.g. people in the IPSA cohort
living independently against the size of the cohort, so "90" is read as "90 of 205".

The y axis starts at zero (a count read from an axis that starts at 80 makes a rounding
step look like a fall). The part is a solid line with points, the whole a dashed line;
each is named at its right-hand end as well as in the legend (colour is never the only
cue). Missing or suppressed months are gaps, never zero. Built from figures as shown.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, NHS_BLUE, TEXT, apply_theme

WHOLE_COLOUR = CATEGORICAL[5]


def part_of_whole_chart(
    part: pd.DataFrame,
    whole: pd.DataFrame,
    *,
    part_name: str,
    whole_name: str,
    y_title: str,
    height: int = 320,
) -> alt.LayerChart:
    """`part` and `whole`: columns month, value and display (the figure as shown, text)."""
    frame = pd.concat(
        [
            part[["month", "value", "display"]].assign(series=part_name),
            whole[["month", "value", "display"]].assign(series=whole_name),
        ],
        ignore_index=True,
    )
    known = frame.dropna(subset=["value"])
    last = known.groupby("series")["month"].transform("max")
    frame["end_label"] = ""
    frame.loc[known.index[known["month"] == last], "end_label"] = [
        f"{name}: {text}"
        for name, text in zip(
            known.loc[known["month"] == last, "series"],
            known.loc[known["month"] == last, "display"],
            strict=True,
        )
    ]
    names = [part_name, whole_name]
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=names, range=[NHS_BLUE, WHOLE_COLOUR]),
        legend=alt.Legend(orient="top", labelLimit=0),
    )
    dash = alt.StrokeDash(
        "series:N", title=None, scale=alt.Scale(domain=names, range=[[1, 0], [6, 4]])
    )
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=True))
    base = alt.Chart(frame).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
        y=y,
        tooltip=[
            alt.Tooltip("month:T", title="Month", format="%B %Y"),
            alt.Tooltip("series:N", title="Measure"),
            alt.Tooltip("display:N", title="Figure"),
        ],
    )
    lines = base.mark_line(strokeWidth=2.5).encode(color=colour, strokeDash=dash)
    points = base.transform_filter(alt.datum.series == part_name).mark_point(
        filled=True, size=26, color=NHS_BLUE
    )
    labels = (
        base.transform_filter("datum.end_label !== ''")
        .mark_text(align="right", dy=-10, fontSize=12, color=TEXT)
        .encode(text="end_label:N")
    )
    chart = alt.layer(lines, points, labels).properties(height=height, width="container")
    return apply_theme(chart)


__all__ = ["part_of_whole_chart"]
