"""The builder every part of an export is computed with: one audience, policy and period,
the figures as that audience sees them (each controlled count written to the ledger) and
the impact studies, shared by the deck and the board pack."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from metrics.analyses.disclosure import (
    SUPPRESSED,
    Cell,
    Policy,
    control_count,
    control_series,
    control_value,
    is_controlled,
    policy_for,
)
from metrics.analyses.impact import Impact, ImpactRequest, model_words, run_impact, verdict_badge
from metrics.analyses.reading import Reading, default_period, scope_of
from metrics.board import Board
from metrics.definitions.models import MetricDef
from metrics.exports import Audience, ExportFilters
from metrics.exports.helpers import CONFIDENCE_WORDS, _number, _raw_text, month_short, month_words
from metrics.exports.model import Disclosed, Problem
from metrics.sql.series import SeriesQuery


def _scope(board: Board, filters: ExportFilters | None) -> ExportFilters:
    """The filters made explicit: the board's default period where none is given (so the
    same pack has one memo key), and a neighbourhood only if the board has it."""
    filters = filters or ExportFilters()
    start, end = filters.start, filters.end
    if start is None or end is None or start > end:
        period = default_period(board)
        start, end = period if period is not None else (None, None)
    lcn = filters.lcn if filters.lcn in board.catalogue.board.lcns else None
    return ExportFilters(start, end, lcn)


class _Ledger:
    """Collects every disclosure-controlled figure shown (thread-confined to one build)."""

    def __init__(self) -> None:
        self.entries: list[Disclosed] = []

    def record(self, label: str, raw: float | None, raw_text: str, cell: Cell, where: str) -> None:
        self.entries.append(Disclosed(label, raw, raw_text, cell.text, cell.suppressed, where))


# --------------------------------------------------------------------------- the builder


class Builder:
    """Computes one audience's content from the board (one instance per build)."""

    def __init__(
        self, board: Board, audience: Audience, scope: ExportFilters | None = None
    ) -> None:
        self.board = board
        self.catalogue = board.catalogue
        self.audience = audience
        self.policy: Policy = policy_for(board.catalogue, audience)
        self.ledger = _Ledger()
        self.problems: list[Problem] = []
        self.scope = scope if scope is not None else _scope(board, None)
        self.query = SeriesQuery(start=self.scope.start, end=self.scope.end)
        # The measures' readings (exception report, SPC summary) for the neighbourhood.
        self.reading_query = SeriesQuery(
            start=self.scope.start, end=self.scope.end, lcn=self.scope.lcn
        )

    # ---- period -----------------------------------------------------------------------

    @property
    def is_default_period(self) -> bool:
        return (self.query.start, self.query.end) == (default_period(self.board) or (None, None))

    @property
    def period_words(self) -> str:
        if self.query.start is None or self.query.end is None:
            return "the whole period of the data"
        return f"{month_words(self.query.start)} to {month_words(self.query.end)}"

    @property
    def pack_scope_words(self) -> str:
        """The period, and the neighbourhood with what it applies to."""
        if not self.scope.lcn:
            return f"{self.period_words}, the whole area"
        return (
            f"{self.period_words}, {self.scope.lcn} neighbourhood (the measures recorded "
            "by neighbourhood; money, equity, data quality and the others cover the whole "
            "area)"
        )

    @property
    def deck_scope_words(self) -> str:
        if not self.scope.lcn:
            return self.period_words
        return f"{self.period_words}, the whole area (slides are not split by neighbourhood)"

    @property
    def controls(self) -> bool:
        """Whether whole-area figures are controlled for this audience."""
        return self.policy.applies(top_level=True)

    # ---- shown figures ----------------------------------------------------------------

    def shown_value(self, metric: MetricDef, row: Any, label: str, where: str) -> Cell:
        """One whole-area monthly figure of `metric` as this audience sees it."""
        value = _number(row.get("value"))
        cell = control_value(
            metric,
            self.policy,
            value=value,
            numerator=_number(row.get("numerator")),
            denominator=_number(row.get("denominator")),
            n=_number(row.get("n")),
            top_level=True,
        )
        if is_controlled(metric) and self.controls:
            self.ledger.record(label, value, _raw_text(value, metric), cell, where)
        return cell

    def shown_count(self, count: float | None, label: str, where: str, *, top_level: bool) -> Cell:
        """A count of people or events (a breakdown cell unless `top_level`)."""
        cell = control_count(count, self.policy, top_level=top_level)
        if self.policy.applies(top_level=top_level):
            raw = "–" if count is None else f"{count:,.0f}"
            self.ledger.record(label, count, raw, cell, where)
        return cell

    def shown_frame(self, metric_id: str, query: SeriesQuery) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(exact series frame, display frame as shown) for the whole area."""
        result = self.board.series(metric_id, query)
        shown = control_series(result, self.policy)
        return result.frame, shown

    def record_points(
        self, metric: MetricDef, months: Iterable[Any], raw: Iterable[Any], shown: pd.DataFrame
    ) -> None:
        """Write a chart's plotted points to the ledger (exact figure and as shown)."""
        if not (is_controlled(metric) and self.controls):
            return
        by_month = {
            pd.Timestamp(m): (d, bool(s))
            for m, d, s in zip(shown["month"], shown["display"], shown["suppressed"], strict=True)
        }
        for month, value in zip(months, raw, strict=True):
            exact = _number(value)
            if exact is None:
                continue  # a missing month is a gap, not a figure
            text, suppressed = by_month.get(pd.Timestamp(month), (SUPPRESSED, True))
            self.ledger.record(
                month_short(month),
                exact,
                _raw_text(exact, metric),
                Cell(None, text, suppressed),
                "chart",
            )

    def record_reading(self, reading: Reading, where: str) -> None:
        """Write a reading's figure to the ledger (its exact value beside what is shown), so
        tests can prove no format prints a controlled count."""
        metric = reading.metric
        if reading.month is None or not (is_controlled(metric) and self.controls):
            return
        lcn = self.scope.lcn
        if lcn and scope_of(self.board, metric, lcn) != "neighbourhood":
            lcn = None  # the reading is the whole area's (not recorded by neighbourhood)
        frame = self.board.series(metric.id, SeriesQuery(lcn=lcn)).frame
        row = frame.loc[frame["month"] == pd.Timestamp(reading.month)]
        if row.empty:
            return
        exact = _number(row["value"].iloc[0])
        cell = Cell(reading.value, reading.value_text, reading.suppressed)
        self.ledger.record(metric.title, exact, _raw_text(exact, metric), cell, where)

    # ---- impact -----------------------------------------------------------------------

    def impact(self, metric: MetricDef, intervention: str | None) -> Impact:
        """The planned study (the metric's own `its:` block) or one for the named change.

        Shares the Impact page's memo key, so the site and the exports fit each study once.
        """
        own = metric.its is not None and (
            intervention is None or intervention in metric.its.interventions
        )
        request = (
            ImpactRequest(metric.id)
            if own
            else ImpactRequest(metric.id, interventions=(intervention,) if intervention else ())
        )
        return self.board.memo(("impact", request), lambda: run_impact(self.board, request))

    def method_words(self, impact: Impact) -> str:
        """How the study was done, in board words (no model codes or test names)."""
        spec = impact.spec
        if spec is None or impact.result is None:
            return ""
        spec = impact.result.spec  # with the seasonality the data chose
        names = ", ".join(i.label for i in spec.interventions)
        shocks = ", ".join(s.label for s in spec.shocks)
        term = impact.result.reported_term()
        read = (
            "the effect is the change in trend after the change"
            if term == "slope"
            else f"the effect is read {spec.horizon} months after the change"
        )
        words = (
            f"Interrupted time series of the whole history ({model_words(spec)}), with {names}"
            + (f" and {shocks} allowed for" if shocks else "")
            + f"; {read}, with its {CONFIDENCE_WORDS}. {verdict_badge(impact)[0]}."
        )
        return words
