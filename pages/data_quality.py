"""Data quality: completeness by source and month, provisional figures and how they are
revised, definition breaks, when each source was last refreshed, and validation issues.

Deep link: ?source=ID shows that source's measures in the completeness heatmap.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.analyses.data_quality import (
    DataQualityReport,
    data_quality_report,
    revision_sentence,
)
from metrics.analyses.reading import month_label
from metrics.labels import measure_key_label
from metrics.ui.components import (
    cached_table,
    downloads,
    draw_part,
    fitted_table,
    plain,
    unknown_in_link,
)
from metrics.ui.quality_view import (
    ALL_SOURCES,
    completeness_chart,
    completeness_shown,
    revisions_chart_part,
)
from metrics.ui.state import page_context, url_param

VINTAGE_WORDS = {
    "measure_key": "Measure id",
    "first_value": "First reported",
    "first_extract": "First extract",
    "latest_value": "Latest value",
    "latest_extract": "Latest extract",
    "latest_status": "Latest status",
    "extracts": "Extracts",
    "months_to_latest": "Months to latest",
    "first_pct_of_latest": "First as % of latest",
    "revision_pct": "Revision %",
    "final": "Final",
}
REFRESH_WORDS = {
    "source_id": "Source id",
    "title": "Source",
    "status": "Status",
    "file": "File",
    "file_modified": "File modified",
    "rows": "Rows",
    "first_period": "First",
    "last_period": "Last",
    "provisional_months": "Provisional months",
    "provisional": "Provisional",
    "owner": "Owner",
    "refresh": "Refresh",
    "problem": "Problem",
}

state, filters = page_context()
board = state.board
catalogue = board.catalogue

st.title("Data quality")
st.caption(
    f"How far the figures can be trusted, {filters.start:%B %Y} to {filters.end:%B %Y} (the "
    "period chosen in the sidebar). A month with no data is shown as a gap on every chart, "
    "never as zero."
)


def measure_words(key: str) -> str:
    return measure_key_label(catalogue, key)


def source_titles(ids: object) -> str:
    """'activity, costs' as the sources' titles."""
    parts = [part.strip() for part in str(ids or "").split(",") if part.strip()]
    return "; ".join(catalogue.sources[s].title if s in catalogue.sources else s for s in parts)


def metric_titles(ids: object) -> str:
    """'open_referrals, employment_rate' as the metrics' titles."""
    parts = [part.strip() for part in str(ids or "").split(",") if part.strip()]
    return "; ".join(catalogue.metrics[m].title if m in catalogue.metrics else m for m in parts)


def day_words(value: object) -> str:
    """A date or timestamp as '15 May 2013' ('' when there is none)."""
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%-d %b %Y}"


def vintages_in_words(report: DataQualityReport) -> pd.DataFrame:
    """The revisions vintages with board words for measures, months and dates."""
    frame = report.vintages.copy() if report.vintages is not None else pd.DataFrame()
    if frame.empty:
        return frame
    words = pd.DataFrame(
        {
            "Measure": frame["measure_key"].map(measure_words),
            "Month": frame["month"].map(lambda m: f"{m:%b %Y}"),
        }
    )
    frame["first_extract"] = frame["first_extract"].map(day_words)
    frame["latest_extract"] = frame["latest_extract"].map(day_words)
    frame["first_pct_of_latest"] = frame["first_pct_of_latest"].round(1)
    frame["revision_pct"] = frame["revision_pct"].round(1)
    table = pd.concat([words, frame.drop(columns="month").rename(columns=VINTAGE_WORDS)], axis=1)
    table["Revision"] = ["" if pd.isna(v) else f"{v:+.1f}%" for v in frame["revision_pct"]]
    return table


def refresh_in_words(report: DataQualityReport) -> pd.DataFrame:
    """The last-refresh table with board words for its columns and when files changed."""
    frame = report.refresh.copy()
    frame["file_modified"] = [
        "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%-d %b %Y %H:%M}"
        for v in frame["file_modified"]
    ]
    frame["problem"] = frame["problem"].fillna("").astype(str)
    return frame.rename(columns=REFRESH_WORDS)


report = data_quality_report(board, filters.start, filters.end)
report_key = ("data_quality", filters.start, filters.end)  # what is drawn, made once per board

# ---------------------------------------------------------------- completeness
st.header("Completeness")
checked = list(report.scope.checked)
options = [ALL_SOURCES, *checked]
requested = url_param("source")
if requested and requested not in options:
    unknown_in_link("source", requested, what="checked source", instead="every source")
source_choice = st.selectbox(
    "Show",
    options,
    index=options.index(requested) if requested in options else 0,
    format_func=lambda s: "All sources" if s == ALL_SOURCES else catalogue.sources[s].title,
    key="dq_source",
)
if source_choice == ALL_SOURCES:
    st.query_params.pop("source", None)
else:
    st.query_params["source"] = source_choice
shown = completeness_shown(report, source_choice)
by_source = source_choice == ALL_SOURCES

if shown.empty:
    st.info("No months of the checked sources fall in the selected period.")
else:
    draw_part(
        completeness_chart(board, report, filters.start, filters.end, source_choice),
        wide="completeness",  # a row per source and a column per month: too fine for a phone
    )
gaps = report.gaps if by_source else report.gaps[report.gaps["Source"].isin(shown["source_title"])]
if gaps.empty:
    st.success("No missing or incomplete months in the selected period.")
else:
    st.caption("**Missing and incomplete months** (newest first).")
    fitted_table(cached_table((*report_key, "gaps", source_choice), lambda: gaps), key="dq_gaps")
if report.scope.skipped:
    st.caption("Not checked month by month:")
    st.text("\n".join(f"{sid}: {why}" for sid, why in report.scope.skipped.items()))

# ---------------------------------------------------------------- revisions
st.header("Provisional figures and revisions")
if report.revisions is None or report.revisions_by_lag is None:
    st.info(f"Revisions are unavailable: {plain(report.revisions_problem)}")
else:
    st.markdown(f"**{plain(revision_sentence(report.revisions))}**")
    revisions = revisions_chart_part(board, report, filters.start, filters.end)
    if revisions is not None:
        draw_part(revisions)
    with st.expander("First reported and latest value, month by month"):
        # The values and how far they moved on screen (it fits 1280 px); the download
        # carries every column, extract dates and counts too.
        fitted_table(
            cached_table(("data_quality", "vintages"), lambda: vintages_in_words(report)),
            key="dq_vintages",
            column_order=[
                "Measure",
                "Month",
                "First reported",
                "Latest value",
                "Revision",
                "Latest extract",
                "Latest status",
            ],
        )
        downloads(lambda: vintages_in_words(report), "Revisions month by month", key="dq_vintages")

# ---------------------------------------------------------------- definition breaks
st.header("Definition breaks")
st.caption(
    "Dated changes to how a measure is defined or counted (interventions.yaml, kind "
    "definition_break). A series may step at these months for reasons other than care. The "
    "sources listed hold data either side of the break, so their metrics may be affected; "
    "'modelled in' lists metrics whose SPC or impact study already allows for it."
)
if report.definition_breaks.empty:
    st.info("No definition breaks are recorded.")
else:

    def shown_breaks() -> pd.DataFrame:
        breaks = report.definition_breaks.assign(
            month=report.definition_breaks["month"].map(month_label),
            metrics=report.definition_breaks["metrics"].map(metric_titles),
            modelled_in=report.definition_breaks["modelled_in"].map(metric_titles),
            sources=report.definition_breaks["sources"].map(source_titles),
            # On screen, how many; their titles (too long for a cell) are in the download.
            source_count=report.definition_breaks["sources"].map(
                lambda ids: len([s for s in str(ids or "").split(",") if s.strip()])
            ),
        )
        breaks = breaks[
            [
                "title",
                "month",
                "sources",
                "source_count",
                "metrics_count",
                "modelled_in",
                "description",
                "metrics",
                "id",
            ]
        ].rename(
            columns={
                "id": "Id",
                "title": "Break",
                "month": "From",
                "description": "What changed",
                "sources": "Sources spanning it",
                "source_count": "Sources",
                "metrics": "Metrics on those sources",
                "metrics_count": "Metrics",
                "modelled_in": "Modelled in",
            }
        )
        return breaks

    breaks = board.memo((*report_key, "breaks"), shown_breaks)  # made once per board
    fitted_table(
        breaks,
        key="dq_breaks",
        column_order=[
            "Break",
            "From",
            "What changed",
            "Sources",
            "Metrics",
            "Metrics on those sources",
            "Modelled in",
        ],
    )
    downloads(breaks, "Definition breaks", key="dq_breaks")

# ---------------------------------------------------------------- refresh
st.header("Last refresh")
st.caption(
    "When each source file last changed, what it holds, and which of its latest months are "
    "provisional (sources.yaml: provisional_months)."
)
refresh = board.memo((*report_key, "refresh"), lambda: refresh_in_words(report))
# What each source holds on screen (it fits 1280 px), its file one click away; the
# download carries every column.
fitted_table(
    refresh,
    key="dq_refresh",
    column_order=[
        "Source",
        "Status",
        "First",
        "Last",
        "Provisional",
        "Refresh",
        "Owner",
        *(["Problem"] if refresh["Problem"].astype(bool).any() else []),
    ],
)
with st.expander("Files behind each source"):
    fitted_table(
        refresh,
        key="dq_refresh_files",
        column_order=["Source", "Source id", "File", "File modified", "Rows"],
    )
downloads(refresh, "Last refresh", key="dq_refresh")

# ---------------------------------------------------------------- validation
st.header("Validation issues")
if report.issue_counts.empty:
    st.success("The definitions and data passed every validation check.")
else:
    errors = int(report.issue_counts.loc[report.issue_counts["level"] == "error", "issues"].sum())
    warnings = int(
        report.issue_counts.loc[report.issue_counts["level"] == "warning", "issues"].sum()
    )
    st.caption(
        f"{errors} error(s) and {warnings} warning(s) from validating the definitions and "
        "data. Errors make the figures they affect unavailable; warnings do not."
    )
    fitted_table(
        board.memo(
            (*report_key, "issue_counts"),
            lambda: report.issue_counts.rename(
                columns={"level": "Level", "stage": "Stage", "issues": "Issues"}
            ),
        ),
        key="dq_issues",
    )
    with st.expander("Details for analysts"):
        st.text("\n".join(report.issue_lines))
if state.pending_issues:
    st.warning(
        "A newer edit on disk has problems, so the board is serving the last version that "
        "worked. Details for analysts:"
    )
    st.text("\n".join(issue.format_text() for issue in state.pending_issues))
