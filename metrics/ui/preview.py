"""Preview of a candidate definition before it is saved: its series, SPC and ITS result,
computed on the data already loaded (nothing on disk changes)."""

from __future__ import annotations

import threading
import weakref

import streamlit as st

from metrics.analyses.impact import ImpactRequest, headline, impact_sentence, run_impact
from metrics.analyses.reading import read_metric
from metrics.board import Board
from metrics.definitions.catalogue import METRICS_DIR
from metrics.definitions.validate import ConfigLoad
from metrics.drafting import NewMetricChoice, append_item, draft_file, draft_item
from metrics.editing import edited_metric_id, locate_metric, replace_lines, validate_candidate
from metrics.sql.expand import expand_from_data
from metrics.sql.series import SeriesQuery
from metrics.ui.components import (
    PerObject,
    default_query,
    plain,
    prepared_chart,
    spc_panel,
    spc_panel_chart,
)
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
    candidate, metric_id, made = _preview_board(board, loaded, metric_id)
    if candidate is None:
        st.info("Fix the errors above to see a preview.")
        return
    catalogue = candidate.catalogue
    if made:
        st.caption(
            f"This definition makes {made} metric(s), one per value of "
            f"{plain(catalogue.metrics[metric_id].for_each.column)}; the first, "  # type: ignore[union-attr]
            f"{plain(metric_id)}, is previewed."
        )
    reading = read_metric(candidate, metric_id, filters.query(), "board")
    spc_panel(reading, filters.url_params(), height=PREVIEW_HEIGHT, board=candidate)
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


PREVIEW_HEIGHT = 260


def _preview_board(
    board: Board, loaded: ConfigLoad, metric_id: str
) -> tuple[Board | None, str, int]:
    """(the candidate's board, the metric previewed, how many metrics a for_each definition
    makes, 0 for a plain one): a for_each definition previews the first metric it makes;
    no board when the candidate defines nothing to preview."""
    catalogue = loaded.catalogue
    made = 0
    if metric_id not in catalogue.metrics:
        if metric_id in catalogue.templates:
            catalogue, _ = expand_from_data(catalogue, board.warehouse)
        expanded = [m for m, t in catalogue.expanded_from.items() if t == metric_id]
        if not expanded:
            return None, metric_id, 0
        metric_id, made = expanded[0], len(expanded)
    # The candidate's board lives as long as its check (the same text against the same
    # files is checked once), so moving about the editor does not recompute the preview.
    slot = _CANDIDATE_BOARDS.get(loaded, dict)
    with _SLOT_LOCK:
        held = slot.get((metric_id, id(board)))
        if held is None or held[0]() is not board:
            held = (weakref.ref(board), Board(catalogue, board.warehouse, list(loaded.issues)))
            slot[(metric_id, id(board))] = held
    return held[1], metric_id, made


def warm_editor(board: Board) -> None:
    """Check and preview what the editor opens on, before anyone asks (the server's
    start-up warm): the first metric's definition as it is on disk, and the new-metric
    form's default draft. A first visit to the editor then finds both checks made."""
    catalogue = board.catalogue
    config_dir = catalogue.config_dir
    query = default_query(board)
    if catalogue.metrics:
        first = next(iter(catalogue.metrics))
        location = locate_metric(config_dir, catalogue.expanded_from.get(first, first))
        if location is not None:
            text = replace_lines(
                location.file_text, location.start_line, location.end_line, location.item_text
            )
            check = validate_candidate(config_dir, location.path, text)
            _warm_preview(board, check.loaded, edited_metric_id(location.item_text) or first, query)
    if catalogue.sources and catalogue.domains:
        choice = NewMetricChoice.default(catalogue)
        new_id, item = draft_item(catalogue, choice)
        target = config_dir / METRICS_DIR / draft_file(config_dir, choice.domain)
        original = target.read_text(encoding="utf-8") if target.is_file() else ""
        check = validate_candidate(config_dir, target, append_item(original, item))
        _warm_preview(board, check.loaded, edited_metric_id(item) or new_id, query)


def _warm_preview(board: Board, loaded: ConfigLoad, metric_id: str, query: SeriesQuery) -> None:
    """What preview_metric computes, without drawing it."""
    candidate, metric_id, _made = _preview_board(board, loaded, metric_id)
    if candidate is None:
        return
    reading = read_metric(candidate, metric_id, query, "board")
    if reading.spc.result is not None:
        _what, build, words, key = spc_panel_chart(candidate, reading, PREVIEW_HEIGHT)
        prepared_chart(build, words, key=key, title=None, board=candidate)
    if candidate.catalogue.metrics[metric_id].its is not None:
        run_impact(candidate, ImpactRequest(metric_id, placebo=False))
