"""The one content model behind the Showcase page, the HTML and PowerPoint decks and the
board-pack PDF.

Built once from the board for an audience:

- "public": the public disclosure policy, always (config/disclosure.yaml refuses 'none'
  for it, and `policy_for` falls back to nhs_secondary_care should it ever be missing);
- "board": the board's own policy (typically whole-area totals unrounded, breakdowns
  controlled).

Every figure a reader sees passes through `metrics.analyses.disclosure` here, at the output
boundary, and every controlled count is written to a ledger (`Disclosed`) so tests can
prove that no suppressed number leaks into any format. Models (SPC, ITS, equity rates)
always run on the exact figures; only what is shown is controlled. Charts are built from
the figures as shown, so their data (which travel into SVG, PNG and the browser) carry no
exact small counts either.

Nothing here crashes on bad input: a slide naming an unknown metric, a chart that cannot
be built or a model that fails becomes a slide or section marked `unavailable` with the
reason, and a `Problem` that the command line prints as a warning.

Text is kept as plain strings; each writer escapes it for its format.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from metrics.analyses.disclosure import (
    SUPPRESSED,
    Cell,
    Policy,
    control_count,
    control_series,
    control_value,
    is_controlled,
    legend,
    policy_for,
)
from metrics.analyses.impact import (
    FAMILY_WORDS,
    Impact,
    ImpactRequest,
    block_model,
    cumulative_sentence,
    diagnostics_in_words,
    headline,
    headline_study_id,
    impact_sentence,
    model_words,
    run_impact,
    studies_headline_first,
    verdict_badge,
)
from metrics.analyses.reading import (
    Reading,
    SPCReading,
    default_period,
    exceptions_first,
    read_metric,
    readings,
    scope_of,
    spc_reading,
)
from metrics.board import Board
from metrics.charts import equity_figures
from metrics.charts.comparison_chart import group_rates_alt_text, group_rates_chart
from metrics.charts.its_chart import its_chart
from metrics.charts.part_of_whole_chart import part_of_whole_chart
from metrics.charts.series_chart import series_chart
from metrics.charts.spc_chart import spc_chart
from metrics.charts.zero_axis import from_zero
from metrics.data_status import is_synthetic, status_label, status_note
from metrics.definitions.board_files import Comparison, SlideDef
from metrics.definitions.models import MetricDef
from metrics.definitions.slide_claims import slide_claim_problem
from metrics.exports import AUDIENCES, Audience, ExportFilters
from metrics.formatting import format_money, format_value
from metrics.labels import chart_title
from metrics.sql.series import SeriesQuery

SYNTHETIC_LABEL = "Synthetic data"
SYNTHETIC_NOTE = (
    "Synthetic data: every figure comes from a generated, fictional alliance for "
    "demonstration. No real person or service is described."
)
FICTIONAL_LABEL = "Fictional story"
REAL_STORY_LABEL = "Story"
CONFIDENCE_WORDS = "95% confidence interval"
MAX_SUMMARY_BULLETS = 5
MIN_SUMMARY_BULLETS = 3
EQUITY_METRIC = "detention_rate"  # the alliance's headline equity measure (domain.md 2.2)
EQUITY_DIMENSION = "ethnicity"

# Export charts: a fixed size (vl-convert has no container to fill).
SVG_WIDTH = 860
SVG_HEIGHT = 330
PNG_WIDTH = 760
PNG_HEIGHT = 300
PNG_SCALE = 2.0


class NothingToExport(Exception):
    """No part of the export could be built (every slide or section is unavailable)."""


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Problem:
    """A part that could not be built, and why (printed as a warning by the CLI)."""

    where: str
    reason: str

    def text(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Disclosed:
    """One disclosure-controlled figure as computed and as shown (the audit ledger).

    `label` is what the figure is printed next to (a metric title, a group, a month);
    `raw_text` the figure as it would read uncontrolled.
    """

    label: str
    raw: float | None
    raw_text: str
    shown: str
    suppressed: bool
    where: str  # "big number", "table", "chart", ...


@dataclass(frozen=True)
class ChartContent:
    """An Altair chart (width 'container') built from shown figures, and its words."""

    chart: alt.TopLevelMixin
    alt_text: str
    kind: str  # spc | its | series | equity


@dataclass(frozen=True)
class Story:
    title: str
    text: str
    fictional: bool

    @property
    def label(self) -> str:
        return FICTIONAL_LABEL if self.fictional else REAL_STORY_LABEL


@dataclass(frozen=True)
class Slide:
    """One showcase slide: one message, one big number, one chart, one story."""

    number: int  # 1-based position in the deck
    id: str
    headline: str
    big_number: str = ""
    interval: str = ""  # '' unless the number comes from a model
    number_label: str = ""  # what the big number is, e.g. 'introductions in January 2025'
    caption: str = ""
    chart: ChartContent | None = None
    story: Story | None = None
    outcome: str = ""  # title of the big outcome served
    metric_title: str = ""
    notes: str = ""  # speaker notes: method and caveats
    unavailable: str = ""  # why the slide cannot show its figures ('' when it can)
    shows_suppressed: bool = False

    @property
    def available(self) -> bool:
        return not self.unavailable


@dataclass(frozen=True)
class Deck:
    title: str
    subtitle: str
    event: str
    audience: Audience
    policy_name: str
    legend: str  # the footnote for '*' under the audience's policy
    synthetic_label: str
    period: str  # e.g. 'April 2019 to March 2025'
    slides: tuple[Slide, ...]
    problems: tuple[Problem, ...] = ()
    disclosed: tuple[Disclosed, ...] = ()
    status_label: str = ""  # board.yaml data_status: 'Synthetic data', or '' (none claimed)

    @property
    def available_slides(self) -> tuple[Slide, ...]:
        return tuple(s for s in self.slides if s.available)


@dataclass(frozen=True)
class Table:
    """A table as readers see it (text cells). `count_cells` are (row, column) positions
    of disclosure-controlled counts; `icon_columns` hold SPC icon names, not text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    count_cells: tuple[tuple[int, int], ...] = ()
    icon_columns: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[ChartContent, ...] = ()
    unavailable: str = ""
    summary: str = ""  # one sentence for the cover sheet

    @property
    def available(self) -> bool:
        return not self.unavailable


@dataclass(frozen=True)
class SPCLine:
    """One metric's Making Data Count reading as shown (both icons, plain words)."""

    metric_id: str
    metric_title: str
    domain: str
    latest: str
    month: str
    variation_icon: str | None
    assurance_icon: str | None
    icon_words: str
    attention: str  # why it needs the board's attention ('' when it does not)
    unavailable: str = ""
    latest_is_count: bool = False  # the latest figure is a controlled count


@dataclass(frozen=True)
class ImpactPage:
    """One planned interrupted time-series study (a metric's `its:` block)."""

    metric_id: str
    metric_title: str
    intervention: str
    model: str
    big_number: str = ""
    interval: str = ""
    sentence: str = ""
    cumulative: str = ""
    diagnostics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    chart: ChartContent | None = None
    unavailable: str = ""
    verdict: str = ""  # the badge: "Model fits", "Model fits, with caveats", "Does not fit: ..."
    verdict_colour: str = ""  # green, orange or red
    verdict_words: str = ""  # the verdict in one board sentence
    headline: bool = False  # the board's headline study (board.yaml headline_study)

    @property
    def available(self) -> bool:
        return not self.unavailable

    @property
    def concludes(self) -> bool:
        """Whether the model fits well enough to conclude (a red badge does not)."""
        return self.available and self.verdict_colour != "red"


@dataclass(frozen=True)
class Cover:
    """A board paper cover sheet (domain.md section 4)."""

    title: str
    organisation: str
    meeting: str
    date: dt.date
    purpose: str
    summary: tuple[str, ...]
    recommendation: str
    audience_note: str
    period: str


@dataclass(frozen=True)
class BoardPack:
    cover: Cover
    exceptions: tuple[SPCLine, ...]
    spc_summary: tuple[SPCLine, ...]
    impact_pages: tuple[ImpactPage, ...]
    money: Section
    equity: Section
    data_quality: Section
    method: Section
    audience: Audience
    policy_name: str
    legend: str
    synthetic_label: str
    problems: tuple[Problem, ...] = ()
    disclosed: tuple[Disclosed, ...] = ()
    showcase: Section | None = None  # the showcase slides' messages and their figures
    status_label: str = ""  # board.yaml data_status: 'Synthetic data', or '' (none claimed)

    @property
    def sections(self) -> tuple[Section, ...]:
        middle = (self.showcase,) if self.showcase is not None else ()
        return (self.money, self.equity, self.data_quality, *middle, self.method)

    @property
    def has_figures(self) -> bool:
        """Whether any part with figures was built (the cover and method notes always are)."""
        return (
            any(not line.unavailable for line in self.spc_summary)
            or any(page.available for page in self.impact_pages)
            or any(s.available for s in (self.money, self.equity, self.data_quality))
        )


# --------------------------------------------------------------------------- entry points


def deck_content(board: Board, audience: str, *, filters: ExportFilters | None = None) -> Deck:
    """The showcase deck for `audience`, computed once per board (boards never change) and
    period (`filters`; the slides cover the whole area whatever its neighbourhood)."""
    checked = _audience(audience)
    scope = _scope(board, filters)
    return board.memo(
        ("exports", "deck", checked, scope),
        lambda: _Builder(board, checked, scope).deck(),
    )


def board_pack_content(
    board: Board,
    audience: str,
    *,
    meeting_date: dt.date | None = None,
    filters: ExportFilters | None = None,
) -> BoardPack:
    """The board pack for `audience` (meeting date: today unless given), for the period
    and neighbourhood of `filters` (the board's default period, whole area, if None);
    once per board."""
    checked = _audience(audience)
    when = meeting_date or dt.date.today()
    scope = _scope(board, filters)
    return board.memo(
        ("exports", "pack", checked, when, scope),
        lambda: _Builder(board, checked, scope).board_pack(when),
    )


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


def require_content(content: Deck | BoardPack) -> None:
    """Raise NothingToExport when nothing with figures could be built."""
    if isinstance(content, Deck):
        if not content.available_slides:
            reasons = "; ".join(p.text() for p in content.problems[:3]) or "no slides defined"
            raise NothingToExport(f"no slide could be built ({reasons})")
    elif not content.has_figures:
        reasons = "; ".join(p.text() for p in content.problems[:3]) or "no data"
        raise NothingToExport(f"no section of the board pack could be built ({reasons})")


def _audience(audience: str) -> Audience:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience '{audience}': use 'public' or 'board'")
    return audience  # type: ignore[return-value]


# --------------------------------------------------------------------------- helpers


def month_words(value: Any) -> str:
    """'January 2025'."""
    return f"{pd.Timestamp(value):%B %Y}"


def month_short(value: Any) -> str:
    """'Jan 2025'."""
    return f"{pd.Timestamp(value):%b %Y}"


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _raw_text(value: float | None, metric: MetricDef) -> str:
    return format_value(value, metric, with_unit=False)


def _unit_words(metric: MetricDef) -> str:
    """What follows a big number: 'introductions', 'per 100,000' ('' for % and GBP)."""
    if metric.is_money or metric.unit == "%":
        return ""
    return metric.unit


def _y_title(metric: MetricDef) -> str:
    if metric.is_money:
        return "GBP"
    return "percent" if metric.unit == "%" else metric.unit


def _is_count(metric: MetricDef) -> bool:
    """Counts and sums of people or events: their chart axes start at zero on slides."""
    return metric.measure in ("count", "sum")


def ratio_words(value: float) -> str:
    """A rate ratio as read aloud: one decimal from 1 up ('4.2'), two below ('0.85')."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def _first_sentence(text: str) -> str:
    head, _, _ = text.partition(". ")
    return head.rstrip(".") + "."


class _Ledger:
    """Collects every disclosure-controlled figure shown (thread-confined to one build)."""

    def __init__(self) -> None:
        self.entries: list[Disclosed] = []

    def record(self, label: str, raw: float | None, raw_text: str, cell: Cell, where: str) -> None:
        self.entries.append(Disclosed(label, raw, raw_text, cell.text, cell.suppressed, where))


# --------------------------------------------------------------------------- the builder


class _Builder:
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

    # ---- charts -----------------------------------------------------------------------

    def spc_chart_content(
        self,
        metric: MetricDef,
        spc: SPCReading,
        shown: pd.DataFrame,
        provisional: pd.DataFrame | None = None,
    ) -> ChartContent:
        """The SPC chart with the points as shown (limits come from the exact figures), and
        the provisional months (as shown) as hollow points."""
        if spc.result is None:
            raise ValueError(spc.reason or "no SPC reading")
        result = spc.result
        values = dict(zip(shown["month"], shown["value"], strict=True))
        points = result.points.copy()
        points["value"] = [values.get(pd.Timestamp(d), math.nan) for d in points["date"]]
        self.record_points(metric, result.points["date"], result.points["value"], shown)

        # The chart's own description reads the facet's latest value: give it the shown one
        # (NaN when suppressed), never the exact figure.
        def shown_latest(facet: Any) -> float:
            value = _number(values.get(pd.Timestamp(facet.latest_date)))
            return math.nan if value is None else value

        facets = tuple(
            dataclasses.replace(f, latest_value=shown_latest(f)) if f.latest_date is not None else f
            for f in result.facets
        )
        display = dataclasses.replace(result, points=points, facets=facets)
        # A count's axis starts at zero (see from_zero below; the SPC chart places its
        # line labels on its own domain, so it is told rather than rescaled afterwards).
        chart = spc_chart(
            display,
            y_title=_y_title(metric),
            height=SVG_HEIGHT,
            provisional=provisional,
            from_zero=_is_count(metric),
        )
        facet = result.facet()
        latest = (
            shown.loc[shown["month"] == pd.Timestamp(facet.latest_date)]
            if (facet.latest_date is not None)
            else shown.iloc[0:0]
        )
        latest_text = latest["display"].iloc[0] if not latest.empty else "–"
        known = points.dropna(subset=["value"])
        span = (
            f"{month_words(points['date'].iloc[0])} to {month_words(points['date'].iloc[-1])}"
            if len(points)
            else ""
        )
        alt_text = (
            f"Statistical process control chart of {metric.title}, {span}. Latest complete "
            f"month {month_words(facet.latest_date) if facet.latest_date is not None else '–'}:"
            f" {latest_text}. {facet.variation_meaning}."
        )
        if facet.assurance_icon:
            alt_text += f" {facet.assurance_meaning}."
        if len(known) < len(points.dropna(subset=["mean"])):
            alt_text += " Months with small numbers are not plotted."
        if provisional is not None and not provisional.empty:
            alt_text += (
                f" {len(provisional)} later month(s) are provisional (still filling up), shown "
                "as hollow points and not read."
            )
        return ChartContent(chart.properties(description=alt_text), alt_text, "spc")

    def its_chart_content(self, impact: Impact, intervention: str | None) -> ChartContent:
        """The impact chart with the observed points as shown (the model uses exact ones)."""
        result = impact.result
        if result is None:
            raise ValueError(impact.error)
        metric = impact.metric
        frame = result.counterfactual
        if is_controlled(metric) and self.controls:
            if impact.spec is not None and impact.spec.offset_col:
                # A count model of a rate: the observed points are the event counts.
                cells = [
                    self.shown_count(_number(v), month_short(d), "chart", top_level=True)
                    for d, v in zip(frame["date"], frame["observed"], strict=True)
                ]
                frame["observed"] = [math.nan if c.value is None else c.value for c in cells]
            else:
                _, shown = self.shown_frame(metric.id, SeriesQuery())
                values = dict(zip(shown["month"], shown["value"], strict=True))
                self.record_points(metric, frame["date"], frame["observed"], shown)
                frame["observed"] = [
                    values.get(pd.Timestamp(d), math.nan) if pd.notna(v) else math.nan
                    for d, v in zip(frame["date"], frame["observed"], strict=True)
                ]
            frame = frame.drop(columns=[c for c in ("control",) if c in frame])
        display = dataclasses.replace(result, counterfactual_table=frame)
        badge, _ = verdict_badge(impact)
        # The verdict's badge rides on the chart, so every slide and page that shows the
        # study shows whether its model fits.
        chart = its_chart(display, title=badge, y_title=_y_title(metric), height=SVG_HEIGHT)
        observed = frame.dropna(subset=["observed"])
        span = ""
        if not observed.empty:
            first, last = observed["date"].iloc[0], observed["date"].iloc[-1]
            span = f"from {month_words(first)} to {month_words(last)}"
        effect = result.horizon_effect(intervention)
        alt_text = (
            f"Impact chart of {metric.title}: the monthly values {span}, the fitted model and, "
            f"from {effect.label}, the level expected without it (dashed, with a shaded "
            f"{CONFIDENCE_WORDS} band). {badge}. {impact_sentence(impact, intervention)}"
        )
        return ChartContent(chart, alt_text, "its")

    def series_chart_content(
        self,
        metric: MetricDef,
        shown: pd.DataFrame,
        whole: tuple[MetricDef, pd.DataFrame] | None = None,
    ) -> ChartContent:
        """The metric's line over the period, from the figures as shown; with `whole`
        (a slide's out_of metric and its figures as shown), the whole as a second line,
        so the chart says 'of how many' too. Counts start at zero."""
        known = shown.dropna(subset=["value"])
        if known.empty:
            raise ValueError("no figures can be shown for the period")
        first, last = known.iloc[0], known.iloc[-1]
        alt_text = (
            f"Line chart of {metric.title} from {month_words(first['month'])} "
            f"({first['display']}) to {month_words(last['month'])} ({last['display']})"
        )
        if whole is None:
            chart = series_chart(
                shown, metric, height=SVG_HEIGHT, title=chart_title(metric.title, self.catalogue)
            )
        else:
            whole_metric, whole_shown = whole
            chart = part_of_whole_chart(
                shown,
                whole_shown,
                part_name=metric.title,
                whole_name=whole_metric.title,
                y_title=_y_title(metric),
                height=SVG_HEIGHT,
            )
            whole_known = whole_shown.dropna(subset=["value"])
            if not whole_known.empty:
                latest = whole_known.iloc[-1]
                alt_text += (
                    f", against {whole_metric.title} ({latest['display']} in "
                    f"{month_words(latest['month'])})"
                )
        alt_text += "; the axis starts at zero." if metric.unit != "%" else "."
        gaps = int(shown["value"].isna().sum())
        if gaps:
            alt_text += f" {gaps} month(s) are missing or too small to show and appear as gaps."
        return ChartContent(chart, alt_text, "series")

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

    # ---- the deck ---------------------------------------------------------------------

    def deck(self) -> Deck:
        showcase = self.catalogue.showcase
        slide_defs = self.catalogue.slides or tuple(showcase.slides)
        slides = [self.slide(i, d) for i, d in enumerate(slide_defs, start=1)]
        return Deck(
            title=showcase.title,
            subtitle=showcase.subtitle,
            event=showcase.event,
            audience=self.audience,
            policy_name=self.policy.name,
            legend=legend(self.policy),
            synthetic_label=status_note(self.catalogue),
            status_label=status_label(self.catalogue),
            period=self.deck_scope_words,
            slides=tuple(slides),
            problems=tuple(self.problems),
            disclosed=tuple(self.ledger.entries),
        )

    def slide(self, number: int, slide: SlideDef) -> Slide:
        """One slide; any failure marks it unavailable with the reason (never raises)."""
        story = (
            Story(slide.story.title, slide.story.text, slide.story.fictional)
            if slide.story
            else None
        )
        base = Slide(
            number=number,
            id=slide.id,
            headline=slide.headline,
            caption=slide.caption,
            story=story,
            outcome=self.outcome_title(slide),
            notes=slide.notes,
        )
        try:
            return self._slide_figures(base, slide)
        except Exception as exc:  # one bad slide must never stop the deck
            reason = str(exc) or exc.__class__.__name__
            self.problems.append(Problem(f"slide {number} ({slide.id})", reason))
            notes = "\n\n".join(
                part
                for part in (slide.notes, f"Unavailable: {reason}", status_note(self.catalogue))
                if part
            )
            return dataclasses.replace(base, unavailable=reason, notes=notes)

    def outcome_title(self, slide: SlideDef) -> str:
        outcomes = self.catalogue.outcomes
        if slide.outcome and slide.outcome in outcomes:
            return outcomes[slide.outcome].title
        metric = self.catalogue.metrics.get(slide.metric or "")
        if metric is not None:
            domain = self.catalogue.domains.get(metric.domain)
            if domain is not None and domain.outcome in outcomes:
                return outcomes[domain.outcome].title
        return slide.outcome or ""

    def slide_query(self, slide: SlideDef) -> SeriesQuery:
        """The slide's period: the board's default, or the metric's whole history."""
        return SeriesQuery() if slide.period == "whole" else self.query

    def slide_period_words(self, slide: SlideDef, frame: pd.DataFrame) -> str:
        """'April 2019 to March 2025' (the board's period), or the months of the metric's
        whole history (`frame`: its final months)."""
        if slide.period != "whole":
            return self.period_words
        known = frame.dropna(subset=["value"])
        if known.empty:
            return "the whole history of the data"
        return f"{month_words(known['month'].min())} to {month_words(known['month'].max())}"

    def _slide_figures(self, base: Slide, slide: SlideDef) -> Slide:
        wants_metric = slide.number != "none" or slide.chart != "none"
        if not wants_metric:
            notes = "\n\n".join(p for p in (slide.notes, status_note(self.catalogue)) if p)
            return dataclasses.replace(base, notes=notes)
        if not slide.metric:
            raise ValueError("the slide asks for a number or chart but names no metric")
        metric = self.catalogue.metrics.get(slide.metric)
        if metric is None:
            raise ValueError(f"unknown metric '{slide.metric}'")
        if slide.intervention and slide.intervention not in self.catalogue.interventions:
            raise ValueError(f"unknown intervention '{slide.intervention}'")
        # A headline that speaks of a group while the slide shows the overall figure is a
        # claim the slide does not back: the slide is not shown (validation says the same).
        claim = slide_claim_problem(slide, self.catalogue)
        if claim:
            raise ValueError(claim)
        if (slide.number == "ratio" or slide.chart == "compare") and slide.compare is None:
            raise ValueError(f"number: {slide.number}, chart: {slide.chart} need compare")
        first_entry = len(self.ledger.entries)
        query = self.slide_query(slide)
        exact, shown = self.shown_frame(metric.id, query)
        spc = spc_reading(self.board, metric.id, query)
        final = exact[~exact["month"].isin(pd.to_datetime(list(spc.provisional_months)))]
        period_words = self.slide_period_words(slide, final)
        method: list[str] = []
        caveats: list[str] = []
        big = interval = label = ""
        impact: Impact | None = None
        compared: Any = None  # the EquityResult behind a comparison
        if slide.number == "effect" or slide.chart == "its":
            impact = self.impact(metric, slide.intervention)
            if impact.result is None:
                raise ValueError(f"the impact model could not be fitted: {impact.error}")
        if slide.compare is not None:
            compared = self.comparison(metric, slide.compare, query)
        if slide.number == "effect":
            assert impact is not None and impact.result is not None
            big, interval = headline(impact, slide.intervention)
            effect = impact.result.horizon_effect(slide.intervention)
            label = (
                f"{effect.months_after} months after {effect.label}, against what the earlier "
                "trend predicted"
            )
        elif slide.number == "ratio":
            assert slide.compare is not None
            big, interval, label = self.ratio_figure(compared, slide.compare)
            method.extend(self.ratio_method(compared, slide.compare))
        elif slide.number in ("latest", "change"):
            reading = read_metric(self.board, metric.id, query, self.audience)
            if not reading.available:
                raise ValueError(reading.reason)
            self.record_reading(reading, "big number")
            if slide.number == "latest":
                big = reading.value_text
                words = slide.label or _unit_words(metric)
                when = f"in {reading.period}"
                if reading.provisional:
                    when += f" ({reading.status_label})"
                if slide.out_of:
                    whole = self.whole_reading(slide.out_of, reading, query)
                    of = whole.value_text
                    if whole.month != reading.month:
                        of += f" (in {whole.period})"
                    label = " ".join(p for p in (f"of {of}", words, when) if p)
                    method.append(
                        f"The whole: {whole.metric.title}, {whole.period}"
                        + (f" ({whole.status_label})" if whole.provisional else "")
                        + "."
                    )
                else:
                    label = " ".join(p for p in (words, when) if p)
                method.insert(
                    0,
                    f"Big number: {metric.title}, {reading.period}, "
                    + (
                        f"{reading.status_label}."
                        if reading.provisional
                        else "the latest final month"
                        + (
                            " (later months are provisional and still filling up)."
                            if reading.provisional_points
                            else "."
                        )
                    ),
                )
            else:
                if not reading.change_display:
                    raise ValueError(f"no figure a year before {reading.period} to compare with")
                big = reading.change_display
                label = f"{reading.period} against {month_words(reading.change_month)}"
                method.append(f"Big number: change in {metric.title} on a year earlier.")
        chart: ChartContent | None = None
        if slide.chart == "its":
            assert impact is not None
            chart = self.its_chart_content(impact, slide.intervention)
        elif slide.chart == "spc":
            reading = read_metric(self.board, metric.id, query, self.audience)
            chart = self.spc_chart_content(metric, spc, shown, reading.provisional_shown)
        elif slide.chart == "series":
            # Provisional months (still filling up) would read as a fall: left out, as in SPC.
            pending = pd.to_datetime(list(spc.provisional_months))
            complete = shown[~shown["month"].isin(pending)]
            whole_line = None
            if slide.out_of and slide.out_of in self.catalogue.metrics:
                whole_metric = self.catalogue.metrics[slide.out_of]
                whole_exact, whole_shown = self.shown_frame(whole_metric.id, query)
                whole_exact = whole_exact[~whole_exact["month"].isin(pending)]
                self.record_points(
                    whole_metric, whole_exact["month"], whole_exact["value"], whole_shown
                )
                whole_line = (whole_metric, whole_shown[~whole_shown["month"].isin(pending)])
            plotted = exact[~exact["month"].isin(pending)]
            self.record_points(metric, plotted["month"], plotted["value"], shown)
            chart = self.series_chart_content(metric, complete, whole_line)
            if spc.provisional_months:
                method.append(
                    "Chart: the latest months are provisional (still filling up) and not shown."
                )
        elif slide.chart == "compare":
            assert slide.compare is not None
            chart = self.comparison_chart_content(compared, slide.compare)
        if chart is not None and _is_count(metric) and chart.kind in ("spc", "its"):
            # A count read from an axis that starts far above zero looks like a big change.
            chart = dataclasses.replace(chart, chart=from_zero(chart.chart))
        if slide.period == "whole":
            method.append(f"Period: the whole history of the measure, {period_words}.")
        if impact is not None and impact.result is not None:
            method.append(self.method_words(impact))
            method.append(impact_sentence(impact, slide.intervention))
            cumulative = cumulative_sentence(impact, slide.intervention)
            if cumulative:
                method.append(cumulative)
            method.extend(diagnostics_in_words(impact.result))
            caveats.extend(impact.notes)
        if slide.chart == "spc" and spc.result is not None:
            facet = spc.result.facet()
            method.append(
                "Chart: Making Data Count statistical process control (XmR), "
                f"{period_words}. {facet.variation_meaning}."
                + (f" {facet.assurance_meaning}." if facet.assurance_icon else "")
            )
        if compared is not None:
            caveats.extend(compared.notes)
        if metric.caveats:
            caveats.append(metric.caveats)
        suppressed = big == SUPPRESSED or any(
            e.suppressed for e in self.ledger.entries[first_entry:]
        )
        if self.controls and is_controlled(metric):
            caveats.append(legend(self.policy))
        caveats.extend(filter(None, [status_note(self.catalogue)]))
        notes = "\n\n".join(
            part
            for part in (
                slide.notes,
                "Method: " + " ".join(method) if method else "",
                "Caveats: " + " ".join(caveats) if caveats else "",
            )
            if part
        )
        return dataclasses.replace(
            base,
            big_number=big,
            interval=interval,
            number_label=label,
            chart=chart,
            metric_title=metric.title,
            notes=notes,
            shows_suppressed=suppressed,
        )

    # ---- comparisons and wholes ---------------------------------------------------------

    def whole_reading(self, metric_id: str, part: Reading, query: SeriesQuery) -> Reading:
        """The reading of the whole a big number is part of ('of 205'), as shown."""
        if metric_id not in self.catalogue.metrics:
            raise ValueError(f"unknown metric '{metric_id}' (out_of)")
        whole = read_metric(self.board, metric_id, query, self.audience)
        if not whole.available:
            raise ValueError(f"the whole ({whole.metric.title}) is unavailable: {whole.reason}")
        self.record_reading(whole, "big number")
        return whole

    def comparison(self, metric: MetricDef, compare: Comparison, query: SeriesQuery) -> Any:
        """The equity analysis behind a slide's comparison (metrics.analyses.equity: rates per
        population over the slide's period, the reference as asked), shared with the Equity
        page's memo."""
        equity = importlib.import_module("metrics.analyses.equity")
        result = self.board.memo(
            (
                "equity",
                metric.id,
                compare.dimension,
                query.start,
                query.end,
                None,
                compare.reference,
            ),
            lambda: equity.equity_rates(
                self.board,
                metric.id,
                compare.dimension,
                start=query.start,
                end=query.end,
                reference=compare.reference,
            ),
        )
        if result.reference != compare.reference:
            raise ValueError(f"'{compare.reference}' has no rate to compare against")
        if compare.group not in {g.group for g in result.rates.groups}:
            raise ValueError(f"no figures for '{compare.group}' in the period")
        return result

    def ratio_figure(self, result: Any, compare: Comparison) -> tuple[str, str, str]:
        """(big number, interval, label) of the group's rate against the reference's, from
        metrics.analyses.equity_shown's figures as shown under this audience's policy: '*' when
        either group's count is suppressed."""
        equity_shown = importlib.import_module("metrics.analyses.equity_shown")
        row = equity_shown.shown_rates(result, self.policy).group(compare.group)
        reference = equity_shown.group_phrase(compare.dimension, compare.reference)
        group = equity_shown.group_phrase(compare.dimension, compare.group)
        months = result.rates.months
        span = f"{month_short(months[0])} to {month_short(months[-1])}" if months else ""
        if row.suppressed or row.ratio_suppressed:
            return (
                SUPPRESSED,
                "",
                f"too few {equity_shown.event_noun(result.metric)} among {group} or {reference} "
                f"to compare ({span})",
            )
        if row.rate_ratio is None:
            raise ValueError(f"no comparison with {reference} is possible: {row.reason}")
        interval = ""
        if row.ratio_lower is not None and row.ratio_upper is not None:
            interval = f"95% CI {ratio_words(row.ratio_lower)} to {ratio_words(row.ratio_upper)}"
        label = (
            f"the rate among {reference} ({equity_shown.event_noun(result.metric)} of {group} per "
            f"{result.per:,.0f} a year, {span})"
        )
        return f"{ratio_words(row.rate_ratio)} times", interval, label

    def ratio_method(self, result: Any, compare: Comparison) -> list[str]:
        """What the big number compares, in the speaker notes."""
        equity_shown = importlib.import_module("metrics.analyses.equity_shown")
        group = equity_shown.group_phrase(compare.dimension, compare.group)
        reference = equity_shown.group_phrase(compare.dimension, compare.reference)
        return [
            f"Big number: the rate of {equity_shown.event_noun(result.metric)} among {group} "
            f"divided by the rate among {reference}, each per {result.per:,.0f} adults a year "
            f"pooled over {result.period_text.replace(' and ', ' to ')} (mid-year population "
            "estimates), with its 95% confidence interval; rates come from the counts as "
            f"shown under the {self.audience} disclosure policy.",
            equity_shown.ratio_sentence(result, compare.group, self.policy),
        ]

    def comparison_chart_content(self, result: Any, compare: Comparison) -> ChartContent:
        """The two groups' rates per financial year with their intervals, as shown."""
        equity_shown = importlib.import_module("metrics.analyses.equity_shown")
        yearly = equity_shown.shown_yearly(result, self.policy)
        rows = yearly[
            yearly["group"].isin([compare.group, compare.reference]) & yearly["rate"].notna()
        ]
        if rows.empty:
            raise ValueError("no year has figures that can be shown for the comparison")
        data = pd.DataFrame(
            {
                "period": rows["fin_year"].astype(str),
                "group": rows["group"].astype(str),
                "rate": rows["rate"].astype(float),
                "rate_lower": rows["rate_lower"].astype(float),
                "rate_upper": rows["rate_upper"].astype(float),
                "year_kind": ["Full year" if c else "Part year" for c in rows["complete"]],
            }
        ).reset_index(drop=True)
        metric = result.metric
        y_title = f"{metric.title} a year"
        chart = group_rates_chart(
            data,
            group=compare.group,
            reference=compare.reference,
            y_title=y_title,
            decimals=metric.decimals,
            height=SVG_HEIGHT,
        )
        alt_text = group_rates_alt_text(
            data,
            group=compare.group,
            reference=compare.reference,
            what=f"{metric.title.lower()} a year",
            decimals=metric.decimals,
            describe_group=lambda g: equity_shown.group_phrase(compare.dimension, g),
        )
        return ChartContent(chart, alt_text, "compare")

    # ---- the board pack ---------------------------------------------------------------

    def board_pack(self, when: dt.date) -> BoardPack:
        lines = self.spc_lines()
        exceptions = tuple(line for line in lines if line.attention)
        impact_pages = tuple(self.impact_page(m) for m in studies_headline_first(self.board))
        money = self.guarded("money", "Money", self.money_section)
        equity = self.guarded("equity", "Equity", self.equity_section)
        quality = self.guarded("data_quality", "Data quality", self.data_quality_section)
        showcase = self.guarded("showcase", "Showcase", self.showcase_section)
        method = self.method_section()
        cover = self.cover(when, lines, exceptions, impact_pages, money, equity, quality)
        return BoardPack(
            cover=cover,
            exceptions=exceptions,
            spc_summary=lines,
            impact_pages=impact_pages,
            money=money,
            equity=equity,
            data_quality=quality,
            method=method,
            audience=self.audience,
            policy_name=self.policy.name,
            legend=legend(self.policy),
            synthetic_label=status_note(self.catalogue),
            status_label=status_label(self.catalogue),
            problems=tuple(self.problems),
            disclosed=tuple(self.ledger.entries),
            showcase=showcase,
        )

    def guarded(self, key: str, title: str, build: Callable[[], Section]) -> Section:
        """A section, or the same section marked unavailable with the reason."""
        try:
            return build()
        except Exception as exc:  # an engine still being finished must not stop the pack
            reason = str(exc) or exc.__class__.__name__
            self.problems.append(Problem(f"board pack: {title.lower()}", reason))
            return Section(key, title, unavailable=reason)

    def spc_lines(self) -> tuple[SPCLine, ...]:
        """Every live metric's reading, exceptions first (as the Overview orders them)."""
        try:
            items = readings(self.board, self.reading_query, self.audience)
        except Exception as exc:
            self.problems.append(Problem("board pack: SPC summary", str(exc)))
            return ()
        return tuple(self.spc_line(r) for r in exceptions_first(items))

    def spc_line(self, reading: Reading) -> SPCLine:
        """One metric's line: exactly the reading the site shows (value, month, status)."""
        metric = reading.metric
        domain = self.catalogue.domains.get(metric.domain)
        domain_title = domain.title if domain else metric.domain
        if not reading.available or reading.spc.result is None:
            reason = reading.reason or reading.spc.reason or "no SPC reading"
            return SPCLine(
                metric.id, metric.title, domain_title, "–", "", None, None, "", "", reason
            )
        self.record_reading(reading, "table")
        month = reading.period
        if reading.provisional:
            month += f" ({reading.status_label})"
        return SPCLine(
            metric_id=metric.id,
            metric_title=metric.title,
            domain=domain_title,
            latest=reading.display,
            month=month,
            variation_icon=reading.variation_icon,
            assurance_icon=reading.assurance_icon,
            icon_words=reading.icon_words,
            attention=reading.attention_reason,
            latest_is_count=(
                metric.measure in ("count", "sum") and is_controlled(metric) and self.controls
            ),
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

    def impact_page(self, metric: MetricDef) -> ImpactPage:
        assert metric.its is not None
        names = [
            self.catalogue.interventions[i].title
            for i in metric.its.interventions
            if i in self.catalogue.interventions
        ]
        base = ImpactPage(
            metric_id=metric.id,
            metric_title=metric.title,
            intervention=", ".join(names) or ", ".join(metric.its.interventions),
            model=FAMILY_WORDS.get(block_model(metric, metric.its), ""),
            headline=metric.id == headline_study_id(self.board),
        )
        try:
            impact = self.impact(metric, None)
            if impact.result is None:
                raise ValueError(f"the model could not be fitted: {impact.error}")
            big, interval = headline(impact)
            chart = self.its_chart_content(impact, None)
            notes = list(impact.notes)
            if metric.caveats:
                notes.append(metric.caveats)
            method = self.method_words(impact)
            badge, colour = verdict_badge(impact)
            verdict = impact.result.verdict
            return dataclasses.replace(
                base,
                model=model_words(impact.result.spec),
                big_number=big,
                interval=interval,
                sentence=impact_sentence(impact),
                cumulative=cumulative_sentence(impact),
                diagnostics=tuple(diagnostics_in_words(impact.result)),
                notes=(method, *notes),
                chart=chart,
                verdict=badge,
                verdict_colour=colour,
                verdict_words=verdict.words() if verdict is not None else "",
            )
        except Exception as exc:  # one failing model must never stop the pack
            reason = str(exc) or exc.__class__.__name__
            self.problems.append(Problem(f"board pack: impact of {metric.id}", reason))
            return dataclasses.replace(base, unavailable=reason)

    # ---- money --------------------------------------------------------------------------

    def money_section(self) -> Section:
        """Spend against budget, savings and unit costs (money is not about individuals,
        so only the activity counts behind unit costs are disclosure-controlled)."""
        # Imported here: the money engine may not import yet (its section is then unavailable).
        money = importlib.import_module("metrics.analyses.money")
        report = money.money_report(self.board)
        by_line = report.by_service_line
        budget = Table(
            title=f"Spend against budget by service line, {report.fin_year} to "
            f"{month_words(report.through_month)}",
            columns=("Service line", "Budget to date", "Actual to date", "Variance", "Variance %"),
            rows=tuple(
                (
                    str(r["group_name"]),
                    _money(r["ytd_budget_gbp"]),
                    _money(r["ytd_actual_gbp"]),
                    _money(r["ytd_variance_gbp"], signed=True),
                    _pct(r["ytd_variance_pct"]),
                )
                for _, r in by_line.iterrows()
            ),
            note="Variance is actual minus budget: a positive variance is an overspend.",
        )
        savings = report.savings
        savings_table = Table(
            title=f"Spend against the {report.baseline_year} baseline (like for like)",
            columns=(
                "Service line",
                f"Spend {report.baseline_year}",
                f"Spend {report.fin_year}",
                "Saving",
                "Saving %",
            ),
            rows=tuple(
                (
                    str(r["service_line"]),
                    _money(r["baseline_actual_gbp"]),
                    _money(r["actual_gbp"]),
                    _money(r["saving_gbp"], signed=True),
                    _pct(r["saving_pct"]),
                )
                for _, r in savings.iterrows()
            ),
        )
        units = report.unit_costs
        unit_rows = []
        count_cells = []
        for i, (_, r) in enumerate(units.iterrows()):
            activity = _number(r.get("activity"))
            if self.audience == "public":
                cell = self.shown_count(activity, str(r["service_line"]), "table", top_level=False)
                activity_text = cell.text
                count_cells.append((i, 5))
            else:
                activity_text = "–" if activity is None else f"{activity:,.0f}"
            unit_rows.append(
                (
                    str(r["service_line"]),
                    str(r["unit_label"]),
                    _money(r["unit_cost_gbp"]),
                    _money(r["previous_unit_cost_gbp"]),
                    _pct(r["change_pct"]),
                    activity_text,
                )
            )
        unit_table = Table(
            title=f"Unit costs, {money.period_words(report.fin_year, report.through_month)}",
            columns=(
                "Service line",
                "Unit",
                "Unit cost",
                "Same months a year before",
                "Change",
                "Activity",
            ),
            rows=tuple(unit_rows),
            count_cells=tuple(count_cells),
        )
        return Section(
            "money",
            "Money",
            paragraphs=(report.summary,),
            tables=(budget, savings_table, unit_table),
            summary=_first_sentence(report.summary),
        )

    # ---- equity ------------------------------------------------------------------------

    def equity_section(self) -> Section:
        """Rates per 100,000 a year by ethnicity and rate ratios (counts controlled)."""
        equity = importlib.import_module("metrics.analyses.equity")
        equity_shown = importlib.import_module("metrics.analyses.equity_shown")
        bed_share = importlib.import_module("metrics.analyses.bed_share")
        candidates = equity.equity_metrics(self.catalogue)
        if not candidates:
            raise ValueError("no rate metric with an equity breakdown is defined")
        ids = [m.id for m in candidates]
        metric_id = EQUITY_METRIC if EQUITY_METRIC in ids else ids[0]
        metric = self.catalogue.metrics[metric_id]
        dims = equity.metric_dimensions(metric)
        dimension = EQUITY_DIMENSION if EQUITY_DIMENSION in dims else dims[0]
        result = self.board.memo(
            ("equity", metric_id, dimension, self.query.start, self.query.end, None, None),
            lambda: equity.equity_rates(
                self.board, metric_id, dimension, start=self.query.start, end=self.query.end
            ),
        )
        paragraphs = []
        group = equity_shown.default_comparison(result, self.policy)
        if group:
            paragraphs.append(equity_shown.ratio_sentence(result, group, self.policy))
            age_words = equity_shown.standardised_sentence(result, group, self.policy)
            if age_words:
                paragraphs.append(age_words)
        variation = equity_shown.dispersion_sentence(result, self.policy)
        if variation:
            paragraphs.append(variation)
        paragraphs.extend(result.notes)
        frame = equity_shown.equity_table(result, self.policy)
        keep = [c for c in frame.columns if c not in ("Interval excludes 1",)]
        frame = frame[keep]
        events_col = keep.index("Events")
        for g in result.rates.groups:
            self.shown_count(g.events, g.group, "table", top_level=False)
        table = Table(
            title=f"{metric.title} by {dimension.replace('_', ' ')}, "
            + result.period_text.replace(" and ", " to "),
            columns=tuple(keep),
            rows=tuple(tuple(str(v) for v in row) for row in frame.itertuples(index=False)),
            count_cells=tuple((i, events_col) for i in range(len(frame))),
            note="Rates, intervals and ratios are worked out from the counts as shown; a "
            "group's rate and ratio are hidden when its count is suppressed. Intervals are "
            "widened where a group's monthly numbers vary more than chance alone would give.",
        )
        tables = [table]
        if result.standardised is not None:
            ages = equity_shown.standardised_table(result, self.policy)
            ages = ages[[c for c in ages.columns if c != "Interval excludes 1"]]
            tables.append(
                Table(
                    title="Allowing for age: crude and age-standardised rates",
                    columns=tuple(ages.columns),
                    rows=tuple(tuple(str(v) for v in row) for row in ages.itertuples(index=False)),
                    note="Directly age-standardised to the 2013 European Standard Population "
                    "(Eurostat), its five-year bands added up to ours ("
                    + equity_shown.standard_description(result.standardised.weights)
                    + "; 18-24 takes 2 of the 5 years of 15-19), with Dobson et al. (1991) "
                    "95% intervals; ratio intervals on the log scale. Worked out from each age "
                    "band's count as shown; '*' where one is suppressed.",
                )
            )
        charts = []
        if not equity_shown.rate_chart_data(result, self.policy).empty:
            charts.append(
                ChartContent(
                    equity_figures.rate_chart(result, self.policy),
                    equity_shown.rate_alt_text(result, self.policy),
                    "equity",
                )
            )
        if not equity_shown.standardised_chart_data(result, self.policy).empty:
            charts.append(
                ChartContent(
                    equity_figures.standardised_chart(result, self.policy),
                    equity_figures.standardised_alt_text(result, self.policy),
                    "equity",
                )
            )
        if bed_share.BED_SHARE_METRIC in self.catalogue.metrics:
            try:
                share = bed_share.bed_day_share(
                    self.board,
                    population_metric_id=metric_id,
                    start=self.query.start,
                    end=self.query.end,
                )
                paragraphs.append(bed_share.bed_share_sentence(share, self.policy))
            except equity.EquityError as exc:
                paragraphs.append(f"Bed-day share unavailable: {exc}")
        return Section(
            "equity",
            "Equity: who is being left behind?",
            paragraphs=tuple(paragraphs),
            tables=tuple(tables),
            charts=tuple(charts),
            summary=paragraphs[0] if group else "",
        )

    # ---- showcase ----------------------------------------------------------------------

    def showcase_section(self) -> Section:
        """What the showcase slides say in public, each with the figure its slide shows
        (the same deck content as the HTML deck and the PowerPoint, for this audience)."""
        deck = deck_content(self.board, self.audience)
        if not deck.slides:
            raise ValueError("the showcase has no slides (config/showcase.yaml)")
        paragraphs = [
            "What the showcase slides say, each with the figure its slide shows (the same "
            "figures as the HTML deck and the PowerPoint, "
            f"{'public' if self.audience == 'public' else 'board'} version)."
        ]
        for slide in deck.slides:
            if not slide.available:
                figure = unavailable_text(slide.unavailable)
            else:
                figure = " ".join(
                    part
                    for part in (
                        slide.big_number,
                        f"({slide.interval})" if slide.interval else "",
                        slide.number_label,
                    )
                    if part
                )
            paragraphs.append(f'Slide {slide.number}: "{slide.headline}" shows {figure}.')
        return Section(
            "showcase",
            "Showcase: what we say in public",
            paragraphs=tuple(paragraphs),
        )

    # ---- data quality ------------------------------------------------------------------

    def data_quality_section(self) -> Section:
        """Completeness gaps, revisions, definition breaks and refresh dates."""
        dq = importlib.import_module("metrics.analyses.data_quality")
        report = dq.data_quality_report(self.board, self.query.start, self.query.end)
        paragraphs = []
        gaps = report.gaps
        gap_sentence = (
            f"{len(gaps)} source month(s) in {self.period_words} are missing or incomplete; "
            "a missing month is shown as a gap on every chart, never as zero."
            if len(gaps)
            else f"No source month in {self.period_words} is missing or incomplete."
        )
        summary = gap_sentence
        if report.revisions is not None:
            summary = dq.revision_sentence(report.revisions)
            paragraphs.append(summary)
        elif report.revisions_problem:
            paragraphs.append(f"Revisions unavailable: {report.revisions_problem}")
        paragraphs.append(gap_sentence)
        tables = []
        if len(gaps):
            tables.append(
                Table(
                    title="Missing or incomplete months (newest first)",
                    columns=("Source", "Measure", "Month", "Status"),
                    rows=tuple(
                        (str(r["Source"]), str(r["Measure"]), str(r["Month"]), str(r["Status"]))
                        for _, r in gaps.head(25).iterrows()
                    ),
                    note="" if len(gaps) <= 25 else f"The first 25 of {len(gaps)} are listed.",
                )
            )
        breaks = report.definition_breaks
        if len(breaks):
            tables.append(
                Table(
                    title="Definition breaks (series may step for reasons other than care)",
                    columns=("Break", "From", "Metrics on the sources affected"),
                    rows=tuple(
                        (str(r["title"]), month_short(r["month"]), str(r["metrics_count"]))
                        for _, r in breaks.iterrows()
                    ),
                )
            )
        refresh = report.refresh
        refresh_rows = []
        count_cells = []
        for i, (_, r) in enumerate(refresh.iterrows()):
            rows_value = _number(r["rows"])
            if self.audience == "public":
                rows_text = self.shown_count(
                    rows_value, str(r["title"]), "table", top_level=False
                ).text
                count_cells.append((i, 1))
            else:
                rows_text = "–" if rows_value is None else f"{rows_value:,.0f}"
            refresh_rows.append(
                (
                    str(r["title"]),
                    rows_text,
                    f"{r['first_period']} to {r['last_period']}",
                    str(r["provisional"]) or "none",
                    str(r["status"]),
                )
            )
        tables.append(
            Table(
                title="Sources: last refresh",
                columns=("Source", "Rows", "Period", "Provisional months", "Status"),
                rows=tuple(refresh_rows),
                count_cells=tuple(count_cells),
            )
        )
        if self.audience == "board" and len(report.issue_counts):
            tables.append(
                Table(
                    title="Validation issues (details on the site's Catalogue page)",
                    columns=("Level", "Stage", "Issues"),
                    rows=tuple(
                        (str(r["level"]), str(r["stage"]), str(r["issues"]))
                        for _, r in report.issue_counts.iterrows()
                    ),
                )
            )
        return Section(
            "data_quality",
            "Data quality",
            paragraphs=tuple(paragraphs),
            tables=tuple(tables),
            summary=_first_sentence(summary),
        )

    # ---- method notes and cover --------------------------------------------------------

    def method_section(self) -> Section:
        legend_text = legend(self.policy) or (
            "No small-number suppression applies to this board version: figures are shown "
            "as computed."
        )
        paragraphs = (
            *filter(None, [status_note(self.catalogue)]),
            "Statistical process control: Making Data Count XmR charts (NHSRplotthedots "
            "rules): process limits at the mean plus or minus 2.66 times the mean moving "
            "range; special causes are a point outside the limits, a run of 7 on one side of "
            "the mean, a trend of 7 rising or falling, or 2 of 3 beyond two sigma. "
            "Percentages and rates over large numbers may use Laney p' and u' charts "
            "(limits allowing for variation between months as well as within them), and a "
            "measure of whole days too coarse for limits is read as a run chart around its "
            "median. The variation icon says whether a change is more than noise; the "
            "assurance icon whether a target will be met. Provisional months (still filling "
            "up) are shown but left out of the reading.",
            "Impact of service changes: interrupted time series (segmented regression) over "
            "the whole history, with seasonality and temporary shocks modelled; counts use "
            "quasi-Poisson or negative binomial models, percentages a quasi-binomial model "
            "of numerator out of denominator, with autocorrelation allowed for. Effects are "
            f"read 12 months after a change by default, with a {CONFIDENCE_WORDS} "
            "simulated from the model. The counterfactual is what the earlier trend and "
            "seasons predicted. A study whose model does not fit well enough (autocorrelation "
            "left over, too few points, poor fit) is said to be inconclusive, never 'no "
            "change'.",
            "Equity: rates per 100,000 adults a year pooled over the period with exact "
            "Poisson 95% intervals; directly age-standardised rates (European Standard "
            "Population 2013) with Dobson 95% intervals, so differences in age mix are "
            "allowed for; rate ratios against a reference group with 95% intervals, widened "
            "where the month-to-month variation is more than chance alone would give; "
            "neighbourhoods compared on funnel plots (95% and 99.8% limits).",
            "Money: pooled budget against actual spend (accruals basis, GBP); a positive "
            "variance is an overspend. Money is not about individuals, so it is not suppressed.",
            f"Disclosure control ({self.audience} version, policy {self.policy.name}): "
            + legend_text,
            f"Period: {self.pack_scope_words}"
            + (
                " (the board's default reporting period)."
                if self.is_default_period
                else " (chosen on the site's Export page)."
            ),
        )
        return Section("method", "Method notes", paragraphs=paragraphs)

    def cover(
        self,
        when: dt.date,
        lines: tuple[SPCLine, ...],
        exceptions: tuple[SPCLine, ...],
        impact_pages: tuple[ImpactPage, ...],
        money: Section,
        equity: Section,
        quality: Section,
    ) -> Cover:
        layout = self.catalogue.board
        bullets: list[str] = []
        readable = [line for line in lines if not line.unavailable]
        if readable:
            if exceptions:
                names = [e.metric_title for e in exceptions[:3]]
                more = f" and {len(exceptions) - 3} more" if len(exceptions) > 3 else ""
                bullets.append(
                    f"{len(exceptions)} of {len(readable)} measures need the board's attention "
                    f"(special-cause concern or a target that will not be met): "
                    f"{'; '.join(names)}{more}."
                )
            else:
                bullets.append(
                    f"None of the {len(readable)} measures shows special-cause concern or a "
                    "target that will not be met."
                )
        studies = [p for p in impact_pages if p.available]
        if studies:
            # The board's headline study leads (board.yaml headline_study), with its verdict.
            lead = next((p for p in studies if p.headline), studies[0])
            concluding = sum(p.concludes for p in studies)
            count = (
                f"{len(studies)} planned impact studies ({concluding} with a model that fits "
                "well enough to conclude)"
            )
            if lead.concludes:
                bullets.append(
                    f"{count}: {lead.metric_title} changed by {lead.big_number} "
                    f"({lead.interval}) after {lead.intervention} [{lead.verdict}]."
                )
            else:
                bullets.append(
                    f"{count}: no conclusion yet on {lead.metric_title} after "
                    f"{lead.intervention}, because its model does not fit the data well "
                    f"enough [{lead.verdict}]."
                )
        bullets.extend(s.summary for s in (money, equity, quality) if s.available and s.summary)
        fillers = [
            *(
                ["Every figure in this pack is synthetic (a generated alliance for demonstration)."]
                if is_synthetic(self.catalogue)
                else []
            ),
            f"Figures cover {self.pack_scope_words}.",
            "Parts marked unavailable could not be computed; the reason is given with each.",
        ]
        while len(bullets) < MIN_SUMMARY_BULLETS and fillers:
            bullets.append(fillers.pop(0))
        public = self.audience == "public"
        return Cover(
            title=f"{layout.title}: integrated performance report",
            organisation=layout.organisation,
            meeting=f"{layout.title} (meeting held in public)" if public else layout.title,
            date=when,
            purpose=(
                "Information: a public summary of the alliance's performance."
                if public
                else "Assurance: for the board to note performance, the impact of service "
                "changes, money, equity and data quality, and to discuss the exceptions."
            ),
            summary=tuple(bullets[:MAX_SUMMARY_BULLETS]),
            recommendation=(
                "The board is asked to note this report."
                if public
                else "The board is asked to note the report and agree actions on the exceptions."
            ),
            audience_note=(
                "Public version: small numbers are suppressed and other counts rounded."
                if public
                else "Board version: whole-area figures as computed; breakdowns "
                "disclosure-controlled. Not for publication."
                if self.policy.area_totals_unrounded or self.policy.name == "none"
                else "Board version: disclosure-controlled. Not for publication."
            ),
            period=self.pack_scope_words,
        )


def _money(value: Any, *, signed: bool = False) -> str:
    number = _number(value)
    if number is None:
        return "–"
    text = format_money(number)
    return ("+" + text) if signed and number > 0 else text


def _pct(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:+.1f}%"


# --------------------------------------------------------------------------- rendering


_RENDER_LOCK = threading.Lock()
_RENDERED: OrderedDict[tuple[str, str], bytes | str] = OrderedDict()
_RENDER_CACHE_SIZE = 64


def export_spec(chart: ChartContent, *, width: int, height: int | None = None) -> dict[str, Any]:
    """The chart as a Vega-Lite spec for a fixed-size, offline render.

    Vega's automatic per-mark ARIA labels are switched off: they would print every data
    value as text inside the SVG. The chart's one accessible description is its alt text,
    written from the figures as shown. `height` None keeps the chart's own height.
    """
    spec = chart.chart.to_dict()
    spec["width"] = width
    if height is not None:
        spec["height"] = height
    for layer in spec.get("layer", []):
        if isinstance(layer, dict) and layer.get("width") == "container":
            layer["width"] = width
    spec.setdefault("config", {})["aria"] = False
    spec["description"] = chart.alt_text
    return spec


def _cached_render(kind: str, spec: dict[str, Any], render: Callable[[], Any]) -> Any:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    key = (kind, digest)
    # vl-convert runs one JavaScript engine, so renders are serialised anyway; the lock
    # also keeps two Streamlit sessions from building the same chart twice.
    with _RENDER_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            return _RENDERED[key]
        value = render()
        _RENDERED[key] = value
        while len(_RENDERED) > _RENDER_CACHE_SIZE:
            _RENDERED.popitem(last=False)
        return value


def chart_svg(
    chart: ChartContent, *, width: int = SVG_WIDTH, height: int | None = SVG_HEIGHT
) -> str:
    """The chart as SVG text (vl-convert: offline, no browser). Raises on failure."""
    import vl_convert as vlc

    spec = export_spec(chart, width=width, height=height)
    return _cached_render("svg", spec, lambda: vlc.vegalite_to_svg(spec))


def chart_png(
    chart: ChartContent,
    *,
    width: int = PNG_WIDTH,
    height: int | None = PNG_HEIGHT,
    scale: float = PNG_SCALE,
) -> bytes:
    """The chart as PNG bytes (vl-convert). Raises on failure."""
    import vl_convert as vlc

    spec = export_spec(chart, width=width, height=height)
    return _cached_render(f"png@{scale}", spec, lambda: vlc.vegalite_to_png(spec, scale=scale))


def icon_png(name: str, *, scale: float = 1.0) -> bytes:
    """A Making Data Count icon (SVG) as PNG, converted offline by vl-convert."""
    import vl_convert as vlc

    from metrics.spc import icon_svg

    svg = icon_svg(name)
    return _cached_render(
        "icon", {"icon": name, "scale": scale}, lambda: vlc.svg_to_png(svg, scale=scale)
    )


def unavailable_text(reason: str) -> str:
    """How an unavailable part reads in every format."""
    return f"Unavailable: {reason}"


__all__ = [
    "AUDIENCES",
    "FICTIONAL_LABEL",
    "SYNTHETIC_LABEL",
    "SYNTHETIC_NOTE",
    "Audience",
    "BoardPack",
    "ChartContent",
    "Cover",
    "Deck",
    "Disclosed",
    "ImpactPage",
    "NothingToExport",
    "Problem",
    "SPCLine",
    "Section",
    "Slide",
    "Story",
    "Table",
    "board_pack_content",
    "chart_png",
    "chart_svg",
    "deck_content",
    "export_spec",
    "icon_png",
    "month_short",
    "month_words",
    "require_content",
    "unavailable_text",
]
