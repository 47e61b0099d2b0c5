"""Equity: who is being left behind? Rates per 100,000 a year by group, rate ratios against
a reference group, the same allowing for age (directly age-standardised to the 2013
European Standard Population), the yearly trend of the ratio, a funnel plot of the
neighbourhoods, and the share of acute bed days used by Black patients against their
share of the population. Intervals are widened where a group's monthly numbers vary more
than chance alone would give, and the page says so.

Deep link: ?metric=ID&by=DIMENSION&reference=GROUP (optionally &group=GROUP, the group
the headline compares with the reference).

Everything shown passes through the disclosure policy (config/disclosure.yaml): counts
are rounded or suppressed, and rates, intervals and ratios are worked out from the counts
as shown (`shown_rates`), so none of them can be turned back into an exact count. They are
hidden for any group whose event count is suppressed. The table, charts and download all
read the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import streamlit as st

from metrics.analyses.bed_share import (
    BED_SHARE_GROUP,
    BED_SHARE_METRIC,
    bed_share_sentence,
    bed_share_table,
)
from metrics.analyses.disclosure import legend, shows_suppression
from metrics.analyses.equity import (
    DIMENSION_TITLES,
    EquityError,
    EquityResult,
    equity_metrics,
    metric_dimensions,
)
from metrics.analyses.equity_shown import (
    dispersion_sentence,
    equity_download,
    equity_table,
    ratio_sentence,
    standard_description,
    standardised_sentence,
    standardised_table,
)
from metrics.analyses.funnel import (
    FunnelError,
    funnel_summary,
    not_shown_text,
)
from metrics.analyses.standardisation import STANDARD_NAME
from metrics.exports.tables import csv_bytes
from metrics.ui.components import draw_part, fitted_table, plain, unknown_in_link
from metrics.ui.equity_view import (
    EquityView,
    analyse,
    default_metric,
    opening_group,
    opening_reference,
)
from metrics.ui.state import current_policy, page_context, url_param

T = TypeVar("T")

state, filters = page_context()
board = state.board
catalogue = board.catalogue
policy = current_policy()

st.title("Equity: who is being left behind?")
st.caption(
    f"{filters.start:%B %Y} to {filters.end:%B %Y}, {plain(filters.lcn or 'all neighbourhoods')}. "
    "Rates per 100,000 adults a year for each group, pooled over the period chosen in the "
    "sidebar, and how many times the rate of a reference group each is (the rate ratio), "
    "with 95% confidence intervals. Counts alone would mislead: groups differ in size."
)

candidates = equity_metrics(catalogue)
if not candidates:
    st.warning("No rate metric with an equity breakdown is defined.")
    st.stop()
metric_ids = [m.id for m in candidates]
requested_metric = url_param("metric")
if requested_metric and requested_metric not in metric_ids:
    unknown_in_link(
        "metric", requested_metric, what="measure with an equity view", instead="the default"
    )
opening_metric = default_metric(board) or metric_ids[0]
metric_id = st.selectbox(
    "Measure",
    metric_ids,
    index=metric_ids.index(requested_metric if requested_metric in metric_ids else opening_metric),
    format_func=lambda mid: catalogue.metrics[mid].title,
    key="equity_metric",
)
metric = catalogue.metrics[metric_id]

dimensions = metric_dimensions(metric)
requested_by = url_param("by")
# Choices in the link belong to the link's measure (and grouping): once the reader picks
# another, a choice that no longer applies is not worth a notice.
link_metric = (requested_metric or metric_id) == metric_id
if link_metric and requested_by and requested_by not in dimensions:
    unknown_in_link("by", requested_by, what="way of grouping", instead="the first one")
dimension = st.radio(
    "Compare groups by",
    dimensions,
    index=dimensions.index(requested_by) if requested_by in dimensions else 0,
    horizontal=True,
    # Radio options are rendered as Markdown; breakdown names come from configuration.
    format_func=lambda d: plain(DIMENSION_TITLES.get(d, d)),
    key=f"equity_by_{metric_id}",
)


def rate_labels(frame: pd.DataFrame, rate: str, rate_ci: str, ratio: str) -> dict[str, str]:
    """Short on-screen headings for a rate table's columns (the frame and the download keep
    the full names, units and all)."""
    labels = {}
    for name in frame.columns:
        if name.startswith(rate):
            labels[name] = "Standardised rate" if name.startswith("Age") else "Rate"
        elif name == rate_ci:
            labels[name] = "Rate 95% CI"
        elif name.startswith(ratio):
            labels[name] = "Rate ratio"
        elif name.startswith("95% CI (") and "ratio" in name:
            labels[name] = "Ratio 95% CI"
        elif name == "Interval excludes 1":
            labels[name] = "Excludes 1"
    return labels


def group_notes(frame: pd.DataFrame, group_title: str) -> None:
    """Each group's note (why a figure is missing, or widened intervals) under its table."""
    if "Note" not in frame or group_title not in frame:
        return
    for group, note in zip(frame[group_title], frame["Note"], strict=True):
        if note and note not in ("nan", "None"):
            st.caption(f"**{plain(group)}:** {plain(note)}.")


def analysed(reference: str | None) -> EquityResult:
    return analyse(board, metric_id, dimension, filters.start, filters.end, filters.lcn, reference)


link_grouping = link_metric and (requested_by or dimension) == dimension
requested_reference = url_param("reference")
try:
    result = analysed(None)
    # A group named in the link is passed on only if the data hold it (the analysis then
    # explains if it has no rate); any other name gets the notice, never the analysis.
    if requested_reference and requested_reference != result.reference:
        if requested_reference in {g.group for g in result.rates.groups}:
            result = analysed(requested_reference)
        elif link_grouping:
            unknown_in_link(
                "reference",
                requested_reference,
                what="reference group",
                instead="the usual reference group",
            )
except EquityError as exc:
    st.warning(f"No equity figures for this choice: {plain(exc)}")
    st.stop()

with_rates = [g.group for g in result.rates.with_rates]
reference = st.selectbox(
    "Reference group (rates are compared with this group's rate)",
    with_rates,
    index=with_rates.index(opening_reference(result)) if with_rates else 0,
    key=f"equity_reference_{metric_id}_{dimension}",
)
if reference != result.reference:
    result = analysed(reference)

compared = [g for g in with_rates if g != reference]
requested_group = url_param("group")
link_reference = link_grouping and (requested_reference or reference) == reference
if link_reference and requested_group and requested_group not in compared:
    unknown_in_link("group", requested_group, what="group to compare", instead="another group")
headline_default = (
    requested_group if requested_group in compared else opening_group(result, reference, policy)
)
group = None
if compared:
    group = st.selectbox(
        "Group to compare in the headline and the yearly trend",
        compared,
        index=compared.index(headline_default) if headline_default in compared else 0,
        key=f"equity_group_{metric_id}_{dimension}_{reference}",
    )

# Deep link to exactly this view.
st.query_params["metric"] = metric_id
st.query_params["by"] = dimension
st.query_params["reference"] = reference
if group:
    st.query_params["group"] = group
else:
    st.query_params.pop("group", None)

# Everything below is the same for every reader of this choice: tables, sentences and
# charts are made once per board and shared by every session, not on every run of every
# session (the age-standardised figures as shown are worked out afresh from the counts).
view = EquityView(board, result, filters.start, filters.end, filters.lcn, reference, policy)
view_key = view.key


def once(name: str, compute: Callable[[], T], *more: object) -> T:
    return board.memo(("equity_view", name, *view_key, *more), compute)


st.header(plain(metric.title))
if group:
    st.markdown(f"**{plain(once('ratio', lambda: ratio_sentence(result, group, policy), group))}**")
    age_words = once("age", lambda: standardised_sentence(result, group, policy), group)
    if age_words:
        st.markdown(plain(age_words))
# Said where the intervals are read, in board words: whose intervals are widened, and why.
variation = once("dispersion", lambda: dispersion_sentence(result, policy))
if variation:
    st.markdown(plain(variation))
for note in result.notes:
    st.caption(plain(note))

grouped_by = DIMENSION_TITLES.get(dimension, dimension).lower()

table = once("table", lambda: equity_table(result, policy))
st.subheader(f"Rates by {plain(DIMENSION_TITLES.get(dimension, dimension).lower())}")
st.caption(
    "**What this shows:** events in the period, person-years (each month counts one twelfth "
    "of the group's mid-year population), the rate per 100,000 a year with its exact 95% "
    f"confidence interval, and the rate ratio against {plain(reference)} with its 95% "
    "interval (the group's rate divided by the reference rate: 1 is the same rate). "
    "'Excludes 1' (the ratio's interval excludes 1) means the difference is unlikely to be "
    "chance alone."
)
group_title = DIMENSION_TITLES.get(dimension, dimension)
# Short headings (the units are in the caption above) and each group's note below the
# table: every column fits 1280 px. The download carries every figure.
fitted_table(
    table,
    key="equity_rates",
    column_config=rate_labels(table, "Rate per", "95% CI (rate)", "Rate ratio vs"),
    column_order=[c for c in table.columns if c != "Note"],
)
group_notes(table, group_title)
if once("table_suppressed", lambda: shows_suppression(table)):
    st.caption(plain(legend(policy)))
st.download_button(
    "Download these figures (CSV)",
    data=once("download", lambda: csv_bytes(equity_download(result, policy))),
    file_name=f"equity_{metric_id}_{dimension}.csv",
    mime="text/csv",
    key=f"equity_download_{metric_id}_{dimension}_{reference}",
)

draw_part(view.rate_chart())

st.subheader("Allowing for age")
if result.standardised is None:
    st.caption(f"No age-standardised rates: {plain(result.standardise_note)}.")
else:
    st.caption(
        "**What this shows:** groups differ in age, and detentions and referrals differ by "
        "age, so part of a gap in crude rates can be age alone. The age-standardised rate "
        f"is the rate each group would have with the age mix of the {STANDARD_NAME} "
        "(direct standardisation), with its 95% confidence interval; the standardised "
        f"rate ratio compares it with {plain(reference)}'s. Rates are per 100,000 adults a "
        "year."
    )
    standardised = once("standardised", lambda: standardised_table(result, policy))
    fitted_table(
        standardised,
        key="equity_standardised",
        column_config={
            **rate_labels(
                standardised,
                "Age-standardised rate per",
                "95% CI (standardised rate)",
                "Standardised rate ratio vs",
            ),
            **{c: "Crude rate" for c in standardised.columns if c.startswith("Crude rate per")},
        },
        column_order=[c for c in standardised.columns if c != "Note"],
    )
    group_notes(standardised, group_title)
    if once("standardised_suppressed", lambda: shows_suppression(standardised)):
        st.caption(plain(legend(policy)))
    standardised_part = view.standardised_chart()
    if standardised_part is not None:
        draw_part(standardised_part)

if group:
    st.subheader(f"Is the gap closing? {plain(group)} compared with {plain(reference)}")
    trend = view.ratio_trend_chart(group)
    if trend is None:
        st.caption("Numbers are too small to show the yearly comparison.")
    else:
        draw_part(trend)

if "lcn" in metric.breakdowns:
    st.subheader("Benchmarking neighbourhoods")
    try:
        funnel = view.funnel()
    except FunnelError as exc:
        st.caption(f"No funnel plot: {plain(exc)}")
    else:
        st.markdown(plain(funnel_summary(funnel)))
        draw_part(view.funnel_chart(funnel))
        for note in (not_shown_text(funnel), *funnel.notes):
            if note:
                st.caption(plain(note))
        if filters.lcn:
            st.caption("Every neighbourhood is shown, so the one chosen can be compared.")
        st.caption(
            "Crude rates: neighbourhoods with more residents from groups with higher rates "
            "(see above) will sit higher for that reason alone."
        )

st.subheader(f"Acute bed days used by {BED_SHARE_GROUP} patients")
if BED_SHARE_METRIC not in catalogue.metrics:
    st.caption("No bed-day share measure is defined.")
else:
    try:
        share = view.bed_share()
    except EquityError as exc:
        st.caption(f"Unavailable: {plain(str(exc))}")
    else:
        st.markdown(plain(once("bed_share_sentence", lambda: bed_share_sentence(share, policy))))
        if filters.lcn:
            st.caption(
                "Bed days are recorded for the whole area only, so these are whole-area figures."
            )
        for note in share.notes:
            st.caption(plain(note))
        draw_part(view.bed_share_chart(share))
        shares = once("bed_shares", lambda: bed_share_table(share, policy))
        with st.expander("Yearly figures"):
            fitted_table(shares, key="equity_shares")
            if once("bed_shares_suppressed", lambda: shows_suppression(shares)):
                st.caption(plain(legend(policy)))

with st.expander("How these figures are worked out"):
    st.markdown(
        "- **Rate per 100,000 a year** = events in the period / person-years x 100,000. "
        "Person-years add up one twelfth of the group's mid-year population for every month "
        "pooled (the average population x the number of years).\n"
        "- **95% interval for a rate**: exact Poisson (Garwood) interval.\n"
        "- **Rate ratio** = the group's rate / the reference group's rate; its 95% interval "
        "is worked out on the log scale (delta method: standard error "
        "sqrt(1/events + 1/reference events)).\n"
        "- **Age-standardised rate** (direct standardisation): each group's rate in every "
        f"age band, weighted by the {STANDARD_NAME} (Eurostat 2013), the standard ONS and "
        "OHID use. Its five-year bands are added up to ours, taking 2 of the 5 years of "
        "15-19 for 18-24 (ages spread evenly within a band): "
        + plain(standard_description(result.standardised.weights) if result.standardised else "")
        + ". Its 95% interval is Dobson et al. (1991)'s method, as in the OHID technical "
        "guide; no standardised rate is given for fewer than 10 events. The **standardised "
        "rate ratio**'s interval is worked out on the log scale from the two rates' "
        "variances (delta method).\n"
        "- **Month-to-month variation**: the intervals above assume events happen "
        "independently (Poisson). For each group the monthly numbers are compared with a "
        "smooth trend (a Poisson model with a knot every 12 months); the dispersion factor "
        "is the Pearson chi-square over its degrees of freedom. Where it is above 1 beyond "
        "what chance gives (a one-sided test at 5%), that group's intervals are widened by "
        "its square root, and the page says so. Groups with too few events a month (or any "
        "month too small to show) cannot be checked.\n"
        "- **Funnel plot** (Spiegelhalter 2005): each neighbourhood's rate against its "
        "population, with 95% and 99.8% limits around the rate for all together (square-"
        "root scale). With 5 or more services or places the limits are widened for the "
        "extra spread between them, by the additive random-effects method with 10% "
        "winsorised z-scores that NHS indicators use.\n"
        "- Groups without population figures (such as ethnicity not stated) have no rate; "
        "their events are still counted.\n"
        "- Counts are shown under the small-number rules (rounded to the nearest 5, small "
        "numbers suppressed). Rates, intervals, ratios, standardised rates, dispersion "
        "factors and funnel points are worked out from the counts as shown (each group's, "
        "each age band's, each month's), not the exact ones, so they cannot be used to "
        "work back to an exact small number; a figure is hidden when a count it needs is "
        "suppressed."
    )
