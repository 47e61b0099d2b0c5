"""The one content model behind the Showcase page, the HTML and PowerPoint decks and the
board-pack PDF.

Built once from the board for an audience:

- "public": the public disclosure policy, always (config/disclosure.yaml refuses 'none'
  for it, and `policy_for` falls back to nhs_secondary_care should it ever be missing);
- "board": the board's own policy (typically whole-area totals unrounded, breakdowns
  controlled).

Every figure a reader sees passes through `metrics.analyses.disclosure` here, at the output
boundary, and every controlled count is written to a ledger (`Disclosed`) so tests can
prove that no suppressed number leaks into any format. Models (SPC, ITS, equity rates)
always run on the exact figures; only what is shown is controlled. Charts are built from
the figures as shown, so their data (which travel into SVG, PNG and the browser) carry no
exact small counts either.

Nothing here crashes on bad input: a slide naming an unknown metric, a chart that cannot
be built or a model that fails becomes a slide or section marked `unavailable` with the
reason, and a `Problem` that the command line prints as a warning.

Text is kept as plain strings; each writer escapes it for its format.

This module holds the entry points. The rest lives beside it: `model` (the dataclasses),
`builder` (one build's audience, policy, period and figures as shown), `charts`, `deck`,
`pack` and `sections` (the parts, each a function of the builder), `render` (charts as
SVG and PNG) and `helpers`.
"""

from __future__ import annotations

import datetime as dt

from metrics.board import Board
from metrics.exports import AUDIENCES, Audience, ExportFilters
from metrics.exports.builder import Builder, _scope
from metrics.exports.deck import deck_for
from metrics.exports.model import BoardPack, Deck, NothingToExport
from metrics.exports.pack import build_board_pack

# --------------------------------------------------------------------------- entry points


def deck_content(board: Board, audience: str, *, filters: ExportFilters | None = None) -> Deck:
    """The showcase deck for `audience`, computed once per board (boards never change) and
    period (`filters`; the slides cover the whole area whatever its neighbourhood)."""
    return deck_for(board, _audience(audience), _scope(board, filters))


def board_pack_content(
    board: Board,
    audience: str,
    *,
    meeting_date: dt.date | None = None,
    filters: ExportFilters | None = None,
) -> BoardPack:
    """The board pack for `audience` (meeting date: today unless given), for the period
    and neighbourhood of `filters` (the board's default period, whole area, if None);
    once per board."""
    checked = _audience(audience)
    when = meeting_date or dt.date.today()
    scope = _scope(board, filters)
    return board.memo(
        ("exports", "pack", checked, when, scope),
        lambda: build_board_pack(Builder(board, checked, scope), when),
    )


def require_content(content: Deck | BoardPack) -> None:
    """Raise NothingToExport when nothing with figures could be built."""
    if isinstance(content, Deck):
        if not content.available_slides:
            reasons = "; ".join(p.text() for p in content.problems[:3]) or "no slides defined"
            raise NothingToExport(f"no slide could be built ({reasons})")
    elif not content.has_figures:
        reasons = "; ".join(p.text() for p in content.problems[:3]) or "no data"
        raise NothingToExport(f"no section of the board pack could be built ({reasons})")


def _audience(audience: str) -> Audience:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience '{audience}': use 'public' or 'board'")
    return audience  # type: ignore[return-value]


__all__ = [
    "board_pack_content",
    "deck_content",
    "require_content",
]
