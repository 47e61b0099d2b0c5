"""Messages that finish the job (issue 15, requirements 1, 2 and 6): one mistake is one
message with file, line and a fix; every problem of a run is reported in that run; the
summary says how many metrics are valid, have errors, or wait for a source with errors;
a duplicate id never replaces the definition being served."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.editing import validate_candidate
from metrics.serving import BoardHolder
from metrics.validation import load_config, validate_config

ROOT = Path(__file__).resolve().parents[1]


def errors(report_or_load) -> list:
    return [i for i in report_or_load.issues if i.is_error]


def touch_later(path: Path, seconds: float = 5) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + int(seconds * 1e9)))


# ----------------------------------------------------------------------------- paths


def test_a_config_copied_elsewhere_gives_one_error_at_data_dir(mini, tmp_path, monkeypatch):
    monkeypatch.delenv("ALLIANCE_DATA_DIR", raising=False)
    elsewhere = tmp_path / "elsewhere" / "config"
    shutil.copytree(mini, elsewhere)  # the config alone: data_dir ../data points nowhere
    report = validate_config(elsewhere)
    (issue,) = errors(report)
    assert issue.file.endswith("sources.yaml") and issue.line == 1 and issue.field == "data_dir"
    assert "data folder not found" in issue.message
    assert str(elsewhere.parent / "data") in issue.message
    assert "relative to the config folder" in issue.message
    assert "ALLIANCE_DATA_DIR" in issue.hint
    assert (report.counts.valid, report.counts.with_errors, report.counts.waiting) == (0, 0, 9)
    assert report.counts.words() == "0 metric(s) valid, 9 waiting for a source with errors"


def test_alliance_data_dir_wins_and_a_wrong_one_is_named(mini, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere" / "config"
    shutil.copytree(mini, elsewhere)
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(mini.parent / "data"))
    assert errors(validate_config(elsewhere)) == []
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(tmp_path / "nowhere"))
    (issue,) = errors(validate_config(elsewhere))
    assert "ALLIANCE_DATA_DIR" in issue.message and str(tmp_path / "nowhere") in issue.message


def test_data_dir_is_relative_to_the_config_folder_not_the_working_folder(mini, tmp_path):
    """As the docs say: `python -m metrics validate CONFIG_DIR` from anywhere."""
    env = {k: v for k, v in os.environ.items() if k != "ALLIANCE_DATA_DIR"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "validate", str(mini)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"9 metric(s) valid in {mini}" in done.stdout


def test_a_folder_holding_none_of_the_files_is_one_error(mini, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(empty))
    (issue,) = errors(validate_config(mini))
    assert "none of the 3 source files is in the data folder" in issue.message


# ----------------------------------------------------------------------------- YAML traps


def test_codes_read_as_numbers_are_one_message_each_with_the_fix(mini, edit):
    edit(mini / "sources.yaml", "values: [a, b]", "values: [1, 2, other]")
    report = validate_config(mini)
    found = errors(report)
    assert [i.field for i in found] == [
        "sources[events].columns.kind.values.0",
        "sources[events].columns.kind.values.1",
    ]
    assert found[0].message == "expected text, got '1'"
    assert "write '1' in quotes" in found[0].hint
    # No follow-on "unknown source 'events'" at the metrics on it: they wait for it.
    assert not any("unknown source" in i.message for i in report.issues)
    assert (report.counts.valid, report.counts.with_errors, report.counts.waiting) == (2, 0, 7)


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("01", "YAML reads 01 as the number 1, losing the leading zero: write '01' in quotes"),
        ("No", "YAML reads No as false: write 'No' in quotes"),
        ("2024-04-01", "YAML reads 2024-04-01 as a date: write '2024-04-01' in quotes"),
    ],
)
def test_yaml_traps_say_what_yaml_did(mini, edit, written, hint):
    edit(mini / "sources.yaml", "values: [a, b]", f"values: [{written}, b]")
    (issue,) = errors(load_config(mini))
    assert issue.hint.startswith(hint)
    assert written in issue.message


def test_tabs_and_indentation_get_a_hint(mini, edit):
    edit(mini / "board.yaml", "lcns: [North, South]", "lcns: [North, South]\n\tx: 1")
    (issue,) = errors(load_config(mini))
    assert issue.line == 4 and "tabs" in issue.hint
    edit(mini / "board.yaml", "\tx: 1", "   x: 1")
    (issue,) = errors(load_config(mini))
    assert "indentation" in issue.hint or "quotes" in issue.hint


def test_a_text_column_compared_with_a_number_is_found_before_any_data_is_read(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "filter: \"kind = 'a'\", unit: events",
        "filter: kind = 1, unit: events",
    )
    (issue,) = errors(load_config(mini))
    assert issue.field == "metrics[count_a].filter" and issue.line == 2
    assert "text column 'kind' with the number 1" in issue.message
    assert "kind = '1'" in issue.hint


# ----------------------------------------------------------------------------- one run


BROKEN = """\
  - id: broken
    title: Broken
    domain: access
    source: events
    measure: sum
    value: dayz
    breakdowns: [lcnn]
    filter: "knd = 'a'"
    unit: x
    better: upwards
    targt: 3
"""


def test_every_problem_of_one_metric_in_one_run(mini):
    path = mini / "metrics" / "all.yaml"
    path.write_text(path.read_text() + BROKEN)
    report = validate_config(mini)
    fields = sorted(i.field for i in errors(report))
    assert fields == [
        "metrics[broken].better",
        "metrics[broken].breakdowns.0",
        "metrics[broken].filter",
        "metrics[broken].targt",
        "metrics[broken].value",
    ]
    assert "broken" not in report.catalogue.metrics
    assert report.counts.words() == "9 metric(s) valid, 1 with errors"


def test_a_broken_framework_is_one_message_not_one_per_metric(mini, edit):
    edit(mini / "framework.yaml", "kind: system", "kind: [system")
    found = errors(load_config(mini))
    assert len(found) == 1 and found[0].stage == "parse"


def test_a_broken_intervention_is_not_reported_again_at_its_metrics(mini, edit):
    edit(mini / "interventions.yaml", "start: 2024-03}", "start: 2024-13}")
    path = mini / "metrics" / "all.yaml"
    edit(path, "unit: things, better: up}", "unit: things, better: up, spc: {rebase_at: [change]}}")
    loaded = load_config(mini)
    assert [i.file.rsplit("/", 1)[-1] for i in errors(loaded)] == ["interventions.yaml"]
    assert loaded.waiting == {"sum_x": "interventions.yaml"}


def test_the_summary_counts_every_metric(mini):
    path = mini / "metrics" / "all.yaml"
    path.write_text(
        path.read_text()
        + BROKEN.replace("id: broken", "id: one")
        + BROKEN.replace("id: broken", "id: two")
    )
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "validate", str(mini)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.strip().endswith(f"9 metric(s) valid, 2 with errors in {mini}")


# ----------------------------------------------------------------------------- duplicates


NEW_FILE = (
    "metrics:\n  - {id: count_a, title: Replacement, domain: access, source: events, "
    "measure: count, unit: events, better: down}\n"
)


def test_a_duplicate_in_a_new_file_that_sorts_first_never_replaces_the_live_one(mini):
    new = mini / "metrics" / "aaa.yaml"  # sorts before all.yaml
    new.write_text(NEW_FILE)
    touch_later(new)
    loaded = load_config(mini)
    both = [i for i in loaded.issues if "duplicate metric id 'count_a'" in i.message]
    assert sorted((i.file.rsplit("/", 1)[-1], i.line) for i in both) == [
        ("aaa.yaml", 2),
        ("all.yaml", 2),
    ]
    assert all(i.is_error and i.hint for i in both)
    at_new = next(i for i in both if i.file.endswith("aaa.yaml"))
    assert "all.yaml:2" in at_new.message and "not served" in at_new.message
    assert loaded.catalogue.metrics["count_a"].title == "Count of a"
    assert loaded.catalogue.origins["count_a"].file.endswith("all.yaml")


def test_the_site_keeps_serving_the_earlier_definition(mini):
    holder = BoardHolder(mini, background=False, check_interval=0)
    served = holder.current().board
    new = mini / "metrics" / "aaa.yaml"
    new.write_text(NEW_FILE)
    touch_later(new)
    state = holder.current()
    assert state.board is served and state.serving_last_good
    assert state.board.catalogue.metrics["count_a"].title == "Count of a"
    assert sum("duplicate metric id" in i.message for i in state.pending_issues) == 2
    # A fresh start (no board served yet) keeps the earlier one too.
    fresh = BoardHolder(mini, background=False, check_interval=0).current().board
    assert fresh.catalogue.metrics["count_a"].title == "Count of a"


def test_the_editor_keeps_the_definition_on_disk(mini):
    new = mini / "metrics" / "aaa.yaml"
    check = validate_candidate(mini, new, NEW_FILE)
    assert [i.field for i in check.errors] == ["metrics[count_a].id"]
    assert "not served" in check.errors[0].message
    assert check.loaded.catalogue.metrics["count_a"].title == "Count of a"
