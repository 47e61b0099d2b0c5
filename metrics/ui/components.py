"""Page building blocks shared by the page scripts."""

from __future__ import annotations

import altair as alt
import streamlit as st

from metrics.board import BoardState
from metrics.definitions.issues import Issue

SYNTHETIC_NOTICE = (
    "**Synthetic data.** Every figure on this site comes from a generated, fictional "
    "alliance for demonstration. No real person or service is described."
)


def synthetic_banner() -> None:
    st.info(SYNTHETIC_NOTICE, icon=":material/science:")


def problems_banner(state: BoardState) -> None:
    """Analysts see what is wrong and where; everyone else a calm notice."""
    errors = [i for i in state.board.issues if i.is_error]
    pending = list(state.pending_issues)
    if not errors and not pending:
        return
    if state.serving_last_good:
        st.warning(
            "A recent change to the metric definitions or data has problems, so the board is "
            "still showing the last version that worked.",
            icon=":material/history:",
        )
    else:
        st.warning(
            f"Some figures are unavailable: {len(errors)} problem(s) in the definitions or "
            "data. Other figures are unaffected.",
            icon=":material/report:",
        )
    with st.expander("Details for analysts"):
        for issue in (pending or errors)[:50]:
            st.text(issue.format_text())


def chart(chart_object: alt.TopLevelMixin, alt_text: str, what_this_shows: str = "") -> None:
    """An Altair chart with its plain-words caption and a text alternative."""
    if what_this_shows:
        st.caption(f"**What this shows:** {what_this_shows}")
    # `alt` gives screen-reader users the same message as the picture (WCAG 1.1.1); the
    # project theme is applied in the chart itself, so Streamlit's theme is switched off.
    st.altair_chart(chart_object, width="stretch", theme=None, alt=alt_text)
    with st.expander("Chart described in words"):
        st.text(alt_text)


def issue_list(issues: list[Issue]) -> None:
    for issue in issues:
        st.text(issue.format_text())
