"""The editor checks its text on every run: the same text against the same files is
checked once, and any change to the text, a definition file or a data file is checked
afresh (an answer is never served from before a change)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from metrics.editing import locate_metric, validate_candidate


def touch_later(path: Path) -> None:
    """Change a file's modification time (and so its fingerprint) without waiting."""
    later = time.time() + 5
    os.utime(path, (later, later))


def test_the_same_text_is_checked_once(mini: Path) -> None:
    location = locate_metric(mini, "pct_flag")
    first = validate_candidate(mini, location.path, location.file_text)
    again = validate_candidate(mini, location.path, location.file_text)
    assert again is first


def test_another_text_is_checked_afresh(mini: Path) -> None:
    location = locate_metric(mini, "count_a")
    first = validate_candidate(mini, location.path, location.file_text)
    broken = location.file_text.replace("better:", "betterr:", 1)
    assert broken != location.file_text
    second = validate_candidate(mini, location.path, broken)
    assert second is not first
    assert second.errors and not first.errors


def test_a_changed_definition_file_is_checked_afresh(mini: Path) -> None:
    location = locate_metric(mini, "pct_flag")
    first = validate_candidate(mini, location.path, location.file_text)
    touch_later(mini / "board.yaml")
    assert validate_candidate(mini, location.path, location.file_text) is not first


def test_a_changed_data_file_is_checked_afresh(mini: Path) -> None:
    location = locate_metric(mini, "pct_flag")
    first = validate_candidate(mini, location.path, location.file_text)
    data = mini.parent / "data" / "events.csv"
    assert data.is_file()
    touch_later(data)
    assert validate_candidate(mini, location.path, location.file_text) is not first


def test_a_save_checks_afresh(mini: Path) -> None:
    location = locate_metric(mini, "pct_flag")
    first = validate_candidate(mini, location.path, location.file_text)
    assert validate_candidate(mini, location.path, location.file_text, fresh=True) is not first
