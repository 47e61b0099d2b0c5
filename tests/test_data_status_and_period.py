"""Data status from config and the period a metric is read over (issue 15, requirement 4):
the banner and the exports say what board.yaml `data_status` says (nothing when it says
nothing); a metric with no data in the board's period says where its data are, and its
page shows that period and offers it everywhere."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics.analyses.reading import default_period, read_metric
from metrics.board import open_board
from metrics.data_status import status_label, status_note
from metrics.exports import content
from metrics.exports.html_deck import render_html
from metrics.sql.series import SeriesQuery
from metrics.ui.state import PERIOD_KEY
from metrics.validation import load_config
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(mini, monkeypatch):
    """The mini board served by the site (with the sample's roles file)."""
    shutil.copy(ROOT / "config" / "access.yaml", mini / "access.yaml")
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(mini))
    return mini


def page_text(app) -> str:
    parts = [
        *(m.value for m in app.markdown),
        *(m.value for m in app.caption),
        *(m.value for m in app.info),
        *(m.value for m in app.warning),
    ]
    return "\n".join(str(p) for p in parts)


def set_status(config: Path, line: str) -> None:
    path = config / "board.yaml"
    path.write_text(path.read_text() + line + "\n")


# ----------------------------------------------------------------------------- status


def test_the_sample_config_says_synthetic():
    catalogue = load_config(ROOT / "config").catalogue
    assert catalogue.board.data_status is not None
    assert status_label(catalogue) == "Synthetic data"
    assert "No real person or service is described" in status_note(catalogue)


def test_no_status_claims_nothing(mini):
    catalogue = load_config(mini).catalogue
    assert catalogue.board.data_status is None
    assert status_label(catalogue) == "" and status_note(catalogue) == ""


@pytest.mark.parametrize(
    ("line", "label", "words"),
    [
        ("data_status: {kind: test}", "Test data", "must not be used for decisions"),
        ("data_status: {kind: provisional}", "Provisional data", "may change"),
        (
            "data_status: {kind: live, text: 'NHS England A&E extract, March 2019.'}",
            "",
            "NHS England A&E extract",
        ),
    ],
)
def test_each_kind_has_its_label_and_words(mini, line, label, words):
    set_status(mini, line)
    catalogue = load_config(mini).catalogue
    assert status_label(catalogue) == label
    assert words in status_note(catalogue)


def test_an_unknown_kind_is_an_error_with_the_choices(mini):
    set_status(mini, "data_status: {kind: real}")
    issue = next(i for i in load_config(mini).issues if i.is_error)
    assert (
        issue.field == "data_status.kind" and "synthetic, test, provisional, live" in issue.message
    )


def home(timeout: int = 90) -> AppTest:
    # The entry point's own elements (the banner) are kept on the default page only under
    # AppTest; the browser tests see the banner on every page.
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_every_page_says_what_board_yaml_says(site):
    app = home()
    assert app.title, "the page rendered"
    assert "synthetic" not in page_text(app).lower()
    set_status(site, 'data_status: {kind: test, text: "Test extract of 3 March."}')
    app = home()
    assert any("Test extract of 3 March." in w.value for w in app.warning)
    assert not any("Synthetic" in i.value for i in app.info)


def test_exports_take_their_label_from_config(mini):
    board = open_board(mini)
    deck = content.deck_content(board, "board")
    assert deck.synthetic_label == "" and deck.status_label == ""
    html = render_html(deck)[0].decode()
    assert "Synthetic data" not in html and "fictional alliance" not in html
    set_status(mini, "data_status: {kind: synthetic}")
    deck = content.deck_content(open_board(mini), "board")
    assert deck.status_label == "Synthetic data"
    assert "Synthetic data" in render_html(deck)[0].decode()


# ----------------------------------------------------------------------------- period


def later_default(config: Path) -> None:
    """The board's period starts after sum_x's data end (they run Jan to Mar 2024)."""
    path = config / "board.yaml"
    path.write_text(path.read_text() + "default_from: 2024-04\ndefault_to: 2024-04\n")


def test_a_reading_with_no_data_in_the_period_says_where_its_data_are(mini):
    later_default(mini)
    board = open_board(mini)
    start, end = default_period(board)
    assert (start, end) == (dt.date(2024, 4, 1), dt.date(2024, 4, 1))
    reading = read_metric(board, "sum_x", SeriesQuery(start=start, end=end))
    assert not reading.available
    assert reading.reason == (
        "no data in the selected period (Apr 2024); its data run from Jan 2024 to Mar 2024"
    )
    assert reading.data_span == (dt.date(2024, 1, 1), dt.date(2024, 3, 1))


def test_the_metric_page_shows_the_metrics_own_span_and_offers_it(site):
    later_default(site)
    app = run_page("pages/metric.py", metric="sum_x")
    notice = " ".join(i.value for i in app.info)
    assert "has no data in the selected period (Apr 2024)" in notice
    assert "its data run from Jan 2024 to Mar 2024, so that period is shown here" in notice
    assert not any("Unavailable" in c.value for c in app.caption)
    button = app.button(key="metric_page_use_period_sum_x")
    button.click().run()
    assert app.session_state[PERIOD_KEY] == (dt.date(2024, 1, 1), dt.date(2024, 3, 1))
