"""Alliance Board: the entry point. Page config, shared filters and the page registry.

Every page is registered here explicitly (url_path = the file's stem), so the legacy
pages/ auto-discovery is off (client.showSidebarNavigation = false in config.toml).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import streamlit as st

from metrics.ui.components import problems_banner, synthetic_banner
from metrics.ui.state import board_state, shared_filters

LOG = logging.getLogger("alliance_board")
# A local file: a :material/...: favicon would be fetched from Google's font CDN.
FAVICON = Path(__file__).parent / "metrics" / "ui" / "assets" / "favicon.png"

st.set_page_config(
    page_title="Alliance Board",
    page_icon=str(FAVICON),
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = {
    "Board": [
        # The Overview is the home page (served at /); a hidden second registration makes
        # /overview (its file stem) work too, so every page is reachable by its stem.
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="home",
            default=True,
        ),
        st.Page("pages/overview.py", title="Overview", url_path="overview", visibility="hidden"),
        st.Page("pages/outcomes.py", title="Outcomes", icon=":material/flag:", url_path="outcomes"),
        st.Page(
            "pages/access.py",
            title="Access and waits",
            icon=":material/schedule:",
            url_path="access",
        ),
        st.Page(
            "pages/crisis.py",
            title="Crisis and acute",
            icon=":material/emergency:",
            url_path="crisis",
        ),
        st.Page(
            "pages/equity.py", title="Equity", icon=":material/diversity_3:", url_path="equity"
        ),
        st.Page("pages/money.py", title="Money", icon=":material/payments:", url_path="money"),
        st.Page(
            "pages/data_quality.py",
            title="Data quality",
            icon=":material/fact_check:",
            url_path="data_quality",
        ),
    ],
    "Analysts": [
        st.Page(
            "pages/catalogue.py",
            title="Catalogue",
            icon=":material/list_alt:",
            url_path="catalogue",
        ),
        st.Page(
            "pages/editor.py",
            title="Edit definitions",
            icon=":material/edit_note:",
            url_path="editor",
        ),
    ],
    "Analysis": [
        st.Page(
            "pages/impact.py", title="Impact", icon=":material/trending_down:", url_path="impact"
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
    navigation = st.navigation(PAGES, position="top")
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
