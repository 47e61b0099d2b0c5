"""The SPC chart's Vega-Lite spec and its alt text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metrics.charts import theme
from metrics.charts.spc_chart import point_shapes, spc_alt_text, spc_chart
from metrics.spc import SPCOptions, compute_spc

STABLE = [48.0, 52.0, 49.0, 51.0, 47.0, 53.0, 50.0, 48.0, 52.0, 49.0, 51.0, 50.0]


def monthly(values, **columns) -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    return pd.DataFrame({"date": dates, "value": np.array(values, dtype=float), **columns})


@pytest.fixture
def result():
    values = [*STABLE, *STABLE, 52.5, 52.5, 52.5, np.nan, 52.5, 52.5, 52.5, 52.5, 90.0]
    return compute_spc(
        monthly(values),
        options=SPCOptions(improvement="decrease"),
        target=[("2020-01-01", 55), ("2021-01-01", 45)],
        rebase=["2021-01-01"],
    )


def layers_of(spec: dict) -> list[dict]:
    return spec["layer"] if "layer" in spec else spec["spec"]["layer"]


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def points_layer(spec: dict) -> dict:
    return next(layer for layer in layers_of(spec) if mark_type(layer) == "point")


def test_chart_has_the_spc_layers(result):
    spec = spc_chart(result, title="Referrals").to_dict()
    layers = layers_of(spec)
    fields = [layer["encoding"].get("y", {}).get("field") for layer in layers]
    assert {"upl", "lpl", "mean", "target", "value"} <= set(fields)
    limit_marks = [
        layer["mark"]
        for layer in layers
        if layer["encoding"].get("y", {}).get("field") in ("upl", "lpl")
    ]
    assert all(mark["strokeDash"] and mark["color"] == theme.SPC_LIMIT for mark in limit_marks)
    target_mark = next(
        layer["mark"] for layer in layers if layer["encoding"].get("y", {}).get("field") == "target"
    )
    assert target_mark["strokeDash"] and target_mark["color"] == theme.SPC_TARGET
    assert target_mark["interpolate"] == "step-after"
    assert spec["title"] == "Referrals"
    assert spec["description"].startswith("SPC chart of the value, January 2020 to September 2022")
    assert spec["config"]["font"] == theme.FONT  # the project theme


def test_lines_break_at_a_rebase_and_at_missing_values(result):
    spec = spc_chart(result).to_dict()
    layers = layers_of(spec)
    for layer in layers:
        if layer["encoding"].get("y", {}).get("field") in ("upl", "lpl", "mean"):
            assert layer["encoding"]["detail"]["field"] == "rebase_group"
    value_line = next(
        layer
        for layer in layers
        if mark_type(layer) == "line" and layer["encoding"]["y"]["field"] == "value"
    )
    assert value_line["mark"]["invalid"] == "break-paths-show-domains"
    rules = [layer for layer in layers if mark_type(layer) == "rule"]
    assert len(rules) == 1
    assert rules[0]["transform"] == [{"filter": "datum.rebase_start"}]
    rows = spec["datasets"][spec["data"]["name"]]
    assert [row["date"][:10] for row in rows if row["rebase_start"]] == ["2021-01-01"]
    assert rows[27]["value"] is None  # the gap is in the data as null


def test_points_encode_type_by_shape_and_colour_with_plain_legend(result):
    encoding = points_layer(spc_chart(result).to_dict())["encoding"]
    assert encoding["shape"]["field"] == "point_label"
    assert encoding["color"]["field"] == "point_label"
    assert encoding["shape"]["scale"]["domain"] == [
        "Common cause",
        "Special cause: improvement (low)",
        "Special cause: concern (high)",
    ]
    assert encoding["shape"]["scale"]["range"] == ["circle", "triangle-down", "triangle-up"]
    assert encoding["color"]["scale"]["range"] == [
        theme.SPC_COMMON,
        theme.SPC_IMPROVEMENT,
        theme.SPC_CONCERN,
    ]
    assert encoding["color"]["legend"]["title"] == "Point type"


def test_tooltip_has_date_value_limits_and_the_rule_in_words(result):
    spec = spc_chart(result).to_dict()
    tooltip = points_layer(spec)["encoding"]["tooltip"]
    titles = [t["title"] for t in tooltip]
    assert titles == [
        "Date",
        "Value",
        "Mean",
        "Lower process limit",
        "Upper process limit",
        "Target",
        "Point type",
        "Rule",
    ]
    rows = spec["datasets"][spec["data"]["name"]]
    # the rule's meaning in board words, not the test's name
    assert rows[-1]["rule_text"] == "Higher than the usual range"
    assert rows[-1]["point_label"] == "Special cause: concern (high)"
    assert rows[0]["rule_text"] == "Within the usual range"


def test_chart_without_target_or_rebase_has_no_such_layers():
    spec = spc_chart(compute_spc(monthly(STABLE * 2))).to_dict()
    fields = [layer["encoding"].get("y", {}).get("field") for layer in layers_of(spec)]
    assert "target" not in fields
    assert not [layer for layer in layers_of(spec) if mark_type(layer) == "rule"]


def test_all_facets_chart_is_faceted_by_row():
    frame = pd.concat([monthly(STABLE, unit="North"), monthly(STABLE, unit="South")])
    chart = spc_chart(compute_spc(frame, facet_col="unit"), all_facets=True)
    spec = chart.to_dict()
    assert spec["facet"]["row"]["field"] == "facet"
    assert json.dumps(spec)  # serialisable
    # Each row its own scale, the chart's words and title at the top, themed, one size.
    assert spec["resolve"] == {"scale": {"y": "independent"}}
    assert spec["description"].startswith("North:") and "South:" in spec["description"]
    assert spec["spec"]["height"] == 320 and spec["spec"]["width"] == 600
    assert spec["config"]["font"] and "data" in spec and "data" not in spec["spec"]
    titled = spc_chart(compute_spc(frame, facet_col="unit"), all_facets=True, title="Beds")
    assert titled.to_dict()["title"] == "Beds"
    plain = spc_chart(compute_spc(frame, facet_col="unit"), all_facets=True, themed=False)
    assert "font" not in plain.to_dict().get("config", {})  # Altair's own default only


def test_chart_of_a_named_facet_uses_only_its_rows():
    frame = pd.concat([monthly(STABLE, unit="North"), monthly(STABLE, unit="South")])
    spec = spc_chart(compute_spc(frame, facet_col="unit"), "South").to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert {row["facet"] for row in rows} == {"South"}


def test_empty_result_cannot_be_charted():
    with pytest.raises(ValueError, match="no data to chart"):
        spc_chart(compute_spc(pd.DataFrame({"date": [], "value": []})))


@pytest.mark.parametrize(
    ("improvement", "expected"),
    [
        (
            "increase",
            {"special_cause_improvement": "triangle-up", "special_cause_concern": "triangle-down"},
        ),
        (
            "decrease",
            {"special_cause_improvement": "triangle-down", "special_cause_concern": "triangle-up"},
        ),
        (
            "neutral",
            {
                "special_cause_neutral_high": "triangle-up",
                "special_cause_neutral_low": "triangle-down",
            },
        ),
    ],
)
def test_shapes_point_the_way_the_special_cause_goes(improvement, expected):
    assert point_shapes(improvement) == {"common_cause": "circle", **expected}


def test_alt_text_mentions_latest_value_limits_special_cause_and_icons(result):
    text = spc_alt_text(result, measure="referrals")
    assert text.startswith(
        "SPC chart of referrals, January 2020 to September 2022: the latest value, "
        "90 in September 2022, is above the upper process limit"
    )
    assert (
        "special cause variation (latest, September 2022: above the upper process limit, concern)"
        in text
    )
    assert "Special cause variation: concern (higher values, where lower is better)" in text
    assert "against the target of 45" in text
    assert text.count(". ") <= 1  # one or two sentences


def test_alt_text_for_a_common_cause_series_uses_the_given_number_format():
    text = spc_alt_text(
        compute_spc(monthly(STABLE * 2)), measure="waits", format_value=lambda v: f"{v:.1f} days"
    )
    assert "the latest value, 50.0 days in December 2021, is within the process limits of" in text
    assert "no point shows special cause variation" in text
    assert text.endswith("Common cause variation: no significant change.")


def test_provisional_months_are_hollow_points_of_their_own_beside_the_spc_layers(result):
    pending = pd.DataFrame(
        {"date": pd.to_datetime(["2022-01-01", "2022-02-01"]), "value": [61.0, np.nan]}
    )
    spec = spc_chart(result, provisional=pending).to_dict()
    layers = layers_of(spec)
    # One level of layers: the provisional points sit beside the others, drawn last.
    assert all("layer" not in layer for layer in layers)
    hollow = layers[-1]
    assert mark_type(hollow) == "point" and hollow["mark"]["filled"] is False
    rows = spec["datasets"][hollow["data"]["name"]]
    assert [(r["date"][:10], r["value"]) for r in rows] == [("2022-01-01", 61.0)]
    assert {r["status"] for r in rows} == {"Provisional (still filling up)"}
    # The months read as SPC keep the chart's own data.
    assert "value" in spec["datasets"][spec["data"]["name"]][0]
    without = spc_chart(result).to_dict()
    assert len(layers_of(without)) == len(layers) - 1
