"""`python -m metrics spc`: the text report, --json, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.cli import main

STABLE = [48, 52, 49, 51, 47, 53, 50, 48, 52, 49, 51, 50]


def write_csv(path: Path, rows: list[str], header: str = "month,lcn,referrals") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def series_csv(tmp_path: Path) -> Path:
    """Two LCNs, 24 months each; North ends with an astronomical high month."""
    rows = []
    for lcn in ("North", "South"):
        values = STABLE * 2
        if lcn == "North":
            values = [*values[:-1], 90]
        for i, value in enumerate(values):
            rows.append(f"{2020 + i // 12}-{i % 12 + 1:02d}-01,{lcn},{value}")
    rows[5] = "2020-06-01,North,"  # a missing month
    return write_csv(tmp_path / "referrals.csv", rows)


def run(argv, capsys):
    code = main(["spc", *argv])
    out, err = capsys.readouterr()
    return code, out, err


BASE = ["--date-col", "month", "--value-col", "referrals"]


def test_text_report(series_csv, capsys):
    code, out, err = run([str(series_csv), *BASE, "--facet-col", "lcn", "--target", "40"], capsys)
    assert code == 0
    assert err == ""
    assert "== North ==" in out and "== South ==" in out
    assert "Latest value: 90 on 2021-12-01 (improvement; Above the upper process limit)" in out
    assert "Special cause variation: improvement (higher is better) [improvement_high]" in out
    assert "[consistent_pass; target 40]" in out
    assert "1 missing value (2020-06-01) shown as a gap" in out
    assert "Special-cause points (1):" in out


def test_json_output_one_object_per_facet(series_csv, capsys):
    code, out, _ = run(
        [str(series_csv), *BASE, "--facet-col", "lcn", "--improvement", "decrease", "--json"],
        capsys,
    )
    assert code == 0
    records = json.loads(out)
    assert [r["facet"] for r in records] == ["North", "South"]
    north = records[0]
    assert north["variation_icon"] == "concern_high"
    assert north["assurance_type"] is None
    assert len(north["points"]) == 24
    point = north["points"][-1]
    assert {"date", "value", "mean", "lpl", "upl", "point_type", "special_cause_type"} <= set(point)
    assert point["special_cause_type"] == "Above UCL"
    assert point["point_type"] == "special_cause_concern"
    assert north["points"][5]["value"] is None  # NaN -> null


def test_options_reach_the_engine(series_csv, capsys):
    args = [str(series_csv), *BASE, "--facet-col", "lcn", "--json"]
    _, screened, _ = run(args, capsys)
    _, unscreened, _ = run([*args, "--no-screen"], capsys)
    _, fixed, _ = run([*args, "--fix-after", "12"], capsys)
    _, rebased, _ = run([*args, "--rebase", "2021-01-01"], capsys)
    north = [json.loads(text)[0] for text in (screened, unscreened, fixed, rebased)]
    assert north[1]["points"][0]["upl"] > north[0]["points"][0]["upl"]
    assert north[2]["summary"][0]["mean"] == pytest.approx(sum(STABLE[:5] + STABLE[6:]) / 11)
    assert [g["rebase_group"] for g in north[3]["summary"]] == [0, 1]


def test_unmatched_rebase_date_is_a_warning_not_an_error(series_csv, capsys):
    code, out, _ = run(
        [str(series_csv), *BASE, "--facet-col", "lcn", "--rebase", "2019-01-01"], capsys
    )
    assert code == 0
    assert "rebase date 2019-01-01 outside the data (2020-01-01 to 2021-12-01); ignored" in out


def test_json_warnings_go_to_stderr(series_csv, capsys):
    code, out, err = run([str(series_csv), *BASE, "--facet-col", "lcn", "--json"], capsys)
    assert code == 0
    json.loads(out)  # stdout stays pure JSON
    assert "warning: facet 'North': 1 missing value (2020-06-01)" in err


def test_series_without_facets(tmp_path, capsys):
    rows = [f"2020-{m:02d}-01,{v}" for m, v in zip(range(1, 13), STABLE, strict=True)]
    path = write_csv(tmp_path / "s.csv", rows, header="month,referrals")
    code, out, _ = run([str(path), *BASE, "--json"], capsys)
    records = json.loads(out)
    assert code == 0
    assert len(records) == 1
    assert records[0]["facet"] is None
    assert records[0]["summary"][0]["trial_limits"] is True


def _bad(capsys, argv) -> str:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_missing_file(tmp_path, capsys):
    message = _bad(capsys, [str(tmp_path / "nope.csv"), *BASE])
    assert message == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_unknown_column(series_csv, capsys):
    message = _bad(capsys, [str(series_csv), "--date-col", "month", "--value-col", "referals"])
    assert message == (
        f"error: {series_csv}: no column 'referals' (from --value-col); "
        "columns are: 'month', 'lcn', 'referrals'"
    )


def test_unknown_facet_column(series_csv, capsys):
    message = _bad(capsys, [str(series_csv), *BASE, "--facet-col", "team"])
    assert "no column 'team' (from --facet-col)" in message


def test_unparseable_date(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["2020-01-01,A,1", "Sept 2020?,A,2"])
    message = _bad(capsys, [str(path), *BASE])
    assert message == (
        f"error: {path} line 3: 'Sept 2020?' in column 'month' is not a date (use YYYY-MM-DD)"
    )


def test_missing_date(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["2020-01-01,A,1", ",A,2"])
    assert (
        _bad(capsys, [str(path), *BASE]) == f"error: {path} line 3: missing date in column 'month'"
    )


def test_duplicate_date_within_a_facet(tmp_path, capsys):
    rows = ["2020-01-01,North,1", "2020-01-01,South,2", "2020-02-01,North,3", "2020-02-01,North,4"]
    path = write_csv(tmp_path / "d.csv", rows)
    message = _bad(capsys, [str(path), *BASE, "--facet-col", "lcn"])
    assert message == (
        f"error: {path} line 5: date '2020-02-01' appears again in facet 'North' "
        "(first on line 4); give one value per date"
    )


def test_non_numeric_value(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["2020-01-01,A,1", "2020-02-01,A,twelve"])
    message = _bad(capsys, [str(path), *BASE])
    assert message == f"error: {path} line 3: 'twelve' in column 'referrals' is not a number"


def test_blank_na_and_thousands_are_read(tmp_path, capsys):
    rows = ["2020-01-01,A,1", "2020-02-01,A,NA", "2020-03-01,A,", '2020-04-01,A,"1,234"']
    path = write_csv(tmp_path / "d.csv", rows)
    code, out, _ = run([str(path), *BASE, "--json"], capsys)
    values = [p["value"] for p in json.loads(out)[0]["points"]]
    assert code == 0
    assert values == [1.0, None, None, 1234.0]


def test_day_first_dates(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["01/02/2020,A,1", "01/03/2020,A,2"])
    code, out, _ = run([str(path), *BASE, "--json"], capsys)
    assert code == 0
    assert [p["date"] for p in json.loads(out)[0]["points"]] == ["2020-02-01", "2020-03-01"]


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    assert _bad(capsys, [str(path), *BASE]) == f"error: {path}: the file is empty"


def test_header_only(tmp_path, capsys):
    path = write_csv(tmp_path / "h.csv", [])
    assert _bad(capsys, [str(path), *BASE]) == f"error: {path}: no data rows under the header"


def test_directory_is_not_a_file(tmp_path, capsys):
    assert _bad(capsys, [str(tmp_path), *BASE]) == f"error: {tmp_path}: not a file"


def test_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin.csv"
    path.write_bytes("month,referrals\n2020-01-01,1\n2020-02-01,\xe9\n".encode("latin-1"))
    assert "not UTF-8 text" in _bad(capsys, [str(path), *BASE])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fix-after", "5"], "error: --fix-after must be at least 12; got 5"),
        (["--fix-after", "x"], "error: --fix-after must be a whole number; got 'x'"),
        (["--target", "high"], "error: --target must be a number; got 'high'"),
        (["--rebase", "2020-13-45"], "error: --rebase '2020-13-45' is not a date (use YYYY-MM-DD)"),
        (["--run-length", "1"], "error: --run-length must be at least 2; got 1"),
    ],
)
def test_bad_option_values(series_csv, capsys, extra, message):
    assert _bad(capsys, [str(series_csv), *BASE, "--facet-col", "lcn", *extra]) == message


def test_unknown_improvement_is_rejected_by_argparse(series_csv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["spc", str(series_csv), *BASE, "--improvement", "up"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'up'" in capsys.readouterr().err
