"""Sources as analysts get them (issue 15, req. 5): title rows above the header
(header_row, skip_rows), column renames, and month-per-column sheets unpivoted into rows,
in CSV, Excel and Parquet. Every message still names the file's own line (and, for an
unpivoted cell, its column), and every mistake in sources.yaml is one message with file,
line and field. Hand cases, then a generated provider-level extract laid out as published
(title rows, one column per month) in tmp_path."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from metrics.definitions.issues import Issue
from metrics.files import FileProblem, month_of_header, read_table
from metrics.sql.month_checks import month_change_issues
from metrics.sql.warehouse import Warehouse, open_warehouse
from metrics.validation import load_config, validate_config
from tests.provider_extract import drop_provider, provider_extract

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"

SOURCE = """
  - id: ae
    title: A&E attendances by provider
    path: {path}
    grain: monthly
    date_column: month
    key: [month, provider_code]
{extra}    columns:
      month: {{type: date}}
      provider_code: {{type: string, required: true}}
      attendances: {{type: integer, min: 0}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the mini fixture; returns its config folder."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    return target / "config"


def add_source(config: Path, path: str, extra: str = "", columns: str = "") -> None:
    text = SOURCE.format(path=path, extra=extra)
    with (config / "sources.yaml").open("a", encoding="utf-8") as handle:
        handle.write(text + columns)


def load(config: Path) -> Warehouse:
    loaded = load_config(config)
    assert not [i for i in loaded.issues if i.is_error], [i.format_text() for i in loaded.issues]
    return open_warehouse([loaded.catalogue.sources["ae"]], loaded.catalogue.data_dir)


def errors(warehouse: Warehouse) -> list[Issue]:
    return [i for i in warehouse.issues if i.is_error]


def rows(warehouse: Warehouse) -> pd.DataFrame:
    assert "ae" in warehouse.loaded, [i.format_text() for i in warehouse.issues]
    return warehouse.run_select("SELECT * FROM src_ae ORDER BY month, provider_code").reset_index(
        drop=True
    )


TITLED = (
    "A&E attendances by provider\n"  # line 1: a title
    "Source: a generated extract, not NHS data,,\n"  # line 2: a note with commas
    "\n"  # line 3: blank
    "month,provider_code,attendances\n"  # line 4: the header
    "2024-01-01,R1,100\n"  # line 5
    "2024-01-01,R2,200\n"
    "\n"  # line 7: blank, skipped
    "2024-02-01,R1,110\n"  # line 8
    "2024-02-01,R2,-5\n"  # line 9: below the minimum
)


# --------------------------------------------------------------------------- header rows


@pytest.mark.parametrize("extra", ["    header_row: 4\n", "    skip_rows: 2\n"])
def test_title_rows_above_the_header_keep_the_files_line_numbers(project: Path, extra: str) -> None:
    (project.parent / "data" / "ae.csv").write_text(TITLED, encoding="utf-8")
    add_source(project, "ae.csv", extra)
    warehouse = load(project)
    (issue,) = errors(warehouse)
    assert issue.line == 9 and issue.file == "data/ae.csv"
    assert "'-5' is below the minimum 0" in issue.message and issue.message.endswith("(lines 9)")
    fixed = project.parent / "data" / "ae.csv"
    fixed.write_text(TITLED.replace(",-5", ",205"), encoding="utf-8")
    frame = rows(load(project))
    assert list(frame["attendances"]) == [100, 200, 110, 205]


def test_without_a_header_row_the_title_is_taken_for_the_header(project: Path) -> None:
    (project.parent / "data" / "ae.csv").write_text(TITLED, encoding="utf-8")
    add_source(project, "ae.csv")
    found = errors(load(project))
    assert found and all(i.file == "data/ae.csv" for i in found)
    assert any("column 'month' is missing" in i.message for i in found)


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("    header_row: 3\n", 3, "line 3 (header_row) is blank"),
        ("    header_row: 40\n", 9, "the file ends at line 9"),
        ("    skip_rows: 12\n", 9, "the file ends at line 9"),
    ],
)
def test_a_header_row_that_is_not_there_is_one_error(
    project: Path, extra: str, line: int, message: str
) -> None:
    (project.parent / "data" / "ae.csv").write_text(TITLED, encoding="utf-8")
    add_source(project, "ae.csv", extra)
    (issue,) = errors(load(project))
    assert message in issue.message and issue.line == line
    assert "header_row" in issue.hint


def titled_workbook(path: Path, sheet: str = "Provider") -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["Read me first"])
    data = book.create_sheet(sheet)
    data.append(["A&E attendances by provider, 2024"])  # row 1
    data.append(["Source: generated"])  # row 2
    data.append([])  # row 3
    data.append(["Month", "Provider Code", "Attendances", None])  # row 4: header
    data.append([dt.datetime(2024, 1, 1), "R1", 100, None])  # row 5
    data.append([dt.datetime(2024, 1, 1), "R2", 200.0, None])  # row 6
    data.append([dt.datetime(2024, 2, 1), "R1", 100.5, None])  # row 7: not whole
    data.append([45323, "R2", 210, None])  # row 8: 2024-02-01 as a serial day number
    book.save(path)


def test_an_excel_sheet_with_title_rows_and_renamed_columns(project: Path) -> None:
    titled_workbook(project.parent / "data" / "ae.xlsx")
    rename = (
        "    sheet: Provider\n    header_row: 4\n"
        '    rename: {Month: month, "Provider Code": provider_code, Attendances: attendances}\n'
    )
    add_source(project, "ae.xlsx", rename)
    (issue,) = errors(load(project))
    assert issue.line == 7 and issue.field == "attendances"
    assert issue.message == (
        "column 'attendances' (the file's 'Attendances'): '100.5' is not a whole number (lines 7)"
    )
    book = openpyxl.load_workbook(project.parent / "data" / "ae.xlsx")
    book["Provider"]["C7"] = 105
    book.save(project.parent / "data" / "ae.xlsx")
    frame = rows(load(project))
    assert list(frame["attendances"]) == [100, 200, 105, 210]
    assert [m.date() for m in frame["month"]] == [dt.date(2024, 1, 1)] * 2 + [
        dt.date(2024, 2, 1)
    ] * 2


def test_a_rename_of_a_column_the_file_lacks_is_one_error(project: Path) -> None:
    titled_workbook(project.parent / "data" / "ae.xlsx")
    rename = (
        "    sheet: Provider\n    header_row: 4\n"
        '    rename: {Month: month, "Provider code": provider_code, Attendances: attendances}\n'
    )
    add_source(project, "ae.xlsx", rename)
    (issue,) = errors(load(project))  # not a second one for 'provider_code' missing
    assert issue.message.startswith("rename: the file has no column 'Provider code'")
    assert issue.hint == "did you mean 'Provider Code'?" and issue.line == 4


def test_a_sheet_that_is_not_there(project: Path) -> None:
    titled_workbook(project.parent / "data" / "ae.xlsx")
    add_source(project, "ae.xlsx", "    sheet: Providers\n    header_row: 4\n")
    (issue,) = errors(load(project))
    assert "no sheet 'Providers'" in issue.message and "did you mean 'Provider'?" in issue.message


def test_parquet_columns_can_be_renamed(project: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "Month": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
            "Org Code": ["R1", "R1"],
            "Attendances": [100.0, 100.5],
        }
    )
    pq.write_table(table, project.parent / "data" / "ae.parquet")
    extra = '    rename: {Month: month, "Org Code": provider_code, Attendances: attendances}\n'
    add_source(project, "ae.parquet", extra)
    (issue,) = errors(load(project))
    assert "(the file's 'Attendances'): '100.5' is not a whole number (rows 2)" in issue.message


# --------------------------------------------------------------------------- unpivot

WIDE = (
    "Monthly attendances\n"  # line 1
    "Provider Code,Apr-16,May-16,Jun-16,Total\n"  # line 2: header
    "R1,100,110,120,330\n"  # line 3
    "R2,200,,220,420\n"  # line 4: a blank cell (missing, kept)
    "R3,300,x,320,620\n"  # line 5: 'x' under May-16
)
UNPIVOT = (
    "    header_row: 2\n"
    '    rename: {"Provider Code": provider_code}\n'
    "    unpivot: {id_columns: [provider_code], name_column: month, value_column: attendances,"
    " ignore_columns: [Total]}\n"
)


def test_unpivot_reports_a_bad_cell_with_its_line_and_column(project: Path) -> None:
    (project.parent / "data" / "ae.csv").write_text(WIDE, encoding="utf-8")
    add_source(project, "ae.csv", UNPIVOT)
    (issue,) = errors(load(project))
    assert issue.message == (
        "column 'attendances': 'x' is not a whole number (line 5 column 'May-16')"
    )
    assert issue.line == 5


def test_unpivot_turns_month_columns_into_rows(project: Path) -> None:
    (project.parent / "data" / "ae.csv").write_text(WIDE.replace(",x,", ",310,"), "utf-8")
    add_source(project, "ae.csv", UNPIVOT)
    frame = rows(load(project))
    assert len(frame) == 9  # three providers x three months; Total left out
    april = frame[frame["month"] == pd.Timestamp("2016-04-01")]
    assert list(april["attendances"]) == [100, 200, 300]
    may = frame[frame["month"] == pd.Timestamp("2016-05-01")].set_index("provider_code")
    assert pd.isna(may.loc["R2", "attendances"])  # the blank cell stays, as missing
    assert may.loc["R3", "attendances"] == 310


@pytest.mark.parametrize(
    ("extra", "message", "hint"),
    [
        (
            UNPIVOT.replace(", ignore_columns: [Total]", ""),
            "unpivot: column header(s) 'Total' (line 2) are not months",
            "unpivot.ignore_columns",
        ),
        (
            UNPIVOT.replace("[provider_code], name", "[provider], name"),
            "unpivot: the file has no column 'provider'",
            "did you mean 'provider_code'?",
        ),
    ],
)
def test_unpivot_refuses_what_it_cannot_read(
    project: Path, extra: str, message: str, hint: str
) -> None:
    (project.parent / "data" / "ae.csv").write_text(WIDE.replace(",x,", ",310,"), "utf-8")
    add_source(project, "ae.csv", extra)
    (issue,) = errors(load(project))
    assert issue.message.startswith(message) and issue.line == 2
    assert hint in issue.hint


def test_unpivot_refuses_two_columns_of_one_month(project: Path) -> None:
    wide = "Provider Code,2016-04,Apr-16\nR1,1,2\n"
    (project.parent / "data" / "ae.csv").write_text(wide, encoding="utf-8")
    add_source(project, "ae.csv", UNPIVOT.replace("header_row: 2", "header_row: 1"))
    (issue,) = errors(load(project))
    assert "columns '2016-04' and 'Apr-16' are both April 2016" in issue.message


def test_unpivot_reads_excel_date_headers(project: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Provider Code", dt.datetime(2016, 4, 1), dt.datetime(2016, 5, 1)])
    sheet.append(["R1", 10, 11])
    sheet.append(["R2", 20, 21])
    book.save(project.parent / "data" / "ae.xlsx")
    add_source(project, "ae.xlsx", UNPIVOT.replace("header_row: 2", "header_row: 1"))
    frame = rows(load(project))
    assert list(frame["attendances"]) == [10, 20, 11, 21]
    assert sorted({m.date() for m in frame["month"]}) == [dt.date(2016, 4, 1), dt.date(2016, 5, 1)]


# --------------------------------------------------------------------------- sources.yaml


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("    header_row: 4\n    skip_rows: 3\n", "skip_rows", "give header_row or skip_rows"),
        ("    header_row: 0\n", "header_row", "greater than or equal to 1"),
        (
            "    rename: {A: provider_code, B: provider_code}\n",
            "rename.B",
            "'A' and 'B' both become 'provider_code'",
        ),
        (
            "    unpivot: {id_columns: [provider_code], value_column: visits}\n",
            "unpivot.value_column",
            "unpivot.value_column 'visits' is not among its columns",
        ),
        (
            "    unpivot: {id_columns: [provider_code], name_column: provider_code, "
            "value_column: attendances}\n",
            "unpivot.name_column",
            "also listed as an id or ignored column",
        ),
        (
            "    unpivot: {id_columns: [x], name_column: attendances, value_column: month}\n",
            "unpivot.name_column",
            "must be of type date",
        ),
        ("    unpivot: {id_columns: [x]}\n", "unpivot.value_column", "'value_column' is required"),
    ],
)
def test_settings_the_loader_cannot_follow_are_one_error_each(
    project: Path, extra: str, field: str, message: str
) -> None:
    add_source(project, "ae.csv", extra)
    found = [i for i in load_config(project).issues if i.is_error]
    assert len(found) == 1, [i.format_text() for i in found]
    (issue,) = found
    assert message in issue.message, issue.format_text()
    assert issue.file == "config/sources.yaml" and issue.line > 30
    assert issue.field.endswith(field), issue.field


def test_header_rows_do_not_apply_to_parquet(project: Path) -> None:
    add_source(project, "ae.parquet", "    header_row: 2\n")
    (issue,) = [i for i in load_config(project).issues if i.is_error]
    assert "header_row applies to CSV and Excel files" in issue.message


# --------------------------------------------------------------------------- the reader


def test_the_reader_names_file_sheet_and_row(tmp_path: Path) -> None:
    path = tmp_path / "ae.xlsx"
    titled_workbook(path)
    table = read_table(path, sheet="Provider", header_row=4)
    assert list(table.frame.columns) == ["Month", "Provider Code", "Attendances"]
    assert list(table.lines) == [5, 6, 7, 8]
    assert table.where(2) == f"{path} sheet 'Provider' row 7"
    with pytest.raises(FileProblem) as problem:
        read_table(path, sheet="Provider", header_row=3)
    assert str(problem.value) == (
        f"{path} sheet 'Provider' row 3: the header row is blank; "
        "give the row the column names are on"
    )
    assert problem.value.line == 3 and problem.value.detail.startswith("the header row is blank")
    assert problem.value.header
    csv = tmp_path / "ae.csv"
    csv.write_text(TITLED + "2024-03-01,R1\n", encoding="utf-8")
    with pytest.raises(FileProblem, match=r"ae.csv line 10: 2 fields, fewer than the 3"):
        read_table(csv, skip_rows=2)
    table = read_table(csv.with_name("ok.csv") if False else _write(tmp_path, TITLED), skip_rows=3)
    assert table.header_line == 4 and list(table.lines) == [5, 6, 8, 9]


def _write(folder: Path, text: str) -> Path:
    path = folder / "titled.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "month"),
    [
        ("Apr-16", dt.date(2016, 4, 1)),
        ("April 2016", dt.date(2016, 4, 1)),
        ("Sept 2019", dt.date(2019, 9, 1)),
        ("2016-04", dt.date(2016, 4, 1)),
        ("2016-04-01", dt.date(2016, 4, 1)),
        ("2016-04-30", dt.date(2016, 4, 1)),
        ("04/2016", dt.date(2016, 4, 1)),
        ("01/04/2016", dt.date(2016, 4, 1)),
        ("2016 Apr", dt.date(2016, 4, 1)),
        ("Total", None),
        ("2016/17", None),
        ("2016-04-15", None),
        ("Q1 2016", None),
        ("2016-13", None),
    ],
)
def test_month_headers(header: str, month: dt.date | None) -> None:
    assert month_of_header(header) == month


# --------------------------------------------------------------------------- as published


def published_workbook(frame: pd.DataFrame, path: Path) -> None:
    """The extract as a published sheet: two title rows, a blank row, then one row per
    provider and one column per month ('Apr-16', ...), a Total column, and Excel's blank
    cells where a provider had no row that month."""
    wide = frame.pivot(index="provider_code", columns="month", values="attendances")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Provider"
    sheet.append(["A&E attendances by provider (generated, not NHS data)"])
    sheet.append(["Source: tests/provider_extract.py"])
    sheet.append([])
    sheet.append(["Org Code", *(f"{m:%b-%y}" for m in wide.columns), "Total"])
    for code, values in wide.iterrows():
        cells = [None if pd.isna(v) else int(v) for v in values]
        sheet.append([code, *cells, int(values.sum())])
    book.save(path)


PUBLISHED = (
    "    sheet: Provider\n"
    "    header_row: 4\n"
    '    rename: {"Org Code": provider_code}\n'
    "    unpivot: {id_columns: [provider_code], value_column: attendances,"
    " ignore_columns: [Total]}\n"
)


def test_a_published_month_per_column_sheet_loads_and_is_checked(project: Path) -> None:
    frame = provider_extract()
    dropped = drop_provider(frame, dt.date(2018, 3, 1))
    published_workbook(dropped.frame, project.parent / "data" / "ae.xlsx")
    add_source(project, "ae.xlsx", PUBLISHED)
    loaded = load_config(project)
    warehouse = open_warehouse([loaded.catalogue.sources["ae"]], loaded.catalogue.data_dir)
    assert not errors(warehouse), [i.format_text() for i in warehouse.issues]
    totals = warehouse.run_select(
        "SELECT month, sum(attendances) AS total, count(attendances) AS n FROM src_ae "
        "GROUP BY month ORDER BY month"
    )
    expected = dropped.frame.groupby("month")["attendances"].agg(["sum", "count"])
    assert list(totals["total"]) == list(expected["sum"])
    assert list(totals["n"]) == list(expected["count"])
    # The blank cell of the dropped provider is a gap in its key: flagged, as in the CSV.
    (issue,) = month_change_issues(loaded.catalogue, warehouse)
    assert "2018-03 looks incomplete" in issue.message
    assert dropped.provider_code in issue.message and "1.2%" in issue.message


def test_validate_runs_on_the_published_sheet(project: Path, edit: Callable) -> None:
    published_workbook(provider_extract().head(400), project.parent / "data" / "ae.xlsx")
    add_source(project, "ae.xlsx", PUBLISHED)
    report = validate_config(project)
    assert not [i for i in report.issues if i.is_error and "ae" in i.file]


# --------------------------------------------------------------------------- one mistake


def test_a_failed_rename_is_not_repeated_by_the_unpivot(project: Path) -> None:
    (project.parent / "data" / "ae.csv").write_text(WIDE.replace(",x,", ",310,"), "utf-8")
    add_source(project, "ae.csv", UNPIVOT.replace('"Provider Code"', '"Provider code"'))
    (issue,) = errors(load(project))  # not 'provider_code', 'month' or 'attendances' missing
    assert issue.message.startswith("rename: the file has no column 'Provider code'")
    assert issue.hint == "did you mean 'Provider Code'?" and issue.line == 2


def test_a_ragged_row_below_title_rows_does_not_hide_the_other_problems(project: Path) -> None:
    text = TITLED.replace("2024-01-01,R2,200\n", "2024-01-01,R2,200,9\n")
    (project.parent / "data" / "ae.csv").write_text(text, encoding="utf-8")
    add_source(project, "ae.csv", "    header_row: 4\n")
    found = errors(load(project))
    assert [i.line for i in found] == [6, 9], [i.format_text() for i in found]
    assert "more fields than the header (line 4)" in found[0].message


def test_a_header_row_inside_a_quoted_value(project: Path) -> None:
    text = 'Title,"a note\nover two lines"\nmonth,provider_code,attendances\n2024-01-01,R1,1\n'
    (project.parent / "data" / "ae.csv").write_text(text, encoding="utf-8")
    add_source(project, "ae.csv", "    header_row: 2\n")
    (issue,) = errors(load(project))
    assert issue.message.startswith("line 2 (header_row) is inside a value in quotes")
    assert "header_row" in issue.hint


# --------------------------------------------------------------------------- the commands


def monthly_workbook(path: Path, skip: int) -> None:
    """A titled sheet of 12 months with month `skip` (1-based) left out."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Referrals by month (generated)"])
    sheet.append([])
    sheet.append(["Month", "Referrals"])
    for month, value in enumerate([48, 52, 49, 51, 47, 53, 50, 48, 52, 49, 51, 50], start=1):
        if month != skip:
            sheet.append([dt.datetime(2020, month, 1), value])
    book.save(path)


def test_spc_reads_a_titled_sheet_and_reports_a_missing_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metrics.cli import main

    path = tmp_path / "referrals.xlsx"
    monthly_workbook(path, skip=6)
    argv = ["spc", str(path), "--date-col", "Month", "--value-col", "Referrals"]
    assert main([*argv, "--sheet", "Data", "--header-row", "3", "--json"]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {path}: no row for 1 month (2020-06)" in err
    (facet,) = json.loads(out)
    assert facet["n_points"] == 12  # the missing month is a point, charted as a gap
    assert "1 missing value (2020-06-01) shown as a gap" in " ".join(facet["warnings"])
    assert main([*argv, "--header-row", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path} sheet 'Data' row 2: the header row is blank; "
        "give the row the column names are on"
    )


def test_its_reads_a_titled_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metrics.cli import main

    path = tmp_path / "referrals.xlsx"
    monthly_workbook(path, skip=0)
    argv = ["its", str(path), "--date-col", "Month", "--value-col", "Referrals"]
    code = main([*argv, "--skip-rows", "1", "--intervention", "2020-07", "--model", "ols"])
    assert code == 0, capsys.readouterr().err
    assert "12 points fitted (6 before, 6 after)" in capsys.readouterr().out
