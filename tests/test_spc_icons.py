"""The project's own SPC icons: valid SVG, accessible, meaningful without colour."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

from metrics.charts import theme
from metrics.spc import (
    ASSURANCE_ICONS,
    VARIATION_ICONS,
    icon_data_uri,
    icon_meaning,
    icon_path,
    icon_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
ALL_ICONS = [*VARIATION_ICONS, *ASSURANCE_ICONS]


def test_there_are_seven_variation_and_three_assurance_icons():
    assert len(VARIATION_ICONS) == 7
    assert ASSURANCE_ICONS == ("pass", "fail", "inconsistent")
    for name in ALL_ICONS:
        assert icon_path(name).is_file()


@pytest.mark.parametrize("name", ALL_ICONS)
def test_icon_is_valid_svg_with_a_title_giving_its_meaning(name):
    root = ET.fromstring(icon_svg(name))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == icon_meaning(name)
    assert root.get("aria-labelledby") == title.get("id")


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("common_cause", "Common cause variation: no significant change"),
        ("improvement_high", "Special cause variation: improvement (higher is better)"),
        ("improvement_low", "Special cause variation: improvement (lower is better)"),
        ("concern_high", "Special cause variation: concern (higher values, where lower is better)"),
        ("concern_low", "Special cause variation: concern (lower values, where higher is better)"),
        ("neutral_high", "Special cause variation: higher values (neither direction is better)"),
        ("neutral_low", "Special cause variation: lower values (neither direction is better)"),
    ],
)
def test_variation_meanings(name, meaning):
    assert icon_meaning(name) == meaning


def test_assurance_meanings():
    assert icon_meaning("pass").startswith("Assurance: the target will be met consistently")
    assert icon_meaning("fail").startswith("Assurance: the target will be missed consistently")
    assert "hit and miss" in icon_meaning("inconsistent")


def _without_colour(svg: str) -> str:
    return re.sub(r'(fill|stroke)="#[0-9A-Fa-f]{6}"', "", svg.split("</title>", 1)[1])


def test_icons_differ_without_colour():
    """Stripped of every colour, no two icons look the same (WCAG use of colour)."""
    shapes = {name: _without_colour(icon_svg(name)) for name in ALL_ICONS}
    assert len(set(shapes.values())) == len(ALL_ICONS)


@pytest.mark.parametrize(
    ("name", "letter"),
    [
        ("improvement_high", "H"),
        ("concern_high", "H"),
        ("neutral_high", "H"),
        ("improvement_low", "L"),
        ("concern_low", "L"),
        ("neutral_low", "L"),
        ("pass", "P"),
        ("fail", "F"),
        ("inconsistent", "?"),
    ],
)
def test_icons_carry_a_letter(name, letter):
    texts = [t.text for t in ET.fromstring(icon_svg(name)).iter(f"{SVG}text")]
    assert texts == [letter]


@pytest.mark.parametrize(
    ("name", "ring"),
    [
        ("common_cause", theme.SPC_COMMON),
        ("improvement_high", theme.SPC_IMPROVEMENT),
        ("concern_low", theme.SPC_CONCERN),
        ("neutral_high", theme.SPC_NEUTRAL),
        ("pass", theme.SPC_IMPROVEMENT),
        ("fail", theme.SPC_CONCERN),
        ("inconsistent", theme.SPC_COMMON),
    ],
)
def test_icon_ring_colours_follow_the_theme(name, ring):
    first_circle = next(ET.fromstring(icon_svg(name)).iter(f"{SVG}circle"))
    assert first_circle.get("stroke").upper() == ring.upper()


def test_data_uri_round_trips():
    uri = icon_data_uri("pass")
    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode("utf-8") == icon_svg("pass")


def test_unknown_icon_name_is_a_clear_error():
    with pytest.raises(
        ValueError, match="unknown SPC icon 'improvement_up'; icons are: common_cause"
    ):
        icon_svg("improvement_up")
    with pytest.raises(ValueError, match="unknown SPC icon"):
        icon_meaning("green")
