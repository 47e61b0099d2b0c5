"""The ITS engine recovers the Hub effect planted in the synthetic sample data.

Borough secondary referrals (pathway = 'secondary', monthly counts), Hub scale-up with its
phase-in, the COVID shock with its recovery and month-of-year seasonality: the level-change
rate ratio's 95% interval must contain the planted ratio from sample_data/truth.json, and
the slope-change interval must contain the planted slope change (none).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metrics.its import InterventionSpec, ITSSpec, ShockSpec, fit_its

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TRUTH = SAMPLE / "truth.json"
REFERRALS = SAMPLE / "referrals.csv"

pytestmark = pytest.mark.skipif(
    not (TRUTH.is_file() and REFERRALS.is_file()),
    reason="sample_data/truth.json and referrals.csv not generated yet "
    "(python sample_data/generate.py)",
)


def month_number(label: str) -> int:
    stamp = pd.Timestamp(label)
    return stamp.year * 12 + stamp.month - 1


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def secondary_monthly(truth: dict) -> pd.DataFrame:
    referrals = pd.read_csv(REFERRALS, usecols=["referral_date", "pathway"])
    secondary = referrals[referrals["pathway"] == "secondary"]
    month = pd.to_datetime(secondary["referral_date"]).dt.to_period("M").dt.to_timestamp()
    counts = month.value_counts().sort_index().rename_axis("month").rename("referrals")
    frame = counts.reset_index()
    # The last months are provisional (incomplete extracts): not comparable, so left out.
    provisional = {pd.Timestamp(m) for m in truth.get("provisional", {}).get("months", [])}
    return frame[~frame["month"].isin(provisional)].reset_index(drop=True)


def hub_effect(truth: dict) -> dict:
    return next(
        e
        for e in truth["effects"]
        if e["intervention"] == "hub_scale_up"
        and e["filter"] == "pathway = 'secondary'"
        and e["term"] == "level"
    )


def study_spec(truth: dict, model: str) -> ITSSpec:
    effect = hub_effect(truth)
    start = truth["interventions"]["hub_scale_up"]
    phased_in = effect["phase_in"]["borough_fully_phased_in"]
    ramp = month_number(phased_in) - month_number(start) + 1
    factors = truth["covid_shock"]["monthly_factor"]
    lowest = min(factors.values())
    trough = [m for m, f in factors.items() if f == lowest]
    recovery = [m for m, f in factors.items() if lowest < f < 1.0]
    return ITSSpec(
        model=model,
        interventions=(
            InterventionSpec("hub_scale_up", start, label="Hub scale-up", ramp_periods=ramp),
        ),
        shocks=(ShockSpec("covid", trough[0], trough[-1], recovery_periods=len(recovery)),),
        seasonality="month",
        placebo=False,
    )


@pytest.mark.parametrize("model", ["quasipoisson", "negbin"])
def test_hub_effect_on_secondary_referrals_contains_the_planted_truth(
    truth: dict, secondary_monthly: pd.DataFrame, model: str
) -> None:
    planted = hub_effect(truth)
    result = fit_its(
        secondary_monthly,
        study_spec(truth, model),
        date_col="month",
        value_col="referrals",
        series_name="Secondary referrals",
    )
    level = result.effect("hub_scale_up", "level")
    assert level is not None and level.scale == planted["scale"] == "ratio"
    assert level.ci_low <= planted["value"] <= level.ci_high, (level, planted["value"])
    slope = result.effect("hub_scale_up", "slope")
    assert slope is not None
    assert slope.ci_low <= 1.0 + planted["slope_change"] <= slope.ci_high
    # The headline: a fall of about 43% a year after the scale-up began.
    horizon = result.horizon_effect()
    assert horizon.relative_low < planted["value"] - 1 < horizon.relative_high
