"""Making Data Count statistical process control (XmR charts, or run charts where the XmR
limits would carry no information) for board metrics.

    from metrics.spc import SPCOptions, compute_spc
    result = compute_spc(frame, date_col="month", value_col="referrals",
                         options=SPCOptions(improvement="decrease"), target=120)
    result.facet().variation_icon     # e.g. "improvement_low"

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
from metrics.spc.icons import ASSURANCE_ICONS, icon_data_uri, icon_meaning, icon_path, icon_svg
from metrics.spc.rules import POINT_TYPES, VARIATION_ICONS, assurance_type, variation_icon
from metrics.spc.xmr import ProcessLimits, process_limits

__all__ = [
    "ASSURANCE_ICONS",
    "POINT_TYPES",
    "VARIATION_ICONS",
    "FacetSPC",
    "GroupSummary",
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
    "process_limits",
    "variation_icon",
]
