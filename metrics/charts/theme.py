"""The one chart theme: an NHS-style plain look with a colour-blind-safe palette.

Colours are never the only carrier of meaning: charts that distinguish categories by
colour also use shape, dash or a direct label (WCAG 2.2 "use of colour").
"""

from __future__ import annotations

import functools
from typing import Any

import altair as alt

# NHS identity colours (plain look: dark text on white, one accent).
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
TEXT = "#212B32"
SECONDARY_TEXT = "#4C6272"
GRID = "#D8DDE0"
BACKGROUND = "#FFFFFF"

# Okabe & Ito (2008) palette: distinguishable under the common colour-vision deficiencies.
CATEGORICAL = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#F0E442",  # yellow (last: low contrast on white)
]

# Making Data Count SPC colours (NHSRplotthedots): blue/orange are told apart under
# deuteranopia and protanopia, and the SPC chart also marks point type by shape.
SPC_COMMON = "#A6A6A6"
SPC_IMPROVEMENT = "#00B0F0"
SPC_CONCERN = "#E46C0A"
SPC_NEUTRAL = "#490092"
SPC_MEAN = "#000000"
SPC_LIMIT = "#A6A6A6"
SPC_TARGET = "#DE1B1B"

# Counterfactual and model lines in impact charts.
OBSERVED = "#4C6272"
FITTED = NHS_BLUE
COUNTERFACTUAL = "#D55E00"

FONT = "Arial, Helvetica, sans-serif"  # system fonts only: no web font is ever fetched


def vega_config() -> dict[str, Any]:
    """Vega-Lite `config` block applied to every chart (larger type, light grid)."""
    return {
        "background": BACKGROUND,
        "font": FONT,
        "view": {"stroke": None},
        "axis": {
            "labelColor": TEXT,
            "titleColor": TEXT,
            "gridColor": GRID,
            "domainColor": SECONDARY_TEXT,
            "tickColor": SECONDARY_TEXT,
            "labelFontSize": 12,
            "titleFontSize": 13,
            "titleFontWeight": "normal",
        },
        "legend": {"labelColor": TEXT, "titleColor": TEXT, "labelFontSize": 12},
        "title": {"color": TEXT, "fontSize": 15, "anchor": "start", "fontWeight": "bold"},
        "range": {"category": CATEGORICAL},
        "line": {"strokeWidth": 2},
        "point": {"size": 50, "filled": True},
    }


def apply_theme(chart: Any) -> Any:
    """Return `chart` with the project theme configured (works on any Altair top-level chart).

    One shallow copy with the whole configuration set at once: each chained configure_*
    call deep-copied the chart, data and all, six times per chart."""
    themed = chart.copy(deep=False)
    configure_theme(themed)
    return themed


def configure_theme(chart: Any) -> None:
    """Set the project theme on `chart` itself, for a chart its caller has just built and
    owns: even a shallow copy of a layered chart makes Altair copy every layer again (about
    40 ms for an SPC chart), which `apply_theme` pays."""
    chart.config = _theme_config()


@functools.cache
def _theme_config() -> alt.Config:
    """The theme as Altair's configuration, built once (about 7 ms each time): charts share
    it, and nothing changes it in place (Altair's configure_* methods copy it first)."""
    cfg = vega_config()
    return alt.Config(
        background=cfg["background"],
        font=cfg["font"],
        view=alt.ViewConfig(stroke=None),
        axis=alt.AxisConfig(**cfg["axis"]),
        legend=alt.LegendConfig(**cfg["legend"]),
        title=alt.TitleConfig(**cfg["title"]),
        range=alt.RangeConfig(category=CATEGORICAL),
    )
