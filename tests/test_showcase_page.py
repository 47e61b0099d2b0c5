"""The Showcase page under Streamlit's AppTest: one slide at a time from the public content
model, the slide number and deep link (?slide=N), previous/next by button (and by the
arrow keys, the buttons' own shortcuts), the synthetic-data label and legend, and the
export buttons that build a file on click."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
PAGE = "pages/showcase.py"
TIMEOUT = 120


def open_showcase(**params: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    app.switch_page(PAGE)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [t.value for t in app.title] + [w.value for w in app.warning]
    return "\n".join(str(p) for p in parts)


def counter(app: AppTest) -> str:
    found = re.search(r'class="showcase-counter">(\d+) of (\d+)<', texts(app))
    assert found, "the slide number 'N of M' is shown"
    return f"{found.group(1)} of {found.group(2)}"


def big_number(app: AppTest) -> str:
    found = re.search(r'class="showcase-number">([^<]*)<', texts(app))
    assert found, "the slide shows a big number"
    return found.group(1)


@pytest.fixture(scope="module")
def first_slide() -> AppTest:
    return open_showcase()


def test_opens_on_the_first_slide_with_label_legend_and_exports(first_slide):
    app = first_slide
    assert counter(app) == "1 of 6"
    assert app.title[0].value == "Living Well: what changed for the people we serve"
    text = texts(app)
    assert "Synthetic data" in text
    assert "suppressed to protect privacy" in text  # the public legend, always
    assert "Help before crisis meant far fewer people needed a specialist referral" in text
    assert "95% CI" in text  # an effect from a model carries its interval
    assert "Fictional story" in text
    labels = [b.label for b in app.button]
    for title in ("HTML deck", "PowerPoint", "Board pack PDF"):
        assert f"Prepare the {title}" in labels
    assert app.query_params["slide"] == "1"


def test_previous_and_next_have_arrow_key_shortcuts_and_respect_the_ends(first_slide):
    previous = first_slide.button(key="showcase_prev")
    following = first_slide.button(key="showcase_next")
    assert previous.disabled and not following.disabled
    assert previous.proto.shortcut.lower() == "left"
    assert following.proto.shortcut.lower() == "right"


def test_next_moves_on_and_updates_the_link():
    app = open_showcase()
    app.button(key="showcase_next").click().run()
    assert not app.exception
    assert counter(app) == "2 of 6"
    assert app.query_params["slide"] == "2"
    assert "More people found the front door early" in texts(app)


def test_deep_link_opens_that_slide():
    app = open_showcase(slide="3")
    assert counter(app) == "3 of 6"
    assert "Waits for a first contact fell from weeks to days" in texts(app)
    app.button(key="showcase_prev").click().run()
    assert counter(app) == "2 of 6"


def test_a_link_past_the_end_is_clamped_to_the_last_slide():
    app = open_showcase(slide="99")
    assert counter(app) == "6 of 6"
    assert app.button(key="showcase_next").disabled


def test_counts_on_slides_are_disclosure_controlled():
    # Slide 2's big number is a count of introductions: public, so rounded to a 5.
    app = open_showcase(slide="2")
    shown = big_number(app).replace(",", "")
    assert shown == "*" or (int(shown) % 5 == 0 and int(shown) >= 10), shown


def test_prepare_builds_the_file_and_offers_it_for_download():
    app = open_showcase(slide="4")
    app.button(key="showcase_export_public_html_build").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error
    downloads = [e for e in app.get("download_button") if "Download the HTML deck" in str(e.proto)]
    assert downloads, "a download button appears once the file is built"
    assert counter(app) == "4 of 6"  # building does not move the slide
