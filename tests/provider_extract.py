"""A generated provider-level monthly extract, like a published NHS one (A&E attendances
and four-hour breaches by provider, 2016 to 2019), for tests. Nothing is downloaded: the
numbers come from a seeded generator, and no real provider is described.

What a real extract does month to month is built in: 262 providers (type 1 departments of
about 9,000 attendances a month, type 3 units of about 2,000), churn (8 open and 10 close
at random months, and two merge into a new code), seasonality (a summer peak), days in the
month (a short February), a 1.5% a year trend, national shocks (weather: 1.5% a month),
provider noise (4%), Poisson counts, and winter breach rates a third higher.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRST_MONTH = "2016-01-01"
LAST_MONTH = "2019-12-01"
PROVIDERS = 262


def provider_extract(seed: int = 2016) -> pd.DataFrame:
    """Columns month (date), provider_code, provider_name, attendances, breaches; one row
    per provider and month it is open, sorted by month and provider."""
    rng = np.random.default_rng(seed)
    months = pd.date_range(FIRST_MONTH, LAST_MONTH, freq="MS")
    kinds = rng.choice(["type1", "type3"], size=PROVIDERS, p=[0.55, 0.45])
    base = np.where(
        kinds == "type1",
        rng.lognormal(np.log(9000), 0.35, PROVIDERS),
        rng.lognormal(np.log(2000), 0.6, PROVIDERS),
    )
    rate = np.clip(
        np.where(
            kinds == "type1", rng.normal(0.13, 0.05, PROVIDERS), rng.normal(0.01, 0.01, PROVIDERS)
        ),
        0.001,
        0.5,
    )
    start = np.zeros(PROVIDERS, int)
    end = np.full(PROVIDERS, len(months))
    churn = rng.choice(PROVIDERS, 21, replace=False)
    for p in churn[:8]:
        start[p] = rng.integers(3, len(months) - 3)  # opens
    for p in churn[8:18]:
        end[p] = rng.integers(3, len(months) - 3)  # closes
    merged = 27  # two providers close and a new code takes over both
    end[churn[18]] = end[churn[19]] = start[churn[20]] = merged
    base[churn[20]] = base[churn[18]] + base[churn[19]]
    season = 1 + 0.05 * np.sin(2 * np.pi * (months.month.to_numpy() - 4) / 12)
    days = months.days_in_month.to_numpy() / 30.44
    trend = 1.015 ** ((months.year.to_numpy() - 2016) + (months.month.to_numpy() - 1) / 12)
    shock = rng.lognormal(0, 0.015, len(months))
    winter = np.isin(months.month.to_numpy(), (12, 1, 2))
    frames = []
    for t, month in enumerate(months):
        open_now = np.flatnonzero((start <= t) & (t < end))
        national = season[t] * days[t] * trend[t] * shock[t]
        noise = rng.lognormal(0, 0.04, open_now.size)
        attendances = rng.poisson(base[open_now] * national * noise)
        breach_rate = np.minimum(rate[open_now] * (1.3 if winter[t] else 1.0), 0.9)
        frames.append(
            pd.DataFrame(
                {
                    "month": month.date(),
                    "provider_code": [f"R{p:03d}" for p in open_now],
                    "provider_name": [f"Provider {p:03d}" for p in open_now],
                    "attendances": attendances,
                    "breaches": rng.binomial(attendances, breach_rate),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Dropped:
    frame: pd.DataFrame  # the extract without the provider's rows in `month`
    provider_code: str
    month: dt.date
    share: float  # of the England attendances total that month (as the full extract has it)


def drop_provider(frame: pd.DataFrame, month: dt.date, share: float = 0.012) -> Dropped:
    """Leave out, for one month, the provider whose attendances come closest to `share` of
    that month's total."""
    rows = frame[frame["month"] == month]
    shares = rows.set_index("provider_code")["attendances"] / rows["attendances"].sum()
    code = str((shares - share).abs().idxmin())
    kept = frame[~((frame["month"] == month) & (frame["provider_code"] == code))]
    return Dropped(kept.reset_index(drop=True), code, month, float(shares[code]))


def old_rule_flags(frame: pd.DataFrame) -> int:
    """How many months the Data quality page flagged before issue 15: fewer rows than the
    median of the previous 12 months (churn alone trips it)."""
    counts = frame.groupby("month").size().sort_index().to_numpy()
    return sum(counts[i] < np.median(counts[max(0, i - 12) : i]) for i in range(1, counts.size))


def write_csv(frame: pd.DataFrame, path: str | object) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")
