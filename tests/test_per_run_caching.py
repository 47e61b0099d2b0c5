"""What a page run reuses instead of redoing: a chart's data already in Streamlit's Arrow
form, and a table's measured widths kept while the table lives.

The shortcuts must not change what a reader gets: the chart Streamlit sends from a wired
spec carries the same datasets, byte for byte, as from the spec itself; a measurement is
reused only for the very object it was made from."""

from __future__ import annotations

import gc

import altair as alt
import pandas as pd
from streamlit.elements.vega_charts import VegaLiteChartProto, _marshall_chart_data

from metrics.ui.components import PerObject, wire_spec


def a_spec() -> dict:
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2024-01-01", periods=6, freq="MS").strftime("%Y-%m-%d"),
            "value": [3.0, 4.5, None, 6.0, 2.0, 8.25],
            "label": ["a", "b", "c", "d", "e", "f"],
        }
    )
    chart = alt.Chart(frame).mark_line().encode(x="month:T", y="value:Q", tooltip=["label"])
    return chart.to_dict(validate=False)


def marshalled(spec: dict) -> VegaLiteChartProto:
    proto = VegaLiteChartProto()
    _marshall_chart_data(proto, dict(spec))
    return proto


def test_a_wired_spec_sends_the_same_datasets_as_the_spec() -> None:
    spec = a_spec()
    assert spec["datasets"], "Altair names its data"
    plain, wired = marshalled(spec), marshalled(wire_spec(spec))
    assert [d.name for d in wired.datasets] == [d.name for d in plain.datasets]
    for ours, theirs in zip(wired.datasets, plain.datasets, strict=True):
        assert ours.data.data == theirs.data.data
        assert len(ours.data.data) > 100


def test_wiring_leaves_the_shared_spec_alone() -> None:
    spec = a_spec()
    rows = spec["datasets"]
    wired = wire_spec(spec)
    assert spec["datasets"] is rows  # the cached spec other callers share is untouched
    assert all(isinstance(v, bytes) for v in wired["datasets"].values())
    assert {k: v for k, v in wired.items() if k != "datasets"} == {
        k: v for k, v in spec.items() if k != "datasets"
    }


def test_a_spec_without_datasets_is_returned_as_it_is() -> None:
    spec = {"mark": "point", "data": {"values": [{"a": 1}]}}
    assert wire_spec(spec) is spec


def test_a_measurement_is_reused_only_for_the_same_object() -> None:
    cache = PerObject()
    calls: list[str] = []
    first = pd.DataFrame({"a": ["x"]})
    same_content = pd.DataFrame({"a": ["x"]})
    assert cache.get(first, lambda: calls.append("first") or 1) == 1
    assert cache.get(first, lambda: calls.append("again") or 2) == 1
    assert cache.get(same_content, lambda: calls.append("other") or 3) == 3
    assert calls == ["first", "other"]


def test_a_measurement_goes_with_its_object() -> None:
    cache = PerObject()
    table = pd.DataFrame({"a": [1]})
    cache.get(table, lambda: "measured")
    assert len(cache._entries) == 1
    del table
    gc.collect()
    assert cache._entries == {}
