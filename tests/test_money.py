"""Money engine: figures against sums computed independently with pandas on the CSV,
variance arithmetic, savings against the baseline (IPSA against truth.json), provisional
flags, and the plain-English summary."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from metrics.analyses.money import (
    MoneyError,
    budget_vs_actual,
    default_baseline_year,
    fin_month_of,
    fin_year_of,
    financial_years,
    forecast_outturn,
    line_savings,
    money_report,
    money_summary,
    monthly_spend,
    provisional_months,
    savings_against_baseline,
    unit_cost_trend,
    unit_costs,
    year_end_accrual,
    year_position,
)
from metrics.board import open_board
from metrics.formatting import format_money

ROOT = Path(__file__).resolve().parents[1]
YEAR = "2024/25"
DECEMBER = dt.date(2024, 12, 1)


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def costs() -> pd.DataFrame:
    frame = pd.read_csv(ROOT / "sample_data" / "costs_monthly.csv")
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


def test_financial_years_run_april_to_march(board):
    years = financial_years(board)
    assert years[0] == "2014/15" and years[-1] == YEAR
    assert len(years) == 11
    assert fin_year_of(dt.date(2025, 3, 1)) == "2024/25"
    assert fin_year_of(dt.date(2025, 4, 1)) == "2025/26"
    assert fin_month_of(dt.date(2024, 4, 1)) == 1 and fin_month_of(dt.date(2025, 3, 1)) == 12


def test_budget_vs_actual_for_one_provider_matches_pandas(board, costs):
    table = budget_vs_actual(board, YEAR, "provider", DECEMBER).set_index("group_id")
    slam = costs[(costs["provider_id"] == "SLAM") & (costs["fin_year"] == YEAR)]
    ytd = slam[slam["month"] <= pd.Timestamp(DECEMBER)]
    month = slam[slam["month"] == pd.Timestamp(DECEMBER)]
    row = table.loc["SLAM"]
    assert row["ytd_budget_gbp"] == pytest.approx(ytd["budget_gbp"].sum(), abs=0.01)
    assert row["ytd_actual_gbp"] == pytest.approx(ytd["actual_gbp"].sum(), abs=0.01)
    assert row["month_budget_gbp"] == pytest.approx(month["budget_gbp"].sum(), abs=0.01)
    assert row["month_actual_gbp"] == pytest.approx(month["actual_gbp"].sum(), abs=0.01)
    assert row["group_name"] == "South London and Maudsley NHS Foundation Trust"
    assert set(table.index) == set(costs["provider_id"])


def test_budget_vs_actual_by_service_line_matches_pandas(board, costs):
    table = budget_vs_actual(board, YEAR, "service_line").set_index("group_id")
    year = costs[costs["fin_year"] == YEAR]
    expected = year.groupby("service_line_id")[["budget_gbp", "actual_gbp"]].sum()
    assert set(table.index) == set(expected.index)
    for line, sums in expected.iterrows():
        assert table.loc[line, "ytd_budget_gbp"] == pytest.approx(sums["budget_gbp"], abs=0.01)
        assert table.loc[line, "ytd_actual_gbp"] == pytest.approx(sums["actual_gbp"], abs=0.01)


def test_ytd_variance_arithmetic(board):
    table = budget_vs_actual(board, YEAR, "service_line", DECEMBER)
    variance = table["ytd_actual_gbp"] - table["ytd_budget_gbp"]
    assert (table["ytd_variance_gbp"] - variance).abs().max() < 1e-6
    pct = 100 * variance / table["ytd_budget_gbp"]
    assert (table["ytd_variance_pct"] - pct).abs().max() < 1e-9
    month = table["month_actual_gbp"] - table["month_budget_gbp"]
    assert (table["month_variance_gbp"] - month).abs().max() < 1e-6
    # A positive variance is an overspend; rows come largest overspend first.
    assert (table.loc[table["ytd_variance_gbp"] > 0, "status"] == "overspend").all()
    assert (table.loc[table["ytd_variance_gbp"] < 0, "status"] == "underspend").all()
    assert table["ytd_variance_gbp"].is_monotonic_decreasing
    # Groups add up to the whole alliance, by provider and by service line alike.
    total = year_position(board, YEAR, DECEMBER)
    providers = budget_vs_actual(board, YEAR, "provider", DECEMBER)
    for frame in (table, providers):
        assert frame["ytd_actual_gbp"].sum() == pytest.approx(total.ytd_actual_gbp, abs=0.01)
        assert frame["ytd_budget_gbp"].sum() == pytest.approx(total.ytd_budget_gbp, abs=0.01)
    assert total.ytd_variance_gbp == pytest.approx(
        total.ytd_actual_gbp - total.ytd_budget_gbp, abs=1e-6
    )
    assert total.months_elapsed == 9 and not total.full_year


def test_private_beds_overspend_and_ipsa_underspend(board):
    table = budget_vs_actual(board, YEAR, "service_line").set_index("group_id")
    assert table.loc["private_beds", "status"] == "overspend"
    assert table.loc["private_beds", "ytd_variance_pct"] > 50
    assert table.loc["ipsa", "ytd_budget_gbp"] == pytest.approx(12_000_000, abs=0.01)
    assert table.loc["ipsa", "status"] == "underspend"


def test_forecast_outturn_sums_the_chosen_months_forecast(board, costs):
    year = costs[costs["fin_year"] == YEAR]
    december = forecast_outturn(board, YEAR, DECEMBER).iloc[0]
    expected = year.loc[year["month"] == pd.Timestamp(DECEMBER), "forecast_outturn_gbp"].sum()
    assert december["forecast_outturn_gbp"] == pytest.approx(expected, abs=0.01)
    assert december["full_year_budget_gbp"] == pytest.approx(year["budget_gbp"].sum(), abs=0.01)
    assert not december["budget_estimated"]
    # At March the forecast is the year's actual (README: equals the year's actual).
    march = forecast_outturn(board, YEAR).iloc[0]
    assert march["forecast_outturn_gbp"] == pytest.approx(year["actual_gbp"].sum(), abs=0.01)
    by_line = forecast_outturn(board, YEAR, DECEMBER, "service_line")
    assert by_line["forecast_outturn_gbp"].sum() == pytest.approx(expected, abs=0.01)


def test_monthly_running_totals(board, costs):
    monthly = monthly_spend(board, YEAR)
    assert len(monthly) == 12 and monthly["fin_month"].tolist() == list(range(1, 13))
    year = costs[costs["fin_year"] == YEAR]
    assert monthly["cumulative_actual_gbp"].iloc[-1] == pytest.approx(
        year["actual_gbp"].sum(), abs=0.01
    )
    assert monthly["cumulative_budget_gbp"].iloc[-1] == pytest.approx(
        year["budget_gbp"].sum(), abs=0.01
    )
    assert (monthly["actual_gbp"].cumsum() - monthly["cumulative_actual_gbp"]).abs().max() < 1e-6


def test_unit_cost_matches_pandas_and_private_beds_cost_more(board, costs):
    table = unit_costs(board, "2023/24").set_index("service_line_id")
    acute = costs[
        (costs["service_line_id"] == "acute_inpatient") & (costs["fin_year"] == "2023/24")
    ]
    by_month = acute.groupby("month").agg(
        spend=("actual_gbp", "sum"), days=("activity_value", "sum")
    )
    assert table.loc["acute_inpatient", "unit_cost_gbp"] == pytest.approx(
        by_month["spend"].sum() / by_month["days"].sum(), rel=1e-9
    )
    assert table.loc["acute_inpatient", "unit_label"] == "per occupied bed day"
    assert (
        table.loc["private_beds", "unit_cost_gbp"] > table.loc["acute_inpatient", "unit_cost_gbp"]
    )
    # Caseload lines are a cost per person a year (person-months x 12).
    focused = costs[
        (costs["service_line_id"] == "focused_support") & (costs["fin_year"] == "2023/24")
    ]
    assert table.loc["focused_support", "unit_cost_gbp"] == pytest.approx(
        focused["actual_gbp"].sum() / focused["activity_value"].sum() * 12, rel=1e-9
    )


def test_private_bed_day_price_is_the_planted_one(board):
    # truth: private-bed spend = out-of-area bed days x GBP 750 in 2018/19, +3% a year.
    trend = unit_cost_trend(board).set_index(["service_line_id", "fin_year"])
    assert trend.loc[("private_beds", "2018/19"), "unit_cost_gbp"] == pytest.approx(750, rel=0.01)
    # Year-on-year changes are noisy (accruals); the average growth is the planted 3%.
    first = trend.loc[("private_beds", "2014/15"), "unit_cost_gbp"]
    last = trend.loc[("private_beds", "2023/24"), "unit_cost_gbp"]
    assert 100 * ((last / first) ** (1 / 9) - 1) == pytest.approx(3, abs=0.3)


def test_unit_cost_leaves_out_months_with_a_missing_return(board, costs):
    # The Evening Sanctuary's activity is blank in Nov and Dec 2022 (the spend is there).
    table = unit_costs(board, "2022/23").set_index("service_line_id")
    row = table.loc["evening_sanctuary"]
    assert row["months_without_activity"] == 2 and row["months_with_activity"] == 10
    lines = costs[
        (costs["service_line_id"] == "evening_sanctuary") & (costs["fin_year"] == "2022/23")
    ]
    recorded = lines.groupby("month").filter(lambda m: m["activity_value"].notna().any())
    assert row["unit_cost_gbp"] == pytest.approx(
        recorded["actual_gbp"].sum() / recorded["activity_value"].sum(), rel=1e-9
    )


def test_ipsa_savings_against_the_2014_15_baseline_match_truth(board, truth):
    planted = truth["ipsa_savings"]
    assert default_baseline_year(board) == planted["baseline_fin_year"] == "2014/15"
    realised = planted["realised"]["ipsa_actual_gbp_by_fin_year"]
    for year in ("2016/17", "2020/21", YEAR):
        ipsa = line_savings(board, year)
        assert ipsa is not None and ipsa.months == 12
        assert ipsa.baseline_actual_gbp == pytest.approx(realised["2014/15"], abs=0.01)
        assert ipsa.actual_gbp == pytest.approx(realised[year], abs=0.01)
        ratio = planted["realised"]["ipsa_actual_ratio_to_2014_15"][year]
        assert ipsa.saving_pct == pytest.approx(100 * (1 - ratio), abs=0.01)
        assert ipsa.budget_gbp == pytest.approx(planted["annual_budget_gbp"], abs=0.01)
        assert ipsa.target_share == 0.20
        # The target: save 20% of the GBP 12m budget (GBP 2.4m) against the baseline.
        assert ipsa.target_saving_gbp == pytest.approx(2_400_000, abs=0.01)
        assert ipsa.target_met
    # 2015/16 saved only 10%: the target is not met. Every year from 2016/17 meets it
    # (the planted spend is 0.80 of the baseline).
    assert line_savings(board, "2015/16").target_met is False
    for year in financial_years(board)[2:]:
        assert line_savings(board, year).target_met, year
    # The baseline year has nothing to compare with, so no verdict.
    baseline = line_savings(board, "2014/15")
    assert baseline.saving_gbp == 0 and baseline.target_met is None


def test_savings_are_like_for_like_months(board, costs):
    frame = savings_against_baseline(board, YEAR, "2017/18", DECEMBER).set_index("service_line_id")
    assert (frame["months"] == 9).all()
    for line in ("ipsa", "acute_inpatient"):
        base = costs[
            (costs["service_line_id"] == line)
            & (costs["fin_year"] == "2017/18")
            & (costs["fin_month"] <= 9)
        ]["actual_gbp"].sum()
        now = costs[
            (costs["service_line_id"] == line)
            & (costs["fin_year"] == YEAR)
            & (costs["fin_month"] <= 9)
        ]["actual_gbp"].sum()
        assert frame.loc[line, "baseline_actual_gbp"] == pytest.approx(base, abs=0.01)
        assert frame.loc[line, "saving_gbp"] == pytest.approx(base - now, abs=0.01)
        assert frame.loc[line, "saving_pct"] == pytest.approx(100 * (base - now) / base, rel=1e-9)
    # The whole pool is the last row, and a line new since the baseline has no comparison.
    whole = savings_against_baseline(board, YEAR)
    assert whole["service_line_id"].iloc[-1] == "alliance"
    sanctuary = whole.set_index("service_line_id").loc["evening_sanctuary"]
    assert pd.isna(sanctuary["baseline_actual_gbp"]) and pd.isna(sanctuary["saving_gbp"])


def test_provisional_months_are_flagged(board):
    months = [dt.date(2025, 2, 1), dt.date(2025, 3, 1)]
    assert provisional_months(board) == months
    assert provisional_months(board, "2023/24") == []
    monthly = monthly_spend(board, YEAR)
    flagged = [m.date() for m in monthly.loc[monthly["provisional"], "month"]]
    assert flagged == months
    assert budget_vs_actual(board, YEAR, "provider")["provisional"].all()
    assert not budget_vs_actual(board, YEAR, "provider", DECEMBER)["provisional"].any()
    assert not budget_vs_actual(board, "2023/24", "provider")["provisional"].any()
    assert year_position(board, YEAR).provisional_months == tuple(months)
    assert year_position(board, YEAR, DECEMBER).provisional_months == ()


def test_year_end_accrual_spike_is_noted(board):
    note = year_end_accrual(board, YEAR)
    assert note is not None and note.march == dt.date(2025, 3, 1)
    assert note.uplift_pct is not None and note.uplift_pct > 5


def test_summary_sentence_gives_the_headline_figures(board):
    position = year_position(board, YEAR)
    text = money_summary(board, YEAR)
    assert text.startswith(
        f"The alliance spent {format_money(position.ytd_actual_gbp)} against a budget of "
        f"{format_money(position.ytd_budget_gbp)} in 2024/25"
    )
    assert f"an overspend of {format_money(position.ytd_variance_gbp)}" in text
    assert format_money(position.forecast_outturn_gbp) in text
    assert "IPSA spent £9.53m" in text and "21.0%" in text
    assert "to save 20% of its £12.00m budget (£2.40m), is met" in text
    assert "accrual" in text
    assert "February 2025 and March 2025 are provisional" in text
    partial = money_summary(board, YEAR, DECEMBER)
    assert "to date" in partial and "9 months" in partial and "forecast outturn" in partial
    assert "provisional" not in partial


def test_report_bundles_every_view(board):
    report = money_report(board)
    assert report.fin_year == YEAR and report.through_month == dt.date(2025, 3, 1)
    assert report.baseline_year == "2014/15"
    assert not report.by_provider.empty and not report.unit_costs.empty
    assert report.ipsa is not None and report.summary


def test_bad_year_or_month_is_a_readable_error(board):
    with pytest.raises(MoneyError, match="no costs for financial year"):
        budget_vs_actual(board, "2030/31", "provider")
    with pytest.raises(MoneyError, match="no costs for financial year"):
        budget_vs_actual(board, "2024/25' OR 1=1 --", "provider")
    with pytest.raises(MoneyError, match="is not a month of 2024/25"):
        budget_vs_actual(board, YEAR, "provider", dt.date(2023, 12, 1))
    with pytest.raises(MoneyError, match="cannot group"):
        budget_vs_actual(board, YEAR, "pod")  # type: ignore[arg-type]
