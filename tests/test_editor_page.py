"""The in-app editor under AppTest: an invalid edit is refused, a valid edit is saved with
history, an edit made elsewhere in the meantime is detected, and a version is restored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ALLIANCE_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns(".history"))
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(target))
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(ROOT / "sample_data"))
    return target


def open_editor(metric: str = "open_referrals") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.query_params["metric"] = metric
    app.run()
    app.switch_page("pages/editor.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def messages(app: AppTest) -> str:
    return "\n".join([e.value for e in app.error] + [s.value for s in app.success])


def test_invalid_edit_is_refused(config):
    path = config / "metrics" / "access.yaml"
    before = path.read_text()
    app = open_editor()
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("better: neutral", "better: sideways")).run()
    assert "'sideways' is not allowed here" in messages(app)
    assert "line" in messages(app) and "of your edit" in messages(app)
    assert app.button(key="editor_save").disabled
    assert path.read_text() == before


def test_valid_edit_is_saved_with_history(config):
    path = config / "metrics" / "access.yaml"
    app = open_editor()
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner: Performance team", "owner: Waiting list team")).run()
    assert not app.button(key="editor_save").disabled
    assert any("Waiting list team" in c.value for c in app.code)  # the diff
    app.button(key="editor_save").click().run()
    assert "Saved" in messages(app)
    assert "owner: Waiting list team" in path.read_text()
    history = list((config / ".history").rglob("*.yaml"))
    assert len(history) == 1 and "owner: Waiting list team" not in history[0].read_text()
    audit_lines = (config.parent / "audit.jsonl").read_text().splitlines()
    assert any('"save_definition"' in line and "access.yaml" in line for line in audit_lines)


def test_edit_made_elsewhere_is_detected_not_overwritten(config):
    path = config / "metrics" / "access.yaml"
    app = open_editor()
    theirs = path.read_text().replace("title: Open referrals", "title: Caseload (their edit)")
    path.write_text(theirs)
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner: Performance team", "owner: Mine")).run()
    app.button(key="editor_save").click().run()
    assert "changed by someone else" in messages(app)
    assert any("their edit" in c.value for c in app.code)
    assert path.read_text() == theirs


def test_restore_an_earlier_version(config):
    path = config / "metrics" / "access.yaml"
    original = path.read_text()
    app = open_editor()
    text = app.text_area(key="editor_text")
    text.set_value(text.value.replace("owner: Performance team", "owner: Someone new")).run()
    app.button(key="editor_save").click().run()
    assert "owner: Someone new" in path.read_text()
    app.selectbox(key="history_file").set_value("access.yaml").run()
    app.button(key="history_restore").click().run()
    assert "Restored" in messages(app)
    assert path.read_text() == original


def _preview_words(app: AppTest) -> list[str]:
    """The text alternatives of the charts in the edit tab's preview."""
    preview = next(e for e in app.expander if e.label == "Preview with the current data")
    return [t.value for t in preview.text]


def test_the_preview_draws_the_edit_not_the_served_definition(config):
    """The preview's chart is made from the edited definition: a chart cached for the
    served metric of the same id must not stand in for it."""
    app = open_editor()
    served = _preview_words(app)
    assert served and "Open referrals" in served[0]
    text = app.text_area(key="editor_text")
    edited = text.value.replace("measure: sum\n    value: value\n", "measure: count\n")
    assert edited != text.value
    text.set_value(edited).run()
    assert not app.exception, [e.message for e in app.exception]
    counted = _preview_words(app)
    assert counted and counted != served


def test_the_start_up_warm_makes_what_a_first_visit_to_the_editor_checks(config, monkeypatch):
    """The server's warm drafts, checks and previews what the editor opens on (the first
    metric as it is on disk, and the new-metric form's defaults) the way the page does: a
    first visit then checks nothing and builds no chart."""
    from metrics import editing
    from metrics.serving import holder_for
    from metrics.ui import components
    from metrics.ui.preview import warm_editor

    warm_editor(holder_for(config).current().board)
    checks, charts = [], []
    check, draw = editing._check_candidate, components.spc_chart
    monkeypatch.setattr(editing, "_check_candidate", lambda *a: checks.append(a) or check(*a))
    monkeypatch.setattr(components, "spc_chart", lambda *a, **k: charts.append(a) or draw(*a, **k))
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("pages/editor.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.expander) >= 2  # both previews were drawn
    assert checks == [] and charts == []
    # And the warm is not simply skipping the work: a changed text is checked afresh.
    text = app.text_area(key="editor_text")
    text.set_value(text.value + "\n").run()
    assert len(checks) == 1
