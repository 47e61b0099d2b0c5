"""The project theme, set in one step, gives the same specification as Altair's chained
configure_* calls (the reference below), on a single chart and on a layered one; and the
chart it was applied to is left as it was."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, apply_theme, vega_config


def chained(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    cfg = vega_config()
    return (
        chart.configure(background=cfg["background"], font=cfg["font"])
        .configure_view(stroke=None)
        .configure_axis(**cfg["axis"])
        .configure_legend(**cfg["legend"])
        .configure_title(**cfg["title"])
        .configure_range(category=CATEGORICAL)
    )


def charts() -> list[alt.TopLevelMixin]:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [2.0, 1.0, 4.0], "g": ["a", "b", "a"]})
    line = alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q", color="g:N")
    points = alt.Chart(frame).mark_point().encode(x="x:Q", y="y:Q")
    return [line, alt.layer(line, points).properties(title="Layered", width="container")]


def test_one_step_theme_equals_the_chained_configuration() -> None:
    for chart in charts():
        assert apply_theme(chart).to_dict() == chained(chart).to_dict()


def test_the_themed_chart_is_a_copy() -> None:
    for chart in charts():
        before = chart.to_dict()
        themed = apply_theme(chart)
        assert "config" in themed.to_dict()
        assert chart.to_dict() == before
