"""Crisis and acute care: crisis and liaison referrals, admissions, beds, out-of-area
placements and follow-up after discharge, each read through SPC."""

from __future__ import annotations

import streamlit as st

from metrics.ui.components import SPC_PAGE_DOMAINS, domain_section
from metrics.ui.state import page_context

state, filters = page_context()

TITLE = "Crisis and acute care"
st.title(TITLE)
st.caption(
    "When people are most unwell: crisis referrals, A&E liaison, acute admissions, beds in "
    "use, costly out-of-area placements and contact within 72 hours of leaving hospital."
)
domain_section(state.board, SPC_PAGE_DOMAINS["crisis"], filters, page_title=TITLE)
