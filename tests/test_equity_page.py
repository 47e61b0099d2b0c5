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


def test_page_shows_age_standardised_rates_beside_crude_and_the_funnel():
    app = run_equity()
    headers = [h.value for h in app.subheader]
    assert "Allowing for age" in headers and "Benchmarking neighbourhoods" in headers
    standardised = app.dataframe[1].value
    assert {"Crude rate per 100,000 a year", "Age-standardised rate per 100,000 a year"} <= set(
        standardised.columns
    )
    assert "Standardised rate ratio vs White" in standardised.columns
    words = texts(app).replace("\\", "")
    assert "Allowing for differences in age (rates standardised to the 2013 European" in words
    assert "Black adults had a rate of detentions" in words
    # Detentions on the sample vary no more than Poisson counts would: nothing widened.
    assert "vary no more than chance would explain" in words
    assert "Each point is one neighbourhood's rate" in words
    assert "South East" in words  # named as outside the 95% limits


def test_page_says_when_intervals_are_widened_for_month_to_month_variation():
    # Secondary care referrals vary much more than Poisson counts from month to month.
    app = run_equity(metric="secondary_referral_rate", by="ethnicity")
    words = texts(app).replace("\\", "")
    assert "go up and down more than chance alone would explain" in words
    assert "confidence intervals have been widened to allow for it" in words
    table = app.dataframe[0].value.set_index("Ethnicity")
    assert "widened" in table.loc["White", "Note"]
