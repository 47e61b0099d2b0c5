"""Outcomes by framework domain: the three big outcomes, then the system domains, every
metric with its latest value and Making Data Count icons."""

from __future__ import annotations

import streamlit as st

from metrics.analyses.reading import provisional_statement, read_metric
from metrics.ui.components import metric_tiles, plain, rich
from metrics.ui.state import current_audience, page_context

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title(plain(catalogue.framework_title))
st.caption(
    "The alliance is judged on three big outcomes for the people it serves, and on how well "
    "the system runs. Each metric shows its latest value, its change on a year earlier, and "
    "the SPC icons for variation and assurance. " + provisional_statement(catalogue)
)


def tiles(domain_id: str) -> None:
    metrics = catalogue.metrics_in_domain(domain_id)
    if not metrics:
        st.caption("No metrics defined yet for this domain.")
        return
    query, audience = filters.query(), current_audience()
    metric_tiles(
        [read_metric(board, metric.id, query, audience) for metric in metrics],
        filters.url_params(),
        key=domain_id,
    )


for outcome in catalogue.outcomes.values():
    st.header(plain(outcome.title))
    if outcome.description:
        st.caption(rich(outcome.description, catalogue.board.link_hosts))
    for domain in catalogue.domains.values():
        if domain.outcome == outcome.id:
            st.subheader(plain(domain.title))
            tiles(domain.id)

st.header("How the system runs")
for domain in catalogue.domains.values():
    if domain.kind == "system":
        st.subheader(plain(domain.title))
        tiles(domain.id)
