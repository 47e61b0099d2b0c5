"""The Equity page under AppTest: deep links, the table, the sentence and the legend."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apptest_support import run_page

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "pages/equity.py"
TIMEOUT = 90


def run_equity(**params: str) -> AppTest:
    return run_page(PAGE, timeout=TIMEOUT, **params)


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    return "\n".join(str(p) for p in parts)


def test_default_view_compares_black_and_white_detention_rates():
    app = run_equity()
    assert app.title[0].value == "Equity: who is being left behind?"
    assert app.query_params["metric"] == "detention_rate"
    assert app.query_params["by"] == "ethnicity"
    assert app.query_params["reference"] == "White"
    table = app.dataframe[0].value
    assert "Rate ratio vs White" in table.columns
    assert set(table["Ethnicity"]) >= {"Black", "White", "Not stated"}
    words = texts(app)
    assert "Black adults had a rate of detentions" in words.replace("\\", "")
    assert "What this shows" in words


def test_deep_link_sets_metric_dimension_and_reference():
    app = run_equity(metric="secondary_referral_rate", by="age_band", reference="65+")
    table = app.dataframe[0].value
    assert "Age band" in table.columns and "Rate ratio vs 65+" in table.columns
    assert app.query_params["reference"] == "65+"


def test_small_numbers_show_stars_and_the_legend():
    # One month in one neighbourhood: some groups have fewer than 5 detentions.
    app = run_equity(**{"from": "2024-04", "to": "2024-04", "lcn": "North"})
    table = app.dataframe[0].value
    assert (table["Events"] == "*").any()
    assert "suppressed to protect privacy" in texts(app)
