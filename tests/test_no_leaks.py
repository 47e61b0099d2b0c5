"""Caches never serve one role's view to another: every cached display object carries its
data scope (the audience) in its key, so a public view computed after a board view, on the
same board in the same process, is still disclosure-controlled (and the reverse)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metrics.board import open_board
from metrics.exports.content import board_pack_content, deck_content

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def board():
    return open_board(ROOT / "config")


def public_count_is_safe(text: str) -> bool:
    """A count shown publicly is '*', 0 or a multiple of 5 (nhs_secondary_care)."""
    if text.strip() in {"*", "0", "–", ""}:
        return True
    digits = re.sub(r"[^\d.]", "", text.split()[0]) if text.split() else ""
    if not digits or "." in digits:
        return True  # a percentage, rate or money figure: not a count
    return int(digits) % 5 == 0


@pytest.mark.parametrize("order", [("board", "public"), ("public", "board")])
def test_public_and_board_views_do_not_leak_through_caches(board, order):
    packs = {audience: board_pack_content(board, audience) for audience in order}
    decks = {audience: deck_content(board, audience) for audience in order}
    assert packs["public"] is not packs["board"] and decks["public"] is not decks["board"]
    public = {line.metric_id: line for line in packs["public"].spc_summary if line.latest_is_count}
    board_lines = {line.metric_id: line for line in packs["board"].spc_summary}
    assert public, "the summary has whole-area counts"
    # Public: every whole-area count is controlled ('*', 0 or a multiple of 5).
    assert all(public_count_is_safe(line.latest) for line in public.values())
    # Board: the same counts exact (the board policy leaves whole-area totals unrounded), so
    # at least one differs from its public form, whichever view was computed first.
    differs = [m for m, line in public.items() if board_lines[m].latest != line.latest]
    assert differs
    assert not all(public_count_is_safe(board_lines[m].latest) for m in public)


def test_memo_keys_carry_the_audience(board):
    deck_content(board, "public")
    deck_content(board, "board")
    keys = [k for k in board._memo if isinstance(k, tuple) and k[:2] == ("exports", "deck")]
    assert {k[2] for k in keys} == {"public", "board"}
