"""The synthetic sample data: byte-for-byte regeneration, structure, and the planted effects.

ALL DATA UNDER sample_data/ ARE SYNTHETIC. These tests read the committed files and check
them against the specification and against truth.json, so a change to the generator that
silently moves an effect, a category or a missing month fails here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
GENERATOR_PATH = SAMPLE / "generate.py"

FIRST_MONTH, LAST_MONTH = pd.Timestamp("2013-04-01"), pd.Timestamp("2025-03-01")
AS_OF = pd.Timestamp("2025-03-31")
PROVISIONAL_MONTHS = {"2025-02-01", "2025-03-01"}
LCNS = {"North", "South East", "South West"}
AGE_BANDS = {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
ETHNICITIES = {"Asian", "Black", "Mixed", "White", "Other", "Not stated"}
GENDERS = {"Female", "Male", "Other/not stated"}
PROVIDERS = {"SLAM", "LBL_ASC", "CERTITUDE", "THAMES_REACH", "PRIVATE_SPOT"}
SOURCES = {"GP", "Self", "A&E", "Police", "Social care", "VCS", "Other"}
TEAMS = {"Hub/SPA", "Short Term Support", "Focused Support"}
SERVICE_PATHWAY = {
    "Hub/SPA": "front_door",
    "Secondary assessment": "secondary",
    "Home Treatment": "crisis",
    "Crisis Outreach": "crisis",
    "Liaison (A&E)": "crisis",
}
REFERRAL_COLUMNS = [
    "referral_id", "referral_date", "pathway", "service", "lcn", "age_band", "ethnicity",
    "gender", "source", "accepted", "days_to_first_contact", "days_to_second_contact",
]  # fmt: skip
COST_COLUMNS = [
    "month", "fin_year", "fin_month", "commissioner", "funding_stream", "provider_id",
    "provider_name", "provider_type", "service_line_id", "service_line", "pod", "cost_type",
    "budget_gbp", "actual_gbp", "forecast_outturn_gbp", "activity_value", "activity_unit",
    "is_risk_share", "data_status", "extract_date",
]  # fmt: skip
# measure -> the one grain it is stored at (the non-blank dimension columns)
ACTIVITY_GRAIN = {
    "open_referrals": ("lcn", "team"),
    "tt_finished": ("ethnicity",),
    "tt_recovered": ("ethnicity",),
    "bed_days_acute": ("ethnicity", "provider"),
    "oap_bed_days": ("provider",),
    "settled_accom_num": ("lcn", "ethnicity"),
    "settled_accom_den": ("lcn", "ethnicity"),
    "employed_num": ("lcn", "ethnicity"),
    "employed_den": ("lcn", "ethnicity"),
    "ips_job_starts": ("ethnicity",),
    "sanctuary_visits": ("provider",),
    "sanctuary_avoided_ae": ("provider",),
    "phc_num": ("lcn",),
    "phc_den": ("lcn",),
    "black_bed_days": (),
    "all_bed_days": (),
}
DIMENSIONS = ("lcn", "ethnicity", "age_band", "provider", "team")


def read_text_csv(name: str) -> pd.DataFrame:
    """A committed CSV with every value as text and blanks kept as ''."""
    return pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False)


def load_generator() -> ModuleType:
    """Import sample_data/generate.py (not a package) as a module."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", GENERATOR_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def months_between(start: str, end: str) -> pd.DatetimeIndex:
    """First-of-month dates from `start` to `end` inclusive."""
    return pd.date_range(start, end, freq="MS")


def month_position(month: pd.Timestamp) -> int:
    """Months since April 2013."""
    return (month.year - 2013) * 12 + month.month - 4


def population_growth(months: pd.DatetimeIndex) -> np.ndarray:
    """The planted population growth factor (truth.json: 1.01 per year, July 2013 = 1)."""
    return 1.01 ** ((np.array([month_position(m) for m in months]) - 3) / 12)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def referrals() -> pd.DataFrame:
    frame = read_text_csv("referrals.csv")
    frame["date"] = pd.to_datetime(frame["referral_date"], format="%Y-%m-%d")
    frame["month"] = frame["date"].dt.to_period("M").dt.to_timestamp()
    for column in ("days_to_first_contact", "days_to_second_contact"):
        frame[column + "_n"] = pd.to_numeric(frame[column].replace("", np.nan))
    return frame


@pytest.fixture(scope="module")
def activity() -> pd.DataFrame:
    return read_text_csv("activity_monthly.csv")


@pytest.fixture(scope="module")
def costs() -> pd.DataFrame:
    return read_text_csv("costs_monthly.csv")


@pytest.fixture(scope="module")
def revisions() -> pd.DataFrame:
    return read_text_csv("revisions.csv")


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return pq.read_table(SAMPLE / "population.parquet").to_pandas()


def monthly_counts(frame: pd.DataFrame, months: pd.DatetimeIndex) -> np.ndarray:
    """Rows per month of a frame with a `month` column, zero-filled over `months`."""
    return frame.groupby("month").size().reindex(months, fill_value=0).to_numpy(dtype=float)


def activity_total(activity: pd.DataFrame, measure: str) -> pd.Series:
    """Monthly total of one activity measure (NaN where the month is missing)."""
    rows = activity[activity["measure"] == measure]
    values = pd.to_numeric(rows["value"].replace("", np.nan))
    return values.groupby(rows["month"]).sum(min_count=1)


# ---------------------------------------------------------------------------------------------
# 1. Reproducibility
# ---------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_regenerating_gives_byte_identical_files(tmp_path: Path, generator: ModuleType) -> None:
    # A fresh interpreter with a different hash seed: output must not depend on either.
    env = dict(os.environ, PYTHONHASHSEED="271828")
    result = subprocess.run(
        [sys.executable, str(GENERATOR_PATH), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(generator.OUTPUT_FILES)
    for name in generator.OUTPUT_FILES:
        assert (SAMPLE / name).exists(), f"{name} is not committed"
        assert sha256(tmp_path / name) == sha256(SAMPLE / name), f"{name} differs on regeneration"


# ---------------------------------------------------------------------------------------------
# 2. Structure
# ---------------------------------------------------------------------------------------------


def test_referrals_columns_and_categories(referrals: pd.DataFrame) -> None:
    assert list(referrals.columns[: len(REFERRAL_COLUMNS)]) == REFERRAL_COLUMNS
    assert set(referrals["lcn"]) == LCNS
    assert set(referrals["age_band"]) == AGE_BANDS
    assert set(referrals["ethnicity"]) == ETHNICITIES
    assert set(referrals["gender"]) == GENDERS
    assert set(referrals["source"]) == SOURCES
    assert set(referrals["service"]) == set(SERVICE_PATHWAY)
    assert (referrals["service"].map(SERVICE_PATHWAY) == referrals["pathway"]).all()
    liaison = referrals["service"] == "Liaison (A&E)"
    assert (referrals.loc[liaison, "source"] == "A&E").all()
    secondary = referrals["pathway"] == "secondary"
    assert referrals.loc[secondary, "source"].value_counts(normalize=True)["GP"] > 0.7
    assert set(referrals.loc[secondary, "accepted"]) == {"true", "false"}
    assert (referrals.loc[~secondary, "accepted"] == "").all()


def test_referral_ids_dates_and_waits(referrals: pd.DataFrame) -> None:
    ids = referrals["referral_id"]
    assert ids.str.fullmatch(r"R\d{7}").all()
    assert ids.is_unique
    assert (ids == sorted(ids)).all()
    assert referrals["date"].is_monotonic_increasing  # sorted by date, then id
    assert referrals["date"].min() >= FIRST_MONTH
    assert referrals["date"].max() <= AS_OF
    first, second = referrals["days_to_first_contact_n"], referrals["days_to_second_contact_n"]
    assert (first.dropna() >= 0).all() and (first.dropna() % 1 == 0).all()
    has_second = second.notna()
    assert (second[has_second] >= first[has_second]).all()
    accepted_secondary = (referrals["pathway"] == "secondary") & (referrals["accepted"] == "true")
    assert not (has_second & ~accepted_secondary).any()
    # A contact is never dated after the 31 March 2025 extract.
    contact = referrals["date"] + pd.to_timedelta(first, unit="D")
    assert (contact[first.notna()] <= AS_OF).all()
    assert first[referrals["pathway"] == "front_door"].isna().mean() > 0.03  # some never seen


def test_admissions_structure() -> None:
    admissions = read_text_csv("admissions.csv")
    assert list(admissions.columns) == [
        "admission_id", "admission_date", "discharge_date", "lcn", "ethnicity", "age_band",
        "gender", "legal_status", "provider", "followed_up_72h",
    ]  # fmt: skip
    assert admissions["admission_id"].is_unique
    assert set(admissions["legal_status"]) == {"Informal", "Detained"}
    assert set(admissions["provider"]) == {"SLAM", "PRIVATE_SPOT"}
    assert set(admissions["ethnicity"]) == ETHNICITIES
    admitted = pd.to_datetime(admissions["admission_date"])
    assert admitted.min() >= FIRST_MONTH and admitted.max() <= AS_OF
    assert admitted.is_monotonic_increasing
    still_in = admissions["discharge_date"] == ""
    discharged = pd.to_datetime(admissions.loc[~still_in, "discharge_date"])
    assert (discharged >= admitted[~still_in]).all() and (discharged <= AS_OF).all()
    assert 20 < still_in.sum() < 200
    assert (admissions.loc[still_in, "followed_up_72h"] == "").all()
    assert set(admissions.loc[~still_in, "followed_up_72h"]) == {"true", "false"}
    per_month = admitted.dt.to_period("M").value_counts()
    assert 60 < per_month.mean() < 90
    followed = (admissions.loc[~still_in, "followed_up_72h"] == "true").mean()
    assert 0.75 <= followed <= 0.92


def test_detentions_and_proms_structure() -> None:
    detentions = read_text_csv("detentions.csv")
    assert list(detentions.columns) == [
        "detention_id", "detention_date", "lcn", "ethnicity", "age_band", "gender", "section",
    ]  # fmt: skip
    assert set(detentions["section"]) == {"S2", "S3", "S136", "Other"}
    assert set(detentions["ethnicity"]) == ETHNICITIES
    dates = pd.to_datetime(detentions["detention_date"])
    assert dates.min() >= FIRST_MONTH and dates.max() <= AS_OF
    assert 35 < len(detentions) / 144 < 50

    proms = read_text_csv("proms.csv")
    assert list(proms.columns) == [
        "episode_id", "closed_date", "team", "provider", "lcn", "ethnicity", "measure",
        "baseline_score", "review_score", "paired", "reliable_improvement",
    ]  # fmt: skip
    assert pd.to_datetime(proms["closed_date"]).min() >= pd.Timestamp("2019-04-01")
    assert set(proms["team"]) == TEAMS
    assert set(proms["measure"]) == {"DIALOG", "ReQoL-10", "SWEMWBS"}
    paired = proms["paired"] == "true"
    assert ((proms["review_score"] != "") == paired).all()
    assert ((proms["reliable_improvement"] != "") == paired).all()
    baseline = pd.to_numeric(proms["baseline_score"])
    review = pd.to_numeric(proms["review_score"].replace("", np.nan))
    limits = {"DIALOG": (1, 7, 1.0), "ReQoL-10": (0, 40, 5.0), "SWEMWBS": (7, 35, 3.0)}
    for measure, (low, high, reliable_change) in limits.items():
        rows = proms["measure"] == measure
        assert baseline[rows].between(low, high).all()
        assert review[rows & paired].between(low, high).all()
        change = (review - baseline)[rows & paired]
        improved = proms.loc[rows & paired, "reliable_improvement"] == "true"
        # Scores are printed to 2 dp; allow for that rounding at the threshold.
        assert (improved == (change >= reliable_change - 0.011)).all()


def test_activity_grain_values_and_status(activity: pd.DataFrame) -> None:
    assert list(activity.columns) == [
        "month", "measure", "lcn", "ethnicity", "age_band", "provider", "team", "value",
        "data_status",
    ]  # fmt: skip
    assert set(activity["measure"]) == set(ACTIVITY_GRAIN)
    for measure, grain in ACTIVITY_GRAIN.items():
        rows = activity[activity["measure"] == measure]
        filled = rows[list(DIMENSIONS)] != ""
        assert (filled[list(grain)]).all().all(), measure
        assert not filled[[d for d in DIMENSIONS if d not in grain]].any().any(), measure
        assert not rows.duplicated(["month", *DIMENSIONS]).any(), measure
    assert set(activity["lcn"]) - {""} == LCNS
    assert set(activity["ethnicity"]) - {""} == ETHNICITIES
    assert set(activity["team"]) - {""} == TEAMS
    assert set(activity["provider"]) - {""} <= PROVIDERS
    values = pd.to_numeric(activity["value"].replace("", np.nan))
    assert (values.dropna() >= 0).all() and (values.dropna() % 1 == 0).all()
    months = pd.to_datetime(activity["month"])
    assert months.min() == FIRST_MONTH and months.max() == LAST_MONTH
    provisional = activity["data_status"] == "provisional"
    assert set(activity["data_status"]) == {"final", "provisional"}
    assert (activity.loc[provisional, "month"].isin(PROVISIONAL_MONTHS)).all()
    assert provisional[activity["month"].isin(PROVISIONAL_MONTHS)].all()


def test_missing_months_are_blank_not_zero(activity: pd.DataFrame, truth: dict) -> None:
    blank = activity["value"] == ""
    expected_blank = pd.Series(False, index=activity.index)
    for gap in truth["missing_months"]:
        if gap["table"] != "activity_monthly":
            continue
        in_gap = activity["measure"].isin(gap["measures"]) & activity["month"].isin(gap["months"])
        assert in_gap.any(), gap
        assert blank[in_gap].all(), gap  # every cell of a missing month is blank, never 0
        expected_blank |= in_gap
    assert (blank == expected_blank).all()  # nothing else is blank
    assert set(activity.loc[blank & (activity["measure"] == "employed_num"), "month"]) == {
        "2021-04-01"
    }
    sanctuary = activity[activity["measure"] == "sanctuary_visits"]
    assert sanctuary["month"].min() == "2019-05-01"  # no rows before the service opened


def test_small_counts_present_in_breakdown_cells(activity: pd.DataFrame) -> None:
    values = pd.to_numeric(activity["value"].replace("", np.nan))
    small = values.between(1, 7)
    for measure in ("bed_days_acute", "employed_num", "ips_job_starts", "tt_recovered"):
        assert small[activity["measure"] == measure].sum() >= 5, measure
    assert (values[activity["measure"] == "ips_job_starts"] == 0).any()  # true zeros exist


def test_numerators_never_exceed_denominators(activity: pd.DataFrame) -> None:
    keys = ["month", "lcn", "ethnicity"]
    for numerator, denominator in (
        ("settled_accom_num", "settled_accom_den"),
        ("employed_num", "employed_den"),
        ("phc_num", "phc_den"),
        ("tt_recovered", "tt_finished"),
        ("sanctuary_avoided_ae", "sanctuary_visits"),
        ("black_bed_days", "all_bed_days"),
    ):
        num = activity[activity["measure"] == numerator].set_index(keys)["value"]
        den = activity[activity["measure"] == denominator].set_index(keys)["value"]
        both = pd.concat([num, den], axis=1, keys=["n", "d"]).replace("", np.nan).dropna()
        assert len(both) > 0
        assert (both["n"].astype(int) <= both["d"].astype(int)).all(), numerator


def test_derived_bed_day_measures_agree(activity: pd.DataFrame) -> None:
    cells = activity[activity["measure"] == "bed_days_acute"].copy()
    cells["v"] = cells["value"].astype(int)
    private = cells[cells["provider"] == "PRIVATE_SPOT"].groupby("month")["v"].sum()
    black = cells[cells["ethnicity"] == "Black"].groupby("month")["v"].sum()
    pd.testing.assert_series_equal(
        private, activity_total(activity, "oap_bed_days").astype(int), check_names=False
    )
    pd.testing.assert_series_equal(
        black, activity_total(activity, "black_bed_days").astype(int), check_names=False
    )
    pd.testing.assert_series_equal(
        cells.groupby("month")["v"].sum(),
        activity_total(activity, "all_bed_days").astype(int),
        check_names=False,
    )


def test_population_parquet(population: pd.DataFrame) -> None:
    schema = pq.read_schema(SAMPLE / "population.parquet")
    assert schema.metadata is None  # no pandas metadata
    assert schema.names == ["year", "lcn", "ethnicity", "age_band", "gender", "population"]
    assert str(schema.field("year").type) == "int32"
    assert str(schema.field("population").type) == "int64"
    assert sorted(population["year"].unique()) == list(range(2013, 2026))
    assert set(population["ethnicity"]) == ETHNICITIES - {"Not stated"}
    assert set(population["lcn"]) == LCNS and set(population["gender"]) == GENDERS
    totals = population.groupby("year")["population"].sum()
    assert abs(totals[2013] - 265_000) < 2_650
    assert totals[2025] / totals[2013] == pytest.approx(1.01**12, rel=0.002)
    shares = population[population["year"] == 2013].groupby("ethnicity")["population"].sum()
    shares = shares / shares.sum()
    assert shares["White"] == pytest.approx(0.55, abs=0.01)
    assert shares["Black"] == pytest.approx(0.24, abs=0.01)


def test_costs_structure(costs: pd.DataFrame) -> None:
    assert list(costs.columns) == COST_COLUMNS
    months = pd.to_datetime(costs["month"])
    assert months.min() == pd.Timestamp("2014-04-01") and months.max() == LAST_MONTH
    start_year = months.dt.year - (months.dt.month < 4)
    labels = start_year.astype(str) + "/" + ((start_year + 1) % 100).map("{:02d}".format)
    assert (costs["fin_year"] == labels).all()
    assert (costs["fin_month"].astype(int) == (months.dt.month - 4) % 12 + 1).all()
    for column in ("budget_gbp", "actual_gbp", "forecast_outturn_gbp"):
        assert costs[column].str.fullmatch(r"\d+\.\d{2}").all(), column
    assert set(costs["provider_id"]) == PROVIDERS
    assert costs.groupby("provider_id")["provider_name"].nunique().eq(1).all()
    assert set(costs["is_risk_share"]) == {"true", "false"}
    assert set(costs["commissioner"]) == {
        "NHS Lambeth CCG",
        "NHS South East London ICB (Lambeth)",
        "Lambeth Council",
    }
    provisional = costs["data_status"] == "provisional"
    assert costs.loc[provisional, "month"].isin(PROVISIONAL_MONTHS).all()
    assert provisional[costs["month"].isin(PROVISIONAL_MONTHS)].all()
    assert not costs.duplicated(["month", "provider_id", "service_line_id", "cost_type"]).any()
    yearly_budget = costs.groupby("fin_year")["budget_gbp"].apply(lambda v: v.astype(float).sum())
    assert 50e6 < yearly_budget["2018/19"] < 70e6  # pool of about GBP 60m a year
    ipsa_budget = costs[costs["service_line_id"] == "ipsa"].groupby("fin_year")["budget_gbp"]
    assert ipsa_budget.apply(lambda v: v.astype(float).sum()).round(0).eq(12_000_000).all()


def test_ipsa_workbook_is_reproducible_and_well_formed() -> None:
    path = SAMPLE / "ipsa_monthly.xlsx"
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 4, 15, 0, 0, 0)}
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["IPSA"]
    assert workbook.properties.modified == workbook.properties.created
    rows = list(workbook["IPSA"].iter_rows(values_only=True))
    assert rows[0] == (
        "month", "cohort_size", "living_independently", "residential_placements", "data_status",
    )  # fmt: skip
    months = [pd.Timestamp(r[0]) for r in rows[1:]]
    assert months == list(months_between("2014-04-01", "2025-03-01"))
    statuses = [r[4] for r in rows[1:]]
    assert statuses[-2:] == ["provisional", "provisional"] and set(statuses[:-2]) == {"final"}
    living = {pd.Timestamp(r[0]): r[2] for r in rows[1:]}
    assert living[pd.Timestamp("2015-04-01")] == 0


def test_revisions_rise_to_the_final_value(revisions: pd.DataFrame) -> None:
    assert list(revisions.columns) == [
        "measure_key",
        "month",
        "extract_date",
        "value",
        "data_status",
    ]
    revisions = revisions.assign(v=revisions["value"].astype(float))
    for (key, month), group in revisions.groupby(["measure_key", "month"]):
        assert group["extract_date"].is_monotonic_increasing
        assert group["v"].is_monotonic_increasing, (key, month)
        assert 2 <= len(group) <= 4 or month in PROVISIONAL_MONTHS
        statuses = list(group["data_status"])
        if month in PROVISIONAL_MONTHS:
            assert set(statuses) == {"provisional"}
        else:
            assert statuses[-1] == "final" and set(statuses[:-1]) == {"provisional"}
            if group["v"].iloc[-1] >= 100:
                first_share = group["v"].iloc[0] / group["v"].iloc[-1]
                assert 0.915 <= first_share <= 0.975, (key, month, first_share)
    assert set(revisions["measure_key"]) == {
        "referrals:front_door", "referrals:secondary", "referrals:crisis",
        "activity:bed_days_acute", "activity:tt_finished", "costs:actual_gbp",
    }  # fmt: skip


def test_latest_revision_equals_the_main_tables(
    revisions: pd.DataFrame,
    referrals: pd.DataFrame,
    activity: pd.DataFrame,
    costs: pd.DataFrame,
) -> None:
    latest = revisions.groupby(["measure_key", "month"]).tail(1).set_index(["measure_key", "month"])
    held: dict[str, pd.Series] = {}
    by_month = referrals.groupby([referrals["pathway"], referrals["referral_date"].str[:7]]).size()
    for pathway in ("front_door", "secondary", "crisis"):
        counts = by_month[pathway]
        counts.index = counts.index + "-01"
        held[f"referrals:{pathway}"] = counts.astype(float)
    for measure in ("bed_days_acute", "tt_finished"):
        held[f"activity:{measure}"] = activity_total(activity, measure)
    cost_pence = costs["actual_gbp"].str.replace(".", "", regex=False).astype(np.int64)
    held["costs:actual_gbp"] = cost_pence.groupby(costs["month"]).sum() / 100
    for key, series in held.items():
        recorded = latest.loc[key, "value"].astype(float)
        assert list(recorded.index) == list(series.index), key
        np.testing.assert_allclose(recorded.to_numpy(), series.to_numpy(), rtol=0, atol=1e-6)
        final = latest.loc[key, "data_status"] == "final"
        assert set(final[~final].index) == PROVISIONAL_MONTHS, key


def test_truth_json_has_every_planted_fact(truth: dict) -> None:
    for key in (
        "seed", "period", "interventions", "lcn_phasing", "seasonality", "ar1", "dispersion",
        "covid_shock", "effects", "planted_nulls", "missing_months", "definition_breaks",
        "detention_rates_per_100k", "ipsa_savings", "expected_series",
    ):  # fmt: skip
        assert key in truth, key
    assert truth["synthetic"] is True
    required = {"id", "table", "filter", "measure", "intervention", "term", "scale", "value"}
    ids = [effect["id"] for effect in truth["effects"] + truth["planted_nulls"]]
    assert len(ids) == len(set(ids))
    for effect in truth["effects"] + truth["planted_nulls"]:
        assert required <= set(effect), effect["id"]
        assert effect["term"] in {"level", "slope"} and effect["scale"] in {"ratio", "absolute"}
        assert effect["intervention"] in truth["interventions"], effect["id"]
    assert truth["interventions"]["hub_scale_up"] == "2015-10-01"
    assert truth["lcn_phasing"]["start"] == {
        "North": "2015-10-01",
        "South East": "2016-04-01",
        "South West": "2016-01-01",
    }
    series = truth["expected_series"]
    assert len(series["months"]) == 144
    assert series["months"][0] == "2013-04-01" and series["months"][-1] == "2025-03-01"


def test_truth_expected_series_encode_a_pure_level_ratio(truth: dict) -> None:
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    secondary = truth["expected_series"]["referrals_secondary"]
    ratio = np.array(secondary["with_effect"]) / np.array(secondary["counterfactual"])
    effect = next(e for e in truth["effects"] if e["id"] == "secondary_referrals_hub")
    assert effect["value"] == 0.57 and effect["slope_change"] == 0.0
    np.testing.assert_allclose(ratio[months < "2015-10-01"], 1.0, atol=1e-4)
    np.testing.assert_allclose(ratio[months >= "2016-06-01"], 0.57, atol=1e-4)
    ramp = ratio[(months >= "2015-10-01") & (months < "2016-06-01")]
    assert np.all(np.diff(ramp) < 0) and ramp[0] < 1 and ramp[-1] > 0.57


# ---------------------------------------------------------------------------------------------
# 3. Planted effects are visible in the data
# ---------------------------------------------------------------------------------------------


def test_secondary_referrals_fall_by_the_planted_ratio(
    referrals: pd.DataFrame, truth: dict
) -> None:
    effect = next(e for e in truth["effects"] if e["id"] == "secondary_referrals_hub")
    secondary = referrals[referrals["pathway"] == "secondary"]
    before = months_between("2014-10-01", "2015-09-01")
    after = months_between("2016-06-01", "2017-05-01")
    rate_before = (monthly_counts(secondary, before) / population_growth(before)).mean()
    rate_after = (monthly_counts(secondary, after) / population_growth(after)).mean()
    assert rate_after / rate_before == pytest.approx(effect["value"], abs=0.08)
    assert 180 < rate_before < 230  # about 200 a month before the Hub


def test_secondary_referrals_track_the_expected_series(
    referrals: pd.DataFrame, truth: dict
) -> None:
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    observed = monthly_counts(referrals[referrals["pathway"] == "secondary"], months)
    expected = np.array(truth["expected_series"]["referrals_secondary"]["with_effect"])
    counterfactual = np.array(truth["expected_series"]["referrals_secondary"]["counterfactual"])
    complete = ~months.isin(pd.DatetimeIndex(sorted(PROVISIONAL_MONTHS)))
    assert observed[complete].sum() / expected[complete].sum() == pytest.approx(1.0, abs=0.03)
    post = complete & (months >= "2016-06-01")
    assert observed[post].sum() / counterfactual[post].sum() == pytest.approx(0.57, abs=0.03)


def test_referral_residuals_are_autocorrelated(referrals: pd.DataFrame, truth: dict) -> None:
    # The planted AR(1) (phi 0.4) is diluted by count noise, but must remain visible in the
    # borough log residuals against the expected series, pooled over the large series.
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    complete = ~months.isin(pd.DatetimeIndex(sorted(PROVISIONAL_MONTHS)))
    series = truth["expected_series"]
    lagged_pairs = []
    for rows, expected in (
        (referrals["pathway"] == "secondary", series["referrals_secondary"]["with_effect"]),
        (referrals["pathway"] == "front_door", series["referrals_front_door"]["with_effect"]),
        (referrals["service"] == "Liaison (A&E)", series["referrals_liaison"]["expected"]),
    ):
        residual = np.log(monthly_counts(referrals[rows], months) / np.array(expected))[complete]
        residual = residual - residual.mean()
        lagged_pairs.append(np.column_stack([residual[:-1], residual[1:]]))
    pairs = np.vstack(lagged_pairs)
    lag1 = np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]
    assert 0.05 < lag1 < truth["ar1"]["phi"]


def test_hub_phase_in_is_staggered_by_lcn(referrals: pd.DataFrame) -> None:
    secondary = referrals[referrals["pathway"] == "secondary"]
    before = months_between("2014-10-01", "2015-09-01")
    window = months_between("2016-01-01", "2016-03-01")  # North done, South East not started
    ratio = {}
    for lcn in LCNS:
        rows = secondary[secondary["lcn"] == lcn]
        ratio[lcn] = monthly_counts(rows, window).mean() / monthly_counts(rows, before).mean()
    assert ratio["North"] < 0.75
    assert ratio["South East"] > 0.85
    assert ratio["North"] < ratio["South West"] < ratio["South East"]


def test_acceptance_and_waits_change_as_planted(referrals: pd.DataFrame, truth: dict) -> None:
    effects = {e["id"]: e for e in truth["effects"]}
    pre = referrals["date"].between("2014-04-01", "2015-09-30")
    post = referrals["date"].between("2016-06-01", "2019-12-31")
    secondary = referrals["pathway"] == "secondary"
    accepted = referrals["accepted"] == "true"
    accepted_effect = effects["secondary_accepted_hub"]
    assert accepted[secondary & pre].mean() == pytest.approx(accepted_effect["baseline"], abs=0.03)
    assert accepted[secondary & post].mean() == pytest.approx(
        accepted_effect["baseline"] + accepted_effect["value"], abs=0.03
    )

    wait = referrals["days_to_first_contact_n"]
    front = referrals["pathway"] == "front_door"
    wait_effect = effects["front_door_wait_hub"]
    median_pre = wait[front & pre].median()
    median_post = wait[front & post].median()
    assert median_pre == pytest.approx(wait_effect["baseline"], abs=3)
    assert median_post / median_pre == pytest.approx(wait_effect["value"], abs=0.06)
    assert wait[front & post].quantile(0.9) > 2 * median_post  # right-skewed

    second = referrals["days_to_second_contact_n"]
    contact_effect = effects["second_contact_within_28_days_lwc"]
    accepted_secondary = secondary & accepted & second.notna()
    before_lwc = accepted_secondary & referrals["date"].between("2016-06-01", "2019-09-30")
    after_lwc = accepted_secondary & referrals["date"].between("2019-10-01", "2024-09-30")
    assert (second[before_lwc] <= 28).mean() == pytest.approx(contact_effect["baseline"], abs=0.04)
    assert (second[after_lwc] <= 28).mean() == pytest.approx(
        contact_effect["baseline"] + contact_effect["value"], abs=0.04
    )


def test_front_door_rises_with_the_hub(referrals: pd.DataFrame) -> None:
    front = referrals[referrals["pathway"] == "front_door"]
    per_month = monthly_counts(front, months_between("2014-04-01", "2015-03-01")).mean()
    assert per_month == pytest.approx(140, rel=0.1)
    assert monthly_counts(front, months_between("2017-01-01", "2017-12-01")).mean() == (
        pytest.approx(400, rel=0.1)
    )
    assert monthly_counts(front, months_between("2021-04-01", "2022-03-01")).mean() == (
        pytest.approx(620, rel=0.1)
    )


def test_covid_shock_and_seasonality(referrals: pd.DataFrame, truth: dict) -> None:
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    factor = pd.Series(1.0, index=months)
    for month, value in truth["covid_shock"]["monthly_factor"].items():
        factor[pd.Timestamp(month)] = value
    shock = months_between("2020-04-01", "2020-05-01")
    observed = 0.0
    without_covid = 0.0
    for pathway, key in (
        ("secondary", "referrals_secondary"),
        ("front_door", "referrals_front_door"),
    ):
        rows = referrals[referrals["pathway"] == pathway]
        observed += monthly_counts(rows, shock).sum()
        expected = pd.Series(truth["expected_series"][key]["with_effect"], index=months)
        without_covid += (expected / factor)[shock].sum()
    assert observed / without_covid == pytest.approx(0.65, abs=0.08)
    secondary = referrals[referrals["pathway"] == "secondary"]
    all_months = months_between("2016-06-01", "2020-02-01")
    counts = pd.Series(monthly_counts(secondary, all_months), index=all_months)
    by_calendar_month = counts.groupby(counts.index.month).mean()
    assert by_calendar_month[12] < by_calendar_month.drop(12).mean() * 0.95  # December dip
    assert by_calendar_month[1] > by_calendar_month[12]


def test_liaison_has_no_evening_sanctuary_effect(referrals: pd.DataFrame, truth: dict) -> None:
    null = next(e for e in truth["planted_nulls"] if e["id"] == "liaison_evening_sanctuary")
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    observed = monthly_counts(referrals[referrals["service"] == "Liaison (A&E)"], months)
    expected = np.array(truth["expected_series"]["referrals_liaison"]["expected"])
    relative = pd.Series(observed / expected, index=months)
    before = relative["2017-05-01":"2019-04-01"].mean()
    after = relative["2019-05-01":"2020-02-01"].mean()  # up to the covid shock
    assert after / before == pytest.approx(null["value"], abs=0.1)
    # +76% from 2018/19 to 2024/25 (the last two months of 2024/25 are provisional).
    recent = months.isin(months_between("2024-04-01", "2025-01-01"))
    base = months.isin(months_between("2018-04-01", "2019-03-01"))
    planted_growth = expected[recent].mean() / expected[base].mean()
    assert planted_growth == pytest.approx(1.76, abs=0.03)
    assert observed[recent].mean() / observed[base].mean() == pytest.approx(planted_growth, abs=0.3)


def test_admissions_have_no_alliance_go_live_effect(truth: dict) -> None:
    admissions = read_text_csv("admissions.csv")
    admissions["month"] = (
        pd.to_datetime(admissions["admission_date"]).dt.to_period("M").dt.to_timestamp()
    )
    months = pd.DatetimeIndex(truth["expected_series"]["months"])
    observed = monthly_counts(admissions, months)
    relative = pd.Series(
        observed / np.array(truth["expected_series"]["admissions"]["expected"]), index=months
    )
    before = relative["2016-07-01":"2018-06-01"].mean()
    after = relative["2018-07-01":"2020-02-01"].mean()
    assert after / before == pytest.approx(1.0, abs=0.1)
    black_share = (admissions["ethnicity"] == "Black").mean()
    assert black_share == pytest.approx(0.45, abs=0.05)


def test_detention_rates_by_ethnicity_match_truth(population: pd.DataFrame, truth: dict) -> None:
    detentions = read_text_csv("detentions.csv")
    detentions["year"] = detentions["detention_date"].str[:4].astype(int)
    full_years = detentions[detentions["year"].between(2014, 2024)]
    counts = full_years.groupby("ethnicity").size()
    people = (
        population[population["year"].between(2014, 2024)].groupby("ethnicity")["population"].sum()
    )
    observed = counts.drop("Not stated") / people * 100_000  # per 100,000 adults per year
    planted = pd.Series(truth["detention_rates_per_100k"])
    masking = 1 - truth["ethnicity"]["not_stated_share"]
    np.testing.assert_allclose(observed[planted.index], planted * masking, rtol=0.15)
    assert observed["Black"] / observed["White"] == pytest.approx(
        truth["detention_black_white_rate_ratio"], abs=0.6
    )


def test_black_share_higher_in_crisis_and_secondary(referrals: pd.DataFrame) -> None:
    black = referrals["ethnicity"] == "Black"
    for pathway in ("secondary", "crisis"):
        assert black[referrals["pathway"] == pathway].mean() > 0.24 + 0.04, pathway
    assert black[referrals["pathway"] == "front_door"].mean() < 0.25


def test_ipsa_slopes_change_at_go_live(truth: dict) -> None:
    workbook = openpyxl.load_workbook(SAMPLE / "ipsa_monthly.xlsx")
    rows = list(workbook["IPSA"].iter_rows(values_only=True))[1:]
    frame = pd.DataFrame(rows, columns=["month", "cohort", "living", "residential", "status"])
    frame["t"] = np.arange(len(frame))
    effects = {e["id"]: e for e in truth["effects"]}

    def slope(column: str, start: str, end: str) -> float:
        rows = frame[(frame["month"] >= start) & (frame["month"] < end)]
        return float(np.polyfit(rows["t"], rows[column], 1)[0])

    assert slope("living", "2014-04-01", "2015-04-01") == pytest.approx(0.0, abs=0.2)
    assert slope("living", "2015-04-01", "2018-04-01") == pytest.approx(
        effects["ipsa_living_independently_slope"]["value"], abs=0.25
    )
    assert slope("residential", "2015-04-01", "2019-04-01") == pytest.approx(
        effects["ipsa_residential_placements_slope"]["value"], abs=0.25
    )
    assert frame["cohort"].between(185, 215).all()


def test_ipsa_costs_fall_twenty_percent(costs: pd.DataFrame, truth: dict) -> None:
    ipsa = costs[costs["service_line_id"] == "ipsa"]
    actual = ipsa["actual_gbp"].astype(float).groupby(ipsa["fin_year"]).sum()
    ratio = actual / actual["2014/15"]
    planted = truth["ipsa_savings"]["planted_ratio_to_baseline"]["2016/17 onwards"]
    settled_years = [f"{y}/{(y + 1) % 100:02d}" for y in range(2016, 2024)]
    np.testing.assert_allclose(ratio[settled_years], planted, atol=0.03)
    assert ratio["2015/16"] == pytest.approx(0.90, abs=0.03)


def test_cost_texture(costs: pd.DataFrame, activity: pd.DataFrame) -> None:
    money = costs.assign(
        actual=costs["actual_gbp"].astype(float), budget=costs["budget_gbp"].astype(float)
    )
    # March year-end accrual spike.
    final = money[money["data_status"] == "final"]
    by_month = final.groupby("fin_month")[["actual", "budget"]].sum()
    spend_ratio = by_month["actual"] / by_month["budget"]
    assert spend_ratio["12"] > spend_ratio.drop("12").max()
    # Supported accommodation weekly unit cost grows about 9.5% a year.
    placements = money[
        (money["service_line_id"] == "supported_accommodation") & (money["activity_value"] != "")
    ]
    weeks = placements["activity_value"].astype(float)
    unit = (
        placements["actual"].groupby(placements["fin_year"]).sum()
        / weeks.groupby(placements["fin_year"]).sum()
    )
    growth = (unit["2023/24"] / unit["2015/16"]) ** (1 / 8)
    assert growth == pytest.approx(1.095, abs=0.01)
    # Private-bed spend follows out-of-area bed days, which spike with occupancy.
    private = money[money["service_line_id"] == "private_beds"].set_index("month")["actual"]
    oap = activity_total(activity, "oap_bed_days")
    months = private.index.intersection(oap.index)
    assert np.corrcoef(private[months], oap[months])[0, 1] > 0.95
    assert oap.max() <= 900 * 1.1 and oap.min() >= 0


def test_bed_use_rises_to_a_2022_23_peak(activity: pd.DataFrame) -> None:
    bed_days = activity_total(activity, "all_bed_days")
    month = pd.to_datetime(bed_days.index)
    fin_year = month.year - (month.month < 4)
    days = month.days_in_month
    beds = (
        pd.Series(bed_days.to_numpy(), index=fin_year).groupby(level=0).sum()
        / pd.Series(days, index=fin_year).groupby(level=0).sum()
    )
    assert beds[2020] == pytest.approx(74.5, rel=0.06)
    assert beds[2021] == pytest.approx(88.1, rel=0.06)
    assert beds[2021] / beds[2020] > 1.1
    assert beds[2022] >= beds.drop(2022).max() * 0.98


def test_definition_breaks_and_covid_dips_in_activity(activity: pd.DataFrame) -> None:
    open_referrals = activity_total(activity, "open_referrals")
    open_referrals.index = pd.to_datetime(open_referrals.index)
    growth = 1.01
    step_2021 = (
        open_referrals["2021-04-01":"2021-09-01"].mean()
        / open_referrals["2020-10-01":"2021-03-01"].mean()
    )
    step_2023 = (
        open_referrals["2023-04-01":"2023-09-01"].mean()
        / open_referrals["2022-10-01":"2023-03-01"].mean()
    )
    assert step_2021 / growth**0.5 == pytest.approx(1.08, abs=0.03)
    assert step_2023 / growth**0.5 == pytest.approx(0.93, abs=0.03)

    finished = activity_total(activity, "tt_finished")
    recovered = activity_total(activity, "tt_recovered")
    recovery = recovered / finished
    dip = recovery[["2020-04-01", "2020-05-01", "2020-06-01"]].mean()
    around = recovery[
        ["2019-04-01", "2019-05-01", "2019-06-01", "2021-04-01", "2021-05-01", "2021-06-01"]
    ].mean()
    # Planted dip averages 0.057; binomial noise on ~250 courses a month gives sd ~0.02.
    assert around - dip > 0.015
    assert recovery.between(0.40, 0.65).all()


# ---------------------------------------------------------------------------------------------
# 4. The benchmark table
# ---------------------------------------------------------------------------------------------


def test_write_big_referrals_small_run(tmp_path: Path, generator: ModuleType) -> None:
    path = tmp_path / "big_referrals.parquet"
    generator.write_big_referrals(50_000, path)
    table = pq.read_table(path)
    assert table.num_rows == 50_000
    assert table.schema.metadata is None
    assert table.column_names == REFERRAL_COLUMNS
    # Same column types as referrals.csv as DuckDB reads it.
    csv_types = duckdb.sql(
        f"DESCRIBE SELECT * FROM read_csv('{SAMPLE / 'referrals.csv'}')"
    ).fetchall()
    parquet_types = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    assert [(r[0], r[1]) for r in parquet_types] == [(r[0], r[1]) for r in csv_types]
    frame = table.to_pandas()
    assert frame["referral_id"].is_unique
    assert set(frame["lcn"]) == LCNS and set(frame["ethnicity"]) == ETHNICITIES
    assert (frame["service"].map(SERVICE_PATHWAY) == frame["pathway"]).all()
    secondary = frame["pathway"] == "secondary"
    assert frame.loc[secondary, "accepted"].notna().all()
    assert frame.loc[~secondary, "accepted"].isna().all()
    assert pd.to_datetime(frame["referral_date"]).is_monotonic_increasing
    committed = pd.read_csv(SAMPLE / "referrals.csv", usecols=["pathway"])["pathway"]
    mix = frame["pathway"].value_counts(normalize=True)
    committed_mix = committed.value_counts(normalize=True)
    np.testing.assert_allclose(mix[committed_mix.index], committed_mix, atol=0.02)
