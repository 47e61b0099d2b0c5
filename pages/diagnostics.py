"""Diagnostics for analysts: every validation problem, sources, page failures (with the
reference viewers were given) and the audit log. Viewers never see any of this."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import audit
from metrics.ui.components import fitted_table, plain
from metrics.ui.state import PAGE_ERRORS, page_context

state, filters = page_context()
board = state.board

st.title("Diagnostics")
st.caption("For analysts: what is wrong, where, and who changed what.")

st.header("Definitions and data")
if state.serving_last_good:
    st.warning(
        "The files on disk have errors, so the board is serving the last version that worked."
    )
    for issue in state.pending_issues:
        st.text(issue.format_text())
counts = pd.Series([f"{i.stage} {i.level}" for i in board.issues]).value_counts()
st.caption(f"Board opened {board.opened_at:%d %b %Y %H:%M:%S}; {len(board.issues)} finding(s).")
if not counts.empty:
    st.dataframe(counts.rename("count").to_frame(), width="stretch")
for issue in board.issues:
    st.text(issue.format_text())

st.header("Sources")
st.caption(f"Queries run on {board.warehouse.location}.")
refresh_help = (
    "Read the sources again (rows, months covered) and compute every figure afresh. The "
    "board keeps serving meanwhile; if the warehouse is down it keeps the last good board."
)
if st.button("Refresh from the warehouse", help=refresh_help, key="refresh_warehouse"):
    from metrics.serving import holder_for

    holder_for(board.catalogue.config_dir).refresh()
    st.info("Refreshing: the new figures are served as soon as they are read.")
rows = [
    {
        "Source": source_id,
        "Rows": loaded.rows,
        "First month": f"{loaded.first_month:%b %Y}" if loaded.first_month else "",
        "Last month": f"{loaded.last_month:%b %Y}" if loaded.last_month else "",
        "File changed": f"{loaded.file_modified:%d %b %Y %H:%M}",
        "Load seconds": round(loaded.load_seconds, 3),
        "Status": "loaded",
    }
    for source_id, loaded in board.warehouse.loaded.items()
]
rows += [
    {"Source": source_id, "Status": board.warehouse.failure_reason(source_id)}
    for source_id in board.warehouse.failed
]
fitted_table(pd.DataFrame(rows), key="diagnostics_sources")

st.header("Page failures on this server")
if not PAGE_ERRORS:
    st.success("No page has failed since the server started.")
for failure in PAGE_ERRORS:
    # Expander labels are Markdown: the page name is escaped like any other outside text.
    label = f"{failure['when']} {failure['page']} (reference {failure['reference']})"
    with st.expander(plain(label)):
        st.code(failure["details"], language="text")

st.header("Audit log")
entries = audit.recent()
if entries:
    fitted_table(pd.DataFrame(entries), key="diagnostics_failure")
else:
    st.caption("Nothing recorded yet.")
