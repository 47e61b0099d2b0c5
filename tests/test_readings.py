"""One true number: each figure a reader sees is one Reading, the same on every page and in
every export, naming its period, its status and its scope."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metrics.analyses.reading import read_metric, readings
from metrics.board import open_board
from metrics.sql.series import SeriesQuery
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
PERIOD = SeriesQuery(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


def test_the_headline_is_the_latest_final_month_not_a_provisional_one(board):
    reading = read_metric(board, "days_to_first_contact_median", PERIOD)
    # Feb and Mar 2025 are provisional in every sample source.
    assert reading.month == dt.date(2025, 1, 1) and reading.period == "Jan 2025"
    assert not reading.provisional and reading.status == "final"
    frame = board.series("days_to_first_contact_median", SeriesQuery()).frame
    final_value = frame.loc[frame["month"] == "2025-01-01", "value"].iloc[0]
    assert reading.value == final_value
    # The provisional months are still shown, marked, with how complete they are.
    march = next(p for p in reading.provisional_points if p.month == dt.date(2025, 3, 1))
    row = frame.loc[frame["month"] == "2025-03-01"].iloc[0]
    assert march.completeness == pytest.approx(row["n"] / row["rows"])
    assert march.status == f"provisional: {row['n'] / row['rows']:.0%} recorded"
    assert march.completeness < 0.8


def test_a_period_of_only_provisional_months_has_no_headline_and_says_why(board):
    only_provisional = SeriesQuery(start=dt.date(2025, 2, 1), end=dt.date(2025, 3, 1))
    reading = read_metric(board, "secondary_referrals", only_provisional)
    assert not reading.available
    assert "no final month" in reading.reason and "Feb 2025" in reading.reason
    assert len(reading.provisional_points) == 2


def test_headline_latest_labels_a_provisional_month(tmp_path):
    import shutil

    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    sources = config / "sources.yaml"
    sources.write_text(
        sources.read_text().replace("data_dir: ../sample_data", f"data_dir: {ROOT / 'sample_data'}")
    )
    layout = config / "board.yaml"
    layout.write_text(layout.read_text() + "provisional: {headline: latest}\n")
    board = open_board(config)
    reading = read_metric(board, "days_to_first_contact_median", PERIOD)
    assert reading.month == dt.date(2025, 3, 1) and reading.provisional
    assert re.fullmatch(r"provisional: \d+% recorded", reading.status_label)
    assert "provisional" in reading.headline


def test_a_measure_not_recorded_by_neighbourhood_says_it_is_borough_wide(board):
    north = SeriesQuery(start=PERIOD.start, end=PERIOD.end, lcn="North")
    reading = read_metric(board, "acute_beds_occupied", north)
    assert reading.scope == "borough" and "borough-wide" in reading.headline
    area = read_metric(board, "acute_beds_occupied", PERIOD)
    assert reading.value == area.value  # the borough's figure, labelled as such
    recorded = read_metric(board, "secondary_referrals", north)
    assert recorded.scope == "neighbourhood"
    assert recorded.value != read_metric(board, "secondary_referrals", PERIOD).value


def test_the_change_on_a_year_earlier_works_under_a_neighbourhood_filter(board):
    north = SeriesQuery(start=PERIOD.start, end=PERIOD.end, lcn="North")
    for audience in ("board", "public"):
        reading = read_metric(board, "secondary_referrals", north, audience)
        assert reading.change_display and reading.change_period == "on Jan 2024"


def test_public_readings_are_controlled_and_their_change_is_of_shown_figures(board):
    public = read_metric(board, "secondary_referrals", PERIOD, "public")
    board_view = read_metric(board, "secondary_referrals", PERIOD, "board")
    assert public.value % 5 == 0  # nhs_secondary_care: rounded to 5
    assert public.value == pytest.approx(5 * round(board_view.value / 5), abs=5)
    frame = board.series("secondary_referrals", SeriesQuery()).frame
    year_ago = frame.loc[frame["month"] == "2024-01-01", "value"].iloc[0]
    from metrics.analyses.disclosure import round_to_base

    assert public.change == round_to_base(board_view.value) - round_to_base(year_ago)


def test_every_reading_names_its_period_and_status(board):
    for reading in readings(board, PERIOD):
        if reading.available:
            assert re.fullmatch(r"[A-Z][a-z]{2} \d{4}", reading.period)
            assert reading.status in {"final", "provisional"}
            assert reading.period in reading.headline
        else:
            assert reading.reason


def test_readings_cli_prints_what_the_site_shows(board):
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "readings",
            "--from",
            "2019-04",
            "--to",
            "2025-03",
            "--audience",
            "public",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    items = {item["metric"]: item for item in json.loads(output)}
    expected = {
        "metric",
        "title",
        "value",
        "display",
        "period",
        "status",
        "completeness",
        "change",
        "change_display",
        "variation",
        "assurance",
        "suppressed",
    }
    assert expected <= set(items["secondary_referrals"])
    for reading in readings(board, PERIOD, "public"):
        item = items[reading.metric.id]
        assert item["display"] == (reading.display if reading.available else "")
        assert item["period"] == reading.period
        assert item["variation"] == reading.variation_icon


def test_readings_cli_refuses_an_unknown_neighbourhood():
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "readings", "--lcn", "Nowhere"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2 and "unknown neighbourhood 'Nowhere'" in done.stderr


def test_the_overview_shows_each_reading_with_its_month_and_status():
    app = run_page("pages/overview.py", **{"from": "2019-04", "to": "2025-03"})
    board = open_board(ROOT / "config")
    tables = pd.concat([frame.value for frame in app.dataframe], ignore_index=True)
    by_title = {row["Metric"]: row for _, row in tables.iterrows()}
    # An analyst (development default) sees the board's own readings.
    for reading in readings(board, PERIOD, "board"):
        row = by_title[reading.metric.title]
        if reading.available:
            assert row["Latest"] == reading.display
            assert row["Month"] == reading.period


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"lcn": "Nowhere"}, "neighbourhood \u201cNowhere\u201d is not one of"),
        ({"from": "2024-06", "to": "2020-01"}, "starts (Jun 2024) after it ends (Jan 2020)"),
        ({"from": "1999-01"}, "start month \u201c1999-01\u201d is not a month of the data"),
    ],
)
def test_an_invalid_filter_in_a_link_gets_a_calm_notice_of_what_was_reset(params, said):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_support import APP

    app = AppTest.from_file(str(APP), default_timeout=90)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()  # the page the link lands on
    assert not app.exception
    notices = [i.value for i in app.info]
    assert any(said in n.replace("\u2060", "") for n in notices), notices
