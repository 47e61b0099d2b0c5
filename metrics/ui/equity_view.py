"""The Equity page's view of one choice (measure, grouping, reference group, period,
neighbourhood, disclosure policy): its analysis and its charts, made once per board and
shared by every reader of that choice.

The page lays them out; the server's start-up warm (and each reload's) makes the default
choice's charts the same way before anyone asks (`warm_equity`), so the page's first
visitor does not wait for five charts to be built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass

from metrics.analyses.bed_share import (
    BED_SHARE_GROUP,
    BED_SHARE_METRIC,
    BedShare,
    bed_day_share,
    bed_share_alt_text,
)
from metrics.analyses.disclosure import Policy, policy_for
from metrics.analyses.equity import (
    DIMENSION_TITLES,
    EquityError,
    EquityResult,
    equity_metrics,
    equity_rates,
    metric_dimensions,
)
from metrics.analyses.equity_shown import (
    default_comparison,
    rate_alt_text,
    ratio_suppressed,
    ratio_trend_alt_text,
    standardised_chart_data,
)
from metrics.analyses.funnel import (
    Funnel,
    FunnelError,
    breakdown_funnel,
    funnel_alt_text,
    funnel_caption,
)
from metrics.analyses.reading import default_period
from metrics.board import Board
from metrics.charts.equity_figures import (
    bed_share_chart,
    rate_chart,
    ratio_trend_chart,
    standardised_alt_text,
    standardised_chart,
)
from metrics.charts.funnel_chart import funnel_chart
from metrics.labels import chart_title
from metrics.sql.series import SeriesQuery
from metrics.ui.components import ChartPart, warm_part

DEFAULT_METRIC = "detention_rate"


def default_metric(board: Board) -> str | None:
    """The measure the page opens on: detention rates, else the first equity measure."""
    ids = [m.id for m in equity_metrics(board.catalogue)]
    if not ids:
        return None
    return DEFAULT_METRIC if DEFAULT_METRIC in ids else ids[0]


def analyse(
    board: Board,
    metric_id: str,
    dimension: str,
    start: dt.date,
    end: dt.date,
    lcn: str | None,
    reference: str | None,
) -> EquityResult:
    """The rates and ratios of one choice (made once per board). Raises EquityError."""
    return board.memo(
        ("equity", metric_id, dimension, start, end, lcn, reference),
        lambda: equity_rates(
            board, metric_id, dimension, start=start, end=end, lcn=lcn, reference=reference
        ),
    )


@dataclass(frozen=True)
class EquityView:
    """One reader's choice on the Equity page, with its analysis."""

    board: Board
    result: EquityResult
    start: dt.date
    end: dt.date
    lcn: str | None
    reference: str
    policy: Policy

    @property
    def metric_id(self) -> str:
        return self.result.metric.id

    @property
    def key(self) -> tuple[Hashable, ...]:
        """What identifies the view (and so what is made from it) on a board."""
        return (
            self.metric_id,
            self.result.dimension,
            self.start,
            self.end,
            self.lcn,
            self.reference,
            self.policy,
        )

    def _grouped_by(self) -> str:
        return DIMENSION_TITLES.get(self.result.dimension, self.result.dimension).lower()

    def rate_chart(self) -> ChartPart:
        result, policy, metric = self.result, self.policy, self.result.metric
        return ChartPart(
            lambda: rate_chart(result, policy),
            lambda: rate_alt_text(result, policy),
            ("equity_rate", *self.key),
            chart_title(f"{metric.title} by {self._grouped_by()}", self.board.catalogue, self.lcn),
            "Each group's rate per 100,000 adults a year (point) with its 95% confidence "
            "interval (bar); the reference group is the diamond. Groups with small numbers "
            "or no population figures are left out.",
        )

    def standardised_chart(self) -> ChartPart | None:
        """None when no group has an age-standardised rate to show."""
        result, policy, metric = self.result, self.policy, self.result.metric
        if result.standardised is None:
            return None
        shown = self.board.memo(
            ("equity_view", "standardised_chart", *self.key),
            lambda: standardised_chart_data(result, policy),
        )
        if shown.empty:
            return None
        return ChartPart(
            lambda: standardised_chart(result, policy),
            lambda: standardised_alt_text(result, policy),
            ("equity_standardised", *self.key),
            chart_title(
                f"{metric.title}: crude and age-standardised rates by {self._grouped_by()}",
                self.board.catalogue,
                self.lcn,
            ),
            "Each group's crude rate (grey circle) and age-standardised rate (blue square) "
            "per 100,000 adults a year, with 95% confidence intervals. Where the two differ, "
            "age explains part of the crude figure.",
        )

    def ratio_trend_chart(self, group: str) -> ChartPart | None:
        """None when the numbers are too small to show the yearly comparison."""
        result, policy, metric = self.result, self.policy, self.result.metric
        if ratio_suppressed(result, group, policy):
            return None
        reference = self.reference
        return ChartPart(
            lambda: ratio_trend_chart(result, group, policy),
            lambda: ratio_trend_alt_text(result, group, policy),
            ("equity_ratio_trend", group, *self.key),
            chart_title(
                f"{metric.title}: {group} rate against {reference}, by year",
                self.board.catalogue,
                self.lcn,
            ),
            f"How many times the {reference} rate the {group} rate was in each financial "
            "year (April to March), with 95% confidence intervals. The dashed line at 1 is "
            "equal rates; hollow points are part years. Years with small numbers are left "
            "out.",
        )

    def funnel(self) -> Funnel:
        """Every neighbourhood's rate against its population (the whole area's view, so
        the chosen neighbourhood can be compared). Raises FunnelError."""
        board, metric_id, start, end, policy = (
            self.board,
            self.metric_id,
            self.start,
            self.end,
            self.policy,
        )
        return board.memo(
            ("funnel", metric_id, "lcn", start, end, policy),
            lambda: breakdown_funnel(
                board,
                metric_id,
                SeriesQuery(breakdown="lcn", start=start, end=end),
                policy,
            ),
        )

    def funnel_chart(self, funnel: Funnel) -> ChartPart:
        return ChartPart(
            lambda: funnel_chart(funnel),
            lambda: funnel_alt_text(funnel),
            ("equity_funnel", self.metric_id, self.start, self.end, self.policy),
            None,
            funnel_caption(funnel),
        )

    def bed_share(self) -> BedShare:
        """The share of acute bed days against the population share (whole area). Raises
        EquityError."""
        board, metric_id, start, end = self.board, self.metric_id, self.start, self.end
        return board.memo(
            ("bed_share", metric_id, start, end),
            lambda: bed_day_share(board, population_metric_id=metric_id, start=start, end=end),
        )

    def bed_share_chart(self, share: BedShare) -> ChartPart:
        policy = self.policy
        return ChartPart(
            lambda: bed_share_chart(share, policy),
            lambda: bed_share_alt_text(share, policy),
            ("equity_bed_share", self.metric_id, self.start, self.end, policy),
            chart_title(
                f"Share of acute bed days used by {BED_SHARE_GROUP} patients",
                self.board.catalogue,
            ),
            f"The share of acute bed days used by {BED_SHARE_GROUP} patients each financial "
            f"year (solid line, circles) against {BED_SHARE_GROUP} adults' share of the adult "
            "population (dashed line, squares). A gap means heavier use of beds than the "
            "population share alone would suggest.",
        )


def opening_reference(result: EquityResult) -> str | None:
    """The reference group the page opens on: the analysis's own, if it has a rate."""
    with_rates = [g.group for g in result.rates.with_rates]
    if not with_rates:
        return None
    return result.reference if result.reference in with_rates else with_rates[0]


def opening_group(result: EquityResult, reference: str, policy: Policy) -> str | None:
    """The group the headline compares with the reference when the page opens."""
    compared = [g.group for g in result.rates.with_rates if g.group != reference]
    if not compared:
        return None
    chosen = default_comparison(result, policy)
    return chosen if chosen in compared else compared[0]


def view_charts(view: EquityView, group: str | None) -> list[ChartPart]:
    """Every chart of the page for `view`, in page order (those it can show)."""
    parts: list[ChartPart | None] = [view.rate_chart(), view.standardised_chart()]
    if group:
        parts.append(view.ratio_trend_chart(group))
    if "lcn" in view.result.metric.breakdowns:
        with contextlib.suppress(FunnelError):  # the page says why there is none
            parts.append(view.funnel_chart(view.funnel()))
    if BED_SHARE_METRIC in view.board.catalogue.metrics:
        with contextlib.suppress(EquityError):  # the page says why there is none
            parts.append(view.bed_share_chart(view.bed_share()))
    return [p for p in parts if p is not None]


def warm_equity(board: Board) -> None:
    """Make the charts of the page's opening view (the default measure, its first
    grouping, the whole period, every neighbourhood) for both disclosure policies, the way
    the page makes them: the server's warm."""
    metric_id = default_metric(board)
    period = default_period(board)
    if metric_id is None or period is None:
        return
    dimensions = metric_dimensions(board.catalogue.metrics[metric_id])
    if not dimensions:
        return
    start, end = period
    try:
        result = analyse(board, metric_id, dimensions[0], start, end, None, None)
    except EquityError:
        return  # the page says why
    reference = opening_reference(result)
    if reference is None:
        return
    if reference != result.reference:
        result = analyse(board, metric_id, dimensions[0], start, end, None, reference)
    for context in ("board", "public"):
        policy = policy_for(board.catalogue, context)
        view = EquityView(board, result, start, end, None, reference, policy)
        for part in view_charts(view, opening_group(result, reference, policy)):
            warm_part(part, board)
