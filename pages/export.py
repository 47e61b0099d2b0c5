"""Export: the board's pack from the site, for the period and neighbourhood chosen in the
shared filters.

Signed-in board members and analysts (roles with the board disclosure policy) get the
board version; everyone else gets the public version (small numbers suppressed). The
version follows the session's role as the server decided it, never anything in the link.
Each format has one slot: "Prepare" builds the file, and the download takes its place.
"""

from __future__ import annotations

import streamlit as st

from metrics.exports import ExportFilters
from metrics.ui.components import plain
from metrics.ui.exports import export_buttons
from metrics.ui.state import current_audience, page_context


def scope_words(filters: ExportFilters) -> str:
    """'Apr 2024 to Mar 2025, all neighbourhoods' as the page says it."""
    period = (
        f"{filters.start:%b %Y} to {filters.end:%b %Y}"
        if filters.start is not None and filters.end is not None
        else "the board's default period"
    )
    where = f"{filters.lcn} neighbourhood" if filters.lcn else "all neighbourhoods"
    return f"{period}, {where}"


state, filters = page_context()
board = state.board
audience = current_audience()  # from the role the server resolved: never from the URL
chosen = ExportFilters(filters.start, filters.end, filters.lcn)

st.title("Export the board pack")
if audience == "board":
    st.markdown(
        "**Board version**: whole-area figures as computed and breakdowns "
        "disclosure-controlled. It is for the board and its analysts: not for publication."
    )
else:
    st.markdown(
        "**Public version**: small numbers are suppressed and other counts rounded, as on "
        "every public page. Board members and analysts who sign in get the board version."
    )
st.markdown(f"**Covers**: {plain(scope_words(chosen))}.")
st.caption(
    "Change the period or neighbourhood with the filters; the files are built for the "
    "filters shown when you press Prepare, and say inside which period and neighbourhood "
    "they cover. The neighbourhood applies to the measures recorded by neighbourhood in "
    "the board pack; money, equity, data quality and the showcase slides cover the whole "
    "area."
)
st.markdown(
    "- **Board pack PDF**: cover sheet, exception report, Making Data Count summary, "
    "impact of service changes, money, equity, data quality and method notes.\n"
    "- **HTML deck**: the showcase slides in one file that opens offline in any browser.\n"
    "- **PowerPoint**: the same slides, to present or adapt."
)
export_buttons(
    board,
    audience=audience,
    formats=("pdf", "html", "pptx"),
    key="export_page",
    filters=chosen,
)
