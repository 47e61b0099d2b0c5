"""Is a month complete (metrics.sql.month_checks): hand cases for the rule, and a generated
provider-level extract (tests/provider_extract.py) where a provider dropped from one month
(1.2% of the England total) is flagged, with the month and the size of the drop, and the
extract's normal churn, seasonality and noise are not. The sample data are checked in
tests/test_data_quality.py."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.analyses.data_quality import completeness, completeness_gaps
from metrics.board import open_board
from metrics.sql.month_checks import judge, key_gaps, month_change_issues
from metrics.sql.warehouse import open_warehouse
from metrics.validation import load_config, validate_config
from tests.provider_extract import drop_provider, old_rule_flags, provider_extract, write_csv

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
DROPPED_MONTH = dt.date(2018, 3, 1)

AE_SOURCE = """
  - id: ae
    title: A&E attendances by provider
    path: ae.csv
    grain: monthly
    date_column: month
    key: [month, provider_code]
    columns:
      month: {type: date}
      provider_code: {type: string, required: true}
      provider_name: {type: string}
      attendances: {type: integer, min: 0}
      breaches: {type: integer, min: 0}
"""
AE_METRIC = """
  - {id: ae_attendances, title: A&E attendances, domain: access, source: ae, measure: sum, value: attendances, unit: attendances, better: neutral}
"""  # noqa: E501


def rule(values: list[float], *, judged: list[bool] | None = None, counts: bool = False):
    array = np.asarray(values, dtype="float64")
    mask = np.ones(array.size, bool) if judged is None else np.asarray(judged)
    return judge(array, mask, tolerance=0.05, multiple=8, counts=counts)


# --------------------------------------------------------------------------- the rule by hand


def test_a_month_below_every_reference_is_flagged_with_its_change() -> None:
    values = [100.0] * 24
    values[15] = 90.0
    result = rule(values)
    assert list(np.flatnonzero(result.direction)) == [15]
    assert result.direction[15] == -1
    assert result.change[15] == pytest.approx(-0.10)
    assert result.usual[15] == 100
    assert (result.before[15], result.after[15], result.year[15]) == (100, 100, 100)


def test_within_the_tolerance_is_not_flagged() -> None:
    values = [100.0] * 24
    values[15] = 96.0  # 4% below: inside 5%
    assert not rule(values).direction.any()


def test_trends_steps_and_a_repeated_season_are_not_flagged() -> None:
    trend = [100.0 * 1.01**i for i in range(36)]
    step = [100.0] * 18 + [80.0] * 18  # a provider closes for good: a new level
    # A February 10% short every year: the first has no year before it to explain it.
    season = [90.0 if i % 12 == 1 else 100.0 for i in range(36)]
    assert not rule(trend).direction.any()
    assert not rule(step).direction.any()
    flagged = np.flatnonzero(rule(season).direction)
    assert list(flagged) == [1]  # 2016-02 only: later Februaries repeat the one before
    assert rule([90.0 if i % 12 == 1 else 100.0 for i in range(36)]).year[13] == 90


def test_a_series_that_always_swings_is_judged_by_its_own_swings() -> None:
    rng = np.random.default_rng(7)
    noisy = list(100 * np.exp(rng.normal(0, 0.2, 60)))  # typical change about 15%
    assert not rule(noisy).direction.any()
    noisy[30] = noisy[30] / 20  # a month at a twentieth is still far out
    assert np.flatnonzero(rule(noisy).direction).tolist() == [30]


def test_small_counts_allow_for_chance() -> None:
    counts = [7.0] * 16
    counts[10] = 3.0  # 2 (sqrt 7 - sqrt 3) = 1.8 standard deviations: chance
    assert not rule(counts, counts=True).direction.any()
    assert rule(counts, counts=False).direction[10] == -1  # were they not counts


def test_provisional_missing_and_first_months_are_not_judged() -> None:
    values = [100.0] * 12 + [50.0]
    judged = [True] * 12 + [False]  # the last month is provisional
    assert not rule(values, judged=judged).direction.any()
    assert rule([50.0, 100, 100, 100]).direction[0] == 0  # nothing before the first month
    gappy = rule([100.0, math.nan, 100.0, 100.0])
    assert not gappy.direction.any()
    for short in ([], [5.0], [5.0, 1.0]):  # too short to compare: no error, no flag
        assert not rule(short).direction.any()


def test_key_gaps_tell_a_hole_from_churn() -> None:
    present = np.array(
        [
            [1, 1, 1, 1, 1, 1, 1, 1],  # always there
            [1, 1, 1, 1, 0, 1, 1, 1],  # missing from month 4: a hole
            [1, 1, 1, 1, 1, 0, 0, 0],  # closes at month 5: churn
            [0, 0, 0, 1, 1, 1, 1, 1],  # opens at month 3: churn
            [1, 1, 1, 0, 0, 1, 1, 1],  # missing from months 3 and 4
            [0, 0, 0, 0, 1, 1, 1, 0],  # in each of the 3 months before the last, not in it
        ],
        dtype=bool,
    )
    totals = np.where(present, 100.0, np.nan)
    totals[1] = np.where(present[1], 50.0, np.nan)
    gaps = key_gaps(np.arange(8), [(f"k{i}",) for i in range(6)], present, totals)
    holes = {(int(k), int(m)) for k, m in zip(*np.nonzero(gaps.missing), strict=True)}
    assert holes == {(1, 4), (4, 3), (4, 4), (5, 7)}
    # Month 4: k1 (50) and k4 (100) held 150 of the mean total of the months around.
    assert gaps.held[4] == pytest.approx(150)
    assert gaps.share[4] == pytest.approx(150 / np.mean([350, 350, 350, 450, 450, 350]))


# --------------------------------------------------------------------------- a provider extract


def ae_config(tmp_path: Path, frame: pd.DataFrame, checks: str = "") -> Path:
    """The mini fixture with the extract as source 'ae' (and a metric on it)."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    config = target / "config"
    with (config / "sources.yaml").open("a", encoding="utf-8") as handle:
        handle.write(AE_SOURCE + checks)
    with (config / "metrics" / "all.yaml").open("a", encoding="utf-8") as handle:
        handle.write(AE_METRIC)
    write_csv(frame, target / "data" / "ae.csv")
    return config


def ae_warnings(config: Path) -> list:
    catalogue = load_config(config).catalogue
    warehouse = open_warehouse([catalogue.sources["ae"]], catalogue.data_dir)
    assert "ae" in warehouse.loaded, [i.format_text() for i in warehouse.issues]
    return month_change_issues(catalogue, warehouse)


@pytest.fixture(scope="module")
def extract() -> pd.DataFrame:
    return provider_extract()


def test_the_extract_is_realistic(extract: pd.DataFrame) -> None:
    assert 11_500 < len(extract) < 12_800
    by_month = extract.groupby("month")
    rows = by_month.size()
    assert rows.nunique() > 5  # providers open, close and merge
    totals = by_month["attendances"].sum()
    changes = totals.pct_change().abs().dropna()
    assert changes.median() > 0.02  # month-to-month variation well above the 1.2% drop
    # The rule the Data quality page used before flagged churn in many months.
    assert old_rule_flags(extract) > 13


def test_normal_variation_in_the_extract_is_not_flagged(tmp_path: Path, extract) -> None:
    assert ae_warnings(ae_config(tmp_path, extract)) == []


@pytest.mark.parametrize("seed", [2017, 2018, 2019])
def test_other_seeds_flag_the_dropped_provider_and_nothing_else(tmp_path: Path, seed: int) -> None:
    frame = provider_extract(seed)
    assert ae_warnings(ae_config(tmp_path / "whole", frame)) == []
    dropped = drop_provider(frame, DROPPED_MONTH)
    (issue,) = ae_warnings(ae_config(tmp_path / "dropped", dropped.frame))
    assert "2018-03 looks incomplete" in issue.message and dropped.provider_code in issue.message


def test_a_provider_dropped_from_one_month_is_flagged_with_its_size(
    tmp_path: Path, extract: pd.DataFrame
) -> None:
    dropped = drop_provider(extract, DROPPED_MONTH)
    assert dropped.share == pytest.approx(0.012, abs=0.001)
    config = ae_config(tmp_path, dropped.frame)
    report = validate_config(config)
    ours = [i for i in report.issues if i.file.endswith("ae.csv")]
    assert len(ours) == 1, [i.format_text() for i in ours]
    issue = ours[0]
    assert issue.level == "warning" and issue.stage == "data"
    assert issue.file == "data/ae.csv"
    assert "source 'ae': 2018-03 looks incomplete" in issue.message
    assert f"provider_code {dropped.provider_code}" in issue.message
    assert "1.2% of the attendances total around then" in issue.message
    assert "breaches total" in issue.message or "of the breaches total" in issue.message
    assert "month_change_tolerance" in issue.hint and "sources.yaml" in issue.hint
    assert not report.errors, [i.format_text() for i in report.errors]


def test_the_data_quality_page_flags_the_same_month(tmp_path: Path, extract) -> None:
    dropped = drop_provider(extract, DROPPED_MONTH)
    board = open_board(ae_config(tmp_path, dropped.frame))
    frame = completeness(board)
    ae = frame[frame["source_id"] == "ae"]
    flagged = ae[ae["status"] != "complete"]
    assert set(flagged["month"].dt.date) == {DROPPED_MONTH}
    assert set(flagged["measure"]) == {"attendances", "breaches"}
    assert (flagged["status"] == "incomplete").all()
    row = flagged.set_index("measure").loc["attendances"]
    assert row["change"] == pytest.approx(-dropped.share, abs=0.002)
    gaps = completeness_gaps(frame)
    ae_gaps = gaps[gaps["Source"] == "A&E attendances by provider"]
    assert set(ae_gaps["Month"]) == {"Mar 2018"}
    assert all(dropped.provider_code in why for why in ae_gaps["Why"])
    # ...and the same finding is among the validation issues the page lists.
    assert any("2018-03 looks incomplete" in i.message for i in board.issues)


def test_the_tolerance_is_set_per_source(tmp_path: Path, extract) -> None:
    dropped = drop_provider(extract, DROPPED_MONTH)
    config = ae_config(tmp_path / "a", dropped.frame, "    checks: {key_gap_tolerance: 0.1}\n")
    assert ae_warnings(config) == []  # the gap (1.2% of attendances) is within 10%
    config = ae_config(tmp_path / "b", dropped.frame, "    checks: {month_change: false}\n")
    assert ae_warnings(config) == []


def test_without_a_key_a_big_fall_in_rows_or_totals_is_still_flagged(
    tmp_path: Path, extract
) -> None:
    # A fifth of the rows of one month lost (a file part missing), and no key declared.
    month = extract[extract["month"] == DROPPED_MONTH]
    lost = extract.drop(month.sample(frac=0.2, random_state=1).index)
    config = ae_config(tmp_path, lost)
    sources = config / "sources.yaml"
    sources.write_text(
        sources.read_text().replace("    key: [month, provider_code]\n", ""), encoding="utf-8"
    )
    (issue,) = ae_warnings(config)
    assert "2018-03 looks incomplete" in issue.message
    # The rows fall by a fifth (said once for both measures); the totals, which swing
    # by a few percent every month, by less than eight times their usual swing.
    assert issue.message.count("rows, 20% below every reference") == 1


def test_a_month_counted_twice_is_higher_than_the_months_around_it(tmp_path: Path, extract) -> None:
    month = extract[extract["month"] == DROPPED_MONTH]
    doubled = pd.concat([extract, month.assign(provider_code=month["provider_code"] + "X")])
    (issue,) = ae_warnings(ae_config(tmp_path, doubled))
    assert "2018-03 is higher than the months around it" in issue.message
    assert "above every reference" in issue.message


@pytest.mark.parametrize(
    ("measures", "message", "hint"),
    [
        ("[provider_name]", "'provider_name' is a string column", ""),
        ("[attendance]", "'attendance' is not among its columns", "did you mean 'attendances'?"),
    ],
)
def test_checks_measures_name_numeric_columns(
    tmp_path: Path, extract: pd.DataFrame, measures: str, message: str, hint: str
) -> None:
    config = ae_config(tmp_path, extract.head(50), f"    checks: {{measures: {measures}}}\n")
    (issue,) = [i for i in load_config(config).issues if "checks.measures" in i.message]
    assert issue.is_error and issue.file == "config/sources.yaml" and issue.line > 1
    assert message in issue.message and issue.field == "sources[ae].checks.measures.0"
    assert issue.hint.startswith(hint)
