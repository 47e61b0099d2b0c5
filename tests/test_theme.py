"""The project theme, set in one step, gives the same specification as Altair's chained
configure_* calls (the reference below), on a single chart and on a layered one; and the
chart it was applied to is left as it was."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.charts.theme import CATEGORICAL, apply_theme, configure_theme, vega_config


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


def test_configure_theme_sets_the_same_theme_on_the_chart_itself() -> None:
    for chart in charts():
        expected = chained(chart).to_dict()
        configure_theme(chart)
        assert chart.to_dict() == expected


def test_charts_share_the_theme_and_none_can_change_it_for_the_others() -> None:
    first, second = (apply_theme(chart) for chart in charts())
    before = second.to_dict()["config"]
    restyled = first.configure_axis(labelFontSize=30).configure_title(fontSize=40)
    assert restyled.to_dict()["config"]["axis"]["labelFontSize"] == 30
    assert second.to_dict()["config"] == before
    assert apply_theme(charts()[0]).to_dict()["config"] == before
    assert first.to_dict()["config"] == before
