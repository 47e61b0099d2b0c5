"""The board's reading of each metric: one figure, computed once, the same everywhere.

A `Reading` is what a reader sees for (metric, period, neighbourhood, audience): the
value as shown (disclosure-controlled for the audience), the month it is for, whether
that month is final or provisional (and how complete), the change on a year earlier, the
Making Data Count icons, whether it needs the board's attention, and the exact text shown.
Every page, the board pack (PDF), the PowerPoint, the HTML deck and `python -m metrics
readings` take their figures from here, so the same figure can never read differently in
two places.

Provisional data, one policy (board.yaml `provisional`): a source's latest
`provisional_months` months are still filling up. The headline is the latest *final*
month by default (`headline: latest_final`); provisional months are shown on charts and
tables marked as such, never used by the SPC rules, and never silently the headline. With
`headline: latest` the latest month is the headline, labelled provisional.

Scope: a metric not recorded by neighbourhood, read under a neighbourhood filter, is the
borough's figure and says so ("borough-wide: not recorded by neighbourhood"); it is never
passed off as the neighbourhood's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from metrics.analyses.disclosure import (
    SUPPRESSED,
    Cell,
    Policy,
    control_change,
    control_spc_points,
    control_value,
    is_controlled,
    policy_for,
)
from metrics.board import Board
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import MetricDef
from metrics.formatting import format_change, format_value
from metrics.spc import FacetSPC, SPCOptions, SPCResult, compute_spc, icon_meaning
from metrics.spc.wording import rule_meaning
from metrics.sql.series import SeriesError, SeriesQuery

Audience = Literal["board", "public"]
Scope = Literal["area", "neighbourhood", "borough"]
IMPROVEMENT = {"up": "increase", "down": "decrease", "neutral": "neutral"}
CONCERN_ICONS = {"concern_high", "concern_low"}
SPARKLINE_MONTHS = 24
STATISTICS = {"mean", "median"}  # and any percentile: completeness is values / rows
BOROUGH_WIDE = "borough-wide: not recorded by neighbourhood"


def month_label(month: dt.date | pd.Timestamp | None) -> str:
    """A month as readers see it everywhere: 'Mar 2025'."""
    if month is None or (isinstance(month, float) and math.isnan(month)):
        return ""
    return f"{pd.Timestamp(month):%b %Y}"


def span_label(start: dt.date | None, end: dt.date | None) -> str:
    """A period: 'Apr 2019 to Mar 2025' (or one month)."""
    if start is None or end is None:
        return "the whole period of the data"
    if (start.year, start.month) == (end.year, end.month):
        return month_label(start)
    return f"{month_label(start)} to {month_label(end)}"


def default_period(board: Board) -> tuple[dt.date, dt.date] | None:
    """The period every page opens on and the packs are built for: board.yaml's
    default_from and default_to, within the data's span (the span itself where they fall
    outside it, or where none is set). None when no source has dates."""
    span = board.data_span()
    if span is None:
        return None
    first, last = span
    layout = board.catalogue.board
    start = layout.default_from
    end = layout.default_to
    start = start if start is not None and first <= start <= last else first
    end = end if end is not None and first <= end <= last else last
    if start > end:
        start, end = first, last
    return start, end


def metric_span(frame: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """First and last month with a value in a series frame (None when it has none)."""
    known = frame.dropna(subset=["value"]) if "value" in frame else frame.iloc[0:0]
    if known.empty:
        return None
    return known["month"].min().date(), known["month"].max().date()


def no_data_reason(
    span: tuple[dt.date, dt.date] | None, start: dt.date | None, end: dt.date | None
) -> str:
    """'no data in the selected period', with where the metric's data are when it has any
    ('its data run from Apr 2016 to Mar 2019')."""
    if span is None:
        return "no data in the selected period"
    where = (
        f"its only data are for {month_label(span[0])}"
        if span[0] == span[1]
        else f"its data run from {span_label(*span)}"
    )
    return f"no data in the selected period ({span_label(start, end)}); {where}"


def period_for(
    board: Board, metric_id: str, start: dt.date, end: dt.date, lcn: str | None = None
) -> tuple[dt.date, dt.date] | None:
    """The metric's own span when it has no data in `start`..`end` (a page then shows that
    period and says so); None when the period has data, or the metric has none at all."""
    try:
        whole = board.series(metric_id, SeriesQuery(lcn=lcn)).frame
    except SeriesError:
        return None
    span = metric_span(whole)
    if span is None:
        return None
    first, last = span
    return None if first <= end and last >= start else span


# --------------------------------------------------------------------------- provisional


def provisional_months(board: Board, metric: MetricDef) -> tuple[dt.date, ...]:
    """The months of `metric` still filling up: its source's latest `provisional_months`
    months (counted back from the source's last month)."""
    source = board.catalogue.sources.get(metric.source)
    loaded = board.warehouse.loaded.get(metric.source)
    if source is None or loaded is None or not source.provisional_months or not loaded.last_month:
        return ()
    last = pd.Timestamp(loaded.last_month)
    return tuple(
        (last - pd.DateOffset(months=k)).date()
        for k in range(source.provisional_months - 1, -1, -1)
    )


def provisional_statement(catalogue: Catalogue) -> str:
    """The provisional-data policy in one line, for every page and the pack that use it."""
    if catalogue.board.provisional.headline == "latest":
        return (
            "Headline figures are for the latest month with data; where that month is "
            "provisional (still filling up) it is labelled so. Provisional months are shown "
            "as hollow points and left out of the SPC reading."
        )
    return (
        "Headline figures are for the latest final month. Later months are provisional "
        "(still filling up): they are shown as hollow points, marked in tables, and left out "
        "of the SPC reading."
    )


def completeness(metric: MetricDef, board: Board, row: Any) -> float | None:
    """How complete a provisional month is, where the data can tell: for a statistic of a
    record-level source (a median wait), the share of rows that have a value recorded so
    far. None where it cannot be known (counts and sums still arriving)."""
    source = board.catalogue.sources.get(metric.source)
    if source is None or source.grain == "monthly":
        return None
    if metric.measure not in STATISTICS and metric.percentile is None:
        return None
    rows = _number(row.get("rows"))
    n = _number(row.get("n"))
    if not rows or n is None:
        return None
    return n / rows


def status_label(provisional: bool, share: float | None) -> str:
    if not provisional:
        return "final"
    if share is None:
        return "provisional (still filling up; completeness not known)"
    return f"provisional: {share:.0%} recorded"


# --------------------------------------------------------------------------- SPC


@dataclass(frozen=True)
class SPCReading:
    """An SPC result for one metric (and group, if broken down) with what was left out.

    `provisional` holds the exact rows of the provisional months (month, [group], value,
    numerator, denominator, n, rows): charts draw them as hollow points, after
    disclosure control; the SPC rules never see them."""

    result: SPCResult | None
    reason: str = ""  # why there is no result
    provisional_months: tuple[dt.date, ...] = ()
    rebased_at: tuple[str, ...] = ()  # intervention ids at which limits were recalculated
    provisional: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    rebased_titles: tuple[str, ...] = ()  # their titles, for captions
    rebased_starts: tuple[dt.date, ...] = ()  # their first months, for captions


def spc_options(metric: MetricDef) -> SPCOptions:
    # spc.chart: laney is a Laney p' chart for a ratio (a proportion), u' for a rate
    # (validation allows it for no other measure); xmr keeps the automatic run-chart fallback
    laney = metric.spc.chart == "laney"
    return SPCOptions(
        improvement=IMPROVEMENT[metric.better],
        screen_outliers=metric.spc.screen_outliers,
        fix_after_n_points=metric.spc.fix_after_n_points,
        chart="laney" if laney else "auto",
        laney_chart="u" if metric.measure == "rate" else "p",
    )


def spc_target(metric: MetricDef) -> float | list[tuple[dt.date, float]] | None:
    if metric.target is None:
        return None
    if metric.target.from_ is not None:
        return [(metric.target.from_, metric.target.value)]
    return metric.target.value


def spc_reading(board: Board, metric_id: str, query: SeriesQuery) -> SPCReading:
    """SPC of the metric's series under `query` (one facet per group when broken down),
    on final months only."""
    return board.memo(("spc", metric_id, query), lambda: _spc_reading(board, metric_id, query))


def _spc_reading(board: Board, metric_id: str, query: SeriesQuery) -> SPCReading:
    metric = board.metric(metric_id)
    try:
        frame = board.series(metric_id, query).frame
    except SeriesError as exc:
        return SPCReading(None, str(exc))
    if frame.dropna(subset=["value"]).empty:
        return SPCReading(None, "no data in the selected period")
    pending = provisional_months(board, metric)
    provisional_rows = None
    if pending:
        cut = pd.Timestamp(pending[0])
        provisional_rows = frame[frame["month"] >= cut].reset_index(drop=True)
        frame = frame[frame["month"] < cut]
        if frame.dropna(subset=["value"]).empty:
            return SPCReading(
                None,
                "no final month in the selected period (the months in it are provisional)",
                provisional_months=pending,
                provisional=provisional_rows,
            )
    first, last = frame["month"].min().date(), frame["month"].max().date()
    rebase_ids = tuple(
        i
        for i in metric.spc.rebase_at
        if i in board.catalogue.interventions
        and board.catalogue.interventions[i].kind != "relabel"  # a name, not the service
        and first < board.catalogue.interventions[i].start <= last
    )
    rebase = [board.catalogue.interventions[i].start for i in rebase_ids]
    laney: dict[str, Any] = {}
    if metric.spc.chart == "laney":  # the frame's parts, in the metric's scale (its per)
        per = metric.rate.per if metric.measure == "rate" and metric.rate else metric.per
        laney = {"numerator_col": "numerator", "denominator_col": "denominator", "per": per}
    try:
        result = compute_spc(
            frame,
            date_col="month",
            value_col="value",
            facet_col="group" if "group" in frame else None,
            options=spc_options(metric),
            target=spc_target(metric),
            rebase=rebase or None,
            **laney,
        )
    except ValueError as exc:  # SPCInputError and option errors: a reason, not a crash
        return SPCReading(None, f"SPC could not be computed: {exc}")
    return SPCReading(
        result,
        provisional_months=tuple(m for m in pending if provisional_rows is not None),
        rebased_at=rebase_ids,
        provisional=provisional_rows,
        rebased_titles=tuple(board.catalogue.interventions[i].title for i in rebase_ids),
        rebased_starts=tuple(board.catalogue.interventions[i].start for i in rebase_ids),
    )


# --------------------------------------------------------------------------- the reading


@dataclass(frozen=True)
class ProvisionalPoint:
    """A provisional month as shown: its month, the figure (controlled) and its status."""

    month: dt.date
    display: str
    status: str  # "provisional: 57% recorded"
    completeness: float | None


@dataclass(frozen=True)
class Reading:
    """One metric's figure for a period, neighbourhood and audience, as readers see it.

    `value` and `display` are as shown under the audience's disclosure policy (`value` is
    None when suppressed or missing); exact figures never leave the engine through here.
    """

    metric: MetricDef
    audience: Audience
    start: dt.date | None
    end: dt.date | None
    lcn: str | None
    available: bool
    reason: str = ""
    scope: Scope = "area"
    scope_note: str = ""
    month: dt.date | None = None
    value: float | None = None
    display: str = "–"  # the figure with its unit, as shown: '712 GBP', '57.1%', '*'
    value_text: str = "–"  # the figure without a count's unit: '712', '57.1%', '£712', '*'
    suppressed: bool = False
    provisional: bool = False
    completeness: float | None = None
    change: float | None = None
    change_display: str = ""
    change_month: dt.date | None = None
    spc: SPCReading = field(default_factory=lambda: SPCReading(None))
    sparkline: tuple[float, ...] = ()
    provisional_points: tuple[ProvisionalPoint, ...] = ()
    # The SPC result as shown: points' values (and each facet's latest value) are the
    # figures as the audience sees them (NaN where suppressed); limits are from the exact
    # figures. What charts draw, on every page and in every export.
    spc_shown: SPCResult | None = field(default=None, compare=False, repr=False)
    # Provisional months as shown, for hollow points: date, value (NaN when suppressed).
    provisional_shown: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    # First and last month with data (any period), so a reading with no data in the period
    # can say where the data are and a page can offer that period instead.
    data_span: tuple[dt.date, dt.date] | None = None

    # ---- words -------------------------------------------------------------------------
    @property
    def period(self) -> str:
        """The month the figure is for ('Mar 2025'), or '' when there is none."""
        return month_label(self.month)

    @property
    def status(self) -> str:
        return "provisional" if self.provisional else "final"

    @property
    def status_label(self) -> str:
        return status_label(self.provisional, self.completeness)

    @property
    def change_period(self) -> str:
        """'on Mar 2024' (the month the change is measured against), or ''."""
        return f"on {month_label(self.change_month)}" if self.change_month else ""

    @property
    def headline(self) -> str:
        """The figure with its period: '712 GBP (Jan 2025)', '* (Jan 2025)'."""
        if not self.available:
            return f"Unavailable: {self.reason}"
        extras = [self.period]
        if self.provisional:
            extras.append(self.status_label)
        if self.scope == "borough":
            extras.append(BOROUGH_WIDE)
        return f"{self.display} ({', '.join(e for e in extras if e)})"

    # ---- SPC ---------------------------------------------------------------------------
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
    def icon_words(self) -> str:
        return ". ".join(icon_meaning(i) for i in (self.variation_icon, self.assurance_icon) if i)

    @property
    def attention_reason(self) -> str:
        """Why the board should look at this metric ('' when it need not)."""
        facet = self.facet
        if facet is None:
            return ""
        reasons = []
        if facet.variation_icon in CONCERN_ICONS:
            reasons.append(
                f"special-cause concern ({rule_meaning(facet.latest_rule) or 'latest month'})"
            )
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
        if facet is None or not self.available:
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

    def to_json(self) -> dict[str, Any]:
        """What `python -m metrics readings --json` prints for this reading."""
        return {
            "metric": self.metric.id,
            "title": self.metric.title,
            "value": self.value,
            "display": self.display if self.available else "",
            "period": self.period,
            "status": self.status if self.available else "unavailable",
            "status_label": self.status_label if self.available else self.reason,
            "completeness": None if self.completeness is None else round(self.completeness, 4),
            "change": self.change,
            "change_display": self.change_display,
            "change_period": self.change_period,
            "variation": self.variation_icon,
            "assurance": self.assurance_icon,
            "attention": self.attention_reason,
            "suppressed": self.suppressed,
            "scope": self.scope,
            "scope_note": self.scope_note,
            "available": self.available,
            "reason": self.reason,
            "audience": self.audience,
            "neighbourhood": self.lcn,
            "from": month_label(self.start),
            "to": month_label(self.end),
            "provisional_months": [
                {"period": month_label(p.month), "display": p.display, "status": p.status}
                for p in self.provisional_points
            ],
        }


def read_metric(
    board: Board, metric_id: str, query: SeriesQuery, audience: Audience = "board"
) -> Reading:
    """The metric's reading for the period and neighbourhood of `query`, for `audience`
    (computed once per board; a breakdown in `query` is ignored)."""
    key = ("reading", metric_id, query.start, query.end, query.lcn, audience)
    return board.memo(key, lambda: _read(board, metric_id, query, audience))


def readings(board: Board, query: SeriesQuery, audience: Audience = "board") -> list[Reading]:
    """Every live metric, in the board layout's domain order."""
    key = ("readings", query.start, query.end, query.lcn, audience)
    return board.memo(key, lambda: _readings(board, query, audience))


def _readings(board: Board, query: SeriesQuery, audience: Audience) -> list[Reading]:
    order = board.catalogue.domain_order()
    metrics = sorted(
        (m for m in board.catalogue.metrics.values() if m.status != "retired"),
        key=lambda m: order.index(m.domain) if m.domain in order else len(order),
    )
    return [read_metric(board, m.id, query, audience) for m in metrics]


def exceptions_first(items: list[Reading]) -> list[Reading]:
    """Needs attention first (concern and failing targets), then the rest, stable by domain."""
    return sorted(items, key=lambda r: r.rank)


def scope_of(board: Board, metric: MetricDef, lcn: str | None) -> Scope:
    """'area' (no neighbourhood asked for), 'neighbourhood', or 'borough' (asked for, but
    the metric is not recorded by neighbourhood, so the figure is the borough's)."""
    if not lcn:
        return "area"
    source = board.catalogue.sources.get(metric.source)
    column = board.catalogue.board.lcn_column
    if source is not None and column in source.columns and board.lcn_recorded(metric.id):
        return "neighbourhood"
    return "borough"


def _read(board: Board, metric_id: str, query: SeriesQuery, audience: Audience) -> Reading:
    metric = board.metric(metric_id)
    policy = policy_for(board.catalogue, audience)
    scope = scope_of(board, metric, query.lcn)
    series_lcn = query.lcn if scope == "neighbourhood" else None
    top_level = scope != "neighbourhood"
    base = {
        "metric": metric,
        "audience": audience,
        "start": query.start,
        "end": query.end,
        "lcn": query.lcn,
        "scope": scope,
        "scope_note": BOROUGH_WIDE if scope == "borough" else "",
    }
    period_query = SeriesQuery(start=query.start, end=query.end, lcn=series_lcn)
    spc = spc_reading(board, metric_id, period_query)
    try:
        whole = board.series(metric_id, SeriesQuery(lcn=series_lcn)).frame
    except SeriesError as exc:
        return Reading(**base, available=False, reason=str(exc), spc=spc)
    in_period = whole
    if query.start is not None:
        in_period = in_period[in_period["month"] >= pd.Timestamp(query.start)]
    if query.end is not None:
        in_period = in_period[in_period["month"] <= pd.Timestamp(query.end)]
    known = in_period.dropna(subset=["value"])
    span = metric_span(whole)
    if known.empty:
        return Reading(
            **base,
            available=False,
            reason=no_data_reason(span, query.start, query.end),
            spc=spc,
            data_span=span,
        )

    pending = set(pd.to_datetime(list(provisional_months(board, metric))))
    final = known[~known["month"].isin(pending)]
    if board.catalogue.board.provisional.headline == "latest":
        row = known.iloc[-1]
    elif final.empty:
        months = ", ".join(month_label(m) for m in sorted(known["month"]))
        return Reading(
            **base,
            available=False,
            reason=f"no final month in the selected period ({months} provisional, still "
            "filling up)",
            spc=spc,
            provisional_points=_provisional_points(board, metric, known, policy, top_level),
        )
    else:
        row = final.iloc[-1]
    month = pd.Timestamp(row["month"])
    is_provisional = month in pending
    cell = _shown(metric, policy, row, top_level)
    share = completeness(metric, board, row) if is_provisional else None

    year_ago = month - pd.DateOffset(years=1)
    before = whole[whole["month"] == year_ago]
    change: float | None = None
    change_display = ""
    change_month: dt.date | None = None
    if not before.empty and _number(before.iloc[0]["value"]) is not None:
        change_month = year_ago.date()
        delta = _change(metric, policy, row, before.iloc[0], top_level)
        change = delta.value
        change_display = delta.text if delta.suppressed else format_change(delta.value, metric)

    tail = known[
        (known["month"] > month - pd.DateOffset(months=SPARKLINE_MONTHS))
        & (known["month"] <= month)
    ]
    sparkline: list[float] = []
    for point in tail.to_dict("records"):
        shown = _shown(metric, policy, point, top_level)
        if shown.value is not None:
            sparkline.append(shown.value)
    spc_shown, provisional_shown = _shown_spc(metric, policy, spc, whole, top_level)
    return Reading(
        **base,
        available=True,
        month=month.date(),
        value=cell.value,
        display=cell.text if cell.suppressed else format_value(cell.value, metric),
        value_text=(
            cell.text if cell.suppressed else format_value(cell.value, metric, with_unit=False)
        ),
        suppressed=cell.suppressed,
        provisional=is_provisional,
        completeness=share,
        change=change,
        change_display=change_display,
        change_month=change_month,
        spc=spc,
        sparkline=tuple(sparkline),
        provisional_points=_provisional_points(board, metric, known, policy, top_level),
        spc_shown=spc_shown,
        provisional_shown=provisional_shown,
        data_span=span,
    )


def _shown_spc(
    metric: MetricDef, policy: Policy, spc: SPCReading, whole: pd.DataFrame, top_level: bool
) -> tuple[SPCResult | None, pd.DataFrame | None]:
    """The SPC result and provisional points with every plotted value as shown."""
    by_month = {pd.Timestamp(r["month"]): r for r in whole.to_dict("records")}

    def shown_value(month: Any) -> float:
        row = by_month.get(pd.Timestamp(month))
        if row is None:
            return math.nan
        value = _shown(metric, policy, row, top_level).value
        return math.nan if value is None else value

    result = spc.result
    shown_result = None
    if result is not None:
        # Values as shown, and the centre line and limits worked out from them wherever
        # exact ones could give a controlled count back (metrics.analyses.disclosure).
        points = control_spc_points(result.points, whole, metric, policy, top_level=top_level)
        facets = tuple(
            dataclasses.replace(f, latest_value=shown_value(f.latest_date))
            if f.latest_date is not None
            else f
            for f in result.facets
        )
        shown_result = dataclasses.replace(result, points=points, facets=facets)
    provisional = None
    if spc.provisional is not None and not spc.provisional.empty:
        rows = spc.provisional.dropna(subset=["value"])
        provisional = pd.DataFrame(
            {
                "date": pd.to_datetime(rows["month"]).to_numpy(),
                "value": [shown_value(m) for m in rows["month"]],
            }
        )
    return shown_result, provisional


def _provisional_points(
    board: Board, metric: MetricDef, known: pd.DataFrame, policy: Policy, top_level: bool
) -> tuple[ProvisionalPoint, ...]:
    pending = set(pd.to_datetime(list(provisional_months(board, metric))))
    points = []
    for row in known[known["month"].isin(pending)].to_dict("records"):
        cell = _shown(metric, policy, row, top_level)
        share = completeness(metric, board, row)
        points.append(
            ProvisionalPoint(
                month=pd.Timestamp(row["month"]).date(),
                display=cell.text if cell.suppressed else format_value(cell.value, metric),
                status=status_label(True, share),
                completeness=share,
            )
        )
    return tuple(points)


def _shown(metric: MetricDef, policy: Policy, row: Any, top_level: bool) -> Cell:
    return control_value(
        metric,
        policy,
        value=_number(row.get("value")),
        numerator=_number(row.get("numerator")),
        denominator=_number(row.get("denominator")),
        n=_number(row.get("n")),
        top_level=top_level,
    )


def _change(metric: MetricDef, policy: Policy, now: Any, before: Any, top_level: bool) -> Cell:
    """The change on a year earlier as shown: the difference of the shown figures ('*' if
    either is suppressed), so it can never reveal a controlled count."""
    if metric.measure in ("count", "sum") and is_controlled(metric):
        return control_change(
            _number(now.get("value")),
            _number(before.get("value")),
            policy,
            top_level=top_level,
            decimals=metric.decimals,
        )
    a = _shown(metric, policy, now, top_level)
    b = _shown(metric, policy, before, top_level)
    if a.suppressed or b.suppressed:
        return Cell(None, SUPPRESSED, True)
    if a.value is None or b.value is None:
        return Cell(None, "–")
    change = a.value - b.value + 0.0
    return Cell(change, format_change(change, metric))


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def group_icon_table(result: SPCResult, metric: MetricDef, shown: pd.DataFrame) -> pd.DataFrame:
    """Per group: the latest value as shown (`shown`: the disclosure-controlled series with
    month, group, display), and what the variation and assurance icons say, in words (a
    table cell is text, so the meaning is written, not drawn)."""
    rows = []
    for facet in result.facets:
        latest = shown[
            (shown["group"].astype(str) == str(facet.facet))
            & (shown["month"] == pd.Timestamp(facet.latest_date))
        ]
        rows.append(
            {
                "Group": str(facet.facet),
                "Latest": latest["display"].iloc[0] if not latest.empty else "–",
                "Month": month_label(facet.latest_date),
                "Variation": icon_meaning(facet.variation_icon) if facet.variation_icon else "",
                "Assurance": icon_meaning(facet.assurance_icon) if facet.assurance_icon else "",
            }
        )
    return pd.DataFrame(rows)
