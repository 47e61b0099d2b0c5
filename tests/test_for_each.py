"""Parameterised metrics (issue 15, requirement 6): one definition with `for_each`, one
metric per value (written, or read from the data), each with its own id, title, page and
rows; problems in the definition are reported once, at its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from metrics.board import open_board
from metrics.sql.compiler import for_each_condition
from metrics.validation import load_config, validate_config
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]

PER_KIND = """\
  - id: kind_count
    title: "Events of kind {label}"
    domain: access
    source: events
    measure: count
    unit: events
    better: down
    for_each: {column: kind, values: [a, b], labels: {a: Alpha}}
"""
PER_NEIGHBOURHOOD = """\
  - id: by_lcn
    title: Events
    domain: access
    source: events
    measure: count
    unit: events
    better: down
    for_each: {column: lcn, values_from: data}
"""


def add(config, text: str) -> None:
    path = config / "metrics" / "all.yaml"
    path.write_text(path.read_text() + text)


def test_written_values_make_one_metric_each(mini):
    add(mini, PER_KIND)
    loaded = load_config(mini)
    assert not loaded.issues
    metrics = loaded.catalogue.metrics
    assert "kind_count" not in metrics
    assert metrics["kind_count_a"].title == "Events of kind Alpha"
    assert metrics["kind_count_b"].title == "Events of kind b"
    assert loaded.catalogue.expanded_from == {
        "kind_count_a": "kind_count",
        "kind_count_b": "kind_count",
    }
    # Both point at the definition's line.
    assert loaded.catalogue.origins["kind_count_a"] == loaded.catalogue.origins["kind_count_b"]
    assert loaded.catalogue.origins["kind_count_a"].line == 37


def test_each_metric_counts_its_own_rows(mini):
    add(mini, PER_KIND)
    board = open_board(mini)
    a = board.series("kind_count_a").frame.set_index("month")["value"]
    b = board.series("kind_count_b").frame.set_index("month")["value"]
    every = board.series("count_a").frame.set_index("month")["value"]  # count_a: kind = 'a'
    assert a.dropna().tolist() == every.dropna().tolist()
    assert b.dropna().tolist() == [1.0, 1.0, 1.0]  # e3 Jan, e5 Mar, e6 Apr
    condition = for_each_condition(
        board.catalogue.metrics["kind_count_b"], board.catalogue.sources["events"]
    )
    assert condition.sql() == "\"kind\" = 'b'"  # a tree with a literal, never spliced text


def test_values_from_the_data_are_read_when_it_is_loaded(mini):
    add(mini, PER_NEIGHBOURHOOD)
    loaded = load_config(mini)
    assert "by_lcn" in loaded.catalogue.templates and "by_lcn" not in loaded.catalogue.metrics
    report = validate_config(mini)
    assert report.errors == []
    assert {"by_lcn_north", "by_lcn_south"} <= set(report.catalogue.metrics)
    assert report.catalogue.metrics["by_lcn_south"].title == "Events: South"
    assert report.counts.words() == "11 metric(s) valid"  # 9 + North and South
    board = open_board(mini)
    assert board.series("by_lcn_north").frame["value"].sum() == 4


def test_definition_problems_are_reported_once_with_line(mini):
    add(
        mini,
        PER_KIND.replace("values: [a, b]", "values: [a, c]").replace(
            "better: down", "better: down\n    breakdowns: [lcnn]"
        ),
    )
    loaded = load_config(mini)
    found = {(i.field, i.line) for i in loaded.issues if i.is_error}
    assert found == {
        ("metrics[kind_count].for_each.values.1", 45),
        ("metrics[kind_count].breakdowns.0", 44),
    }
    value = next(i for i in loaded.issues if "'c'" in i.message)
    assert "'c' is not a value of 'kind'" in value.message and "values: a, b" in value.hint
    assert not any(m.startswith("kind_count") for m in loaded.catalogue.metrics)


def test_an_unknown_column_and_a_clashing_id_are_errors(mini):
    add(mini, PER_KIND.replace("column: kind", "column: knd"))
    (issue,) = [i for i in load_config(mini).issues if i.is_error]
    assert (
        issue.field == "metrics[kind_count].for_each.column" and "did you mean 'kind'" in issue.hint
    )
    clash = PER_KIND.replace("id: kind_count", "id: count")
    mini_all = mini / "metrics" / "all.yaml"
    mini_all.write_text(
        mini_all.read_text().replace(PER_KIND.replace("column: kind", "column: knd"), clash)
    )
    issues = [i for i in load_config(mini).issues if i.is_error]
    assert any(
        "gives the metric id 'count_a', which another metric already has" in i.message
        for i in issues
    )


def test_values_or_values_from_is_required(mini):
    add(mini, PER_KIND.replace(", values: [a, b], labels: {a: Alpha}", ""))
    (issue,) = [i for i in load_config(mini).issues if i.is_error]
    assert "for_each needs values: [...] or values_from: data" in issue.message
    assert issue.line == 44


def test_each_value_has_its_own_page(mini, monkeypatch):
    add(mini, PER_KIND)
    shutil.copy(ROOT / "config" / "access.yaml", mini / "access.yaml")
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(mini))
    app = run_page("pages/metric.py", metric="kind_count_b")
    assert app.title[0].value == "Events of kind b"
