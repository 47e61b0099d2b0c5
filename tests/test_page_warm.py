"""The start-up warm makes the Overview's tables, cards and tiles and the opening charts of
the Equity, Money, Impact, Data quality and Metric detail pages the way the pages make
them: a first visit then builds none; another choice is still drawn from its own figures."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from apptest_support import run_page

from metrics.analyses.reading import readings
from metrics.board import Board
from metrics.serving import holder_for
from metrics.ui import components, overview_view
from metrics.ui.components import warm_metric_pages
from metrics.ui.equity_view import warm_equity
from metrics.ui.impact_view import warm_impact
from metrics.ui.money_view import warm_money
from metrics.ui.overview_view import by_domain, domain_table, warm_overview
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


def warmed(warm: Callable[[Board], None], built: list[object]) -> None:
    """Warm the served board with `warm`, then count only what is built afterwards."""
    warm(holder_for(config_dir()).current().board)
    built.clear()


@pytest.mark.parametrize(
    ("warm", "page", "charts"),
    [
        (warm_equity, "equity", 4),
        (warm_money, "money", 4),
        (warm_impact, "impact", 1),
        (warm_data_quality, "data_quality", 2),
    ],
)
def test_a_first_visit_after_the_warm_builds_no_chart(warm, page, charts, built):
    assert os.environ.get("ALLIANCE_DEVELOPMENT_ACCESS") == "1"  # an analyst: board policy
    warmed(warm, built)
    app = run_page(f"pages/{page}.py", timeout=120)
    assert len(app.get("vega_lite_chart")) >= charts
    assert built == []


@pytest.mark.parametrize(
    ("warm", "page", "link", "choice"),
    [
        (warm_equity, "equity", {"by": "age_band"}, "age_band"),
        (warm_money, "money", {"year": "2022/23"}, "2022/23"),
    ],
)
def test_another_choice_is_still_drawn_from_its_own_figures(warm, page, link, choice, built):
    warmed(warm, built)
    run_page(f"pages/{page}.py", timeout=120, **link)
    assert any(isinstance(k, tuple) and choice in k for k in built), built


# A count, a rate and a median: each on its own Metric detail page.
@pytest.mark.parametrize(
    "metric", ["secondary_referrals", "detention_rate", "days_to_first_contact_median"]
)
def test_a_first_visit_to_a_metric_page_after_the_warm_builds_no_chart(metric, built):
    warmed(warm_metric_pages, built)
    app = run_page("pages/metric.py", timeout=120, metric=metric)
    assert len(app.get("vega_lite_chart")) == 1
    assert built == []


def test_a_metric_broken_down_is_still_drawn_from_its_own_figures(built):
    warmed(warm_metric_pages, built)
    run_page("pages/metric.py", timeout=120, metric="secondary_referrals", breakdown="ethnicity")
    assert built, "the breakdown's chart was not built"


@pytest.fixture
def overview_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the Overview makes (not finds made) from here on: tables, cards, tile bodies."""
    made: list[str] = []
    for module, name in (
        (overview_view, "domain_table"),
        (overview_view, "phone_cards"),
        (components, "tile_body"),
    ):
        original = getattr(module, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    return made


def test_a_first_visit_to_the_overview_after_the_warm_makes_nothing(overview_built):
    board = holder_for(config_dir()).current().board
    warm_overview(board)
    overview_built.clear()
    app = run_page("pages/overview.py", timeout=120)
    assert overview_built == []
    tiles = [m for m in app.markdown if m.value.startswith('<div class="board-tile">')]
    view = components.default_query(board)
    domains = by_domain(readings(board, view, "board"))
    assert tiles and len(app.dataframe) == len(domains)
    # What the warm made is what the page would make for this view.
    first = next(d for d in board.catalogue.domain_order() if d in domains)
    fresh = domain_table(domains[first], f"from={view.start:%Y-%m}&to={view.end:%Y-%m}")
    shown = app.dataframe[0].value
    assert list(shown["Metric"]) == list(fresh["Metric"])
    assert list(shown["Details"]) == list(fresh["Details"])


def test_the_overview_of_a_neighbourhood_is_made_for_it(overview_built):
    warm_overview(holder_for(config_dir()).current().board)
    app = run_page("pages/overview.py", timeout=120, lcn="North")
    links = [link for table in app.dataframe for link in table.value["Details"]]
    assert links and all(link.endswith("&lcn=North") for link in links)


def test_every_chart_of_the_warmed_views_is_valid_vega_lite(monkeypatch):
    """A server builds charts without Altair's check of each part as it is made
    (server.build_charts_unchecked); every chart of the warmed default views is checked
    here, whole, against the Vega-Lite schema instead."""
    import altair as alt
    from altair.utils import schemapi

    from metrics.ui.server import PAGE_WARM_STEPS, build_charts_unchecked

    monkeypatch.setattr(schemapi, "DEBUG_MODE", True)  # put back after the test
    build_charts_unchecked()
    assert schemapi.DEBUG_MODE is False
    board = holder_for(config_dir()).current().board
    for _name, step in PAGE_WARM_STEPS:
        step(board)
    keys = [k for k in board._memo if isinstance(k, tuple) and k[0] == "chart_spec"]
    assert len(keys) >= 40  # SPC panels, metric pages, equity, money, impact, data quality
    for key in keys:
        spec = board.memo(key, lambda: None)
        # Every part is checked; of the inline data rows (free-form to the schema), a few.
        datasets = {name: rows[:3] for name, rows in spec.get("datasets", {}).items()}
        alt.Root.validate({**spec, "datasets": datasets})  # raises on what Vega-Lite refuses
        assert spec["description"], key  # every chart has its text alternative
