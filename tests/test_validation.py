"""Every kind of validation problem is found, located (file, line, field) and explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.cli import main
from metrics.validation import load_config, validate_config


def only(issues, text, file=""):
    found = [i for i in issues if text in i.message and i.file.endswith(file)]
    assert found, f"no issue mentioning {text!r} in {[i.format_text() for i in issues]}"
    return found[0]


def metrics_file(config: Path) -> Path:
    return config / "metrics" / "all.yaml"


def test_the_fixture_is_valid(mini):
    report = validate_config(mini)
    assert report.errors == []
    assert len(report.catalogue.metrics) == 9


# ----------------------------------------------------------------------------- parse


def test_yaml_syntax_error_has_line_and_column(mini, edit):
    edit(mini / "board.yaml", "title: Mini board", "title: [Mini board")
    issue = only(load_config(mini).issues, "YAML syntax error")
    assert issue.stage == "parse" and issue.file.endswith("board.yaml")
    assert issue.line == 2 and issue.column > 0


def test_duplicate_yaml_key_is_reported(mini, edit):
    edit(mini / "board.yaml", "title: Mini board", "title: Mini board\ntitle: Again")
    issue = only(load_config(mini).issues, "appears twice")
    assert issue.line == 2


def test_missing_metrics_folder_is_an_error(mini):
    for path in (mini / "metrics").glob("*.yaml"):
        path.unlink()
    assert only(load_config(mini).issues, "no metric files").is_error


# ----------------------------------------------------------------------------- schema


def test_unknown_field_suggests_the_right_one(mini, edit):
    edit(metrics_file(mini), "unit: events, better: down", "unti: events, better: down")
    issues = load_config(mini).issues
    unknown = only(issues, "unknown field 'unti'")
    assert unknown.hint == "did you mean 'unit'?"
    assert unknown.line == 2 and unknown.field == "metrics[count_a].unti"
    assert only(issues, "'unit' is required").field == "metrics[count_a].unit"


def test_bad_choice_lists_the_allowed_values(mini, edit):
    edit(metrics_file(mini), "unit: days, better: down}", "unit: days, better: lower}")
    issue = only(load_config(mini).issues, "'lower' is not allowed here")
    assert "up, down, neutral" in issue.message
    assert issue.field == "metrics[sum_days].better"


def test_bad_measure_suggests_the_closest(mini, edit):
    edit(metrics_file(mini), "measure: median", "measure: medain")
    issue = only(load_config(mini).issues, "'medain' is not a measure")
    assert issue.hint == "did you mean 'median'?"


def test_bad_id_is_explained(mini, edit):
    edit(metrics_file(mini), "id: count_a", "id: Count-A")
    assert "lower_snake_case" in only(load_config(mini).issues, "not a valid id").message


def test_bad_month_is_explained(mini, edit):
    edit(mini / "interventions.yaml", "start: 2024-03}", "start: 2024-13}")
    issue = only(load_config(mini).issues, "month 13")
    assert issue.file.endswith("interventions.yaml") and issue.line == 2


def test_wrong_type_is_explained(mini, edit):
    edit(metrics_file(mini), "breakdowns: [lcn]}", "breakdowns: lcn}")
    assert only(load_config(mini).issues, "expected list").field == "metrics[count_a].breakdowns"


def test_one_broken_metric_does_not_hide_the_others(mini, edit):
    edit(metrics_file(mini), "unit: events, better: down", "unit: events, better: sideways")
    loaded = load_config(mini)
    assert "count_a" not in loaded.catalogue.metrics
    assert "sum_days" in loaded.catalogue.metrics


# ----------------------------------------------------------------------------- references


def test_duplicate_metric_id_names_the_first_definition(mini):
    (mini / "metrics" / "more.yaml").write_text(
        "metrics:\n  - {id: count_a, title: Again, domain: access, source: events, "
        "measure: count, unit: events, better: down}\n"
    )
    loaded = load_config(mini)
    both = [i for i in loaded.issues if "duplicate metric id 'count_a'" in i.message]
    assert {i.file.rsplit("/", 1)[-1] for i in both} == {"all.yaml", "more.yaml"}
    newer = next(i for i in both if i.file.endswith("more.yaml"))
    assert "all.yaml:2" in newer.message and "not served" in newer.message
    # The earlier definition keeps serving.
    assert loaded.catalogue.metrics["count_a"].title == "Count of a"


@pytest.mark.parametrize(
    ("old", "new", "message", "hint"),
    [
        (
            "source: events, measure: count",
            "source: evnts, measure: count",
            "unknown source 'evnts'",
            "did you mean 'events'?",
        ),
        (
            "title: Count of a, domain: access",
            "title: Count of a, domain: acess",
            "unknown domain 'acess'",
            "did you mean 'access'?",
        ),
        (
            "breakdowns: [lcn]}",
            "breakdowns: [lnc]}",
            "unknown breakdown column 'lnc'",
            "did you mean 'lcn'?",
        ),
        (
            "measure: sum, value: days",
            "measure: sum, value: dayz",
            "unknown column 'dayz'",
            "did you mean 'days'?",
        ),
        (
            "filter: \"kind = 'a'\", unit: events",
            "filter: \"knd = 'a'\", unit: events",
            "unknown column 'knd' in filter",
            "did you mean 'kind'?",
        ),
    ],
)
def test_cross_reference_errors_suggest_fixes(mini, edit, old, new, message, hint):
    edit(metrics_file(mini), old, new)
    issue = only(load_config(mini).issues, message)
    assert issue.is_error and issue.stage in {"references", "sql"}
    assert issue.hint == hint
    assert issue.line > 0 and issue.file.endswith("all.yaml")


def test_sql_syntax_error_in_a_filter(mini, edit):
    edit(
        metrics_file(mini),
        "filter: \"kind = 'a'\", unit: events",
        "filter: \"kind = = 'a'\", unit: events",
    )
    issue = only(load_config(mini).issues, "filter is not valid SQL")
    assert issue.field == "metrics[count_a].filter"


def test_measure_needs_its_parts(mini, edit):
    edit(metrics_file(mini), "measure: mean, value: days", "measure: mean")
    assert only(load_config(mini).issues, "needs 'value'").field == "metrics[mean_days].measure"


def test_ratio_needs_a_numerator(mini, edit):
    edit(metrics_file(mini), "    numerator: {filter: flag}\n", "")
    assert only(load_config(mini).issues, "needs 'numerator'").is_error


def test_rate_needs_population_columns_for_breakdowns(mini, edit):
    edit(metrics_file(mini), "    breakdowns: [lcn]\n", "    breakdowns: [kind]\n")
    assert only(load_config(mini).issues, "rates by 'kind'").is_error


def test_unknown_intervention_in_analyses(mini, edit):
    edit(
        metrics_file(mini),
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], spc: {rebase_at: [chnage]}, "
        "its: {interventions: [chang]}}",
    )
    issues = load_config(mini).issues
    assert only(issues, "unknown intervention 'chnage'").hint == "did you mean 'change'?"
    assert (
        only(issues, "unknown intervention 'chang'").field == "metrics[count_a].its.interventions.0"
    )


def test_board_layout_references(mini, edit):
    edit(
        mini / "board.yaml",
        "overview_domains: [access, outcomes]",
        "overview_domains: [access, outcome]",
    )
    assert (
        only(load_config(mini).issues, "unknown domain 'outcome'").hint
        == "did you mean 'outcomes'?"
    )


def test_framework_domain_names_a_known_outcome(mini, edit):
    edit(mini / "framework.yaml", "outcome: well}", "outcome: wel}")
    assert only(load_config(mini).issues, "unknown outcome 'wel'").is_error


def test_source_key_columns_must_exist(mini, edit):
    edit(mini / "sources.yaml", "key: [id]", "key: [ident]")
    assert only(load_config(mini).issues, "key column 'ident'").field == "sources[events].key.0"


# ----------------------------------------------------------------------------- data


def data(config: Path, name: str) -> Path:
    return config.parent / "data" / name


def test_missing_file_names_the_source(mini):
    data(mini, "monthly.csv").unlink()
    report = validate_config(mini)
    assert only(report.issues, "file not found", "monthly.csv").is_error
    # One cause, one message: the metrics on the source are not each reported again...
    assert len(report.errors) == 1
    assert not any("sum_x" in i.field for i in report.issues)
    # ...they are counted as waiting for it.
    assert (report.counts.valid, report.counts.with_errors, report.counts.waiting) == (7, 0, 2)


def test_renamed_column_is_detected(mini, edit):
    edit(data(mini, "events.csv"), "id,date,kind", "id,event_date,kind")
    issue = only(validate_config(mini).issues, "column 'date' is missing", "events.csv")
    assert "event_date" in issue.hint


def test_unparseable_date_names_the_line(mini, edit):
    edit(data(mini, "events.csv"), "e4,2024-03-02", "e4,02/03/2024")
    issue = only(validate_config(mini).issues, "'02/03/2024' is not a date", "events.csv")
    assert issue.line == 5 and issue.field == "date" and "YYYY-MM-DD" in issue.hint


def test_date_format_can_be_declared(mini, edit):
    text = data(mini, "events.csv").read_text()
    rows = [line.split(",") for line in text.splitlines()]
    for row in rows[1:]:
        y, m, d = row[1].split("-")
        row[1] = f"{d}/{m}/{y}"
    data(mini, "events.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    edit(mini / "sources.yaml", "date: {type: date}", "date: {type: date, format: '%d/%m/%Y'}")
    report = validate_config(mini)
    assert report.errors == []


def test_negative_count_is_reported(mini, edit):
    edit(
        data(mini, "events.csv"), "e6,2024-04-01,b,North,false,2", "e6,2024-04-01,b,North,false,-2"
    )
    issue = only(validate_config(mini).issues, "below the minimum 0", "events.csv")
    assert issue.line == 7 and "cannot be negative" in issue.message


def test_not_a_number_is_reported(mini, edit):
    edit(data(mini, "monthly.csv"), "2024-03-01,x,12", "2024-03-01,x,twelve")
    issue = only(validate_config(mini).issues, "'twelve' is not a number", "monthly.csv")
    assert issue.line == 6 and issue.file.endswith("monthly.csv")


def test_duplicate_key_is_reported(mini, edit):
    edit(data(mini, "monthly.csv"), "2024-03-01,x,12", "2024-03-01,x,12\n2024-03-01,x,13")
    issue = only(validate_config(mini).issues, "duplicate key (month, measure)")
    assert "measure=x" in issue.message


def test_unknown_category_value_suggests(mini, edit):
    edit(data(mini, "events.csv"), "e6,2024-04-01,b,North", "e6,2024-04-01,b,Nrth")
    issue = only(validate_config(mini).issues, "'Nrth' is not an allowed value", "events.csv")
    assert issue.hint == "did you mean 'North'?" and issue.line == 7


def test_empty_file_is_reported(mini):
    data(mini, "events.csv").write_text("id,date,kind,lcn,flag,days\n")
    assert only(validate_config(mini).issues, "no data rows").is_error


def test_malformed_csv_is_reported_not_raised(mini):
    data(mini, "events.csv").write_text('id,date\n"unterminated,2024-01-01\n')
    report = validate_config(mini)
    assert any(i.file.endswith("events.csv") and i.is_error for i in report.issues)


def test_its_needs_points_each_side(mini, edit):
    edit(
        metrics_file(mini),
        "unit: events, better: down, breakdowns: [lcn]}",
        "unit: events, better: down, breakdowns: [lcn], its: {interventions: [late_change]}}",
    )
    issue = only(validate_config(mini).issues, "leaves only 1 point(s) after it")
    assert issue.is_error and "late_change (2024-04)" in issue.message


def test_excel_and_parquet_sources_load(mini, edit):
    import pandas as pd

    frame = pd.read_csv(data(mini, "monthly.csv"))
    frame["month"] = pd.to_datetime(frame["month"])
    frame.to_excel(data(mini, "monthly.xlsx"), index=False, sheet_name="Data")
    pd.read_csv(data(mini, "pop.csv")).to_parquet(data(mini, "pop.parquet"))
    edit(mini / "sources.yaml", "path: monthly.csv", "path: monthly.xlsx\n    sheet: Data")
    edit(mini / "sources.yaml", "path: pop.csv", "path: pop.parquet")
    report = validate_config(mini)
    assert report.errors == []
    assert report.warehouse is not None
    assert report.warehouse.loaded["monthly"].rows == 6
    assert report.warehouse.loaded["pop"].rows == 2


# ----------------------------------------------------------------------------- command line


def test_cli_exit_codes_and_json(mini, edit, capsys):
    assert main(["validate", str(mini)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    edit(metrics_file(mini), "source: events, measure: count", "source: evnts, measure: count")
    assert main(["validate", str(mini), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["errors"] >= 1
    first = next(i for i in payload["issues"] if "evnts" in i["message"])
    assert {"file", "line", "column", "field", "message", "hint", "level"} <= set(first)
    assert main(["validate", str(mini / "nowhere")]) == 2


def test_cli_github_annotations(mini, edit, capsys):
    edit(metrics_file(mini), "source: events, measure: count", "source: evnts, measure: count")
    assert main(["validate", str(mini), "--format", "github", "--no-data"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error file=") and ",line=2," in out
