"""Generate the Alliance Board sample data. ALL DATA ARE SYNTHETIC: no real person, no real return.

A fictional Lambeth-style borough (about 265,000 adults, three Local Care Networks) from
April 2013 to March 2025 (144 months). Every effect planted here is written to
`truth.json`, so tests can check that the site's models recover it. `README.md` beside
this script is the data dictionary.

Usage:
    python sample_data/generate.py [--out DIR]
    python sample_data/generate.py --big-referrals 10000000 --out /tmp/referrals_10m.parquet

Reproducibility: every random draw comes from numpy `default_rng` streams seeded with
`[SEED, stream id]`, one stream per table, so changing one table never shifts another.
Files are written byte for byte the same on every run: CSVs with explicit number formats,
"\\n" line endings and UTF-8 without BOM; Parquet without pandas metadata or compression;
the Excel workbook with fixed document properties and a fixed timestamp on every zip member.
Nothing depends on the clock, the locale, hash seeds or set ordering.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import heapq
import io
import json
import re
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEED = 20130401
BIG_REFERRALS_SEED = 20250415

# One numpy stream per component; the integers are part of the data's identity, so never reuse
# or renumber them.
STREAM_IDS = {
    "referrals": 1,
    "admissions": 2,
    "detentions": 3,
    "proms": 4,
    "activity": 5,
    "ipsa": 6,
    "costs": 7,
    "revisions:referrals:front_door": 11,
    "revisions:referrals:secondary": 12,
    "revisions:referrals:crisis": 13,
    "revisions:activity:bed_days_acute": 14,
    "revisions:activity:tt_finished": 15,
    "revisions:costs:actual_gbp": 16,
    "big_referrals": 21,
}


def stream(name: str, seed: int = SEED) -> np.random.Generator:
    """Return the independent random stream for one component of the data."""
    return np.random.default_rng([seed, STREAM_IDS[name]])


# ---------------------------------------------------------------------------------------------
# Calendar
# ---------------------------------------------------------------------------------------------

FIRST_MONTH = np.datetime64("2013-04", "M")
N_MONTHS = 144
MONTHS = FIRST_MONTH + np.arange(N_MONTHS)
FIRST_DAY = FIRST_MONTH.astype("datetime64[D]")
AS_OF_DATE = np.datetime64("2025-03-31")
# The main tables are "as at" the extract of 15 April 2025; later vintages do not exist yet.
MAIN_EXTRACT_MONTH_INDEX = N_MONTHS  # 2025-04
N_PROVISIONAL_MONTHS = 2
EXTRACT_DAY_OF_MONTH = 15


def month_index(label: str) -> int:
    """Months since April 2013 for a `YYYY-MM` or `YYYY-MM-DD` label (2013-04 is 0)."""
    return int((np.datetime64(label[:7], "M") - FIRST_MONTH).astype(int))


def month_start_days(months: np.ndarray) -> np.ndarray:
    """First day of each month as datetime64[D]."""
    return months.astype("datetime64[M]").astype("datetime64[D]")


def calendar_month_numbers(months: np.ndarray) -> np.ndarray:
    """Calendar month 1-12 of each datetime64[M] value."""
    return months.astype("datetime64[M]").astype(np.int64) % 12 + 1


def financial_year_starts(months: np.ndarray) -> np.ndarray:
    """Calendar year in which each month's April-March financial year starts."""
    months = months.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    return year - (calendar_month_numbers(months) < 4)


def financial_year_label(start_year: int) -> str:
    """`2019/20` style label of the financial year starting in April of `start_year`."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def extract_date(extract_month: int) -> np.datetime64:
    """Date of the monthly extract run in month `extract_month` (months since 2013-04)."""
    return month_start_days(FIRST_MONTH + np.array([extract_month]))[0] + (EXTRACT_DAY_OF_MONTH - 1)


MONTH_START = month_start_days(MONTHS)
DAYS_IN_MONTH = (month_start_days(MONTHS + 1) - MONTH_START).astype(np.int64)
MONTH_NUMBER = calendar_month_numbers(MONTHS)
FIN_YEAR = financial_year_starts(MONTHS)
N_DAYS = int(DAYS_IN_MONTH.sum())
DAY_MONTH_INDEX = np.repeat(np.arange(N_MONTHS), DAYS_IN_MONTH)
AS_OF_DAY = int((AS_OF_DATE - FIRST_DAY).astype(np.int64))


def weekday_of_day_index(day_index: np.ndarray) -> np.ndarray:
    """Monday = 0 for days counted from 2013-04-01."""
    return (FIRST_DAY.astype(np.int64) + day_index + 3) % 7  # 1970-01-01 was a Thursday


def iso_dates(day_index: np.ndarray) -> np.ndarray:
    """ISO `YYYY-MM-DD` strings for day indices counted from 2013-04-01."""
    return np.datetime_as_string(FIRST_DAY + day_index.astype("timedelta64[D]"), unit="D")


MONTH_LABELS = np.datetime_as_string(MONTH_START, unit="D")

# ---------------------------------------------------------------------------------------------
# Dimensions (values exactly as the specification; the config refers to them)
# ---------------------------------------------------------------------------------------------

LCNS = ("North", "South East", "South West")
LCN_POPULATION_SHARE = np.array([0.35, 0.30, 0.35])
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
ETHNICITIES = ("Asian", "Black", "Mixed", "White", "Other", "Not stated")
POPULATION_ETHNICITIES = ETHNICITIES[:5]
BLACK, WHITE, NOT_STATED = 1, 3, 5
GENDERS = ("Female", "Male", "Other/not stated")
PROVIDER_IDS = ("SLAM", "LBL_ASC", "CERTITUDE", "THAMES_REACH", "PRIVATE_SPOT")
SOURCES = ("GP", "Self", "A&E", "Police", "Social care", "VCS", "Other")
TEAMS = ("Hub/SPA", "Short Term Support", "Focused Support")

# Share of each LCN's adults by ethnicity (Asian, Black, Mixed, White, Other). The borough
# mix is White 55%, Black 24%, Asian 7%, Mixed 7%, Other 7%; South East is the most diverse.
LCN_ETHNIC_MIX = np.array(
    [
        [0.07, 0.19, 0.07, 0.60, 0.07],
        [0.07, 0.31, 0.08, 0.47, 0.07],
        [0.07, 0.235, 0.065, 0.565, 0.065],
    ]
)
NOT_STATED_SHARE = 0.04  # records whose ethnicity is masked at random

ADULT_POPULATION_2013 = 265_000
POPULATION_GROWTH_PER_YEAR = 0.01
POPULATION_YEARS = tuple(range(2013, 2026))
BASE_AGE_SHARE = np.array([0.11, 0.29, 0.21, 0.15, 0.11, 0.13])
# Age tilts by ethnicity (Asian, Black, Mixed, White, Other): the Mixed group is youngest.
AGE_TILT_BY_ETHNICITY = np.array(
    [
        [1.10, 1.20, 1.10, 0.90, 0.80, 0.60],
        [1.10, 1.00, 1.05, 1.05, 0.95, 0.80],
        [1.50, 1.20, 1.00, 0.80, 0.70, 0.50],
        [0.95, 1.00, 1.00, 1.00, 1.05, 1.15],
        [1.10, 1.25, 1.10, 0.90, 0.75, 0.60],
    ]
)
POPULATION_GENDER_SHARE = np.array([0.505, 0.485, 0.010])

# ---------------------------------------------------------------------------------------------
# Interventions and shared texture
# ---------------------------------------------------------------------------------------------

INTERVENTIONS = {
    "ipsa_go_live": "2015-04-01",
    "hub_scale_up": "2015-10-01",
    "alliance_go_live": "2018-07-01",
    "evening_sanctuary": "2019-05-01",
    "living_well_centres": "2019-10-01",
    "covid": "2020-04-01",
    "definition_break_2021": "2021-04-01",
    "definition_break_2023": "2023-04-01",
}
HUB_START_BY_LCN = {"North": "2015-10-01", "South East": "2016-04-01", "South West": "2016-01-01"}
HUB_RAMP_MONTHS = 3
LWC_MONTH = month_index(INTERVENTIONS["living_well_centres"])
SANCTUARY_MONTH = month_index(INTERVENTIONS["evening_sanctuary"])
IPSA_MONTH = month_index(INTERVENTIONS["ipsa_go_live"])
BREAK_2021 = month_index(INTERVENTIONS["definition_break_2021"])
BREAK_2023 = month_index(INTERVENTIONS["definition_break_2023"])


def hub_ramp() -> np.ndarray:
    """Phase-in fraction of the Hub scale-up, shape [LCN, month]: 1/3, 2/3, then 1 from the
    third month of each LCN's ramp (linear on the log scale of the effect)."""
    starts = np.array([month_index(HUB_START_BY_LCN[lcn]) for lcn in LCNS])
    since = np.arange(N_MONTHS)[None, :] - starts[:, None]
    return np.clip((since + 1) / HUB_RAMP_MONTHS, 0.0, 1.0)


HUB_RAMP = hub_ramp()

# Multiplicative seasonal factors by calendar month (missing months are 1.0).
REFERRAL_SEASON = {1: 1.08, 4: 0.95, 8: 0.88, 12: 0.85}
LIAISON_SEASON = {1: 1.10, 2: 1.03, 7: 0.97, 8: 0.94, 12: 1.08}
# Mild summer peak for admissions and detentions; the factors average exactly 1 over a year so
# the detention rates per 100,000 stay exact annual rates.
ACUTE_SEASON = {1: 0.96, 2: 0.97, 6: 1.04, 7: 1.05, 8: 1.03, 12: 0.95}


def seasonal_factors(factors: dict[int, float], months: np.ndarray = MONTHS) -> np.ndarray:
    """Seasonal multiplier for each month."""
    numbers = calendar_month_numbers(months)
    return np.array([factors.get(int(n), 1.0) for n in numbers])


# Covid: -35% in April and May 2020, then a linear recovery to no effect in September 2020.
COVID_FACTOR_BY_MONTH = {
    "2020-04-01": 0.65,
    "2020-05-01": 0.65,
    "2020-06-01": 0.7375,
    "2020-07-01": 0.825,
    "2020-08-01": 0.9125,
    "2020-09-01": 1.0,
}


def covid_factors() -> np.ndarray:
    """Covid multiplier on referral counts for each month."""
    factors = np.ones(N_MONTHS)
    for label, factor in COVID_FACTOR_BY_MONTH.items():
        factors[month_index(label)] = factor
    return factors


COVID = covid_factors()
AR_PHI = 0.4
# Referral series: with k = 50 per LCN cell this gives the borough series an overall
# overdispersion equivalent to k of about 55 and a residual lag-1 autocorrelation near 0.2.
AR_INNOVATION_SD = 0.10
# Admissions, detentions and PROM episodes are steadier (bed and legal constraints).
OTHER_AR_INNOVATION_SD = 0.06
NB_DISPERSION_LARGE = 50.0  # k in var = mu + mu^2 / k


def population_growth_factor(month_indices: np.ndarray) -> np.ndarray:
    """Adult population relative to mid-2013 (July 2013 = 1), +1% a year, geometric."""
    return (1.0 + POPULATION_GROWTH_PER_YEAR) ** ((month_indices - 3) / 12.0)


POP_GROWTH = population_growth_factor(np.arange(N_MONTHS))


def ar1_process(rng: np.random.Generator, n: int, phi: float, innovation_sd: float) -> np.ndarray:
    """A zero-mean stationary AR(1) series u_t = phi u_(t-1) + e_t, e_t ~ N(0, innovation_sd)."""
    marginal_sd = innovation_sd / np.sqrt(1.0 - phi**2)
    innovations = rng.normal(0.0, innovation_sd, n)
    u = np.empty(n)
    u[0] = rng.normal(0.0, marginal_sd)
    for t in range(1, n):
        u[t] = phi * u[t - 1] + innovations[t]
    return u


def ar1_multiplier(
    rng: np.random.Generator, n: int, phi: float, innovation_sd: float
) -> np.ndarray:
    """exp(u_t - var/2) for a stationary AR(1) u_t on the log scale: mean exactly one."""
    marginal_var = innovation_sd**2 / (1.0 - phi**2)
    return np.exp(ar1_process(rng, n, phi, innovation_sd) - marginal_var / 2.0)


def negative_binomial(rng: np.random.Generator, mean: np.ndarray, k: float | None) -> np.ndarray:
    """Counts with the given mean; variance mean + mean^2/k (Poisson when k is None)."""
    mean = np.asarray(mean, dtype=float)
    if k is None:
        return rng.poisson(mean)
    return rng.negative_binomial(k, k / (k + mean))


def draw_categorical(
    rng: np.random.Generator, probabilities: np.ndarray, group: np.ndarray | None = None, n: int = 0
) -> np.ndarray:
    """Category codes drawn from `probabilities` ([k], or [groups, k] indexed by `group`)."""
    cumulative = np.cumsum(probabilities, axis=-1)
    cumulative[..., -1] = 1.0
    if group is None:
        return np.searchsorted(cumulative, rng.random(n), side="right")
    u = rng.random(len(group))
    return (u[:, None] >= cumulative[group]).sum(axis=1)


def ethnicity_probabilities(rate_ratio: Sequence[float]) -> np.ndarray:
    """P(recorded ethnicity | LCN), shape [LCN, 6]: each LCN's population mix weighted by the
    rate ratio against White, then 4% of records masked as `Not stated`."""
    weights = LCN_ETHNIC_MIX * np.asarray(rate_ratio)[None, :]
    weights = weights / weights.sum(axis=1, keepdims=True) * (1.0 - NOT_STATED_SHARE)
    return np.hstack([weights, np.full((len(LCNS), 1), NOT_STATED_SHARE)])


def mask_not_stated(rng: np.random.Generator, ethnicity: np.ndarray) -> np.ndarray:
    """Record 4% of true ethnicities, at random, as `Not stated`."""
    return np.where(rng.random(len(ethnicity)) < NOT_STATED_SHARE, NOT_STATED, ethnicity)


def days_within_months(
    rng: np.random.Generator,
    month_idx: np.ndarray,
    weekday_weight: Sequence[float],
    first_month: int = 0,
) -> np.ndarray:
    """Day index (days from 2013-04-01) inside each given month, weighted by day of week.

    `month_idx` counts months from April 2013; `first_month` (negative for a burn-in period)
    is the earliest month the calendar must cover.
    """
    calendar = FIRST_MONTH + np.arange(first_month, N_MONTHS)
    starts = (month_start_days(calendar) - FIRST_DAY).astype(np.int64)
    ends = (month_start_days(calendar + 1) - FIRST_DAY).astype(np.int64)
    all_days = np.arange(starts[0], ends[-1])
    cumulative = np.cumsum(np.asarray(weekday_weight)[weekday_of_day_index(all_days)])
    k = np.asarray(month_idx) - first_month
    hi = cumulative[ends[k] - starts[0] - 1]
    lo = np.where(k > 0, cumulative[np.maximum(starts[k] - starts[0] - 1, 0)], 0.0)
    target = lo + rng.random(len(k)) * (hi - lo)
    return np.searchsorted(cumulative, target, side="right") + starts[0]


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], columns: Sequence[Sequence[str]]) -> None:
    """Write pre-formatted string columns as UTF-8 CSV with "\\n" line endings."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))


def format_optional_int(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Integers as text, blank where `present` is false."""
    return np.where(present, np.asarray(values, dtype=np.int64).astype(str), "")


def format_bool(values: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """`true`/`false`, blank where `present` is false."""
    text = np.where(values, "true", "false")
    return text if present is None else np.where(present, text, "")


def format_pence(pence: int) -> str:
    """Pounds with exactly two decimals from an integer number of pence."""
    sign = "-" if pence < 0 else ""
    pence = abs(int(pence))
    return f"{sign}{pence // 100}.{pence % 100:02d}"


def write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet with no pandas or Arrow schema metadata and no compression, so the bytes
    depend only on the data and the pyarrow version."""
    pq.write_table(table, path, compression="none", store_schema=False)


FIXED_ZIP_TIME = (2025, 4, 15, 0, 0, 0)
FIXED_DOC_TIME = dt.datetime(2025, 4, 15, 0, 0, 0)


def reproducible_xlsx(workbook_bytes: bytes) -> bytes:
    """Rewrite an openpyxl workbook with a fixed timestamp on every zip member and a fixed
    modified date (openpyxl stamps the current time on save). Members are stored, not
    deflated, so the bytes do not depend on the zlib build."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes))
    output = io.BytesIO()
    fixed_modified = rb"\g<open>2025-04-15T00:00:00Z\g<close>"
    with zipfile.ZipFile(output, "w") as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(?P<open><dcterms:modified[^>]*>)[^<]*(?P<close></dcterms:modified>)",
                    fixed_modified,
                    data,
                )
            info = zipfile.ZipInfo(member.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    return output.getvalue()


# ---------------------------------------------------------------------------------------------
# Revisions: provisional first extracts revised upward to the final value
# ---------------------------------------------------------------------------------------------

REVISION_FIRST_FRACTION = (0.92, 0.97)
REVISION_STEPS = (1, 2, 3)


@dataclass(frozen=True)
class Vintage:
    """One extract of one month's value: its extract month, completeness and status."""

    extract_month: int
    fraction: float
    is_final: bool


def revision_vintages(rng: np.random.Generator, first_month: int) -> dict[int, list[Vintage]]:
    """Vintages for every month from `first_month` to the last month.

    The first extract (the 15th of the following month) is provisional at 92-97% of the final
    value; each later monthly extract closes the gap linearly until the final value arrives
    1-3 extracts later. Only extracts up to 15 April 2025 exist, so the last two months are
    still provisional in the main tables, and a final that would fall later is brought forward.
    """
    vintages: dict[int, list[Vintage]] = {}
    for month in range(first_month, N_MONTHS):
        first_fraction = float(rng.uniform(*REVISION_FIRST_FRACTION))
        steps = int(rng.choice(REVISION_STEPS))
        later_extracts_available = MAIN_EXTRACT_MONTH_INDEX - (month + 1)
        if month < N_MONTHS - N_PROVISIONAL_MONTHS:
            steps = min(steps, later_extracts_available)
        else:
            steps = max(steps, later_extracts_available + 1)
        rows = []
        for j in range(min(steps, later_extracts_available) + 1):
            fraction = 1.0 if j == steps else first_fraction + (1.0 - first_fraction) * j / steps
            rows.append(Vintage(month + 1 + j, fraction, j == steps))
        vintages[month] = rows
    return vintages


def scaled_cells(final_cells: np.ndarray, fraction: float) -> np.ndarray:
    """Integer cells (counts or pence) as an incomplete extract would hold them; rounding each
    cell keeps every vintage monotone in the fraction."""
    return np.floor(np.asarray(final_cells, dtype=np.int64) * fraction + 0.5).astype(np.int64)


@dataclass
class RevisionLog:
    """Rows of revisions.csv, collected as each table is built."""

    rows: list[tuple[str, int, int, str, str]]

    def add(
        self,
        measure_key: str,
        month: int,
        vintages: list[Vintage],
        final_cells: np.ndarray,
        formatter: Callable[[int], str] = str,
    ) -> None:
        for vintage in vintages:
            value = int(scaled_cells(final_cells, vintage.fraction).sum())
            status = "final" if vintage.is_final else "provisional"
            self.rows.append((measure_key, month, vintage.extract_month, formatter(value), status))


def latest_vintage(vintages: list[Vintage]) -> Vintage:
    """The vintage the main tables hold (the last extract on or before 15 April 2025)."""
    return vintages[-1]


# ---------------------------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------------------------


# (year, lcn code, ethnicity code, age band code, gender code, people)
PopulationRow = tuple[int, int, int, int, int, int]


def population_cells() -> tuple[list[PopulationRow], dict[tuple[int, int, int], int]]:
    """Mid-year adult population, one entry per year x LCN x ethnicity x age band x gender.

    Returns the rows (year, lcn, ethnicity, age, gender codes and the population) and the
    population by (year, lcn, ethnicity) for rates. Deterministic: no random draws.
    """
    age_share = BASE_AGE_SHARE[None, :] * AGE_TILT_BY_ETHNICITY
    age_share = age_share / age_share.sum(axis=1, keepdims=True)
    rows: list[PopulationRow] = []
    by_year_lcn_ethnicity: dict[tuple[int, int, int], int] = {}
    for year in POPULATION_YEARS:
        total = ADULT_POPULATION_2013 * (1.0 + POPULATION_GROWTH_PER_YEAR) ** (year - 2013)
        for lcn in range(len(LCNS)):
            for eth in range(len(POPULATION_ETHNICITIES)):
                subtotal = 0
                for age in range(len(AGE_BANDS)):
                    for gender in range(len(GENDERS)):
                        share = (
                            LCN_POPULATION_SHARE[lcn]
                            * LCN_ETHNIC_MIX[lcn, eth]
                            * age_share[eth, age]
                            * POPULATION_GENDER_SHARE[gender]
                        )
                        people = int(np.floor(total * share + 0.5))
                        rows.append((year, lcn, eth, age, gender, people))
                        subtotal += people
                by_year_lcn_ethnicity[(year, lcn, eth)] = subtotal
    return rows, by_year_lcn_ethnicity


def write_population(path: Path, rows: list[PopulationRow]) -> None:
    """population.parquet: year (int32); lcn, ethnicity, age_band, gender (string);
    population (int64, people)."""
    table = pa.table(
        {
            "year": pa.array([r[0] for r in rows], pa.int32()),
            "lcn": pa.array([LCNS[r[1]] for r in rows], pa.string()),
            "ethnicity": pa.array([ETHNICITIES[r[2]] for r in rows], pa.string()),
            "age_band": pa.array([AGE_BANDS[r[3]] for r in rows], pa.string()),
            "gender": pa.array([GENDERS[r[4]] for r in rows], pa.string()),
            "population": pa.array([r[5] for r in rows], pa.int64()),
        }
    )
    write_parquet(table, path)


# ---------------------------------------------------------------------------------------------
# Referrals
# ---------------------------------------------------------------------------------------------

SERVICES = (
    ("front_door", "Hub/SPA"),
    ("secondary", "Secondary assessment"),
    ("crisis", "Home Treatment"),
    ("crisis", "Crisis Outreach"),
    ("crisis", "Liaison (A&E)"),
)
FRONT_DOOR, SECONDARY, HOME_TREATMENT, CRISIS_OUTREACH, LIAISON = range(5)
PATHWAYS = ("front_door", "secondary", "crisis")
SERVICE_PATHWAY = np.array([0, 1, 2, 2, 2])
SERVICE_DISPERSION: tuple[float | None, ...] = (
    NB_DISPERSION_LARGE,
    NB_DISPERSION_LARGE,
    NB_DISPERSION_LARGE,
    None,  # Crisis Outreach is small: Poisson
    NB_DISPERSION_LARGE,
)

# Borough-level expected monthly counts in a month with seasonal factor 1 at mid-2013
# population, before interventions.
FRONT_DOOR_BASE = 140.0
SECONDARY_BASE = 205.0
HOME_TREATMENT_BASE = 88.0
LIAISON_2018_19 = 150.0  # at October 2018, the middle of 2018/19
LIAISON_GROWTH_PER_YEAR = 1.76 ** (1 / 6)  # +76% from 2018/19 to 2024/25, all years alike
CRISIS_OUTREACH_BY_FIN_YEAR = {
    2013: 20.0, 2014: 20.0, 2015: 20.0, 2016: 20.0, 2017: 20.0, 2018: 20.0, 2019: 20.0,
    2020: 21.0, 2021: 14.0, 2022: 16.5, 2023: 20.5, 2024: 31.0,
}  # fmt: skip

SECONDARY_HUB_RATIO = 0.57
FRONT_DOOR_HUB_RATIO = 2.85
FRONT_DOOR_LWC_RATIO = 1.25
FRONT_DOOR_DEMAND_RATIO = 1.18  # post-covid demand, linear on log scale 2020-10..2021-03
FRONT_DOOR_DEMAND_START = month_index("2020-10")
FRONT_DOOR_DEMAND_MONTHS = 6
ACCEPTED_PRE, ACCEPTED_POST = 0.57, 0.77
FRONT_DOOR_WAIT_MEDIAN_PRE, FRONT_DOOR_WAIT_MEDIAN_POST = 28.0, 9.0
FRONT_DOOR_WAIT_SIGMA = 0.7
SECOND_CONTACT_WITHIN_28_PRE, SECOND_CONTACT_WITHIN_28_POST = 0.40, 0.65
SECOND_CONTACT_SIGMA = 0.55
# First contact falls a Beta(2, 3) share of the way to the second contact.
FIRST_CONTACT_SHARE_OF_SECOND = (2.0, 3.0)
# Crisis first contact in days: geometric, so most are seen the same or next day.
CRISIS_SAME_DAY_PROBABILITY = {HOME_TREATMENT: 0.55, CRISIS_OUTREACH: 0.70, LIAISON: 0.85}
NEVER_SEEN = np.array([0.07, 0.0, 0.03, 0.05, 0.02])

REFERRAL_RATE_RATIO = np.array(  # vs White, by service (Asian, Black, Mixed, White, Other)
    [
        [0.75, 0.95, 1.10, 1.0, 0.90],
        [0.80, 1.50, 1.30, 1.0, 1.00],
        [0.80, 2.00, 1.40, 1.0, 1.10],
        [0.80, 1.80, 1.40, 1.0, 1.10],
        [0.80, 1.40, 1.30, 1.0, 1.10],
    ]
)
REFERRAL_ETHNICITY_PROBS = np.stack([ethnicity_probabilities(rr) for rr in REFERRAL_RATE_RATIO])
REFERRAL_AGE_PROBS = np.array(
    [
        [0.14, 0.30, 0.22, 0.16, 0.11, 0.07],
        [0.12, 0.28, 0.22, 0.18, 0.12, 0.08],
        [0.13, 0.27, 0.22, 0.18, 0.12, 0.08],
        [0.16, 0.30, 0.22, 0.16, 0.10, 0.06],
        [0.20, 0.30, 0.20, 0.15, 0.09, 0.06],
    ]
)
REFERRAL_GENDER_PROBS = np.array(
    [
        [0.58, 0.41, 0.01],
        [0.52, 0.47, 0.01],
        [0.47, 0.52, 0.01],
        [0.45, 0.54, 0.01],
        [0.46, 0.53, 0.01],
    ]
)
REFERRAL_SOURCE_PROBS = np.array(  # GP, Self, A&E, Police, Social care, VCS, Other
    [
        [0.50, 0.28, 0.02, 0.01, 0.05, 0.09, 0.05],
        [0.84, 0.02, 0.03, 0.01, 0.04, 0.02, 0.04],
        [0.18, 0.12, 0.30, 0.08, 0.07, 0.05, 0.20],
        [0.15, 0.25, 0.05, 0.25, 0.10, 0.12, 0.08],
        [0.00, 0.00, 1.00, 0.00, 0.00, 0.00, 0.00],
    ]
)
WEEKDAY_WEIGHTS = (  # Monday..Sunday, by service
    (1.0, 1.0, 1.0, 1.0, 1.0, 0.20, 0.15),
    (1.0, 1.0, 1.0, 1.0, 1.0, 0.20, 0.15),
    (1.0, 1.0, 1.0, 1.0, 1.0, 0.70, 0.60),
    (1.0, 1.0, 1.0, 1.0, 1.0, 1.00, 1.00),
    (1.0, 1.0, 1.0, 1.0, 1.0, 1.10, 1.10),
)


def second_contact_median(share_within_28: float) -> float:
    """Median (days) of the lognormal second-contact wait that puts exactly `share_within_28`
    of rounded waits at 28 days or fewer (that is, below 28.5 before rounding)."""
    z = statistics.NormalDist().inv_cdf(share_within_28)
    return float(np.exp(np.log(28.5) - SECOND_CONTACT_SIGMA * z))


def referral_expected(with_hub: bool = True) -> np.ndarray:
    """Expected monthly referrals, shape [service, LCN, month], for complete data.

    Includes population growth, seasonality, covid and every planted effect; `with_hub=False`
    gives the counterfactual without the Hub scale-up (front door and secondary).
    """
    m = np.arange(N_MONTHS)
    season = seasonal_factors(REFERRAL_SEASON)
    common = POP_GROWTH * season * COVID
    hub = HUB_RAMP if with_hub else np.zeros_like(HUB_RAMP)
    lwc = np.where(m >= LWC_MONTH, FRONT_DOOR_LWC_RATIO, 1.0)
    demand = FRONT_DOOR_DEMAND_RATIO ** np.clip(
        (m - FRONT_DOOR_DEMAND_START + 1) / FRONT_DOOR_DEMAND_MONTHS, 0.0, 1.0
    )
    outreach = np.array([CRISIS_OUTREACH_BY_FIN_YEAR[int(y)] for y in FIN_YEAR])
    liaison = (
        LIAISON_2018_19
        * LIAISON_GROWTH_PER_YEAR ** ((m - month_index("2018-10")) / 12.0)
        * seasonal_factors(LIAISON_SEASON)
        * COVID
    )
    borough = np.stack(
        [
            FRONT_DOOR_BASE * common * lwc * demand,
            SECONDARY_BASE * common,
            HOME_TREATMENT_BASE * common,
            outreach * season * COVID,
            liaison,
        ]
    )
    expected = borough[:, None, :] * LCN_POPULATION_SHARE[None, :, None]
    expected[FRONT_DOOR] *= FRONT_DOOR_HUB_RATIO**hub
    expected[SECONDARY] *= SECONDARY_HUB_RATIO**hub
    return expected


def referral_attributes(
    rng: np.random.Generator, service: np.ndarray, lcn: np.ndarray, day: np.ndarray
) -> dict[str, np.ndarray]:
    """Draw every referral attribute given service, LCN and day (vectorised).

    Returns category codes and day counts; `*_present` arrays mark non-blank values. Contacts
    after the 31 March 2025 extract are not yet known, so they are blank (right-censored).
    """
    n = len(service)
    month = DAY_MONTH_INDEX[day]
    ramp = HUB_RAMP[lcn, month]
    ethnicity = draw_categorical(rng, REFERRAL_ETHNICITY_PROBS.reshape(-1, 6), service * 3 + lcn)
    age = draw_categorical(rng, REFERRAL_AGE_PROBS, service)
    gender = draw_categorical(rng, REFERRAL_GENDER_PROBS, service)
    source = draw_categorical(rng, REFERRAL_SOURCE_PROBS, service)

    is_secondary = service == SECONDARY
    accepted = rng.random(n) < ACCEPTED_PRE + (ACCEPTED_POST - ACCEPTED_PRE) * ramp

    log_median_wait = np.log(FRONT_DOOR_WAIT_MEDIAN_PRE) + ramp * np.log(
        FRONT_DOOR_WAIT_MEDIAN_POST / FRONT_DOOR_WAIT_MEDIAN_PRE
    )
    front_door_wait = np.rint(
        np.exp(log_median_wait + FRONT_DOOR_WAIT_SIGMA * rng.standard_normal(n))
    )
    second_median = np.where(
        month >= LWC_MONTH,
        second_contact_median(SECOND_CONTACT_WITHIN_28_POST),
        second_contact_median(SECOND_CONTACT_WITHIN_28_PRE),
    )
    second_wait = np.rint(second_median * np.exp(SECOND_CONTACT_SIGMA * rng.standard_normal(n)))
    first_wait_secondary = np.floor(second_wait * rng.beta(*FIRST_CONTACT_SHARE_OF_SECOND, n))
    same_day = np.array([CRISIS_SAME_DAY_PROBABILITY.get(s, 0.5) for s in range(len(SERVICES))])
    crisis_wait = rng.geometric(same_day[service]) - 1
    never_seen = rng.random(n) < NEVER_SEEN[service]

    first_wait = np.select(
        [service == FRONT_DOOR, is_secondary], [front_door_wait, first_wait_secondary], crisis_wait
    ).astype(np.int64)
    first_present = ~never_seen & (~is_secondary | accepted) & (day + first_wait <= AS_OF_DAY)
    second_wait = second_wait.astype(np.int64)
    second_present = is_secondary & accepted & first_present & (day + second_wait <= AS_OF_DAY)
    return {
        "ethnicity": ethnicity,
        "age_band": age,
        "gender": gender,
        "source": source,
        "accepted": accepted,
        "accepted_present": is_secondary,
        "first": first_wait,
        "first_present": first_present,
        "second": second_wait,
        "second_present": second_present,
    }


@dataclass
class Referrals:
    """The referral records (sorted, with ids) plus what other tables need from them."""

    service: np.ndarray
    lcn: np.ndarray
    day: np.ndarray
    attributes: dict[str, np.ndarray]
    final_monthly_by_pathway: np.ndarray  # [pathway, month], complete counts
    expected: np.ndarray
    counterfactual: np.ndarray


def generate_referrals(revision_log: RevisionLog) -> Referrals:
    """Referral records: AR(1) x negative-binomial counts per service, LCN and month, then
    record attributes; the last two months thinned to their provisional completeness."""
    rng = stream("referrals")
    expected = referral_expected(with_hub=True)
    counterfactual = referral_expected(with_hub=False)
    counts = np.zeros_like(expected, dtype=np.int64)
    for s in range(len(SERVICES)):
        # One borough-wide shock series per service, shared by its LCNs: independent series per
        # LCN would average out and leave the borough total with almost no autocorrelation.
        noise = ar1_multiplier(rng, N_MONTHS, AR_PHI, AR_INNOVATION_SD)
        for lcn in range(len(LCNS)):
            counts[s, lcn] = negative_binomial(rng, expected[s, lcn] * noise, SERVICE_DISPERSION[s])

    cell_service, cell_lcn, cell_month = np.meshgrid(
        np.arange(len(SERVICES)), np.arange(len(LCNS)), np.arange(N_MONTHS), indexing="ij"
    )
    flat_counts = counts.ravel()
    service = np.repeat(cell_service.ravel(), flat_counts)
    lcn = np.repeat(cell_lcn.ravel(), flat_counts)
    month = np.repeat(cell_month.ravel(), flat_counts)
    day = np.empty(len(service), dtype=np.int64)
    for s in range(len(SERVICES)):
        rows = service == s
        day[rows] = days_within_months(rng, month[rows], WEEKDAY_WEIGHTS[s])

    pathway = SERVICE_PATHWAY[service]
    final_monthly = np.zeros((len(PATHWAYS), N_MONTHS), dtype=np.int64)
    np.add.at(final_monthly, (pathway, month), 1)

    # Provisional months hold only the records received by the 15 April 2025 extract.
    keep = np.ones(len(service), dtype=bool)
    for p, name in enumerate(PATHWAYS):
        key = f"referrals:{name}"
        vintages = revision_vintages(stream(f"revisions:{key}"), 0)
        for m in range(N_MONTHS):
            revision_log.add(key, m, vintages[m], final_monthly[p, m : m + 1])
            if m >= N_MONTHS - N_PROVISIONAL_MONTHS:
                rows = np.flatnonzero((pathway == p) & (month == m))
                n_keep = int(
                    scaled_cells(np.array([len(rows)]), latest_vintage(vintages[m]).fraction)[0]
                )
                dropped = rng.choice(rows, size=len(rows) - n_keep, replace=False)
                keep[dropped] = False
    service, lcn, day = service[keep], lcn[keep], day[keep]

    order = np.lexsort((rng.random(len(service)), day))
    service, lcn, day = service[order], lcn[order], day[order]
    attributes = referral_attributes(rng, service, lcn, day)
    return Referrals(service, lcn, day, attributes, final_monthly, expected, counterfactual)


REFERRAL_COLUMNS = (
    "referral_id",
    "referral_date",
    "pathway",
    "service",
    "lcn",
    "age_band",
    "ethnicity",
    "gender",
    "source",
    "accepted",
    "days_to_first_contact",
    "days_to_second_contact",
)
REFERRALS_ARROW_SCHEMA = pa.schema(
    [
        ("referral_id", pa.string()),
        ("referral_date", pa.date32()),
        ("pathway", pa.string()),
        ("service", pa.string()),
        ("lcn", pa.string()),
        ("age_band", pa.string()),
        ("ethnicity", pa.string()),
        ("gender", pa.string()),
        ("source", pa.string()),
        ("accepted", pa.bool_()),
        ("days_to_first_contact", pa.int64()),
        ("days_to_second_contact", pa.int64()),
    ]
)


def write_referrals(path: Path, referrals: Referrals) -> None:
    """referrals.csv, one row per referral, sorted by referral_date then referral_id."""
    a = referrals.attributes
    n = len(referrals.service)
    columns = [
        np.char.add("R", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        iso_dates(referrals.day),
        np.array([SERVICES[s][0] for s in range(len(SERVICES))])[referrals.service],
        np.array([SERVICES[s][1] for s in range(len(SERVICES))])[referrals.service],
        np.array(LCNS)[referrals.lcn],
        np.array(AGE_BANDS)[a["age_band"]],
        np.array(ETHNICITIES)[a["ethnicity"]],
        np.array(GENDERS)[a["gender"]],
        np.array(SOURCES)[a["source"]],
        format_bool(a["accepted"], a["accepted_present"]),
        format_optional_int(a["first"], a["first_present"]),
        format_optional_int(a["second"], a["second_present"]),
    ]
    write_csv(path, REFERRAL_COLUMNS, columns)


def write_big_referrals(
    n_rows: int, path: Path, seed: int = BIG_REFERRALS_SEED, chunk_rows: int = 1_000_000
) -> None:
    """Write a benchmark referrals table of `n_rows` rows to Parquet (not committed).

    Same columns and types as referrals.csv (see `REFERRALS_ARROW_SCHEMA`) and the same planted
    mix, waits and effects, generated in chunks of `chunk_rows` so memory stays flat: days are
    allocated to all rows at once from the expected daily volume, then each chunk draws its
    services, LCNs and attributes vectorised. Rows are in date order; ids are `R` plus a
    zero-padded number at least 7 digits wide. About 10 million rows take a few seconds per
    million on one core and well under 2 GB of memory.
    """
    rng = stream("big_referrals", seed)
    expected = referral_expected(with_hub=True)  # [service, LCN, month]
    day_month = DAY_MONTH_INDEX
    weekday = weekday_of_day_index(np.arange(N_DAYS))
    per_day = np.empty((len(SERVICES), len(LCNS), N_DAYS))
    for s in range(len(SERVICES)):
        weights = np.asarray(WEEKDAY_WEIGHTS[s])[weekday]
        month_weight = np.bincount(day_month, weights=weights, minlength=N_MONTHS)
        per_day[s] = expected[s][:, day_month] * (weights / month_weight[day_month])[None, :]
    per_day = per_day.reshape(-1, N_DAYS).T  # [day, service * 3 + lcn]
    daily_total = per_day.sum(axis=1)
    rows_per_day = rng.multinomial(n_rows, daily_total / daily_total.sum())
    cell_given_day = per_day / daily_total[:, None]
    day_of_row = np.repeat(np.arange(N_DAYS, dtype=np.int32), rows_per_day)

    width = max(7, len(str(n_rows)))
    pathway_labels = pa.array(PATHWAYS)
    service_labels = pa.array([s[1] for s in SERVICES])

    def labels(codes: np.ndarray, dictionary: pa.Array) -> pa.Array:
        indices = pa.array(codes.astype(np.int8))
        return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())

    with pq.ParquetWriter(path, REFERRALS_ARROW_SCHEMA, compression="snappy") as writer:
        for start in range(0, n_rows, chunk_rows):
            stop = min(start + chunk_rows, n_rows)
            day = day_of_row[start:stop].astype(np.int64)
            cell = draw_categorical(rng, cell_given_day, day)
            service, lcn = cell // len(LCNS), cell % len(LCNS)
            a = referral_attributes(rng, service, lcn, day)
            ids = pc.utf8_lpad(
                pc.cast(pa.array(np.arange(start + 1, stop + 1)), pa.string()), width, "0"
            )
            table = pa.Table.from_arrays(
                [
                    pc.binary_join_element_wise("R", ids, ""),
                    pa.array((FIRST_DAY.astype(np.int64) + day).astype(np.int32), pa.date32()),
                    labels(SERVICE_PATHWAY[service], pathway_labels),
                    labels(service, service_labels),
                    labels(lcn, pa.array(LCNS)),
                    labels(a["age_band"], pa.array(AGE_BANDS)),
                    labels(a["ethnicity"], pa.array(ETHNICITIES)),
                    labels(a["gender"], pa.array(GENDERS)),
                    labels(a["source"], pa.array(SOURCES)),
                    pa.array(a["accepted"], pa.bool_(), mask=~a["accepted_present"]),
                    pa.array(a["first"], pa.int64(), mask=~a["first_present"]),
                    pa.array(a["second"], pa.int64(), mask=~a["second_present"]),
                ],
                schema=REFERRALS_ARROW_SCHEMA,
            )
            writer.write_table(table)


# ---------------------------------------------------------------------------------------------
# Acute admissions and bed days
# ---------------------------------------------------------------------------------------------

ADMISSIONS_PER_MONTH = 75.0
# Stays that began before April 2013 still occupy beds in 2013; simulate two earlier years so
# occupancy starts in steady state. Those admissions are not written to admissions.csv.
ADMISSIONS_BURN_IN_MONTHS = 24
# Average occupied acute beds (bed days / days) by financial year that lengths of stay are
# calibrated to (2020/21 74.5 and 2021/22 88.1 as published; 2022/23 the peak).
ACUTE_BEDS_BY_FIN_YEAR = {
    2011: 80.0, 2012: 80.0, 2013: 80.0, 2014: 79.0, 2015: 77.0, 2016: 76.0, 2017: 76.0,
    2018: 75.5, 2019: 75.0, 2020: 74.5, 2021: 88.1, 2022: 95.0, 2023: 90.0, 2024: 87.0,
}  # fmt: skip
LOS_SIGMA = 0.85  # lognormal sd of length of stay on the log scale
BLACK_LOS_RATIO = 1.10
ADMISSION_RATE_RATIO = np.array([0.80, 1.0, 1.30, 1.0, 1.00])  # Black set by the trend below
ADMISSION_BLACK_RATE_RATIO = (2.3, 2.8)  # linear from April 2013 to March 2025
ADMISSION_AGE_PROBS = np.array([0.16, 0.30, 0.22, 0.16, 0.10, 0.06])
ADMISSION_GENDER_PROBS = np.array([0.44, 0.55, 0.01])
DETAINED_PROBABILITY = np.array([0.55, 0.68, 0.60, 0.52, 0.58])  # by true ethnicity
SLAM_ACUTE_BEDS = 82
PRIVATE_OCCUPANCY_THRESHOLD = 0.95
PRIVATE_WHEN_FULL, PRIVATE_OTHERWISE = 0.85, 0.03
FOLLOW_UP_72H = (0.78, 0.88)  # linear trend in the probability, April 2013 to March 2025
FOLLOW_UP_MONTHLY_SD = 0.02
FOLLOW_UP_RANGE = (0.75, 0.92)
PRIVATE_FOLLOW_UP_RATIO = 0.90
BED_PROVIDERS = ("SLAM", "PRIVATE_SPOT")


@dataclass
class Admissions:
    """Admission records (from April 2013) and the monthly bed days they generate."""

    admit_day: np.ndarray
    discharge_day: np.ndarray
    lcn: np.ndarray
    ethnicity: np.ndarray
    age_band: np.ndarray
    gender: np.ndarray
    detained: np.ndarray
    private: np.ndarray
    followed_up: np.ndarray
    bed_days: np.ndarray  # [provider, recorded ethnicity, month], complete
    expected_monthly: np.ndarray
    beds_by_fin_year: dict[int, float]
    los_multiplier_by_fin_year: dict[int, float]


def overlap_days(
    admit: np.ndarray, discharge: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Bed days (midnights) each stay spends in each window [start, end), shape [stay, window]."""
    lo = np.maximum(admit[:, None], start[None, :])
    hi = np.minimum(discharge[:, None], end[None, :])
    return np.clip(hi - lo, 0, None)


def admission_ethnicity_weights(month: np.ndarray) -> np.ndarray:
    """Unnormalised P(true ethnicity | LCN) for admissions in each month, shape [LCN, n, 5]:
    population mix x rate ratio, the Black rate ratio rising linearly over the period."""
    trend = np.clip(np.asarray(month) / (N_MONTHS - 1), 0.0, 1.0)
    black_rr = ADMISSION_BLACK_RATE_RATIO[0] + trend * (
        ADMISSION_BLACK_RATE_RATIO[1] - ADMISSION_BLACK_RATE_RATIO[0]
    )
    rate_ratio = np.broadcast_to(ADMISSION_RATE_RATIO, (len(trend), 5)).copy()
    rate_ratio[:, BLACK] = black_rr
    return LCN_ETHNIC_MIX[:, None, :] * rate_ratio[None, :, :]


def financial_year_day_windows(fin_years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) day indices of each financial year, the last one cut at 31 March 2025."""
    start = (np.array([np.datetime64(f"{y}-04-01") for y in fin_years]) - FIRST_DAY).astype(
        np.int64
    )
    return start, np.append(start[1:], AS_OF_DAY + 1)


LOS_REFERENCE_COPIES = 20  # copies of each admission, with fresh stays, in the calibration sample


def calibrate_length_of_stay(
    rng: np.random.Generator, admit: np.ndarray, month: np.ndarray, is_black: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Median length of stay (days) by financial year of admission such that average occupied
    beds match `ACUTE_BEDS_BY_FIN_YEAR` given the admissions that actually happened.

    The calibration sample repeats every admission 20 times with freshly drawn lengths of stay,
    so it absorbs the noise in admission numbers (wards discharge sooner when admissions run
    high) but not the luck of which stays turn out long: realised beds still vary around the
    targets by a few per cent. A stay admitted in one year also fills the next, hence the
    iteration.
    """
    admit = np.tile(admit, LOS_REFERENCE_COPIES)
    month = np.tile(month, LOS_REFERENCE_COPIES)
    is_black = np.tile(is_black, LOS_REFERENCE_COPIES)
    shape = np.exp(LOS_SIGMA * rng.standard_normal(len(admit))) * np.where(
        is_black, BLACK_LOS_RATIO, 1.0
    )

    fin_years = np.array(sorted(ACUTE_BEDS_BY_FIN_YEAR))
    fy_of_row = financial_year_starts(FIRST_MONTH + month) - fin_years[0]
    fy_start, fy_end = financial_year_day_windows(fin_years)
    target = np.array([ACUTE_BEDS_BY_FIN_YEAR[int(y)] for y in fin_years])
    admissions_per_day = ADMISSIONS_PER_MONTH * 12 / 365.25
    median_los = target / admissions_per_day / np.exp(LOS_SIGMA**2 / 2)
    for _ in range(12):
        los = np.maximum(1, np.rint(median_los[fy_of_row] * shape)).astype(np.int64)
        bed_days = overlap_days(admit, admit + los, fy_start, fy_end).sum(axis=0)
        beds = bed_days / (fy_end - fy_start) / LOS_REFERENCE_COPIES
        median_los = median_los * target / beds
    return fin_years, median_los


def generate_admissions() -> Admissions:
    """Acute admissions: NB counts (null effect at alliance go-live), lengths of stay calibrated
    to the bed-use profile, and private beds used when NHS occupancy passes 95%."""
    rng = stream("admissions")
    all_months = np.arange(-ADMISSIONS_BURN_IN_MONTHS, N_MONTHS)
    expected = ADMISSIONS_PER_MONTH * seasonal_factors(ACUTE_SEASON, FIRST_MONTH + all_months)
    noise = ar1_multiplier(rng, len(all_months), AR_PHI, OTHER_AR_INNOVATION_SD)
    # About 25 a month per LCN: small enough to be Poisson (the AR(1) adds the overdispersion).
    counts = negative_binomial(
        rng, LCN_POPULATION_SHARE[:, None] * (expected * noise)[None, :], None
    )
    month = np.concatenate([np.repeat(all_months, counts[lcn]) for lcn in range(len(LCNS))])
    lcn = np.concatenate([np.full(counts[lcn].sum(), lcn) for lcn in range(len(LCNS))])
    n = len(month)
    weekday_weight = (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8)
    admit = days_within_months(rng, month, weekday_weight, first_month=-ADMISSIONS_BURN_IN_MONTHS)

    weights = admission_ethnicity_weights(month)[lcn, np.arange(n)]
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cumulative[:, -1] = 1.0
    true_ethnicity = (rng.random(n)[:, None] >= cumulative).sum(axis=1)
    ethnicity = mask_not_stated(rng, true_ethnicity)
    age = draw_categorical(rng, ADMISSION_AGE_PROBS, n=n)
    gender = draw_categorical(rng, ADMISSION_GENDER_PROBS, n=n)
    detained = rng.random(n) < DETAINED_PROBABILITY[true_ethnicity]
    los_z = rng.standard_normal(n)

    los_shape = np.exp(LOS_SIGMA * los_z) * np.where(true_ethnicity == BLACK, BLACK_LOS_RATIO, 1.0)
    fin_years, median_los = calibrate_length_of_stay(rng, admit, month, true_ethnicity == BLACK)
    fy_of_row = financial_year_starts(FIRST_MONTH + month) - fin_years[0]
    los = np.maximum(1, np.rint(median_los[fy_of_row] * los_shape)).astype(np.int64)
    discharge = admit + los
    fy_start, fy_end = financial_year_day_windows(fin_years)
    beds = overlap_days(admit, discharge, fy_start, fy_end).sum(axis=0) / (fy_end - fy_start)

    # Bed management: admit to a private (spot-purchased) bed when NHS beds are nearly full.
    private = np.zeros(n, dtype=bool)
    draw = rng.random(n)
    occupied_until: list[int] = []
    for i in np.lexsort((np.arange(n), admit)):
        while occupied_until and occupied_until[0] <= admit[i]:
            heapq.heappop(occupied_until)
        full = len(occupied_until) >= PRIVATE_OCCUPANCY_THRESHOLD * SLAM_ACUTE_BEDS
        if draw[i] < (PRIVATE_WHEN_FULL if full else PRIVATE_OTHERWISE):
            private[i] = True
        else:
            heapq.heappush(occupied_until, int(discharge[i]))

    discharge_month = np.clip(DAY_MONTH_INDEX[np.clip(discharge, 0, N_DAYS - 1)], 0, N_MONTHS - 1)
    monthly_follow_up = np.clip(
        np.linspace(*FOLLOW_UP_72H, N_MONTHS) + rng.normal(0.0, FOLLOW_UP_MONTHLY_SD, N_MONTHS),
        *FOLLOW_UP_RANGE,
    )
    p_follow = monthly_follow_up[discharge_month] * np.where(private, PRIVATE_FOLLOW_UP_RATIO, 1.0)
    followed_up = rng.random(n) < p_follow

    month_start = (MONTH_START - FIRST_DAY).astype(np.int64)
    month_end = month_start + DAYS_IN_MONTH
    per_month = overlap_days(admit, discharge, month_start, month_end)
    bed_days = np.zeros((len(BED_PROVIDERS), len(ETHNICITIES), N_MONTHS), dtype=np.int64)
    np.add.at(bed_days, (private.astype(np.int64), ethnicity), per_month)

    written = admit >= 0
    order = np.lexsort((rng.random(int(written.sum())), admit[written]))
    keep = np.flatnonzero(written)[order]
    return Admissions(
        admit_day=admit[keep],
        discharge_day=discharge[keep],
        lcn=lcn[keep],
        ethnicity=ethnicity[keep],
        age_band=age[keep],
        gender=gender[keep],
        detained=detained[keep],
        private=private[keep],
        followed_up=followed_up[keep],
        bed_days=bed_days,
        expected_monthly=expected[ADMISSIONS_BURN_IN_MONTHS:],
        beds_by_fin_year={
            int(y): float(b) for y, b in zip(fin_years, beds, strict=True) if y >= 2013
        },
        los_multiplier_by_fin_year={
            int(y): float(m * np.exp(LOS_SIGMA**2 / 2))
            for y, m in zip(fin_years, median_los, strict=True)
            if y >= 2013
        },
    )


def write_admissions(path: Path, adm: Admissions) -> None:
    """admissions.csv, one row per admission from April 2013, sorted by admission_date then id."""
    n = len(adm.admit_day)
    discharged = adm.discharge_day <= AS_OF_DAY
    columns = [
        np.char.add("A", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        iso_dates(adm.admit_day),
        np.where(discharged, iso_dates(np.minimum(adm.discharge_day, AS_OF_DAY)), ""),
        np.array(LCNS)[adm.lcn],
        np.array(ETHNICITIES)[adm.ethnicity],
        np.array(AGE_BANDS)[adm.age_band],
        np.array(GENDERS)[adm.gender],
        np.where(adm.detained, "Detained", "Informal"),
        np.where(adm.private, "PRIVATE_SPOT", "SLAM"),
        format_bool(adm.followed_up, discharged),
    ]
    header = (
        "admission_id", "admission_date", "discharge_date", "lcn", "ethnicity", "age_band",
        "gender", "legal_status", "provider", "followed_up_72h",
    )  # fmt: skip
    write_csv(path, header, columns)


# ---------------------------------------------------------------------------------------------
# Mental Health Act detentions
# ---------------------------------------------------------------------------------------------

# New detentions per 100,000 adults per year by true ethnicity (Asian, Black, Mixed, White,
# Other): Black:White rate ratio exactly 4.
DETENTION_RATE_PER_100K = np.array([115.0, 400.0, 225.0, 100.0, 180.0])
DETENTION_AGE_PROBS = np.array([0.15, 0.32, 0.23, 0.16, 0.09, 0.05])
DETENTION_GENDER_PROBS = np.array([0.38, 0.61, 0.01])
SECTIONS = ("S2", "S3", "S136", "Other")
SECTION_PROBS = np.array([0.42, 0.18, 0.35, 0.05])


@dataclass
class Detentions:
    """Detention records and the expected monthly total."""

    day: np.ndarray
    lcn: np.ndarray
    ethnicity: np.ndarray
    age_band: np.ndarray
    gender: np.ndarray
    section: np.ndarray
    expected_monthly: np.ndarray


def generate_detentions(population: dict[tuple[int, int, int], int]) -> Detentions:
    """Detentions: rate per 100,000 x the calendar year's mid-year population per LCN and
    ethnicity, with seasonality (mean one) and an AR(1) per LCN, negative-binomial counts."""
    rng = stream("detentions")
    calendar_year = MONTHS.astype("datetime64[Y]").astype(np.int64) + 1970
    season = seasonal_factors(ACUTE_SEASON)
    expected_total = np.zeros(N_MONTHS)
    cells = []
    for lcn in range(len(LCNS)):
        noise = ar1_multiplier(rng, N_MONTHS, AR_PHI, OTHER_AR_INNOVATION_SD)
        for eth in range(len(POPULATION_ETHNICITIES)):
            people = np.array([population[(int(y), lcn, eth)] for y in calendar_year])
            mean = DETENTION_RATE_PER_100K[eth] / 100_000 / 12 * people * season
            expected_total += mean
            counts = negative_binomial(rng, mean * noise, NB_DISPERSION_LARGE)
            cells.append((lcn, eth, counts))
    lcn = np.concatenate([np.full(c.sum(), lc) for lc, _, c in cells])
    true_ethnicity = np.concatenate([np.full(c.sum(), e) for _, e, c in cells])
    month = np.concatenate([np.repeat(np.arange(N_MONTHS), c) for _, _, c in cells])
    n = len(month)
    day = days_within_months(rng, month, (1.0,) * 7)
    ethnicity = mask_not_stated(rng, true_ethnicity)
    age = draw_categorical(rng, DETENTION_AGE_PROBS, n=n)
    gender = draw_categorical(rng, DETENTION_GENDER_PROBS, n=n)
    section = draw_categorical(rng, SECTION_PROBS, n=n)
    order = np.lexsort((rng.random(n), day))
    return Detentions(
        day[order], lcn[order], ethnicity[order], age[order], gender[order], section[order],
        expected_total,
    )  # fmt: skip


def write_detentions(path: Path, det: Detentions) -> None:
    """detentions.csv, one row per new detention, sorted by detention_date then id."""
    n = len(det.day)
    columns = [
        np.char.add("D", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        iso_dates(det.day),
        np.array(LCNS)[det.lcn],
        np.array(ETHNICITIES)[det.ethnicity],
        np.array(AGE_BANDS)[det.age_band],
        np.array(GENDERS)[det.gender],
        np.array(SECTIONS)[det.section],
    ]
    header = ("detention_id", "detention_date", "lcn", "ethnicity", "age_band", "gender", "section")
    write_csv(path, header, columns)


# ---------------------------------------------------------------------------------------------
# PROMs (patient- and clinician-reported outcome measures)
# ---------------------------------------------------------------------------------------------

PROM_FIRST_MONTH = month_index("2019-04")
PROM_EPISODES_PER_MONTH = 300.0
PROM_TEAM_PROBS = np.array([0.45, 0.35, 0.20])
PROM_PROVIDER_BY_TEAM = np.array(  # SLAM, LBL_ASC, CERTITUDE, THAMES_REACH, PRIVATE_SPOT
    [[0.75, 0.0, 0.25, 0.0, 0.0], [0.60, 0.0, 0.20, 0.20, 0.0], [0.80, 0.20, 0.0, 0.0, 0.0]]
)
PROM_MEASURES = ("DIALOG", "ReQoL-10", "SWEMWBS")
PROM_MEASURE_BY_TEAM = np.array([[0.10, 0.35, 0.55], [0.35, 0.45, 0.20], [0.80, 0.20, 0.0]])
# Paired coverage: 10% in mid-2019 rising linearly to 40% by mid-2024.
PAIRED_COVERAGE = (0.10, 0.40)
PAIRED_COVERAGE_FROM, PAIRED_COVERAGE_TO = month_index("2019-07"), month_index("2024-07")
RELIABLE_IMPROVEMENT = {"DIALOG": 1.0, "ReQoL-10": 5.0, "SWEMWBS": 3.0}
DIALOG_BASELINE, DIALOG_ITEM_SD, DIALOG_CHANGE = (4.6, 0.75), 0.9, (0.45, 0.8)
REQOL_BASELINE, REQOL_CHANGE = (19.0, 6.5), (3.0, 6.5)
SWEMWBS_RAW_BASELINE, SWEMWBS_RAW_CHANGE = (20.5, 4.5), (4.0, 4.5)
# Raw SWEMWBS total (7-35) to metric score, in hundredths. Illustrative: shaped like the
# published Rasch conversion table, not for scoring real responses.
SWEMWBS_METRIC_HUNDREDTHS = np.array(
    [
        700, 951, 1125, 1240, 1333, 1408, 1475, 1532, 1584, 1636, 1688, 1743, 1798, 1859, 1925,
        1998, 2073, 2154, 2235, 2321, 2411, 2503, 2602, 2703, 2813, 2931, 3070, 3255, 3500,
    ]
)  # fmt: skip


def paired_coverage(month_idx: np.ndarray) -> np.ndarray:
    """Probability that a closed episode has a paired (baseline and review) score."""
    share = (month_idx - PAIRED_COVERAGE_FROM) / (PAIRED_COVERAGE_TO - PAIRED_COVERAGE_FROM)
    return PAIRED_COVERAGE[0] + (PAIRED_COVERAGE[1] - PAIRED_COVERAGE[0]) * share


def write_proms(path: Path) -> dict[str, float]:
    """proms.csv, one row per eligible closed episode from April 2019. Returns realised means."""
    rng = stream("proms")
    months = np.arange(PROM_FIRST_MONTH, N_MONTHS)
    season = seasonal_factors(REFERRAL_SEASON)[months]
    noise = ar1_multiplier(rng, len(months), AR_PHI, OTHER_AR_INNOVATION_SD)
    counts = negative_binomial(
        rng,
        LCN_POPULATION_SHARE[:, None] * (PROM_EPISODES_PER_MONTH * season * noise)[None, :],
        NB_DISPERSION_LARGE,
    )
    month = np.concatenate([np.repeat(months, counts[lcn]) for lcn in range(len(LCNS))])
    lcn = np.concatenate([np.full(counts[lcn].sum(), lcn) for lcn in range(len(LCNS))])
    n = len(month)
    day = days_within_months(rng, month, (1.0, 1.0, 1.0, 1.0, 1.0, 0.05, 0.05))
    team = draw_categorical(rng, PROM_TEAM_PROBS, n=n)
    provider = draw_categorical(rng, PROM_PROVIDER_BY_TEAM, team)
    ethnicity = draw_categorical(rng, REFERRAL_ETHNICITY_PROBS[FRONT_DOOR], lcn)
    measure = draw_categorical(rng, PROM_MEASURE_BY_TEAM, team)
    paired = rng.random(n) < paired_coverage(month)

    # Scores are kept as exact integers (DIALOG item sums, ReQoL totals, SWEMWBS hundredths) so
    # the reliable-improvement flag is exact.
    latent = rng.normal(*DIALOG_BASELINE, n)
    latent_review = latent + rng.normal(*DIALOG_CHANGE, n)
    items = np.clip(np.rint(latent[:, None] + rng.normal(0, DIALOG_ITEM_SD, (n, 8))), 1, 7)
    items_review = np.clip(
        np.rint(latent_review[:, None] + rng.normal(0, DIALOG_ITEM_SD, (n, 8))), 1, 7
    )
    dialog_base, dialog_review = (
        items.sum(axis=1).astype(np.int64),
        items_review.sum(axis=1).astype(np.int64),
    )
    reqol_base = np.clip(np.rint(rng.normal(*REQOL_BASELINE, n)), 0, 40).astype(np.int64)
    reqol_review = np.clip(reqol_base + np.rint(rng.normal(*REQOL_CHANGE, n)), 0, 40).astype(
        np.int64
    )
    raw_base = np.clip(np.rint(rng.normal(*SWEMWBS_RAW_BASELINE, n)), 7, 35).astype(np.int64)
    raw_review = np.clip(raw_base + np.rint(rng.normal(*SWEMWBS_RAW_CHANGE, n)), 7, 35).astype(
        np.int64
    )
    swem_base = SWEMWBS_METRIC_HUNDREDTHS[raw_base - 7]
    swem_review = SWEMWBS_METRIC_HUNDREDTHS[raw_review - 7]

    improved = np.select(
        [measure == 0, measure == 1],
        [dialog_review - dialog_base >= 8, reqol_review - reqol_base >= 5],
        swem_review - swem_base >= 300,
    )

    def text(dialog_sum: np.ndarray, reqol: np.ndarray, swem: np.ndarray) -> np.ndarray:
        dialog_text = np.array([f"{v / 8:.2f}" for v in dialog_sum])
        swem_text = np.array([format_pence(v) for v in swem])
        return np.select([measure == 0, measure == 1], [dialog_text, reqol.astype(str)], swem_text)

    order = np.lexsort((rng.random(n), day))
    columns = [
        np.char.add("E", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        iso_dates(day[order]),
        np.array(TEAMS)[team[order]],
        np.array(PROVIDER_IDS)[provider[order]],
        np.array(LCNS)[lcn[order]],
        np.array(ETHNICITIES)[ethnicity[order]],
        np.array(PROM_MEASURES)[measure[order]],
        text(dialog_base, reqol_base, swem_base)[order],
        np.where(paired, text(dialog_review, reqol_review, swem_review), "")[order],
        format_bool(paired[order]),
        format_bool(improved, paired)[order],
    ]
    header = (
        "episode_id", "closed_date", "team", "provider", "lcn", "ethnicity", "measure",
        "baseline_score", "review_score", "paired", "reliable_improvement",
    )  # fmt: skip
    write_csv(path, header, columns)
    return {
        "episodes": int(n),
        "paired_share": float(paired.mean()),
        "dialog_baseline_mean": float(dialog_base[measure == 0].mean() / 8),
        "dialog_change_mean_paired": float(
            ((dialog_review - dialog_base) / 8)[(measure == 0) & paired].mean()
        ),
        "swemwbs_baseline_mean": float(swem_base[measure == 2].mean() / 100),
        "swemwbs_review_mean_paired": float(swem_review[(measure == 2) & paired].mean() / 100),
        "reqol_baseline_mean": float(reqol_base[measure == 1].mean()),
    }


# ---------------------------------------------------------------------------------------------
# Monthly activity (long format, one grain per measure)
# ---------------------------------------------------------------------------------------------

ACTIVITY_MEASURES = (
    "open_referrals",
    "tt_finished",
    "tt_recovered",
    "bed_days_acute",
    "oap_bed_days",
    "settled_accom_num",
    "settled_accom_den",
    "employed_num",
    "employed_den",
    "ips_job_starts",
    "sanctuary_visits",
    "sanctuary_avoided_ae",
    "phc_num",
    "phc_den",
    "black_bed_days",
    "all_bed_days",
)
ACTIVITY_COLUMNS = (
    "month",
    "measure",
    "lcn",
    "ethnicity",
    "age_band",
    "provider",
    "team",
    "value",
    "data_status",
)
BLANK = -1  # dimension not broken down for that measure

# open_referrals: borough caseload by team at mid-2013 population; Hub/SPA grows with the Hub
# (same LCN phasing), Focused Support shrinks as fewer people need long-term care.
OPEN_HUB_PRE, OPEN_HUB_POST = 350.0, 900.0
OPEN_SHORT_TERM = 2000.0
OPEN_FOCUSED_PRE, OPEN_FOCUSED_POST = 4000.0, 3400.0
OPEN_FOCUSED_FROM, OPEN_FOCUSED_TO = month_index("2016-01"), month_index("2018-06")
STOCK_AR_PHI, STOCK_AR_SD = 0.8, 0.02
# MHSDS measure changes: multiplicative steps from April 2021 and April 2023.
OPEN_REFERRALS_BREAKS = {BREAK_2021: 1.08, BREAK_2023: 0.93}
MHSDS_DENOMINATOR_BREAK_2021 = 1.12  # settled accommodation and employment denominators
SETTLED_SHARE_BREAK_2021 = 0.03  # absolute step in the settled-accommodation proportion

TT_FINISHED_PER_MONTH = 350.0
TT_RATE_RATIO = (0.85, 0.75, 1.00, 1.0, 0.90)
TT_COVID = {"2020-04-01": 0.70, "2020-05-01": 0.75, "2020-06-01": 0.85}
TT_RECOVERY = (0.515, 0.575)  # linear from April 2013 to April 2021, flat after
TT_RECOVERY_COVID_DIP = {"2020-04-01": -0.07, "2020-05-01": -0.06, "2020-06-01": -0.04}
TT_RECOVERY_BY_ETHNICITY = np.array([-0.04, -0.05, -0.02, 0.0, -0.03, -0.03])

SETTLED_DENOMINATOR = 3100.0
SETTLED_SHARE = (0.575, 0.595)  # linear over the period, plus the 2021 step
SETTLED_BY_ETHNICITY = np.array([0.01, -0.03, -0.02, 0.01, -0.01, -0.02])
EMPLOYED_STATUS_RECORDED = 0.955
EMPLOYED_SHARE = (0.06, 0.08)
EMPLOYED_BY_ETHNICITY = np.array([0.0, -0.015, -0.01, 0.01, -0.01, -0.01])
MHSDS_MISSING_MONTH = month_index("2021-04")

IPS_JOB_STARTS_PER_MONTH = 6.5
SANCTUARY_RAMP = (45.0, 65.0, 85.0, 100.0, 110.0)
SANCTUARY_VISITS_PER_MONTH = 118.0
SANCTUARY_AVOIDED_AE = 0.57
SANCTUARY_MISSING_MONTHS = (month_index("2022-11"), month_index("2022-12"))

SMI_REGISTER = (3700.0, 4300.0)  # linear over the period
SMI_REGISTER_LCN_SHARE = np.array([0.37, 0.35, 0.28])
PHC_CHECK_SHARE_KNOTS = (
    (month_index("2013-04"), 0.35),
    (month_index("2019-12"), 0.55),
    (month_index("2020-06"), 0.55),
    (month_index("2021-03"), 0.40),
    (month_index("2022-03"), 0.52),
    (month_index("2025-03"), 0.63),
)
PHC_BY_LCN = np.array([-0.02, 0.0, 0.02])


def monthly_factor(by_label: dict[str, float], default: float) -> np.ndarray:
    """Per-month values from a {first-of-month label: value} mapping."""
    values = np.full(N_MONTHS, default)
    for label, value in by_label.items():
        values[month_index(label)] = value
    return values


def borough_ethnicity_probabilities(rate_ratio: Sequence[float]) -> np.ndarray:
    """P(recorded ethnicity) for the borough: LCN mixes weighted by population share."""
    return LCN_POPULATION_SHARE @ ethnicity_probabilities(rate_ratio)


@dataclass
class Activity:
    """Rows of activity_monthly.csv and the final monthly series other tables reuse."""

    rows: list[tuple[int, int, int, int, int, int, int, int | None]]
    oap_bed_days_final: np.ndarray
    slam_bed_days_final: np.ndarray
    tt_finished_final: np.ndarray
    ips_job_starts: np.ndarray
    sanctuary_visits: np.ndarray  # -1 where missing, 0 before the service opened
    focused_caseload: np.ndarray
    realised: dict[str, object]


def generate_activity(admissions: Admissions, revision_log: RevisionLog) -> Activity:
    """Every activity measure, month by month, at its one grain."""
    rng = stream("activity")
    m = np.arange(N_MONTHS)
    season = seasonal_factors(REFERRAL_SEASON)
    rows: list[tuple[int, int, int, int, int, int, int, int | None]] = []
    measure_code = {name: i for i, name in enumerate(ACTIVITY_MEASURES)}

    def add(measure: str, month: int, value: int | None, *, lcn: int = BLANK, eth: int = BLANK,
            provider: int = BLANK, team: int = BLANK) -> None:  # fmt: skip
        rows.append((month, measure_code[measure], lcn, eth, BLANK, provider, team, value))

    # open_referrals: lcn x team
    breaks = np.ones(N_MONTHS)
    for month, factor in OPEN_REFERRALS_BREAKS.items():
        breaks[month:] *= factor
    focused = OPEN_FOCUSED_PRE + (OPEN_FOCUSED_POST - OPEN_FOCUSED_PRE) * np.clip(
        (m - OPEN_FOCUSED_FROM) / (OPEN_FOCUSED_TO - OPEN_FOCUSED_FROM), 0.0, 1.0
    )
    open_refs = np.zeros((len(LCNS), len(TEAMS), N_MONTHS), dtype=np.int64)
    for lcn in range(len(LCNS)):
        team_levels = (
            OPEN_HUB_PRE * (OPEN_HUB_POST / OPEN_HUB_PRE) ** HUB_RAMP[lcn],
            np.full(N_MONTHS, OPEN_SHORT_TERM),
            focused,
        )
        for team, level in enumerate(team_levels):
            noise = ar1_multiplier(rng, N_MONTHS, STOCK_AR_PHI, STOCK_AR_SD)
            mean = level * LCN_POPULATION_SHARE[lcn] * POP_GROWTH * breaks * noise
            open_refs[lcn, team] = rng.poisson(mean)

    # Talking Therapies: ethnicity
    tt_probs = borough_ethnicity_probabilities(TT_RATE_RATIO)
    tt_noise = ar1_multiplier(rng, N_MONTHS, AR_PHI, 0.05)
    tt_mean = TT_FINISHED_PER_MONTH * POP_GROWTH * season * monthly_factor(TT_COVID, 1.0) * tt_noise
    tt_finished = negative_binomial(rng, tt_probs[:, None] * tt_mean[None, :], NB_DISPERSION_LARGE)
    recovery = (
        TT_RECOVERY[0]
        + (TT_RECOVERY[1] - TT_RECOVERY[0]) * np.clip(m / month_index("2021-04"), 0.0, 1.0)
        + monthly_factor(TT_RECOVERY_COVID_DIP, 0.0)
    )
    tt_recovered = rng.binomial(tt_finished, recovery[None, :] + TT_RECOVERY_BY_ETHNICITY[:, None])

    # Settled accommodation and employment: lcn x ethnicity
    cell_weights = LCN_POPULATION_SHARE[:, None] * ethnicity_probabilities(
        REFERRAL_RATE_RATIO[SECONDARY]
    )
    denominator = (
        SETTLED_DENOMINATOR
        * POP_GROWTH
        * np.where(m >= BREAK_2021, MHSDS_DENOMINATOR_BREAK_2021, 1.0)
        * ar1_multiplier(rng, N_MONTHS, STOCK_AR_PHI, STOCK_AR_SD)
    )
    settled_den = rng.poisson(cell_weights[:, :, None] * denominator[None, None, :])
    settled_p = (
        np.linspace(*SETTLED_SHARE, N_MONTHS)
        + np.where(m >= BREAK_2021, SETTLED_SHARE_BREAK_2021, 0.0)
    )[None, None, :] + SETTLED_BY_ETHNICITY[None, :, None]
    settled_num = rng.binomial(settled_den, settled_p)
    employed_den = rng.binomial(settled_den, EMPLOYED_STATUS_RECORDED)
    employed_p = (
        np.linspace(*EMPLOYED_SHARE, N_MONTHS)[None, None, :] + EMPLOYED_BY_ETHNICITY[None, :, None]
    )
    employed_num = rng.binomial(employed_den, employed_p)

    # IPS job starts: ethnicity (small counts, many zeros)
    ips_total = rng.poisson(IPS_JOB_STARTS_PER_MONTH * POP_GROWTH * COVID)
    ips_probs = borough_ethnicity_probabilities(REFERRAL_RATE_RATIO[SECONDARY])
    ips = np.stack([rng.multinomial(t, ips_probs) for t in ips_total], axis=1)

    # Evening Sanctuary (Certitude): from May 2019 only
    sanctuary_mean = np.zeros(N_MONTHS)
    open_months = m >= SANCTUARY_MONTH
    sanctuary_mean[open_months] = SANCTUARY_VISITS_PER_MONTH * (
        POP_GROWTH[open_months] / POP_GROWTH[SANCTUARY_MONTH]
    )
    sanctuary_mean[SANCTUARY_MONTH : SANCTUARY_MONTH + len(SANCTUARY_RAMP)] = SANCTUARY_RAMP
    sanctuary_visits = rng.poisson(sanctuary_mean * COVID)
    sanctuary_avoided = rng.binomial(sanctuary_visits, SANCTUARY_AVOIDED_AE)

    # Physical health checks for people on the SMI register: lcn
    register = np.linspace(*SMI_REGISTER, N_MONTHS)
    phc_den = np.rint(
        SMI_REGISTER_LCN_SHARE[:, None] * register[None, :]
        + rng.normal(0.0, 15.0, (len(LCNS), N_MONTHS))
    ).astype(np.int64)
    knots = np.array(PHC_CHECK_SHARE_KNOTS)
    phc_p = np.interp(m, knots[:, 0], knots[:, 1])[None, :] + PHC_BY_LCN[:, None]
    phc_num = rng.binomial(phc_den, phc_p)

    # Bed days: provider x ethnicity from admissions; the last two months hold the provisional
    # extract, and the derived bed-day measures are computed from what is held.
    bed_days = admissions.bed_days.copy()
    bed_vintages = revision_vintages(stream("revisions:activity:bed_days_acute"), 0)
    tt_vintages = revision_vintages(stream("revisions:activity:tt_finished"), 0)
    tt_finished_held, tt_recovered_held = tt_finished.copy(), tt_recovered.copy()
    for month in range(N_MONTHS):
        revision_log.add(
            "activity:bed_days_acute", month, bed_vintages[month], bed_days[:, :, month].ravel()
        )
        revision_log.add("activity:tt_finished", month, tt_vintages[month], tt_finished[:, month])
        bed_fraction = latest_vintage(bed_vintages[month]).fraction
        tt_fraction = latest_vintage(tt_vintages[month]).fraction
        bed_days[:, :, month] = scaled_cells(bed_days[:, :, month], bed_fraction)
        tt_finished_held[:, month] = scaled_cells(tt_finished[:, month], tt_fraction)
        tt_recovered_held[:, month] = scaled_cells(tt_recovered[:, month], tt_fraction)

    mhsds_missing = m == MHSDS_MISSING_MONTH
    for month in range(N_MONTHS):
        for lcn in range(len(LCNS)):
            for team in range(len(TEAMS)):
                add("open_referrals", month, int(open_refs[lcn, team, month]), lcn=lcn, team=team)
        for eth in range(len(ETHNICITIES)):
            add("tt_finished", month, int(tt_finished_held[eth, month]), eth=eth)
        for eth in range(len(ETHNICITIES)):
            add("tt_recovered", month, int(tt_recovered_held[eth, month]), eth=eth)
        for provider, provider_id in enumerate(BED_PROVIDERS):
            for eth in range(len(ETHNICITIES)):
                add("bed_days_acute", month, int(bed_days[provider, eth, month]),
                    eth=eth, provider=PROVIDER_IDS.index(provider_id))  # fmt: skip
        add(
            "oap_bed_days",
            month,
            int(bed_days[1, :, month].sum()),
            provider=PROVIDER_IDS.index("PRIVATE_SPOT"),
        )
        for measure, values in (
            ("settled_accom_num", settled_num),
            ("settled_accom_den", settled_den),
            ("employed_num", employed_num),
            ("employed_den", employed_den),
        ):
            for lcn in range(len(LCNS)):
                for eth in range(len(ETHNICITIES)):
                    value = None if mhsds_missing[month] else int(values[lcn, eth, month])
                    add(measure, month, value, lcn=lcn, eth=eth)
        for eth in range(len(ETHNICITIES)):
            add("ips_job_starts", month, int(ips[eth, month]), eth=eth)
        if month >= SANCTUARY_MONTH:
            missing = month in SANCTUARY_MISSING_MONTHS
            certitude = PROVIDER_IDS.index("CERTITUDE")
            add(
                "sanctuary_visits",
                month,
                None if missing else int(sanctuary_visits[month]),
                provider=certitude,
            )
            add("sanctuary_avoided_ae", month, None if missing else int(sanctuary_avoided[month]),
                provider=certitude)  # fmt: skip
        for lcn in range(len(LCNS)):
            add("phc_num", month, int(phc_num[lcn, month]), lcn=lcn)
        for lcn in range(len(LCNS)):
            add("phc_den", month, int(phc_den[lcn, month]), lcn=lcn)
        add("black_bed_days", month, int(bed_days[:, BLACK, month].sum()))
        add("all_bed_days", month, int(bed_days[:, :, month].sum()))

    rows.sort(key=lambda r: r[:7])
    held_visits = np.where(open_months, sanctuary_visits, 0)
    held_visits[list(SANCTUARY_MISSING_MONTHS)] = -1
    all_bed_days = admissions.bed_days.sum(axis=(0, 1))
    black_bed_days = admissions.bed_days[:, BLACK].sum(axis=0)
    beds_by_year, black_share_by_year = {}, {}
    for year in sorted({int(y) for y in FIN_YEAR}):
        in_year = np.equal(FIN_YEAR, year)
        label = financial_year_label(year)
        beds_by_year[label] = round(
            float(all_bed_days[in_year].sum() / DAYS_IN_MONTH[in_year].sum()), 2
        )
        black_share_by_year[label] = round(
            float(black_bed_days[in_year].sum() / all_bed_days[in_year].sum()), 4
        )
    realised = {
        "average_occupied_beds_by_fin_year": beds_by_year,
        "black_share_of_bed_days_by_fin_year": black_share_by_year,
    }
    return Activity(
        rows=rows,
        oap_bed_days_final=admissions.bed_days[1].sum(axis=0),
        slam_bed_days_final=admissions.bed_days[0].sum(axis=0),
        tt_finished_final=tt_finished.sum(axis=0),
        ips_job_starts=ips_total,
        sanctuary_visits=held_visits,
        focused_caseload=open_refs[:, 2].sum(axis=0),
        realised=realised,
    )


def write_activity(path: Path, activity: Activity) -> None:
    """activity_monthly.csv, sorted by month, measure (listed order) and dimension codes."""

    def label(values: Sequence[str], code: int) -> str:
        return "" if code == BLANK else values[code]

    columns: list[list[str]] = [[] for _ in ACTIVITY_COLUMNS]
    for month, measure, lcn, eth, age, provider, team, value in activity.rows:
        record = (
            MONTH_LABELS[month],
            ACTIVITY_MEASURES[measure],
            label(LCNS, lcn),
            label(ETHNICITIES, eth),
            label(AGE_BANDS, age),
            label(PROVIDER_IDS, provider),
            label(TEAMS, team),
            "" if value is None else str(value),
            "provisional" if month >= N_MONTHS - N_PROVISIONAL_MONTHS else "final",
        )
        for column, text in zip(columns, record, strict=True):
            column.append(text)
    write_csv(path, ACTIVITY_COLUMNS, columns)


# ---------------------------------------------------------------------------------------------
# IPSA partner return (Excel)
# ---------------------------------------------------------------------------------------------

IPSA_FIRST_MONTH = month_index("2014-04")
IPSA_COHORT = 200.0
IPSA_LIVING_INDEPENDENTLY_KNOTS = ((month_index("2015-04"), 0.0), (month_index("2018-04"), 75.0),
                                   (month_index("2023-04"), 90.0))  # fmt: skip
IPSA_RESIDENTIAL_KNOTS = ((month_index("2015-04"), 200.0), (month_index("2019-04"), 130.0))


def ipsa_expected() -> tuple[np.ndarray, np.ndarray]:
    """Expected people living independently and in residential placements, by month: flat
    before IPSA go-live, then piecewise-linear (slope changes at April 2015)."""
    m = np.arange(N_MONTHS)
    living = np.array(IPSA_LIVING_INDEPENDENTLY_KNOTS)
    residential = np.array(IPSA_RESIDENTIAL_KNOTS)
    return (
        np.interp(m, living[:, 0], living[:, 1]),
        np.interp(m, residential[:, 0], residential[:, 1]),
    )


@dataclass
class Ipsa:
    """The IPSA return by month (people)."""

    cohort: np.ndarray
    living_independently: np.ndarray
    residential: np.ndarray


def generate_ipsa() -> Ipsa:
    """Cohort size, people living independently and residential placements by month."""
    rng = stream("ipsa")
    living_expected, residential_expected = ipsa_expected()
    cohort = np.rint(IPSA_COHORT + ar1_process(rng, N_MONTHS, 0.9, 1.2)).astype(np.int64)
    living = np.maximum(0, np.rint(living_expected + ar1_process(rng, N_MONTHS, 0.7, 1.0))).astype(
        np.int64
    )
    living[: IPSA_MONTH + 1] = 0  # nobody had moved on through IPSA before it went live
    residential = np.rint(residential_expected + ar1_process(rng, N_MONTHS, 0.7, 1.5)).astype(
        np.int64
    )
    return Ipsa(cohort, living, residential)


def write_ipsa(path: Path, ipsa: Ipsa) -> None:
    """ipsa_monthly.xlsx: one sheet `IPSA`, one row per month from April 2014."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "IPSA"
    sheet.append(
        ["month", "cohort_size", "living_independently", "residential_placements", "data_status"]
    )
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for month in range(IPSA_FIRST_MONTH, N_MONTHS):
        first_of_month = dt.date.fromisoformat(str(MONTH_LABELS[month]))
        status = "provisional" if month >= N_MONTHS - N_PROVISIONAL_MONTHS else "final"
        people = (ipsa.cohort[month], ipsa.living_independently[month], ipsa.residential[month])
        sheet.append([first_of_month, *(int(v) for v in people), status])
        sheet.cell(row=sheet.max_row, column=1).number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDE", (12, 13, 21, 23, 13), strict=True):
        sheet.column_dimensions[column].width = width
    properties = workbook.properties
    properties.creator = "Alliance Board sample data generator (SYNTHETIC)"
    properties.lastModifiedBy = "Alliance Board sample data generator (SYNTHETIC)"
    properties.title = "IPSA monthly return (synthetic)"
    properties.created = FIXED_DOC_TIME
    properties.modified = FIXED_DOC_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(reproducible_xlsx(buffer.getvalue()))


# ---------------------------------------------------------------------------------------------
# Costs (domain.md section 6)
# ---------------------------------------------------------------------------------------------

COSTS_FIRST_MONTH = month_index("2014-04")
ICB_FROM_MONTH = month_index("2022-07")  # CCG replaced by the ICB for periods from July 2022
ALLIANCE_MONTH = month_index(INTERVENTIONS["alliance_go_live"])
PROVIDER_NAMES = {
    "SLAM": "South London and Maudsley NHS Foundation Trust",
    "LBL_ASC": "Lambeth Council Adult Social Care",
    "CERTITUDE": "Certitude",
    "THAMES_REACH": "Thames Reach",
    "PRIVATE_SPOT": "Independent sector (spot purchase)",
}
PROVIDER_TYPES = {
    "SLAM": "NHS trust",
    "LBL_ASC": "Local authority",
    "CERTITUDE": "VCS",
    "THAMES_REACH": "VCS",
    "PRIVATE_SPOT": "Independent sector",
}
COST_TYPES = ("pay", "non-pay", "placements/spot purchase", "overhead")
# Year-end accruals land in March; other months carry correspondingly less so the year is unbiased.
MARCH_ACCRUAL = {"pay": 1.08, "non-pay": 1.50, "placements/spot purchase": 1.15, "overhead": 1.30}
COST_NOISE_SD = {"pay": 0.015, "non-pay": 0.06, "placements/spot purchase": 0.03, "overhead": 0.03}
LINE_YEAR_BIAS = (0.005, 0.02)  # mean and sd of each line's yearly over/underspend (share)
BUDGET_INFLATION = 1.025  # per year, budgets reset each April
IPSA_ANNUAL_BUDGET = 12_000_000.0
IPSA_ACTUAL_VS_2014_15 = {2014: 1.0, 2015: 0.90}  # 0.80 from 2016/17 on
IPSA_SAVED_RATIO = 0.80
PRIVATE_BED_DAY_PRICE_2018 = 750.0  # GBP per bed day in 2018/19
PRIVATE_BED_DAY_PRICE_GROWTH = 1.03
ACUTE_BUDGETED_SLAM_BEDS = 78.0
SUPPORTED_PLACEMENTS = (80.0, 95.0)  # people, linear over the period
SUPPORTED_WEEKLY_COST_2014 = 560.0  # GBP per placement week in April 2014
SUPPORTED_WEEKLY_COST_GROWTH = 1.095  # per year
SUPPORTED_BUDGET_SHORTFALL_PER_YEAR = 0.01  # budgets lag unit-cost growth, so overspend grows


@dataclass(frozen=True)
class ServiceLine:
    """One service line of the pooled budget and how its costs behave."""

    line_id: str
    name: str
    pod: str
    commissioner: str  # "nhs" or "council"
    funding_stream: str
    annual_budget_2018: float  # GBP in 2018/19 for the budget-shared components
    components: tuple[tuple[str, str, float], ...]  # provider, cost type, share of that budget
    kind: str = "standard"  # standard | private_beds | ipsa | placements
    activity: str | None = None
    activity_unit: str = ""
    # The component row that carries the line's activity, so actual / activity is a unit cost.
    activity_component: int = 0
    first_month: int = COSTS_FIRST_MONTH


PAY, NON_PAY, PLACEMENTS, OVERHEAD = COST_TYPES
SERVICE_LINES = (
    ServiceLine(
        "acute_inpatient", "Acute inpatient and PICU", "inpatient", "nhs", "NHS", 17_400_000,
        (("SLAM", PAY, 0.68), ("SLAM", NON_PAY, 0.17), ("SLAM", OVERHEAD, 0.15)),
        activity="slam_bed_days", activity_unit="bed days",
    ),
    ServiceLine(
        "private_beds", "Private and out-of-area beds", "inpatient", "nhs", "NHS", 1_800_000,
        (("PRIVATE_SPOT", PLACEMENTS, 1.0),),
        kind="private_beds", activity="oap_bed_days", activity_unit="bed days",
    ),
    ServiceLine(
        "hub_spa", "Hub / Single Point of Access", "community", "nhs", "NHS", 3_600_000,
        (("SLAM", PAY, 0.45), ("SLAM", NON_PAY, 0.05), ("SLAM", OVERHEAD, 0.05),
         ("CERTITUDE", PAY, 0.35), ("CERTITUDE", NON_PAY, 0.10)),
        activity="front_door_referrals", activity_unit="introductions",
    ),
    ServiceLine(
        "short_term_support", "Short Term Support", "community", "nhs", "NHS", 3_000_000,
        (("SLAM", PAY, 0.60), ("SLAM", NON_PAY, 0.05), ("SLAM", OVERHEAD, 0.05),
         ("THAMES_REACH", PAY, 0.25), ("THAMES_REACH", NON_PAY, 0.05)),
    ),
    ServiceLine(
        "focused_support", "Focused Support", "community", "nhs", "NHS", 4_800_000,
        (("SLAM", PAY, 0.70), ("SLAM", NON_PAY, 0.08), ("SLAM", OVERHEAD, 0.07),
         ("LBL_ASC", PAY, 0.15)),
        activity="focused_caseload", activity_unit="people on caseload",
    ),
    ServiceLine(
        "crisis", "Crisis: home treatment, outreach and liaison", "crisis", "nhs", "NHS",
        4_350_000,
        (("SLAM", PAY, 0.75), ("SLAM", NON_PAY, 0.13), ("SLAM", OVERHEAD, 0.12)),
        activity="crisis_referrals", activity_unit="referrals",
    ),
    ServiceLine(
        "evening_sanctuary", "Evening Sanctuary", "crisis", "nhs", "NHS", 450_000,
        (("CERTITUDE", PAY, 0.80), ("CERTITUDE", NON_PAY, 0.20)),
        activity="sanctuary_visits", activity_unit="visits", first_month=SANCTUARY_MONTH,
    ),
    ServiceLine(
        "ipsa", "IPSA: rehabilitation, ART and placements", "accommodation", "council",
        "Pooled budget", IPSA_ANNUAL_BUDGET,
        (("SLAM", PAY, 0.30), ("SLAM", NON_PAY, 0.06), ("SLAM", OVERHEAD, 0.04),
         ("LBL_ASC", PLACEMENTS, 0.45), ("CERTITUDE", PAY, 0.08), ("THAMES_REACH", PAY, 0.07)),
        kind="ipsa", activity="ipsa_placement_weeks", activity_unit="placement weeks",
        activity_component=3,
    ),
    ServiceLine(
        "supported_accommodation", "Supported accommodation and residential/nursing placements",
        "accommodation", "council", "Local authority", 600_000,
        (("LBL_ASC", PLACEMENTS, 0.0), ("THAMES_REACH", PAY, 0.77),
         ("THAMES_REACH", NON_PAY, 0.23)),
        kind="placements", activity="supported_placement_weeks", activity_unit="placement weeks",
    ),
    ServiceLine(
        "talking_therapies", "Talking Therapies", "talking therapies", "nhs", "NHS", 3_600_000,
        (("SLAM", PAY, 0.80), ("SLAM", NON_PAY, 0.10), ("SLAM", OVERHEAD, 0.10)),
        activity="tt_finished", activity_unit="finished courses",
    ),
    ServiceLine(
        "employment_ips", "Employment support (IPS)", "employment", "council", "Local authority",
        900_000,
        (("THAMES_REACH", PAY, 0.85), ("THAMES_REACH", NON_PAY, 0.15)),
        activity="ips_job_starts", activity_unit="job starts",
    ),
    ServiceLine(
        "peer_vcs", "Peer support, CAPSA and VCS early help", "community", "council",
        "Local authority", 1_800_000,
        (("CERTITUDE", PAY, 0.50), ("CERTITUDE", NON_PAY, 0.10),
         ("THAMES_REACH", PAY, 0.30), ("THAMES_REACH", NON_PAY, 0.10)),
    ),
    ServiceLine(
        "social_work_amhp", "Mental health social work and AMHP", "community", "council",
        "Local authority", 1_800_000,
        (("LBL_ASC", PAY, 1.0),),
    ),
    ServiceLine(
        "alliance_management", "Alliance management", "management", "nhs", "Pooled budget",
        900_000,
        (("SLAM", PAY, 0.60), ("SLAM", OVERHEAD, 0.40)),
    ),
)  # fmt: skip
COST_COLUMNS = (
    "month", "fin_year", "fin_month", "commissioner", "funding_stream", "provider_id",
    "provider_name", "provider_type", "service_line_id", "service_line", "pod", "cost_type",
    "budget_gbp", "actual_gbp", "forecast_outturn_gbp", "activity_value", "activity_unit",
    "is_risk_share", "data_status", "extract_date",
)  # fmt: skip


def annual_budget(line: ServiceLine, fin_year: int) -> float:
    """Annual budget (GBP) of the budget-shared components of a line in a financial year."""
    if line.kind == "ipsa":
        return IPSA_ANNUAL_BUDGET  # flat: the savings target is against a fixed budget
    scale = BUDGET_INFLATION ** (fin_year - 2018)
    if line.line_id == "hub_spa":
        # The Hub was scaled up in 2015/16, with its budget.
        return {2014: 1_600_000.0, 2015: 2_600_000.0}.get(fin_year, line.annual_budget_2018) * scale
    return line.annual_budget_2018 * scale


def supported_accommodation_drivers(
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Placements (people), placement weeks and GBP per placement week by month."""
    m = np.arange(N_MONTHS)
    placements = np.rint(
        np.linspace(*SUPPORTED_PLACEMENTS, N_MONTHS) + ar1_process(rng, N_MONTHS, 0.8, 1.5)
    )
    weeks = placements * DAYS_IN_MONTH / 7.0
    weekly_cost = SUPPORTED_WEEKLY_COST_2014 * SUPPORTED_WEEKLY_COST_GROWTH ** (
        (m - COSTS_FIRST_MONTH) / 12.0
    )
    return placements, weeks, weekly_cost


@dataclass
class Costs:
    """Rows of costs_monthly.csv (already formatted) and realised figures for truth.json."""

    rows: list[list[str]]
    realised: dict[str, object]


def generate_costs(
    activity_series: dict[str, np.ndarray], ipsa: Ipsa, revision_log: RevisionLog
) -> Costs:
    """Budget, actual and forecast outturn by month x provider x service line x cost type."""
    rng = stream("costs")
    _, supported_weeks, weekly_cost = supported_accommodation_drivers(rng)
    series = dict(activity_series)
    series["supported_placement_weeks"] = supported_weeks
    series["ipsa_placement_weeks"] = ipsa.residential * DAYS_IN_MONTH / 7.0
    fin_years = sorted({int(y) for y in FIN_YEAR[COSTS_FIRST_MONTH:]})
    bias = {
        (line.line_id, y): rng.normal(*LINE_YEAR_BIAS) for line in SERVICE_LINES for y in fin_years
    }
    slam_occupancy = series["slam_bed_days"] / DAYS_IN_MONTH / ACUTE_BUDGETED_SLAM_BEDS

    # One entry per (month, line, component): budget and final actual in pence.
    entries: list[tuple[int, ServiceLine, int, int, int]] = []
    for month in range(COSTS_FIRST_MONTH, N_MONTHS):
        fy = int(FIN_YEAR[month])
        is_march = MONTH_NUMBER[month] == 3
        fy_months = np.equal(FIN_YEAR, fy) & (np.arange(N_MONTHS) >= COSTS_FIRST_MONTH)
        for line in SERVICE_LINES:
            if month < line.first_month:
                continue
            for c, (_, cost_type, share) in enumerate(line.components):
                accrual = MARCH_ACCRUAL[cost_type]
                timing = accrual if is_march else (12.0 - accrual) / 11.0
                noise = 1.0 + rng.normal(0.0, COST_NOISE_SD[cost_type])
                if line.kind == "placements" and c == 0:
                    expected_year = (
                        np.linspace(*SUPPORTED_PLACEMENTS, N_MONTHS)
                        * DAYS_IN_MONTH
                        / 7.0
                        * weekly_cost
                    )[fy_months].sum()
                    budget = (
                        expected_year * (1 - SUPPORTED_BUDGET_SHORTFALL_PER_YEAR * (fy - 2014)) / 12
                    )
                    actual = (
                        supported_weeks[month] * weekly_cost[month] * (1.0 + rng.normal(0.0, 0.01))
                    )
                elif line.kind == "private_beds":
                    budget = annual_budget(line, fy) / 12
                    price = PRIVATE_BED_DAY_PRICE_2018 * PRIVATE_BED_DAY_PRICE_GROWTH ** (fy - 2018)
                    actual = series["oap_bed_days"][month] * price * noise
                elif line.kind == "ipsa":
                    budget = annual_budget(line, fy) * share / 12
                    actual = (
                        budget * IPSA_ACTUAL_VS_2014_15.get(fy, IPSA_SAVED_RATIO) * timing * noise
                    )
                else:
                    budget = annual_budget(line, fy) * share / 12
                    actual = budget * (1.0 + bias[(line.line_id, fy)]) * timing * noise
                    if line.line_id == "acute_inpatient" and cost_type in ("pay", "non-pay"):
                        # Agency staff and extra supplies when the wards are busy.
                        actual *= np.sqrt(slam_occupancy[month])
                entries.append(
                    (
                        month,
                        line,
                        c,
                        int(np.floor(budget * 100 + 0.5)),
                        int(np.floor(actual * 100 + 0.5)),
                    )
                )

    vintages = revision_vintages(stream("revisions:costs:actual_gbp"), COSTS_FIRST_MONTH)
    held_actual: list[int] = []
    month_of_entry = np.array([e[0] for e in entries])
    final_actual = np.array([e[4] for e in entries], dtype=np.int64)
    for month in range(COSTS_FIRST_MONTH, N_MONTHS):
        in_month = month_of_entry == month
        revision_log.add(
            "costs:actual_gbp", month, vintages[month], final_actual[in_month], format_pence
        )
    for (month, *_), actual in zip(entries, final_actual, strict=True):
        held_actual.append(
            int(scaled_cells(np.array([actual]), latest_vintage(vintages[month]).fraction)[0])
        )

    # Forecast outturn: year to date plus the rest of the year's budget at the YTD run rate.
    ytd: dict[tuple[str, int, int], tuple[int, int, int]] = {}
    rows: list[list[str]] = []
    for (month, line, c, budget, _), actual in zip(entries, held_actual, strict=True):
        provider, cost_type, _ = line.components[c]
        fy = int(FIN_YEAR[month])
        key = (line.line_id, c, fy)
        ytd_actual, ytd_budget, months_seen = ytd.get(key, (0, 0, 0))
        ytd_actual, ytd_budget = ytd_actual + actual, ytd_budget + budget
        remaining_months = 12 - int((MONTH_NUMBER[month] - 4) % 12) - 1
        run_rate = ytd_actual / ytd_budget if ytd_budget > 0 else 1.0
        forecast = ytd_actual + int(np.floor(budget * remaining_months * run_rate + 0.5))
        ytd[key] = (ytd_actual, ytd_budget, months_seen + 1)
        activity_text = ""
        if line.activity is not None and c == line.activity_component:
            value = float(series[line.activity][month])
            activity_text = "" if value < 0 or np.isnan(value) else f"{value:.2f}"
        is_provisional = month >= N_MONTHS - N_PROVISIONAL_MONTHS
        risk_share_from = IPSA_MONTH if line.kind == "ipsa" else ALLIANCE_MONTH
        if line.commissioner == "nhs":
            commissioner = (
                "NHS South East London ICB (Lambeth)"
                if month >= ICB_FROM_MONTH
                else "NHS Lambeth CCG"
            )
        else:
            commissioner = "Lambeth Council"
        final_extract = [v.extract_month for v in vintages[month] if v.is_final]
        extract_month = MAIN_EXTRACT_MONTH_INDEX if is_provisional else final_extract[0]
        fin_month = int((MONTH_NUMBER[month] - 4) % 12) + 1
        rows.append([
            str(MONTH_LABELS[month]), financial_year_label(fy), str(fin_month), commissioner,
            line.funding_stream, provider, PROVIDER_NAMES[provider], PROVIDER_TYPES[provider],
            line.line_id, line.name, line.pod, cost_type, format_pence(budget),
            format_pence(actual), format_pence(forecast), activity_text,
            line.activity_unit if activity_text else "",
            "true" if month >= risk_share_from else "false",
            "provisional" if is_provisional else "final", str(extract_date(extract_month)),
        ])  # fmt: skip

    ipsa_by_year = {y: 0 for y in fin_years}
    for (month, line, *_), actual in zip(entries, held_actual, strict=True):
        if line.line_id == "ipsa":
            ipsa_by_year[int(FIN_YEAR[month])] += actual
    baseline = ipsa_by_year[2014]
    realised = {
        "ipsa_actual_gbp_by_fin_year": {
            financial_year_label(y): v / 100 for y, v in ipsa_by_year.items()
        },
        "ipsa_actual_ratio_to_2014_15": {
            financial_year_label(y): round(v / baseline, 4) for y, v in ipsa_by_year.items()
        },
        "total_budget_gbp_by_fin_year": {
            financial_year_label(y): sum(e[3] for e in entries if FIN_YEAR[e[0]] == y) / 100
            for y in fin_years
        },
    }
    return Costs(rows, realised)


def write_costs(path: Path, costs: Costs) -> None:
    """costs_monthly.csv, sorted by month, then service line and component in listed order."""
    write_csv(path, COST_COLUMNS, list(zip(*costs.rows, strict=True)))


def write_revisions(path: Path, revision_log: RevisionLog) -> None:
    """revisions.csv, sorted by measure_key, month and extract_date."""
    rows = sorted(revision_log.rows, key=lambda r: (r[0], r[1], r[2]))
    columns = [
        [r[0] for r in rows],
        [str(MONTH_LABELS[r[1]]) for r in rows],
        [str(extract_date(r[2])) for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    ]
    write_csv(path, ("measure_key", "month", "extract_date", "value", "data_status"), columns)


# ---------------------------------------------------------------------------------------------
# truth.json: every planted effect, machine-readable
# ---------------------------------------------------------------------------------------------

SYNTHETIC_STATEMENT = (
    "ALL DATA ARE SYNTHETIC. Every record and figure was generated by sample_data/generate.py; "
    "no real person, patient, return or budget is represented. The borough only resembles Lambeth."
)


def rounded(values: np.ndarray, digits: int = 4) -> list[float]:
    """A JSON-ready list of floats rounded to `digits` decimals."""
    return [round(float(v), digits) for v in values]


def month_label(month: int) -> str:
    """`YYYY-MM-01` for a month index."""
    return str(MONTH_LABELS[month])


def hub_phase_in(scale: str) -> dict[str, object]:
    """The LCN-staggered phase-in of the Hub scale-up, as truth.json states it."""
    return {
        "type": f"linear ramp on the {scale} scale",
        "months": HUB_RAMP_MONTHS,
        "by": "lcn",
        "start": dict(HUB_START_BY_LCN),
        "fraction_formula": "clip((months since the LCN's start + 1) / 3, 0, 1)",
        "borough_fully_phased_in": "2016-06-01",
    }


def build_effects() -> list[dict[str, object]]:
    """The planted intervention effects."""
    secondary_filter = "pathway = 'secondary'"
    return [
        {
            "id": "secondary_referrals_hub",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": secondary_filter,
            "measure": "count(*)",
            "intervention": "hub_scale_up",
            "term": "level",
            "scale": "ratio",
            "value": SECONDARY_HUB_RATIO,
            "slope_change": 0.0,
            "phase_in": hub_phase_in("log"),
            "expected_series": "expected_series.referrals_secondary",
            "note": (
                "Multiplicative factor 0.57 (-43%) on the expected monthly count relative to the "
                "counterfactual, in every LCN; the borough-level ratio is exactly 0.57 from "
                "2016-06. "
                "No slope change: the only trend is population growth (+1%/yr) in both series. "
                "Counterfactual level about 204/month in 2014/15."
            ),
        },
        {
            "id": "secondary_accepted_hub",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": secondary_filter,
            "measure": "avg(CASE WHEN accepted THEN 1.0 ELSE 0.0 END)",
            "intervention": "hub_scale_up",
            "term": "level",
            "scale": "absolute",
            "value": ACCEPTED_POST - ACCEPTED_PRE,
            "baseline": ACCEPTED_PRE,
            "slope_change": 0.0,
            "phase_in": hub_phase_in("probability"),
            "note": "P(accepted) 0.57 before, 0.77 after full phase-in (+0.20, as Healey 2021).",
        },
        {
            "id": "front_door_referrals_hub",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": "pathway = 'front_door'",
            "measure": "count(*)",
            "intervention": "hub_scale_up",
            "term": "level",
            "scale": "ratio",
            "value": FRONT_DOOR_HUB_RATIO,
            "slope_change": 0.0,
            "phase_in": hub_phase_in("log"),
            "expected_series": "expected_series.referrals_front_door",
            "note": "About 140/month before, about 400/month by 2017.",
        },
        {
            "id": "front_door_wait_hub",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": "pathway = 'front_door' AND days_to_first_contact IS NOT NULL",
            "measure": "median(days_to_first_contact)",
            "intervention": "hub_scale_up",
            "term": "level",
            "scale": "ratio",
            "value": round(FRONT_DOOR_WAIT_MEDIAN_POST / FRONT_DOOR_WAIT_MEDIAN_PRE, 6),
            "baseline": FRONT_DOOR_WAIT_MEDIAN_PRE,
            "slope_change": 0.0,
            "phase_in": hub_phase_in("log"),
            "note": (
                "Median days to first contact 28 before, 9 after; lognormal with log-scale sd "
                f"{FRONT_DOOR_WAIT_SIGMA}, rounded to whole days (p90 about 2.5 x the median). "
                "7% never seen (blank)."
            ),
        },
        {
            "id": "front_door_referrals_lwc",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": "pathway = 'front_door'",
            "measure": "count(*)",
            "intervention": "living_well_centres",
            "term": "level",
            "scale": "ratio",
            "value": FRONT_DOOR_LWC_RATIO,
            "slope_change": 0.0,
            "phase_in": None,
            "note": "A step from 2019-10 (Single Point of Access / Living Well Centres).",
        },
        {
            "id": "second_contact_within_28_days_lwc",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": "pathway = 'secondary' AND accepted AND referral_date <= DATE '2024-12-31'",
            "measure": "avg(CASE WHEN days_to_second_contact <= 28 THEN 1.0 ELSE 0.0 END)",
            "intervention": "living_well_centres",
            "term": "level",
            "scale": "absolute",
            "value": round(SECOND_CONTACT_WITHIN_28_POST - SECOND_CONTACT_WITHIN_28_PRE, 6),
            "baseline": SECOND_CONTACT_WITHIN_28_PRE,
            "slope_change": 0.0,
            "phase_in": None,
            "note": (
                "Share of accepted secondary referrals with a second contact within 28 days: 0.40 "
                "before 2019-10, 0.65 from 2019-10 (a step). Second-contact waits are lognormal "
                f"(log-scale sd {SECOND_CONTACT_SIGMA}) with medians "
                f"{second_contact_median(SECOND_CONTACT_WITHIN_28_PRE):.3f} and "
                f"{second_contact_median(SECOND_CONTACT_WITHIN_28_POST):.3f} days. Contacts after "
                "2025-03-31 are blank (censored), hence the date filter."
            ),
        },
        {
            "id": "ipsa_living_independently_slope",
            "table": "ipsa_monthly",
            "date_column": "month",
            "filter": None,
            "measure": "living_independently",
            "intervention": "ipsa_go_live",
            "term": "slope",
            "scale": "absolute",
            "value": round(75.0 / 36.0, 6),
            "level_change": 0.0,
            "phase_in": None,
            "valid_until": "2018-04-01",
            "expected_series": "expected_series.ipsa_living_independently",
            "note": (
                "People per month. 0 up to and including 2015-04, then +75/36 a month to 75 in "
                "2018-04, then +15/60 a month to 90 in 2023-04, flat after. Noise: AR(1) phi 0.7, "
                "sd 1.0 person, rounded."
            ),
        },
        {
            "id": "ipsa_residential_placements_slope",
            "table": "ipsa_monthly",
            "date_column": "month",
            "filter": None,
            "measure": "residential_placements",
            "intervention": "ipsa_go_live",
            "term": "slope",
            "scale": "absolute",
            "value": round(-70.0 / 48.0, 6),
            "level_change": 0.0,
            "phase_in": None,
            "valid_until": "2019-04-01",
            "expected_series": "expected_series.ipsa_residential_placements",
            "note": (
                "People per month. Flat at 200 before 2015-04, -70/48 a month to 130 in 2019-04, "
                "flat after. Noise: AR(1) phi 0.7, sd 1.5 people, rounded."
            ),
        },
        {
            "id": "ipsa_cost_savings",
            "table": "costs_monthly",
            "date_column": "month",
            "filter": "service_line_id = 'ipsa'",
            "measure": "sum(actual_gbp) by fin_year",
            "intervention": "ipsa_go_live",
            "term": "level",
            "scale": "ratio",
            "value": IPSA_SAVED_RATIO,
            "baseline": "2014/15 actual (expected GBP 12,000,000, the budget)",
            "slope_change": 0.0,
            "phase_in": {"2015/16": IPSA_ACTUAL_VS_2014_15[2015], "from": "2016/17"},
            "note": (
                "Annual actuals 20% below the 2014/15 baseline from 2016/17 on, against a flat "
                "GBP 12m budget (monthly noise and a March accrual spike)."
            ),
        },
        {
            "id": "referrals_covid",
            "table": "referrals",
            "date_column": "referral_date",
            "filter": None,
            "measure": "count(*)",
            "intervention": "covid",
            "term": "level",
            "scale": "ratio",
            "value": 0.65,
            "slope_change": 0.0,
            "phase_in": {"type": "temporary", "monthly_factor": dict(COVID_FACTOR_BY_MONTH)},
            "note": (
                "All referral pathways: -35% in April and May 2020, linear recovery to no effect "
                "by September 2020."
            ),
        },
        {
            "id": "tt_finished_covid",
            "table": "activity_monthly",
            "date_column": "month",
            "filter": "measure = 'tt_finished'",
            "measure": "sum(value)",
            "intervention": "covid",
            "term": "level",
            "scale": "ratio",
            "value": TT_COVID["2020-04-01"],
            "slope_change": 0.0,
            "phase_in": {"type": "temporary", "monthly_factor": dict(TT_COVID)},
            "note": "Talking Therapies courses finishing, April-June 2020 only.",
        },
        {
            "id": "tt_recovery_covid_dip",
            "table": "activity_monthly",
            "date_column": "month",
            "filter": "measure IN ('tt_finished', 'tt_recovered')",
            "measure": (
                "sum(value) FILTER (measure = 'tt_recovered') "
                "/ sum(value) FILTER (measure = 'tt_finished')"
            ),
            "intervention": "covid",
            "term": "level",
            "scale": "absolute",
            "value": TT_RECOVERY_COVID_DIP["2020-04-01"],
            "slope_change": 0.0,
            "phase_in": {"type": "temporary", "monthly_change": dict(TT_RECOVERY_COVID_DIP)},
            "note": "Recovery probability dips in April-June 2020 only.",
        },
    ]


def build_truth(
    referrals: Referrals,
    admissions: Admissions,
    detentions: Detentions,
    activity: Activity,
    costs: Costs,
    proms_realised: dict[str, float],
) -> dict[str, object]:
    """Everything a test or a model check needs to know about what was planted."""
    living_expected, residential_expected = ipsa_expected()
    secondary = referrals.final_monthly_by_pathway[1]
    pre = np.arange(month_index("2014-10"), month_index("2015-10"))
    post = np.arange(month_index("2016-06"), month_index("2017-06"))
    realised_ratio = (secondary[post] / POP_GROWTH[post]).mean() / (
        secondary[pre] / POP_GROWTH[pre]
    ).mean()
    det_rate = {e: DETENTION_RATE_PER_100K[i] for i, e in enumerate(POPULATION_ETHNICITIES)}
    liaison_growth = round(LIAISON_GROWTH_PER_YEAR, 6)
    all_months_seasonal = {
        name: {str(k): factors.get(k, 1.0) for k in range(1, 13)}
        for name, factors in (
            ("referrals", REFERRAL_SEASON),
            ("liaison", LIAISON_SEASON),
            ("admissions_and_detentions", ACUTE_SEASON),
        )
    }
    return {
        "synthetic": True,
        "statement": SYNTHETIC_STATEMENT,
        "generator": "sample_data/generate.py",
        "seed": SEED,
        "rng": "numpy default_rng([seed, stream id]) per component",
        "stream_ids": dict(STREAM_IDS),
        "period": {
            "first_month": month_label(0),
            "last_month": month_label(N_MONTHS - 1),
            "n_months": N_MONTHS,
            "as_of_date": str(AS_OF_DATE),
            "main_extract_date": str(extract_date(MAIN_EXTRACT_MONTH_INDEX)),
        },
        "interventions": dict(INTERVENTIONS) | {"covid_end": "2020-09-01"},
        "lcn_phasing": {"intervention": "hub_scale_up"} | hub_phase_in("log"),
        "population": {
            "adults_2013": ADULT_POPULATION_2013,
            "growth_per_year": POPULATION_GROWTH_PER_YEAR,
            "referral_growth_factor": "1.01 ** ((months since 2013-07) / 12); July 2013 = 1",
            "lcn_share": dict(zip(LCNS, LCN_POPULATION_SHARE.tolist(), strict=True)),
            "ethnic_mix_by_lcn": {
                lcn: dict(zip(POPULATION_ETHNICITIES, LCN_ETHNIC_MIX[i].tolist(), strict=True))
                for i, lcn in enumerate(LCNS)
            },
            "gender_share": dict(zip(GENDERS, POPULATION_GENDER_SHARE.tolist(), strict=True)),
            "note": "Deterministic (no noise); cells rounded to whole people.",
        },
        "seasonality": {
            "scale": "multiplicative on the expected count, by calendar month",
            "factors": all_months_seasonal,
            "applies_to": {
                "referrals": (
                    "front_door, secondary, Home Treatment, Crisis Outreach; PROM episodes; "
                    "tt_finished"
                ),
                "liaison": "Liaison (A&E) referrals",
                "admissions_and_detentions": "admissions, detentions (mean exactly 1 over a year)",
            },
        },
        "ar1": {
            "phi": AR_PHI,
            "innovation_sd": AR_INNOVATION_SD,
            "marginal_sd": round(AR_INNOVATION_SD / np.sqrt(1 - AR_PHI**2), 6),
            "scale": "log; multiplier exp(u - var/2) so its mean is exactly 1",
            "series": (
                "referrals: one borough-wide series per service, shared by its three LCNs "
                "(innovation sd above)"
            ),
            "other_series": {
                "innovation_sd": OTHER_AR_INNOVATION_SD,
                "applies_to": "admissions (borough), detentions (per LCN), PROM episodes (borough)",
            },
            "tt_finished_innovation_sd": 0.05,
            "borough_equivalent_dispersion": (
                "AR(1) plus NB k = 50 per LCN cell make the borough referral series about as "
                "overdispersed as a single negative binomial with k of about 55; the expected "
                "lag-1 autocorrelation of the borough log residuals is about 0.18 (the count "
                "noise dilutes phi = 0.4)"
            ),
            "stocks": {
                "phi": STOCK_AR_PHI,
                "innovation_sd": STOCK_AR_SD,
                "applies_to": ["open_referrals", "settled_accom_den"],
            },
        },
        "dispersion": {
            "model": "negative binomial: variance = mean + mean^2 / k; null k means Poisson",
            "k": {
                "referrals:front_door": NB_DISPERSION_LARGE,
                "referrals:secondary": NB_DISPERSION_LARGE,
                "referrals:home_treatment": NB_DISPERSION_LARGE,
                "referrals:crisis_outreach": None,
                "referrals:liaison": NB_DISPERSION_LARGE,
                "admissions": None,
                "detentions": NB_DISPERSION_LARGE,
                "proms": NB_DISPERSION_LARGE,
                "tt_finished": NB_DISPERSION_LARGE,
                "ips_job_starts": None,
                "sanctuary_visits": None,
            },
            "grain": (
                "counts are drawn per cell, then summed: referrals per service x LCN, detentions "
                "per LCN x ethnicity, admissions and PROM episodes per LCN, tt_finished per "
                "ethnicity; ips_job_starts and sanctuary_visits per month (borough)"
            ),
        },
        "covid_shock": {
            "start": "2020-04-01",
            "end": "2020-09-01",
            "monthly_factor": dict(COVID_FACTOR_BY_MONTH),
            "applies_to": [
                "referrals (all pathways and services)",
                "ips_job_starts",
                "sanctuary_visits",
            ],
            "not_applied_to": ["admissions", "detentions", "proms"],
        },
        "effects": build_effects(),
        "planted_nulls": [
            {
                "id": "liaison_evening_sanctuary",
                "table": "referrals",
                "date_column": "referral_date",
                "filter": "service = 'Liaison (A&E)'",
                "measure": "count(*)",
                "intervention": "evening_sanctuary",
                "term": "level",
                "scale": "ratio",
                "value": 1.0,
                "slope_change": 0.0,
                "expected_series": "expected_series.referrals_liaison",
                "note": (
                    f"No effect. Liaison grows by a factor {liaison_growth} a year throughout "
                    "(+76% from 2018/19 to 2024/25), from 150/month at 2018-10."
                ),
            },
            {
                "id": "admissions_alliance_go_live",
                "table": "admissions",
                "date_column": "admission_date",
                "filter": None,
                "measure": "count(*)",
                "intervention": "alliance_go_live",
                "term": "level",
                "scale": "ratio",
                "value": 1.0,
                "slope_change": 0.0,
                "expected_series": "expected_series.admissions",
                "note": "No effect and no trend: 75/month x seasonality, AR(1) and NB noise.",
            },
        ],
        "trends": [
            {"id": "population_growth", "value": "+1% a year on all population-driven series"},
            {
                "id": "front_door_post_covid_demand",
                "table": "referrals",
                "filter": "pathway = 'front_door'",
                "scale": "ratio",
                "value": FRONT_DOOR_DEMAND_RATIO,
                "phase_in": "linear on the log scale over 2020-10..2021-03 (1/6 per month)",
            },
            {
                "id": "liaison_growth",
                "table": "referrals",
                "filter": "service = 'Liaison (A&E)'",
                "scale": "ratio per year",
                "value": liaison_growth,
            },
            {
                "id": "crisis_outreach_by_fin_year",
                "table": "referrals",
                "filter": "service = 'Crisis Outreach'",
                "value": {
                    financial_year_label(y): v for y, v in CRISIS_OUTREACH_BY_FIN_YEAR.items()
                },
                "note": "Expected per month before seasonality and covid; Poisson counts.",
            },
            {
                "id": "acute_beds_by_fin_year",
                "table": "admissions / activity_monthly (bed_days_acute)",
                "value": {
                    financial_year_label(y): v
                    for y, v in ACUTE_BEDS_BY_FIN_YEAR.items()
                    if y >= 2013
                },
                "note": (
                    "Average occupied beds (bed days / days) that length of stay is calibrated "
                    "to, by financial year; includes stays that began before April 2013."
                ),
            },
            {
                "id": "private_bed_use",
                "value": (
                    f"an admission goes to PRIVATE_SPOT with probability {PRIVATE_WHEN_FULL} when "
                    f"at least {PRIVATE_OCCUPANCY_THRESHOLD:.0%} of {SLAM_ACUTE_BEDS} NHS beds are "
                    f"occupied, else {PRIVATE_OTHERWISE}"
                ),
            },
            {
                "id": "admission_black_rate_ratio",
                "value": list(ADMISSION_BLACK_RATE_RATIO),
                "note": (
                    "Black vs White admission rate ratio within LCN, linear from 2013-04 to "
                    "2025-03; Black patients' stays are 10% longer."
                ),
            },
            {
                "id": "supported_accommodation_weekly_cost",
                "table": "costs_monthly",
                "filter": "service_line_id = 'supported_accommodation' AND provider_id = 'LBL_ASC'",
                "measure": "actual_gbp / activity_value (GBP per placement week)",
                "scale": "ratio per year",
                "value": SUPPORTED_WEEKLY_COST_GROWTH,
                "baseline": f"GBP {SUPPORTED_WEEKLY_COST_2014:.0f} per week in 2014-04",
            },
            {
                "id": "private_bed_day_price",
                "value": (
                    f"GBP {PRIVATE_BED_DAY_PRICE_2018:.0f} per bed day in 2018/19, "
                    f"x{PRIVATE_BED_DAY_PRICE_GROWTH} a year"
                ),
            },
            {
                "id": "paired_prom_coverage",
                "table": "proms",
                "measure": "avg(CASE WHEN paired THEN 1.0 ELSE 0.0 END)",
                "value": "0.10 + 0.30 x (months since 2019-07) / 60: 10% mid-2019 to 40% mid-2024",
            },
        ],
        "missing_months": [
            {
                "table": "activity_monthly",
                "measures": [
                    "settled_accom_num",
                    "settled_accom_den",
                    "employed_num",
                    "employed_den",
                ],
                "months": ["2021-04-01"],
                "stored_as": "rows present in every cell with a blank value (never 0)",
                "reason": "MHSDS measure change",
            },
            {
                "table": "activity_monthly",
                "measures": ["sanctuary_visits", "sanctuary_avoided_ae"],
                "months": ["2022-11-01", "2022-12-01"],
                "stored_as": "rows present with a blank value (never 0)",
                "reason": "VCS case-management system change",
            },
            {
                "table": "costs_monthly",
                "measures": ["activity_value for evening_sanctuary"],
                "months": ["2022-11-01", "2022-12-01"],
                "stored_as": "blank activity_value (the spend is present)",
            },
        ],
        "not_missing_but_absent": {
            "sanctuary_visits": "no rows before 2019-05: the service did not exist",
            "proms": "no rows before 2019-04",
            "costs_monthly": "rows from 2014-04; evening_sanctuary from 2019-05",
            "ipsa_monthly": "rows from 2014-04",
        },
        "definition_breaks": [
            {
                "date": "2021-04-01",
                "table": "activity_monthly",
                "measure": "open_referrals",
                "scale": "ratio",
                "value": OPEN_REFERRALS_BREAKS[BREAK_2021],
            },
            {
                "date": "2021-04-01",
                "table": "activity_monthly",
                "measure": "settled_accom_den, employed_den",
                "scale": "ratio",
                "value": MHSDS_DENOMINATOR_BREAK_2021,
            },
            {
                "date": "2021-04-01",
                "table": "activity_monthly",
                "measure": "settled_accom_num / settled_accom_den",
                "scale": "absolute",
                "value": SETTLED_SHARE_BREAK_2021,
            },
            {
                "date": "2023-04-01",
                "table": "activity_monthly",
                "measure": "open_referrals",
                "scale": "ratio",
                "value": OPEN_REFERRALS_BREAKS[BREAK_2023],
            },
            {
                "date": "2022-07-01",
                "table": "costs_monthly",
                "measure": "commissioner (label only)",
                "scale": "label",
                "value": "NHS Lambeth CCG -> NHS South East London ICB (Lambeth)",
            },
        ],
        "provisional": {
            "months": [month_label(N_MONTHS - 2), month_label(N_MONTHS - 1)],
            "main_extract_date": str(extract_date(MAIN_EXTRACT_MONTH_INDEX)),
            "first_extract_fraction_range": list(REVISION_FIRST_FRACTION),
            "revision_steps": list(REVISION_STEPS),
            "revision_keys": [
                "referrals:front_door",
                "referrals:secondary",
                "referrals:crisis",
                "activity:bed_days_acute",
                "activity:tt_finished",
                "costs:actual_gbp",
            ],
            "note": (
                "Each month's first extract (15th of the next month) holds 92-97% of the final "
                "value; later extracts close the gap linearly and the final arrives 1-3 extracts "
                "later. The main tables hold the 2025-04-15 extract, so the last two months are "
                "provisional: referrals.csv has fewer records for them, bed days, tt_* and "
                "actual_gbp are scaled down, and data_status says provisional. Other activity "
                "measures are flagged provisional but not revised. expected_series are for "
                "complete data."
            ),
        },
        "right_censoring": (
            "Contacts that would fall after 2025-03-31 are blank in referrals.csv "
            "(days_to_first_contact, days_to_second_contact); discharges after it leave "
            "discharge_date and followed_up_72h blank."
        ),
        "ethnicity": {
            "not_stated_share": NOT_STATED_SHARE,
            "not_stated_mechanism": "4% of records' ethnicity replaced at random by 'Not stated'",
            "referral_rate_ratio_vs_white": {
                SERVICES[s][1]: dict(
                    zip(POPULATION_ETHNICITIES, REFERRAL_RATE_RATIO[s].tolist(), strict=True)
                )
                for s in range(len(SERVICES))
            },
            "rate_ratio_note": (
                "within each LCN, P(ethnicity | LCN) is proportional to population share x "
                "rate ratio"
            ),
            "talking_therapies_rate_ratio_vs_white": dict(
                zip(POPULATION_ETHNICITIES, TT_RATE_RATIO, strict=True)
            ),
            "talking_therapies_recovery_offset": dict(
                zip(ETHNICITIES, TT_RECOVERY_BY_ETHNICITY.tolist(), strict=True)
            ),
        },
        "detention_rates_per_100k": det_rate,
        "detention_rates_note": (
            "New detentions per 100,000 adults (population.parquet, the calendar year's mid-year "
            "estimate) per year, by true ethnicity. 4% of records are then recorded as 'Not "
            "stated', so the expected observed rate is 0.96 x the planted rate for every group; "
            "the Black:White rate ratio is exactly 4.0 either way."
        ),
        "detention_black_white_rate_ratio": DETENTION_RATE_PER_100K[BLACK]
        / DETENTION_RATE_PER_100K[WHITE],
        "ipsa_savings": {
            "service_line_id": "ipsa",
            "annual_budget_gbp": IPSA_ANNUAL_BUDGET,
            "baseline_fin_year": "2014/15",
            "planted_ratio_to_baseline": {
                "2015/16": IPSA_ACTUAL_VS_2014_15[2015],
                "2016/17 onwards": IPSA_SAVED_RATIO,
            },
            "realised": costs.realised,
        },
        "expected_series": {
            "months": [month_label(m) for m in range(N_MONTHS)],
            "note": (
                "Expected monthly counts for complete data (before AR(1) and count noise, whose "
                "multiplier has mean 1). Seasonality, covid and population growth are included."
            ),
            "referrals_secondary": {
                "counterfactual": rounded(referrals.counterfactual[SECONDARY].sum(axis=0)),
                "with_effect": rounded(referrals.expected[SECONDARY].sum(axis=0)),
                "by_lcn_with_effect": {
                    lcn: rounded(referrals.expected[SECONDARY, i]) for i, lcn in enumerate(LCNS)
                },
            },
            "referrals_front_door": {
                "counterfactual_without_hub": rounded(
                    referrals.counterfactual[FRONT_DOOR].sum(axis=0)
                ),
                "with_effect": rounded(referrals.expected[FRONT_DOOR].sum(axis=0)),
            },
            "referrals_liaison": {"expected": rounded(referrals.expected[LIAISON].sum(axis=0))},
            "admissions": {"expected": rounded(admissions.expected_monthly)},
            "detentions": {"expected": rounded(detentions.expected_monthly)},
            "ipsa_living_independently": rounded(living_expected),
            "ipsa_residential_placements": rounded(residential_expected),
        },
        "realised": {
            "secondary_post_pre_ratio_population_adjusted": round(float(realised_ratio), 4),
            "secondary_ratio_windows": {
                "pre": ["2014-10-01", "2015-09-01"],
                "post": ["2016-06-01", "2017-05-01"],
            },
            "length_of_stay_mean_days_by_fin_year": {
                financial_year_label(y): round(v, 2)
                for y, v in admissions.los_multiplier_by_fin_year.items()
            },
            "proms": {
                k: round(v, 4) if isinstance(v, float) else v for k, v in proms_realised.items()
            },
        }
        | activity.realised,
    }


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

OUTPUT_FILES = (
    "referrals.csv",
    "admissions.csv",
    "detentions.csv",
    "proms.csv",
    "activity_monthly.csv",
    "ipsa_monthly.xlsx",
    "population.parquet",
    "costs_monthly.csv",
    "revisions.csv",
    "truth.json",
)


def generate_all(out_dir: Path) -> list[Path]:
    """Write every sample-data file into `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    revision_log = RevisionLog([])
    population_rows, population_by_group = population_cells()
    write_population(out_dir / "population.parquet", population_rows)

    referrals = generate_referrals(revision_log)
    write_referrals(out_dir / "referrals.csv", referrals)
    admissions = generate_admissions()
    write_admissions(out_dir / "admissions.csv", admissions)
    detentions = generate_detentions(population_by_group)
    write_detentions(out_dir / "detentions.csv", detentions)
    proms_realised = write_proms(out_dir / "proms.csv")
    activity = generate_activity(admissions, revision_log)
    write_activity(out_dir / "activity_monthly.csv", activity)
    ipsa = generate_ipsa()
    write_ipsa(out_dir / "ipsa_monthly.xlsx", ipsa)

    sanctuary = activity.sanctuary_visits.astype(float)
    sanctuary[sanctuary < 0] = np.nan
    activity_series = {
        "slam_bed_days": activity.slam_bed_days_final.astype(float),
        "oap_bed_days": activity.oap_bed_days_final.astype(float),
        "front_door_referrals": referrals.final_monthly_by_pathway[0].astype(float),
        "crisis_referrals": referrals.final_monthly_by_pathway[2].astype(float),
        "focused_caseload": activity.focused_caseload.astype(float),
        "sanctuary_visits": sanctuary,
        "tt_finished": activity.tt_finished_final.astype(float),
        "ips_job_starts": activity.ips_job_starts.astype(float),
    }
    costs = generate_costs(activity_series, ipsa, revision_log)
    write_costs(out_dir / "costs_monthly.csv", costs)
    write_revisions(out_dir / "revisions.csv", revision_log)

    truth = build_truth(referrals, admissions, detentions, activity, costs, proms_realised)
    (out_dir / "truth.json").write_text(
        json.dumps(truth, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return [out_dir / name for name in OUTPUT_FILES]


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate the sample data, or write a big referrals table for benchmarks."""
    parser = argparse.ArgumentParser(
        description="Generate the SYNTHETIC Alliance Board sample data."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: this script's folder); with --big-referrals, a .parquet file",
    )
    parser.add_argument(
        "--big-referrals",
        type=int,
        metavar="N",
        help="write a referrals table of N rows to --out (Parquet) instead of the sample data",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.big_referrals is not None:
        if args.out is None or args.out.suffix != ".parquet":
            parser.error("--big-referrals needs --out FILE.parquet")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_big_referrals(args.big_referrals, args.out)
        print(
            f"wrote {args.big_referrals:,} referrals to {args.out} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return 0
    out_dir = args.out if args.out is not None else Path(__file__).resolve().parent
    for path in generate_all(out_dir):
        print(f"{path.stat().st_size:>12,} bytes  {path}")
    print(f"generated in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
