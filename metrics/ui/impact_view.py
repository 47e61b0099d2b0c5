"""The Impact page's study (a request: metric, interventions, model, breakdown,
neighbourhood) with its chart and model comparison, made once per board and shared by
every reader.

The page lays them out; the server's start-up warm (and each reload's) makes the opening
study's the same way before anyone asks (`warm_impact`).
"""

from __future__ import annotations

import pandas as pd

from metrics.analyses.disclosure import Policy, policy_for
from metrics.analyses.impact import (
    Impact,
    ImpactRequest,
    controlled_result,
    run_impact,
    sensitivity_table,
    studies_headline_first,
)
from metrics.board import Board
from metrics.charts.its_chart import its_alt_text, its_chart
from metrics.labels import chart_title
from metrics.ui.components import ChartPart, warm_part


def study(board: Board, request: ImpactRequest) -> Impact:
    """The study of `request` (made once per board)."""
    return board.memo(("impact", request), lambda: run_impact(board, request))


def sensitivity(board: Board, request: ImpactRequest) -> pd.DataFrame:
    """The same effect under each model family (made once per board)."""
    return board.memo(("sensitivity", request), lambda: sensitivity_table(study(board, request)))


def impact_chart(board: Board, request: ImpactRequest, impact: Impact, policy: Policy) -> ChartPart:
    """The study's chart: observed values under the disclosure policy, the fit and the
    counterfactual as computed."""
    assert impact.result is not None
    metric = board.catalogue.metrics[request.metric_id]
    result = impact.result
    return ChartPart(
        lambda: its_chart(
            controlled_result(impact, policy),
            title=chart_title(metric.title, board.catalogue, request.lcn),
            y_title=metric.unit,
        ),
        lambda: its_alt_text(result, subject=metric.title),
        ("impact_chart", request, policy, request.lcn),
        None,
        "Dots are what happened each month; the solid line is the model's fit; the dashed "
        "line and its band are what the model expects would have happened without the "
        "change (the counterfactual, with its 95% confidence band). Shading marks the "
        "phase-in.",
    )


def warm_impact(board: Board) -> None:
    """The page's opening study (the board's headline study, as planned, whole area): its
    fit, its model comparison and its chart for both disclosure policies."""
    studied = studies_headline_first(board)
    if not studied:
        return
    request = ImpactRequest(metric_id=studied[0].id)
    impact = study(board, request)
    if impact.result is None:
        return
    sensitivity(board, request)
    for context in ("board", "public"):
        warm_part(impact_chart(board, request, impact, policy_for(board.catalogue, context)), board)
