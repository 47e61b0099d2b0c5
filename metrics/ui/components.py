"""Page building blocks shared by the page scripts."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.dataframe_util import convert_anything_to_arrow_bytes

from metrics import audit
from metrics.analyses.reading import Reading, default_period, month_label, read_metric
from metrics.board import Board
from metrics.charts.sparkline import sparkline_svg
from metrics.charts.spc_chart import spc_alt_text, spc_chart
from metrics.data_status import status_note
from metrics.definitions.issues import Issue
from metrics.definitions.models import MetricDef
from metrics.exports.tables import combined_csv_bytes, csv_bytes, excel_bytes, workbook_bytes
from metrics.formatting import format_value
from metrics.labels import chart_title
from metrics.serving import BoardState
from metrics.sql.series import SeriesQuery
from metrics.text import looks_like_a_name, plain_markdown, safe_markdown
from metrics.ui.cards import icon_img, tile_body
from metrics.ui.state import (
    REGISTERED_PAGES,
    Filters,
    board_state,
    current_audience,
    page_link,
)

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
    build: Callable[[], alt.TopLevelMixin],
    alt_text: str,
    key: Hashable | None = None,
    board: Board | None = None,
) -> dict[str, Any]:
    """The Vega-Lite specification of a chart, made once per board when `key` names it.

    Charts are built by the engine's chart builders (tested there against the Vega-Lite
    schema); a page only lays out the specification, so it is not validated again on
    every run of every session (validation was most of a page's time)."""

    def make() -> dict[str, Any]:
        # The text alternative goes into the finished specification (a top-level property):
        # .properties() would copy the chart, which for a layered chart copies every layer.
        return {**build().to_dict(validate=False), "description": alt_text}

    if key is None:
        return make()
    board = board or st.session_state["board_state"].board
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

    _download_row(
        lambda: csv_bytes(frame()), lambda: excel_bytes(frame(), sheet=name), name, key=key
    )


def workbook_downloads(
    tables: Callable[[], Mapping[str, pd.DataFrame]], name: str, *, label: str, key: str
) -> None:
    """Several tables as shown, in one pair of downloads made only when clicked: an Excel
    workbook with a sheet each, and one CSV whose first column (`label`) names each row's
    table. (A pair of buttons under each of many tables cost a page more server time than
    anything else on it, for every reader on every run.)"""
    _download_row(
        lambda: combined_csv_bytes(tables(), label), lambda: workbook_bytes(tables()), name, key=key
    )


def _download_row(
    csv: Callable[[], bytes], excel: Callable[[], bytes], name: str, *, key: str
) -> None:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "table"
    # Side by side at their own width (columns of a fixed share cut the labels off).
    row = st.container(horizontal=True, gap="small")
    row.download_button(
        "Download CSV",
        data=csv,
        file_name=f"{safe}.csv",
        mime="text/csv",
        key=f"download_csv_{key}",
        on_click="ignore",
        icon=":material/download:",
    )
    row.download_button(
        "Download Excel",
        data=excel,
        file_name=f"{safe}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_xlsx_{key}",
        on_click="ignore",
        icon=":material/download:",
    )


def chart(
    chart_object: alt.TopLevelMixin | Callable[[], alt.TopLevelMixin],
    alt_text: str | Callable[[], str],
    what_this_shows: str = "",
    *,
    key: Hashable | None = None,
    title: str | None = None,
    board: Board | None = None,
) -> None:
    """A chart with its plain-words caption and a text alternative.

    `chart_object` is an Altair chart or a function that builds one (so that, with a
    `key`, it is built once per board and shared by every session); so is `alt_text` when
    it is a function that writes the words. `what_this_shows` is
    plain text (it often names a metric or group from configuration): it is escaped here,
    so callers pass it as it is. `title` (what and where: metrics.labels.chart_title) is
    drawn above the chart unless the chart has its own; Vega-Lite draws it as text, never
    Markdown. A keyed chart is kept on `board`, the board its figures come from (the
    served one unless given: the editor's preview draws from a candidate board)."""
    if what_this_shows:
        st.caption(f"**What this shows:** {plain(what_this_shows)}")
    if key is None:
        board = None
    elif board is None:
        board = st.session_state["board_state"].board
    spec, alt_text = prepared_chart(chart_object, alt_text, key=key, title=title, board=board)
    # `alt` gives screen-reader users the same message as the picture (WCAG 1.1.1); the
    # project theme is applied in the chart itself, so Streamlit's theme is switched off.
    st.vega_lite_chart(spec=spec, width="stretch", theme=None)
    with st.expander("Chart described in words"):
        st.text(alt_text)


@dataclass(frozen=True)
class ChartPart:
    """A chart as `chart` takes it, made by a page's view so that the page draws it and
    the server's warm makes it the same way (`draw_part`, `warm_part`)."""

    build: Callable[[], alt.TopLevelMixin]
    words: Callable[[], str]
    key: Hashable
    title: str | None
    what: str


def draw_part(part: ChartPart, *, wide: str | None = None) -> None:
    """Draw `part`. `wide` names a chart too detailed to shrink to a phone's width: there it
    keeps a readable size and scrolls sideways in its container (`st-key-wide_chart_<wide>`,
    assets/layout.css), which says so."""
    place = contextlib.nullcontext() if wide is None else st.container(key=f"wide_chart_{wide}")
    with place:
        chart(part.build, part.words, what_this_shows=part.what, key=part.key, title=part.title)


def warm_part(part: ChartPart, board: Board) -> None:
    """Make the chart on `board` as `draw_part` would find it (the server's warm)."""
    prepared_chart(part.build, part.words, key=part.key, title=part.title, board=board)


def prepared_chart(
    chart_object: alt.TopLevelMixin | Callable[[], alt.TopLevelMixin],
    alt_text: str | Callable[[], str],
    *,
    key: Hashable | None,
    title: str | None,
    board: Board | None,
) -> tuple[dict[str, Any], str]:
    """What `chart` hands Streamlit, and the text alternative: with a `key`, made once per
    board (the server's start-up warm makes the default views' charts the same way, so
    the first visitor finds them made)."""
    build = (
        chart_object
        if callable(chart_object) and not isinstance(chart_object, alt.TopLevelMixin)
        else (lambda: chart_object)
    )
    if callable(alt_text):
        words = alt_text
        alt_text = words() if key is None or board is None else board.memo(("alt_text", key), words)
    spec = chart_spec(build, alt_text, key, board)  # type: ignore[arg-type]
    if title and not spec.get("title"):
        spec = {**spec, "title": title}  # a copy: the cached spec is shared
    if key is not None and board is not None:
        shown = spec
        spec = board.memo(("chart_wire", key, alt_text, title), lambda: wire_spec(shown))
    return spec, alt_text


def wire_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its named datasets already in the Arrow form Streamlit sends (it
    passes bytes through as they are): converting a chart's rows to Arrow was most of what
    drawing a cached chart cost on every run of every session. Streamlit's own converter,
    so the bytes are the ones it would have made."""
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict):
        return spec
    converted = {
        name: rows if not isinstance(rows, list) else convert_anything_to_arrow_bytes(rows)
        for name, rows in datasets.items()
    }
    return {**spec, "datasets": converted}


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


def reading_key(reading: Reading) -> tuple[Any, ...]:
    """What identifies a reading (and so anything drawn from it) on a board."""
    return (reading.metric.id, reading.start, reading.end, reading.lcn, reading.audience)


def draw_recorded(name: str, board: Board, view: Hashable, draw: Callable[[], None]) -> None:
    """Run `draw` once per (name, board, view) and replay the elements it made to every
    later run, in any session: Streamlit's cache records each element's message, so a
    replay sends what was made instead of making it again (Arrow tables, column settings,
    markdown). `view` must name everything `draw` depends on besides the board (filters,
    audience, the pages a link may name); `draw` may make no widget, and puts its elements
    where the caller is, or in containers it makes itself."""
    _recorded(draw, (name, board.token, view))


@st.cache_resource(show_spinner=False, max_entries=512)
def _recorded(_draw: Callable[[], None], key: tuple[str, str, Hashable]) -> None:
    _draw()


def metric_tiles(readings: Iterable[Reading], link_params: dict[str, str], *, key: str) -> None:
    """Metric tiles in a grid of as many columns of at least 16rem as fit: three on a
    laptop, one on a phone (assets/layout.css, by the `tiles_` key). One layout block for
    them all: st.columns would send four for every row of three, and on the Outcomes page
    those blocks were a good part of what a session's run sends. Recorded once per view."""
    readings = list(readings)

    def draw() -> None:
        with st.container(horizontal=True, gap="small", key=f"tiles_{key}"):
            for reading in readings:
                metric_tile(reading, link_params)

    view = (
        key,
        tuple(reading_key(reading) for reading in readings),
        tuple(sorted(link_params.items())),
        # A tile's link names the page this reader's role registered.
        tuple(sorted(st.session_state.get(REGISTERED_PAGES) or {})),
    )
    draw_recorded("metric_tiles", st.session_state["board_state"].board, view, draw)


def metric_tile(reading: Reading, link_params: dict[str, str]) -> None:
    """One metric: its link, then its reading (value with its month and status), change on
    a year earlier, sparkline and both SPC icons as one block made once per board."""
    metric = reading.metric
    with st.container(border=True, width="stretch"):
        page_link("metric", plain(metric.title), query_params={"metric": metric.id, **link_params})
        board = st.session_state["board_state"].board
        st.markdown(tile_markup(board, reading), unsafe_allow_html=True)


def tile_markup(board: Board, reading: Reading) -> str:
    """A tile's body, made once per board (and so per board version): every reader of
    the reading is sent the same text."""
    return board.memo(
        ("tile_body", *reading_key(reading)),
        lambda: tile_body(reading, sparkline(list(reading.sparkline), reading.metric)),
    )


def sparkline(values: list[float], metric: MetricDef) -> str:
    """A tile's recent trend as a small inline SVG line with a text alternative ('' for
    fewer than two values)."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    words = (
        f"{metric.title}, its last {len(values)} monthly values: from "
        f"{format_value(values[0], metric)} to {format_value(values[-1], metric)} "
        f"(lowest {format_value(low, metric)}, highest {format_value(high, metric)})."
    )
    return sparkline_svg(values, words)


# The Metric detail page's SPC chart: taller than a panel among others.
METRIC_PAGE_CHART_HEIGHT = 340


def spc_panel(
    reading: Reading,
    link_params: dict[str, str],
    *,
    height: int = 260,
    board: Board | None = None,
    details_link: bool = True,
) -> None:
    """A metric's SPC chart with its icons, its reading and a plain-words caption.
    `board`: the board the reading is from (the served one unless given), on which its
    chart is kept. `details_link`: a link to the metric's own page (not on that page)."""
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
        if details_link:
            page_link(
                "metric",
                "Details and breakdowns",
                query_params={"metric": metric.id, **link_params},
            )
    with left:
        board = board or board_state().board
        what, build, words, key = spc_panel_chart(board, reading, height)
        chart(build, words, what_this_shows=what, key=key, board=board)


def spc_panel_chart(
    board: Board, reading: Reading, height: int = 260
) -> tuple[str, Callable[[], alt.TopLevelMixin], Callable[[], str], Hashable]:
    """An SPC panel's chart as `chart` takes it: its caption, builder, text alternative
    and key (the start-up warm prepares the default views' panels from the same)."""
    metric = reading.metric
    result = reading.spc.result
    assert result is not None
    facet = result.facet()
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
        what += " " + rebase_words(reading.spc.rebased_titles, reading.spc.rebased_starts)

    def build() -> alt.TopLevelMixin:
        return spc_chart(
            shown,
            title=chart_title(metric.title, board.catalogue, reading.lcn),
            y_title=metric.unit if metric.unit != "%" else "percent",
            height=height,
            provisional=reading.provisional_shown,
        )

    def words() -> str:
        return spc_alt_text(
            shown, measure=metric.title, format_value=lambda v: format_value(v, metric)
        )

    return what, build, words, ("spc_panel", height, *reading_key(reading))


def warm_spc_pages(board: Board) -> None:
    """Make the SPC panels' charts of the panel pages' default view (the whole period,
    every neighbourhood, the board's readings) before anyone asks: the server's warm."""
    query = default_query(board)
    for domain_ids in SPC_PAGE_DOMAINS.values():
        for domain_id in domain_ids:
            for metric in board.catalogue.metrics_in_domain(domain_id):
                _warm_panel_chart(board, read_metric(board, metric.id, query, "board"), 260)


def warm_metric_pages(board: Board) -> None:
    """Make each metric's chart as its Metric detail page opens (the default view, no
    breakdown): the page every tile and panel links to. Without it a reader's first click
    on a metric cost the server about three times a later visit, most of it the chart."""
    query = default_query(board)
    for metric in board.catalogue.metrics.values():
        if metric.status != "retired":
            reading = read_metric(board, metric.id, query, "board")
            _warm_panel_chart(board, reading, METRIC_PAGE_CHART_HEIGHT)


def _warm_panel_chart(board: Board, reading: Reading, height: int) -> None:
    if reading.spc.result is not None:
        _what, build, words, key = spc_panel_chart(board, reading, height)
        prepared_chart(build, words, key=key, title=None, board=board)


def default_query(board: Board) -> SeriesQuery:
    """The query of a first visit's filters (the whole period, every neighbourhood), as the
    start-up warm makes the default views."""
    period = default_period(board)
    return SeriesQuery(start=period[0], end=period[1]) if period else SeriesQuery()


def rebase_words(titles: tuple[str, ...], starts: tuple[dt.date, ...] = ()) -> str:
    """What a rebase did, in words: 'The limits start again from Oct 2015 (Hub scale-up):
    the months since are read against their own average, not the earlier one.'"""
    changes = [
        f"{month_label(start)} ({title})" if start else title
        for title, start in itertools.zip_longest(titles, starts)
    ]
    return (
        f"The limits start again from {' and from '.join(changes)}: the months since are read "
        "against their own average, not the earlier one."
    )


# The pages drawn as SPC panels, and their framework domains (the pages and the start-up
# warm read them from here).
SPC_PAGE_DOMAINS: dict[str, list[str]] = {"access": ["access"], "crisis": ["crisis", "choice"]}


def domain_section(
    board: Board, domain_ids: list[str], filters: Filters, *, page_title: str = ""
) -> None:
    """Every live metric of the given domains as SPC panels, in catalogue order (a domain
    named like the page, `page_title`, gets no heading of its own: the page has it)."""
    catalogue = board.catalogue
    for domain_id in domain_ids:
        domain = catalogue.domains.get(domain_id)
        if domain is None:
            continue
        metrics = catalogue.metrics_in_domain(domain_id)
        if not metrics:
            continue
        if len(domain_ids) > 1 and domain.title != page_title:
            st.header(plain(domain.title))
            if domain.description:
                st.caption(rich(domain.description, catalogue.board.link_hosts))
        for metric in metrics:
            reading = read_metric(board, metric.id, filters.query(), current_audience())
            spc_panel(reading, filters.url_params())


# ---------------------------------------------------------------- tables that fit
# The widest table a page may draw without cutting anything off: a 1280 px window with
# the sidebar open leaves 820 px of content (Streamlit's wide layout pads 80 px a side);
# a little is kept back for the grid's borders and scrollbar.
TABLE_WIDTH_PX = 800
PHONE_WIDTH_PX = 320  # a 390 px phone less the page's padding, with room to spare
CHAR_PX = 7.4  # the data grid's 14 px sans-serif, per character on average
CELL_PADDING_PX = 22
MIN_COLUMN_PX = 64
LINE_PX = 19
MAX_LINES = 5
DEFAULT_ROW_PX = 35  # the data grid's row and header heights
HEADER_PX = 35
WHOLE_TABLE_ROWS = 20  # a table of up to this many rows is drawn whole


T = TypeVar("T")


class PerObject:
    """Values computed from an object and kept as long as that object lives.

    The tables pages draw are mostly made once per board and shared (board.memo), so the
    same object comes back on every run of every session; what is measured from it need
    not be measured again. Keyed by identity and checked through a weak reference, so a
    new object that happens to reuse an old one's id is measured afresh."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], Any]] = {}
        self._lock = threading.Lock()

    def get(self, obj: Any, compute: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        value = compute()
        key = id(obj)

        def forget(ref: weakref.ref[Any]) -> None:
            with self._lock:
                if self._entries.get(key, (None, None))[0] is ref:
                    del self._entries[key]

        with self._lock:
            self._entries[key] = (weakref.ref(obj, forget), value)
        return value


_MEASURED = PerObject()


def _text_widths(data: pd.DataFrame | pa.Table, sample: int = 400) -> dict[str, tuple[int, int]]:
    """Per column: (header width, widest cell) in characters, over the first `sample` rows."""
    frame = data.slice(0, sample).to_pandas() if isinstance(data, pa.Table) else data.head(sample)
    widths: dict[str, tuple[int, int]] = {}
    for name in frame.columns:
        values = frame[name].dropna()
        cells = values.map(lambda v: len(str(v))) if len(values) else pd.Series([0])
        widths[str(name)] = (len(str(name)), int(cells.max()))
    return widths


def _numeric_columns(data: pd.DataFrame | pa.Table) -> list[str]:
    if isinstance(data, pa.Table):
        return [
            f.name
            for f in data.schema
            if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        ]
    return [str(c) for c in data.select_dtypes("number").columns]


def plan_table(
    widths: dict[str, tuple[int, int]],
    *,
    fixed: dict[str, int] | None = None,
    numeric: Iterable[str] = (),
    budget: int = TABLE_WIDTH_PX,
) -> tuple[dict[str, int], int | None]:
    """Column widths (px) that fit `budget`, and a row height that lets long text wrap.

    Each column gets its natural width (its widest cell, or its header) when they all fit.
    Otherwise the widest text columns are narrowed, never below their header, until the
    table fits, and rows grow tall enough for the wrapped text (up to MAX_LINES lines;
    Streamlit wraps text only in rows taller than 64 px). `fixed` columns keep their width;
    `numeric` columns are never narrowed (numbers do not wrap)."""
    fixed = dict(fixed or {})
    numeric = set(numeric)
    natural = {
        name: max(int(max(header, cell) * CHAR_PX) + CELL_PADDING_PX, MIN_COLUMN_PX)
        for name, (header, cell) in widths.items()
        if name not in fixed
    }
    floors = {
        name: max(min(int(widths[name][0] * CHAR_PX) + CELL_PADDING_PX, 180), MIN_COLUMN_PX)
        for name in natural
    }
    room = budget - sum(fixed.values())
    if sum(natural.values()) <= room:
        return {**fixed, **natural}, None
    # Water-filling: the largest cap under which every narrowable column fits the room.
    narrowable = [n for n in natural if n not in numeric]
    steady = sum(natural[n] for n in natural if n in numeric)
    low, high = 0, max(natural.values())
    while low < high:
        cap = (low + high + 1) // 2
        used = steady + sum(max(min(natural[n], cap), floors[n]) for n in narrowable)
        if used <= room:
            low = cap
        else:
            high = cap - 1
    planned = {
        n: natural[n] if n in numeric else max(min(natural[n], low), floors[n]) for n in natural
    }
    lines = max(
        -(-(natural[n] - CELL_PADDING_PX) // max(planned[n] - CELL_PADDING_PX, 1)) for n in natural
    )
    lines = min(max(lines, 2), MAX_LINES)
    return {**fixed, **planned}, max(65, lines * LINE_PX + 12)


def fitted_table(
    data: pd.DataFrame | pa.Table,
    *,
    key: str,
    column_config: dict[str, Any] | None = None,
    column_order: list[str] | None = None,
    fixed: dict[str, int] | None = None,
    hide_index: bool = True,
) -> None:
    """st.dataframe whose columns fit a 1280 px window with the sidebar open (long text
    wraps instead of running off the right edge) and stretch to fill wider screens.

    A table still wider than a phone is drawn in a container (`st-key-wide_table_<key>`)
    that says, on narrow screens only, that it scrolls sideways (layout.css)."""
    names = data.column_names if isinstance(data, pa.Table) else data.columns
    shown = column_order or [str(c) for c in names]
    labels = {
        name: given if isinstance(given, str) else (given or {}).get("label") or name
        for name, given in (column_config or {}).items()
    }
    measured, numeric = _MEASURED.get(data, lambda: (_text_widths(data), _numeric_columns(data)))
    widths = {n: (len(labels.get(n, n)), cell) for n, (_, cell) in measured.items() if n in shown}
    planned, row_height = plan_table(widths, fixed=fixed, numeric=numeric)
    config: dict[str, Any] = {}
    for name, width in planned.items():
        given = (column_config or {}).get(name)
        if given is None:
            config[name] = st.column_config.Column(width=width)
        elif isinstance(given, str):
            config[name] = st.column_config.Column(label=given, width=width)
        else:
            config[name] = {**given, "width": given.get("width") or width}
    for name, given in (column_config or {}).items():
        config.setdefault(name, given)
    wide = sum(planned.values()) > PHONE_WIDTH_PX
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", key)
    # A short table is drawn whole (no scrolling inside the page for its last rows).
    rows = data.num_rows if isinstance(data, pa.Table) else len(data)
    height: int | str = "auto"
    if rows <= WHOLE_TABLE_ROWS:
        height = HEADER_PX + rows * (row_height or DEFAULT_ROW_PX) + 3
    with st.container(key=f"{'wide_table' if wide else 'table'}_{safe}"):
        st.dataframe(
            data,
            hide_index=hide_index,
            width="stretch",
            height=height,  # type: ignore[arg-type]
            column_config=config,
            column_order=column_order,
            row_height=row_height,
        )
