"""Equity rates, intervals and rate ratios: hand-computed cases and the sample data."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from metrics.analyses.bed_share import bed_day_share, bed_share_sentence, bed_share_table
from metrics.analyses.disclosure import MHSDS, NHS_SECONDARY_CARE, NO_CONTROL, SUPPRESSED, Policy
from metrics.analyses.equity import EquityError, EquityResult, equity_metrics, equity_rates
from metrics.analyses.equity_shown import (
    default_comparison,
    equity_download,
    equity_table,
    rate_chart_data,
    ratio_sentence,
    ratio_trend_data,
    shown_rates,
    shown_yearly,
)
from metrics.analyses.equity_stats import (
    NO_POPULATION,
    default_reference,
    financial_year,
    poisson_rate_ci,
    pool_rates,
    rate_ratio_ci,
    yearly_rate_ratios,
)
from metrics.board import Board, open_board
from metrics.charts.equity_figures import (
    bed_share_chart,
    rate_chart,
    ratio_trend_chart,
)

ROOT = Path(__file__).resolve().parents[1]
Z = 1.959963984540054


def rate_frame(
    groups: dict[str, tuple[float | None, float | None]], months: list[str]
) -> pd.DataFrame:
    """A broken-down rate series: every month each group has (events, population)."""
    rows = []
    for month in months:
        for group, (events, population) in groups.items():
            rows.append(
                {
                    "month": pd.Timestamp(month),
                    "group": group,
                    "numerator": math.nan if events is None else events,
                    "denominator": math.nan if population is None else population,
                }
            )
    frame = pd.DataFrame(rows)
    frame["value"] = frame["numerator"] * 100_000 / frame["denominator"]
    frame["n"] = frame["numerator"].fillna(0).astype(int)
    return frame


YEAR_2020 = [f"2020-{m:02d}-01" for m in range(1, 13)]


# --------------------------------------------------------------------------- statistics


def test_exact_poisson_interval_matches_published_values():
    # Garwood limits for a count of 0, 1 and 10 (standard tables), per 1 person-year.
    assert poisson_rate_ci(0, 1, per=1) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert poisson_rate_ci(1, 1, per=1) == pytest.approx((0.0253, 5.5716), abs=1e-4)
    assert poisson_rate_ci(10, 1, per=1) == pytest.approx((4.7954, 18.3904), abs=1e-4)
    # Scaled: 10 events in 50,000 person-years per 100,000 a year.
    assert poisson_rate_ci(10, 50_000) == pytest.approx((9.5908, 36.7808), abs=1e-3)


def test_rate_ratio_interval_by_hand():
    # 180 events in 60,000 PY vs 120 in 120,000 PY: RR = 3; SE(log) = sqrt(1/180 + 1/120).
    ratio, lower, upper = rate_ratio_ci(180, 60_000, 120, 120_000)
    se = math.sqrt(1 / 180 + 1 / 120)
    assert ratio == pytest.approx(3.0)
    assert lower == pytest.approx(3 * math.exp(-Z * se)) == pytest.approx(2.3813, abs=1e-4)
    assert upper == pytest.approx(3 * math.exp(Z * se)) == pytest.approx(3.7795, abs=1e-4)
    assert rate_ratio_ci(0, 100, 10, 100) == (0.0, None, None)  # no events: no log interval
    assert rate_ratio_ci(10, 100, 0, 100) == (None, None, None)  # no reference events


def test_pooling_a_tiny_frame_by_hand():
    frame = rate_frame(
        {"White": (10, 120_000), "Black": (15, 60_000), "Not stated": (2, None)}, YEAR_2020
    )
    table = pool_rates(frame, dimension="ethnicity")
    assert table.reference == "White"
    assert len(table.months) == 12
    white, black = table.group("White"), table.group("Black")
    assert (white.events, white.person_years) == (120, 120_000)
    assert (black.events, black.person_years) == (180, 60_000)
    assert white.rate == pytest.approx(100.0)  # per 100,000 a year
    assert black.rate == pytest.approx(300.0)
    assert black.rate_ratio == pytest.approx(3.0)
    assert black.ratio_lower == pytest.approx(2.3813, abs=1e-4)
    assert black.ratio_upper == pytest.approx(3.7795, abs=1e-4)
    assert black.ratio_excludes_one is True
    assert white.is_reference and white.rate_ratio == 1 and white.ratio_excludes_one is None
    not_stated = table.group("Not stated")
    assert not_stated.events == 24 and not_stated.rate is None
    assert not_stated.reason == NO_POPULATION
    assert [g.group for g in table.groups][-1] == "Not stated"  # groups without a rate last


def test_person_years_use_each_calendar_years_population_and_skip_missing_months():
    months = [f"2019-{m:02d}-01" for m in range(4, 13)] + [f"2020-{m:02d}-01" for m in (1, 2, 3)]
    frame = rate_frame({"A": (5, 120_000)}, months)
    frame.loc[frame["month"].dt.year == 2020, "denominator"] = 132_000
    frame.loc[frame["month"] == pd.Timestamp("2019-06-01"), "numerator"] = math.nan  # a gap
    table = pool_rates(frame)
    a = table.group("A")
    # 8 known months at 120,000 and 3 at 132,000, each a twelfth of a year.
    assert a.person_years == pytest.approx((8 * 120_000 + 3 * 132_000) / 12)
    assert a.events == 55
    assert len(table.months) == 11


def test_reference_choice():
    assert default_reference("ethnicity", {"White": 10, "Black": 50}) == "White"
    assert default_reference("age_band", {"18-24": 10, "25-34": 50}) == "25-34"
    assert default_reference("ethnicity", {"Black": 0, "Not stated": 0}) is None
    frame = rate_frame({"North": (10, 50_000), "South": (20, 80_000), "X": (1, None)}, YEAR_2020)
    assert pool_rates(frame, dimension="lcn").reference == "South"  # largest
    assert pool_rates(frame, reference="North").reference == "North"  # the reader's choice
    assert pool_rates(frame, reference="X").reference == "South"  # X has no population


def test_a_group_with_no_events_has_a_zero_rate_and_no_ratio_interval():
    frame = rate_frame({"A": (10, 100_000), "B": (0, 10_000)}, YEAR_2020)
    b = pool_rates(frame, reference="A").group("B")
    assert b.rate == 0 and b.rate_lower == 0
    assert b.rate_upper == pytest.approx(3.6889 / 10_000 * 100_000, abs=1e-2)
    assert b.rate_ratio == 0 and b.ratio_lower is None and "no events" in b.reason


def test_financial_years():
    assert financial_year(dt.date(2019, 3, 1)) == "2018/19"
    assert financial_year(dt.date(2019, 4, 1)) == "2019/20"
    assert financial_year(pd.Timestamp("1999-04-01")) == "1999/00"


def test_yearly_rate_ratios_by_financial_year():
    months = [str(d.date()) for d in pd.date_range("2019-04-01", "2020-06-01", freq="MS")]
    frame = rate_frame({"White": (10, 120_000), "Black": (10, 60_000)}, months)
    yearly = yearly_rate_ratios(frame, reference="White")
    black = yearly[yearly["group"] == "Black"].set_index("fin_year")
    assert list(black.index) == ["2019/20", "2020/21"]
    assert black.loc["2019/20", "rate_ratio"] == pytest.approx(2.0)
    assert black.loc["2019/20", "events"] == 120 and black.loc["2020/21", "events"] == 30
    assert bool(black.loc["2019/20", "complete"]) and not bool(black.loc["2020/21", "complete"])
    assert black.loc["2020/21", "months"] == 3
    se = math.sqrt(1 / 30 + 1 / 30)
    assert black.loc["2020/21", "ratio_upper"] == pytest.approx(2 * math.exp(Z * se))


# --------------------------------------------------------------------------- sample data


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def detentions(board: Board) -> EquityResult:
    return equity_rates(board, "detention_rate", "ethnicity")


def test_detention_black_white_rate_ratio_recovers_the_planted_truth(detentions):
    truth = json.loads((ROOT / "sample_data" / "truth.json").read_text())
    planted = truth["detention_black_white_rate_ratio"]
    black = detentions.rates.group("Black")
    assert detentions.reference == "White"
    assert 3 < black.rate_ratio < 6
    # The Poisson interval is a little narrow for overdispersed counts: allow 5% beyond it.
    assert black.ratio_lower / 1.05 <= planted <= black.ratio_upper * 1.05
    assert black.ratio_excludes_one
    # Planted rates are 400 and 100 per 100,000 a year; 4% of records lose their ethnicity.
    assert 300 < black.rate < 450 and 75 < detentions.rates.group("White").rate < 110


def test_equity_metrics_and_errors(board):
    ids = [m.id for m in equity_metrics(board.catalogue)]
    assert "detention_rate" in ids and "secondary_referral_rate" in ids
    assert "detentions" not in ids  # a count, not a rate
    with pytest.raises(EquityError, match="not a rate"):
        equity_rates(board, "detentions", "ethnicity")
    with pytest.raises(EquityError, match="no metric"):
        equity_rates(board, "no_such_metric", "ethnicity")


def test_provisional_months_are_left_out_unless_asked_for(board, detentions):
    assert detentions.rates.months[-1] == dt.date(2025, 1, 1)
    assert any("provisional" in note for note in detentions.notes)
    everything = equity_rates(board, "detention_rate", "ethnicity", include_provisional=True)
    assert everything.rates.months[-1] == dt.date(2025, 3, 1)


def test_sentence_reads_aloud_with_the_interval(detentions):
    sentence = ratio_sentence(detentions, "Black", MHSDS)
    assert sentence.startswith("Black adults had a rate of detentions ")
    assert "times that of White adults (95% CI " in sentence
    assert sentence.endswith("between April 2013 and January 2025.")
    assert default_comparison(detentions, MHSDS) == "Black"


def test_groups_without_events_are_listed_and_small_counts_suppressed(board):
    # One month in one neighbourhood: several ethnic groups have fewer than 5 detentions.
    small = equity_rates(
        board,
        "detention_rate",
        "ethnicity",
        start=dt.date(2024, 4, 1),
        end=dt.date(2024, 4, 1),
        lcn="North",
    )
    groups = {g.group for g in small.rates.groups}
    assert {"Asian", "Black", "Mixed", "Other", "White"} <= groups  # zero-event groups too
    zero = [g for g in small.rates.groups if g.events == 0 and g.rate is not None]
    assert zero, "the sample month has a group without detentions"
    mhsds = equity_table(small, MHSDS).set_index("Ethnicity")
    secondary = equity_table(small, NHS_SECONDARY_CARE).set_index("Ethnicity")
    for g in small.rates.groups:
        rate_column = "Rate per 100,000 a year"
        if g.events < 5:
            assert mhsds.loc[g.group, "Events"] == SUPPRESSED
        if g.events < 5 and g.rate is not None:
            assert mhsds.loc[g.group, rate_column] == SUPPRESSED
            assert mhsds.loc[g.group, "95% CI (rate)"] == SUPPRESSED
        if g.events == 0:
            assert secondary.loc[g.group, "Events"] == "0"
        if 0 < g.events < 8:
            assert secondary.loc[g.group, rate_column] == SUPPRESSED
    shown = [t for t in mhsds["Events"] if t != SUPPRESSED]
    assert all(int(t.replace(",", "")) % 5 == 0 for t in shown)
    # Charts never carry a suppressed group, nor exact counts.
    plotted = set(rate_chart_data(small, MHSDS)["group"])
    assert not plotted & {g.group for g in small.rates.groups if g.events < 5}
    for group in plotted - {small.reference}:
        trend = ratio_trend_data(small, group, MHSDS)
        assert not {"events", "reference_events", "person_years"} & set(trend.columns)


def test_uncontrolled_table_shows_exact_counts(detentions):
    table = equity_table(detentions, NO_CONTROL).set_index("Ethnicity")
    black = detentions.rates.group("Black")
    assert table.loc["Black", "Events"] == f"{black.events:,.0f}"
    assert table.loc["Black", "Rate ratio vs White"] == f"{black.rate_ratio:.2f}"
    assert table.loc["White", "Rate ratio vs White"] == "1 (reference)"
    assert table.loc["Not stated", "Note"] == NO_POPULATION


def test_charts_build(detentions):
    for built in (
        rate_chart(detentions, MHSDS),
        ratio_trend_chart(detentions, "Black", MHSDS),
    ):
        spec = built.to_dict()
        assert spec["layer"]
    trend = ratio_trend_data(detentions, "Black", MHSDS)
    assert len(trend) == 12  # 2013/14 to 2024/25
    assert (trend["rate_ratio"] > 1).all()


def test_black_bed_day_share_against_population_share(board):
    share = bed_day_share(board, population_metric_id="detention_rate")
    assert 35 < share.bed_share < 55  # planted: about 41-47% a year
    assert 22 < share.population_share < 26  # Black adults: 24% of the population
    exempt = Policy("mhsds", area_totals_unrounded=True)
    sentence = bed_share_sentence(share, exempt)
    assert sentence.startswith("Black patients used ") and "of the adult population" in sentence
    table = bed_share_table(share, exempt)
    assert len(table) == 12 and table.iloc[-1, 0].endswith("(part year)")
    assert bed_share_chart(share, exempt).to_dict()["layer"]


def test_a_group_missing_from_the_series_is_added_with_zero_events(board):
    from metrics.analyses.equity import _with_groups_without_events, population_by_year
    from metrics.sql.series import SeriesQuery

    metric = board.metric("detention_rate")
    query = SeriesQuery(breakdown="gender", start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 1))
    frame = board.series("detention_rate", query).frame
    population = population_by_year(board, metric, "gender")
    assert set(population["group"]) == {"Female", "Male", "Other/not stated"}
    # A series lists only groups that occur among the events: drop one to simulate that.
    without = frame[frame["group"] != "Other/not stated"]
    filled = _with_groups_without_events(board, metric, "gender", None, without)
    added = filled[filled["group"] == "Other/not stated"].reset_index(drop=True)
    original = frame[frame["group"] == "Other/not stated"].reset_index(drop=True)
    assert len(added) == 12 and (added["numerator"] == 0).all()
    assert added["denominator"].tolist() == original["denominator"].tolist()
    assert pool_rates(filled).group("Other/not stated").events == 0


def test_shown_rates_come_from_the_counts_as_shown():
    # 17 events a month is 204 a year (shown 205); 3 a month is 36 (shown 35).
    frame = rate_frame({"White": (17, 100_000), "Black": (3, 20_000)}, YEAR_2020)
    result = EquityResult(
        metric=_rate_metric(),
        dimension="ethnicity",
        rates=pool_rates(frame, dimension="ethnicity"),
        yearly=yearly_rate_ratios(frame, reference="White", dimension="ethnicity"),
    )
    for policy in (MHSDS, NHS_SECONDARY_CARE):
        shown = shown_rates(result, policy)
        white, black = shown.group("White"), shown.group("Black")
        assert (white.events, black.events) == (205, 35)
        assert white.rate == pytest.approx(205.0) and black.rate == pytest.approx(175.0)
        assert (white.rate_lower, white.rate_upper) == pytest.approx(poisson_rate_ci(205, 100_000))
        ratio, low, high = rate_ratio_ci(35, 20_000, 205, 100_000)
        assert (black.rate_ratio, black.ratio_lower, black.ratio_upper) == pytest.approx(
            (ratio, low, high)
        )
        table = equity_table(result, policy).set_index("Ethnicity")
        assert table.loc["Black", "Rate per 100,000 a year"] == "175.0"  # not 180.0 from 36
        assert table.loc["Black", "Events"] == "35"
        download = equity_download(result, policy).set_index("group")
        assert download.loc["Black", "events"] == 35
        assert download.loc["Black", "rate"] * 20_000 / 100_000 == pytest.approx(35)
        assert set(rate_chart_data(result, policy)["rate"]) == {white.rate, black.rate}
    # Uncontrolled: the exact analysis.
    assert shown_rates(result, NO_CONTROL) is result.rates


def test_a_suppressed_reference_hides_ratios_but_not_rates():
    frame = rate_frame({"White": (0.25, 100_000), "Black": (5, 20_000)}, YEAR_2020)
    result = EquityResult(
        _rate_metric(),
        "ethnicity",
        pool_rates(frame, dimension="ethnicity"),
        yearly_rate_ratios(frame, reference="White", dimension="ethnicity"),
    )
    shown = shown_rates(result, MHSDS)  # White: 3 events in the year, suppressed
    assert shown.group("White").suppressed and math.isnan(shown.group("White").events)
    black = shown.group("Black")
    assert black.ratio_suppressed and black.rate_ratio is None and black.rate == 300.0
    table = equity_table(result, MHSDS).set_index("Ethnicity")
    assert table.loc["Black", "Rate ratio vs White"] == SUPPRESSED
    assert table.loc["White", "Rate per 100,000 a year"] == SUPPRESSED
    assert ratio_trend_data(result, "Black", MHSDS).empty
    assert shown_yearly(result, MHSDS).empty


def test_yearly_ratios_as_shown_use_the_shown_counts():
    months = [str(d.date()) for d in pd.date_range("2019-04-01", "2020-06-01", freq="MS")]
    frame = rate_frame({"White": (10, 120_000), "Black": (3, 60_000)}, months)
    result = EquityResult(
        _rate_metric(),
        "ethnicity",
        pool_rates(frame, dimension="ethnicity"),
        yearly_rate_ratios(frame, reference="White", dimension="ethnicity"),
    )
    trend = ratio_trend_data(result, "Black", NHS_SECONDARY_CARE).set_index("fin_year")
    # 2019/20: 36 vs 120 events, shown 35 vs 120; 2020/21: 9 vs 30, shown 10 vs 30.
    expected, low, high = rate_ratio_ci(35, 60_000, 120, 120_000)
    assert trend.loc["2019/20", "rate_ratio"] == pytest.approx(expected)
    assert trend.loc["2019/20", "ratio_lower"] == pytest.approx(low)
    assert trend.loc["2019/20", "ratio_upper"] == pytest.approx(high)
    assert trend.loc["2020/21", "rate_ratio"] == pytest.approx((10 / 15_000) / (30 / 30_000))
    assert not {"events", "reference_events"} & set(trend.columns)
    yearly = shown_yearly(result, NHS_SECONDARY_CARE)
    assert set(yearly["events"]) <= {10.0, 30.0, 35.0, 120.0}


def _rate_metric():
    from metrics.definitions.models import MetricDef, RateDef

    return MetricDef(
        id="detention_rate",
        title="Detentions per 100,000 adults",
        domain="d",
        source="s",
        measure="rate",
        rate=RateDef(population="population"),
        unit="per 100,000",
        better="down",
        decimals=1,
    )
