"""The project's own Making Data Count icons (SVG) and what each one means in plain English.

Drawn for this project (not NHS or NHSRplotthedots artwork). Every icon carries its
meaning without colour: variation icons show a letter H or L (high or low), a tick for
improvement or an exclamation mark for concern, and a short run of dots; the common-cause
icon shows a flat run under a level double arrow. Assurance icons show P (pass), F (fail)
or ? (hit and miss) with a dashed target line. Each SVG has a <title> (the meaning) and
`role="img"` for screen readers.

Files: `icons/variation/<name>.svg` and `icons/assurance/<name>.svg`.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Final

from metrics.spc.rules import VARIATION_ICONS

ICON_DIR: Final = Path(__file__).resolve().parent / "icons"
ASSURANCE_ICONS: Final = ("pass", "fail", "inconsistent")

ICON_MEANINGS: Final = {
    "common_cause": "Common cause variation: no significant change",
    "improvement_high": "Special cause variation: improvement (higher is better)",
    "improvement_low": "Special cause variation: improvement (lower is better)",
    "concern_high": "Special cause variation: concern (higher values, where lower is better)",
    "concern_low": "Special cause variation: concern (lower values, where higher is better)",
    "neutral_high": "Special cause variation: higher values (neither direction is better)",
    "neutral_low": "Special cause variation: lower values (neither direction is better)",
    "pass": (
        "Assurance: the target will be met consistently "
        "(the process limits are on the passing side of the target)"
    ),
    "fail": (
        "Assurance: the target will be missed consistently unless the process changes "
        "(the process limits are on the failing side of the target)"
    ),
    "inconsistent": (
        "Assurance: the target will be met only some of the time "
        "(hit and miss: the target lies within the process limits)"
    ),
}


def icon_path(name: str) -> Path:
    """Path of the SVG for a variation icon ("improvement_high", ...) or an assurance icon
    ("pass", "fail", "inconsistent")."""
    if name in VARIATION_ICONS:
        return ICON_DIR / "variation" / f"{name}.svg"
    if name in ASSURANCE_ICONS:
        return ICON_DIR / "assurance" / f"{name}.svg"
    known = ", ".join((*VARIATION_ICONS, *ASSURANCE_ICONS))
    raise ValueError(f"unknown SPC icon {name!r}; icons are: {known}")


@cache
def icon_svg(name: str) -> str:
    """SVG text of an icon (100 x 100 viewBox, with a <title> giving its meaning)."""
    return icon_path(name).read_text(encoding="utf-8")


def icon_meaning(name: str) -> str:
    """Plain-English meaning of an icon, e.g. "Special cause variation: improvement (higher is
    better)"."""
    icon_path(name)  # the same clear error for an unknown name
    return ICON_MEANINGS[name]


ICON_URL_PREFIX: Final = "spc-icons/"


def icon_url(name: str) -> str:
    """The icon's address on the site, relative to a page ('spc-icons/concern_high.svg'),
    served by the site's own route (metrics.ui.server.icon_route). Table image cells use it:
    a screen reader reads a cell's address, and a short one naming the icon is better than
    a data URI thousands of characters long (the table's words column carries the meaning)."""
    icon_path(name)  # the same clear error for an unknown name
    return f"{ICON_URL_PREFIX}{name}.svg"


def icon_data_uri(name: str) -> str:
    """The icon as a self-contained `data:` URI, for <img> tags in pages and exports."""
    encoded = base64.b64encode(icon_svg(name).encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"
