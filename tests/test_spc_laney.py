"""Laney p' and u' charts for ratios and rates with large denominators (docs/spc.md,
"Laney p' and u' charts").

Laney (2002): centre p-bar = sum(x) / sum(n); each point's own standard error sigma_i
(binomial for p', Poisson for u'); z_i = (p_i - p-bar) / sigma_i; sigma_z = mean moving
range of z / 1.128; limits p-bar -/+ 3 sigma_i sigma_z, 2-sigma lines -/+ 2 sigma_i sigma_z.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics.charts.spc_chart import spc_alt_text, spc_chart
from metrics.cli import main
from metrics.spc import SPCInputError, SPCOptions, compute_spc, laney_limits
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
LANEY = SPCOptions(chart="laney")
LANEY_U = SPCOptions(chart="laney", laney_chart="u")


def months(k: int, start: str = "2020-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=k, freq="MS")


def counts_frame(numerators, denominators, start: str = "2020-01-01") -> pd.DataFrame:
    numerators = np.asarray(numerators, dtype=float)
    return pd.DataFrame(
        {
            "month": months(numerators.size, start),
            "num": numerators,
            "den": np.asarray(denominators, dtype=float),
        }
    )


def laney(frame: pd.DataFrame, options: SPCOptions = LANEY, **kwargs):
    return compute_spc(
        frame,
        date_col="month",
        numerator_col="num",
        denominator_col="den",
        options=options,
        **kwargs,
    )


# --- a hand-computed example ----------------------------------------------------------------
#
# Four months, denominators 100, 400, 100, 400 (1,000 in all) and numerators 24, 76, 16, 84
# (200 in all):
#   p-bar = 200 / 1000 = 0.2, so p-bar (1 - p-bar) = 0.16 and sqrt(0.16) = 0.4;
#   sigma_i = 0.4 / sqrt(n_i) = 0.04, 0.02, 0.04, 0.02;
#   p_i = 0.24, 0.19, 0.16, 0.21;
#   z_i = (p_i - 0.2) / sigma_i = 0.04/0.04, -0.01/0.02, -0.04/0.04, 0.01/0.02 = 1, -0.5, -1, 0.5;
#   moving ranges of z: 1.5, 0.5, 1.5, mean 3.5 / 3 (none is 3.267 x that or more, so the
#   screen keeps them all);
#   sigma_z = (3.5 / 3) / 1.128 = 1.03428...;
#   limits = 0.2 -/+ 3 x sigma_i x sigma_z, shown x 100 (percent).

HAND_NUM = [24, 76, 16, 84]
HAND_DEN = [100, 400, 100, 400]
HAND_SIGMA_Z = (3.5 / 3) / 1.128


def test_hand_computed_p_prime_every_step():
    limits = laney_limits(HAND_NUM, HAND_DEN, kind="p", per=100)
    assert limits.centre_rate == pytest.approx(0.2)
    assert limits.mean == pytest.approx(20.0)
    assert limits.sigma == pytest.approx([4.0, 2.0, 4.0, 2.0])  # 100 x sigma_i
    assert limits.z == pytest.approx([1.0, -0.5, -1.0, 0.5])
    assert limits.mean_moving_range == pytest.approx(3.5 / 3)
    assert limits.n_moving_ranges == 3 and limits.n_screened_out == 0
    assert limits.sigma_z == pytest.approx(HAND_SIGMA_Z)
    assert pytest.approx(1.0342789598) == HAND_SIGMA_Z  # 1.16667 / 1.128
    sigma_i = np.array([0.04, 0.02, 0.04, 0.02])
    assert limits.upl == pytest.approx(100 * (0.2 + 3 * sigma_i * HAND_SIGMA_Z))
    assert limits.lpl == pytest.approx(100 * (0.2 - 3 * sigma_i * HAND_SIGMA_Z))
    assert limits.nupl == pytest.approx(100 * (0.2 + 2 * sigma_i * HAND_SIGMA_Z))
    assert limits.nlpl == pytest.approx(100 * (0.2 - 2 * sigma_i * HAND_SIGMA_Z))
    # the first month's upper limit in full: 20 + 300 x 0.04 x 1.03428 = 32.4113...
    assert limits.upl[0] == pytest.approx(32.41134752)

    # The same through compute_spc: values x 100, limits per point, the weighted centre.
    result = laney(counts_frame(HAND_NUM, HAND_DEN))
    points = result.points
    assert points["value"].tolist() == pytest.approx([24.0, 19.0, 16.0, 21.0])
    assert points["mean"].tolist() == pytest.approx([20.0] * 4)
    assert points["centre"].tolist() == pytest.approx([20.0] * 4)
    assert points["upl"].to_numpy() == pytest.approx(limits.upl)
    assert points["lpl"].to_numpy() == pytest.approx(limits.lpl)
    assert points["nupl"].to_numpy() == pytest.approx(limits.nupl)
    assert points["chart_kind"].tolist() == ["laney_p"] * 4
    assert not points["special_cause_flag"].any()
    facet = result.facet()
    assert facet.chart_kind == "laney_p"
    group = facet.summary[0]
    assert group.sigma_z == pytest.approx(HAND_SIGMA_Z)
    assert group.chart_kind == "laney_p" and group.mean == pytest.approx(20.0)
    # the summary's limits are those of the latest month (n = 400)
    assert (group.lpl, group.upl) == pytest.approx((limits.lpl[-1], limits.upl[-1]))
    assert "Sigma z is 1.03" in facet.chart_note
    record = result.to_json_records()[0]
    assert record["chart_kind"] == "laney_p"
    assert record["summary"][0]["sigma_z"] == pytest.approx(HAND_SIGMA_Z)
    assert record["points"][0]["upl"] == pytest.approx(limits.upl[0])


def test_hand_computed_u_prime_every_step():
    # Rates: u-bar = 40 / 1000 = 0.04, sqrt(0.04) = 0.2, sigma_i = 0.2 / sqrt(n_i) =
    # 0.02, 0.01, 0.02, 0.01; u_i = 0.06, 0.035, 0.02, 0.045; z = 1, -0.5, -1, 0.5 again,
    # so sigma_z is the same; shown per 1,000.
    numerators, denominators = [6, 14, 2, 18], [100, 400, 100, 400]
    limits = laney_limits(numerators, denominators, kind="u", per=1000)
    assert limits.centre_rate == pytest.approx(0.04) and limits.mean == pytest.approx(40.0)
    assert limits.z == pytest.approx([1.0, -0.5, -1.0, 0.5])
    assert limits.sigma_z == pytest.approx(HAND_SIGMA_Z)
    sigma_i = np.array([0.02, 0.01, 0.02, 0.01])
    assert limits.upl == pytest.approx(1000 * (0.04 + 3 * sigma_i * HAND_SIGMA_Z))
    # a lower limit below 0 is clipped to 0 (a rate cannot be negative)
    assert limits.lpl == pytest.approx(1000 * np.maximum(0.0, 0.04 - 3 * sigma_i * HAND_SIGMA_Z))
    result = laney(counts_frame(numerators, denominators), LANEY_U, per=1000)
    assert result.points["value"].tolist() == pytest.approx([60.0, 35.0, 20.0, 45.0])
    assert result.facet().chart_kind == "laney_u"


def test_default_scale_is_percent_for_p_prime_and_per_unit_for_u_prime():
    assert laney(counts_frame(HAND_NUM, HAND_DEN)).points["value"].iloc[0] == 24.0
    assert laney(counts_frame(HAND_NUM, HAND_DEN), LANEY_U).points["value"].iloc[0] == 0.24


# --- an independent implementation, straight from the formulas -------------------------------


def independent_laney(x, n, kind="p", per=100.0, screen=False):
    """Laney (2002), written out again without the engine's code: (centre, sigma_z, lower,
    upper, lower 2-sigma, upper 2-sigma), each limit one per point, in the metric's scale."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    pbar = x.sum() / n.sum()
    # binomial for a proportion, Poisson for a rate
    sigma = np.sqrt(pbar * (1 - pbar) / n) if kind == "p" else np.sqrt(pbar / n)
    z = (x / n - pbar) / sigma
    mr = np.abs(z[1:] - z[:-1])
    if screen:
        mr = mr[mr < 3.267 * mr.mean()]
    sigma_z = mr.mean() / 1.128
    top = 1.0 if kind == "p" else np.inf

    def line(k):
        return per * np.clip(pbar + k * sigma * sigma_z, 0, top)

    return per * pbar, sigma_z, line(-3), line(3), line(-2), line(2)


@pytest.mark.parametrize("kind", ["p", "u"])
@pytest.mark.parametrize("screen", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_an_independent_implementation(kind, screen, seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(50, 5000, 48).astype(float)
    rate = np.clip(0.3 + rng.normal(0, 0.03, 48), 0.01, 0.99)
    x = rng.binomial(n.astype(int), rate) if kind == "p" else rng.poisson(n * rate)
    x = x.astype(float)
    x[10] = n[10] * 0.6  # an outlier, so that screening has something to do
    per = 100.0 if kind == "p" else 1000.0
    centre, sigma_z, lower, upper, near_lower, near_upper = independent_laney(
        x, n, kind, per, screen
    )
    options = SPCOptions(chart="laney", laney_chart=kind, screen_outliers=screen)
    result = laney(counts_frame(x, n), options, per=per)
    points = result.points
    assert points["mean"].to_numpy() == pytest.approx(np.full(48, centre))
    assert result.facet().summary[0].sigma_z == pytest.approx(sigma_z)
    assert points["lpl"].to_numpy() == pytest.approx(lower)
    assert points["upl"].to_numpy() == pytest.approx(upper)
    assert points["nlpl"].to_numpy() == pytest.approx(near_lower)
    assert points["nupl"].to_numpy() == pytest.approx(near_upper)
    values = per * x / n
    assert points["value"].to_numpy() == pytest.approx(values)
    # the outlier month is outside its own limits
    assert points["rule"].iloc[10] == "Above the upper process limit"
    outside = (values > upper) | (values < lower)
    assert (
        (points["rule"] == "Above the upper process limit")
        .to_numpy()[outside & (values > centre)]
        .all()
    )


def test_rebased_groups_each_get_their_own_centre_and_sigma_z():
    rng = np.random.default_rng(7)
    n = rng.integers(2000, 4000, 36).astype(float)
    rate = np.r_[np.full(18, 0.55), np.full(18, 0.65)] + rng.normal(0, 0.015, 36)
    x = rng.binomial(n.astype(int), rate).astype(float)
    frame = counts_frame(x, n)
    result = laney(frame, rebase=["2021-07-01"])
    points = result.points
    assert points["rebase_group"].tolist() == [0] * 18 + [1] * 18
    for group, rows in ((0, slice(0, 18)), (1, slice(18, 36))):
        centre, sigma_z, lower, upper, _, _ = independent_laney(x[rows], n[rows], screen=True)
        got = points[points["rebase_group"] == group]
        assert got["mean"].to_numpy() == pytest.approx(np.full(18, centre))
        assert got["lpl"].to_numpy() == pytest.approx(lower)
        assert got["upl"].to_numpy() == pytest.approx(upper)
        assert result.facet().summary[group].sigma_z == pytest.approx(sigma_z)
    # without the rebase the step up reads as special cause; with it, far less of it does
    unrebased = laney(frame).points["special_cause_flag"].sum()
    assert points["special_cause_flag"].sum() < unrebased


def test_fix_after_n_points_takes_centre_and_sigma_z_from_the_baseline():
    rng = np.random.default_rng(11)
    n = rng.integers(500, 1500, 30).astype(float)
    x = rng.binomial(n.astype(int), 0.4).astype(float)
    result = laney(counts_frame(x, n), SPCOptions(chart="laney", fix_after_n_points=12))
    centre, sigma_z, *_ = independent_laney(x[:12], n[:12], screen=True)
    assert result.points["mean"].iloc[0] == pytest.approx(centre)
    assert result.facet().summary[0].sigma_z == pytest.approx(sigma_z)
    # later months still get limits for their own denominators
    sigma = np.sqrt(centre / 100 * (1 - centre / 100) / n)
    upper = centre + 100 * 3 * sigma * sigma_z
    assert result.points["upl"].to_numpy() == pytest.approx(upper)


# --- what the chart is for --------------------------------------------------------------------


def classic_p_limits(x, n, per=100.0):
    pbar = np.sum(x) / np.sum(n)
    sigma = np.sqrt(pbar * (1 - pbar) / np.asarray(n, float))
    return per * (pbar - 3 * sigma), per * (pbar + 3 * sigma)


def test_without_overdispersion_sigma_z_is_near_1_and_the_limits_are_the_p_charts():
    # Binomial months around one steady proportion: the variation between months is what
    # the denominators explain, nothing more.
    sigma_zs = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = rng.integers(200, 2000, 120)
        x = rng.binomial(n, 0.3)
        sigma_zs.append(laney_limits(x, n, screen_outliers=False).sigma_z)
    assert np.mean(sigma_zs) == pytest.approx(1.0, abs=0.05)

    rng = np.random.default_rng(20240401)
    n = rng.integers(200, 2000, 120).astype(float)
    x = rng.binomial(n.astype(int), 0.3).astype(float)
    result = laney(counts_frame(x, n))
    sigma_z = result.facet().summary[0].sigma_z
    assert sigma_z == pytest.approx(1.0, abs=0.1)
    lower, upper = classic_p_limits(x, n)
    points = result.points
    assert points["upl"].to_numpy() == pytest.approx(upper, rel=0.02)
    assert points["lpl"].to_numpy() == pytest.approx(lower, rel=0.05)
    # the limits still follow the denominators: wide for small months, narrow for big ones
    small, big = int(np.argmin(n)), int(np.argmax(n))
    width = (points["upl"] - points["lpl"]).to_numpy()
    assert width[small] > 2.5 * width[big]


def test_with_large_denominators_and_overdispersion_the_limits_are_xmr_like():
    # 3,000 to 4,500 a month, and the true proportion itself moves a little from month to
    # month (sd 2.5 points): real between-month variation a p chart does not allow for.
    rng = np.random.default_rng(42)
    n = rng.integers(3000, 4500, 60).astype(float)
    rate = 0.6 + rng.normal(0, 0.025, 60)
    x = rng.binomial(n.astype(int), rate).astype(float)
    values = 100 * x / n
    result = laney(counts_frame(x, n))
    points = result.points
    sigma_z = result.facet().summary[0].sigma_z
    # about 3.2 expected: sqrt(0.025^2 + 0.008^2) / 0.008, 0.008 being the binomial sd
    assert sigma_z > 2

    # The classic p chart's limits are far too narrow: many ordinary months fall outside.
    lower, upper = classic_p_limits(x, n)
    outside_p = int(np.sum((values > upper) | (values < lower)))
    assert outside_p >= 10
    # Laney's are not: at most an odd month, as for any stable process.
    outside_laney = int(np.sum(points["rule"].str.contains("process limit")))
    assert outside_laney <= 1
    width = (points["upl"] - points["lpl"]).to_numpy()
    assert np.all(width > 2 * (upper - lower))

    # ... and close to an XmR chart of the same percentages (equal denominators would make
    # them identical: 3 / 1.128 = 2.66).
    xmr = compute_spc(
        pd.DataFrame({"month": months(60), "value": values}),
        date_col="month",
        options=SPCOptions(chart="xmr"),
    ).facet()
    xmr_width = xmr.summary[0].upl - xmr.summary[0].lpl
    assert np.median(width) == pytest.approx(xmr_width, rel=0.15)


# --- rules against varying limits --------------------------------------------------------------


def scripted_frame(later_denominators, later_z):
    """12 baseline months of 400 alternating 22% / 18% (z = +1, -1, so sigma_z = 2 / 1.128
    with the centre at 20%), then months of the given denominators placed at exact
    multiples `later_z` of their own Laney sigma (limits fixed after the 12)."""
    sigma_z = 2 / 1.128
    den = [400.0] * 12 + list(later_denominators)
    p = [0.22, 0.18] * 6
    for n, k in zip(later_denominators, later_z, strict=True):
        p.append(0.2 + k * math.sqrt(0.16 / n) * sigma_z)
    num = np.array(p) * np.array(den)
    return counts_frame(num, den)


FIXED = SPCOptions(chart="laney", fix_after_n_points=12, run_length=20, trend_length=20)


def test_a_point_is_judged_against_its_own_limits():
    # The same 26% is inside a small month's wide limits and outside a large month's.
    sigma_z = 2 / 1.128
    small, large = 100.0, 10_000.0
    assert 0.2 + 3 * math.sqrt(0.16 / small) * sigma_z > 0.26
    assert 0.2 + 3 * math.sqrt(0.16 / large) * sigma_z < 0.26
    den = [400.0] * 12 + [small, 400.0, large]
    num = np.array([0.22, 0.18] * 6 + [0.26, 0.2, 0.26]) * np.array(den)
    points = laney(counts_frame(num, den), FIXED).points
    assert points["rule"].iloc[12] == ""
    assert points["rule"].iloc[14] == "Above the upper process limit"
    assert points["point_type"].iloc[14] == "special_cause_improvement"


def test_two_in_three_uses_each_points_own_2_sigma_lines():
    # Two of three months between their own 2- and 3-sigma lines, on the same side, with
    # very different denominators (so different lines), and a third just above the centre.
    frame = scripted_frame([100.0, 2500.0, 900.0], [2.5, 0.3, 2.4])
    points = laney(frame, FIXED).points
    assert points["rule"].iloc[12:].tolist() == [
        "2 of 3 points in a row close to the upper process limit",
        "",
        "2 of 3 points in a row close to the upper process limit",
    ]
    # Against one common line (the 400-month's) the same values would not all count:
    common_near = 0.2 + 2 * math.sqrt(0.16 / 400) * (2 / 1.128)
    assert (points["value"].iloc[13] / 100) < common_near


def test_runs_and_trends_are_read_as_for_xmr():
    options = SPCOptions(chart="laney", fix_after_n_points=12)
    run = scripted_frame([900.0] * 7, [0.5] * 7)
    assert (
        laney(run, options).points["rule"].iloc[12:].tolist()
        == ["Run of 7 points above the mean"] * 7
    )
    trend = scripted_frame([900.0] * 7, [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    rules = laney(trend, options).points["rule"].iloc[12:].tolist()
    assert rules == ["Trend of 7 points in a row rising"] * 7


def test_assurance_reads_the_latest_points_limits():
    # A target of 23.5%: inside the limits of a 400-month (20 +/- 5.3), but above those of
    # the latest month of 10,000 (20 +/- 1.06): that month's process will fail it.
    frame = scripted_frame([10_000.0], [0.0])
    facet = laney(frame, FIXED, target=23.5).facet()
    assert facet.assurance_type == "consistent_fail" and facet.assurance_icon == "fail"
    smaller = scripted_frame([400.0], [0.0])
    assert laney(smaller, FIXED, target=23.5).facet().assurance_type == "inconsistent"
    assert facet.variation_icon == "common_cause"


def test_no_run_chart_fallback_and_degenerate_series():
    # every month 0%: no variation at all; the limits sit on the centre line, with a warning
    result = laney(counts_frame([0] * 12, [500] * 12))
    facet = result.facet()
    assert facet.chart_kind == "laney_p"
    assert result.points[["lpl", "upl"]].to_numpy() == pytest.approx(np.zeros((12, 2)))
    assert any("no variation to set limits from" in w for w in facet.warnings)
    # repeated identical percentages (an XmR chart would become a run chart) stay Laney
    repeated = laney(counts_frame([50] * 6 + [100] * 6, [100] * 6 + [200] * 6))
    assert repeated.facet().chart_kind == "laney_p"


def test_missing_parts_and_zero_denominators_are_gaps():
    frame = counts_frame([24, np.nan, 16, 84, 30], [100, 400, 0, 400, 150])
    result = laney(frame)
    values = result.points["value"].to_numpy()
    assert np.isnan(values[1]) and np.isnan(values[2])
    assert any("2 missing values" in w for w in result.warnings)
    # the month with a denominator but no numerator still has limits; the 0 one has none
    assert not np.isnan(result.points["upl"].iloc[1])
    assert np.isnan(result.points["upl"].iloc[2])


def test_input_errors():
    with pytest.raises(ValueError, match="needs numerator_col and denominator_col"):
        compute_spc(counts_frame(HAND_NUM, HAND_DEN), date_col="month", options=LANEY)
    with pytest.raises(SPCInputError, match="more than its denominator"):
        laney(counts_frame([24, 500, 16, 84], HAND_DEN))
    with pytest.raises(SPCInputError, match="is negative"):
        laney(counts_frame([24, -1, 16, 84], HAND_DEN))
    with pytest.raises(SPCInputError, match="no numerator column 'nmu'"):
        compute_spc(
            counts_frame(HAND_NUM, HAND_DEN),
            date_col="month",
            numerator_col="nmu",
            denominator_col="den",
            options=LANEY,
        )
    with pytest.raises(ValueError, match="per must be a positive number"):
        laney(counts_frame(HAND_NUM, HAND_DEN), per=0)
    with pytest.raises(ValueError, match="laney_chart"):
        SPCOptions(chart="laney", laney_chart="np")
    # a rate may exceed 1 (u'), a proportion may not
    assert laney(counts_frame([24, 500, 16, 84], HAND_DEN), LANEY_U).facet().chart_kind == (
        "laney_u"
    )
    # numerator/denominator columns without the Laney chart: ignored, with a warning
    plain = compute_spc(
        counts_frame(HAND_NUM, HAND_DEN).assign(value=[1.0, 2.0, 3.0, 4.0]),
        date_col="month",
        numerator_col="num",
        denominator_col="den",
    )
    assert any("read only by the Laney chart" in w for w in plain.warnings)
    assert plain.facet().chart_kind == "xmr"


def test_facets_each_get_their_own_chart():
    a = counts_frame(HAND_NUM, HAND_DEN).assign(lcn="North")
    b = counts_frame([6, 14, 2, 18], HAND_DEN).assign(lcn="South")
    result = compute_spc(
        pd.concat([a, b]),
        date_col="month",
        facet_col="lcn",
        numerator_col="num",
        denominator_col="den",
        options=LANEY,
    )
    assert result.facet("North").summary[0].mean == pytest.approx(20.0)
    assert result.facet("South").summary[0].mean == pytest.approx(4.0)


# --- chart and alt text -----------------------------------------------------------------------


def test_chart_draws_step_limits_and_says_what_it_is():
    rng = np.random.default_rng(3)
    n = rng.integers(2000, 4000, 24).astype(float)
    x = rng.binomial(n.astype(int), 0.6).astype(float)
    result = laney(counts_frame(x, n))
    spec = spc_chart(result).to_dict()
    limit_marks = [
        layer["mark"]
        for layer in spec["layer"]
        if isinstance(layer.get("mark"), dict)
        and layer["mark"].get("strokeDash") == [6, 4]
        and layer["mark"].get("type") == "line"
    ]
    assert len(limit_marks) == 2
    assert all(mark["interpolate"] == "step" for mark in limit_marks)
    text = spc_alt_text(result, measure="settled accommodation")
    assert text.startswith(
        "Laney p' chart (limits adjusted for the size of each month's denominator and for "
        "variation between months) of settled accommodation"
    )
    assert "that month's process limits" in text and "Sigma z is" in text
    assert spec["description"] == spc_alt_text(result)
    # XmR charts keep straight limit lines
    xmr = compute_spc(pd.DataFrame({"month": months(24), "value": 100 * x / n}), date_col="month")
    xmr_marks = [
        layer["mark"]
        for layer in spc_chart(xmr).to_dict()["layer"]
        if isinstance(layer.get("mark"), dict) and layer["mark"].get("strokeDash") == [6, 4]
    ]
    assert all(mark["interpolate"] == "linear" for mark in xmr_marks)


# --- validation ----------------------------------------------------------------------------


def test_validation_refuses_laney_for_a_count_and_allows_ratio_and_rate(mini, edit):
    all_yaml = mini / "metrics" / "all.yaml"
    edit(
        all_yaml,
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], spc: {chart: laney}}",
    )
    edit(
        all_yaml,
        '    unit: "%"\n    better: up\n  - id: rate_a',
        '    unit: "%"\n    better: up\n    spc: {chart: laney}\n  - id: rate_a',
    )
    edit(all_yaml, "    unit: per 1,000\n", "    unit: per 1,000\n    spc: {chart: laney}\n")
    issues = load_config(mini).issues
    laney_issues = [i for i in issues if "chart 'laney'" in i.message]
    assert len(laney_issues) == 1
    issue = laney_issues[0]
    assert issue.is_error and issue.stage == "references"
    assert issue.file.endswith("all.yaml") and issue.line == 2
    assert issue.field == "metrics[count_a].spc.chart"
    assert "this metric is a count" in issue.message
    assert "measure: ratio" in issue.hint
    # an unknown chart is a schema error naming the allowed values
    edit(all_yaml, "spc: {chart: laney}}", "spc: {chart: lanney}}")
    problem = [i for i in load_config(mini).issues if "lanney" in i.message or "lanney" in i.hint]
    assert problem and problem[0].field == "metrics[count_a].spc.chart"


# --- CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def ratio_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = rng.integers(2000, 4000, 24)
    x = rng.binomial(n, 0.6 + rng.normal(0, 0.02, 24))
    rows = [f"{d:%Y-%m-%d},{a},{b}" for d, a, b in zip(months(24), x, n, strict=True)]
    path = tmp_path / "settled.csv"
    path.write_text("\n".join(["month,settled,adults", *rows]) + "\n", encoding="utf-8")
    return path


LANEY_ARGS = ["--date-col", "month", "--chart", "laney"]
PARTS = ["--numerator-col", "settled", "--denominator-col", "adults"]


def run(argv, capsys):
    code = main(["spc", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_report_and_json(ratio_csv, capsys):
    code, out, err = run([str(ratio_csv), *LANEY_ARGS, *PARTS, "--target", "55"], capsys)
    assert code == 0, err
    assert "SPC (Laney p' chart) of 'settled' / 'adults'" in out
    assert "Chart: Laney p' chart (limits adjusted for the size of each point's denominator" in out
    assert "Sigma z is" in out and "(sigma z " in out
    assert "shown are those of each group's latest value" in out

    code, out, err = run([str(ratio_csv), *LANEY_ARGS, *PARTS, "--json"], capsys)
    assert code == 0, err
    record = json.loads(out)[0]
    assert record["chart_kind"] == "laney_p"
    uppers = {p["upl"] for p in record["points"]}
    assert len(uppers) > 1  # the limits vary by month
    frame = pd.read_csv(ratio_csv)
    expected = 100 * frame["settled"] / frame["adults"]
    assert [p["value"] for p in record["points"]] == pytest.approx(expected.tolist())

    code, out, _ = run(
        [str(ratio_csv), *LANEY_ARGS, *PARTS, "--laney-chart", "u", "--per", "1000", "--json"],
        capsys,
    )
    assert code == 0
    record = json.loads(out)[0]
    assert record["chart_kind"] == "laney_u"
    assert record["points"][0]["value"] == pytest.approx(1000 * expected.iloc[0] / 100)


def test_cli_errors(ratio_csv, tmp_path, capsys):
    code, _, err = run([str(ratio_csv), *LANEY_ARGS, "--numerator-col", "settled"], capsys)
    assert code == 2 and "--chart laney needs --denominator-col" in err
    code, _, err = run([str(ratio_csv), *LANEY_ARGS, *PARTS, "--value-col", "settled"], capsys)
    assert code == 2 and "leave out --value-col" in err
    code, _, err = run([str(ratio_csv), "--date-col", "month", *PARTS], capsys)
    assert code == 2 and "--value-col is required" in err
    code, _, err = run([str(ratio_csv), *LANEY_ARGS, *PARTS, "--per", "-5"], capsys)
    assert code == 2 and "--per must be more than 0" in err
    code, _, err = run(
        [str(ratio_csv), *LANEY_ARGS, "--numerator-col", "setled", "--denominator-col", "adults"],
        capsys,
    )
    assert code == 2 and "no column 'setled' (from --numerator-col)" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("month,settled,adults\n2024-01-01,10,100\n2024-02-01,120,100\n")
    code, _, err = run([str(bad), *LANEY_ARGS, *PARTS], capsys)
    assert code == 2 and "more than its denominator" in err
    bad.write_text("month,settled,adults\n2024-01-01,10,100\n2024-02-01,ten,100\n")
    code, _, err = run([str(bad), *LANEY_ARGS, *PARTS], capsys)
    assert code == 2 and "line 3: 'ten' in column 'settled' is not a number" in err


# --- the sample board -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def board():
    from metrics.board import open_board

    return open_board(ROOT / "config")


def test_sample_metric_settled_accommodation_is_read_as_a_laney_chart(board):
    from metrics.analyses.reading import read_metric, spc_reading
    from metrics.sql.series import SeriesQuery

    metric = board.metric("settled_accommodation")
    assert metric.spc.chart == "laney" and metric.measure == "ratio"
    frame = board.series("settled_accommodation", SeriesQuery()).frame
    assert frame["denominator"].min() > 2500  # large denominators: why it is a Laney chart
    reading = spc_reading(board, "settled_accommodation", SeriesQuery())
    assert reading.result is not None, reading.reason
    facet = reading.result.facet()
    assert facet.chart_kind == "laney_p"
    points = reading.result.points
    final = frame[frame["month"].isin(points["date"])].reset_index(drop=True)
    assert points["value"].to_numpy() == pytest.approx(final["value"].to_numpy(), nan_ok=True)
    present = final.dropna(subset=["value"])
    centre = 100 * present["numerator"].sum() / present["denominator"].sum()
    assert points["mean"].iloc[0] == pytest.approx(centre)
    assert points["upl"].nunique() > 10  # limits vary with each month's denominator
    # the reading everyone sees works as before
    period = SeriesQuery(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))
    shown = read_metric(board, "settled_accommodation", period)
    assert shown.available and shown.spc.result.facet().chart_kind == "laney_p"
    # other ratio metrics stay XmR
    assert spc_reading(
        board, "secondary_acceptance_rate", SeriesQuery()
    ).result.facet().chart_kind in (
        "xmr",
        "run",
    )
    # the configuration is still valid
    assert not [i for i in board.issues if i.is_error]
