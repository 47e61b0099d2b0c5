"""The project's documented choice for each reference case marked `edge` (docs/spc.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.spc import SPCOptions, compute_spc
from metrics.spc.reference_adapter import compute

CASES = {
    case["id"]: case
    for case in json.loads((Path(__file__).parent / "spc_cases" / "series_cases.json").read_text())[
        "cases"
    ]
}
EDGE_IDS = sorted(case_id for case_id, case in CASES.items() if case.get("edge"))


def _facet(case_id: str, name: str = "no facet") -> dict:
    return next(f for f in CASES[case_id]["facets"] if f["name"] == name)


def _monthly(values, start="2020-01-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"date": dates, "value": np.array(values, dtype=float)})


def test_every_edge_case_has_a_documented_choice():
    docs = (Path(__file__).parents[1] / "docs" / "spc.md").read_text()
    from metrics.spc import engine

    for case_id in EDGE_IDS:
        assert f"`{case_id}`" in docs, case_id
    assert len(EDGE_IDS) == 5
    assert "Constant baseline" in engine.__doc__


# --- constant_series_screen_on ------------------------------------------------------------


def test_constant_series_is_a_run_chart_with_the_references_nan_limits():
    # By default (chart="auto") a constant group is read as a run chart (docs/spc.md, "Run
    # charts"): no limits, exactly as the reference's NaN limits, all common cause.
    facet = _facet("constant_series_screen_on")
    got = compute(
        facet["input"]["values"],
        improvement_direction="increase",
        target=None,
        rebase_at=[],
        fix_after_n_points=None,
        screen_outliers=True,
    )
    assert facet["expected"]["lpl"][0] is None  # the reference gives NaN
    assert all(math.isnan(v) for v in got["lpl"]) and all(math.isnan(v) for v in got["upl"])
    assert got["point_type"] == facet["expected"]["point_type"]  # all common cause
    assert got["summary"][0]["lpl"] is None
    assert got["summary"][0]["chart_kind"] == "run"


def test_constant_series_read_as_xmr_has_limits_equal_to_the_mean_instead_of_nan():
    # The XmR-only choice, still in force with chart="xmr": the screen is skipped when
    # every moving range is 0, so the limits equal the mean instead of NaN.
    facet = _facet("constant_series_screen_on")
    result = compute_spc(_monthly(facet["input"]["values"]), options=SPCOptions(chart="xmr"))
    assert result.points["lpl"].tolist() == [5.0] * 15
    assert result.points["upl"].tolist() == [5.0] * 15
    assert result.points["point_type"].tolist() == facet["expected"]["point_type"]
    assert result.facet().summary[0].lpl == 5.0
    assert result.facet().chart_kind == "xmr"


def test_constant_baseline_warns_and_flags_a_later_change():
    values = [5.0] * 12 + [5.0, 6.0]
    result = compute_spc(
        _monthly(values), options=SPCOptions(fix_after_n_points=12, chart="xmr"), target=4
    )
    facet = result.facet()
    assert any("every moving range is 0" in w for w in facet.warnings)
    assert result.points["point_type"].iloc[-1] == "special_cause_improvement"
    assert result.points["rule"].iloc[-1] == "Above the upper process limit"
    assert facet.assurance_type == "consistent_pass"  # the reference would say "inconsistent"


def test_constant_series_gives_the_same_limits_with_and_without_screening():
    # without screening the reference also gives limits = mean; the choice makes both agree
    xmr = SPCOptions(chart="xmr")
    unscreened = compute_spc(
        _monthly([5.0] * 15), options=SPCOptions(screen_outliers=False, chart="xmr")
    )
    screened = compute_spc(_monthly([5.0] * 15), options=xmr)
    assert unscreened.points["lpl"].tolist() == [5.0] * 15
    assert screened.points["upl"].tolist() == unscreened.points["upl"].tolist()
    assert any("every moving range is 0" in w for w in unscreened.warnings)
    assert screened.facet().variation_icon == "common_cause"


# --- facets_named_targets -------------------------------------------------------------------


def test_facet_left_out_of_named_targets_has_no_assurance():
    case = CASES["facets_named_targets"]
    frames = [_monthly(f["input"]["values"]).assign(unit=f["name"]) for f in case["facets"]]
    result = compute_spc(pd.concat(frames, ignore_index=True), facet_col="unit", target={"A": 70})
    assert _facet("facets_named_targets", "B")["expected"]["assurance_type"] == "inconsistent"
    b = result.facet("B")
    assert b.assurance_type is None
    assert b.assurance_icon is None
    assert b.summary[-1].assurance_type is None
    assert result.facet_points("B")["target"].isna().all()
    a = result.facet("A")
    assert a.assurance_type == "consistent_pass"
    assert a.assurance_icon == "pass"


def test_nan_target_means_no_target():
    result = compute_spc(_monthly([1.0, 2.0, 3.0, 2.0, 1.0]), target=float("nan"))
    assert result.facet().assurance_type is None
    assert result.warnings == (
        "trial limits: rebase group 0 (from 2020-01-01) has 5 points (fewer than 13); "
        "the limits may move as more data arrive",
    )


# --- missing_value_middle -------------------------------------------------------------------


def test_missing_value_middle_keeps_the_row_as_a_common_cause_gap():
    facet = _facet("missing_value_middle")
    result = compute_spc(_monthly([np.nan if v is None else v for v in facet["input"]["values"]]))
    points = result.points
    assert len(points) == 24
    assert math.isnan(points["value"].iloc[8])
    assert points["point_type"].iloc[8] == "common_cause"
    assert points["rule"].iloc[8] == ""
    assert points["lpl"].tolist() == pytest.approx(facet["expected"]["lpl"])
    assert any("1 missing value (2020-09-01)" in w for w in result.warnings)


def test_missing_value_breaks_a_run_and_a_trend():
    # alternating points either side of the mean, then 6 points just above it, a gap, and
    # 6 more: with the gap there is no run of 7; with the gap filled there is
    before, after = [11.0, 9.0] * 6, [9.0, 11.0] * 6
    gapped = compute_spc(_monthly(before + [10.5] * 6 + [np.nan] + [10.5] * 6 + after))
    assert not gapped.points["special_cause_flag"].any()
    filled = compute_spc(_monthly(before + [10.5] * 13 + after))
    assert filled.points["special_cause_flag"].sum() == 13
    assert set(filled.points["rule"]) == {"", "Run of 7 points above the mean"}

    flat = [3.0, 5.0, 3.0, 5.0, 3.0, 5.0, 3.0]
    gapped = compute_spc(_monthly([*flat, 2.0, 2.5, 3.0, np.nan, 3.5, 4.0, 4.5, 5.5, *flat]))
    assert not gapped.points["special_cause_flag"].any()
    filled = compute_spc(_monthly([*flat, 2.0, 2.5, 3.0, 3.2, 3.5, 4.0, 4.5, 5.5, *flat]))
    assert set(filled.points["special_cause_type"]) == {
        "Common Cause",
        "7 Point Trend (Increasing)",
    }


def test_moving_range_does_not_bridge_a_gap():
    # without the bridge the moving ranges are 1, 1 | 1, 1: limits mean +/- 2.66
    result = compute_spc(_monthly([1.0, 2.0, 1.0, np.nan, 11.0, 12.0, 11.0]))
    group = result.facet().summary[0]
    assert group.upl - group.mean == pytest.approx(2.66)


# --- missing_value_last ---------------------------------------------------------------------


def test_missing_latest_value_icons_use_latest_recorded_point():
    # a high astronomical point, then a missing latest month
    values = [80.0, 82, 79, 81, 78, 83, 80, 79, 82, 80, 81, 78, 82, 79, 120.0, np.nan]
    result = compute_spc(_monthly(values), target=90)
    facet = result.facet()
    assert result.points["point_type"].iloc[-1] == "common_cause"  # the missing row itself
    assert facet.variation_icon == "improvement_high"  # the reference would say common_cause
    assert facet.latest_date == pd.Timestamp("2021-03-01")
    assert facet.latest_value == 120.0
    assert facet.summary[-1].variation_type == "special_cause_improvement"
    assert any("latest value (2021-04-01) is missing" in w for w in facet.warnings)


def test_missing_value_last_reference_case_still_matches():
    facet = _facet("missing_value_last")
    values = [np.nan if v is None else v for v in facet["input"]["values"]]
    result = compute_spc(_monthly(values), target=facet["input"]["target"])
    assert result.facet().variation_icon == facet["expected"]["variation_icon"]
    assert result.facet().assurance_type == facet["expected"]["assurance_type"]


def test_all_missing_facet_has_no_icon_and_says_so():
    result = compute_spc(_monthly([np.nan] * 5))
    facet = result.facet()
    assert facet.variation_icon is None
    assert facet.latest_date is None
    assert facet.variation_meaning == "No data to assess"
    assert any("every value is missing" in w for w in result.warnings)
    assert any("has no values" in w for w in result.warnings)


# --- rebase_on_first_point ------------------------------------------------------------------


def test_rebase_on_first_date_numbers_groups_from_zero_and_warns():
    facet = _facet("rebase_on_first_point")
    frame = _monthly(facet["input"]["values"])
    result = compute_spc(frame, rebase=[frame["date"][0], frame["date"][12]])
    assert facet["expected"]["rebase_group"][0] == 1  # the reference starts at 1
    assert result.points["rebase_group"].tolist() == [0] * 12 + [1] * 12
    assert [g.rebase_group for g in result.facet().summary] == [0, 1]
    assert result.points["mean"].tolist() == pytest.approx(facet["expected"]["mean"])
    assert any(
        "rebase date 2020-01-01 is the first date, so it starts no new group" in w
        for w in result.warnings
    )
