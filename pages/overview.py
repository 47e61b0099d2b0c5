"""Overview: every metric by framework domain, with its latest value, the change against
a year earlier and a sparkline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.formatting import direction_word, format_change, format_value
from metrics.ui.state import page_context

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title(catalogue.board.title)
scope = filters.lcn or "all neighbourhoods"
st.caption(
    f"{filters.start:%B %Y} to {filters.end:%B %Y}, {scope}. "
    "Open a metric for its chart and definition."
)

link_params = "&".join(f"{k}={v}" for k, v in filters.url_params().items())
for domain_id in catalogue.domain_order():
    metrics = catalogue.metrics_in_domain(domain_id)
    if not metrics:
        continue
    domain = catalogue.domains[domain_id]
    outcome = catalogue.outcomes.get(domain.outcome or "")
    st.subheader(domain.title)
    st.caption(f"Serves the big outcome: {outcome.title}." if outcome else domain.description)
    rows = []
    for summary in board.summaries([m.id for m in metrics], filters.query()):
        metric = summary.metric
        rows.append(
            {
                "Metric": metric.title,
                "Latest": format_value(summary.latest_value, metric)
                if summary.available
                else "unavailable",
                "Month": f"{summary.latest_month:%b %Y}" if summary.latest_month else "",
                "Change vs a year earlier": format_change(summary.change, metric),
                "Reading": direction_word(summary.change, metric)
                if summary.available
                else summary.reason,
                "Last 24 months": list(summary.sparkline),
                "Details": f"metric?metric={metric.id}&{link_params}",
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Metric": st.column_config.TextColumn(width="large"),
            "Last 24 months": st.column_config.LineChartColumn(width="medium"),
            "Details": st.column_config.LinkColumn(display_text="Open", width="small"),
        },
    )
