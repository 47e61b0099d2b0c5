"""Overview, exception first: what needs the board's attention, then every metric by
framework domain with its latest value, change on a year earlier, sparkline and icons."""

from __future__ import annotations

import urllib.parse

import pandas as pd
import streamlit as st

from metrics.disclosure import legend
from metrics.formatting import direction_word, format_change
from metrics.reading import exceptions_first, readings
from metrics.spc import icon_data_uri, icon_meaning
from metrics.ui.components import metric_tile, plain, rich, shown_latest, shown_sparkline
from metrics.ui.state import current_policy, page_context

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title(plain(catalogue.board.title))
scope = filters.lcn or "all neighbourhoods"
st.caption(
    f"{filters.start:%B %Y} to {filters.end:%B %Y}, {plain(scope)}. Read through Making Data Count "
    "statistical process control: icons show whether a change is more than noise and whether "
    "a target will be met. The latest months of most sources are provisional (still filling "
    "up): they are shown, but left out of the SPC reading."
)

policy = current_policy()
all_readings = board.memo(("readings", filters.query()), lambda: readings(board, filters.query()))
attention = [r for r in exceptions_first(all_readings) if r.needs_attention]
link_params = filters.url_params()

st.header("Needs the board's attention")
st.caption(
    "**What this shows:** metrics whose latest point is a special-cause concern, or whose "
    "target will not be met without a change. Everything else is shown by domain below."
)
if not attention:
    st.success("No metric shows special-cause concern or a failing target in this period.")
for start in range(0, len(attention), 3):
    columns = st.columns(3)
    for column, reading in zip(columns, attention[start : start + 3], strict=False):
        with column:
            metric_tile(reading, link_params, policy)

st.header("Every metric by domain")
any_suppressed = False
by_domain: dict[str, list] = {}
for reading in all_readings:
    by_domain.setdefault(reading.metric.domain, []).append(reading)
# Encoded: a neighbourhood name may hold spaces, & or #.
link_query = urllib.parse.urlencode(link_params)
for domain_id in catalogue.domain_order():
    domain_readings = by_domain.get(domain_id)
    if not domain_readings:
        continue
    domain = catalogue.domains[domain_id]
    outcome = catalogue.outcomes.get(domain.outcome or "")
    st.subheader(plain(domain.title))
    st.caption(
        f"Serves the big outcome: {plain(outcome.title)}."
        if outcome
        else rich(domain.description, catalogue.board.link_hosts)
    )
    rows = []
    for reading in domain_readings:
        metric, summary = reading.metric, reading.summary
        latest, suppressed = shown_latest(summary, policy) if summary.available else ("", False)
        any_suppressed = any_suppressed or suppressed
        rows.append(
            {
                "Metric": metric.title,
                "Latest": latest if summary.available else "unavailable",
                "Month": f"{summary.latest_month:%b %Y}" if summary.latest_month else "",
                "Change vs a year earlier": format_change(summary.change, metric),
                "Reading": direction_word(summary.change, metric)
                if summary.available
                else summary.reason,
                "Variation": icon_data_uri(reading.variation_icon)
                if reading.variation_icon
                else None,
                "Assurance": icon_data_uri(reading.assurance_icon)
                if reading.assurance_icon
                else None,
                "What the icons say": ". ".join(
                    icon_meaning(i) for i in (reading.variation_icon, reading.assurance_icon) if i
                ),
                "Last 24 months": shown_sparkline(summary, policy),
                "Details": f"metric?metric={metric.id}&{link_query}",
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Metric": st.column_config.TextColumn(width="large"),
            "Variation": st.column_config.ImageColumn(width="small"),
            "Assurance": st.column_config.ImageColumn(width="small"),
            "What the icons say": st.column_config.TextColumn(width="medium"),
            "Last 24 months": st.column_config.LineChartColumn(width="medium"),
            "Details": st.column_config.LinkColumn(display_text="Open", width="small"),
        },
    )
if any_suppressed:
    st.caption(plain(legend(policy)))
