"""Metric detail: the series, a breakdown selector and the definition in plain words.

Deep link: ?metric=ID (and optionally &breakdown=COLUMN).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import streamlit as st

from metrics.analyses.disclosure import control_series, legend, shows_suppression
from metrics.analyses.funnel import (
    FunnelError,
    breakdown_funnel,
    funnel_alt_text,
    funnel_caption,
    funnel_kind,
    funnel_summary,
    not_shown_text,
)
from metrics.analyses.reading import (
    group_icon_table,
    no_data_reason,
    period_for,
    provisional_months,
    provisional_statement,
    read_metric,
    span_label,
    spc_reading,
)
from metrics.charts.funnel_chart import funnel_chart
from metrics.charts.series_chart import series_alt_text, series_chart
from metrics.describe import describe_metric, metric_yaml
from metrics.editing import locate_definition
from metrics.exports.tables import monthly_values_table
from metrics.labels import chart_title, column_label, label_values
from metrics.sql.series import SeriesError
from metrics.ui.components import (
    METRIC_PAGE_CHART_HEIGHT,
    chart,
    downloads,
    fitted_table,
    plain,
    rich,
    spc_panel,
    unknown_in_link,
)
from metrics.ui.state import (
    PERIOD_KEY,
    current_audience,
    current_policy,
    page_context,
    url_param,
)


def use_period(start: dt.date, end: dt.date) -> None:
    """Move the shared period (every page, and the link) to the metric's own span."""
    st.session_state[PERIOD_KEY] = (start, end)


state, filters = page_context()
policy = current_policy()
board = state.board
catalogue = board.catalogue

metric_ids = [m.id for m in catalogue.metrics.values() if m.status != "retired"]
if not metric_ids:
    st.warning("No metric definitions are available.")
    st.stop()

requested = url_param("metric")
if requested and requested not in metric_ids:
    unknown_in_link("metric", requested, what="metric", instead="the metric chosen below")
# (Retired metrics are not offered, so a link to one falls back like an unknown id.)
if "metric_page_metric" not in st.session_state or (
    requested in metric_ids and requested != st.session_state["metric_page_metric"]
):
    st.session_state["metric_page_metric"] = requested if requested in metric_ids else metric_ids[0]

metric_id = st.selectbox(
    "Metric",
    metric_ids,
    key="metric_page_metric",
    format_func=lambda mid: (
        f"{catalogue.domains[catalogue.metrics[mid].domain].title}: {catalogue.metrics[mid].title}"
    ),
)
metric = catalogue.metrics[metric_id]
st.query_params["metric"] = metric_id

link_hosts = catalogue.board.link_hosts
st.title(plain(metric.title))
if metric.description:
    st.markdown(rich(metric.description, link_hosts))

# A metric with no data in the board's period (a new source whose data end earlier, say)
# is shown over its own span, and the page says so and offers that period everywhere.
own_period = period_for(board, metric_id, filters.start, filters.end)
if own_period is not None:
    chosen = span_label(filters.start, filters.end)
    filters = dataclasses.replace(filters, start=own_period[0], end=own_period[1])
    st.info(
        f"{plain(metric.title)} has no data in the selected period ({chosen}); "
        + no_data_reason(own_period, filters.start, filters.end).split("; ", 1)[1]
        + ", so that period is shown here.",
        icon=":material/date_range:",
    )
    st.button(
        f"Use {span_label(*own_period)} on every page",
        on_click=use_period,
        args=own_period,
        key=f"metric_page_use_period_{metric_id}",
    )

options = ["none", *metric.breakdowns]
requested_breakdown = url_param("breakdown")
# The link's breakdown belongs to the link's metric (not to one the reader picked since).
link_metric = (requested or metric_id) == metric_id
if link_metric and requested_breakdown and requested_breakdown not in options:
    unknown_in_link("breakdown", requested_breakdown, what="breakdown", instead="no breakdown")
breakdown = st.radio(
    "Break down by",
    options,
    index=options.index(requested_breakdown) if requested_breakdown in options else 0,
    horizontal=True,
    # Radio options are rendered as Markdown (unlike a select box's).
    format_func=lambda b: "No breakdown" if b == "none" else plain(column_label(catalogue, b)),
    key=f"metric_page_breakdown_{metric_id}",
)
if breakdown == "none":
    st.query_params.pop("breakdown", None)
else:
    st.query_params["breakdown"] = breakdown

try:
    result = board.series(metric_id, filters.query(None if breakdown == "none" else breakdown))
except SeriesError as exc:
    st.warning(f"This metric is unavailable: {plain(exc)}")
    st.stop()

for note in result.notes:
    st.caption(plain(note))
if breakdown == "none":
    reading = read_metric(board, metric_id, filters.query(), current_audience())
    spc_panel(reading, filters.url_params(), height=METRIC_PAGE_CHART_HEIGHT, details_link=False)
    if reading.provisional_points:
        st.caption(provisional_statement(catalogue))
else:
    # Breakdown cells are not top level: the board's disclosure policy applies to them.
    shown = control_series(result, policy)
    # groups in board words (a code config has no label for shows with a note)
    shown = shown.assign(group=label_values(catalogue, breakdown, shown["group"]))
    chart(
        series_chart(
            shown,
            metric,
            title=chart_title(
                f"{metric.title} by {column_label(catalogue, breakdown)}", catalogue, filters.lcn
            ),
        ),
        series_alt_text(shown, metric),
        what_this_shows=f"{metric.title} each month, one line per "
        f"{column_label(catalogue, breakdown)}. "
        "Gaps are months with no data, not zero.",
    )
    groups = spc_reading(board, metric_id, filters.query(breakdown))
    if groups.result is not None:
        st.caption("**What this shows:** each group read through SPC on its own.")
        icons = group_icon_table(groups.result, metric, control_series(result, policy)).assign(
            Group=lambda t: label_values(catalogue, breakdown, t["Group"])
        )
        fitted_table(
            icons.rename(columns={"Group": column_label(catalogue, breakdown)}),
            key="metric_groups",
        )
    if shows_suppression(shown):
        st.caption(plain(legend(policy)))
    # Benchmarking (metrics.analyses.funnel): a funnel of the groups for a rate or a percentage.
    if funnel_kind(metric) is not None:
        st.subheader("Benchmarking: how each group compares")
        try:
            funnel = breakdown_funnel(board, metric_id, filters.query(breakdown), policy)
        except FunnelError as exc:
            st.caption(f"No funnel plot: {plain(exc)}")
        else:
            st.markdown(plain(funnel_summary(funnel)))
            chart(funnel_chart(funnel), funnel_alt_text(funnel), funnel_caption(funnel))
            for note in (not_shown_text(funnel), *funnel.notes):
                if note:
                    st.caption(plain(note))

st.subheader("Definition")
st.markdown(plain(describe_metric(metric, catalogue, caveats=False)))
if metric.caveats:
    st.markdown("**Caveat:**\n\n" + rich(metric.caveats, link_hosts))
origin = catalogue.origins.get(metric_id)
with st.expander("Definition as written (YAML) and the SQL it runs"):
    definition_id = catalogue.expanded_from.get(metric_id, metric_id)
    written = (
        locate_definition(catalogue.config_dir, origin.file, origin.line, definition_id)
        if origin
        else None
    )
    if written is not None:
        # The file's own lines (comments, quoting and order as the analyst wrote them).
        st.caption(
            f"As written in {plain(origin.file)}, lines {written.start_line} to "
            f"{written.end_line}"
            + (
                f" (one definition for every value of {plain(metric.for_each.column)})."
                if metric.for_each is not None
                else "."
            )
        )
        st.code(written.item_text, language="yaml", wrap_lines=True)
    else:
        if origin:
            st.caption(
                f"Defined in {plain(origin.file)}, line {origin.line}; the file has changed "
                "since the board loaded, so the definition as loaded is shown."
            )
        st.code(metric_yaml(metric), language="yaml", wrap_lines=True)
    st.code(result.sql, language="sql", wrap_lines=True)
with st.expander("Monthly values"):
    values = control_series(result, policy)
    pending = provisional_months(board, metric)
    table = monthly_values_table(values, pending)
    if "Group" in table:
        table["Group"] = label_values(catalogue, breakdown, table["Group"])
        table = table.rename(columns={"Group": column_label(catalogue, breakdown)})
    fitted_table(table, key="metric_values")
    downloads(table, f"{metric.id} monthly values", key=f"metric_values_{metric_id}")
    if shows_suppression(values):
        st.caption(plain(legend(policy)))
