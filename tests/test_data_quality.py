"""Data-quality engine: the planted missing months are found (and nothing else), absence
is not missingness, record months far below the usual are flagged, the month checks flag
nothing on the sample but the planted gap (validate and the page agree), revisions show
first reports below final, and every source appears in the refresh table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from metrics.analyses.data_quality import (
    DataQualityError,
    completeness,
    completeness_by_source,
    completeness_gaps,
    completeness_scope,
    data_quality_report,
    definition_breaks,
    issue_counts,
    last_refresh,
    revision_sentence,
    revision_summary,
    revision_vintages,
    revisions_by_lag,
    typical_revision,
)
from metrics.board import open_board
from metrics.definitions.issues import Issue

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def truth():
    return json.loads((ROOT / "sample_data" / "truth.json").read_text())


@pytest.fixture(scope="module")
def detail(board) -> pd.DataFrame:
    return completeness(board)


def flagged(frame: pd.DataFrame, source_id: str, status: str | None = None) -> set:
    rows = frame[(frame["source_id"] == source_id) & (frame["status"] != "complete")]
    if status:
        rows = rows[rows["status"] == status]
    return {(m, d.date()) for m, d in zip(rows["measure"], rows["month"], strict=True)}


def test_planted_missing_months_are_detected_as_missing(detail, truth):
    planted = set()
    for entry in truth["missing_months"]:
        if entry["table"] != "activity_monthly":
            continue
        for measure in entry["measures"]:
            for month in entry["months"]:
                planted.add((measure, dt.date.fromisoformat(month)))
    assert planted, "truth.json lists missing activity months"
    assert flagged(detail, "activity", "missing") == planted
    # ...and no other activity month is flagged at all.
    assert flagged(detail, "activity") == planted


def test_missing_sanctuary_activity_in_costs_is_flagged(detail, truth):
    entry = next(e for e in truth["missing_months"] if e["table"] == "costs_monthly")
    months = {dt.date.fromisoformat(m) for m in entry["months"]}
    costs = flagged(detail, "costs")
    assert costs == {("activity_value", m) for m in months}
    assert all(
        detail[(detail["source_id"] == "costs") & (detail["measure"] == "actual_gbp")]["status"]
        == "complete"
    )


def test_month_checks_flag_only_the_planted_gap_on_the_sample(board, detail, truth):
    """The month-change rule (metrics.sql.month_checks) on twelve years of synthetic data with
    NB noise, seasonality, COVID and planted effects: the one planted gap it can see (the
    Evening Sanctuary's blank activity in the costs return) and nothing else, both as
    validate's warnings and as the page's incomplete months."""
    entry = next(e for e in truth["missing_months"] if e["table"] == "costs_monthly")
    months = sorted(dt.date.fromisoformat(m) for m in entry["months"])
    warnings = [
        i
        for i in board.issues
        if "looks incomplete" in i.message or "higher than the months around it" in i.message
    ]
    assert [(i.file, i.field) for i in warnings] == [
        ("sample_data/costs_monthly.csv", "activity_value")
    ] * len(months)
    for issue, month in zip(warnings, months, strict=True):
        assert f"source 'costs': {month:%Y-%m} looks incomplete" in issue.message
        assert "evening_sanctuary" in issue.message
        assert "1.3% of the activity_value" in issue.message
    incomplete = detail[detail["status"] == "incomplete"]
    assert set(zip(incomplete["source_id"], incomplete["month"].dt.date, strict=True)) == {
        ("costs", m) for m in months
    }


def test_absence_before_a_service_existed_is_not_missing(detail):
    visits = detail[(detail["source_id"] == "activity") & (detail["measure"] == "sanctuary_visits")]
    assert visits["month"].min() == pd.Timestamp("2019-05-01")
    proms = detail[detail["source_id"] == "proms"]
    assert proms["month"].min() == pd.Timestamp("2019-04-01")


def test_record_sources_have_no_gaps_in_the_sample(detail):
    for source_id in ("referrals", "admissions", "detentions", "proms"):
        rows = detail[detail["source_id"] == source_id]
        assert not rows.empty
        assert (rows["status"] == "complete").all(), source_id


def test_provisional_months_follow_sources_yaml(board, detail):
    latest = detail[detail["provisional"]]
    assert set(latest["month"].dt.date) == {dt.date(2025, 2, 1), dt.date(2025, 3, 1)}
    for source_id in completeness_scope(board).checked:
        n = board.catalogue.sources[source_id].provisional_months
        months = sorted(detail.loc[detail["source_id"] == source_id, "month"].unique())
        flags = detail[detail["source_id"] == source_id].groupby("month")["provisional"].any()
        assert [bool(flags[m]) for m in months[-n - 1 :]] == [False] + [True] * n


def test_scope_skips_sources_not_dated_by_month_or_unused(board):
    scope = completeness_scope(board)
    assert "population" in scope.skipped and "revisions" in scope.skipped
    assert {"referrals", "activity", "costs", "ipsa"} <= set(scope.checked)


def test_period_limits_rows_but_not_the_usual_month(board, detail):
    period = completeness(board, dt.date(2022, 1, 1), dt.date(2022, 12, 1))
    assert period["month"].min() == pd.Timestamp("2022-01-01")
    assert period["month"].max() == pd.Timestamp("2022-12-01")
    whole = detail[(detail["month"] >= "2022-01-01") & (detail["month"] <= "2022-12-01")]
    merged = period.merge(whole, on=["source_id", "measure", "month"], suffixes=("", "_all"))
    assert len(merged) == len(period)
    assert (merged["status"] == merged["status_all"]).all()


def test_rollup_by_source_takes_the_worst_month(detail):
    rolled = completeness_by_source(detail).set_index(["source_id", "month"])
    assert rolled.loc[("activity", pd.Timestamp("2021-04-01")), "status"] == "missing"
    assert rolled.loc[("activity", pd.Timestamp("2021-05-01")), "status"] == "complete"
    assert rolled.loc[("costs", pd.Timestamp("2022-11-01")), "status"] == "incomplete"
    gaps = completeness_gaps(detail)
    assert len(gaps) == int((detail["status"] != "complete").sum())


def _write_events(config: Path, months_and_counts: list[tuple[str, int]]) -> None:
    lines = ["id,date,kind,lcn,flag,days"]
    n = 0
    for month, count in months_and_counts:
        for _ in range(count):
            n += 1
            lines.append(f"e{n},{month}-10,a,North,true,1")
    (config.parent / "data" / "events.csv").write_text("\n".join(lines) + "\n")


def test_record_months_empty_or_far_below_usual_are_flagged(mini):
    months = [f"2023-{m:02d}" for m in range(1, 13)] + ["2024-01", "2024-02", "2024-04"]
    counts = [20] * 12 + [7, 19, 21]  # 2024-01 far below; 2024-03 has no rows at all
    _write_events(mini, list(zip(months, counts, strict=True)))
    board = open_board(mini)
    frame = completeness(board)
    events = frame[frame["source_id"] == "events"].set_index("month")
    assert events.loc[pd.Timestamp("2024-01-01"), "status"] == "incomplete"
    assert events.loc[pd.Timestamp("2024-01-01"), "expected"] == 20
    assert events.loc[pd.Timestamp("2024-03-01"), "status"] == "missing"
    assert events.loc[pd.Timestamp("2024-03-01"), "n_rows"] == 0
    assert events.loc[pd.Timestamp("2024-02-01"), "status"] == "complete"
    # A blank value in a monthly table is a missing month for that measure only.
    monthly = frame[frame["source_id"] == "monthly"].set_index(["measure", "month"])
    assert monthly.loc[("x", pd.Timestamp("2024-02-01")), "status"] == "missing"
    assert monthly.loc[("y", pd.Timestamp("2024-02-01")), "status"] == "complete"


def test_revisions_first_reported_below_final(board):
    vintages = revision_vintages(board)
    final = vintages[vintages["final"]]
    assert len(final) > 800
    assert (final["first_value"] <= final["latest_value"]).all()
    # 92-97% of final (whole-number counts round the edges by a fraction of a point).
    assert final["first_pct_of_latest"].between(91.5, 97.5).all()
    assert final["first_pct_of_latest"].median() == pytest.approx(94.5, abs=1)
    assert set(final["measure_key"]) == {
        "referrals:front_door",
        "referrals:secondary",
        "referrals:crisis",
        "activity:bed_days_acute",
        "activity:tt_finished",
        "costs:actual_gbp",
    }


def test_revisions_close_on_final_within_months(board):
    by_lag = revisions_by_lag(board)
    pooled = by_lag[by_lag["measure_key"] == "all measures"].set_index("months_after")
    assert pooled.loc[1, "median_pct_of_final"] < pooled.loc[2, "median_pct_of_final"] < 100
    assert pooled["median_pct_of_final"].iloc[-1] == pytest.approx(100)
    assert pooled.loc[1, "share_final_pct"] == 0


def test_revision_summary_and_sentence(board):
    summary = revision_summary(board)
    assert summary.provisional_months == (dt.date(2025, 2, 1), dt.date(2025, 3, 1))
    # First at ~94.5% of final is a rise of about 1 / 0.945 - 1 = 5.8%.
    assert 3 < summary.typical_rise_pct < 9
    sentence = revision_sentence(summary)
    assert sentence.startswith(
        "Figures for the latest 2 months are provisional and typically rise by "
        f"{summary.typical_rise_pct:.1f}% when final."
    )
    cost = typical_revision(board, "costs:actual_gbp")
    assert cost is not None and 3 < cost < 9
    assert typical_revision(board, "no:such_key") is None


def test_revisions_unavailable_is_a_readable_error(mini):
    board = open_board(mini)
    with pytest.raises(DataQualityError):
        revision_summary(board)
    report = data_quality_report(board)
    assert report.revisions is None and report.revisions_problem


def test_definition_breaks_list_the_catalogue_breaks(board):
    breaks = definition_breaks(board)
    expected = [
        i.id for i in board.catalogue.interventions.values() if i.kind == "definition_break"
    ]
    assert sorted(breaks["id"]) == sorted(expected)
    row = breaks.set_index("id").loc["mhsds_2021_change"]
    assert row["month"] == dt.date(2021, 4, 1)
    assert "activity" in row["sources"].split(", ")
    assert "proms" in row["sources"].split(", ")  # proms start 2019-04, before the break
    assert "settled_accommodation" in row["metrics"].split(", ")
    assert row["metrics_count"] == len(row["metrics"].split(", "))


def test_last_refresh_lists_every_source(board):
    refresh = last_refresh(board).set_index("source_id")
    assert set(refresh.index) == set(board.catalogue.sources)
    for source_id, loaded in board.warehouse.loaded.items():
        row = refresh.loc[source_id]
        assert row["status"] == "loaded"
        assert row["rows"] == loaded.rows
        assert row["file_modified"] == loaded.file_modified
    assert refresh.loc["referrals", "first_period"] == "Apr 2013"
    assert refresh.loc["referrals", "last_period"] == "Mar 2025"
    assert refresh.loc["referrals", "provisional"] == "Feb 2025, Mar 2025"
    assert refresh.loc["population", "first_period"] == "2013"  # dated by year
    assert refresh.loc["population", "provisional"] == ""


def test_last_refresh_shows_a_source_that_failed(mini, edit):
    edit(mini.parent / "data" / "monthly.csv", "2024-03-01,x,12", "2024-03-01,x,-12")
    board = open_board(mini)
    refresh = last_refresh(board).set_index("source_id")
    assert refresh.loc["monthly", "status"] == "not loaded"
    assert "could not be loaded" in refresh.loc["monthly", "problem"]
    assert refresh.loc["events", "status"] == "loaded"


def test_issue_counts_by_level_and_stage(board):
    counts = issue_counts(board.issues)
    assert counts["issues"].sum() == len(board.issues)
    made_up = [
        Issue("warning", "data", "a.csv", "w"),
        Issue("error", "schema", "b.yaml", "e1"),
        Issue("error", "schema", "b.yaml", "e2"),
    ]
    table = issue_counts(made_up)
    assert table.iloc[0].to_dict() == {"level": "error", "stage": "schema", "issues": 2}
    assert table.iloc[1].to_dict() == {"level": "warning", "stage": "data", "issues": 1}
    assert issue_counts([]).empty


def test_report_bundles_every_view(board):
    report = data_quality_report(board, dt.date(2019, 4, 1), dt.date(2025, 3, 1))
    assert report.completeness["month"].min() == pd.Timestamp("2019-04-01")
    assert report.revisions is not None
    assert len(report.issue_lines) == len(board.issues)
    assert not report.gaps.empty


def test_the_completeness_heatmap_fits_its_width_and_keeps_its_rows_height():
    """Streamlit's default autosize ("fit") put the axis, legend and title inside the
    chart's height, leaving each row a few pixels: the heatmap fits its width only."""
    from metrics.charts.data_quality_chart import completeness_heatmap

    months = pd.date_range("2023-01-01", periods=6, freq="MS")
    frame = pd.DataFrame(
        {
            "source_id": ["a"] * 6 + ["b"] * 6,
            "source_title": ["Source A"] * 6 + ["Source B"] * 6,
            "measure": ["records"] * 12,
            "month": list(months) * 2,
            "share": [1.0] * 12,
            "status": ["complete"] * 11 + ["missing"],
            "provisional": [False] * 12,
            "reason": [""] * 11 + ["no values"],
        }
    )
    spec = completeness_heatmap(frame, by_source=True).to_dict()
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    assert spec["height"] == 60 and spec["width"] == "container"  # at least 60 px; 22 a row
