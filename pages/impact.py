"""Impact: did our service changes work? An interrupted time-series study per metric.

Deep link: ?metric=ID&intervention=ID (optionally &model=FAMILY&breakdown=COLUMN).

The model is fitted to exact figures; the observed values in the chart and the CSV are
shown under the disclosure policy (`controlled_counterfactual`): rounded or suppressed for
a neighbourhood, exactly as on the metric's own page. Model figures are kept as computed.
"""

from __future__ import annotations

import streamlit as st

from metrics.analyses.disclosure import legend
from metrics.analyses.impact import (
    ImpactRequest,
    controlled_counterfactual,
    cumulative_sentence,
    diagnostics_for_analysts,
    diagnostics_in_words,
    group_table,
    headline,
    impact_sentence,
    model_words,
    sensitivity_display,
    studies_headline_first,
    verdict_badge,
)
from metrics.exports.tables import csv_bytes
from metrics.its.spec import FAMILIES
from metrics.ui.components import downloads, draw_part, fitted_table, plain, unknown_in_link
from metrics.ui.impact_view import impact_chart, sensitivity, study
from metrics.ui.state import current_policy, page_context, url_param

state, filters = page_context()
board = state.board
catalogue = board.catalogue
policy = current_policy()

st.title("Impact: did our changes work?")
st.caption(
    "Each study compares what happened after a service change with what the earlier trend "
    "and seasons predicted (an interrupted time series). The whole history is used, whatever "
    "period is chosen in the sidebar, because a study needs the months before the change."
)

# The board's headline study (board.yaml headline_study) first: the page opens on it.
studied = studies_headline_first(board)
all_metrics = [m for m in catalogue.metrics.values() if m.status != "retired"]
if not all_metrics:
    st.warning("No metric definitions are available.")
    st.stop()

requested_metric = url_param("metric")
requested_interventions = [i for i in (url_param("intervention") or "").split(",") if i]
requested_model = url_param("model")
requested = catalogue.metrics.get(requested_metric or "")
if requested_metric and (requested is None or requested.status == "retired"):
    unknown_in_link("metric", requested_metric, what="metric", instead="a planned study")
    requested = None
for unknown in [i for i in requested_interventions if i not in catalogue.interventions]:
    unknown_in_link("intervention", unknown, what="service change", instead="the planned one")
if requested_model and requested_model not in FAMILIES:
    unknown_in_link("model", requested_model, what="model", instead="the planned model")
# Open the exploratory choice only when the link asks for something other than the
# metric's planned study (a link to a planned study names its interventions too).
explore_default = requested is not None and (
    requested.its is None
    or bool(requested_model)
    or (bool(requested_interventions) and requested_interventions != requested.its.interventions)
)

choices = [m.id for m in studied] or [all_metrics[0].id]
metric_id = st.selectbox(
    "Metric with a planned impact study",
    choices,
    index=choices.index(requested_metric) if requested_metric in choices else 0,
    format_func=lambda mid: catalogue.metrics[mid].title,
    key="impact_metric",
)
interventions: tuple[str, ...] = ()
model = None
with st.expander("Try any metric with any intervention (analysts)", expanded=explore_default):
    st.caption(
        "Exploratory: a study chosen after looking at the data is weaker evidence than a "
        "planned one."
    )
    explore = st.toggle("Use my own choice", value=explore_default, key="impact_explore")
    ids = [m.id for m in all_metrics]
    explore_metric = st.selectbox(
        "Metric",
        ids,
        index=ids.index(requested_metric) if requested_metric in ids else ids.index(metric_id),
        format_func=lambda mid: catalogue.metrics[mid].title,
        key="impact_explore_metric",
    )
    change_ids = [i.id for i in catalogue.interventions.values() if i.kind == "service_change"]
    chosen = st.multiselect(
        "Interventions",
        change_ids,
        default=[i for i in requested_interventions if i in change_ids],
        format_func=lambda iid: (
            f"{catalogue.interventions[iid].title} ({catalogue.interventions[iid].start:%b %Y})"
        ),
        key="impact_explore_interventions",
    )
    model_choice = st.selectbox(
        "Model",
        ["as defined", *FAMILIES],
        index=([None, *FAMILIES].index(requested_model) if requested_model in FAMILIES else 0),
        key="impact_explore_model",
    )
    if explore:
        metric_id = explore_metric
        interventions = tuple(chosen)
        model = None if model_choice == "as defined" else model_choice

metric = catalogue.metrics[metric_id]
breakdown_options = ["none", *metric.breakdowns]
requested_breakdown = url_param("breakdown")
# The link's breakdown belongs to the link's metric (not to one the reader picked since).
link_metric = (requested_metric or metric_id) == metric_id
if link_metric and requested_breakdown and requested_breakdown not in breakdown_options:
    unknown_in_link("breakdown", requested_breakdown, what="breakdown", instead="the whole area")
breakdown = st.radio(
    "Effect by group",
    breakdown_options,
    index=breakdown_options.index(requested_breakdown)
    if requested_breakdown in breakdown_options
    else 0,
    horizontal=True,
    # Radio options are rendered as Markdown; breakdown names come from configuration.
    format_func=lambda b: "Whole area only" if b == "none" else plain(b.replace("_", " ")),
    key=f"impact_breakdown_{metric_id}",
)

request = ImpactRequest(
    metric_id=metric_id,
    interventions=interventions,
    model=model,
    breakdown=None if breakdown == "none" else breakdown,
    lcn=filters.lcn,
)
impact = study(board, request)

# Deep link to exactly this study.
st.query_params["metric"] = metric_id
if impact.spec is not None:
    st.query_params["intervention"] = ",".join(i.id for i in impact.spec.interventions)
for name, value in (("model", model), ("breakdown", request.breakdown)):
    if value:
        st.query_params[name] = value
    else:
        st.query_params.pop(name, None)

st.header(plain(metric.title))
if impact.result is None:
    st.warning(f"No impact estimate for this metric: {plain(impact.error)}")
    st.stop()
result = impact.result

main_ids = [i.id for i in impact.spec.interventions]
focus = main_ids[0]
if len(main_ids) > 1:
    focus = st.radio(
        "Headline for",
        main_ids,
        horizontal=True,
        format_func=lambda iid: plain(catalogue.interventions[iid].title),
        key="impact_focus",
    )
big, interval = headline(impact, focus)
horizon = result.horizon_effect(focus)
verdict = result.verdict
badge, colour = verdict_badge(impact)
st.badge(badge, color=colour)
left, right = st.columns([1, 3])
# The big number carries the metric's unit, and st.metric renders its value as Markdown.
label = (
    "Change in trend"
    if result.reported_term(focus) == "slope"
    else f"Change {horizon.months_after} months after"
)
left.metric(label, plain(big), help=plain(interval))
left.caption(plain(interval))
right.markdown(f"**{plain(impact_sentence(impact, focus))}**")
if verdict is not None and not verdict.fits:
    right.warning(plain(verdict.words()))
elif verdict is not None and verdict.cautions:
    right.caption(plain(verdict.words()))
cumulative = cumulative_sentence(impact, focus)
if cumulative:
    right.markdown(plain(cumulative))
for note in impact.notes:
    right.caption(plain(note))
if filters.lcn:
    right.caption(f"Neighbourhood: {plain(filters.lcn)}.")

# Observed values as shown (the chart's data travel to the browser whole); the model's
# figures as computed. The alt text speaks only of the period and the model.
shown = controlled_counterfactual(impact, policy)
draw_part(impact_chart(board, request, impact, policy))
if shown["suppressed"].any():
    st.caption(plain(legend(policy)) + " Months with a suppressed figure are not plotted.")

if result.design == "multiple_baseline":
    st.subheader("Effect in each group, each from its own start")
    st.caption(
        "**What this shows:** the change reached each group at a different date; the study "
        "fits the groups together, each from its own start, so a change that appears in each "
        "group at its own date (and not before) is hard to put down to anything else. The "
        "headline is pooled over the groups."
    )
    fitted_table(group_table(impact, focus), key="impact_groups")
elif impact.groups:
    st.subheader(f"Effect by {plain(breakdown.replace('_', ' '))}")
    st.caption(
        "**What this shows:** the same study fitted separately for each group "
        "(small groups give wide intervals)."
    )
    fitted_table(group_table(impact, focus), key="impact_groups")

st.subheader("Does the answer depend on the model?")
st.caption(
    "**What this shows:** the same effect estimated with each model family. If they broadly "
    "agree, the finding does not hinge on one modelling choice."
)
fitted_table(sensitivity_display(sensitivity(board, request)), key="impact_sensitivity")

with st.expander("Is the model trustworthy? (the model's checks in plain English)"):
    for line in diagnostics_in_words(result):
        st.markdown(f"- {plain(line)}")
    st.caption(
        f"Model: {plain(model_words(result.spec))}; {result.n_pre} months before and "
        f"{result.n_post} after."
    )

with st.expander("Details for analysts (tests and coefficients)"):
    for line in diagnostics_for_analysts(result):
        st.markdown(f"- {plain(line)}")
    # Four decimals on screen (full precision would run off a 1280 px page); the download
    # carries them in full.
    fitted_table(
        result.coefficients.round(4),
        key="impact_coefficients",
        column_config={
            "term": "Term",
            "estimate": "Estimate",
            "se": "Standard error",
            "ci_low": "Interval low",
            "ci_high": "Interval high",
            "p_value": "p-value",
        },
    )
    downloads(result.coefficients, "Model coefficients", key="impact_coefficients")

st.download_button(
    "Download observed, fitted and counterfactual values (CSV)",
    data=csv_bytes(shown),
    file_name=f"impact_{metric_id}_{focus}.csv",
    mime="text/csv",
)
