"""Rule-level behaviour: the reference's unit cases (tests/spc_cases/unit_cases.json) and
the XmR limits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metrics.spc import rules
from metrics.spc.xmr import LIMIT_FACTOR, moving_ranges, process_limits

UNIT = json.loads((Path(__file__).parent / "spc_cases" / "unit_cases.json").read_text())


def _cases(name):
    return [pytest.param(c, id=f"{name}[{i}]") for i, c in enumerate(UNIT[name]["cases"])]


@pytest.mark.parametrize("case", _cases("seven_point_one_side_mean"))
def test_run_end_markers(case):
    assert rules.seven_point_one_side_mean(case["input"]).tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("part_of_seven_trend"))
def test_window_spreads_back_from_its_end(case):
    assert rules.part_of_seven_trend(case["input"]).tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("seven_point_trend"))
def test_trend_end_markers(case):
    assert rules.seven_point_trend(case["input"]).tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("two_in_three"))
def test_two_in_three_windows(case):
    assert rules.two_in_three(case["close"], case["rtm"]).tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("part_of_two_in_three"))
def test_two_in_three_flags_only_close_points(case):
    assert rules.part_of_two_in_three(case["close"], case["rtm"]).tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("special_cause_type_priority"))
def test_label_precedence(case):
    labels = rules.special_cause_type(
        case["y"],
        case["relative_to_mean"],
        case["outside_limits"],
        case["part_of_trend"],
        case["part_of_two_in_three"],
        case["part_of_one_side"],
    )
    assert labels.tolist() == case["expected"]


@pytest.mark.parametrize("case", _cases("assurance_type"))
def test_assurance_type(case):
    got = rules.assurance_type(case["lpl"], case["upl"], case["target"], case["direction"])
    assert got == case["expected"]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=f"last_row[{i}]")
        for i, c in enumerate(UNIT["assurance_type"]["last_row_cases"])
    ],
)
def test_assurance_uses_the_last_rows_limits(case):
    lpl, upl = case["rows_lpl_upl"][-1]
    assert rules.assurance_type(lpl, upl, case["target"], case["direction"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("variation_icon"))
def test_variation_icon(case):
    assert rules.variation_icon(case["point_type"], case["direction"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("short_group_warning"))
def test_short_group_warning(case):
    threshold = case["threshold"] if case["threshold"] is not None else 13
    assert rules.short_group_warning(case["group_sizes"], threshold) == case["expected"]


def test_assurance_icon_map():
    for kind, icon in UNIT["assurance_icon"]["map"].items():
        assert rules.assurance_icon(kind) == icon
    assert rules.assurance_icon(None) is None


# --- the rules beyond the reference's unit cases ----------------------------------------------


def test_point_exactly_on_a_limit_is_inside():
    assert rules.outside_limits([1.0, 3.0, 3.0001, 0.9999], 1.0, 3.0).tolist() == [
        False,
        False,
        True,
        True,
    ]


def test_nan_limits_and_values_never_flag():
    assert not rules.outside_limits([np.nan, 5.0], np.nan, np.nan).any()
    assert rules.relative_to_mean([np.nan, 2.0, 1.0, 0.0], 1.0).tolist() == [0, 1, 0, -1]


def test_close_to_limits_is_the_two_to_three_sigma_band_only():
    close = rules.close_to_limits([0.0, 1.9, 2.5, 3.5, -2.5, -3.5], -3, 3, -2, 2)
    assert close.tolist() == [False, False, True, False, True, False]


@pytest.mark.parametrize("run_length", [6, 7, 8])
def test_run_length_is_a_parameter(run_length):
    seven_above = [1] * 7
    flagged = rules.shift(seven_above, run_length)
    assert flagged.all() == (run_length <= 7)
    assert flagged.any() == (run_length <= 7)


def test_shift_flags_every_point_of_a_longer_run():
    assert rules.shift([-1, 1, 1, 1, 1, 1, 1, 1, 1, -1]).tolist() == [False] + [True] * 8 + [False]


def test_point_on_the_mean_breaks_a_run():
    assert not rules.shift([1, 1, 1, 0, 1, 1, 1, 1]).any()


@pytest.mark.parametrize(("trend_length", "fires"), [(5, True), (6, True), (7, False)])
def test_trend_length_is_a_parameter(trend_length, fires):
    six_rising = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert rules.trend(six_rising, trend_length).any() == fires


def test_trend_flags_all_points_and_direction_follows_each_trend():
    # a rise of 7 then a fall of 7 sharing the peak: the peak takes the following trend
    y = [1.0, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]
    in_trend = rules.trend(y)
    assert in_trend.all()
    direction = rules.trend_direction(y, in_trend)
    assert direction.tolist() == [1] * 6 + [-1] * 7


def test_trend_direction_uses_previous_step_when_next_step_is_flat():
    # rise of 7 ending at index 6, a repeated value, then a fall of 7 starting at index 7
    y = [1.0, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1]
    in_trend = rules.trend(y)
    direction = rules.trend_direction(y, in_trend)
    assert direction[6] == 1
    assert direction[7] == -1


def test_two_in_three_windows_do_not_run_past_the_ends():
    assert rules.two_in_three([1, 1], [1, 1]).tolist() == [0, 0]


def test_point_type_by_improvement_direction():
    direction = [1, -1, 0]
    assert rules.point_type(direction, "increase").tolist() == [
        "special_cause_improvement",
        "special_cause_concern",
        "common_cause",
    ]
    assert rules.point_type(direction, "decrease").tolist() == [
        "special_cause_concern",
        "special_cause_improvement",
        "common_cause",
    ]
    assert rules.point_type(direction, "neutral").tolist() == [
        "special_cause_neutral_high",
        "special_cause_neutral_low",
        "common_cause",
    ]
    with pytest.raises(ValueError, match="improvement direction must be one of"):
        rules.point_type(direction, "up")


def test_assurance_with_nan_limits_is_inconsistent_and_unknown_direction_raises():
    assert rules.assurance_type(np.nan, np.nan, 4.0, "increase") == "inconsistent"
    assert rules.assurance_type(1.0, 3.0, 3.0, "increase") == "inconsistent"  # on a limit
    with pytest.raises(ValueError, match="got 'up'"):
        rules.assurance_type(1.0, 3.0, 4.0, "up")


# --- XmR limits --------------------------------------------------------------------------------


def test_limits_are_mean_plus_minus_266_mean_moving_range():
    limits = process_limits([10.0, 12.0, 10.0, 12.0, 10.0], screen_outliers=False)
    assert limits.mean == pytest.approx(10.8)
    assert limits.mean_moving_range == pytest.approx(2.0)
    assert limits.upl == pytest.approx(10.8 + 2.66 * 2)
    assert limits.lpl == pytest.approx(10.8 - 2.66 * 2)
    assert limits.nupl == pytest.approx(10.8 + 2 * 2.66 / 3 * 2)
    assert LIMIT_FACTOR == 2.66


def test_screening_drops_large_moving_ranges_once():
    values = [10.0, 11, 10, 11, 10, 11, 10, 11, 10, 40, 10, 11]
    screened = process_limits(values)
    unscreened = process_limits(values, screen_outliers=False)
    assert screened.n_screened_out == 2  # the jump to 40 and back
    assert screened.mean_moving_range == pytest.approx(1.0)
    assert unscreened.mean_moving_range > screened.mean_moving_range


def test_lower_limit_is_not_floored_at_zero():
    assert process_limits([0.0, 3.0, 0.0, 3.0]).lpl < 0


def test_fixed_baseline_uses_only_the_first_n_values():
    values = [10.0, 11.0] * 6 + [50.0, 60.0]
    fixed = process_limits(values, fix_after_n_points=12)
    assert fixed.mean == pytest.approx(10.5)
    assert fixed.n_baseline_values == 12


def test_moving_ranges_skip_gaps():
    mr = moving_ranges([1.0, 3.0, np.nan, 4.0, 8.0])
    assert np.isnan(mr[[0, 2, 3]]).all()
    assert mr[[1, 4]].tolist() == [2.0, 4.0]


def test_one_value_gives_nan_limits():
    limits = process_limits([4.0])
    assert limits.mean == 4.0
    assert np.isnan(limits.upl)
    assert np.isnan(limits.lpl)
