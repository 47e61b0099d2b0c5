"""Showcase decks and board packs built from the board: one content model, three formats.

    from metrics.exports import build_export
    export = build_export(board, "pdf", "board")   # or "html" / "pptx", "public"
    Path("pack.pdf").write_bytes(export.data)

`metrics.exports.content` computes every figure once for an audience ("public" always uses
the public disclosure policy; "board" the board's), and the writers (`html_deck`,
`pptx_deck`, `pdf_pack`) only lay it out. Nothing here imports Streamlit; the writers'
heavy libraries (python-pptx, fpdf2) are imported only when that format is asked for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from metrics.board import Board
    from metrics.exports.model import Problem

# Kept here, light to import: the command line registers itself without loading the
# engine (pandas, Altair, the writers' libraries) until an export is asked for.
Audience = Literal["public", "board"]
AUDIENCES: tuple[Audience, ...] = ("public", "board")
Format = Literal["html", "pptx", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "pptx", "pdf")
MIME_TYPES: dict[str, str] = {
    "html": "text/html",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
}
FORMAT_TITLES: dict[str, str] = {"html": "HTML deck", "pptx": "PowerPoint", "pdf": "Board pack PDF"}
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class ExportFilters:
    """The period and neighbourhood an export covers (the site's shared filters).

    `start`/`end` are first days of months; None for either means the board's default
    period. `lcn` names a neighbourhood (Local Care Network); None means the whole area.
    The neighbourhood applies to the board pack's measures that are recorded by
    neighbourhood; money, equity, data quality and the showcase slides cover the whole
    area, and the files say so."""

    start: dt.date | None = None
    end: dt.date | None = None
    lcn: str | None = None

    def slug(self) -> str:
        """For file names: '2024-04-to-2025-03' (and '-<neighbourhood>')."""
        parts = []
        if self.start is not None and self.end is not None:
            parts.append(f"{self.start:%Y-%m}-to-{self.end:%Y-%m}")
        if self.lcn:
            name = re.sub(r"[^a-z0-9]+", "-", self.lcn.lower()).strip("-")
            parts.append(name[:40] or "neighbourhood")
        return "-".join(parts)


@dataclass(frozen=True)
class Export:
    """A built file and every part that could not be built (each with its reason)."""

    format: str
    audience: str
    data: bytes
    file_name: str
    mime: str
    problems: tuple[Problem, ...] = ()


def _quiet(_fraction: float, _message: str) -> None:
    """The default progress callback: report nothing."""


def build_export(
    board: Board,
    fmt: str,
    audience: str = "public",
    *,
    meeting_date: dt.date | None = None,
    progress: Progress | None = None,
    filters: ExportFilters | None = None,
) -> Export:
    """Build one export for `audience` ("public" or "board"), for the period and
    neighbourhood of `filters` (the board's default period and the whole area if None).

    html and pptx are the showcase deck; pdf is the board pack. Raises ValueError for an
    unknown format or audience, and `NothingToExport` when no part could be built (every
    slide, or every section of the pack, unavailable). Unavailable parts otherwise become
    `Export.problems` and are marked, with the reason, inside the file.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience '{audience}': use one of {', '.join(AUDIENCES)}")
    from metrics.exports.content import board_pack_content, deck_content, require_content

    report = progress or _quiet
    report(0.02, "Computing the figures")
    if fmt == "pdf":
        from metrics.exports.pdf_pack import render_pdf

        pack = board_pack_content(board, audience, meeting_date=meeting_date, filters=filters)
        require_content(pack)
        data, problems = render_pdf(pack, progress=report)
        content_problems = pack.problems
        stem = "board-pack"
    else:
        deck = deck_content(board, audience, filters=filters)
        require_content(deck)
        if fmt == "html":
            from metrics.exports.html_deck import render_html

            data, problems = render_html(deck, progress=report)
        else:
            from metrics.exports.pptx_deck import render_pptx

            data, problems = render_pptx(deck, progress=report)
        content_problems = deck.problems
        stem = "showcase"
    report(1.0, "Done")
    scope = filters.slug() if filters is not None else ""
    return Export(
        format=fmt,
        audience=audience,
        data=data,
        file_name=f"{stem}-{audience}{'-' + scope if scope else ''}.{fmt}",
        mime=MIME_TYPES[fmt],
        problems=tuple(content_problems) + tuple(problems),
    )


def __getattr__(name: str) -> Any:
    """The content model's exception and problem type, imported on first use."""
    if name in ("NothingToExport", "Problem"):
        from metrics.exports import model

        return getattr(model, name)
    raise AttributeError(f"module 'metrics.exports' has no attribute '{name}'")


__all__ = [
    "AUDIENCES",
    "FORMATS",
    "FORMAT_TITLES",
    "MIME_TYPES",
    "Audience",
    "Export",
    "ExportFilters",
    "Format",
    "NothingToExport",
    "Problem",
    "build_export",
]
