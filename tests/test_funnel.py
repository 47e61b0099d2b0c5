"""Funnel plots (issue 12, requirement 7): limits, winsorisation, overdispersion and the
board's funnels, each checked against a computation written out independently here
(explicit loops, R's type-7 quantile by hand, scipy's binomial and Poisson quantiles)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom, poisson

from metrics.analyses.disclosure import MHSDS, NHS_SECONDARY_CARE, NO_CONTROL
from metrics.analyses.funnel import (
    INSIDE,
    Z95,
    Z998,
    FunnelError,
    breakdown_funnel,
    build_funnel,
    funnel_alt_text,
    funnel_caption,
    funnel_kind,
    funnel_summary,
    not_shown_text,
    overdispersion,
    winsorise,
)
from metrics.board import Board, open_board
from metrics.charts.funnel_chart import funnel_chart, funnel_chart_data
from metrics.sql.series import SeriesQuery

ROOT = Path(__file__).resolve().parents[1]
PERIOD = dict(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))


def type7_quantile(values: list[float], p: float) -> float:
    """R's default quantile (type 7), by hand: h = (n - 1) p, interpolate."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


# Ten providers: numerators and denominators of a proportion, spread wider than chance.
GROUPS = [f"P{i}" for i in range(10)]
NUM = [30, 52, 75, 20, 160, 90, 44, 210, 12, 61]
DEN = [200, 250, 300, 180, 600, 310, 150, 700, 90, 260]


def independent_funnel(num, den, *, kind, trim=0.1, adjust=True):
    """The whole method written out again with plain loops and math."""
    total = sum(num) / sum(den)
    if kind == "proportion":
        y = [math.asin(math.sqrt(a / b)) for a, b in zip(num, den, strict=True)]
        centre = math.asin(math.sqrt(total))
    else:
        y = [math.sqrt(a / b) for a, b in zip(num, den, strict=True)]
        centre = math.sqrt(total)
    s = [1 / (2 * math.sqrt(b)) for b in den]
    z = [(yi - centre) / si for yi, si in zip(y, s, strict=True)]
    low, high = type7_quantile(z, trim), type7_quantile(z, 1 - trim)
    zw = [min(max(v, low), high) for v in z]
    count = len(z)
    phi = sum(v * v for v in zw) / count
    w = [1 / si**2 for si in s]
    tau2 = 0.0
    if adjust and count * phi > count - 1:
        tau2 = (count * phi - (count - 1)) / (sum(w) - sum(x * x for x in w) / sum(w))

    def back(v):
        if kind == "proportion":
            return math.sin(min(max(v, 0.0), math.pi / 2)) ** 2
        return max(v, 0.0) ** 2

    out = []
    for si in s:
        spread95 = Z95 * math.sqrt(si**2 + tau2)
        spread998 = Z998 * math.sqrt(si**2 + tau2)
        out.append(
            (
                back(centre - spread95),
                back(centre + spread95),
                back(centre - spread998),
                back(centre + spread998),
            )
        )
    return total, z, zw, phi, tau2, out


def test_proportion_funnel_against_an_independent_computation():
    funnel = build_funnel(GROUPS, NUM, DEN, kind="proportion", per=100)
    total, z, zw, phi, tau2, limits = independent_funnel(NUM, DEN, kind="proportion")
    assert funnel.target == pytest.approx(100 * total)
    assert funnel.phi == pytest.approx(phi)
    assert tau2 > 0 and funnel.tau2 == pytest.approx(tau2) and funnel.adjusted
    for point, zi, zwi, (l95, u95, l998, u998) in zip(funnel.points, z, zw, limits, strict=True):
        assert point.z == pytest.approx(zi)
        assert point.z_winsorised == pytest.approx(zwi)
        assert (point.lower95, point.upper95) == pytest.approx((100 * l95, 100 * u95))
        assert (point.lower998, point.upper998) == pytest.approx((100 * l998, 100 * u998))
    assert "widened" in funnel.note


def test_rate_funnel_against_an_independent_computation():
    events = [40, 65, 22, 90, 31, 140]
    years = [20_000.0, 26_000.0, 15_000.0, 30_000.0, 18_000.0, 41_000.0]
    funnel = build_funnel(list("ABCDEF"), events, years, kind="rate", per=100_000)
    total, _, _, phi, tau2, limits = independent_funnel(events, years, kind="rate")
    assert funnel.target == pytest.approx(100_000 * total)
    assert funnel.phi == pytest.approx(phi) and funnel.tau2 == pytest.approx(tau2)
    for point, (l95, u95, l998, u998) in zip(funnel.points, limits, strict=True):
        assert (point.lower95, point.upper95) == pytest.approx((100_000 * l95, 100_000 * u95))
        assert (point.lower998, point.upper998) == pytest.approx((100_000 * l998, 100_000 * u998))
        assert point.value == pytest.approx(100_000 * point.numerator / point.denominator)


def test_limits_without_overdispersion_match_exact_binomial_and_poisson_quantiles():
    """With tau^2 = 0 the transformed-scale limits are close to the exact limits that
    Spiegelhalter (2005) gives for large groups (here within half a percentage point and
    2% of the rate)."""
    # Two groups at the target exactly: no spread, so tau^2 = 0.
    funnel = build_funnel(["A", "B"], [200, 400], [1_000, 2_000], kind="proportion", per=1)
    a = funnel.points[0]
    assert funnel.tau2 == 0
    assert a.lower95 == pytest.approx(binom.ppf(0.025, 1_000, 0.2) / 1_000, abs=0.005)
    assert a.upper95 == pytest.approx(binom.ppf(0.975, 1_000, 0.2) / 1_000, abs=0.005)
    assert a.lower998 == pytest.approx(binom.ppf(0.001, 1_000, 0.2) / 1_000, abs=0.005)
    assert a.upper998 == pytest.approx(binom.ppf(0.999, 1_000, 0.2) / 1_000, abs=0.005)
    rates = build_funnel(["A", "B"], [100, 300], [50_000, 150_000], kind="rate", per=1)
    r = rates.points[0]
    assert r.lower95 == pytest.approx(poisson.ppf(0.025, 100) / 50_000, rel=0.02)
    assert r.upper95 == pytest.approx(poisson.ppf(0.975, 100) / 50_000, rel=0.02)
    assert r.upper998 == pytest.approx(poisson.ppf(0.999, 100) / 50_000, rel=0.02)


def test_winsorisation_pulls_the_tails_in_to_the_10th_and_90th_centiles():
    z = [-9.0, -1.5, -0.5, 0.0, 0.2, 0.4, 0.9, 1.1, 1.8, 12.0]
    low, high = type7_quantile(z, 0.1), type7_quantile(z, 0.9)
    # h = 9 x 0.1 = 0.9: -9 + 0.9 x 7.5; h = 8.1: 1.8 + 0.1 x 10.2
    assert (low, high) == pytest.approx((-2.25, 2.82))
    out = winsorise(z)
    assert out[0] == pytest.approx(low) and out[-1] == pytest.approx(high)
    assert list(out[1:-1]) == z[1:-1]  # the middle is untouched
    # One extreme group cannot set the limits alone: phi with winsorisation is smaller.
    s = np.full(len(z), 0.05)
    phi_w, tau_w = overdispersion(out, s)
    phi_raw, tau_raw = overdispersion(np.array(z), s)
    assert phi_w == pytest.approx(sum(v * v for v in out) / len(z))
    assert phi_w < phi_raw and tau_w < tau_raw


def test_no_extra_spread_means_no_widening():
    # z-scores with sum of squares below I - 1: tau^2 = 0.
    phi, tau2 = overdispersion(np.array([0.3, -0.5, 0.8, -0.2, 0.1]), np.full(5, 0.1))
    assert phi * 5 <= 4 and tau2 == 0.0


def test_few_groups_and_groups_of_people_keep_limits_to_chance_alone():
    three = build_funnel(["A", "B", "C"], [30, 90, 10], [200, 300, 200], kind="proportion", per=100)
    assert not three.adjusted and three.tau2 == 0 and "With 3 groups" in three.note
    people = build_funnel(GROUPS, NUM, DEN, kind="proportion", per=100, adjust=False)
    assert not people.adjusted and people.tau2 == 0 and "groups of people" in people.note
    adjusted = build_funnel(GROUPS, NUM, DEN, kind="proportion", per=100)
    # Wider limits when adjusted.
    assert adjusted.points[0].upper95 > people.points[0].upper95
    with pytest.raises(FunnelError, match="at least 2"):
        build_funnel(["A"], [1], [10], kind="proportion", per=100)


def test_each_point_says_which_group_its_value_and_where_it_lies():
    funnel = build_funnel(
        ["Small", "Big", "Mid", "A", "B"],
        [10, 400, 45, 600, 300],
        [100, 1_000, 100, 2_000, 1_000],
        kind="proportion",
        per=100,
        adjust=False,
    )
    small, big, mid, a, b = funnel.points
    assert big.value == 40.0 and big.outside998 and big.position == "above both limits"
    assert funnel.label(big) == "Big: 40.0% (above both limits)"
    assert small.position == "below both limits"
    assert mid.position == "above the 95% limit, inside the 99.8% limit"
    assert a.position == "below the 95% limit, inside the 99.8% limit"
    assert mid.outside95 and not mid.outside998 and b.position == INSIDE
    assert funnel.label(mid) == "Mid: 45.0% (above the 95% limit, inside the 99.8% limit)"
    # z-scores on the arcsine scale by hand: the position follows |z| against 1.96, 3.09.
    centre = math.asin(math.sqrt(1_355 / 4_200))
    assert mid.z == pytest.approx((math.asin(math.sqrt(0.45)) - centre) * 2 * math.sqrt(100))
    assert Z95 < mid.z < Z998 and Z95 < -a.z < Z998
    assert funnel_summary(funnel).startswith("Small (10.0%), Big (40.0%) are outside the 99.8%")
    text = funnel_alt_text(funnel)
    assert "Big: 40.0% (above both limits)" in text and "Small: 10.0%" in text
    points, lines = funnel_chart_data(funnel)
    assert set(points["label"]) == {funnel.label(p) for p in funnel.points}
    assert set(lines["limit"]) == {"95% limits", "99.8% limits"}
    assert not {"numerator", "events"} & set(points.columns)
    # The limit lines pass through each point's limits at its size.
    curve = funnel.curve(steps=400)
    at = np.interp(big.denominator, curve["x"], curve["upper95"])
    assert at == pytest.approx(big.upper95, rel=1e-3)
    assert funnel_chart(funnel).to_dict()["layer"]


def test_inside_position():
    funnel = build_funnel(["A", "B"], [100, 205], [500, 1_000], kind="proportion", per=100)
    assert {p.position for p in funnel.points} == {INSIDE}


# --------------------------------------------------------------------------- the board


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(ROOT / "config")


def test_funnel_kinds(board):
    kinds = {m.id: funnel_kind(m) for m in board.catalogue.metrics.values()}
    assert kinds["detention_rate"] == "rate"
    assert kinds["prom_paired_coverage"] == "proportion"
    assert kinds["detentions"] is None  # a count
    assert kinds["acute_bed_day_cost"] is None  # money per bed day, not a percentage


@pytest.mark.parametrize(
    ("metric", "breakdown", "label"),
    [
        ("detention_rate", "lcn", "neighbourhood"),
        ("prom_paired_coverage", "team", "team"),
        ("prom_paired_coverage", "provider", "provider"),
    ],
)
def test_board_funnels_for_neighbourhoods_teams_and_providers(board, metric, breakdown, label):
    query = SeriesQuery(breakdown=breakdown, **PERIOD)
    funnel = breakdown_funnel(board, metric, query, MHSDS)
    assert funnel.group_label == label and len(funnel.points) >= 3
    exact = breakdown_funnel(board, metric, query, NO_CONTROL)
    frame = board.series(metric, query).frame
    frame = frame[frame["month"] < "2025-02-01"].dropna(subset=["numerator", "denominator"])
    pooled = frame.groupby("group")[["numerator", "denominator"]].sum()
    for point in exact.points:
        numerator = pooled.loc[point.group, "numerator"]
        assert point.numerator == numerator  # provisional months left out, the rest pooled
    for point in funnel.points:
        assert point.numerator % 5 == 0  # as shown: rounded to 5
        if funnel.kind == "proportion":
            assert point.denominator % 5 == 0
    assert funnel_caption(funnel).startswith(f"Each point is one {label}'s")


def test_detention_rates_by_neighbourhood_on_the_sample(board):
    funnel = breakdown_funnel(
        board, "detention_rate", SeriesQuery(breakdown="lcn", **PERIOD), MHSDS
    )
    assert funnel.kind == "rate" and not funnel.adjusted and "With 3 groups" in funnel.note
    by = {p.group: p for p in funnel.points}
    # South East has the largest share of Black residents (31%), so the highest crude rate.
    assert by["South East"].value == max(p.value for p in funnel.points)
    assert by["South East"].value > by["South East"].upper95


def test_population_groups_are_not_adjusted_on_the_board(board):
    funnel = breakdown_funnel(
        board, "detention_rate", SeriesQuery(breakdown="ethnicity", **PERIOD), MHSDS
    )
    assert len(funnel.points) == 5 and not funnel.adjusted
    by = {p.group: p for p in funnel.points}
    assert by["Black"].position == "above both limits"
    assert by["White"].position == "below both limits"


def test_a_monthly_return_is_compared_on_its_latest_month(board):
    funnel = breakdown_funnel(
        board, "settled_accommodation", SeriesQuery(breakdown="lcn", **PERIOD), NO_CONTROL
    )
    assert funnel.period == "January 2025"
    assert any("latest month" in note for note in funnel.notes)


def test_suppressed_groups_are_listed_and_not_drawn(board):
    one_month = SeriesQuery(
        breakdown="ethnicity", start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 1), lcn="North"
    )
    exact = breakdown_funnel(board, "detention_rate", one_month, NO_CONTROL)
    for policy in (MHSDS, NHS_SECONDARY_CARE):
        try:
            funnel = breakdown_funnel(board, "detention_rate", one_month, policy)
        except FunnelError:
            small = [p for p in exact.points if policy.is_small(p.numerator)]
            assert len(exact.points) - len(small) < 2
            continue
        hidden = {p.group for p in exact.points if policy.is_small(p.numerator)}
        assert hidden and set(funnel.not_shown) == hidden
        assert not hidden & {p.group for p in funnel.points}
        assert not_shown_text(funnel).startswith("Not shown (numbers too small to show)")
        assert "Not shown (small numbers)" in funnel_alt_text(funnel)


def test_not_a_rate_or_percentage_is_refused(board):
    with pytest.raises(FunnelError, match="neither a rate nor a percentage"):
        breakdown_funnel(board, "detentions", SeriesQuery(breakdown="lcn"), MHSDS)
    with pytest.raises(FunnelError, match="breakdown"):
        breakdown_funnel(board, "detention_rate", SeriesQuery(), MHSDS)
