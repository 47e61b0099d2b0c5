"""Making Data Count statistical process control (XmR charts, or run charts where the XmR
limits would carry no information) for board metrics.

    from metrics.spc import SPCOptions, compute_spc
    result = compute_spc(frame, date_col="month", value_col="referrals",
                         options=SPCOptions(improvement="decrease"), target=120)
    result.facet().variation_icon     # e.g. "improvement_low"

Laney p'/u' charts for ratios and rates with large denominators:
    compute_spc(frame, date_col="month", numerator_col="numerator",
                denominator_col="denominator", per=100, options=SPCOptions(chart="laney"))

Semantics: NHSRplotthedots v0.2.2 by default; see `metrics.spc.engine` and docs/spc.md.
Nothing here imports Streamlit.
"""

from metrics.spc.engine import (
    FacetSPC,
    GroupSummary,
    SPCInputError,
    SPCOptions,
    SPCResult,
    classify_points,
    classify_run_chart_points,
    compute_spc,
)
from metrics.spc.icons import (
    ASSURANCE_ICONS,
    icon_data_uri,
    icon_meaning,
    icon_path,
    icon_svg,
    icon_url,
)
from metrics.spc.laney import LaneyLimits, laney_limits
from metrics.spc.rules import POINT_TYPES, VARIATION_ICONS, assurance_type, variation_icon
from metrics.spc.xmr import ProcessLimits, process_limits

__all__ = [
    "ASSURANCE_ICONS",
    "POINT_TYPES",
    "VARIATION_ICONS",
    "FacetSPC",
    "GroupSummary",
    "LaneyLimits",
    "ProcessLimits",
    "SPCInputError",
    "SPCOptions",
    "SPCResult",
    "assurance_type",
    "classify_points",
    "classify_run_chart_points",
    "compute_spc",
    "icon_data_uri",
    "icon_meaning",
    "icon_path",
    "icon_svg",
    "icon_url",
    "laney_limits",
    "process_limits",
    "variation_icon",
]
