"""Overview, exception first: what needs the board's attention, then every metric by
framework domain with its latest value, change on a year earlier, sparkline and icons."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from metrics.analyses.disclosure import legend
from metrics.analyses.reading import exceptions_first, provisional_statement, readings
from metrics.ui.components import (
    draw_recorded,
    metric_tiles,
    plain,
    rich,
    workbook_downloads,
)
from metrics.ui.overview_view import (
    OVERVIEW_COLUMNS,
    OVERVIEW_WIDTHS,
    SCREEN_ONLY_COLUMNS,
    by_domain,
    domain_arrow,
    domain_cards,
    domain_table,
    link_query,
)
from metrics.ui.state import current_audience, current_policy, page_context

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title(plain(catalogue.board.title))
scope = filters.lcn or "all neighbourhoods"
st.caption(
    f"{filters.start:%B %Y} to {filters.end:%B %Y}, {plain(scope)}. Read through Making Data Count "
    "statistical process control: icons show whether a change is more than noise and whether "
    "a target will be met. " + provisional_statement(catalogue)
)

policy = current_policy()
all_readings = readings(board, filters.query(), current_audience())
attention = [r for r in exceptions_first(all_readings) if r.needs_attention]
link_params = filters.url_params()

st.header("Needs the board's attention")
st.caption(
    "**What this shows:** metrics whose latest point is a special-cause concern, or whose "
    "target will not be met without a change. Everything else is shown by domain below."
)
if not attention:
    st.success("No metric shows special-cause concern or a failing target in this period.")
metric_tiles(attention, link_params, key="attention")

OVERVIEW_ROW_HEIGHT = 66  # two or three lines: long titles wrap (Streamlit wraps above 64 px)

st.header("Every metric by domain")
any_suppressed = False
for_download: dict[str, Callable[[], pd.DataFrame]] = {}
readings_by_domain = by_domain(all_readings)
query = link_query(filters)
audience = current_audience()
column_config = {
    "Metric": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Metric"]),
    "Latest": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Latest"]),
    "Month": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Month"]),
    "Change": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Change"]),
    "Variation": st.column_config.ImageColumn(width=OVERVIEW_WIDTHS["Variation"]),
    "Assurance": st.column_config.ImageColumn(width=OVERVIEW_WIDTHS["Assurance"]),
    "Signal": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Signal"]),
    "Last 24 months": st.column_config.LineChartColumn(width=OVERVIEW_WIDTHS["Last 24 months"]),
    "Details": st.column_config.LinkColumn(display_text="Open", width=OVERVIEW_WIDTHS["Details"]),
}
for domain_id in catalogue.domain_order():
    domain_readings = readings_by_domain.get(domain_id)
    if not domain_readings:
        continue
    any_suppressed = any_suppressed or any(r.suppressed for r in domain_readings)
    title = catalogue.domains[domain_id].title
    sheet = title if title not in for_download else f"{title} ({domain_id})"
    for_download[sheet] = lambda rows=domain_readings: domain_table(rows, query).drop(
        columns=SCREEN_ONLY_COLUMNS
    )


def draw_domains() -> None:
    # A wide screen gets each domain's table (its columns fit 1280 px with the sidebar
    # open), a phone the same readings as cards: layout.css shows one or the other by the
    # screen's width, telling them apart by what each element holds, so the domains need
    # no container each.
    with st.container(key="overview_domains"):
        for domain_id in catalogue.domain_order():
            domain_readings = readings_by_domain.get(domain_id)
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
            view = (board, domain_id, domain_readings, filters.query(), audience, query)
            st.dataframe(
                domain_arrow(*view),
                hide_index=True,
                width="stretch",
                column_order=OVERVIEW_COLUMNS,
                row_height=OVERVIEW_ROW_HEIGHT,
                column_config=column_config,
            )
            st.markdown(domain_cards(*view), unsafe_allow_html=True)


# The same view's domains are the same elements for every reader: made once, replayed.
draw_recorded("overview_domains", board, (filters.query(), audience, query), draw_domains)
if any_suppressed:
    st.caption(plain(legend(policy)))
st.caption(
    "**Download every domain's table:** the Excel workbook has a sheet for each domain; "
    "the CSV has them one after another, each row led by its domain."
)
workbook_downloads(
    lambda: {title: table() for title, table in for_download.items()},
    f"Overview {filters.start:%Y-%m} to {filters.end:%Y-%m}"
    + (f" {filters.lcn}" if filters.lcn else ""),
    label="Domain",
    key="overview_domains",
)
