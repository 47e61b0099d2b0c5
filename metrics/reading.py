"""The board's reading of each metric: its Making Data Count SPC result and icons, and
whether it needs the board's attention (special-cause concern, or a target it fails).

Provisional months (still filling up) are left out of the SPC reading, so an incomplete
latest month is never read as a special cause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from metrics.board import Board, MetricSummary
from metrics.definitions.models import MetricDef
from metrics.series import SeriesError, SeriesQuery
from metrics.spc import FacetSPC, SPCOptions, SPCResult, compute_spc, icon_meaning

IMPROVEMENT = {"up": "increase", "down": "decrease", "neutral": "neutral"}
CONCERN_ICONS = {"concern_high", "concern_low"}


@dataclass(frozen=True)
class SPCReading:
    """An SPC result for one metric (and group, if broken down) with what was left out."""

    result: SPCResult | None
    reason: str = ""  # why there is no result
    provisional_months: tuple[dt.date, ...] = ()
    rebased_at: tuple[str, ...] = ()  # intervention ids at which limits were recalculated


@dataclass(frozen=True)
class MetricReading:
    metric: MetricDef
    summary: MetricSummary
    spc: SPCReading

    @property
    def facet(self) -> FacetSPC | None:
        return self.spc.result.facet() if self.spc.result is not None else None

    @property
    def variation_icon(self) -> str | None:
        return self.facet.variation_icon if self.facet else None

    @property
    def assurance_icon(self) -> str | None:
        return self.facet.assurance_icon if self.facet else None

    @property
    def attention_reason(self) -> str:
        """Why the board should look at this metric ('' when it need not)."""
        facet = self.facet
        if facet is None:
            return ""
        reasons = []
        if facet.variation_icon in CONCERN_ICONS:
            reasons.append(f"special-cause concern ({facet.latest_rule or 'latest point'})")
        if facet.assurance_type == "consistent_fail":
            reasons.append(
                "will not meet its target without a change (the target is outside the limits)"
            )
        return "; ".join(reasons)

    @property
    def needs_attention(self) -> bool:
        return bool(self.attention_reason)

    @property
    def rank(self) -> int:
        """0 concern and failing, 1 concern, 2 failing, 3 hit and miss, 4 other, 5 unavailable."""
        facet = self.facet
        if facet is None or not self.summary.available:
            return 5
        concern = facet.variation_icon in CONCERN_ICONS
        failing = facet.assurance_type == "consistent_fail"
        if concern and failing:
            return 0
        if concern:
            return 1
        if failing:
            return 2
        if facet.assurance_type == "inconsistent":
            return 3
        return 4


def spc_options(metric: MetricDef) -> SPCOptions:
    return SPCOptions(
        improvement=IMPROVEMENT[metric.better],
        screen_outliers=metric.spc.screen_outliers,
        fix_after_n_points=metric.spc.fix_after_n_points,
    )


def spc_target(metric: MetricDef) -> float | list[tuple[dt.date, float]] | None:
    if metric.target is None:
        return None
    if metric.target.from_ is not None:
        return [(metric.target.from_, metric.target.value)]
    return metric.target.value


def spc_reading(board: Board, metric_id: str, query: SeriesQuery) -> SPCReading:
    """SPC of the metric's series under `query` (one facet per group when broken down)."""
    return board.memo(("spc", metric_id, query), lambda: _spc_reading(board, metric_id, query))


def _spc_reading(board: Board, metric_id: str, query: SeriesQuery) -> SPCReading:
    metric = board.metric(metric_id)
    try:
        frame = board.series(metric_id, query).frame
    except SeriesError as exc:
        return SPCReading(None, str(exc))
    known = frame.dropna(subset=["value"])
    if known.empty:
        return SPCReading(None, "no data in the selected period")
    provisional_count = board.catalogue.sources[metric.source].provisional_months
    provisional: tuple[dt.date, ...] = ()
    if provisional_count:
        months = sorted(known["month"].unique())
        if len(months) > provisional_count:
            cut = months[-provisional_count]
            provisional = tuple(pd.Timestamp(m).date() for m in months[-provisional_count:])
            frame = frame[frame["month"] < cut]
    first, last = frame["month"].min().date(), frame["month"].max().date()
    rebase_ids = tuple(
        i
        for i in metric.spc.rebase_at
        if i in board.catalogue.interventions
        and first < board.catalogue.interventions[i].start <= last
    )
    rebase = [board.catalogue.interventions[i].start for i in rebase_ids]
    try:
        result = compute_spc(
            frame,
            date_col="month",
            value_col="value",
            facet_col="group" if "group" in frame else None,
            options=spc_options(metric),
            target=spc_target(metric),
            rebase=rebase or None,
        )
    except ValueError as exc:  # SPCInputError and option errors: a reason, not a crash
        return SPCReading(None, f"SPC could not be computed: {exc}")
    return SPCReading(result, provisional_months=provisional, rebased_at=rebase_ids)


def metric_reading(board: Board, metric_id: str, query: SeriesQuery) -> MetricReading:
    whole = SeriesQuery(start=query.start, end=query.end, lcn=query.lcn)
    return MetricReading(
        board.metric(metric_id),
        board.summary(metric_id, whole),
        spc_reading(board, metric_id, whole),
    )


def readings(board: Board, query: SeriesQuery) -> list[MetricReading]:
    """Every live metric, in the board layout's domain order."""
    order = board.catalogue.domain_order()
    metrics = sorted(
        (m for m in board.catalogue.metrics.values() if m.status != "retired"),
        key=lambda m: order.index(m.domain) if m.domain in order else len(order),
    )
    return [metric_reading(board, m.id, query) for m in metrics]


def exceptions_first(items: list[MetricReading]) -> list[MetricReading]:
    """Needs attention first (concern and failing targets), then the rest, stable by domain."""
    return sorted(items, key=lambda r: r.rank)


def icon_text(icon: str | None) -> str:
    return icon_meaning(icon) if icon else ""


def group_icon_table(result: SPCResult, metric: MetricDef) -> pd.DataFrame:
    """Per group: latest value, variation and assurance icons (as data URIs) and meanings."""
    from metrics.formatting import format_value
    from metrics.spc import icon_data_uri

    rows = []
    for facet in result.facets:
        rows.append(
            {
                "Group": str(facet.facet),
                "Latest": format_value(facet.latest_value, metric),
                "Variation": icon_data_uri(facet.variation_icon) if facet.variation_icon else "",
                "Assurance": icon_data_uri(facet.assurance_icon) if facet.assurance_icon else "",
                "What the icons say": ". ".join(
                    icon_meaning(i) for i in (facet.variation_icon, facet.assurance_icon) if i
                ),
            }
        )
    return pd.DataFrame(rows)
