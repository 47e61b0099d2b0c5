"""Every NHSRplotthedots reference case, field by field (tests/spc_cases/series_cases.json).

Edge cases are included too, except the fields where this project deliberately differs
from the reference; those fields are pinned in test_spc_edge_cases.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.spc import SPCOptions, compute_spc
from metrics.spc.reference_adapter import compute

CASES = json.loads((Path(__file__).parent / "spc_cases" / "series_cases.json").read_text())["cases"]

# (case id, facet name) -> fields where the documented choice differs from the reference
DELIBERATE_DIFFERENCES = {
    ("facets_named_targets", "B"): {"assurance_type", "assurance_icon", "summary"},
    ("rebase_on_first_point", "no facet"): {"rebase_group", "summary"},
}

PER_POINT_EXACT = (
    "rebase_group",
    "special_cause_type",
    "special_cause_flag",
    "point_type",
    "short_group_warning",
)
PER_POINT_NUMERIC = ("mean", "lpl", "upl")
PER_FACET = ("variation_icon", "assurance_type", "assurance_icon")
SUMMARY_EXACT = (
    "rebase_group",
    "n",
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "variation_type",
    "assurance_type",
)


def _facets():
    for case in CASES:
        for facet in case["facets"]:
            yield case, facet


def _params(fields):
    return [
        pytest.param(case, facet, name, id=f"{case['id']}[{facet['name']}]-{name}")
        for case, facet in _facets()
        for name in fields
        if name not in DELIBERATE_DIFFERENCES.get((case["id"], facet["name"]), set())
    ]


def _run(case, facet):
    inp, opt = facet["input"], case["options"]
    return compute(
        inp["values"],
        improvement_direction=opt["improvement_direction"],
        target=inp["target"],
        rebase_at=inp["rebase_at"],
        fix_after_n_points=opt["fix_after_n_points"],
        screen_outliers=opt["screen_outliers"],
    )


def _same_number(expected, got) -> bool:
    if expected is None:
        return got is None or math.isnan(got)
    return got is not None and not math.isnan(got) and math.isclose(got, expected, rel_tol=1e-9)


@pytest.mark.parametrize(("case", "facet", "name"), _params(PER_POINT_NUMERIC))
def test_limits_match_reference(case, facet, name):
    got = [float(v) for v in _run(case, facet)[name]]
    expected = facet["expected"][name]
    assert len(got) == len(expected)
    mismatches = [
        i for i, (e, g) in enumerate(zip(expected, got, strict=True)) if not _same_number(e, g)
    ]
    assert mismatches == [], f"first mismatch at {mismatches[:1]}"


@pytest.mark.parametrize(("case", "facet", "name"), _params(PER_POINT_EXACT))
def test_point_labels_match_reference(case, facet, name):
    got = _run(case, facet)[name]
    got = [v.item() if isinstance(v, np.generic) else v for v in got]
    assert got == facet["expected"][name]


@pytest.mark.parametrize(("case", "facet", "name"), _params(PER_FACET))
def test_icons_match_reference(case, facet, name):
    assert _run(case, facet)[name] == facet["expected"][name]


@pytest.mark.parametrize(("case", "facet", "name"), _params(["summary"]))
def test_summary_matches_reference(case, facet, name):
    got = _run(case, facet)["summary"]
    expected = facet["expected"]["summary"]
    assert len(got) == len(expected)
    for group, want in zip(got, expected, strict=True):
        assert {k: group[k] for k in SUMMARY_EXACT} == {k: want[k] for k in SUMMARY_EXACT}
        for key in ("mean", "lpl", "upl"):
            assert _same_number(want[key], group[key]), key


def _quoted_params():
    return [
        pytest.param(case, facet, id=f"{case['id']}[{facet['name']}]")
        for case, facet in _facets()
        if facet.get("test_expected")
    ]


@pytest.mark.parametrize(("case", "facet"), _quoted_params())
def test_values_quoted_in_reference_tests_and_vignettes(case, facet):
    quoted = facet["test_expected"]
    got = _run(case, facet)
    tolerance = quoted.get("abs_tol", 0)
    for key in ("mean", "lpl", "upl"):
        if key in quoted:
            assert abs(float(got[key][-1]) - quoted[key]) <= tolerance, key
    if "point_type_last_2" in quoted:
        assert list(got["point_type"][-2:]) == quoted["point_type_last_2"]
    for index, point_type in quoted.get("point_type_at", {}).items():
        assert got["point_type"][int(index)] == point_type
    if "variation_icon" in quoted:
        assert got["variation_icon"] == quoted["variation_icon"]
    if "assurance_icon" in quoted:
        assert got["assurance_icon"] == quoted["assurance_icon"]


FACETED = [case for case in CASES if len(case["facets"]) > 1]


@pytest.mark.parametrize("case", FACETED, ids=[c["id"] for c in FACETED])
def test_faceted_cases_computed_in_one_frame(case):
    """The same expectations hold when every facet goes through compute_spc together,
    with targets as a per-facet dict (a facet without a target is simply left out)."""
    opt = case["options"]
    frames, targets = [], {}
    for facet in case["facets"]:
        values = [np.nan if v is None else v for v in facet["input"]["values"]]
        dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
        frames.append(pd.DataFrame({"month": dates, "unit": facet["name"], "count": values}))
        if facet["input"]["target"] is not None:
            targets[facet["name"]] = facet["input"]["target"]
    result = compute_spc(
        pd.concat(frames, ignore_index=True),
        date_col="month",
        value_col="count",
        facet_col="unit",
        options=SPCOptions(
            improvement=opt["improvement_direction"],
            screen_outliers=opt["screen_outliers"],
            fix_after_n_points=opt["fix_after_n_points"],
        ),
        target=targets or None,
    )
    assert result.facet_names == [f["name"] for f in case["facets"]]
    for facet in case["facets"]:
        expected = facet["expected"]
        points = result.facet_points(facet["name"])
        summary = result.facet(facet["name"])
        assert points["point_type"].tolist() == expected["point_type"]
        assert points["special_cause_type"].tolist() == expected["special_cause_type"]
        for key in PER_POINT_NUMERIC:
            assert all(
                _same_number(e, g) for e, g in zip(expected[key], points[key], strict=True)
            ), key
        assert summary.variation_icon == expected["variation_icon"]
        if facet["input"].get("r_target_is_na"):
            assert summary.assurance_type is None  # documented choice, see edge tests
        else:
            assert summary.assurance_type == expected["assurance_type"]
