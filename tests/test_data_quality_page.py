"""The Data quality page under Streamlit's AppTest: renders, shows the completeness
heatmap, the revisions sentence, definition breaks, last refresh and validation issues."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apptest_support import run_page as open_page

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "pages/data_quality.py"
TIMEOUT = 60


def run_page(**params: str) -> AppTest:
    return open_page(PAGE, timeout=TIMEOUT, **params)


def page_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [t.value for t in app.title] + [h.value for h in app.header]
    parts += [w.value for w in app.warning] + [i.value for i in app.info]
    parts += [s.value for s in app.success] + [t.value for t in app.text]
    return "\n".join(str(p) for p in parts)


def test_data_quality_page_renders_every_section():
    app = run_page()
    assert not app.error
    assert app.title[0].value == "Data quality"
    headers = [h.value for h in app.header]
    assert headers == [
        "Completeness",
        "Provisional figures and revisions",
        "Definition breaks",
        "Last refresh",
        "Validation issues",
    ]
    text = page_text(app)
    assert text.count("What this shows:") >= 2  # heatmap and revisions chart
    assert "Figures for the latest 2 months are provisional and typically rise by" in text
    assert "Monthly activity and outcome measures" in text or len(app.dataframe) >= 4
    # The validation details for analysts are the issues' own one-line text.
    assert "warning [metrics[sanctuary_visits]]" in text


def test_data_quality_page_source_deep_link():
    app = run_page(source="activity", **{"from": "2021-01", "to": "2023-03"})
    assert app.selectbox(key="dq_source").value == "activity"
    gaps = app.dataframe[0].value
    assert {"Sanctuary visits", "People in settled accommodation"} <= set(gaps["Measure"])


def test_data_quality_page_unknown_source_is_a_calm_notice():
    app = run_page(source="nope")
    assert any("checked source called “nope”" in i.value for i in app.info)
