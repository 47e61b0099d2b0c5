"""Data tests in YAML (issue 15, requirement 6): not null, unique, every group every month,
accepted values and ranges, on a source or a metric, run by `validate` (and every load)
as query trees, each failure reported at the test's own file and line with the rows."""

from __future__ import annotations

import pytest

from metrics.board import open_board
from metrics.sql import data_tests
from metrics.validation import load_config, validate_config

# events.csv (mini): e1 Jan a North, e2 Jan a South, e3 Jan b North, e4 Mar a North,
# e5 Mar b South (flag blank), e6 Apr b North; days 3, 10, 5, 7, 1, 2.
SOURCE_TESTS = """\
    tests:
      - {test: not_null, columns: [kind, flag]}
      - {test: unique, columns: [kind, lcn]}
      - {test: every_month, by: kind}
      - {test: accepted_values, column: lcn, values: [North]}
      - {test: range, column: days, max: 5, level: warning}
"""


def with_source_tests(config, text: str = SOURCE_TESTS) -> None:
    path = config / "sources.yaml"
    source = path.read_text()
    anchor = "      days: {type: integer, min: 0}\n"
    path.write_text(source.replace(anchor, anchor + text, 1))


def found(issues, where: str):
    matches = [i for i in issues if i.field == where]
    assert matches, [i.format_text() for i in issues]
    return matches[0]


def test_each_failing_source_test_is_reported_at_its_line(mini):
    with_source_tests(mini)
    report = validate_config(mini)
    null = found(report.issues, "sources[events].tests[0]")
    assert null.file == "config/sources.yaml" and null.line == 17 and null.is_error
    assert "blank cells: 1 in 'flag' (e.g. id=e5)" in null.message
    unique = found(report.issues, "sources[events].tests[1]")
    assert "2 combination(s) appear more than once" in unique.message
    assert "kind=a, lcn=North (2 rows)" in unique.message
    every = found(report.issues, "sources[events].tests[2]")
    assert every.line == 19
    assert "3 group-month(s) of Jan 2024 to Apr 2024 have no rows" in every.message
    assert "kind=a in Feb 2024" in every.message and "kind=a in Apr 2024" in every.message
    accepted = found(report.issues, "sources[events].tests[3]")
    assert "2 row(s) hold other values: 'South' (2 rows)" in accepted.message
    ranged = found(report.issues, "sources[events].tests[4]")
    assert ranged.level == "warning"
    assert "2 row(s) outside it (e.g. id=e2, days=10; id=e4, days=7)" in ranged.message


def test_passing_tests_say_nothing(mini):
    with_source_tests(
        mini,
        "    tests:\n"
        "      - {test: not_null, columns: [id, kind]}\n"
        "      - {test: unique, columns: [id]}\n"
        "      - {test: accepted_values, column: kind, values: [a, b]}\n"
        "      - {test: range, column: days, min: 0, max: 10}\n",
    )
    report = validate_config(mini)
    assert not [i for i in report.issues if ".tests[" in i.field]


def test_metric_tests_run_on_its_rows_and_monthly_values(mini, edit):
    path = mini / "metrics" / "all.yaml"
    edit(
        path,
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], tests: [{test: range, max: 1}, "
        "{test: every_month, by: lcn, level: warning}]}",
    )
    report = validate_config(mini)
    ranged = found(report.issues, "metrics[count_a].tests[0]")
    assert ranged.line == 2 and ranged.is_error
    assert (
        "data test range of the monthly value (at most 1): 1 month(s) outside it" in ranged.message
    )
    assert "Jan 2024: 2" in ranged.message
    every = found(report.issues, "metrics[count_a].tests[1]")
    # count_a's rows (kind a): Jan North and South, Mar North.
    assert every.level == "warning"
    assert "3 group-month(s) of Jan 2024 to Mar 2024" in every.message
    assert "lcn=South in Mar 2024" in every.message


def test_tests_naming_unknown_columns_are_reference_errors(mini):
    with_source_tests(mini, "    tests:\n      - {test: every_month, by: [kindd]}\n")
    issue = next(i for i in load_config(mini).issues if i.is_error)
    assert issue.stage == "references" and issue.line == 17
    assert "unknown column 'kindd'" in issue.message and issue.hint == "did you mean 'kind'?"


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ("{test: not_null}", "test not_null needs columns"),
        ("{test: accepted_values, values: [a]}", "test accepted_values needs column"),
        ("{test: range, column: days}", "test range needs min, max or both"),
        ("{test: everymonth}", "'everymonth' is not allowed here"),
    ],
)
def test_incomplete_tests_are_schema_errors(mini, test, message):
    with_source_tests(mini, f"    tests:\n      - {test}\n")
    issue = next(i for i in load_config(mini).issues if i.is_error)
    assert message in issue.message and issue.line == 17


def test_queries_are_trees_never_text(mini, monkeypatch):
    """Every query a test runs reaches the warehouse as a sqlglot tree (Warehouse.select)."""
    with_source_tests(mini)
    board = open_board(mini)
    seen = []
    original = board.warehouse.select

    def select(query, *, label):
        seen.append(type(query).__name__)
        return original(query, label=label)

    monkeypatch.setattr(board.warehouse, "select", select)
    data_tests.run_data_tests(board.catalogue, board.warehouse)
    assert seen and set(seen) <= {"Select"}
