"""The board's shared memo: one computation per key however many sessions ask at once."""

from __future__ import annotations

import threading

import pytest

from metrics.board import SharedMemo


def test_concurrent_callers_of_one_key_share_one_computation():
    memo = SharedMemo()
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        started.set()
        release.wait(timeout=30)
        return "figure"

    results: list[str] = []
    owner = threading.Thread(target=lambda: results.append(memo.get("k", compute)))
    owner.start()
    assert started.wait(timeout=30)
    waiters = [
        threading.Thread(target=lambda: results.append(memo.get("k", compute))) for _ in range(5)
    ]
    for thread in waiters:
        thread.start()
    release.set()
    for thread in [owner, *waiters]:
        thread.join(timeout=30)
    assert results == ["figure"] * 6
    assert len(calls) == 1


def test_an_error_is_shared_with_waiters_and_not_kept():
    memo = SharedMemo()

    def fail() -> str:
        raise ValueError("no data")

    with pytest.raises(ValueError, match="no data"):
        memo.get("k", fail)
    assert memo.get("k", lambda: "later") == "later"


def test_the_least_recently_used_entries_go_first():
    memo = SharedMemo(capacity=2)
    memo.get("a", lambda: 1)
    memo.get("b", lambda: 2)
    memo.get("a", lambda: 99)  # used again: now the most recent
    memo.get("c", lambda: 3)
    assert sorted(memo) == ["a", "c"]
    assert memo.get("b", lambda: 20) == 20  # computed again
