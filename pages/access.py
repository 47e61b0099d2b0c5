"""Access and waiting times: introductions, referrals, median and 90th percentile waits,
the four-week standard and the caseload, each read through SPC."""

from __future__ import annotations

import streamlit as st

from metrics.ui.components import SPC_PAGE_DOMAINS, domain_section
from metrics.ui.state import page_context

state, filters = page_context()

st.title("Access and waiting times")
st.caption(
    "Getting help early and quickly: how many people reach the front door, how long they "
    "wait (the median, and the 90th percentile for the longest waits), how many are seen "
    "within four weeks, and how many are on a caseload or waiting list."
)
domain_section(state.board, SPC_PAGE_DOMAINS["access"], filters)
