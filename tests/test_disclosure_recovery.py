"""No arithmetic way round disclosure control (issue 11, requirement 7).

Hypothesis builds small populations of exact counts (plenty of 0 to 7), runs every
controlled output the engine produces for them, then plays a reader who tries to get an
exact count of 1 to 7 back by arithmetic on what is shown:

- rate x denominator / per, and percentage x shown denominator / 100;
- inverting interval bounds (the count whose Garwood interval, or the pair of counts whose
  rate ratio and Katz interval, match what is shown);
- a total minus the other shown parts, a mean x the number of counts minus the others;
- a change plus the other month as shown.

The reader knows every shown figure, the published populations (to full precision) and
the rules (rounding to the nearest 5, what is suppressed). A count is *recovered* when the
counts consistent with one of those sums are exactly the true count, and the reader could
not already read it off the shown count (a count of 5 shown as "5" is not a recovery).
Every candidate set below is built by brute force over whole numbers, so nothing here
depends on the code under test getting its own arithmetic right.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from metrics.analyses.disclosure import (
    MHSDS,
    NHS_SECONDARY_CARE,
    SUPPRESSED,
    Policy,
    control_change,
    control_count,
    control_count_mean,
    control_series,
    control_spc_points,
    control_total,
    control_value,
    round_to_base,
)
from metrics.analyses.equity import EquityResult
from metrics.analyses.equity_shown import (
    equity_download,
    equity_table,
    rate_chart_data,
    ratio_trend_data,
)
from metrics.analyses.equity_stats import pool_rates, yearly_rate_ratios
from metrics.analyses.impact import control_counterfactual_frame
from metrics.definitions.models import MetricDef, RateDef, RatioPart
from metrics.spc import compute_spc
from metrics.sql.series import SeriesQuery, SeriesResult

PER = 100_000
MAX_COUNT = 60  # counts tried by the reader (populations hold at most 40 a cell)
CONFIDENCE = 0.95
Z = 1.959963984540054
# Garwood limits per person-year for every count the reader tries.
GARWOOD = [
    (
        chi2.ppf(0.025, 2 * k) / 2 if k > 0 else 0.0,
        chi2.ppf(0.975, 2 * k + 2) / 2,
    )
    for k in range(MAX_COUNT + 1)
]

# (policy, top_level) pairs under which the policy applies: breakdown and neighbourhood
# cells on the board, and anything public (whole-area figures included).
CONTROLLED = [
    (MHSDS, False),
    (MHSDS, True),
    (NHS_SECONDARY_CARE, False),
    (NHS_SECONDARY_CARE, True),
    (Policy("mhsds", area_totals_unrounded=True), False),
    (Policy("nhs_secondary_care", area_totals_unrounded=True), False),
]
controlled = st.sampled_from(CONTROLLED)
small_or_not = st.one_of(st.integers(0, 7), st.integers(0, 7), st.integers(8, 40))
population = st.integers(1_000, 400_000)


def metric(measure: str, **changes) -> MetricDef:
    fields = dict(
        id="m", title="M", domain="d", source="s", measure=measure, unit="people", better="down"
    )
    if measure == "ratio":
        fields.update(numerator=RatioPart(filter="x"), unit="%", decimals=1)
    if measure == "rate":
        fields.update(rate=RateDef(population="population"), unit="per 100,000", decimals=1)
    fields.update(changes)
    return MetricDef(**fields)


COUNT, RATIO, RATE = metric("count"), metric("ratio"), metric("rate")


# --------------------------------------------------------------------------- the reader


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").replace("+", ""))


def decimals_of(text: str) -> int:
    core = text.replace("%", "")
    return len(core.split(".")[1]) if "." in core else 0


def fmt(value: float, decimals: int) -> str:
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"


def count_range(shown: str | float | None, policy: Policy) -> set[int]:
    """Whole counts a reader cannot tell apart from a shown count ('*', '15', NaN)."""
    if shown is None or shown == SUPPRESSED or (isinstance(shown, float) and math.isnan(shown)):
        return {c for c in range(8) if policy.is_small(c)}
    value = number(shown) if isinstance(shown, str) else float(shown)
    if value % 5 or policy.is_small(value):
        return {round(value)}  # not a controlled count: the reader takes it as it stands
    return {
        c
        for c in range(max(0, int(value) - 2), int(value) + 3)
        if not policy.is_small(c) and round_to_base(c) == value
    }


def check(candidates: Iterable[int], true: float, policy: Policy, what: str) -> None:
    """Fail when the reader's sum pins down the true count and the count shows less."""
    true = int(true)
    found = set(candidates)
    if 1 <= true <= 7 and control_count(true, policy).value != true and found == {true}:
        pytest.fail(
            f"{what}: the exact count {true} can be worked out (shown as "
            f"{control_count(true, policy).text!r})"
        )


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def sums(ranges: list[set[int]]) -> set[int]:
    """Every total of one value from each range."""
    totals = {0}
    for values in ranges:
        totals = {t + v for t in totals for v in values}
    return totals


def attack_rate(text: str, shown_count: str, denominator: float, policy, true, what) -> None:
    """rate x denominator / per, at the shown precision."""
    if text in (SUPPRESSED, "–"):
        return
    places = decimals_of(text)
    found = {
        k
        for k in range(MAX_COUNT + 1)
        if fmt(PER * k / denominator, places) == text.replace("%", "")
    }
    check(found & count_range(shown_count, policy), true, policy, f"{what}: rate x population")


def attack_percentage(cell_text, numerator_text, denominator_text, policy, parts, what) -> None:
    """percentage x shown denominator / 100, for the numerator and for the denominator."""
    if cell_text in (SUPPRESSED, "–"):
        return
    places = decimals_of(cell_text)
    target = cell_text.rstrip("%")
    pairs = {
        (a, b)
        for a in count_range(numerator_text, policy)
        for b in count_range(denominator_text, policy)
        if b > 0 and a <= b and fmt(100 * a / b, places) == target
    }
    check({a for a, _ in pairs}, parts[0], policy, f"{what}: percentage x denominator")
    check({b for _, b in pairs}, parts[1], policy, f"{what}: numerator / percentage")


def attack_garwood(interval_text: str, person_years: float, shown_count, policy, true, what):
    if SUPPRESSED in interval_text or "–" in interval_text:
        return
    low_text, high_text = interval_text.split(" to ")
    places = decimals_of(low_text)
    found = {
        k
        for k, (low, high) in enumerate(GARWOOD)
        if fmt(low * PER / person_years, places) == low_text
        and fmt(high * PER / person_years, places) == high_text
    }
    check(found & count_range(shown_count, policy), true, policy, f"{what}: Garwood interval")


def ratio_pairs(ratio, low, high, py, ref_py, group_range, ref_range, *, exact_floats):
    """(events, reference events) whose rate ratio (and Katz interval) match."""
    pairs = set()
    for k in group_range:
        for r in ref_range:
            if r <= 0:
                continue
            rr = (k / py) / (r / ref_py)
            if exact_floats:
                ok = close(rr, ratio)
                if ok and low is not None and k > 0:
                    spread = Z * math.sqrt(1 / k + 1 / r)
                    ok = close(rr * math.exp(-spread), low) and close(rr * math.exp(spread), high)
            else:
                ok = f"{rr:.2f}" == ratio
                if ok and low is not None and k > 0:
                    spread = Z * math.sqrt(1 / k + 1 / r)
                    ok = f"{rr * math.exp(-spread):.2f}" == low and (
                        f"{rr * math.exp(spread):.2f}" == high
                    )
            if ok:
                pairs.add((k, r))
    return pairs


# --------------------------------------------------------------------------- populations


@st.composite
def cells(draw) -> list[tuple[int, int]]:
    """(count, other count) pairs: a numerator and the rest of its denominator."""
    return draw(st.lists(st.tuples(small_or_not, small_or_not), min_size=1, max_size=6))


@st.composite
def breakdowns(draw) -> pd.DataFrame:
    """A broken-down monthly rate series: 2-4 groups, 1-4 months from February 2020 (so
    a financial year can start inside it), exact counts and each group's population."""
    n_groups = draw(st.integers(2, 4))
    n_months = draw(st.integers(1, 4))
    months = pd.date_range("2020-02-01", periods=n_months, freq="MS")
    rows = []
    for g in range(n_groups):
        people = draw(population)
        for month in months:
            events = draw(small_or_not)
            accepted = draw(st.integers(0, events))
            rows.append(
                {
                    "month": month,
                    "group": f"G{g}",
                    "numerator": float(events),
                    "denominator": float(people),
                    "accepted": float(accepted),
                }
            )
    return pd.DataFrame(rows)


def rate_series(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["month", "group", "numerator", "denominator"]].copy()
    out["value"] = PER * out["numerator"] / out["denominator"]
    out["n"] = out["numerator"].astype(int)
    return out[["month", "group", "value", "numerator", "denominator", "n"]]


def ratio_series(frame: pd.DataFrame) -> pd.DataFrame:
    """accepted of events (a percentage), from the same counts."""
    out = pd.DataFrame(
        {
            "month": frame["month"],
            "group": frame["group"],
            "numerator": frame["accepted"],
            "denominator": frame["numerator"],
        }
    )
    out["value"] = [
        100 * a / b if b else math.nan for a, b in zip(out.numerator, out.denominator, strict=True)
    ]
    out["n"] = out["denominator"].astype(int)
    return out[["month", "group", "value", "numerator", "denominator", "n"]]


def count_series(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {"month": frame["month"], "group": frame["group"], "value": frame["numerator"]}
    )
    out["numerator"] = frame["numerator"]
    out["denominator"] = math.nan
    out["n"] = frame["numerator"].astype(int)
    return out[["month", "group", "value", "numerator", "denominator", "n"]]


# --------------------------------------------------------------------------- single figures


@settings(deadline=None)
@given(controlled, cells(), population)
@example((MHSDS, False), [(6, 11)], 200_000)  # 35% of "5" and "15" is only 6 of 17
@example((NHS_SECONDARY_CARE, True), [(17, 0)], 5_667)
def test_no_count_comes_back_from_a_rate_or_a_percentage(setting, pairs, people):
    policy, top = setting
    for count, rest in pairs:
        total = count + rest
        shown = control_count(count, policy, top_level=top).text
        rate = control_value(
            RATE,
            policy,
            value=PER * count / people,
            numerator=count,
            denominator=people,
            top_level=top,
        )
        attack_rate(rate.text, shown, people, policy, count, "rate")
        ratio = control_value(
            RATIO,
            policy,
            value=100 * count / total if total else math.nan,
            numerator=count,
            denominator=total,
            top_level=top,
        )
        total_shown = control_count(total, policy, top_level=top).text
        attack_percentage(ratio.text, shown, total_shown, policy, (count, total), "percentage")
        # A count shown as a figure is never the exact small count.
        cell = control_value(COUNT, policy, value=count, top_level=top)
        check(count_range(cell.text, policy), count, policy, "count")


@settings(deadline=None)
@given(controlled, st.lists(small_or_not, min_size=1, max_size=6))
@example((MHSDS, False), [4, 4])  # "*" and "*" beside a total of "10": both must be 4
@example((MHSDS, False), [4, 4, 4, 4, 4])  # "*" five times, with an exact mean of 4.0
@example((NHS_SECONDARY_CARE, False), [3, 20])
def test_no_count_comes_back_from_a_total_a_mean_or_a_change(setting, counts):
    policy, top = setting
    shown = [control_count(c, policy, top_level=top).text for c in counts]
    ranges = [count_range(t, policy) for t in shown]
    # A total beside its parts, less the other shown parts.
    total = control_total(counts, policy, top_level=top)
    for i, count in enumerate(counts):
        others = sums(ranges[:i] + ranges[i + 1 :])
        found = {t - o for t in count_range(total.text, policy) for o in others}
        check(found & ranges[i], count, policy, "total minus the other parts")
    # A mean of the counts, times their number, less the others.
    mean = control_count_mean(counts, policy, top_level=top, decimals=1)
    if not mean.suppressed and mean.value is not None:
        n = len(counts)
        totals = {s for s in range(n * MAX_COUNT + 1) if fmt(s / n, 1) == mean.text}
        for i, count in enumerate(counts):
            others = sums(ranges[:i] + ranges[i + 1 :])
            found = {s - o for s in totals for o in others}
            check(found & ranges[i], count, policy, "mean x n minus the others")
    # A change, plus (or minus) the other month as shown.
    for before, after in itertools.pairwise(counts):
        change = control_change(after, before, policy, top_level=top)
        if change.value is None:
            continue
        found_after = {
            b + int(change.value)
            for b in count_range(control_count(before, policy, top_level=top).text, policy)
        }
        found_before = {
            a - int(change.value)
            for a in count_range(control_count(after, policy, top_level=top).text, policy)
        }
        after_range = count_range(control_count(after, policy, top_level=top).text, policy)
        before_range = count_range(control_count(before, policy, top_level=top).text, policy)
        check(found_after & after_range, after, policy, "change plus the month before")
        check(found_before & before_range, before, policy, "month after minus the change")


# --------------------------------------------------------------------------- series frames


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controlled, breakdowns())
def test_no_count_comes_back_from_a_series_frame(setting, frame):
    policy, top = setting
    query = SeriesQuery() if top else SeriesQuery(breakdown="group")
    if top:
        frame = frame[frame["group"] == "G0"]
    rates = control_series(SeriesResult(RATE, query, rate_series(frame), sql=""), policy)
    ratios = control_series(SeriesResult(RATIO, query, ratio_series(frame), sql=""), policy)
    counts = control_series(SeriesResult(COUNT, query, count_series(frame), sql=""), policy)
    for i, row in enumerate(frame.itertuples(index=False)):
        events, accepted, people = row.numerator, row.accepted, row.denominator
        shown_events = rates["numerator"].iloc[i]
        events_text = SUPPRESSED if math.isnan(shown_events) else fmt(shown_events, 0)
        attack_rate(rates["display"].iloc[i], events_text, people, policy, events, "series rate")
        check(count_range(counts["value"].iloc[i], policy), events, policy, "series count")
        num, den = ratios["numerator"].iloc[i], ratios["denominator"].iloc[i]
        attack_percentage(
            ratios["display"].iloc[i],
            SUPPRESSED if math.isnan(num) else fmt(num, 0),
            SUPPRESSED if math.isnan(den) else fmt(den, 0),
            policy,
            (accepted, events),
            "series percentage",
        )


# --------------------------------------------------------------------------- equity


def equity_result(frame: pd.DataFrame) -> EquityResult:
    series = rate_series(frame)
    rates = pool_rates(series, per=PER, dimension="lcn")
    yearly = yearly_rate_ratios(series, per=PER, reference=rates.reference, dimension="lcn")
    return EquityResult(RATE, "lcn", rates, yearly)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([MHSDS, NHS_SECONDARY_CARE]), breakdowns())
@example(
    MHSDS,
    pd.DataFrame(
        {
            "month": [pd.Timestamp("2020-02-01")] * 2,
            "group": ["G0", "G1"],
            "numerator": [17.0, 40.0],  # shown as 15; 17 x 100,000 / person-years
            "denominator": [68_000.0, 200_000.0],
            "accepted": [0.0, 0.0],
        }
    ),
)
def test_no_count_comes_back_from_the_equity_table_charts_or_download(policy, frame):
    result = equity_result(frame)
    table = equity_table(result, policy).set_index("Neighbourhood (LCN)")
    download = equity_download(result, policy).set_index("group")
    chart = rate_chart_data(result, policy).set_index("group")
    reference = result.reference
    exact = {g.group: g for g in result.rates.groups}
    ref_text = table.loc[reference, "Events"] if reference else SUPPRESSED
    for group, g in exact.items():
        row = table.loc[group]
        py = g.person_years
        events_text = row["Events"]
        if py <= 0:
            continue
        attack_rate(row["Rate per 100,000 a year"], events_text, py, policy, g.events, group)
        attack_garwood(row["95% CI (rate)"], py, events_text, policy, g.events, group)
        # The download and the chart carry full-precision floats.
        for source, rate in (("download", download.loc[group, "rate"]),) + (
            (("chart", chart.loc[group, "rate"]),) if group in chart.index else ()
        ):
            if pd.notna(rate):
                found = {k for k in range(MAX_COUNT + 1) if close(PER * k / py, rate)}
                check(found & count_range(events_text, policy), g.events, policy, source)
        if pd.notna(download.loc[group, "events"]):
            check(count_range(download.loc[group, "events"], policy), g.events, policy, "events")
        # The rate ratio and its interval, against the reference's shown count.
        ratio = row[f"Rate ratio vs {reference}"]
        if reference and group != reference and ratio not in (SUPPRESSED, "–"):
            interval = row["95% CI (ratio)"]
            low, high = (None, None) if interval == "–" else interval.split(" to ")
            ref_py = exact[reference].person_years
            pairs = ratio_pairs(
                ratio,
                low,
                high,
                py,
                ref_py,
                count_range(events_text, policy),
                count_range(ref_text, policy),
                exact_floats=False,
            )
            check({k for k, _ in pairs}, g.events, policy, f"{group}: rate ratio")
            check({r for _, r in pairs}, exact[reference].events, policy, "reference: ratio")
            floats = download.loc[group]
            if pd.notna(floats["rate_ratio"]):
                pairs = ratio_pairs(
                    floats["rate_ratio"],
                    None if pd.isna(floats["ratio_lower"]) else floats["ratio_lower"],
                    None if pd.isna(floats["ratio_upper"]) else floats["ratio_upper"],
                    py,
                    ref_py,
                    count_range(events_text, policy),
                    count_range(ref_text, policy),
                    exact_floats=True,
                )
                check({k for k, _ in pairs}, g.events, policy, f"{group}: ratio (download)")
    # The yearly trend: nothing about the year's counts is shown, so the reader tries any
    # pair of counts against the ratio and its interval (knowing the populations exactly).
    yearly = result.yearly
    for group in exact:
        trend = ratio_trend_data(result, group, policy)
        for point in trend.itertuples():
            year = yearly[(yearly["group"] == group) & (yearly["fin_year"] == point.fin_year)]
            if year.empty or group == reference:
                continue
            year = year.iloc[0]
            pairs = ratio_pairs(
                point.rate_ratio,
                None if pd.isna(point.ratio_lower) else point.ratio_lower,
                None if pd.isna(point.ratio_upper) else point.ratio_upper,
                year["person_years"],
                year["reference_person_years"],
                range(MAX_COUNT + 1),
                range(1, MAX_COUNT + 1),
                exact_floats=True,
            )
            check({k for k, _ in pairs}, year["events"], policy, f"{group} {point.fin_year}")
            check({r for _, r in pairs}, year["reference_events"], policy, "reference yearly")


# --------------------------------------------------------------------------- impact and SPC


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controlled, breakdowns())
def test_no_count_comes_back_from_the_impact_frame(setting, frame):
    policy, top = setting
    one = frame[frame["group"] == "G0"].reset_index(drop=True)
    for definition, series, counts in (
        (COUNT, count_series(one), False),
        (RATE, rate_series(one), True),  # a count model of a rate: observed = events
        (RATE, rate_series(one), False),  # a linear model of the rate itself
        (RATIO, ratio_series(one), False),
    ):
        observed = series["numerator"] if counts else series["value"]
        model = pd.DataFrame(
            {
                "date": series["month"],
                "observed": observed,
                "fitted": observed.mean(),
                "counterfactual": observed.mean(),
                "cf_low": 0.0,
                "cf_high": observed.max(),
                "in_fit": True,
                "segment": "pre",
            }
        )
        shown = control_counterfactual_frame(
            model, definition, policy, top_level=top, series=series, counts=counts
        )
        # What the metric's own page shows beside it (the parts of a percentage).
        page = control_series(
            SeriesResult(definition, SeriesQuery() if top else SeriesQuery(lcn="N"), series, ""),
            policy,
        )
        for i, row in enumerate(series.itertuples(index=False)):
            value = shown["observed"].iloc[i]
            if definition is COUNT or counts:
                check(count_range(value, policy), row.numerator, policy, "observed count")
            elif definition is RATE and pd.notna(value):
                events_text = (
                    fmt(page["numerator"].iloc[i], 0)
                    if pd.notna(page["numerator"].iloc[i])
                    else SUPPRESSED
                )
                attack_rate(
                    fmt(value, 1),
                    events_text,
                    row.denominator,
                    policy,
                    row.numerator,
                    "observed rate",
                )
            elif definition is RATIO and pd.notna(value):
                num, den = page["numerator"].iloc[i], page["denominator"].iloc[i]
                text = page["display"].iloc[i]
                assert text == SUPPRESSED or number(text) == value
                attack_percentage(
                    text,
                    SUPPRESSED if pd.isna(num) else fmt(num, 0),
                    SUPPRESSED if pd.isna(den) else fmt(den, 0),
                    policy,
                    (row.numerator, row.denominator),
                    "observed percentage",
                )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(controlled, st.lists(small_or_not, min_size=2, max_size=16), st.booleans())
@example((MHSDS, False), [4] * 12, False)  # every month "*", an exact centre line of 4
@example((NHS_SECONDARY_CARE, True), [6, 30], True)
def test_no_count_comes_back_from_spc_points(setting, counts, faceted):
    policy, top = setting
    months = pd.date_range("2021-01-01", periods=len(counts), freq="MS")
    frame = pd.DataFrame(
        {
            "month": months,
            "value": [float(c) for c in counts],
            "numerator": [float(c) for c in counts],
            "denominator": math.nan,
            "n": counts,
        }
    )
    if faceted:
        frame.insert(1, "group", "North")
    result = compute_spc(
        frame,
        date_col="month",
        value_col="value",
        facet_col="group" if faceted else None,
        rebase=[months[len(counts) // 2]] if len(counts) >= 6 else None,
    )
    shown = control_spc_points(result.points, frame, COUNT, policy, top_level=top)
    ranges = [count_range(v, policy) for v in shown["value"]]
    for i, count in enumerate(counts):
        check(ranges[i], count, policy, "SPC point")
    # The centre line of each rebase group, times its points, less the other points.
    for _, members in shown.groupby("rebase_group"):
        mean = members["mean"].iloc[0]
        if pd.isna(mean):
            continue
        positions = list(members.index)
        n = len(positions)
        totals = {s for s in range(n * MAX_COUNT + 1) if close(s / n, mean)}
        for i in positions:
            others = sums([ranges[j] for j in positions if j != i])
            found = {s - o for s in totals for o in others}
            check(found & ranges[i], counts[i], policy, "SPC centre line")
