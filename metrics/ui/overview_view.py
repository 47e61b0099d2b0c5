"""The Overview's figures for one view (period, neighbourhood, audience): each domain's
table (in Arrow, as st.dataframe sends it) and its cards for a phone, and the tiles of
what needs the board's attention. Made once per board and shared by every reader.

The page lays them out; the server's start-up warm (and each reload's) makes the default
view's the same way before anyone asks (`warm_overview`), so the site's first visitor,
who lands on the Overview, does not wait for them.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from metrics.analyses.reading import Reading, exceptions_first, readings
from metrics.board import Board
from metrics.formatting import direction_word
from metrics.spc import icon_url
from metrics.sql.series import SeriesQuery
from metrics.ui.cards import change_words, phone_cards, short_icon_words
from metrics.ui.components import default_query, tile_markup
from metrics.ui.state import Filters

# The table's columns on screen: these columns at these widths (px) fit 820 px of content
# (a 1280 px window with the sidebar open) and stretch on a wider screen.
OVERVIEW_WIDTHS = {
    "Metric": 186,
    "Latest": 96,
    "Month": 68,
    "Change": 118,
    "Variation": 50,
    "Assurance": 56,
    "Signal": 112,
    "Last 24 months": 76,
    "Details": 48,
}
OVERVIEW_COLUMNS = list(OVERVIEW_WIDTHS)
# Shown on screen only: they restate other columns briefly (left out of the downloads).
SCREEN_ONLY_COLUMNS = ["Change", "Signal"]


def link_query(filters: Filters) -> str:
    """The view's filters as a link's query string (encoded: a neighbourhood name may hold
    spaces, & or #)."""
    return urllib.parse.urlencode(filters.url_params())


def by_domain(all_readings: Sequence[Reading]) -> dict[str, list[Reading]]:
    grouped: dict[str, list[Reading]] = {}
    for reading in all_readings:
        grouped.setdefault(reading.metric.domain, []).append(reading)
    return grouped


def domain_table(domain_readings: Sequence[Reading], query: str) -> pd.DataFrame:
    """One domain's readings, a row each, as the Overview's table shows them; `query` is
    the view's link query, for each row's link to its metric's page."""
    rows = []
    for reading in domain_readings:
        metric = reading.metric
        status = ""
        if reading.available:
            status = reading.status_label if reading.provisional else "final"
            if reading.scope == "borough":
                status += "; borough-wide (not recorded by neighbourhood)"
        rows.append(
            {
                "Metric": metric.title,
                "Latest": reading.display if reading.available else "unavailable",
                "Month": reading.period,
                "Status": status if reading.available else reading.reason,
                "Change on a year earlier": (
                    f"{reading.change_display} {reading.change_period}".strip()
                    if reading.change_display
                    else ""
                ),
                "Reading": direction_word(reading.change, metric) if reading.available else "",
                # Shown in the table (the two above and the icons' meaning, briefly).
                "Change": change_words(reading),
                "Signal": short_icon_words(reading.variation_icon, reading.assurance_icon),
                # The site's icon addresses, not data URIs: a screen reader reads a
                # cell's address (the Signal column says what the icons mean). No icon is
                # an empty cell: the data grid writes "None" in a cell with no value.
                "Variation": icon_url(reading.variation_icon) if reading.variation_icon else "",
                "Assurance": icon_url(reading.assurance_icon) if reading.assurance_icon else "",
                "What the icons say": reading.icon_words,
                "Last 24 months": list(reading.sparkline),
                "Details": f"metric?metric={metric.id}&{query}",
            }
        )
    return pd.DataFrame(rows)


def domain_arrow(
    board: Board,
    domain_id: str,
    domain_readings: Sequence[Reading],
    series_query: SeriesQuery,
    audience: str,
    query: str,
) -> pa.Table:
    """The domain's table converted to Arrow once per board and view (the conversion was a
    large part of a page run)."""
    return board.memo(
        ("table", ("overview", domain_id, series_query, audience, query)),
        lambda: pa.Table.from_pandas(domain_table(domain_readings, query), preserve_index=False),
    )


def domain_cards(
    board: Board,
    domain_id: str,
    domain_readings: Sequence[Reading],
    series_query: SeriesQuery,
    audience: str,
    query: str,
) -> str:
    """The domain's readings as cards for a phone: one HTML block per board and view."""
    return board.memo(
        ("overview_cards", domain_id, series_query, audience, query),
        lambda: phone_cards(domain_readings, query),
    )


def warm_overview(board: Board) -> None:
    """Make the default view's tables, cards and attention tiles for both audiences, the
    way the page makes them: the server's warm."""
    series_query = default_query(board)
    if series_query.start is None or series_query.end is None:
        return
    query = link_query(Filters(series_query.start, series_query.end, None))
    for audience in ("board", "public"):
        all_readings = readings(board, series_query, audience)
        for reading in exceptions_first(all_readings):
            if reading.needs_attention:
                tile_markup(board, reading)
        for domain_id, domain_readings in by_domain(all_readings).items():
            view = (board, domain_id, domain_readings, series_query, audience, query)
            domain_arrow(*view)
            domain_cards(*view)
