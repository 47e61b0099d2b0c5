"""Overview, exception first: what needs the board's attention, then every metric by
framework domain with its latest value, change on a year earlier, sparkline and icons."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pandas as pd
import streamlit as st

from metrics.analyses.disclosure import legend
from metrics.analyses.reading import exceptions_first, provisional_statement, readings
from metrics.formatting import direction_word
from metrics.spc import icon_url
from metrics.ui.cards import change_words, phone_cards, short_icon_words
from metrics.ui.components import (
    OVERVIEW_COLUMNS,
    OVERVIEW_WIDTHS,
    cached_table,
    metric_tile,
    plain,
    rich,
    workbook_downloads,
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
for start in range(0, len(attention), 3):
    columns = st.columns(3)
    for column, reading in zip(columns, attention[start : start + 3], strict=False):
        with column:
            metric_tile(reading, link_params)

OVERVIEW_ROW_HEIGHT = 66  # two or three lines: long titles wrap (Streamlit wraps above 64 px)

st.header("Every metric by domain")
any_suppressed = False
for_download: dict[str, Callable[[], pd.DataFrame]] = {}
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
    any_suppressed = any_suppressed or any(r.suppressed for r in domain_readings)

    def domain_table(domain_readings: list = domain_readings) -> pd.DataFrame:
        rows = []
        for reading in domain_readings:
            metric = reading.metric
            status = ""
            if reading.available:
                status = reading.status_label if reading.provisional else "final"
                if reading.scope == "borough":
                    status += "; borough-wide (not recorded by neighbourhood)"
            rows.append(
                {
                    "Metric": metric.title,
                    "Latest": reading.display if reading.available else "unavailable",
                    "Month": reading.period,
                    "Status": status if reading.available else reading.reason,
                    "Change on a year earlier": (
                        f"{reading.change_display} {reading.change_period}".strip()
                        if reading.change_display
                        else ""
                    ),
                    "Reading": direction_word(reading.change, metric) if reading.available else "",
                    # Shown in the table (the two above and the icons' meaning, briefly).
                    "Change": change_words(reading),
                    "Signal": short_icon_words(reading.variation_icon, reading.assurance_icon),
                    # The site's icon addresses, not data URIs: a screen reader reads a
                    # cell's address (the Signal column says what the icons mean).
                    "Variation": icon_url(reading.variation_icon)
                    if reading.variation_icon
                    else None,
                    "Assurance": icon_url(reading.assurance_icon)
                    if reading.assurance_icon
                    else None,
                    "What the icons say": reading.icon_words,
                    "Last 24 months": list(reading.sparkline),
                    "Details": f"metric?metric={metric.id}&{link_query}",
                }
            )
        return pd.DataFrame(rows)

    # A wide screen gets the table (its columns fit 1280 px with the sidebar open), a phone
    # the same readings as cards (layout.css shows one or the other by the screen's width).
    with st.container(key=f"overview_table_{domain_id}"):
        st.dataframe(
            cached_table(
                ("overview", domain_id, filters.query(), current_audience(), link_query),
                domain_table,
            ),
            hide_index=True,
            width="stretch",
            column_order=OVERVIEW_COLUMNS,
            row_height=OVERVIEW_ROW_HEIGHT,
            column_config={
                "Metric": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Metric"]),
                "Latest": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Latest"]),
                "Month": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Month"]),
                "Change": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Change"]),
                "Variation": st.column_config.ImageColumn(width=OVERVIEW_WIDTHS["Variation"]),
                "Assurance": st.column_config.ImageColumn(width=OVERVIEW_WIDTHS["Assurance"]),
                "Signal": st.column_config.TextColumn(width=OVERVIEW_WIDTHS["Signal"]),
                "Last 24 months": st.column_config.LineChartColumn(
                    width=OVERVIEW_WIDTHS["Last 24 months"]
                ),
                "Details": st.column_config.LinkColumn(
                    display_text="Open", width=OVERVIEW_WIDTHS["Details"]
                ),
            },
        )
        # Downloaded without the two columns that only restate others briefly on screen.
        sheet = (
            domain.title if domain.title not in for_download else f"{domain.title} ({domain_id})"
        )
        for_download[sheet] = lambda domain_table=domain_table: domain_table().drop(
            columns=["Change", "Signal"]
        )
    with st.container(key=f"overview_cards_{domain_id}"):
        cards = board.memo(  # the same for every reader of this view: made once per board
            ("overview_cards", domain_id, filters.query(), current_audience(), link_query),
            lambda domain_readings=domain_readings: phone_cards(domain_readings, link_query),
        )
        st.markdown(cards, unsafe_allow_html=True)
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
