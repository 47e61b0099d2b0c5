"""Small-number suppression: property tests over random figures, and the documented cases."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from metrics.analyses.disclosure import (
    LEGEND,
    MHSDS,
    NHS_SECONDARY_CARE,
    NO_CONTROL,
    SUPPRESSED,
    Cell,
    Policy,
    control_change,
    control_count,
    control_count_mean,
    control_mean,
    control_rate,
    control_ratio,
    control_series,
    control_spc_points,
    control_total,
    control_value,
    count_as_shown,
    is_controlled,
    legend,
    policy_for,
    round_to_base,
    shows_suppression,
)
from metrics.definitions.board_files import DisclosureContext, DisclosureFile
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import MetricDef, RateDef, RatioPart
from metrics.sql.series import SeriesQuery, SeriesResult

ROUNDING = [
    Policy(name, unrounded)
    for name in ("mhsds", "nhs_secondary_care")
    for unrounded in (False, True)
]
ALL_POLICIES = [*ROUNDING, Policy("none", False), Policy("none", True)]

policies = st.sampled_from(ALL_POLICIES)
rounding_policies = st.sampled_from(ROUNDING)
counts = st.one_of(
    st.none(),
    st.just(math.nan),
    st.integers(min_value=0, max_value=20).map(float),  # the interesting range, densely
    st.integers(min_value=0, max_value=10**12).map(float),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
)
positive_population = st.floats(min_value=1, max_value=1e9, allow_nan=False)


def in_suppressed_range(policy: Policy, value: float | None) -> bool:
    """The policy's suppressed range written independently of the code under test."""
    if value is None or math.isnan(value):
        return policy.name == "mhsds"
    if policy.name == "mhsds":
        return value < 5
    if policy.name == "nhs_secondary_care":
        return 0 < value < 8
    return False


def shown_number(cell: Cell) -> float:
    return float(cell.text.replace(",", "").rstrip("%"))


def metric(**changes) -> MetricDef:
    fields = dict(
        id="m", title="M", domain="d", source="s", measure="count", unit="referrals", better="down"
    )
    fields.update(changes)
    return MetricDef(**fields)


# --------------------------------------------------------------------------- properties


@given(policies, counts, st.booleans())
def test_no_shown_count_is_in_the_suppressed_range(policy, count, top_level):
    cell = control_count(count, policy, top_level=top_level)
    if not policy.applies(top_level=top_level):
        return  # uncontrolled: figures as computed (checked below)
    if in_suppressed_range(policy, count):
        assert cell == Cell(None, SUPPRESSED, True)
    if cell.value is not None:
        assert not in_suppressed_range(policy, cell.value)
        assert not in_suppressed_range(policy, shown_number(cell))
        assert cell.text != SUPPRESSED and not cell.suppressed


@given(rounding_policies, counts)
def test_shown_counts_are_multiples_of_5_within_2_5_of_the_truth(policy, count):
    cell = control_count(count, policy)
    if cell.value is None:
        return
    assert count is not None
    assert cell.value % 5 == 0
    assert shown_number(cell) == cell.value
    assert abs(cell.value - count) <= 2.5 + 1e-9 * max(1.0, count)


@given(rounding_policies)
def test_zero_is_shown_under_secondary_care_and_suppressed_under_mhsds(policy):
    cell = control_count(0, policy)
    if policy.name == "nhs_secondary_care":
        assert cell == Cell(0.0, "0", False)
    else:
        assert cell == Cell(None, SUPPRESSED, True)


@given(policies, counts, counts, st.booleans(), st.sampled_from([1, 100, 1000]))
def test_ratios_from_suppressed_parts_are_suppressed(policy, numerator, denominator, top, per):
    cell = control_ratio(numerator, denominator, policy, per=per, top_level=top)
    if not policy.applies(top_level=top):
        return
    if in_suppressed_range(policy, numerator) or in_suppressed_range(policy, denominator):
        assert cell.suppressed and cell.text == SUPPRESSED and cell.value is None
    else:
        assert not cell.suppressed


@given(rounding_policies, counts, counts)
def test_percentages_follow_each_presets_arithmetic(policy, numerator, denominator):
    cell = control_ratio(numerator, denominator, policy, per=100, decimals=1)
    if cell.value is None:
        return
    assert numerator is not None and denominator is not None
    # Both presets: from the rounded parts (never the exact ones, which could be worked
    # back from the shown parts); secondary care to the requested decimals, MHSDS as a
    # whole number.
    from_shown = 100 * round_to_base(numerator) / round_to_base(denominator)
    places = 1 if policy.name == "nhs_secondary_care" else 0
    expected = round(from_shown, places)
    assert cell.value == pytest.approx(expected, abs=1e-9)
    assert cell.text.endswith("%")


@given(policies, counts, positive_population, st.booleans())
def test_rates_are_suppressed_with_their_event_count(policy, events, population, top):
    cell = control_rate(events, population, policy, top_level=top)
    if not policy.applies(top_level=top):
        return
    assert cell.suppressed == in_suppressed_range(policy, events)
    if cell.value is not None:  # from the rounded count under both presets
        assert events is not None
        expected = round(100_000 * round_to_base(events) / population, 1)
        assert cell.value == pytest.approx(expected, abs=1e-9)


@given(policies, st.floats(-1e6, 1e6, allow_nan=False), counts, st.booleans())
def test_means_on_few_values_are_suppressed(policy, value, n, top):
    cell = control_mean(value, n, policy, decimals=2, top_level=top)
    if policy.applies(top_level=top) and in_suppressed_range(policy, n):
        assert cell.suppressed
    else:
        assert not cell.suppressed and cell.value == pytest.approx(round(value, 2))


@given(policies, counts, counts)
def test_changes_between_suppressed_counts_are_suppressed(policy, current, previous):
    cell = control_change(current, previous, policy)
    if not policy.applies():
        return
    if in_suppressed_range(policy, current) or in_suppressed_range(policy, previous):
        assert cell.suppressed
    elif cell.value is not None:
        # The difference of the shown counts, so it can never reveal an exact figure.
        assert cell.value == (
            control_count(current, policy).value - control_count(previous, policy).value
        )


@given(st.sampled_from(["mhsds", "nhs_secondary_care"]), counts, counts)
def test_top_level_totals_are_unrounded_only_when_configured(name, count, denominator):
    exempt = Policy(name, area_totals_unrounded=True)
    strict = Policy(name, area_totals_unrounded=False)
    top = control_count(count, exempt, top_level=True)
    if count is None or math.isnan(count):
        assert top.value is None and not top.suppressed
    else:
        assert top.value == count and not top.suppressed
    # Without the setting the total is controlled exactly like a breakdown cell ...
    assert control_count(count, strict, top_level=True) == control_count(count, strict)
    # ... and breakdown cells are always controlled, whatever the setting.
    assert control_count(count, exempt, top_level=False) == control_count(count, strict)
    assert control_ratio(count, denominator, exempt) == control_ratio(count, denominator, strict)


@given(policies, counts)
def test_uncontrolled_counts_are_shown_as_computed(policy, count):
    if policy.applies(top_level=True):
        return
    cell = control_count(count, policy, top_level=True, decimals=2)
    if count is None or math.isnan(count):
        assert cell.value is None and cell.text == "–"
    else:
        assert cell.value == count and not cell.suppressed


@given(
    st.sampled_from(["mhsds", "nhs_secondary_care", "none"]),
    st.sampled_from(["mhsds", "nhs_secondary_care", "none"]),
    st.booleans(),
    st.booleans(),
)
def test_the_public_policy_can_never_be_none(board_name, public_name, board_flag, public_flag):
    board = DisclosureContext(policy=board_name, area_totals_unrounded=board_flag)
    public = DisclosureContext(policy=public_name, area_totals_unrounded=public_flag)
    if public_name == "none":
        with pytest.raises(ValidationError):
            DisclosureFile(board=board, public=public)
    # Even a configuration that skipped validation cannot make public outputs uncontrolled.
    unchecked = DisclosureFile.model_construct(board=board, public=public)
    catalogue = Catalogue(config_dir=Path("."), data_dir=Path("."), disclosure=unchecked)
    chosen = policy_for(catalogue, "public")
    assert chosen.name != "none"
    assert chosen.applies(top_level=False)
    assert policy_for(catalogue, "board") == Policy(board_name, board_flag)


@given(
    st.lists(
        st.tuples(counts, counts, st.integers(0, 30)),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(ROUNDING),
    st.sampled_from(["count", "ratio", "rate", "mean"]),
)
def test_series_display_never_shows_a_suppressed_number(rows, policy, measure):
    extra = {}
    if measure == "ratio":
        extra = {"numerator": RatioPart(filter="x"), "unit": "%", "decimals": 1}
    if measure == "rate":
        extra = {"rate": RateDef(population="population"), "unit": "per 100,000"}
    definition = metric(measure=measure, **extra)
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2020-01-01", periods=len(rows), freq="MS"),
            "group": ["A"] * len(rows),
            "value": [math.nan if n is None else n for n, _, _ in rows],
            "numerator": [math.nan if n is None else n for n, _, _ in rows],
            "denominator": [math.nan if d is None else d for _, d, _ in rows],
            "n": [n for _, _, n in rows],
        }
    )
    result = SeriesResult(definition, SeriesQuery(breakdown="group"), frame, sql="")
    shown = control_series(result, policy)
    assert list(shown.columns) == [*frame.columns, "display", "suppressed"]
    assert (shown["display"] == SUPPRESSED).tolist() == shown["suppressed"].tolist()
    checked = ["numerator", "n"]
    checked += ["value"] if measure == "count" else ["denominator"] if measure == "ratio" else []
    for column in checked:
        for x in shown[column].dropna():
            assert not in_suppressed_range(policy, x)
    assert shown.loc[shown["suppressed"], "value"].isna().all()
    # The input frame (the data models use) is never altered.
    assert frame["numerator"].equals(pd.Series([math.nan if n is None else n for n, _, _ in rows]))


# --------------------------------------------------------------------------- documented cases


@pytest.mark.parametrize(
    ("count", "text"),
    [(2, "*"), (8, "10"), (57, "55"), (0, "0"), (1, "*"), (7, "*"), (12.5, "15"), (1234, "1,235")],
)
def test_secondary_care_examples(count, text):
    # 2, 8 and 57 are the codonPython test cases (domain.md section 3); codonPython's
    # central method shows 1-7 as "5", the HES/ECDS methodology (used here) as "*".
    assert control_count(count, NHS_SECONDARY_CARE).text == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(None, "*"), (math.nan, "*"), (0, "*"), (4, "*"), (4.9, "*"), (5, "5"), (7, "5"), (8, "10")],
)
def test_mhsds_examples(count, text):
    assert control_count(count, MHSDS).text == text


def test_halves_round_away_from_zero():
    assert round_to_base(12.5) == 15
    assert round_to_base(17.5) == 20  # Python's round() would give 20 here and 10 above
    assert round_to_base(-12.5) == -15
    assert control_count(12.5, NHS_SECONDARY_CARE).value == 15


def test_percentage_examples():
    # 9 of 23: both presets use the rounded parts 10 / 25 (MHSDS as a whole number).
    assert control_ratio(9, 23, NHS_SECONDARY_CARE).text == "40.0%"
    assert control_ratio(9, 23, MHSDS).text == "40%"
    # From the exact parts 6 / 17, MHSDS would show 35% beside "5" and "15": the only pair
    # of counts rounding to those that makes 35%, so it would give 6 of 17 away.
    assert control_ratio(6, 17, MHSDS).text == "33%"
    assert control_ratio(9, 23, NO_CONTROL).text == "39.1%"
    assert control_ratio(4, 100, MHSDS).text == SUPPRESSED
    assert control_ratio(0, 100, NHS_SECONDARY_CARE).text == "0.0%"
    assert control_ratio(0, 100, MHSDS).text == SUPPRESSED
    assert control_ratio(50, 6, NHS_SECONDARY_CARE).text == SUPPRESSED
    assert control_ratio(3, 0, NO_CONTROL).text == "–"
    exempt = Policy("mhsds", area_totals_unrounded=True)
    assert control_ratio(2, 3, exempt, top_level=True).text == "66.7%"


def test_rate_and_mean_examples():
    assert control_rate(3, 100_000, MHSDS).text == SUPPRESSED
    assert control_rate(9, 200_000, MHSDS).text == "5.0"  # rounded count 10, not 4.5
    assert control_rate(9, 200_000, NHS_SECONDARY_CARE).text == "5.0"  # rounded count 10
    assert control_rate(0, 200_000, NHS_SECONDARY_CARE).text == "0.0"
    assert control_mean(4.256, 7, NHS_SECONDARY_CARE, decimals=2).text == SUPPRESSED
    assert control_mean(4.256, 8, NHS_SECONDARY_CARE, decimals=2).text == "4.26"
    assert control_mean(4.256, 4, MHSDS).suppressed
    assert control_change(20, 3, NHS_SECONDARY_CARE).suppressed
    assert control_change(21, 9, NHS_SECONDARY_CARE).text == "+10"


def test_money_and_beds_are_not_controlled_people_counts_are():
    spend = metric(measure="sum", unit="GBP")
    beds = metric(measure="sum", unit="beds", decimals=1)
    referrals = metric(measure="count", unit="referrals")
    assert not is_controlled(spend) and not is_controlled(beds) and is_controlled(referrals)
    assert control_value(spend, NHS_SECONDARY_CARE, value=3.0).text == "£3"
    assert control_value(beds, NHS_SECONDARY_CARE, value=3.0).text == "3.0"
    assert control_value(referrals, NHS_SECONDARY_CARE, value=3.0).text == SUPPRESSED


def test_series_top_level_is_unrounded_only_for_the_whole_area():
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2020-01-01", periods=3, freq="MS"),
            "value": [3.0, 1234.0, math.nan],
            "numerator": [3.0, 1234.0, math.nan],
            "denominator": [math.nan] * 3,
            "n": [3, 1234, 0],
        }
    )
    definition = metric()
    exempt = Policy("mhsds", area_totals_unrounded=True)
    whole = control_series(SeriesResult(definition, SeriesQuery(), frame, sql=""), exempt)
    assert whole["display"].tolist() == ["3", "1,234", "–"]
    neighbourhood = control_series(
        SeriesResult(definition, SeriesQuery(lcn="North"), frame, sql=""), exempt
    )
    assert neighbourhood["display"].tolist() == ["*", "1,235", "*"]
    assert neighbourhood["n"].tolist()[1] == 1235


def test_legend_and_policies_from_the_project_configuration():
    from metrics.validation import load_config

    catalogue = load_config(Path(__file__).resolve().parents[1] / "config").catalogue
    assert policy_for(catalogue, "board") == Policy("mhsds", area_totals_unrounded=True)
    assert policy_for(catalogue, "public") == Policy("nhs_secondary_care", False)
    assert "fewer than 5" in legend(MHSDS) and "unrounded" in legend(Policy("mhsds", True))
    assert "1 to 7" in legend(NHS_SECONDARY_CARE) and legend(NO_CONTROL) == ""
    assert LEGEND.startswith("* = a small number")
    with pytest.raises(ValueError):
        policy_for(catalogue, "showcase")  # type: ignore[arg-type]


def test_shows_suppression_finds_a_star_anywhere():
    assert shows_suppression(pd.DataFrame({"a": ["1", "*"], "b": [1.0, 2.0]}))
    assert not shows_suppression(pd.DataFrame({"a": ["1", "10"], "b": [1.0, 2.0]}))
    assert shows_suppression([Cell(5.0, "5"), Cell(None, "*", True)])
    assert not shows_suppression(["5", "10"])


# --------------------------------------------------------------------------- derived figures


def test_derived_figures_come_from_the_counts_as_shown():
    assert count_as_shown(17, MHSDS) == 15 and count_as_shown(3, MHSDS) is None
    assert count_as_shown(17, Policy("mhsds", True), top_level=True) == 17
    assert count_as_shown(0, NHS_SECONDARY_CARE) == 0
    # A rate beside a count shown as 15: 15 x 100,000 / 5,000 = 300, not 17's 340.
    assert control_rate(17, 5_000, MHSDS).text == "300.0"
    assert control_rate(17, 5_000, NHS_SECONDARY_CARE).text == "300.0"


def test_totals_are_controlled_on_their_own():
    assert control_total([17, 3, 41], NHS_SECONDARY_CARE).text == "60"  # 61, rounded
    assert control_total([17, 3, 41], NO_CONTROL).text == "61"
    assert control_total([None, math.nan], MHSDS).text == "*"  # MHSDS: missing is '*'
    assert control_total([None], NHS_SECONDARY_CARE).text == "–"
    exempt = Policy("mhsds", area_totals_unrounded=True)
    assert control_total([4, 4], exempt, top_level=True).text == "8"
    # '*' and '*' beside '10' could only be 4 and 4: the total is suppressed as well.
    assert control_total([4, 4], MHSDS) == Cell(None, SUPPRESSED, True)
    assert control_total([4, 4, 4], MHSDS).text == "10"  # 0 to 4 each: many ways to 8-12
    assert control_total([7, 7], NHS_SECONDARY_CARE).text == "15"  # 6 or 7 each


def test_a_mean_of_counts_is_the_mean_of_the_shown_counts():
    assert control_count_mean([12, 18, 31], NHS_SECONDARY_CARE).text == "20.0"  # 10, 20, 30
    assert control_count_mean([12, 18, 31], NO_CONTROL).text == "20.3"
    assert control_count_mean([4, 4, 4, 4, 4], MHSDS).suppressed  # never an exact 4.0
    assert control_count_mean([0, 20], NHS_SECONDARY_CARE).text == "10.0"
    assert control_count_mean([], MHSDS).text == "–"


def spc_frame(values, group=None):
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2021-01-01", periods=len(values), freq="MS"),
            "value": [float(v) for v in values],
            "numerator": [float(v) for v in values],
            "denominator": math.nan,
            "n": values,
        }
    )
    if group:
        frame.insert(1, "group", group)
    return frame


def test_spc_points_as_shown():
    from metrics.spc import compute_spc
    from metrics.spc.xmr import process_limits

    referrals = metric()
    values = [12, 18, 31, 22, 16, 27, 19, 23, 14, 21, 25, 17]
    frame = spc_frame(values)
    points = compute_spc(frame, date_col="month", value_col="value").points
    shown = control_spc_points(points, frame, referrals, NHS_SECONDARY_CARE, top_level=False)
    rounded = [round_to_base(v) for v in values]
    assert shown["value"].tolist() == rounded
    expected = process_limits(rounded)
    assert shown["mean"].tolist() == [expected.mean] * 12
    assert shown["upl"].iloc[0] == pytest.approx(expected.upl)
    assert shown["point_type"].tolist() == points["point_type"].tolist()  # flags as read
    # An exempt whole-area series, and money, are shown as computed.
    exempt = Policy("mhsds", area_totals_unrounded=True)
    same = control_spc_points(points, frame, referrals, exempt, top_level=True)
    pd.testing.assert_frame_equal(same, points)
    spend = metric(measure="sum", unit="GBP")
    pd.testing.assert_frame_equal(
        control_spc_points(points, frame, spend, MHSDS, top_level=False), points
    )
    # A suppressed point: '*' (NaN), and no centre line or limits from it.
    small = spc_frame([*values[:5], 3, *values[6:]], group="North")
    faceted = compute_spc(small, date_col="month", value_col="value", facet_col="group").points
    hidden = control_spc_points(faceted, small, referrals, MHSDS, top_level=False)
    assert math.isnan(hidden["value"].iloc[5]) and hidden["value"].iloc[0] == 10
    assert hidden[["mean", "lpl", "upl", "nlpl", "nupl"]].isna().all().all()
    # Limits fixed after 12 points: a suppressed 13th point leaves them in place.
    fixed = metric(spc={"fix_after_n_points": 12})
    later = spc_frame([*values, 2])
    shown = control_spc_points(
        compute_spc(later, date_col="month", value_col="value").points,
        later,
        fixed,
        MHSDS,
        top_level=False,
    )
    assert math.isnan(shown["value"].iloc[12])
    assert shown["mean"].notna().all()
    assert shown["mean"].iloc[0] == pytest.approx(process_limits(rounded).mean)


def test_spc_run_chart_groups_keep_no_limits_and_a_median_of_the_shown_values():
    # Points as a reading that draws a run chart gives them (centre = median, no limits).
    values = [12, 12, 12, 31, 12, 12]
    frame = spc_frame(values)
    points = pd.DataFrame(
        {
            "facet": [None] * 6,
            "date": frame["month"],
            "value": frame["value"],
            "mean": sum(values) / 6,
            "lpl": math.nan,
            "upl": math.nan,
            "nlpl": math.nan,
            "nupl": math.nan,
            "rebase_group": 0,
            "centre": 12.0,
            "chart_kind": "run",
        }
    )
    shown = control_spc_points(points, frame, metric(), NHS_SECONDARY_CARE, top_level=False)
    assert shown["value"].tolist() == [10, 10, 10, 30, 10, 10]
    assert shown["centre"].tolist() == [10.0] * 6  # the median of the shown values
    assert shown["mean"].iloc[0] == pytest.approx(80 / 6)
    assert shown[["lpl", "upl", "nlpl", "nupl"]].isna().all().all()
    xmr = control_spc_points(
        points.assign(chart_kind="xmr"), frame, metric(), NHS_SECONDARY_CARE, top_level=False
    )
    assert xmr["centre"].iloc[0] == pytest.approx(80 / 6) and xmr["upl"].notna().all()
