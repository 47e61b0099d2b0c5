"""Export buttons: build the HTML deck, PowerPoint or board-pack PDF on click, then offer it.

A file is built only when asked for (a board pack takes seconds), with its progress shown
in an `st.status` box, and then kept per board + audience + period and neighbourhood +
format: a second click, or a second reader of the same board and filters, gets it at once.
A new board (any edited config or data file opens one) has a new fingerprint, so a stale
file is never served; the audience is part of the key, so a board version is never handed
to a public page; the filters are, so a file never covers another period than it says.

Each format has one slot: "Prepare" while the file is not built, and the download button
in its place once it is (the button becomes the download).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence

import streamlit as st

from metrics import audit
from metrics.board import Board
from metrics.exports import (
    FORMAT_TITLES,
    FORMATS,
    Export,
    ExportFilters,
    NothingToExport,
    build_export,
)
from metrics.ui.components import plain

LOG = logging.getLogger("alliance_board")
MAX_KEPT = 12  # built files kept in memory (each a few hundred kB)

ExportKey = tuple[str, str, ExportFilters | None, str]


class _ExportStore:
    """Built files, newest last, shared by every session of this server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.files: OrderedDict[ExportKey, Export] = OrderedDict()

    def get(self, key: ExportKey) -> Export | None:
        with self.lock:
            export = self.files.get(key)
            if export is not None:
                self.files.move_to_end(key)
            return export

    def put(self, key: ExportKey, export: Export) -> None:
        with self.lock:
            self.files[key] = export
            while len(self.files) > MAX_KEPT:
                self.files.popitem(last=False)


@st.cache_resource(show_spinner=False)
def _store() -> _ExportStore:
    return _ExportStore()


def board_fingerprint(board: Board) -> str:
    """Changes whenever a new board is opened (a config or data file changed)."""
    return f"{board.catalogue.fingerprint}:{board.opened_at.isoformat()}"


def export_key(
    board: Board, audience: str, fmt: str, filters: ExportFilters | None = None
) -> ExportKey:
    return (board_fingerprint(board), audience, filters, fmt)


def prepared_export(
    board: Board, audience: str, fmt: str, filters: ExportFilters | None = None
) -> Export | None:
    """The file already built for this board, audience, filters and format, if any."""
    return _store().get(export_key(board, audience, fmt, filters))


def _build(
    board: Board, audience: str, fmt: str, filters: ExportFilters | None = None
) -> Export | None:
    """Build with a progress bar inside a status box; None (and a message) on failure."""
    title = FORMAT_TITLES[fmt]
    with st.status(f"Building the {title}…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            export = build_export(board, fmt, audience, progress=progress, filters=filters)
        except NothingToExport as exc:
            status.update(label=f"{title}: nothing could be built", state="error")
            st.caption(plain(str(exc)))
            return None
        except Exception:  # readers never see details; analysts find them in the log
            reference = uuid.uuid4().hex[:8]
            LOG.exception("export %s/%s failed (reference %s)", fmt, audience, reference)
            status.update(label=f"{title} could not be built", state="error")
            st.caption(f"If it persists, quote reference {reference} to the analysts.")
            return None
        status.update(label=f"{title} ready", state="complete", expanded=False)
    identity = st.session_state.get("identity")
    audit.record(
        identity.who if identity is not None else "unknown",
        "export",
        export.file_name,
        format=fmt,
        audience=audience,
        unavailable=len(export.problems),
    )
    _store().put(export_key(board, audience, fmt, filters), export)
    return export


def export_buttons(
    board: Board,
    *,
    audience: str = "public",
    formats: Sequence[str] = FORMATS,
    key: str = "export",
    filters: ExportFilters | None = None,
) -> None:
    """One column per format, one slot per column: 'Prepare' builds the file (with
    progress), and the download button then takes its place. Files already built for
    this board, audience and filters are offered at once."""
    columns = st.columns(len(formats))
    for column, fmt in zip(columns, formats, strict=True):
        with column:
            title = FORMAT_TITLES[fmt]
            export = prepared_export(board, audience, fmt, filters)
            slot = st.empty()  # the Prepare button, then the download in its place
            if export is None and slot.button(
                f"Prepare the {title}", key=f"{key}_{audience}_{fmt}_build", width="stretch"
            ):
                slot.empty()
                export = _build(board, audience, fmt, filters)
            if export is None:
                continue
            slot.download_button(
                f"Download the {title}",
                data=export.data,
                file_name=export.file_name,
                mime=export.mime,
                key=f"{key}_{audience}_{fmt}_download",
                on_click="ignore",
                type="primary",
                width="stretch",
            )
            if export.problems:
                st.caption(
                    f"{len(export.problems)} part(s) unavailable and marked in the file: "
                    + plain("; ".join(p.text() for p in export.problems[:3]))
                )
