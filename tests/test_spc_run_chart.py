"""Run charts where the XmR limits carry no information (docs/spc.md, "Run charts").

The rule: a rebase group is read as a run chart when more than half of the moving ranges
that feed its limits are 0 (the median moving range is 0). A run chart has no limits, the
median as centre line, only the shift (6+ on one side of the median, points on the median
skipped) and trend (5+ one way, repeated values skipped) rules, and no assurance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.charts.spc_chart import spc_alt_text, spc_chart
from metrics.cli import main
from metrics.spc import SPCOptions, compute_spc, process_limits, rules

# A median wait in whole days: mostly 7, now and then 8 or 6.
WHOLE_DAYS = [7, 7, 7, 8, 7, 7, 7, 7, 8, 7, 7, 7, 6, 7, 7, 7, 7, 7, 8, 7, 7, 7, 7, 7]
VARIED = [48.0, 52.0, 49.0, 51.0, 47.0, 53.0, 50.0, 48.0, 52.0, 49.0, 51.0, 50.0]


def monthly(values, start="2020-01-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"date": dates, "value": np.array(values, dtype=float)})


def limits_are_nan(points: pd.DataFrame) -> bool:
    return bool(points[["lpl", "upl", "nlpl", "nupl"]].isna().all().all())


# --- the decision ----------------------------------------------------------------------------


def test_whole_day_median_series_is_read_as_a_run_chart_against_the_median():
    result = compute_spc(monthly(WHOLE_DAYS), options=SPCOptions(improvement="decrease"))
    facet = result.facet()
    points = result.points
    assert facet.chart_kind == "run"
    assert points["chart_kind"].tolist() == ["run"] * len(WHOLE_DAYS)
    assert limits_are_nan(points)
    assert points["centre"].tolist() == [7.0] * len(WHOLE_DAYS)  # the median
    assert points["mean"].iloc[0] == pytest.approx(np.mean(WHOLE_DAYS))  # still the mean
    assert facet.summary[0].chart_kind == "run"
    assert facet.summary[0].centre == 7.0
    assert math.isnan(facet.summary[0].lpl) and math.isnan(facet.summary[0].upl)
    assert facet.chart_note == (
        "Limits are not shown: most months have the same value as the month before "
        "(15 of 23 changes are zero; whole numbers), so the limits would carry no "
        "information; read as a run chart against the median (7)."
    )
    # no run of 6 on one side of 7 (points on 7 are skipped) and no trend of 5
    assert not points["special_cause_flag"].any()
    assert facet.variation_icon == "common_cause"


def test_the_same_series_read_as_xmr_flags_many_points():
    xmr = compute_spc(monthly(WHOLE_DAYS), options=SPCOptions(chart="xmr"))
    assert xmr.facet().chart_kind == "xmr"
    assert xmr.facet().chart_note == ""
    # the limits collapse towards the mean: every 8 and 6 is outside them
    assert int(xmr.points["special_cause_flag"].sum()) >= 4


def test_constant_series_is_a_run_chart_with_no_special_cause():
    result = compute_spc(monthly([5.0] * 15), target=4)
    facet = result.facet()
    assert facet.chart_kind == "run"
    assert limits_are_nan(result.points)
    assert result.points["centre"].tolist() == [5.0] * 15
    assert not result.points["special_cause_flag"].any()
    assert facet.variation_icon == "common_cause"
    assert facet.chart_note.startswith(
        "Limits are not shown: every month has the same value as the month before"
    )
    assert not any("every moving range is 0" in w for w in facet.warnings)


def _alternating_pairs(n: int) -> list[float]:
    """1, 1, 2, 2, 1, 1, ...: every other moving range is 0."""
    return [1.0 + (i // 2) % 2 for i in range(n)]


def test_boundary_exactly_half_zero_moving_ranges_stays_xmr():
    values = _alternating_pairs(21)
    limits = process_limits(values)
    assert (limits.n_zero_moving_ranges, limits.n_moving_ranges_before_screening) == (10, 20)
    assert not limits.limits_uninformative
    result = compute_spc(monthly(values))
    assert result.facet().chart_kind == "xmr"
    assert result.points["lpl"].notna().all()
    assert (result.points["centre"] == result.points["mean"]).all()


def test_boundary_one_more_zero_moving_range_becomes_a_run_chart():
    values = _alternating_pairs(21)
    values[-1] = values[-2]  # the last moving range (was 1) becomes 0
    limits = process_limits(values)
    assert (limits.n_zero_moving_ranges, limits.n_moving_ranges_before_screening) == (11, 20)
    assert limits.limits_uninformative
    result = compute_spc(monthly(values))
    assert result.facet().chart_kind == "run"
    assert limits_are_nan(result.points)
    assert "(11 of 20 changes are zero; whole numbers)" in result.facet().chart_note


def test_rule_counts_only_the_moving_ranges_that_feed_the_limits():
    # 12 constant baseline points, then 12 varied ones: with the limits fixed on the first
    # 12 the limits carry no information; using every point they do (11 of 23 zero).
    values = [5.0] * 12 + VARIED
    fixed = compute_spc(monthly(values), options=SPCOptions(fix_after_n_points=12))
    unfixed = compute_spc(monthly(values))
    assert fixed.facet().chart_kind == "run"
    assert fixed.points["centre"].iloc[-1] == 5.0  # median of the baseline
    assert unfixed.facet().chart_kind == "xmr"


def test_missing_values_are_not_counted_as_moving_ranges():
    # 7, 7, NaN, 7, 8, 9, 10: moving ranges 0, -, -, 1, 1, 1 -> 1 of 4 zero: XmR
    values = [7.0, 7.0, np.nan, 7.0, 8.0, 9.0, 10.0]
    limits = process_limits(values)
    assert (limits.n_zero_moving_ranges, limits.n_moving_ranges_before_screening) == (1, 4)
    assert compute_spc(monthly(values)).facet().chart_kind == "xmr"


def test_floating_point_rounding_counts_as_the_same_value():
    budget = 4420007.81
    values = [budget, budget * (1 + 1e-15), budget, 4599267.0, 4599267.0 * (1 - 1e-15)]
    limits = process_limits(values)
    assert limits.n_zero_moving_ranges == 3
    assert compute_spc(monthly(values)).facet().chart_kind == "run"


def test_chart_option_forces_either_kind_and_is_validated():
    assert compute_spc(monthly(VARIED * 2), options=SPCOptions(chart="run")).facet().chart_kind == (
        "run"
    )
    forced = compute_spc(monthly(VARIED * 2), options=SPCOptions(chart="run")).facet()
    assert "as asked" in forced.chart_note
    assert compute_spc(monthly([5.0] * 15), options=SPCOptions(chart="xmr")).facet().chart_kind == (
        "xmr"
    )
    with pytest.raises(ValueError, match="chart must be one of auto, xmr, run"):
        SPCOptions(chart="p")
    assert "run chart" in SPCOptions().describe()


def test_ordinary_series_stays_xmr_and_says_nothing():
    facet = compute_spc(monthly(VARIED * 2)).facet()
    assert facet.chart_kind == "xmr"
    assert facet.chart_note == ""
    assert facet.assurance_note == ""
    assert [g.chart_kind for g in facet.summary] == ["xmr"]


# --- run-chart rules -------------------------------------------------------------------------


def test_shift_of_six_skips_points_on_the_median():
    values = [6, 6, 5, 6, 6, 5, 6, 6]  # six 6s above a median of 5, two points on it
    assert rules.run_chart_shift(values, 5.0).tolist() == [
        True,
        True,
        False,
        True,
        True,
        False,
        True,
        True,
    ]


def test_five_points_above_with_ties_on_the_median_is_no_shift():
    assert not rules.run_chart_shift([6, 6, 5, 6, 5, 5, 6, 6], 5.0).any()


def test_shift_is_broken_by_the_other_side_or_a_missing_value():
    assert not rules.run_chart_shift([4, 4, 4, 6, 4, 4, 4], 5.0).any()
    assert not rules.run_chart_shift([4, 4, 4, np.nan, 4, 4, 4], 5.0).any()
    assert rules.run_chart_shift([4, 4, 4, 5, 4, 4, 4], 5.0).sum() == 6  # on the median: skipped


def test_trend_of_five_skips_repeated_values():
    # 1, 2, 2, 3, 4, 5: the repeat neither breaks nor counts: five rising points
    assert rules.run_chart_trend([1, 2, 2, 3, 4, 5]).tolist() == [1, 1, 0, 1, 1, 1]
    # 1, 2, 2, 3, 4: only four counted points
    assert not rules.run_chart_trend([1, 2, 2, 3, 4]).any()
    assert rules.run_chart_trend([9, 8, 8, 8, 7, 6, 5]).tolist() == [-1, -1, 0, 0, -1, -1, -1]
    # a trend starts from the last of equal values (where the rise begins)
    assert rules.run_chart_trend([1, 1, 1, 2, 3, 4, 5]).tolist() == [0, 0, 1, 1, 1, 1, 1]


def test_trend_is_broken_by_a_missing_value_and_a_peak_takes_the_following_trend():
    assert not rules.run_chart_trend([1, 2, np.nan, 3, 4, 5]).any()
    assert rules.run_chart_trend([1, 2, 3, 4, 5, 4, 3, 2, 1]).tolist() == [
        1,
        1,
        1,
        1,
        -1,
        -1,
        -1,
        -1,
        -1,
    ]


def test_engine_labels_run_chart_points_with_the_run_chart_rules():
    # median 7; the last six months sit at 6 (below): a shift, an improvement when lower
    # is better.
    values = [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6]
    result = compute_spc(monthly(values), options=SPCOptions(improvement="decrease"))
    points = result.points
    facet = result.facet()
    assert facet.chart_kind == "run"
    assert points["centre"].iloc[0] == 7.0
    tail = points.iloc[-6:]
    assert tail["special_cause_type"].tolist() == ["6 Points Below CL"] * 6
    assert tail["rule"].tolist() == ["Run of 6 or more points in a row below the median"] * 6
    assert tail["point_type"].tolist() == ["special_cause_improvement"] * 6
    assert not points["special_cause_flag"].iloc[:12].any()
    assert facet.variation_icon == "improvement_low"

    # median 9: 9, 8, 7, 6, 5 (repeats skipped) fall: a trend, which takes precedence over
    # the shift of six points below the median; the repeats are only in the shift.
    falling = [9, 9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 7, 6, 5, 5]
    trend = compute_spc(monthly(falling), options=SPCOptions(improvement="increase")).points
    assert trend["chart_kind"].iloc[0] == "run"
    assert trend["centre"].iloc[0] == 9.0
    labels = trend["special_cause_type"].tolist()
    assert [i for i, label in enumerate(labels) if "Trend" in label] == [8, 9, 11, 12, 13]
    assert labels[8] == "5 Point Trend (Decreasing)"
    assert trend["rule"].iloc[8] == "Trend of 5 or more points in a row falling"
    assert labels[10] == labels[14] == "6 Points Below CL"
    assert trend["point_type"].iloc[8:].tolist() == ["special_cause_concern"] * 7
    assert not trend["special_cause_flag"].iloc[:8].any()


def test_run_chart_gives_no_assurance_and_says_why():
    facet = compute_spc(monthly(WHOLE_DAYS), options=SPCOptions(improvement="decrease"), target=10)
    facet = facet.facet()
    assert facet.assurance_type is None
    assert facet.assurance_icon is None
    assert facet.assurance_note == (
        "No assurance icon: the latest values are read as a run chart, which has no process "
        "limits, so it cannot say whether the target (10) will be met consistently."
    )
    assert facet.summary[-1].assurance_type is None
    # with no target (or no better direction) there is nothing to explain
    assert compute_spc(monthly(WHOLE_DAYS)).facet().assurance_note == ""
    neutral = compute_spc(monthly(WHOLE_DAYS), options=SPCOptions(improvement="neutral"), target=10)
    assert neutral.facet().assurance_note == ""


# --- rebased groups --------------------------------------------------------------------------


def test_rebased_groups_can_be_one_run_chart_and_one_xmr():
    values = WHOLE_DAYS + VARIED * 2
    rebase = [pd.Timestamp("2022-01-01")]
    result = compute_spc(monthly(values), rebase=rebase, target=45)
    facet = result.facet()
    assert [g.chart_kind for g in facet.summary] == ["run", "xmr"]
    first = result.points[result.points["rebase_group"] == 0]
    second = result.points[result.points["rebase_group"] == 1]
    assert limits_are_nan(first)
    assert first["centre"].tolist() == [7.0] * len(WHOLE_DAYS)
    assert second["lpl"].notna().all() and second["upl"].notna().all()
    assert second["centre"].tolist() == pytest.approx(second["mean"].tolist())
    assert facet.chart_kind == "xmr"  # the icons read the latest group
    assert facet.assurance_type is not None  # an XmR group can give assurance
    assert facet.chart_note.startswith(
        "Limits are not shown for rebase group 0 (2020-01-01 to 2021-12-01): most months"
    )

    reverse = compute_spc(
        monthly(VARIED * 2 + WHOLE_DAYS), rebase=[pd.Timestamp("2022-01-01")], target=45
    )
    assert [g.chart_kind for g in reverse.facet().summary] == ["xmr", "run"]
    assert reverse.facet().chart_kind == "run"
    assert reverse.facet().assurance_type is None
    assert "run chart" in reverse.facet().assurance_note


# --- JSON, CLI, chart ------------------------------------------------------------------------


def test_json_records_carry_the_chart_kind_note_and_centre():
    result = compute_spc(monthly(WHOLE_DAYS), target=6, options=SPCOptions(improvement="decrease"))
    record = json.loads(json.dumps(result.to_json_records(), allow_nan=False))[0]
    assert record["chart_kind"] == "run"
    assert record["chart_note"].startswith("Limits are not shown")
    assert record["assurance_note"].startswith("No assurance icon")
    assert record["summary"][0]["chart_kind"] == "run"
    assert record["summary"][0]["centre"] == 7.0
    assert record["points"][0]["lpl"] is None
    assert record["points"][0]["centre"] == 7.0
    assert record["points"][0]["chart_kind"] == "run"
    plain = compute_spc(monthly(VARIED * 2)).to_json_records()[0]
    assert plain["chart_kind"] == "xmr" and plain["chart_note"] is None


def _layers(spec: dict) -> list[dict]:
    return spec["layer"] if "layer" in spec else spec["spec"]["layer"]


def _y_fields(spec: dict) -> list[str | None]:
    return [layer["encoding"].get("y", {}).get("field") for layer in _layers(spec)]


def test_run_chart_spec_has_a_median_line_and_no_limit_layers():
    result = compute_spc(monthly(WHOLE_DAYS))
    spec = spc_chart(result).to_dict()
    fields = _y_fields(spec)
    assert "median" in fields
    assert not {"upl", "lpl", "mean"} & set(fields)
    # The line labels are placed in Python (apart by a pixel gap): one, 'Median', on it.
    label_layer = _layers(spec)[-1]
    assert label_layer["encoding"]["text"]["field"] == "line_label"
    label_rows = spec["datasets"][label_layer["data"]["name"]]
    assert [(r["line"], r["line_label"], r["label_y"]) for r in label_rows] == [
        ("median", "Median", 7.0)
    ]
    points_layer = next(layer for layer in _layers(spec) if layer["mark"]["type"] == "point")
    titles = [t["title"] for t in points_layer["encoding"]["tooltip"]]
    assert "Centre line" in titles and "Process limits" in titles
    assert "Lower process limit" not in titles
    rows = spec["datasets"][spec["data"]["name"]]
    assert {row["limits_text"] for row in rows} == {"none (run chart)"}
    assert {row["median"] for row in rows} == {7.0}
    assert spec["description"].startswith("Run chart of the value")


def test_mixed_chart_draws_limits_only_for_the_xmr_group():
    result = compute_spc(monthly(WHOLE_DAYS + VARIED * 2), rebase=["2022-01-01"])
    spec = spc_chart(result).to_dict()
    assert {"upl", "lpl", "mean", "median"} <= set(_y_fields(spec))
    rows = spec["datasets"][spec["data"]["name"]]
    run_rows, xmr_rows = rows[: len(WHOLE_DAYS)], rows[len(WHOLE_DAYS) :]
    assert all(r["lpl"] is None and r["mean"] is None and r["median"] == 7.0 for r in run_rows)
    assert all(r["lpl"] is not None and r["median"] is None for r in xmr_rows)
    assert run_rows[0]["centre_text"] == "median 7"
    assert xmr_rows[0]["limits_text"].count(" to ") == 1


def test_xmr_chart_spec_is_unchanged_by_run_charts():
    spec = spc_chart(compute_spc(monthly(VARIED * 2))).to_dict()
    assert "median" not in _y_fields(spec)
    rows = spec["datasets"][spec["data"]["name"]]
    assert "median" not in rows[0] and "limits_text" not in rows[0]


def test_alt_text_says_it_is_a_run_chart_and_why():
    result = compute_spc(monthly(WHOLE_DAYS), options=SPCOptions(improvement="decrease"), target=6)
    text = spc_alt_text(result, measure="median wait", format_value=lambda v: f"{v:g} days")
    assert text.startswith(
        "Run chart of median wait, January 2020 to December 2021: the latest value, 7 days in "
        "December 2021, is on the median of 7 days (a run chart: no process limits)"
    )
    assert "Limits are not shown: most months have the same value as the month before" in text
    assert "cannot say whether the target (6) will be met" in text


def test_cli_text_and_json_mention_the_run_chart(tmp_path: Path, capsys):
    rows = [
        f"{d:%Y-%m-%d},{v}" for d, v in zip(monthly(WHOLE_DAYS)["date"], WHOLE_DAYS, strict=True)
    ]
    path = tmp_path / "waits.csv"
    path.write_text("month,wait\n" + "\n".join(rows) + "\n", encoding="utf-8")
    base = ["spc", str(path), "--date-col", "month", "--value-col", "wait", "--target", "6"]
    base += ["--improvement", "decrease"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "Chart: run chart. Limits are not shown: most months have the same value" in out
    assert "7 (median)" in out
    assert "Assurance: none. No assurance icon: the latest values are read as a run chart" in out
    assert main([*base, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert record["chart_kind"] == "run"
    assert record["chart_note"].startswith("Limits are not shown")
    assert main([*base, "--json", "--chart", "xmr"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["chart_kind"] == "xmr"


# --- the sample board ------------------------------------------------------------------------


def test_sample_board_median_wait_is_a_run_chart_with_far_fewer_flags():
    import dataclasses

    from metrics.analyses.reading import spc_options, spc_reading
    from metrics.board import open_board
    from metrics.sql.series import SeriesQuery

    board = open_board("config")
    reading = spc_reading(board, "days_to_first_contact_median", SeriesQuery())
    result = reading.result
    assert result is not None
    facet = result.facet()
    assert facet.chart_kind == "run"
    assert "Limits are not shown" in facet.chart_note
    assert limits_are_nan(result.points)
    flagged = int(result.points["special_cause_flag"].sum())

    # the same months read as XmR, as before this change
    metric = board.metric("days_to_first_contact_median")
    options = dataclasses.replace(spc_options(metric), chart="xmr")
    before = compute_spc(result.points[["date", "value"]], options=options)
    flagged_before = int(before.points["special_cause_flag"].sum())
    assert flagged_before >= 0.9 * len(before.points)  # nearly every point, as reported
    assert flagged * 2 < flagged_before
