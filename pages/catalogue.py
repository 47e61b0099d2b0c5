"""Catalogue: every metric definition with its status, lineage, validation messages and
where it is used. Search and filter by domain, owner, source and status."""

from __future__ import annotations

import streamlit as st

from metrics.catalogue_view import catalogue_table, lineage, metric_issues, search, where_used
from metrics.describe import describe_metric, metric_yaml
from metrics.ui.components import fitted_table, plain, rich, unknown_in_link
from metrics.ui.state import page_context, page_link, url_param

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title("Metric catalogue")
st.caption(
    "Every metric the board reads, as defined in config/metrics/*.yaml: what it means, where "
    "its numbers come from, whether its definition is valid, and where it is shown."
)

table = board.memo("catalogue_table", lambda: catalogue_table(board))
columns = st.columns([2, 1, 1, 1, 1])
text = columns[0].text_input(
    "Search", placeholder="id, title, owner or source", key="catalogue_search"
)
chosen_domains = columns[1].multiselect(
    "Domain", sorted(table["Domain"].unique()), key="catalogue_domain"
)
chosen_owners = columns[2].multiselect(
    "Owner", sorted(table["Owner"].unique()), key="catalogue_owner"
)
chosen_sources = columns[3].multiselect(
    "Source", sorted(table["Source"].unique()), key="catalogue_source"
)
chosen_status = columns[4].multiselect(
    "Status", ["live", "draft", "retired", "ok", "warning", "error"], key="catalogue_status"
)

shown = search(table, text)
for column, chosen in (
    ("Domain", chosen_domains),
    ("Owner", chosen_owners),
    ("Source", chosen_sources),
):
    if chosen:
        shown = shown[shown[column].isin(chosen)]
if chosen_status:
    shown = shown[shown["Status"].isin(chosen_status) | shown["Validation"].isin(chosen_status)]

st.caption(f"{len(shown)} of {len(table)} metrics.")
fitted_table(shown, key="catalogue")
if state.pending_issues:
    st.warning(
        f"{len(state.pending_issues)} problem(s) in the files on disk are not being served yet; "
        "the catalogue shows the last version that worked."
    )
    with st.expander("Problems in the files on disk"):
        for issue in state.pending_issues:
            st.text(issue.format_text())

ids = list(shown["id"]) or list(table["id"])
requested = url_param("metric")
if requested and requested not in catalogue.metrics:
    unknown_in_link("metric", requested, what="metric", instead="the definition chosen below")
metric_id = st.selectbox(
    "Open a definition",
    ids,
    index=ids.index(requested) if requested in ids else 0,
    format_func=lambda mid: f"{catalogue.metrics[mid].title} ({mid})",
    key="catalogue_metric",
)
if metric_id:
    st.query_params["metric"] = metric_id
    metric = catalogue.metrics[metric_id]
    st.header(plain(metric.title))
    st.markdown(plain(describe_metric(metric, catalogue, caveats=False)))
    if metric.caveats:
        st.markdown("**Caveat:**\n\n" + rich(metric.caveats, catalogue.board.link_hosts))
    left, right = st.columns(2)
    with left:
        st.subheader("Definition")
        origin = catalogue.origins.get(metric_id)
        if origin:
            st.caption(f"{plain(origin.file)}, line {origin.line}")
        st.code(metric_yaml(metric), language="yaml", wrap_lines=True)
        page_link("editor", "Edit this definition", query_params={"metric": metric_id})
    with right:
        st.subheader("Lineage")
        trace = lineage(board, metric_id)
        st.markdown(f"**Source:** {plain(trace.source_title)} ({plain(trace.source_id)})")
        st.text(f"File: {trace.file}")
        st.text("Columns read: " + (", ".join(trace.columns) or "none"))
        if trace.filter:
            st.text(f"Filter: {trace.filter}")
        with st.expander("The SQL it runs"):
            st.code(trace.sql, language="sql", wrap_lines=True)
        st.subheader("Validation")
        issues = metric_issues(board, metric_id)
        if not issues:
            st.success("No problems found.")
        for issue in issues:
            (st.error if issue.is_error else st.warning)(plain(issue.format_text()))
        st.subheader("Where it is used")
        for place in where_used(board, metric_id):
            st.markdown(f"- {plain(place)}")
