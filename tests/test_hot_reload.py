"""Hot reload: edits are picked up without a restart, and a broken edit never replaces a
working board (the last good state keeps serving, with the problems reported)."""

from __future__ import annotations

import os

from metrics.board import BoardHolder


def touch_later(path) -> None:
    """Make sure the edit changes the file's mtime even on coarse clocks."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_valid_edit_is_picked_up(mini, edit):
    holder = BoardHolder(mini)
    assert holder.current().board.catalogue.metrics["count_a"].title == "Count of a"
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: Count of type a,")
    touch_later(path)
    state = holder.current()
    assert state.board.catalogue.metrics["count_a"].title == "Count of type a"
    assert not state.serving_last_good


def test_broken_config_keeps_the_last_good_board(mini, edit):
    holder = BoardHolder(mini)
    good = holder.current().board
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: [Count of a,")
    touch_later(path)
    state = holder.current()
    assert state.board is good
    assert state.serving_last_good
    assert any(
        "YAML syntax error" in i.message and i.file.endswith("all.yaml")
        for i in state.pending_issues
    )
    # fixing the file restores normal service
    edit(path, "title: [Count of a,", "title: Count of a again,")
    touch_later(path)
    state = holder.current()
    assert not state.serving_last_good
    assert state.board.catalogue.metrics["count_a"].title == "Count of a again"


def test_broken_data_file_keeps_the_last_good_board(mini, edit):
    holder = BoardHolder(mini)
    good = holder.current().board
    data = mini.parent / "data" / "events.csv"
    edit(data, "e6,2024-04-01", "e6,2024-04-31")
    touch_later(data)
    state = holder.current()
    assert state.board is good and state.serving_last_good
    assert any("'2024-04-31' is not a date" in i.message for i in state.pending_issues)
    assert state.board.series("count_a").frame["value"].notna().any()


def test_first_load_with_errors_serves_what_is_valid(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "source: events, measure: count",
        "source: evnts, measure: count",
    )
    state = BoardHolder(mini).current()
    assert not state.serving_last_good
    assert "count_a" not in state.board.catalogue.metrics
    assert "sum_days" in state.board.catalogue.metrics
    assert state.board.errors
