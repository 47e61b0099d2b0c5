"""Every page under Streamlit's AppTest: renders without exceptions, says the data are
synthetic, honours deep links and keeps the shared filters in the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
TIMEOUT = 60


def run_app(page: str | None = None, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def all_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += (
        [t.value for t in app.title]
        + [h.value for h in app.subheader]
        + [i.value for i in app.info]
    )
    parts += [w.value for w in app.warning] + [e.value for e in app.error]
    return "\n".join(str(p) for p in parts)


PAGES = [
    "pages/overview.py",
    "pages/outcomes.py",
    "pages/access.py",
    "pages/crisis.py",
    "pages/equity.py",
    "pages/money.py",
    "pages/data_quality.py",
    "pages/catalogue.py",
    "pages/editor.py",
    "pages/metric.py",
    "pages/impact.py",
]


def test_entry_point_says_the_data_are_synthetic():
    # AppTest drops the entry point's own elements after switch_page (the browser test
    # checks the notice on every page), so the notice is checked on the default page.
    app = run_app()
    assert "Synthetic data" in all_text(app)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_errors(page):
    app = run_app(page)
    assert not app.error
    assert app.title, "every page has a title"


def test_overview_lists_every_domain_with_metrics():
    app = run_app()
    headings = [h.value for h in app.subheader]
    assert "Access and waiting times" in headings and "Money" in headings
    assert len(app.dataframe) == len(headings)
    overview = app.dataframe[0].value
    assert {
        "Metric",
        "Latest",
        "Month",
        "Status",
        "Change on a year earlier",
        "Last 24 months",
        "Details",
    } <= set(overview.columns)
    assert overview["Details"].str.startswith("metric?metric=").all()


def test_metric_page_deep_link_selects_the_metric():
    app = run_app("pages/metric.py", metric="secondary_referrals")
    assert app.title[0].value == "Referrals from primary care to secondary mental health care"
    assert app.query_params["metric"] == "secondary_referrals"
    assert any("Lower is better" in m.value for m in app.markdown)


def test_a_metric_panel_links_to_its_page_except_on_that_page():
    labels = [link.proto.label for link in run_app("pages/access.py").get("page_link")]
    assert "Details and breakdowns" in labels
    own = run_app("pages/metric.py", metric="secondary_referrals").get("page_link")
    assert "Details and breakdowns" not in [link.proto.label for link in own]


def test_metric_page_unknown_metric_is_a_calm_notice():
    app = run_app("pages/metric.py", metric="no_such_metric")
    # (The name is shown as plain text: Markdown escapes, as AppTest sees them.)
    assert any("metric called “no\\_such\\_metric”" in i.value for i in app.info)


def test_metric_page_breakdown_from_url():
    app = run_app("pages/metric.py", metric="secondary_referrals", breakdown="ethnicity")
    radio = app.radio[0]
    assert radio.value == "ethnicity"
    assert app.query_params["breakdown"] == "ethnicity"


def test_shared_filters_come_from_and_go_to_the_url():
    app = run_app(**{"from": "2020-04", "to": "2021-03", "lcn": "North"})
    assert app.query_params["from"] == "2020-04"
    assert app.query_params["lcn"] == "North"
    assert app.selectbox[0].value == "North"
    assert "April 2020 to March 2021, North" in all_text(app)
    # Changing a filter and moving between pages are checked in the browser test: AppTest
    # drops the entry point's widgets on reruns of an st.navigation app.


def test_bad_url_parameters_fall_back_to_defaults():
    app = run_app(**{"from": "../../etc/passwd", "to": "2099-13", "lcn": "<script>"})
    assert not app.exception
    assert app.selectbox[0].value == "All neighbourhoods"
