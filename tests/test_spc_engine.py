"""compute_spc: options, targets, rebasing, facets, warnings, errors and the result object."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from metrics.spc import SPCInputError, SPCOptions, compute_spc
from metrics.spc.engine import POINT_COLUMNS

# A stable process (alternating either side of 50) used as a baseline in several tests.
STABLE = [48.0, 52.0, 49.0, 51.0, 47.0, 53.0, 50.0, 48.0, 52.0, 49.0, 51.0, 50.0]


def monthly(values, start="2020-01-01", **columns) -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"date": dates, "value": np.array(values, dtype=float), **columns})


# --- options --------------------------------------------------------------------------------------


def test_default_options_reproduce_the_reference():
    options = SPCOptions()
    assert (options.improvement, options.screen_outliers, options.run_length) == (
        "increase",
        True,
        7,
    )
    assert (options.trend_length, options.two_in_three, options.fix_after_n_points) == (
        7,
        True,
        None,
    )
    assert options.trial_limit_points == 13


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"improvement": "up"}, "improvement must be one of increase, decrease, neutral"),
        (
            {"fix_after_n_points": 11},
            "fix_after_n_points must be None or a whole number of at least 12",
        ),
        ({"fix_after_n_points": 12.5}, "fix_after_n_points"),
        ({"fix_after_n_points": True}, "fix_after_n_points"),
        ({"run_length": 1}, "run_length must be a whole number of at least 2"),
        ({"trend_length": 2}, "trend_length must be a whole number of at least 3"),
        ({"screen_outliers": "yes"}, "screen_outliers must be True or False"),
        ({"trial_limit_points": 0}, "trial_limit_points"),
    ],
)
def test_bad_options_raise_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SPCOptions(**kwargs)


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SPCOptions().run_length = 8  # type: ignore[misc]


def test_screening_off_widens_limits_after_a_large_jump():
    values = [*STABLE, 90.0, *STABLE]
    screened = compute_spc(monthly(values)).facet().summary[0]
    unscreened = (
        compute_spc(monthly(values), options=SPCOptions(screen_outliers=False)).facet().summary[0]
    )
    assert unscreened.upl - unscreened.mean > screened.upl - screened.mean


def test_run_length_option_changes_which_runs_count():
    # 7 points just above the mean after a stable baseline
    values = [*STABLE, *STABLE, 52.5, 52.5, 52.5, 52.5, 52.5, 52.5, 52.5, 48.0]
    seven = compute_spc(monthly(values))
    eight = compute_spc(monthly(values), options=SPCOptions(run_length=8))
    assert seven.points["special_cause_type"].iloc[-2] == "7 Points Above CL"
    assert seven.points["rule"].iloc[-2] == "Run of 7 points above the mean"
    assert not eight.points["special_cause_flag"].iloc[-8:].any()
    six = compute_spc(monthly(values), options=SPCOptions(run_length=6))
    assert six.points["special_cause_type"].iloc[-2] == "6 Points Above CL"


def test_trend_length_option():
    values = [*STABLE, 45.0, 46.0, 47.0, 48.0, 49.0, 51.0, 49.5]  # 6 rising points
    default = compute_spc(monthly(values))
    six = compute_spc(monthly(values), options=SPCOptions(trend_length=6))
    assert not default.points["special_cause_type"].str.contains("Trend").any()
    assert (
        six.points["special_cause_type"].iloc[-7:-1].tolist() == ["6 Point Trend (Increasing)"] * 6
    )
    assert six.points["rule"].iloc[-2] == "Trend of 6 points in a row rising"


def test_two_in_three_can_be_turned_off():
    values = [*STABLE, *STABLE, 58.0, 51.0, 58.0, 49.0]  # two of three in the upper band
    on = compute_spc(monthly(values))
    off = compute_spc(monthly(values), options=SPCOptions(two_in_three=False))
    assert on.points["nupl"].iloc[0] < 58.0 < on.points["upl"].iloc[0]
    assert on.points["special_cause_type"].iloc[-4] == "2 in 3 Above CL"
    assert on.points["rule"].iloc[-4] == "2 of 3 points in a row close to the upper process limit"
    assert on.points["special_cause_type"].iloc[-3] == "Common Cause"  # the third point
    assert not off.points["special_cause_flag"].any()


def test_fix_after_n_points_freezes_the_limits_and_detects_a_later_shift():
    values = [*STABLE, 60.0, 61.0, 62.0, 60.0, 61.0]
    fixed = compute_spc(monthly(values), options=SPCOptions(fix_after_n_points=12))
    unfixed = compute_spc(monthly(values))
    assert fixed.facet().summary[0].mean == pytest.approx(np.mean(STABLE))
    assert fixed.points["special_cause_flag"].iloc[-5:].all()
    assert fixed.facet().variation_icon == "improvement_high"
    assert unfixed.facet().summary[0].mean > fixed.facet().summary[0].mean


def test_fix_after_longer_than_the_group_warns():
    result = compute_spc(monthly(STABLE), options=SPCOptions(fix_after_n_points=20))
    assert any("fewer than fix_after_n_points=20" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("improvement", "icon", "point_type"),
    [
        ("increase", "concern_low", "special_cause_concern"),
        ("decrease", "improvement_low", "special_cause_improvement"),
        ("neutral", "neutral_low", "special_cause_neutral_low"),
    ],
)
def test_improvement_direction_sets_point_type_and_icon(improvement, icon, point_type):
    values = [*STABLE, *STABLE, 30.0]
    result = compute_spc(monthly(values), options=SPCOptions(improvement=improvement))
    assert result.points["point_type"].iloc[-1] == point_type
    assert result.points["rule"].iloc[-1] == "Below the lower process limit"
    assert result.facet().variation_icon == icon


# --- targets --------------------------------------------------------------------------------------


def test_single_target_gives_assurance_and_a_target_column():
    result = compute_spc(monthly(STABLE * 2), target=40)
    assert result.points["target"].tolist() == [40.0] * 24
    assert result.facet().assurance_type == "consistent_pass"
    assert result.facet().assurance_icon == "pass"
    assert result.facet().target == 40.0


def test_stepped_target_changes_from_each_date_and_assurance_uses_the_latest_step():
    frame = monthly(STABLE * 2)
    result = compute_spc(frame, target=[("2020-06-01", 40), ("2021-01-01", 60)])
    target = result.points["target"]
    assert target.iloc[:5].isna().all()
    assert target.iloc[5:12].tolist() == [40.0] * 7
    assert target.iloc[12:].tolist() == [60.0] * 12
    assert result.facet().assurance_type == "consistent_fail"
    assert result.facet().target == 60.0
    assert any("no target before 2020-06-01" in w for w in result.warnings)


def test_target_step_with_none_withdraws_the_target():
    result = compute_spc(monthly(STABLE * 2), target=[("2020-01-01", 40), ("2021-06-01", None)])
    assert result.points["target"].iloc[-1] != result.points["target"].iloc[-1]  # NaN
    assert result.facet().assurance_type is None


def test_target_step_after_the_data_warns():
    result = compute_spc(monthly(STABLE), target=[("2020-01-01", 40), ("2030-01-01", 45)])
    assert any(
        "target step from 2030-01-01 starts after the latest date" in w for w in result.warnings
    )
    assert result.facet().target == 40.0


@pytest.mark.parametrize(
    "bad_target", ["120", True, {1, 2}, [("not a date", 4)], [(None, 3)], float("inf")]
)
def test_target_of_the_wrong_type_warns_and_is_not_used(bad_target):
    result = compute_spc(monthly(STABLE * 2), target=bad_target)
    assert result.facet().assurance_type is None
    assert result.points["target"].isna().all()
    assert any("target" in w for w in result.input_warnings)


def test_per_facet_targets_and_unknown_facet_warning():
    frame = pd.concat(
        [monthly(STABLE * 2, unit="North"), monthly(STABLE * 2, unit="South")], ignore_index=True
    )
    result = compute_spc(
        frame, facet_col="unit", target={"North": 40, "South": [("2020-01-01", 60)], "West": 1}
    )
    assert result.facet("North").assurance_type == "consistent_pass"
    assert result.facet("South").assurance_type == "consistent_fail"
    assert "target given for facet 'West', which is not in the data; ignored" in result.warnings


def test_per_facet_target_without_a_facet_column_warns():
    result = compute_spc(monthly(STABLE), target={"North": 40})
    assert result.facet().assurance_type is None
    assert "target is given per facet but no facet column is named; no target used" in (
        result.warnings
    )


# --- rebasing -------------------------------------------------------------------------------------


def test_rebase_recalculates_limits_and_no_window_crosses_it():
    values = [*STABLE, *[v + 20 for v in STABLE]]
    plain = compute_spc(monthly(values))
    rebased = compute_spc(monthly(values), rebase=["2021-01-01"])
    assert plain.points["special_cause_flag"].any()
    assert not rebased.points["special_cause_flag"].any()
    assert rebased.points["rebase_group"].tolist() == [0] * 12 + [1] * 12
    first, second = rebased.facet().summary
    assert second.mean == pytest.approx(first.mean + 20)
    assert (first.start, second.start) == (pd.Timestamp("2020-01-01"), pd.Timestamp("2021-01-01"))


def test_rebase_date_matching_no_row_is_ignored_with_a_warning():
    result = compute_spc(monthly(STABLE * 2), rebase=["2020-06-15", "2031-01-01", "soon"])
    assert result.points["rebase_group"].eq(0).all()
    assert "rebase date 2020-06-15 matches no date in the data; ignored" in result.warnings
    assert (
        "rebase date 2031-01-01 outside the data (2020-01-01 to 2021-12-01); ignored"
        in result.warnings
    )
    assert "rebase date 'soon' is not a date; ignored" in result.warnings


def test_rebase_per_facet():
    frame = pd.concat(
        [monthly(STABLE * 2, unit="North"), monthly(STABLE * 2, unit="South")], ignore_index=True
    )
    result = compute_spc(frame, facet_col="unit", rebase={"North": ["2021-01-01"]})
    assert result.facet_points("North")["rebase_group"].max() == 1
    assert result.facet_points("South")["rebase_group"].max() == 0


def test_rebase_of_the_wrong_type_raises():
    with pytest.raises(ValueError, match="rebase date must be a list of dates"):
        compute_spc(monthly(STABLE), rebase=5)


def test_rebase_date_text_is_read_day_first_like_the_data():
    result = compute_spc(monthly(STABLE * 2), rebase=["01/06/2020"])  # 1 June, not 6 January
    assert result.points["rebase_group"].tolist() == [0] * 5 + [1] * 19


def test_a_single_rebase_date_string_is_accepted():
    result = compute_spc(monthly(STABLE * 2), rebase="2021-01-01")
    assert result.points["rebase_group"].iloc[-1] == 1


# --- facets and the result object -----------------------------------------------------------------


def test_facets_are_computed_separately_and_sorted_by_facet_then_date():
    north = monthly(STABLE * 2, unit="North")
    south = monthly([v * 10 for v in STABLE * 2], unit="South")
    shuffled = pd.concat([south, north], ignore_index=True).sample(frac=1, random_state=1)
    result = compute_spc(shuffled, facet_col="unit")
    assert result.facet_names == ["North", "South"]
    assert result.points["facet"].tolist() == ["North"] * 24 + ["South"] * 24
    assert result.points["date"].is_monotonic_increasing is False
    assert result.facet_points("South")["date"].is_monotonic_increasing
    assert result.facet("South").summary[0].mean == pytest.approx(
        10 * result.facet("North").summary[0].mean
    )


def test_points_frame_has_the_documented_columns():
    result = compute_spc(monthly(STABLE))
    assert list(result.points.columns) == list(POINT_COLUMNS)
    assert result.points["facet"].isna().all()
    assert result.points["rule"].tolist() == [""] * 12


def test_short_series_gets_trial_limit_warnings():
    result = compute_spc(monthly(STABLE[:8]))
    assert result.points["short_group_warning"].all()
    assert result.facet().summary[0].trial_limits
    assert any(w.startswith("trial limits: rebase group 0") for w in result.warnings)


def test_series_too_short_for_limits_warns():
    result = compute_spc(monthly([5.0]))
    assert np.isnan(result.points["upl"].iloc[0])
    assert any("too few values for limits" in w for w in result.warnings)


def test_facet_lookup_errors_name_the_facets():
    frame = pd.concat([monthly(STABLE, unit="A"), monthly(STABLE, unit="B")])
    result = compute_spc(frame, facet_col="unit")
    with pytest.raises(KeyError, match="name a facet"):
        result.facet()
    with pytest.raises(KeyError, match="no facet 'C'"):
        result.facet("C")


def test_result_is_frozen():
    result = compute_spc(monthly(STABLE))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.points = pd.DataFrame()  # type: ignore[misc]


def test_json_records_use_null_for_nan_and_iso_dates():
    values = [*STABLE[:5], np.nan, *STABLE[6:]]
    records = compute_spc(monthly(values)).to_json_records()
    text = json.dumps(records, allow_nan=False)
    assert len(records) == 1
    point = records[0]["points"][5]
    assert point["value"] is None
    assert point["date"] == "2020-06-01"
    assert point["point_type"] == "common_cause"
    assert records[0]["facet"] is None
    assert json.loads(text)[0]["variation_icon"] == "common_cause"


def test_empty_frame_gives_an_empty_result_with_a_warning():
    result = compute_spc(pd.DataFrame({"date": [], "value": []}))
    assert result.facets == ()
    assert result.points.empty
    assert list(result.points.columns) == list(POINT_COLUMNS)
    assert result.warnings == ("no rows to analyse",)


def test_string_dates_and_numeric_strings_are_parsed():
    frame = pd.DataFrame({"month": ["2020-01", "2020-02", "2020-03"], "n": ["1", " 2 ", ""]})
    result = compute_spc(frame, date_col="month", value_col="n")
    assert result.points["date"].tolist() == list(pd.date_range("2020-01-01", periods=3, freq="MS"))
    assert result.points["value"].tolist()[:2] == [1.0, 2.0]
    assert np.isnan(result.points["value"].iloc[2])


def test_text_dates_read_iso_first_then_day_first():
    frame = pd.DataFrame({"date": ["2020-01-01", "15/02/2020", "01/03/2020"], "value": [1, 2, 3]})
    result = compute_spc(frame)
    assert result.points["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-01",
        "2020-02-15",
        "2020-03-01",
    ]


def test_period_dates_are_accepted():
    frame = pd.DataFrame(
        {"date": pd.period_range("2020-01", periods=12, freq="M"), "value": STABLE}
    )
    result = compute_spc(frame)
    assert result.points["date"].iloc[0] == pd.Timestamp("2020-01-01")


# --- input errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (
            monthly(STABLE),
            {"value_col": "count"},
            "no value column 'count'; columns are: 'date', 'value'",
        ),
        (monthly(STABLE), {"facet_col": "unit"}, "no facet column 'unit'"),
        (
            pd.DataFrame({"date": ["2020-01-01", "someday"], "value": [1, 2]}),
            {},
            "row 1: date 'someday' in column 'date' is not a date",
        ),
        (
            pd.DataFrame({"date": ["2020-01-01", None], "value": [1, 2]}),
            {},
            "row 1: missing date in column 'date'",
        ),
        (
            pd.DataFrame({"date": ["2020-01-01", "2020-02-01"], "value": ["1", "two"]}),
            {},
            "row 1: value 'two' in column 'value' is not a number",
        ),
        (
            pd.DataFrame({"date": ["2020-01-01", "2020-01-01"], "value": [1, 2]}),
            {},
            "date 2020-01-01 appears twice \\(row 0 and row 1\\)",
        ),
        (
            pd.DataFrame({"date": [2020, 2021], "value": [1, 2]}),
            {},
            "date column 'date' holds numbers, not dates",
        ),
        (
            pd.DataFrame({"date": ["2020-01-01", "2020-02-01"], "value": [1, np.inf]}),
            {},
            "is not finite",
        ),
    ],
)
def test_input_errors_name_the_column_and_row(frame, kwargs, message):
    with pytest.raises(SPCInputError, match=message):
        compute_spc(frame, **kwargs)


def test_duplicate_date_in_one_facet_names_the_facet_but_other_facets_may_share_dates():
    frame = pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01", "2020-02-01", "2020-02-01"],
            "unit": ["A", "B", "A", "A"],
            "value": [1, 2, 3, 4],
        }
    )
    with pytest.raises(SPCInputError, match="date 2020-02-01 appears twice in facet 'A'"):
        compute_spc(frame, facet_col="unit")
    ok = compute_spc(frame.iloc[:3], facet_col="unit")
    assert ok.facet_names == ["A", "B"]


def test_options_must_be_spc_options():
    with pytest.raises(ValueError, match="options must be an SPCOptions"):
        compute_spc(monthly(STABLE), options={"improvement": "decrease"})  # type: ignore[arg-type]


def test_engine_and_chart_do_not_import_streamlit():
    code = (
        "import sys, metrics.spc, metrics.spc.cli, metrics.charts.spc_chart; "
        "sys.exit(1 if 'streamlit' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
