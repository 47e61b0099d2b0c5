"""Hot reload: edits are picked up without a restart, and a broken edit never replaces a
working board (the last good state keeps serving, with the problems reported)."""

from __future__ import annotations

import os

from metrics.serving import BoardHolder


def touch_later(path) -> None:
    """Make sure the edit changes the file's mtime even on coarse clocks."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_valid_edit_is_picked_up(mini, edit):
    holder = BoardHolder(mini, background=False, check_interval=0)
    assert holder.current().board.catalogue.metrics["count_a"].title == "Count of a"
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: Count of type a,")
    touch_later(path)
    state = holder.current()
    assert state.board.catalogue.metrics["count_a"].title == "Count of type a"
    assert not state.serving_last_good


def test_broken_config_keeps_the_last_good_board(mini, edit):
    holder = BoardHolder(mini, background=False, check_interval=0)
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
    holder = BoardHolder(mini, background=False, check_interval=0)
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
    state = BoardHolder(mini, background=False, check_interval=0).current()
    assert not state.serving_last_good
    assert "count_a" not in state.board.catalogue.metrics
    assert "sum_days" in state.board.catalogue.metrics
    assert state.board.errors


# --------------------------------------------------------------------------- off the request path


def test_a_change_is_loaded_in_the_background_while_the_old_board_serves(mini, edit):
    holder = BoardHolder(mini, background=True, check_interval=0)
    good = holder.current().board
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: Count of type a,")
    touch_later(path)
    during = holder.current()
    # The request that noticed the change is answered at once, from the board being served.
    assert during.board is good
    assert during.reloading
    assert holder.wait_for_reload(timeout=120)
    after = holder.current()
    assert after.board is not good
    assert after.board.catalogue.metrics["count_a"].title == "Count of type a"
    assert not after.reloading
    # The new board reads a warehouse another process loaded, read-only.
    assert after.board.series("count_a").frame["value"].notna().any()


def test_a_broken_change_loaded_in_the_background_keeps_the_last_good_board(mini, edit):
    holder = BoardHolder(mini, background=True, check_interval=0)
    good = holder.current().board
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: [Count of a,")
    touch_later(path)
    holder.current()
    assert holder.wait_for_reload(timeout=120)
    state = holder.current()
    assert state.board is good and state.serving_last_good
    assert any("YAML syntax error" in i.message for i in state.pending_issues)


def test_a_reload_past_its_time_limit_is_stopped_and_the_board_keeps_serving(
    mini, edit, monkeypatch
):
    holder = BoardHolder(mini, background=True, check_interval=0)
    good = holder.current().board
    monkeypatch.setenv("ALLIANCE_MAX_RELOAD_SECONDS", "0.001")
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: Count of type a,")
    touch_later(path)
    holder.current()
    assert holder.wait_for_reload(timeout=120)
    state = holder.current()
    assert state.board is good and state.serving_last_good
    (issue,) = state.pending_issues
    assert "took longer than 0.001 s and was stopped" in issue.message


def test_too_many_metrics_is_an_error_naming_the_limit(mini, monkeypatch):
    from metrics.validation import load_config

    monkeypatch.setenv("ALLIANCE_MAX_METRICS", "3")
    loaded = load_config(mini)
    (issue,) = [i for i in loaded.issues if "the site serves at most 3" in i.message]
    assert issue.is_error and issue.file.endswith("all.yaml") and issue.line > 0
    assert "ALLIANCE_MAX_METRICS" in issue.hint
    assert loaded.catalogue.metrics == {}


def test_an_oversized_configuration_file_is_refused_before_it_is_parsed(mini, monkeypatch):
    from metrics.validation import load_config

    monkeypatch.setenv("ALLIANCE_MAX_CONFIG_FILE_KB", "1")
    path = mini / "metrics" / "all.yaml"
    path.write_text(path.read_text() + "\n#" + "x" * 2048 + "\n")
    issues = load_config(mini).issues
    (issue,) = [i for i in issues if "configuration files may be at most 1 KB" in i.message]
    assert issue.file.endswith("all.yaml") and issue.is_error


def test_refused_sql_in_a_reloaded_definition_is_written_to_the_audit_log(
    mini, edit, _audit_log_in_tmp
):
    import json

    holder = BoardHolder(mini, background=False, check_interval=0)
    holder.current()
    path = mini / "metrics" / "all.yaml"
    edit(path, "filter: \"kind = 'a'\"", 'filter: "EXISTS (SELECT * FROM src_events)"')
    touch_later(path)
    state = holder.current()
    assert state.serving_last_good
    entries = [json.loads(line) for line in _audit_log_in_tmp.read_text().splitlines()]
    (entry,) = [e for e in entries if e["action"] == "refused_sql"]
    assert entry["field"] == "metrics[count_a].filter"
    assert "subquery" in entry["reason"] and entry["what"].startswith("config/metrics/all.yaml:")


def test_a_reloaded_board_is_warmed_with_the_sites_own_steps_too(mini, edit):
    """The start-up warm's further steps (the site's charts of the default views, the
    editor's checks) run on every board a reload installs, not only the first."""
    holder = BoardHolder(mini, background=True, check_interval=0)
    first = holder.current().board
    warmed = []
    holder.more_warm = (("counting", warmed.append),)
    path = mini / "metrics" / "all.yaml"
    edit(path, "title: Count of a,", "title: Count of type a,")
    touch_later(path)
    holder.current()
    assert holder.wait_for_reload(timeout=120)
    reloaded = holder.current().board
    assert reloaded is not first
    assert warmed == [reloaded]
