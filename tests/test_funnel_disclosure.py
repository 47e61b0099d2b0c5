"""No count 1-7 comes back from a funnel point, an age-standardised rate or a dispersion
factor (issue 12, requirements 6 and 7), mirroring tests/test_disclosure_recovery.py.

Two kinds of property, both over populations built by Hypothesis with plenty of 0 to 7:

- the reader's attack: from what is drawn or downloaded (a funnel point's figure and
  size, a standardised rate and its Dobson interval, with the published populations and
  the standard's weights) try every whole count by brute force, and fail if the counts
  that fit pin down a true count of 1 to 7 that is not shown as such;
- computable only from controlled counts: change the exact counts without changing any
  count as shown, and every figure shown stays the same.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metrics.analyses.disclosure import MHSDS, NHS_SECONDARY_CARE, Policy, control_count
from metrics.analyses.equity import EquityResult
from metrics.analyses.equity_shown import (
    equity_download,
    shown_dispersion,
    shown_standardised,
    standardised_table,
)
from metrics.analyses.equity_stats import (
    group_dispersion,
    pool_rates,
    standardise,
    yearly_rate_ratios,
)
from metrics.analyses.funnel import build_funnel, controlled_parts, funnel_points_frame
from metrics.analyses.standardisation import band_weights, directly_standardised_rate
from metrics.definitions.models import MetricDef, RateDef
from tests.test_disclosure_recovery import MAX_COUNT, check, close, count_range, fmt

policies = st.sampled_from([MHSDS, NHS_SECONDARY_CARE])
small_or_not = st.one_of(st.integers(0, 7), st.integers(0, 7), st.integers(8, 40))
BANDS = ["18-44", "45+"]
WEIGHTS = band_weights(BANDS)
SETTINGS = dict(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same_as_shown(count: int, policy: Policy, choice: int) -> int:
    """Another whole count that is shown exactly as `count` is (for the invariance)."""
    shown = control_count(count, policy).text
    options = sorted(c for c in range(count + 10) if control_count(c, policy).text == shown)
    return options[choice % len(options)]


# --------------------------------------------------------------------------- funnel


@st.composite
def funnel_groups(draw):
    """2-6 groups: (numerator, rest of the denominator, person-years)."""
    size = draw(st.integers(2, 6))
    return [
        (draw(small_or_not), draw(small_or_not), draw(st.integers(2_000, 300_000)))
        for _ in range(size)
    ]


def shown_funnel(groups, kind: str, policy: Policy):
    names = [f"G{i}" for i in range(len(groups))]
    numerators = [float(n) for n, _, _ in groups]
    if kind == "rate":
        denominators = [float(py) for _, _, py in groups]
        per = 100_000.0
    else:
        denominators = [float(n + rest) for n, rest, _ in groups]
        per = 100.0
    shown, num, den, hidden = controlled_parts(
        names, numerators, denominators, kind=kind, policy=policy
    )
    if len(shown) < 2:
        return None, hidden, per
    return build_funnel(shown, num, den, kind=kind, per=per, not_shown=hidden), hidden, per


@settings(**SETTINGS)
@given(policies, funnel_groups(), st.sampled_from(["rate", "proportion"]))
@example(MHSDS, [(17, 0, 68_000), (40, 3, 200_000)], "rate")  # 17 shown as 15
@example(NHS_SECONDARY_CARE, [(6, 30, 5_000), (9, 40, 9_000), (3, 3, 100)], "proportion")
def test_no_count_comes_back_from_a_funnel_point(policy, groups, kind):
    funnel, hidden, per = shown_funnel(groups, kind, policy)
    names = [f"G{i}" for i in range(len(groups))]
    for name, (count, rest, _) in zip(names, groups, strict=True):
        small = policy.is_small(count) or (
            kind == "proportion" and (policy.is_small(count + rest) or count + rest == 0)
        )
        assert (name in hidden) == small  # suppressed (or empty) groups are listed, not drawn
    if funnel is None:
        return
    frame = funnel_points_frame(funnel)
    assert not set(frame["group"]) & set(hidden)
    truth = dict(zip(names, groups, strict=True))
    for row in frame.itertuples():
        count, rest, _ = truth[row.group]
        # The figure times the size drawn on the x axis, over `per`: whole numbers only.
        found = {k for k in range(MAX_COUNT + 1) if close(per * k / row.size, row.value)}
        check(found, count, policy, f"{kind} point {row.group}")
        if kind == "proportion":
            check(count_range(float(row.size), policy), count + rest, policy, "funnel size")
            check({round(row.size)}, count + rest, policy, "funnel size as drawn")
        # The figure as labelled (one decimal) against every count the reader tries.
        text = f"{row.value:.1f}"
        labelled = {k for k in range(MAX_COUNT + 1) if fmt(per * k / row.size, 1) == text}
        check(
            labelled & count_range(control_count(count, policy).text, policy),
            count,
            policy,
            "funnel label",
        )
    # The target times the total size, less the other points: the rounded count again.
    total = funnel.target / per * sum(p.denominator for p in funnel.points)
    for p in funnel.points:
        others = sum(q.value / per * q.denominator for q in funnel.points if q is not p)
        found = {k for k in range(MAX_COUNT + 1) if close(total - others, k)}
        check(found, truth[p.group][0], policy, "funnel target minus the other points")


@settings(**SETTINGS)
@given(policies, funnel_groups(), st.sampled_from(["rate", "proportion"]), st.integers(0, 99))
def test_a_funnel_is_computed_from_controlled_counts_only(policy, groups, kind, choice):
    moved = []
    for i, (n, rest, py) in enumerate(groups):
        numerator = same_as_shown(n, policy, choice + i)
        total = same_as_shown(n + rest, policy, choice + 2 * i)
        if total < numerator:  # not a possible pair: move neither
            numerator, total = n, n + rest
        moved.append((numerator, total - numerator, py))
    first, hidden_first, _ = shown_funnel(groups, kind, policy)
    second, hidden_second, _ = shown_funnel(moved, kind, policy)
    assert hidden_first == hidden_second
    if first is None:
        assert second is None
        return
    assert second is not None
    assert funnel_points_frame(first).equals(funnel_points_frame(second))
    assert (first.target, first.tau2, first.phi) == (second.target, second.tau2, second.phi)


# --------------------------------------------------------------------------- age standardised


def _metric() -> MetricDef:
    return MetricDef(
        id="m",
        title="Detentions per 100,000 adults",
        domain="d",
        source="s",
        measure="rate",
        rate=RateDef(population="population"),
        unit="per 100,000",
        better="down",
        decimals=1,
    )


@st.composite
def age_populations(draw):
    """2-3 groups, each with events in two age bands and their person-years."""
    size = draw(st.integers(2, 3))
    return [
        (
            draw(small_or_not),
            draw(small_or_not),
            draw(st.integers(1_000, 200_000)),
            draw(st.integers(1_000, 200_000)),
        )
        for _ in range(size)
    ]


def standardised_result(groups) -> EquityResult:
    names = [f"G{i}" for i in range(len(groups))]
    cells = pd.DataFrame(
        [
            {"group": name, "age_band": band, "events": float(d), "person_years": float(py)}
            for name, (d1, d2, py1, py2) in zip(names, groups, strict=True)
            for band, d, py in ((BANDS[0], d1, py1), (BANDS[1], d2, py2))
        ]
    )
    # One month: person-years = population / 12, so the population is 12 x person-years.
    frame = pd.DataFrame(
        {
            "month": pd.Timestamp("2020-04-01"),
            "group": names,
            "numerator": [float(d1 + d2) for d1, d2, _, _ in groups],
            "denominator": [12.0 * (py1 + py2) for _, _, py1, py2 in groups],
        }
    )
    frame["value"] = frame["numerator"] * 100_000 / frame["denominator"]
    frame["n"] = frame["numerator"].astype(int)
    rates = pool_rates(frame, dimension="lcn")
    table = standardise(cells, weights=WEIGHTS, groups=names, reference=rates.reference)
    return EquityResult(
        _metric(),
        "lcn",
        rates,
        yearly_rate_ratios(frame, reference=rates.reference, dimension="lcn"),
        frame=frame,
        age_cells=cells,
        standardised=table,
    )


@settings(**SETTINGS)
@given(policies, age_populations())
@example(NHS_SECONDARY_CARE, [(9, 8, 5_000, 7_000), (30, 12, 40_000, 9_000)])
def test_no_count_comes_back_from_a_standardised_rate(policy, groups):
    result = standardised_result(groups)
    download = equity_download(result, policy).set_index("group")
    table = standardised_table(result, policy).set_index("Neighbourhood (LCN)")
    w = [WEIGHTS[b] for b in BANDS]
    for i, (d1, d2, py1, py2) in enumerate(groups):
        name = f"G{i}"
        rate = download.loc[name, "standardised_rate"]
        if pd.isna(rate):
            continue
        low, high = (
            download.loc[name, "standardised_lower"],
            download.loc[name, "standardised_upper"],
        )
        # Every pair of counts whose DSR is the rate shown (numpy for speed), then those
        # whose Dobson interval is the interval shown too.
        k1, k2 = np.meshgrid(np.arange(MAX_COUNT + 1), np.arange(MAX_COUNT + 1), indexing="ij")
        share = np.array(w) / sum(w)
        grid = 100_000 * (share[0] * k1 / py1 + share[1] * k2 / py2)
        near = np.argwhere(np.abs(grid - rate) <= 1e-6 * max(1.0, abs(rate)))
        pairs = set()
        for a, b in near:
            dsr = directly_standardised_rate([a, b], [py1, py2], w)
            if dsr.rate is None or not close(dsr.rate, rate):
                continue
            if pd.notna(low) and not (close(dsr.lower, low) and close(dsr.upper, high)):
                continue
            pairs.add((int(a), int(b)))
        assert pairs, "the reader's brute force must find the figures shown"
        check({a for a, _ in pairs}, d1, policy, f"{name}: age band 1 from the DSR")
        check({b for _, b in pairs}, d2, policy, f"{name}: age band 2 from the DSR")
        total_range = count_range(control_count(d1 + d2, policy).text, policy)
        check({a + b for a, b in pairs} & total_range, d1 + d2, policy, f"{name}: total")
        text = table.loc[name, "Age-standardised rate per 100,000 a year"]
        assert text == fmt(rate, 1)


@settings(**SETTINGS)
@given(policies, age_populations(), st.integers(0, 99))
def test_standardised_rates_are_computed_from_controlled_counts_only(policy, groups, choice):
    moved = [
        (same_as_shown(d1, policy, choice), same_as_shown(d2, policy, choice + 1), py1, py2)
        for d1, d2, py1, py2 in groups
    ]
    first = shown_standardised(standardised_result(groups), policy)
    # The group totals (monthly frame) move too; only the age cells feed the DSR.
    second = shown_standardised(standardised_result(moved), policy)
    for a, b in zip(first.groups, second.groups, strict=True):
        for field in ("rate", "lower", "upper", "ratio", "ratio_lower", "ratio_upper"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None and y is None) or (
                x is not None and y is not None and math.isclose(x, y, rel_tol=1e-12)
            ), field
        assert (a.suppressed, a.ratio_suppressed) == (b.suppressed, b.ratio_suppressed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policies,
    st.lists(st.integers(0, 60), min_size=12, max_size=30),
    st.integers(0, 99),
)
def test_dispersion_as_shown_is_computed_from_controlled_monthly_counts_only(
    policy, counts, choice
):
    months = pd.date_range("2019-04-01", periods=len(counts), freq="MS")

    def frame(values):
        return pd.DataFrame(
            {
                "month": months,
                "group": "G0",
                "numerator": [float(v) for v in values],
                "denominator": 120_000.0,
            }
        )

    moved = [same_as_shown(c, policy, choice + i) for i, c in enumerate(counts)]
    first = group_dispersion(frame(counts), policy)["G0"]
    second = group_dispersion(frame(moved), policy)["G0"]
    if first.phi is None:
        assert second.phi is None and first.reason == second.reason
    else:
        assert math.isclose(first.phi, second.phi, rel_tol=1e-9)
        assert first.widened == second.widened
    # shown_dispersion is this, on the result's own monthly series.
    result = EquityResult(
        _metric(),
        "lcn",
        pool_rates(frame(counts)),
        yearly_rate_ratios(frame(counts)),
        frame=frame(counts),
    )
    assert shown_dispersion(result, policy)["G0"].phi == first.phi
    assert np.isfinite(first.statistic) or first.phi is None
