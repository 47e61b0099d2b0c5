"""The Money page under Streamlit's AppTest: renders, honours ?year= deep links, shows the
headline tiles, the summary, every chart's caption and the savings table."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.apptest_support import run_page as open_page

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGE = "pages/money.py"
TIMEOUT = 60


def run_page(**params: str) -> AppTest:
    return open_page(PAGE, timeout=TIMEOUT, **params)


def page_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [t.value for t in app.title] + [h.value for h in app.header]
    parts += [w.value for w in app.warning] + [i.value for i in app.info]
    return "\n".join(str(p) for p in parts)


def test_money_page_renders_the_latest_year():
    app = run_page()
    assert not app.error
    assert app.title[0].value == "Money"
    assert app.selectbox(key="money_year").value == "2024/25"
    assert app.query_params["year"] == "2024/25"
    labels = [m.label for m in app.metric]
    assert any(label.startswith("Spend") for label in labels)
    assert any(label.startswith("Forecast outturn") for label in labels)
    text = page_text(app)
    assert "The alliance spent £71.20m against a budget of £70.60m" in text
    assert "no small-number suppression" in text
    assert text.count("What this shows:") >= 4  # provider, service line, cumulative, unit cost
    assert "IPSA spent" in text
    headers = [h.value for h in app.header]
    assert headers[:4] == [
        "Budget against actual",
        "Spend through the year",
        "Unit costs",
        "Savings against the baseline",
    ]
    assert len(app.dataframe) >= 5


def test_money_page_year_deep_link():
    app = run_page(year="2019/20")
    assert app.selectbox(key="money_year").value == "2019/20"
    assert "in 2019/20" in page_text(app)
    assert "provisional" not in app.markdown[0].value  # 2019/20 is final


def test_money_page_through_month_deep_link():
    app = run_page(year="2024/25", through="2024-12")
    assert app.query_params["through"] == "2024-12"
    assert "9 months" in page_text(app)


def test_money_page_unknown_year_is_a_calm_notice():
    app = run_page(year="1999/00")
    assert any("financial year called “1999/00”" in i.value for i in app.info)
    assert app.selectbox(key="money_year").value == "2024/25"
