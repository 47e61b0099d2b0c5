"""The ITS impact chart: Vega-Lite layers, theme colours, and the alt text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.charts import theme
from metrics.charts.its_chart import LAYER_NAMES, its_alt_text, its_chart
from metrics.its import InterventionSpec, ITSResult, ITSSpec, ShockSpec, fit_its


@pytest.fixture(scope="module")
def result() -> ITSResult:
    rng = np.random.default_rng(3)
    n = 96
    t = np.arange(n)
    ramp = np.clip((t - 36 + 1) / 6, 0, 1)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2014-01-01", periods=n, freq="MS"),
            "value": rng.poisson(200 * 0.6**ramp).astype(float),
        }
    )
    frame.loc[70, "value"] = np.nan
    spec = ITSSpec(
        model="quasipoisson",
        interventions=(
            InterventionSpec("hub", "2017-01", label="Hub scale-up", ramp_periods=6),
            InterventionSpec("spa", "2019-01", label="Single point of access", exclude_periods=3),
        ),
        shocks=(ShockSpec("covid", "2020-04", "2020-05"),),
        seasonality="fourier:2",
    )
    return fit_its(frame, spec, series_name="Referrals")


def layers(result: ITSResult) -> dict[str, dict]:
    spec = its_chart(result).to_dict()
    return {layer["name"]: layer for layer in spec["layer"]}


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def test_chart_has_every_layer_with_the_right_mark(result: ITSResult) -> None:
    found = layers(result)
    assert tuple(found) == LAYER_NAMES
    assert {name: mark_type(layer) for name, layer in found.items()} == {
        "window_shading": "rect",
        "counterfactual_band": "area",
        "counterfactual_line": "line",
        "fitted_line": "line",
        "observed_points": "point",
        "intervention_rules": "rule",
        "intervention_labels": "text",
    }


def test_band_and_lines_use_the_theme_colours(result: ITSResult) -> None:
    found = layers(result)
    assert found["counterfactual_band"]["mark"]["color"] == theme.COUNTERFACTUAL
    assert found["counterfactual_band"]["encoding"]["y2"]["field"] == "cf_high"
    scale = found["fitted_line"]["encoding"]["color"]["scale"]
    assert scale["range"] == [theme.OBSERVED, theme.FITTED, theme.COUNTERFACTUAL]
    assert found["counterfactual_line"]["mark"]["strokeDash"]  # dashed: not colour alone


def test_interventions_are_marked_and_labelled(result: ITSResult) -> None:
    spec = its_chart(result).to_dict()
    datasets = spec["datasets"]
    found = {layer["name"]: layer for layer in spec["layer"]}
    rule_rows = datasets[found["intervention_rules"]["data"]["name"]]
    assert [row["label"] for row in rule_rows] == ["Hub scale-up", "Single point of access"]
    assert found["intervention_labels"]["encoding"]["text"]["field"] == "label"
    windows = datasets[found["window_shading"]["data"]["name"]]
    assert [row["kind"] for row in windows] == ["phase-in", "excluded"]
    assert windows[0]["start"].startswith("2017-01-01")
    assert windows[0]["end"].startswith("2017-07-01")  # six months shaded


def test_excluded_points_are_shown_but_marked(result: ITSResult) -> None:
    spec = its_chart(result).to_dict()
    found = {layer["name"]: layer for layer in spec["layer"]}
    points = spec["datasets"][found["observed_points"]["data"]["name"]]
    statuses = {row["status"] for row in points}
    assert statuses == {"used in the fit", "left out of the fit"}
    assert len(points) == 95  # the missing month is a gap, not a point


def test_counterfactual_is_drawn_from_the_first_intervention(result: ITSResult) -> None:
    spec = its_chart(result).to_dict()
    found = {layer["name"]: layer for layer in spec["layer"]}
    rows = spec["datasets"][found["counterfactual_band"]["data"]["name"]]
    assert rows[0]["date"].startswith("2017-01-01") and len(rows) == 60


def test_alt_text_states_the_effect_and_interval(result: ITSResult) -> None:
    text = its_alt_text(result)
    assert text.startswith("Chart of monthly Referrals from January 2014 to December 2021")
    assert result.sentence() in text and "95% CI" in text
    assert text.count(". ") <= 2  # one or two sentences
