"""Page building blocks shared by the page scripts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st

from metrics import audit
from metrics.analyses.reading import Reading, month_label, read_metric
from metrics.board import Board
from metrics.charts.sparkline import sparkline_svg
from metrics.charts.spc_chart import spc_alt_text, spc_chart
from metrics.data_status import status_note
from metrics.definitions.issues import Issue
from metrics.definitions.models import MetricDef
from metrics.exports.tables import csv_bytes, excel_bytes
from metrics.formatting import format_value
from metrics.serving import BoardState
from metrics.spc import icon_data_uri, icon_meaning
from metrics.text import looks_like_a_name, plain_markdown, safe_markdown
from metrics.ui.state import Filters, current_audience

SYNTHETIC_NOTICE = (
    "**Synthetic data.** Every figure on this site comes from a generated, fictional "
    "alliance for demonstration. No real person or service is described."
)
# Per board.yaml data_status kind: the banner's lead words and how it is shown.
STATUS_BANNERS = {
    "synthetic": ("Synthetic data.", "info", ":material/science:"),
    "test": ("Test data.", "warning", ":material/labs:"),
    "provisional": ("Provisional data.", "warning", ":material/pending:"),
    "live": ("", "caption", None),
}


def synthetic_banner(board: Board | None = None) -> None:
    """What the data are, as board.yaml `data_status` says (nothing when it says nothing:
    a board on real data never claims to be synthetic). Written text is plain text."""
    if board is None:
        state = st.session_state.get("board_state")
        board = state.board if state is not None else None
    status = board.catalogue.board.data_status if board is not None else None
    if status is None:
        return
    lead, kind, icon = STATUS_BANNERS[status.kind]
    if status.kind == "synthetic" and not status.text.strip():
        st.info(SYNTHETIC_NOTICE, icon=icon)
        return
    text = status.text.strip() or status_note(board.catalogue).split(": ", 1)[-1]
    if not text:
        return
    text = text[0].upper() + text[1:]
    body = f"**{lead}** {plain(text)}" if lead else plain(text)
    if kind == "caption":
        st.caption(body)
    else:
        getattr(st, kind)(body, icon=icon)


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


def chart_spec(
    build: Callable[[], alt.TopLevelMixin], alt_text: str, key: Hashable | None = None
) -> dict[str, Any]:
    """The Vega-Lite specification of a chart, made once per board when `key` names it.

    Charts are built by the engine's chart builders (tested there against the Vega-Lite
    schema); a page only lays out the specification, so it is not validated again on
    every run of every session (validation was most of a page's time)."""

    def make() -> dict[str, Any]:
        return build().properties(description=alt_text).to_dict(validate=False)

    if key is None:
        return make()
    board = st.session_state["board_state"].board
    return board.memo(("chart_spec", key, alt_text), make)


def cached_table(key: Hashable, build: Callable[[], pd.DataFrame]) -> pa.Table:
    """A table for st.dataframe, built and converted to Arrow once per board for `key` and
    shared by every session (the conversion was a large part of a page run)."""
    board = st.session_state["board_state"].board
    return board.memo(("table", key), lambda: pa.Table.from_pandas(build(), preserve_index=False))


def downloads(table: pd.DataFrame | Callable[[], pd.DataFrame], name: str, *, key: str) -> None:
    """CSV and Excel downloads of a table as shown, made only when clicked."""

    def frame() -> pd.DataFrame:
        return table() if callable(table) else table

    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "table"
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "Download CSV",
        data=lambda: csv_bytes(frame()),
        file_name=f"{safe}.csv",
        mime="text/csv",
        key=f"download_csv_{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        "Download Excel",
        data=lambda: excel_bytes(frame(), sheet=name),
        file_name=f"{safe}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_xlsx_{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def chart(
    chart_object: alt.TopLevelMixin | Callable[[], alt.TopLevelMixin],
    alt_text: str,
    what_this_shows: str = "",
    *,
    key: Hashable | None = None,
) -> None:
    """A chart with its plain-words caption and a text alternative.

    `chart_object` is an Altair chart or a function that builds one (so that, with a
    `key`, it is built once per board and shared by every session). `what_this_shows` is
    plain text (it often names a metric or group from configuration): it is escaped here,
    so callers pass it as it is."""
    if what_this_shows:
        st.caption(f"**What this shows:** {plain(what_this_shows)}")
    build = (
        chart_object
        if callable(chart_object) and not isinstance(chart_object, alt.TopLevelMixin)
        else (lambda: chart_object)
    )
    spec = chart_spec(build, alt_text, key)  # type: ignore[arg-type]
    # `alt` gives screen-reader users the same message as the picture (WCAG 1.1.1); the
    # project theme is applied in the chart itself, so Streamlit's theme is switched off.
    st.vega_lite_chart(spec=spec, width="stretch", theme=None)
    with st.expander("Chart described in words"):
        st.text(alt_text)


def issue_list(issues: list[Issue]) -> None:
    for issue in issues:
        st.text(issue.format_text())


def plain(text: object) -> str:
    """Text from configuration, data or the URL, for any Streamlit call that renders
    Markdown (markdown, captions, titles, alerts, widget and tab labels, radio options,
    st.metric values, help tooltips): shown literally, nothing interpreted. The one way to
    do it is metrics.text.plain_markdown; this is its short name for pages."""
    return plain_markdown(text)


def rich(text: str, link_hosts: Iterable[str] = ()) -> str:
    """A description from configuration in the safe Markdown subset (bold, italic, code,
    paragraphs, bullet lists, links to the board's `link_hosts` only)."""
    return safe_markdown(text, link_hosts)


def unknown_in_link(name: str, value: str, *, what: str, instead: str) -> None:
    """A link whose parameter `name` names something that does not exist: a calm notice
    (echoing the value as plain text only when it reads like a name), and one line in the
    audit log per session. The page then shows `instead`."""
    named = f" called \u201c{plain(value)}\u201d" if looks_like_a_name(value) else ""
    st.info(
        f"The link asks for a {what}{named} that is not available here, so {instead} is "
        "shown instead.",
        icon=":material/info:",
    )
    seen: set[tuple[str, str]] = st.session_state.setdefault("_unknown_link_params", set())
    if (name, value) not in seen:
        seen.add((name, value))
        identity = st.session_state.get("identity")
        audit.record(
            identity.who if identity is not None else "visitor",
            "unknown_parameter",
            name,
            value=value[:80],
        )


def icon_img(icon: str | None, size: int = 44) -> str:
    """An SPC icon as an inline image (data URI: nothing is fetched) with its meaning as alt
    text and tooltip, so it is not conveyed by colour or shape alone."""
    if not icon:
        return ""
    meaning = html.escape(icon_meaning(icon))
    return (
        f'<img src="{icon_data_uri(icon)}" alt="{meaning}" title="{meaning}" '
        f'width="{size}" height="{size}" style="margin-right:6px"/>'
    )


def reading_key(reading: Reading) -> tuple[Any, ...]:
    """What identifies a reading (and so anything drawn from it) on a board."""
    return (reading.metric.id, reading.start, reading.end, reading.lcn, reading.audience)


def metric_tile(reading: Reading, link_params: dict[str, str]) -> None:
    """One metric: its reading (value with its month and status), change on a year
    earlier, sparkline, both SPC icons."""
    metric = reading.metric
    with st.container(border=True):
        st.page_link(
            "pages/metric.py",
            label=plain(metric.title),
            query_params={"metric": metric.id, **link_params},
        )
        if not reading.available:
            st.caption(f"Unavailable: {plain(reading.reason)}")
            return
        label = reading.period
        if reading.provisional:
            label += f" ({reading.status_label})"
        delta = None
        if reading.change_display and not reading.suppressed and reading.change is not None:
            delta = f"{reading.change_display} {reading.change_period}"
        # Value and label are Markdown too; the value carries the metric's unit. (The delta
        # is left as it is: Streamlit reads its leading sign, and it holds no config text.)
        st.metric(
            plain(label),
            plain(reading.display),
            delta=delta,
            delta_color={"up": "normal", "down": "inverse"}.get(metric.better, "off"),
            label_visibility="visible",
        )
        if reading.scope == "borough":
            st.caption(f"Borough-wide: {plain(metric.title)} is not recorded by neighbourhood.")
        trend = list(reading.sparkline)
        if len(trend) > 1:
            sparkline(trend, metric, key=("sparkline", *reading_key(reading)))
        icons = icon_img(reading.variation_icon) + icon_img(reading.assurance_icon)
        if icons:
            st.markdown(icons, unsafe_allow_html=True)
        if reading.icon_words:
            st.caption(reading.icon_words + ".")
        if reading.attention_reason:
            st.caption(f"**Why it is here:** {plain(reading.attention_reason)}")


def sparkline(values: list[float], metric: MetricDef, key: Hashable | None = None) -> None:
    """The tile's recent trend as a small inline line with a text alternative (made once
    per board when `key` names it)."""

    def make() -> str:
        low, high = min(values), max(values)
        words = (
            f"{metric.title}, its last {len(values)} monthly values: from "
            f"{format_value(values[0], metric)} to {format_value(values[-1], metric)} "
            f"(lowest {format_value(low, metric)}, highest {format_value(high, metric)})."
        )
        return sparkline_svg(values, words)

    if key is None:
        svg = make()
    else:
        svg = st.session_state["board_state"].board.memo(("sparkline_svg", key), make)
    if svg:
        st.markdown(svg, unsafe_allow_html=True)


def spc_panel(reading: Reading, link_params: dict[str, str], *, height: int = 260) -> None:
    """A metric's SPC chart with its icons, its reading and a plain-words caption."""
    metric = reading.metric
    st.markdown(f"#### {plain(metric.title)}")
    result = reading.spc.result
    if result is None:
        st.caption(f"Unavailable: {plain(reading.spc.reason or reading.reason)}")
        return
    facet = result.facet()
    icons = icon_img(facet.variation_icon, 36) + icon_img(facet.assurance_icon, 36)
    left, right = st.columns([3, 1])
    with right:
        if icons:
            st.markdown(icons, unsafe_allow_html=True)
        if reading.available:
            line = f"Latest: **{plain(reading.display)}** ({plain(reading.period)}"
            if reading.provisional:
                line += f", {plain(reading.status_label)}"
            line += ")"
            if reading.change_display:
                line += f"; {plain(reading.change_display)} {plain(reading.change_period)}"
            st.caption(line)
            if reading.scope == "borough":
                st.caption("Borough-wide: not recorded by neighbourhood.")
            for point in reading.provisional_points:
                st.caption(
                    f"{plain(month_label(point.month))}: {plain(point.display)} "
                    f"({plain(point.status)})"
                )
        st.page_link(
            "pages/metric.py",
            label="Details and breakdowns",
            query_params={"metric": metric.id, **link_params},
        )
    with left:
        shown = reading.spc_shown or result
        if facet.chart_kind == "run":
            what = (
                f"{metric.title} each month against its median (a run chart): unusual runs "
                f"are marked as special cause. {facet.chart_note}"
            )
        else:
            what = (
                f"{metric.title} each month, with its average (solid) and process limits "
                "(dashed): points outside the limits or in unusual runs are marked as special "
                "cause."
            )
        if reading.provisional_points:
            what += " Hollow points are provisional months (still filling up), not yet read."
        if metric.target:
            what += " The red dashed line is the target."
        if reading.spc.rebased_titles:
            what += (
                " The limits start again after each change to how the service works ("
                + ", ".join(reading.spc.rebased_titles)
                + "), so each period is read against its own average."
            )
        chart(
            lambda: spc_chart(
                shown,
                y_title=metric.unit if metric.unit != "%" else "percent",
                height=height,
                provisional=reading.provisional_shown,
            ),
            spc_alt_text(
                shown, measure=metric.title, format_value=lambda v: format_value(v, metric)
            ),
            what_this_shows=what,
            key=("spc_panel", height, *reading_key(reading)),
        )


def domain_section(board: Board, domain_ids: list[str], filters: Filters) -> None:
    """Every live metric of the given domains as SPC panels, in catalogue order."""
    catalogue = board.catalogue
    for domain_id in domain_ids:
        domain = catalogue.domains.get(domain_id)
        if domain is None:
            continue
        metrics = catalogue.metrics_in_domain(domain_id)
        if not metrics:
            continue
        if len(domain_ids) > 1:
            st.header(plain(domain.title))
            if domain.description:
                st.caption(rich(domain.description, catalogue.board.link_hosts))
        for metric in metrics:
            reading = read_metric(board, metric.id, filters.query(), current_audience())
            spc_panel(reading, filters.url_params())
