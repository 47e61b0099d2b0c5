"""Safe editing: locate a metric's lines, validate candidates, atomic save with history,
conflict detection and restore."""

from __future__ import annotations

import pytest

from metrics.drafting import append_item, new_metric_item, slug
from metrics.editing import (
    ConflictError,
    InvalidDefinitionError,
    atomic_write,
    history,
    locate_metric,
    replace_lines,
    restore,
    save_file,
    text_hash,
    unified_diff,
    validate_candidate,
)


def test_locate_metric_finds_its_lines(mini):
    location = locate_metric(mini, "pct_flag")
    assert location is not None and location.path.name == "all.yaml"
    assert location.item_text.startswith("  - id: pct_flag")
    assert location.item_text.rstrip().endswith("better: up")
    assert locate_metric(mini, "nope") is None


def test_replacing_an_item_keeps_the_rest_of_the_file(mini):
    location = locate_metric(mini, "pct_flag")
    new = replace_lines(location.file_text, location.start_line, location.end_line, "  - id: x\n")
    assert "id: count_a" in new and "id: rate_a" in new and "id: pct_flag" not in new


def test_candidate_validation_reports_the_edited_files_own_issues(mini):
    location = locate_metric(mini, "count_a")
    bad = location.item_text.replace("better: down", "better: lower")
    candidate = replace_lines(location.file_text, location.start_line, location.end_line, bad)
    check = validate_candidate(mini, location.path, candidate)
    assert [i.field for i in check.errors] == ["metrics[count_a].better"]
    # count_a still exists (with an error of its own): the slide that shows it is not
    # reported as naming an unknown metric too (one mistake, one message).
    assert check.caused == []
    assert not check.serves
    assert check.before == []
    assert location.path.read_text() == location.file_text  # nothing on disk changed


def test_invalid_save_is_refused_and_the_file_untouched(mini):
    location = locate_metric(mini, "count_a")
    bad = replace_lines(location.file_text, location.start_line, location.end_line, "  - id: [\n")
    with pytest.raises(InvalidDefinitionError) as refused:
        save_file(mini, location.path, bad, expected_hash=location.file_hash)
    assert refused.value.issues and refused.value.issues[0].line > 0
    assert location.path.read_text() == location.file_text
    assert history(mini, location.path) == []


def test_valid_save_keeps_history_and_restore_brings_it_back(mini):
    location = locate_metric(mini, "count_a")
    new = location.file_text.replace("title: Count of a,", "title: Count of type a,")
    previous = save_file(mini, location.path, new, expected_hash=location.file_hash).previous
    assert location.path.read_text() == new
    versions = history(mini, location.path)
    assert [v.path for v in versions] == [previous.path]
    assert versions[0].path.read_text() == location.file_text
    restore(mini, location.path, versions[0], expected_hash=text_hash(new))
    assert location.path.read_text() == location.file_text
    assert len(history(mini, location.path)) == 2


def test_conflicting_edit_is_detected(mini):
    location = locate_metric(mini, "count_a")
    someone_else = location.file_text.replace("title: Count of a,", "title: Their title,")
    location.path.write_text(someone_else)
    mine = location.file_text.replace("title: Count of a,", "title: My title,")
    with pytest.raises(ConflictError) as conflict:
        save_file(mini, location.path, mine, expected_hash=location.file_hash)
    assert "Their title" in conflict.value.current_text
    assert location.path.read_text() == someone_else


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "file.yaml"
    atomic_write(target, "a: 1\n")
    atomic_write(target, "a: 2\n")
    assert target.read_text() == "a: 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["file.yaml"]


def test_new_metric_item_is_valid_yaml_that_validates(mini):
    path = mini / "metrics" / "all.yaml"
    original = path.read_text()
    item = new_metric_item(
        metric_id=slug("Share flagged", set()),
        title="Share flagged",
        domain="outcomes",
        source="events",
        measure="ratio",
        unit="",
        better="up",
        numerator_filter="flag",
        breakdowns=["lcn"],
    )
    check = validate_candidate(mini, path, append_item(original, item))
    assert check.errors == [] and check.caused_errors == []


def test_slug_is_unique_and_valid():
    assert slug("Referrals (per 100,000)", set()) == "referrals_per_100_000"
    assert slug("Referrals", {"referrals"}) == "referrals_2"
    assert slug("2024 waits", set()).startswith("m_")


def test_diff_shows_the_change():
    assert "+b: 2" in unified_diff("a: 1\n", "a: 1\nb: 2\n", "x.yaml")
