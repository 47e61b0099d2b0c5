"""Alliance Board: the entry point. Page config, shared filters and the page registry.

Every page is registered here explicitly (url_path = the file's stem), so the legacy
pages/ auto-discovery is off (client.showSidebarNavigation = false in config.toml).
"""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from metrics.ui.components import problems_banner, synthetic_banner
from metrics.ui.state import board_state, shared_filters

LOG = logging.getLogger("alliance_board")

st.set_page_config(
    page_title="Alliance Board",
    page_icon=":material/monitoring:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = {
    "Board": [
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
        st.Page(
            "pages/metric.py",
            title="Metric detail",
            icon=":material/show_chart:",
            url_path="metric",
        ),
    ],
}


def main() -> None:
    navigation = st.navigation(PAGES, position="sidebar")
    state = board_state()
    st.session_state["board_state"] = state
    st.session_state["filters"] = shared_filters(state)
    synthetic_banner()
    problems_banner(state)
    try:
        navigation.run()
    except Exception:  # Streamlit's own control flow (rerun, stop) is not an Exception
        reference = uuid.uuid4().hex[:8]
        LOG.exception("page %s failed (reference %s)", navigation.url_path, reference)
        st.error(
            "This page could not be shown just now. The rest of the board is unaffected. "
            f"If it persists, quote reference {reference} to the analysts."
        )


main()
