"""Read it out: a metric's series from the command line, and every table as CSV or Excel."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

from metrics.exports.tables import (
    combined_csv_bytes,
    csv_bytes,
    excel_bytes,
    for_file,
    monthly_values_table,
    workbook_bytes,
)
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_show_prints_the_series_with_its_parts_and_status():
    done = run_cli("show", "days_to_first_contact_median", "--from", "2025-01")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "value" in lines[1] and "rows" in lines[1] and "status" in lines[1]
    assert any(line.startswith("2025-03") and line.endswith("provisional") for line in lines)
    assert any(line.startswith("2025-01") and line.endswith("final") for line in lines)


def test_show_csv_by_breakdown_matches_the_engine():
    from metrics.board import open_board
    from metrics.sql.series import SeriesQuery

    done = run_cli("show", "secondary_referrals", "--breakdown", "lcn", "--csv")
    assert done.returncode == 0, done.stderr
    printed = pd.read_csv(io.StringIO(done.stdout))
    board = open_board(ROOT / "config")
    frame = board.series("secondary_referrals", SeriesQuery(breakdown="lcn")).frame
    assert len(printed) == len(frame)
    assert printed["value"].sum() == frame["value"].sum()
    assert set(printed["group"]) == set(frame["group"])


def test_show_writes_excel(tmp_path):
    target = tmp_path / "series.xlsx"
    done = run_cli("show", "detention_rate", "--excel", str(target))
    assert done.returncode == 0, done.stderr
    sheet = pd.read_excel(target)
    assert {"month", "value", "numerator", "denominator", "status"} <= set(sheet.columns)


def test_show_names_an_unknown_metric_and_breakdown():
    done = run_cli("show", "secondry_referrals")
    assert done.returncode == 2 and "did you mean 'secondary_referrals'" in done.stderr
    done = run_cli("show", "secondary_referrals", "--breakdown", "colour")
    assert done.returncode == 2 and "breakdowns: lcn" in done.stderr


def test_files_leave_out_what_only_a_screen_shows():
    frame = pd.DataFrame(
        {
            "Metric": ["A"],
            "Variation": ["data:image/svg+xml;base64,AAAA"],
            "Last 24 months": [[1.0, 2.5]],
        }
    )
    shown = for_file(frame)
    assert list(shown.columns) == ["Metric", "Last 24 months"]
    assert shown["Last 24 months"].iloc[0] == "1, 2.5"
    assert csv_bytes(frame).startswith("\ufeff".encode())
    workbook = pd.read_excel(io.BytesIO(excel_bytes(frame, sheet="A/B: c")))
    assert list(workbook.columns) == ["Metric", "Last 24 months"]


def test_monthly_values_table_reads_like_the_page():
    shown = pd.DataFrame(
        {
            "month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
            "value": [5.0, float("nan")],
            "numerator": [5.0, float("nan")],
            "denominator": [float("nan"), float("nan")],
            "n": [5, 0],
            "display": ["5", "*"],
            "suppressed": [False, True],
        }
    )
    table = monthly_values_table(shown, (pd.Timestamp("2025-02-01").date(),))
    assert list(table.columns) == ["Month", "Value", "Status", "Numerator"]
    assert table["Month"].tolist() == ["Jan 2025", "Feb 2025"]
    assert table["Value"].tolist() == ["5", "*"]
    assert table["Status"].tolist() == ["final", "provisional"]


def test_tables_on_the_site_have_csv_and_excel_downloads():
    app = run_page("pages/money.py")
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels.count("Download CSV") >= 3 and labels.count("Download Excel") >= 3


def test_the_overview_downloads_every_domain_in_one_pair():
    """One CSV and one workbook of every domain's table, not a pair under each table."""
    app = run_page("pages/overview.py")
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels.count("Download CSV") == 1 and labels.count("Download Excel") == 1
    assert any("sheet for each domain" in c.value for c in app.caption)


def test_a_workbook_has_a_sheet_per_table_and_the_csv_names_each_rows_table():
    first = pd.DataFrame({"Metric": ["Waits"], "Latest": ["12 days"]})
    second = pd.DataFrame({"Metric": ["Detentions", "Beds"], "Latest": ["*", "40"]})
    tables = {"Access: waits/flow": first, "Crisis": second, "crisis": second}
    book = pd.read_excel(io.BytesIO(workbook_bytes(tables)), sheet_name=None)
    assert list(book) == ["Access  waits flow", "Crisis", "crisis (2)"]
    assert book["Crisis"]["Latest"].astype(str).tolist() == ["*", "40"]
    combined = pd.read_csv(io.BytesIO(combined_csv_bytes(tables, "Domain")), encoding="utf-8-sig")
    assert list(combined.columns) == ["Domain", "Metric", "Latest"]
    assert combined["Domain"].tolist() == [
        "Access: waits/flow",
        "Crisis",
        "Crisis",
        "crisis",
        "crisis",
    ]


def test_no_downloaded_cell_runs_as_a_formula_in_a_spreadsheet():
    """A title or group name from someone's data that a spreadsheet would run (formula
    injection) is led by an apostrophe in the CSV and is text in the workbook; figures with
    a sign and words ("-4.9 points", "+65") are left as they are."""
    import openpyxl

    hostile = ['=HYPERLINK("http://example.org")', "@SUM(A1)", "-2+3+cmd|' /C calc'!A0", "\t=1"]
    fine = ["-4.9 points", "+65", "-2.0", "+12.5%", "Normal", "-"]
    frame = pd.DataFrame({"Group": hostile + fine, "=Heading": range(len(hostile + fine))})
    shown = pd.read_csv(io.BytesIO(csv_bytes(frame)), encoding="utf-8-sig", dtype=str)
    assert list(shown.columns) == ["Group", "'=Heading"]
    assert shown["Group"].tolist() == ["'" + v for v in hostile] + fine
    book = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"Sheet": frame})))
    cells = [row[0] for row in book["Sheet"].iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells), [c.data_type for c in cells]
    assert [c.value for c in cells][: len(hostile)] == ["'" + v for v in hostile]
