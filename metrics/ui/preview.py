"""Preview of a candidate definition before it is saved: its series, SPC and ITS result,
computed on the data already loaded (nothing on disk changes)."""

from __future__ import annotations

import threading
import weakref

import streamlit as st

from metrics.analyses.impact import ImpactRequest, headline, impact_sentence, run_impact
from metrics.analyses.reading import read_metric
from metrics.board import Board
from metrics.definitions.validate import ConfigLoad
from metrics.editing import edited_metric_id
from metrics.sql.expand import expand_from_data
from metrics.ui.components import PerObject, plain, spc_panel
from metrics.ui.state import Filters

_CANDIDATE_BOARDS = PerObject()
_SLOT_LOCK = threading.Lock()


def preview_edit(
    board: Board, loaded: ConfigLoad, item_text: str, opened_id: str, filters: Filters
) -> None:
    """Preview the metric as edited: its id is read from the edited YAML item, so a renamed
    metric is previewed under its new id (the id it was opened under is only a fallback,
    while the item does not parse)."""
    preview_metric(board, loaded, edited_metric_id(item_text) or opened_id, filters)


def preview_metric(board: Board, loaded: ConfigLoad, metric_id: str, filters: Filters) -> None:
    """Show the candidate metric's SPC chart and, if it has one, its ITS headline."""
    catalogue = loaded.catalogue
    if metric_id not in catalogue.metrics:
        # A for_each definition: preview the first of the metrics it makes.
        if metric_id in catalogue.templates:
            catalogue, _ = expand_from_data(catalogue, board.warehouse)
        made = [m for m, t in catalogue.expanded_from.items() if t == metric_id]
        if not made:
            st.info("Fix the errors above to see a preview.")
            return
        st.caption(
            f"This definition makes {len(made)} metric(s), one per value of "
            f"{plain(catalogue.metrics[made[0]].for_each.column)}; the first, "  # type: ignore[union-attr]
            f"{plain(made[0])}, is previewed."
        )
        metric_id = made[0]
    # The candidate's board lives as long as its check (the same text against the same
    # files is checked once), so moving about the editor does not recompute the preview.
    slot = _CANDIDATE_BOARDS.get(loaded, dict)
    with _SLOT_LOCK:
        held = slot.get((metric_id, id(board)))
        if held is None or held[0]() is not board:
            held = (weakref.ref(board), Board(catalogue, board.warehouse, list(loaded.issues)))
            slot[(metric_id, id(board))] = held
    candidate = held[1]
    reading = read_metric(candidate, metric_id, filters.query(), "board")
    spc_panel(reading, filters.url_params(), height=260, board=candidate)
    metric = catalogue.metrics[metric_id]
    if metric.its is not None:
        impact = run_impact(candidate, ImpactRequest(metric_id, placebo=False))
        if impact.result is None:
            st.warning(f"ITS: {plain(impact.error)}")
        else:
            big, interval = headline(impact)
            st.markdown(
                f"**ITS:** {plain(big)} ({plain(interval)}). {plain(impact_sentence(impact))}"
            )
