"""`python -m metrics its`: readable report, JSON, any CSV, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write_monthly(
    path: Path, *, sep: str = ",", n: int = 60, ratio: float = 0.6, series: tuple[str, ...] = ()
) -> Path:
    rng = np.random.default_rng(5)
    frames = []
    for name in series or ("",):
        t = np.arange(n)
        frame = pd.DataFrame(
            {
                "month": pd.date_range("2014-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                "referrals": rng.poisson(200 * np.where(t >= 30, ratio, 1.0)),
                "population": 100_000,
            }
        )
        if series:
            frame.insert(0, "area", name)
        frames.append(frame)
    pd.concat(frames).to_csv(path, sep=sep, index=False)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["its", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_readable_report_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_monthly(tmp_path / "referrals.csv")
    code, out, err = run_cli(
        capsys,
        str(path),
        "--date-col",
        "month",
        "--value-col",
        "referrals",
        "--intervention",
        "Hub scale-up=2016-07",
        "--model",
        "quasipoisson",
    )
    assert code == 0, err
    assert "Interrupted time series: referrals" in out
    assert "than expected 12 months after the Hub scale-up." in out


def test_json_has_the_documented_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_monthly(tmp_path / "referrals.csv")
    code, out, _ = run_cli(
        capsys,
        str(path),
        "--date-col",
        "month",
        "--value-col",
        "referrals",
        "--intervention",
        "2016-07",
        "--model",
        "quasipoisson",
        "--offset-col",
        "population",
        "--seasonality",
        "fourier:2",
        "--horizon",
        "6",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert isinstance(payload, dict)
    assert payload["series"] == "referrals" and payload["model"] == "quasipoisson"
    assert payload["n_pre"] == 30 and payload["n_post"] == 30
    level = payload["effects"][0]
    assert level["term"] == "level" and level["scale"] == "ratio"
    assert level["ci_low"] < 0.6 < level["ci_high"]
    assert payload["dispersion"] > 0
    assert payload["trend"]["scale"] == "ratio" and payload["trend"]["per"] == "year"
    assert payload["horizon_effects"][0]["months_after"] == 6
    assert {"durbin_watson", "ljung_box", "acf"} <= payload["diagnostics"].keys()
    assert isinstance(payload["warnings"], list) and payload["summary"].endswith(".")


def test_ols_json_has_null_dispersion_and_absolute_effects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_monthly(tmp_path / "referrals.csv")
    code, out, _ = run_cli(
        capsys,
        str(path),
        "--date-col",
        "month",
        "--value-col",
        "referrals",
        "--intervention",
        "2016-07",
        "--model",
        "ols",
        "--hac-lags",
        "2",
        "--json",
    )
    payload = json.loads(out)
    assert code == 0 and payload["dispersion"] is None
    assert payload["effects"][0]["scale"] == "absolute"
    assert payload["model_details"]["hac_lags"] == 2


def test_semicolon_file_with_year_only_dates_and_series_col(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for state in ("Alpha", "Beta"):
        for year in range(1970, 2001):
            rows.append(
                {
                    "State": state,
                    "Year": year,
                    "Packs": 120 - 1.5 * (year - 1970) - 15 * (year >= 1989) + rng.normal(0, 2),
                }
            )
    path = tmp_path / "packs.csv"
    pd.DataFrame(rows).to_csv(path, sep=";", index=False)
    code, out, _ = run_cli(
        capsys,
        str(path),
        "--date-col",
        "Year",
        "--value-col",
        "Packs",
        "--series-col",
        "State",
        "--intervention",
        "1989",
        "--model",
        "ols",
        "--hac-lags",
        "1",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert [item["series"] for item in payload] == ["Alpha", "Beta"]
    assert all(item["frequency"] == "annual" for item in payload)
    assert all(-20 < item["effects"][0]["estimate"] < -10 for item in payload)


def test_series_errors_become_objects_when_others_succeed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_monthly(tmp_path / "areas.csv", series=("North", "South"))
    frame = pd.read_csv(path)
    frame.loc[frame["area"] == "South", "referrals"] = 50  # constant: cannot be modelled
    frame.to_csv(path, index=False)
    code, out, err = run_cli(
        capsys,
        str(path),
        "--date-col",
        "month",
        "--value-col",
        "referrals",
        "--series-col",
        "area",
        "--intervention",
        "2016-07",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert "effects" in payload[0]
    assert payload[1]["series"] == "South" and "constant" in payload[1]["error"]
    assert err.strip() == (
        "its: series 'South': the series is constant (every value is 50): there is nothing to model"
    )


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        ("none", ["--intervention", "2014-02"], "only 1 data point before the first"),
        ("none", ["--intervention", "2030-01"], "outside the data"),
        ("constant", ["--intervention", "2016-07"], "constant"),
        ("missing", ["--intervention", "2016-07"], "all values are missing"),
        ("negative", ["--intervention", "2016-07", "--model", "poisson"], "negative values"),
        ("zeros_after", ["--intervention", "2016-07", "--model", "poisson"], "did not converge"),
        ("none", ["--intervention", "2016-07", "--value-col", "nope"], "column(s) not found"),
        ("none", ["--intervention", "2016-07", "--seasonality", "weekly"], "seasonality"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: str,
    args: list[str],
    message: str,
) -> None:
    path = write_monthly(tmp_path / "referrals.csv")
    frame = pd.read_csv(path)
    if change == "constant":
        frame["referrals"] = 10
    elif change == "missing":
        frame["referrals"] = np.nan
    elif change == "negative":
        frame.loc[3, "referrals"] = -2
    elif change == "zeros_after":
        frame.loc[30:, "referrals"] = 0
    frame.to_csv(path, index=False)
    base = [str(path), "--date-col", "month", "--value-col", "referrals"]
    code, out, err = run_cli(capsys, *base, *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("its: ") and message in lines[0]
    assert "Traceback" not in err


def test_missing_file_gives_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, str(tmp_path / "absent.csv"), "--intervention", "2016-01")
    assert code == 2 and err.strip() == f"its: file not found: {tmp_path / 'absent.csv'}"


def test_module_entry_point_runs_without_a_traceback(tmp_path: Path) -> None:
    path = write_monthly(tmp_path / "referrals.csv")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "its",
            str(path),
            "--date-col",
            "month",
            "--value-col",
            "referrals",
            "--intervention",
            "2016-07",
            "--json",
            "--no-placebo",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["model"] == "arima"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics",
            "its",
            str(path),
            "--date-col",
            "month",
            "--value-col",
            "referrals",
            "--intervention",
            "1999-01",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "outside the data" in bad.stderr
