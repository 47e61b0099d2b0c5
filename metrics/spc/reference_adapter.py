"""Adapter from the reference checker's contract to `compute_spc`.

    python /work/shared/reference_data/spc/check_fixtures.py \
        --impl metrics.spc.reference_adapter:compute --unit metrics.spc.rules

The checker passes one facet's values in time order (None or NaN for missing), rebase
points as 0-based indices and a single target; this builds a monthly series from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from metrics.spc.engine import SPCOptions, compute_spc


def compute(
    values: Sequence[float | None],
    *,
    improvement_direction: str,
    target: float | None,
    rebase_at: Sequence[int],
    fix_after_n_points: int | None,
    screen_outliers: bool,
) -> dict[str, Any]:
    """Run the engine on one reference facet and return the checker's keys."""
    dates = pd.date_range("2000-01-01", periods=len(values), freq="MS")
    frame = pd.DataFrame(
        {"date": dates, "value": np.array([np.nan if v is None else v for v in values], float)}
    )
    options = SPCOptions(
        improvement=improvement_direction,
        screen_outliers=screen_outliers,
        fix_after_n_points=fix_after_n_points,
    )
    rebase = [dates[i] for i in rebase_at]
    result = compute_spc(frame, options=options, target=target, rebase=rebase)
    facet = result.facet()
    points = result.points
    return {
        "mean": points["mean"].to_numpy(),
        "lpl": points["lpl"].to_numpy(),
        "upl": points["upl"].to_numpy(),
        "rebase_group": points["rebase_group"].to_numpy(),
        "special_cause_type": points["special_cause_type"].tolist(),
        "special_cause_flag": points["special_cause_flag"].to_numpy(),
        "point_type": points["point_type"].tolist(),
        "short_group_warning": points["short_group_warning"].to_numpy(),
        "variation_icon": facet.variation_icon,
        "assurance_type": facet.assurance_type,
        "assurance_icon": facet.assurance_icon,
        "summary": [group.to_dict() for group in facet.summary],
    }
