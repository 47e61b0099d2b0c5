"""--frequency auto: yearly, quarterly and monthly spacing detected from the dates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.its import InterventionSpec, ITSSpec, fit_its
from metrics.its.design import detect_frequency

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ([f"{1970 + i}-01-01" for i in range(30)], "annual"),
        ([1989, 1990, 1991], "annual"),
        (["1989", "1990", "1992"], "annual"),
        (list(pd.date_range("2010-01", periods=20, freq="QS").strftime("%Y-%m-%d")), "quarterly"),
        (list(pd.date_range("2010-04", periods=20, freq="QS")), "quarterly"),
        (list(pd.date_range("2013-04", periods=30, freq="MS").strftime("%Y-%m")), "monthly"),
        (["2013-01", "2013-02", "2013-05"], "monthly"),  # a gap does not make it quarterly
        (["2013-01-01"], "monthly"),
    ],
)
def test_frequency_is_detected_from_the_spacing(dates, expected) -> None:
    assert detect_frequency(pd.Series(dates)) == expected


def write(path: Path, dates, values) -> Path:
    pd.DataFrame({"date": dates, "value": values}).to_csv(path, index=False)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metrics", "its", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_yearly_dates_written_as_full_dates_are_annual_without_being_told(tmp_path) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(30)
    values = 100 + 2 * t - 15 * (t >= 15) + rng.normal(0, 2, t.size)
    path = write(tmp_path / "yearly.csv", [f"{1970 + i}-01-01" for i in t], values)
    result = run(str(path), "--intervention", "1985-01-01", "--model", "ols", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["frequency"] == "annual"
    slope = next(e for e in payload["effects"] if e["term"] == "slope")
    assert slope["per"] == "year"
    level = next(e for e in payload["effects"] if e["term"] == "level")
    assert level["ci_low"] < -15 < level["ci_high"]
    assert payload["horizon_effects"][0]["months_after"] == 12  # one year
    # Told otherwise, the analyst gets what they asked for: 29 missing months a year.
    forced = run(str(path), "--intervention", "1985-01-01", "--frequency", "monthly", "--json")
    assert json.loads(forced.stdout)["frequency"] == "monthly"


def test_quarterly_data_get_quarter_terms_and_quarterly_horizons(tmp_path) -> None:
    rng = np.random.default_rng(2)
    n = 40
    quarters = pd.date_range("2010-01", periods=n, freq="QS")
    pattern = np.tile([2.0, 0.0, -1.0, -1.0], n // 4)
    values = 50 + 0.5 * np.arange(n) + 8 * (np.arange(n) >= 20) + pattern + rng.normal(0, 1, n)
    path = write(tmp_path / "quarterly.csv", quarters.strftime("%Y-%m-%d"), values)
    result = run(str(path), "--intervention", "2015-01", "--model", "ols", "--seasonality", "month")
    assert result.returncode == 0, result.stderr
    assert "quarterly" in result.stdout and "per quarter" in result.stdout
    frame = pd.read_csv(path)
    spec = ITSSpec(
        model="ols",
        interventions=(InterventionSpec("x", "2015-01", label="change"),),
        frequency="quarterly",
        seasonality="auto",
    )
    fitted = fit_its(frame, spec)
    assert fitted.spec.seasonality == "month" and fitted.spec.period == 4
    terms = set(fitted.coefficients["term"])
    assert {"quarter[2]", "quarter[3]", "quarter[4]"} <= terms
    level = fitted.effect(term="level")
    assert level.ci_low < 8 < level.ci_high
    horizon = fitted.horizon_effect()
    assert horizon.months_after == 12 and horizon.date == pd.Timestamp("2016-01-01")
    assert "4 quarters after the change" in fitted.sentence()
    assert fitted.verdict.fits
