"""The editor and the metric page for analysts (issue 15, requirements 6 and 9): YAML in a
fixed-width font, the diff cleared once an edit is saved, a ratio of sums from the
new-metric form, and "Definition as written" showing the file's own lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from metrics.drafting import append_item, new_metric_item
from metrics.editing import validate_candidate
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns(".history"))
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(target))
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(ROOT / "sample_data"))
    return target


def open_page(page: str, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def edit_diffs(app: AppTest) -> list[str]:
    """The edit tab's diff of the edit against the saved file (the history tab has its
    own diffs of earlier versions)."""
    return [c.value for c in app.code if c.language == "diff" and "(edited)" in c.value]


def test_the_yaml_is_edited_in_a_fixed_width_font(config):
    app = open_page("pages/editor.py", metric="open_referrals")
    styles = [m.value for m in app.markdown if "<style>" in m.value]
    assert any(".st-key-editor_text textarea" in s and "monospace" in s for s in styles)


def test_the_diff_clears_after_a_save(config):
    app = open_page("pages/editor.py", metric="open_referrals")
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner: Performance team", "owner: Waiting list team")).run()
    assert edit_diffs(app)  # the change, before saving
    app.button(key="editor_save").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("Saved" in s.value for s in app.success)
    assert not edit_diffs(app)
    assert "owner: Waiting list team" in app.text_area(key="editor_text").value
    assert app.button(key="editor_save").disabled  # nothing left to save


def test_a_ratio_of_sums_from_the_new_metric_form(config):
    item = new_metric_item(
        metric_id="spend_of_budget",
        title="Spend as a share of budget",
        domain="money",
        source="costs",
        measure="ratio",
        unit="%",
        better="neutral",
        numerator_value="actual_gbp",
        denominator_value="budget_gbp",
        denominator_filter="budget_gbp > 0",
    )
    written = yaml.safe_load(item)[0]
    assert written["numerator"] == {"value": "actual_gbp"}
    assert written["denominator"] == {"filter": "budget_gbp > 0", "value": "budget_gbp"}
    path = config / "metrics" / "money.yaml"
    check = validate_candidate(config, path, append_item(path.read_text(), item))
    assert check.errors == [] and check.caused_errors == []


def test_the_form_offers_a_column_for_each_part(config):
    app = open_page("pages/editor.py")
    app.selectbox(key="new_source").set_value("costs").run()
    app.selectbox(key="new_measure").set_value("ratio").run()
    app.selectbox(key="new_numerator_value").set_value("actual_gbp").run()
    app.selectbox(key="new_denominator_value").set_value("budget_gbp").run()
    generated = next(t for t in app.text_area if t.key.startswith("new_yaml"))
    written = yaml.safe_load(generated.value)[0]
    assert written["numerator"] == {"value": "actual_gbp"}
    assert written["denominator"] == {"value": "budget_gbp"}
    assert any("Valid: no problems found." in s.value for s in app.success)


def test_definition_as_written_is_the_files_own_text(config):
    path = config / "metrics" / "access.yaml"
    text = path.read_text()
    marked = text.replace(
        "  - id: open_referrals\n",
        "  - id: open_referrals\n    # the caseload at each month end (kept as written)\n",
        1,
    )
    assert marked != text
    path.write_text(marked)
    app = open_page("pages/metric.py", metric="open_referrals")
    shown = [c.value for c in app.code if c.language == "yaml"]
    assert shown and "# the caseload at each month end" in shown[0]
    assert shown[0].startswith("  - id: open_referrals\n")
    origin = load_config(config).catalogue.origins["open_referrals"]
    caption = " ".join(c.value for c in app.caption)
    assert f"As written in {origin.file}, lines" in caption.replace("\\", "")


def test_the_per_group_spc_table_says_its_icons_in_words(config):
    app = open_page("pages/metric.py", metric="secondary_referrals", breakdown="lcn")
    tables = [d.value for d in app.dataframe if "Variation" in d.value.columns]
    assert tables, "the per-group SPC table is shown"
    cells = tables[0][["Variation", "Assurance"]].astype(str).to_numpy().ravel()
    assert not any(cell.startswith("data:") for cell in cells)
    assert any(cell and " " in cell for cell in cells)  # words, e.g. "Common cause variation"
