"""The equity analysis as readers see it: words, figures as shown, tables and chart data.

Everything here takes an `EquityResult` (`metrics.analyses.equity`) and a disclosure
policy and returns what a page, the board pack or a download shows: sentences a board
member can read aloud, the rates and ratios recomputed from controlled counts
(small-number suppression), text tables, the CSV download and the frames and alt texts of
the charts. Kept apart from the analysis (exact figures only) so that what readers see,
and how it is controlled, can be read in one place.

Disclosure: the analysis (`equity.equity_rates`, `equity_stats.pool_rates`,
`equity_stats.yearly_rate_ratios`) works on exact numbers. Everything shown goes through
`shown_rates` / `shown_yearly` under the page's policy: each group's event count is
controlled (`metrics.analyses.disclosure`), and its rate, Garwood interval, rate ratio and
ratio interval are recomputed from the counts as shown (rounded), never from the exact
ones. Otherwise rate x person-years / 100,000 beside a rounded count would give the exact
count back (a count shown as 15 with a rate from 17 events). A group's rate, interval and
ratio are hidden when its count is suppressed, and ratios too when the reference group's
count is. Person-years come from published population estimates and are not controlled.
Likewise `shown_standardised` works from each group x age band count as shown (no
standardised rate where one is suppressed) and `shown_dispersion` from each month's count
as shown (not judged where a month is suppressed; the variance rounding to 5 adds is taken
off), so every figure shown can be computed from controlled counts alone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from metrics.analyses.disclosure import MISSING, SUPPRESSED, Policy, control_count, count_as_shown
from metrics.analyses.equity import DIMENSION_TITLES, EquityResult
from metrics.analyses.equity_stats import (
    GroupRate,
    RateTable,
    StandardisedRate,
    StandardisedTable,
    dispersion_factors,
    group_dispersion,
    group_rate,
    standardise,
)
from metrics.analyses.standardisation import CRUDE, STANDARD_NAME, STANDARDISED, Dispersion
from metrics.definitions.models import MetricDef

# --------------------------------------------------------------------------- words


def group_phrase(dimension: str, group: str) -> str:
    """How a group is named in a sentence: 'Black adults', 'adults aged 18-24', 'women'."""
    if dimension == "ethnicity":
        special = {
            "Other": "adults from other ethnic groups",
            "Mixed": "adults of mixed ethnicity",
        }
        return special.get(group, f"{group} adults")
    if dimension == "age_band":
        return f"adults aged {group}"
    if dimension == "gender":
        return {"Female": "women", "Male": "men"}.get(group, f"adults recorded as {group}")
    if dimension == "lcn":
        return f"adults in the {group} neighbourhood"
    return group


def event_noun(metric: MetricDef) -> str:
    """'detentions' from 'Detentions per 100,000 adults'."""
    noun = metric.title.split(" per ")[0].strip()
    return noun[:1].lower() + noun[1:]


def _ratio_text(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def group_suppressed(result: EquityResult, group: str, policy: Policy) -> bool:
    """Whether `group`'s event count is suppressed under `policy` (a breakdown cell)."""
    return control_count(result.rates.group(group).events, policy).suppressed


def ratio_suppressed(result: EquityResult, group: str, policy: Policy) -> bool:
    """A ratio is hidden when either its group's or the reference's count is suppressed."""
    reference = result.reference
    return group_suppressed(result, group, policy) or (
        reference is not None and group_suppressed(result, reference, policy)
    )


# --------------------------------------------------------------------------- as shown


SMALL_NUMBER_NOTE = "small number: rate and ratio not shown"


def shown_rates(result: EquityResult, policy: Policy) -> RateTable:
    """The rate table as readers see it under `policy` (every page, chart and download).

    Group order, person-years and the reference are those of the analysis; each group's
    `events` is its count as shown (rounded) and its rate, interval, rate ratio and ratio
    interval are recomputed from the counts as shown, with the same arithmetic as the
    analysis. A group whose count is suppressed has NaN events, no rate and
    `suppressed`; a ratio against a suppressed reference count is None with
    `ratio_suppressed`. Under a policy that does not apply, the exact table.
    """
    if not policy.applies():
        return result.rates
    exact = result.rates
    reference = exact.reference
    factors = dispersion_factors(shown_dispersion(result, policy))
    ref_phi = factors.get(reference, 1.0) if reference is not None else 1.0
    shown = {g.group: count_as_shown(g.events, policy) for g in exact.groups}
    ref_events = shown.get(reference) if reference is not None else None
    ref_py = exact.group(reference).person_years if reference is not None else 0.0
    rows: list[GroupRate] = []
    for g in exact.groups:
        events = shown[g.group]
        if events is None:
            rows.append(
                GroupRate(
                    g.group,
                    math.nan,
                    g.person_years,
                    is_reference=g.is_reference,
                    reason=SMALL_NUMBER_NOTE,
                    suppressed=True,
                )
            )
            continue
        if reference is not None and g.group != reference and ref_events is None:
            # The reference count is suppressed: the rate can be shown, the ratio cannot.
            row = group_rate(
                g.group,
                events,
                g.person_years,
                reference=None,
                reference_events=0.0,
                reference_person_years=0.0,
                per=exact.per,
                confidence=exact.confidence,
                dispersion=factors.get(g.group, 1.0),
            )
            if row.rate is not None:
                row = dataclasses.replace(
                    row,
                    rate_ratio=None,
                    ratio_lower=None,
                    ratio_upper=None,
                    reason=f"{reference} count too small: ratio not shown",
                    ratio_suppressed=True,
                )
            rows.append(row)
            continue
        rows.append(
            group_rate(
                g.group,
                events,
                g.person_years,
                reference=reference,
                reference_events=ref_events or 0.0,
                reference_person_years=ref_py,
                per=exact.per,
                confidence=exact.confidence,
                dispersion=factors.get(g.group, 1.0),
                reference_dispersion=ref_phi,
            )
        )
    return RateTable(tuple(rows), reference, exact.per, exact.months, exact.confidence)


def shown_dispersion(result: EquityResult, policy: Policy) -> dict[str, Dispersion]:
    """Each group's dispersion factor as used for the figures shown under `policy`:
    measured on the monthly counts as shown (`group_dispersion`); the exact analysis's
    where the policy does not apply. Empty when the result keeps no monthly series."""
    if not policy.applies():
        return dict(result.dispersion)
    if result.frame is None:
        return {}
    key = ("dispersion", policy)
    if key not in result._shown:
        result._shown[key] = group_dispersion(result.frame, policy)
    return dict(result._shown[key])


def shown_yearly(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """`result.yearly` as shown: years where the group's or the reference's count is
    suppressed are left out; the others have events as shown and rates, intervals and
    ratios recomputed from the counts as shown. Under a policy that does not apply, the
    exact frame."""
    yearly = result.yearly
    if not policy.applies() or yearly.empty:
        return yearly.copy()
    per, confidence = result.per, result.rates.confidence
    factors = dispersion_factors(shown_dispersion(result, policy))
    records = []
    for row in yearly.to_dict("records"):
        events = count_as_shown(row["events"], policy)
        ref_events = count_as_shown(row["reference_events"], policy)
        if events is None or ref_events is None:
            continue
        shown = group_rate(
            row["group"],
            events,
            row["person_years"],
            reference=row["reference"],
            reference_events=ref_events,
            reference_person_years=row["reference_person_years"],
            per=per,
            confidence=confidence,
            dispersion=factors.get(row["group"], 1.0),
            reference_dispersion=factors.get(row["reference"], 1.0),
        )
        records.append(
            {
                **row,
                "events": events,
                "reference_events": ref_events,
                "rate": shown.rate,
                "rate_lower": shown.rate_lower,
                "rate_upper": shown.rate_upper,
                "rate_ratio": shown.rate_ratio,
                "ratio_lower": shown.ratio_lower,
                "ratio_upper": shown.ratio_upper,
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(yearly.columns))
    for column in ("rate", "rate_lower", "rate_upper", "rate_ratio", "ratio_lower", "ratio_upper"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


def shown_standardised(result: EquityResult, policy: Policy) -> StandardisedTable | None:
    """The age-standardised rates as readers see them under `policy`.

    Worked out again from the age-band counts as shown (each group x age band pooled
    count controlled) and the dispersion factors as shown, so they can be computed from
    controlled counts alone. A group with any age band's count suppressed has no
    standardised rate (and no ratio), and nor has a ratio against such a reference.
    Under a policy that does not apply, the exact table. None without standardisation.
    """
    exact = result.standardised
    if exact is None or not policy.applies() or result.age_cells is None:
        return exact
    cells = result.age_cells.copy()
    shown = [count_as_shown(float(e), policy) for e in cells["events"]]
    cells["events"] = [math.nan if v is None else v for v in shown]
    hidden = sorted({str(g) for g, v in zip(cells["group"], shown, strict=True) if v is None})
    return standardise(
        cells,
        weights=exact.weights,
        groups=[g.group for g in exact.groups],
        reference=exact.reference,
        per=exact.per,
        confidence=exact.confidence,
        dispersion=dispersion_factors(shown_dispersion(result, policy)),
        suppressed=hidden,
    )


def standard_description(weights: Mapping[str, float]) -> str:
    """'18-24: 8,200; 25-34: 12,500; ...' (ESP2013 population per age band)."""
    return "; ".join(f"{band}: {value:,.0f}" for band, value in weights.items())


def standardised_sentence(result: EquityResult, group: str, policy: Policy) -> str:
    """The headline comparison again, allowing for age ('' when there is none)."""
    table = shown_standardised(result, policy)
    reference = result.reference
    if table is None or reference is None or group == reference:
        return ""
    try:
        row = table.group(group)
    except KeyError:
        return ""
    other = group_phrase(result.dimension, reference)
    subject = group_phrase(result.dimension, group)
    if row.suppressed or row.ratio_suppressed:
        return (
            f"Numbers in some age bands are too small to compare {subject} with {other} "
            "after allowing for age."
        )
    if row.ratio is None:
        return f"No age-standardised comparison of {subject} with {other}: {row.reason}."
    text = (
        f"Allowing for differences in age (rates standardised to the {STANDARD_NAME}), "
        f"{subject} had a rate of {event_noun(result.metric)} {_ratio_text(row.ratio)} times "
        f"that of {other}"
    )
    if row.ratio_lower is None or row.ratio_upper is None:
        return text + "."
    text += f" (95% CI {_ratio_text(row.ratio_lower)} to {_ratio_text(row.ratio_upper)})."
    if not row.ratio_excludes_one:
        text += " The interval includes 1, so the difference could be down to chance."
    return text


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def dispersion_sentence(result: EquityResult, policy: Policy) -> str:
    """In board words: whose intervals are widened because their numbers vary more from
    month to month than chance alone would give, by how much, and whose could not be
    checked ('' when nothing was checked)."""
    dispersion = shown_dispersion(result, policy)
    if not dispersion:
        return ""
    noun = event_noun(result.metric)
    widened = [(g, d) for g, d in dispersion.items() if d.widened]
    judged = [g for g, d in dispersion.items() if d.phi is not None]
    unjudged = [g for g, d in dispersion.items() if d.phi is None]
    parts = []
    if widened:
        who = _names([group_phrase(result.dimension, g) for g, _ in widened])
        by = _names([f"{100 * (d.factor - 1):.0f}%" for _, d in widened])
        parts.append(
            f"The monthly numbers of {noun} among {who} go up and down more than chance "
            f"alone would explain, so their confidence intervals have been widened to "
            f"allow for it (by {by}{' respectively' if len(widened) > 1 else ''})."
        )
    elif judged:
        parts.append(
            f"The monthly numbers of {noun} vary no more than chance would explain, so "
            "the confidence intervals are not widened."
        )
    if unjudged:
        who = _names([group_phrase(result.dimension, g) for g in unjudged])
        parts.append(
            f"For {who} the monthly numbers are too small (or too few months) to check "
            "this, so their intervals assume chance variation only."
        )
    return " ".join(parts)


def ratio_sentence(result: EquityResult, group: str, policy: Policy) -> str:
    """A plain-English sentence a board member can read aloud, with the interval."""
    reference = result.reference
    row = shown_rates(result, policy).group(group)
    subject = group_phrase(result.dimension, group)
    subject = subject[:1].upper() + subject[1:]
    if reference is None or group == reference:
        return f"{subject} are the reference group."
    other = group_phrase(result.dimension, reference)
    if ratio_suppressed(result, group, policy):
        small = [g for g in (group, reference) if group_suppressed(result, g, policy)]
        who = " and ".join(group_phrase(result.dimension, g) for g in small)
        return (
            f"The number of {event_noun(result.metric)} among {who} is too small to show "
            f"a comparison with {other}."
            if small == [group]
            else f"The number of {event_noun(result.metric)} among {who} is too small to "
            "show a comparison."
        )
    if row.rate_ratio is None:
        return f"No comparison with {other} is possible: {row.reason}."
    period = f" between {result.period_text}" if result.period_text else ""
    text = (
        f"{subject} had a rate of {event_noun(result.metric)} "
        f"{_ratio_text(row.rate_ratio)} times that of {other}"
    )
    if row.ratio_lower is None or row.ratio_upper is None:
        return f"{text}{period} ({row.reason})."
    text += f" (95% CI {_ratio_text(row.ratio_lower)} to {_ratio_text(row.ratio_upper)}){period}."
    if not row.ratio_excludes_one:
        text += " The interval includes 1, so the difference could be down to chance."
    return text


def default_comparison(result: EquityResult, policy: Policy) -> str | None:
    """The group with the highest rate ratio that can be shown (the headline comparison)."""
    shown = [
        g
        for g in shown_rates(result, policy).with_rates
        if not g.is_reference and g.rate_ratio is not None and not g.ratio_suppressed
    ]
    if not shown:
        return None
    return max(shown, key=lambda g: g.rate_ratio or 0).group


# --------------------------------------------------------------------------- tables


def _fmt(value: float | None, decimals: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:,.{decimals}f}"


def equity_table(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """The group table as readers see it (text) under `policy`.

    Counts are controlled; rates, intervals and ratios come from the counts as shown
    (`shown_rates`). A group's rate, interval and ratio are '*' when its event count is
    suppressed (and the ratio too when the reference group's count is).
    """
    per_text = f"{result.per:,.0f}"
    reference = result.reference or ""
    decimals = result.metric.decimals
    rows = []
    for exact, g in zip(result.rates.groups, shown_rates(result, policy).groups, strict=True):
        events = control_count(exact.events, policy)
        if g.person_years <= 0:
            rate = interval = ratio = ratio_interval = clear = MISSING
        elif g.suppressed:
            rate = interval = ratio = ratio_interval = clear = SUPPRESSED
        else:
            rate = _fmt(g.rate, decimals)
            interval = f"{_fmt(g.rate_lower, decimals)} to {_fmt(g.rate_upper, decimals)}"
            if g.is_reference:
                ratio, ratio_interval, clear = "1 (reference)", MISSING, MISSING
            elif g.ratio_suppressed:
                ratio = ratio_interval = clear = SUPPRESSED
            else:
                ratio = MISSING if g.rate_ratio is None else f"{g.rate_ratio:.2f}"
                ratio_interval = (
                    MISSING
                    if g.ratio_lower is None or g.ratio_upper is None
                    else f"{g.ratio_lower:.2f} to {g.ratio_upper:.2f}"
                )
                excludes = g.ratio_excludes_one
                clear = MISSING if excludes is None else ("yes" if excludes else "no")
        note = g.reason
        if g.widened and not g.suppressed:
            widened = (
                f"intervals widened by {100 * (math.sqrt(g.dispersion) - 1):.0f}% for "
                "month-to-month variation"
            )
            note = f"{note}; {widened}" if note else widened
        rows.append(
            {
                DIMENSION_TITLES.get(result.dimension, result.dimension): g.group,
                "Events": events.text,
                "Person-years": _fmt(g.person_years, 0) if g.person_years > 0 else MISSING,
                f"Rate per {per_text} a year": rate,
                "95% CI (rate)": interval,
                f"Rate ratio vs {reference}": ratio,
                "95% CI (ratio)": ratio_interval,
                "Interval excludes 1": clear,
                "Note": note,
            }
        )
    return pd.DataFrame(rows).astype("str")


def standardised_table(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Crude and age-standardised rates side by side, and standardised rate ratios, as
    readers see them under `policy` (empty when there is no standardisation).

    Crude rates come from `shown_rates`, standardised figures from `shown_standardised`
    (both from counts as shown); '*' where an age band's count is suppressed.
    """
    table = shown_standardised(result, policy)
    if table is None:
        return pd.DataFrame()
    crude = {g.group: g for g in shown_rates(result, policy).groups}
    per_text = f"{result.per:,.0f}"
    reference = result.reference or ""
    decimals = result.metric.decimals
    rows = []
    for g in table.groups:
        c = crude.get(g.group)
        crude_text = SUPPRESSED if c is not None and c.suppressed else _fmt(c.rate if c else None)
        if g.suppressed:
            rate = interval = ratio = ratio_interval = clear = SUPPRESSED
        else:
            rate = _fmt(g.rate, decimals)
            interval = (
                MISSING
                if g.lower is None or g.upper is None
                else f"{_fmt(g.lower, decimals)} to {_fmt(g.upper, decimals)}"
            )
            if g.is_reference:
                ratio = "1 (reference)" if g.rate else MISSING
                ratio_interval = clear = MISSING
            elif g.ratio_suppressed:
                ratio = ratio_interval = clear = SUPPRESSED
            else:
                ratio = MISSING if g.ratio is None else f"{g.ratio:.2f}"
                ratio_interval = (
                    MISSING
                    if g.ratio_lower is None or g.ratio_upper is None
                    else f"{g.ratio_lower:.2f} to {g.ratio_upper:.2f}"
                )
                excludes = g.ratio_excludes_one
                clear = MISSING if excludes is None else ("yes" if excludes else "no")
        note = g.reason
        if g.dispersion > 1 and not g.suppressed and g.rate is not None:
            widened = (
                f"intervals widened by {100 * (math.sqrt(g.dispersion) - 1):.0f}% for "
                "month-to-month variation"
            )
            note = f"{note}; {widened}" if note else widened
        rows.append(
            {
                DIMENSION_TITLES.get(result.dimension, result.dimension): g.group,
                f"Crude rate per {per_text} a year": crude_text,
                f"Age-standardised rate per {per_text} a year": rate,
                "95% CI (standardised rate)": interval,
                f"Standardised rate ratio vs {reference}": ratio,
                "95% CI (standardised ratio)": ratio_interval,
                "Interval excludes 1": clear,
                "Note": note,
            }
        )
    return pd.DataFrame(rows).astype("str")


DOWNLOAD_COLUMNS = (
    "group",
    "events",
    "person_years",
    "rate",
    "rate_lower",
    "rate_upper",
    "rate_ratio",
    "ratio_lower",
    "ratio_upper",
    "is_reference",
    "suppressed",
    "note",
    "dispersion_factor",
    "intervals_widened",
    "standardised_rate",
    "standardised_lower",
    "standardised_upper",
    "standardised_ratio",
    "standardised_ratio_lower",
    "standardised_ratio_upper",
    "standardised_note",
)


def equity_download(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """The group table as numbers for a CSV download, under `policy`.

    The same figures as `equity_table` (`shown_rates`): events as shown (NaN where
    suppressed), person-years, rates and ratios from the counts as shown, `suppressed`
    where the count is and `note` saying why a figure is missing. Never exact counts
    under a policy that applies.
    """
    shown = shown_rates(result, policy)
    dispersion = shown_dispersion(result, policy)
    table = shown_standardised(result, policy)
    standardised = {s.group: s for s in table.groups} if table is not None else {}
    missing = StandardisedRate("", math.nan, reason=result.standardise_note)

    def standard(group: str) -> StandardisedRate:
        row = standardised.get(group)
        if row is None:
            return missing if table is None else StandardisedRate(group, math.nan)
        return row

    rows = [
        {
            "group": g.group,
            "events": g.events,
            "person_years": g.person_years if g.person_years > 0 else math.nan,
            "rate": g.rate,
            "rate_lower": g.rate_lower,
            "rate_upper": g.rate_upper,
            "rate_ratio": g.rate_ratio,
            "ratio_lower": g.ratio_lower,
            "ratio_upper": g.ratio_upper,
            "is_reference": g.is_reference,
            "suppressed": g.suppressed,
            "note": g.reason,
            "dispersion_factor": (
                dispersion[g.group].phi if g.group in dispersion and not g.suppressed else math.nan
            ),
            "intervals_widened": g.widened and not g.suppressed,
            "standardised_rate": standard(g.group).rate,
            "standardised_lower": standard(g.group).lower,
            "standardised_upper": standard(g.group).upper,
            "standardised_ratio": standard(g.group).ratio,
            "standardised_ratio_lower": standard(g.group).ratio_lower,
            "standardised_ratio_upper": standard(g.group).ratio_upper,
            "standardised_note": standard(g.group).reason,
        }
        for g in shown.groups
    ]
    frame = pd.DataFrame(rows, columns=list(DOWNLOAD_COLUMNS))
    numeric = [
        c
        for c in DOWNLOAD_COLUMNS
        if c not in ("group", "is_reference", "suppressed", "note", "intervals_widened")
        and not c.endswith("_note")
    ]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


# --------------------------------------------------------------------------- charts


def rate_chart_data(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Groups with a rate that can be shown: group, rate, rate_lower, rate_upper, role
    (figures as shown: `shown_rates`)."""
    rows = [
        {
            "group": g.group,
            "rate": g.rate,
            "rate_lower": g.rate_lower,
            "rate_upper": g.rate_upper,
            "role": "Reference group" if g.is_reference else "Compared group",
            "label": _fmt(g.rate, result.metric.decimals),
        }
        for g in shown_rates(result, policy).with_rates
    ]
    return pd.DataFrame(
        rows, columns=["group", "rate", "rate_lower", "rate_upper", "role", "label"]
    )


def standardised_chart_data(result: EquityResult, policy: Policy) -> pd.DataFrame:
    """Crude and age-standardised rates of the groups that have both as shown: group,
    measure, rate, lower, upper, label, interval (no counts: the data go to the
    browser whole)."""
    columns = ["group", "measure", "rate", "lower", "upper", "label", "interval"]
    table = shown_standardised(result, policy)
    if table is None:
        return pd.DataFrame(columns=columns)
    crude = {g.group: g for g in shown_rates(result, policy).with_rates}
    decimals = result.metric.decimals
    rows = []
    for s in table.groups:
        c = crude.get(s.group)
        if s.suppressed or s.rate is None or s.lower is None or s.upper is None or c is None:
            continue
        assert c.rate is not None and c.rate_lower is not None and c.rate_upper is not None
        for measure, rate, lower, upper in (
            (CRUDE, c.rate, c.rate_lower, c.rate_upper),
            (STANDARDISED, s.rate, s.lower, s.upper),
        ):
            rows.append(
                {
                    "group": s.group,
                    "measure": measure,
                    "rate": rate,
                    "lower": lower,
                    "upper": upper,
                    "label": _fmt(rate, decimals),
                    "interval": f"{_fmt(lower, decimals)} to {_fmt(upper, decimals)}",
                }
            )
    return pd.DataFrame(rows, columns=columns)


def rate_alt_text(result: EquityResult, policy: Policy) -> str:
    data = rate_chart_data(result, policy)
    if data.empty:
        return "Chart of rates by group: no group has a rate that can be shown."
    per_text = f"{result.per:,.0f}"
    parts = [
        f"{r.group} {r.rate:,.1f} (95% CI {r.rate_lower:,.1f} to {r.rate_upper:,.1f})"
        for r in data.itertuples()
    ]
    hidden = [g.group for g in result.rates.with_rates if g.group not in set(data["group"])]
    text = (
        f"{result.metric.title} by {result.dimension.replace('_', ' ')}, per {per_text} a year, "
        f"{result.period_text.replace(' and ', ' to ')}: " + "; ".join(parts) + "."
    )
    if hidden:
        text += " Not shown (small numbers): " + ", ".join(hidden) + "."
    return text


def ratio_trend_data(result: EquityResult, group: str, policy: Policy) -> pd.DataFrame:
    """Yearly rate ratio of `group` against the reference, as shown (`shown_yearly`):
    years with suppressed counts out, ratios from the counts as shown.

    Only what the chart shows is kept: the chart's data travel to the browser whole, so
    event counts must not ride along.
    """
    yearly = shown_yearly(result, policy)
    rows = yearly[(yearly["group"] == group) & yearly["rate_ratio"].notna()].copy()
    rows["year_kind"] = ["Full year" if c else "Part year" for c in rows["complete"]]
    return rows[
        ["fin_year", "rate_ratio", "ratio_lower", "ratio_upper", "months", "year_kind"]
    ].reset_index(drop=True)


def ratio_trend_alt_text(result: EquityResult, group: str, policy: Policy) -> str:
    data = ratio_trend_data(result, group, policy)
    reference = result.reference or "the reference group"
    if data.empty:
        return f"Chart of the yearly rate ratio of {group} vs {reference}: nothing to show."
    parts = [
        f"{r.fin_year} {r.rate_ratio:.2f} ({r.ratio_lower:.2f} to {r.ratio_upper:.2f})"
        if pd.notna(r.ratio_lower)
        else f"{r.fin_year} {r.rate_ratio:.2f}"
        for r in data.itertuples()
    ]
    return (
        f"Rate ratio of {result.metric.title.lower()} for {group} compared with {reference}, "
        "by financial year, with 95% confidence intervals: " + "; ".join(parts) + "."
    )
