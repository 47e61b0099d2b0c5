"""The start-up warm makes the opening charts of the Equity, Money, Impact and Data
quality pages the way the pages make them: a first visit then builds none; another choice
is still drawn from its own figures."""

from __future__ import annotations

import os

import pytest
from apptest_support import APP
from streamlit.testing.v1 import AppTest

from metrics.serving import holder_for
from metrics.ui import components
from metrics.ui.equity_view import warm_equity
from metrics.ui.impact_view import warm_impact
from metrics.ui.money_view import warm_money
from metrics.ui.quality_view import warm_data_quality
from metrics.ui.server import config_dir


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The keys of the charts built (not found made) from here on."""
    keys: list[object] = []
    spec = components.chart_spec

    def counting(build, alt_text, key=None, board=None):
        def counted():
            keys.append(key)
            return build()

        return spec(counted, alt_text, key, board)

    monkeypatch.setattr(components, "chart_spec", counting)
    return keys


def open_page(page: str, **params: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=120)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_a_first_visit_after_the_warm_builds_no_chart(built):
    assert os.environ.get("ALLIANCE_DEVELOPMENT_ACCESS") == "1"  # an analyst: board policy
    warm_equity(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/equity.py")
    charts = [e for e in app.get("vega_lite_chart")] or app.get("arrow_vega_lite_chart")
    assert len(charts) >= 4, len(charts)
    assert built == []


def test_another_choice_is_still_drawn_from_its_own_figures(built):
    warm_equity(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/equity.py", by="age_band")
    assert not app.exception
    assert any(isinstance(k, tuple) and "age_band" in k for k in built), built


def test_a_first_visit_to_money_after_the_warm_builds_no_chart(built):
    warm_money(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/money.py")
    assert len(app.get("vega_lite_chart")) >= 4
    assert built == []


def test_another_money_year_is_still_drawn_from_its_own_figures(built):
    warm_money(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/money.py", year="2022/23")
    assert not app.exception
    assert any(isinstance(k, tuple) and "2022/23" in k for k in built), built


def test_a_first_visit_to_impact_after_the_warm_builds_no_chart(built):
    warm_impact(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/impact.py")
    assert len(app.get("vega_lite_chart")) >= 1
    assert built == []


def test_a_first_visit_to_data_quality_after_the_warm_builds_no_chart(built):
    warm_data_quality(holder_for(config_dir()).current().board)
    built.clear()
    app = open_page("pages/data_quality.py")
    assert len(app.get("vega_lite_chart")) >= 2
    assert built == []
