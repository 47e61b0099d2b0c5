"""The showcase deck: its slides (one message, one big number, one chart, one story each)
and the group comparisons a slide can show."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pandas as pd

from metrics.analyses.disclosure import SUPPRESSED, is_controlled, legend
from metrics.analyses.impact import (
    Impact,
    cumulative_sentence,
    diagnostics_in_words,
    headline,
    impact_sentence,
)
from metrics.analyses.reading import Reading, read_metric, spc_reading
from metrics.board import Board
from metrics.charts.comparison_chart import group_rates_alt_text, group_rates_chart
from metrics.data_status import status_label, status_note
from metrics.definitions.board_files import Comparison, SlideDef
from metrics.definitions.models import MetricDef
from metrics.definitions.slide_claims import slide_claim_problem
from metrics.exports import Audience, ExportFilters
from metrics.exports.builder import Builder
from metrics.exports.charts import its_chart_content, series_chart_content, spc_chart_content
from metrics.exports.helpers import _unit_words, month_short, month_words, ratio_words
from metrics.exports.model import ChartContent, Deck, Problem, Slide, Story
from metrics.exports.render import SVG_HEIGHT
from metrics.sql.series import SeriesQuery

# ---- the deck ---------------------------------------------------------------------


def deck_for(board: Board, audience: Audience, scope: ExportFilters) -> Deck:
    """The showcase deck for `audience` and the period of `scope`, computed once per board
    (boards never change): the deck `deck_content` returns and the board pack's showcase
    section reads."""
    return board.memo(
        ("exports", "deck", audience, scope),
        lambda: build_deck(Builder(board, audience, scope)),
    )


def build_deck(builder: Builder) -> Deck:
    showcase = builder.catalogue.showcase
    slide_defs = builder.catalogue.slides or tuple(showcase.slides)
    slides = [build_slide(builder, i, d) for i, d in enumerate(slide_defs, start=1)]
    return Deck(
        title=showcase.title,
        subtitle=showcase.subtitle,
        event=showcase.event,
        audience=builder.audience,
        policy_name=builder.policy.name,
        legend=legend(builder.policy),
        synthetic_label=status_note(builder.catalogue),
        status_label=status_label(builder.catalogue),
        period=builder.deck_scope_words,
        slides=tuple(slides),
        problems=tuple(builder.problems),
        disclosed=tuple(builder.ledger.entries),
    )


def build_slide(builder: Builder, number: int, slide: SlideDef) -> Slide:
    """One slide; any failure marks it unavailable with the reason (never raises)."""
    story = (
        Story(slide.story.title, slide.story.text, slide.story.fictional) if slide.story else None
    )
    base = Slide(
        number=number,
        id=slide.id,
        headline=slide.headline,
        caption=slide.caption,
        story=story,
        outcome=outcome_title(builder, slide),
        notes=slide.notes,
    )
    try:
        return _slide_figures(builder, base, slide)
    except Exception as exc:  # one bad slide must never stop the deck
        reason = str(exc) or exc.__class__.__name__
        builder.problems.append(Problem(f"slide {number} ({slide.id})", reason))
        notes = "\n\n".join(
            part
            for part in (slide.notes, f"Unavailable: {reason}", status_note(builder.catalogue))
            if part
        )
        return dataclasses.replace(base, unavailable=reason, notes=notes)


def outcome_title(builder: Builder, slide: SlideDef) -> str:
    outcomes = builder.catalogue.outcomes
    if slide.outcome and slide.outcome in outcomes:
        return outcomes[slide.outcome].title
    metric = builder.catalogue.metrics.get(slide.metric or "")
    if metric is not None:
        domain = builder.catalogue.domains.get(metric.domain)
        if domain is not None and domain.outcome in outcomes:
            return outcomes[domain.outcome].title
    return slide.outcome or ""


def slide_query(builder: Builder, slide: SlideDef) -> SeriesQuery:
    """The slide's period: the board's default, or the metric's whole history."""
    return SeriesQuery() if slide.period == "whole" else builder.query


def slide_period_words(builder: Builder, slide: SlideDef, frame: pd.DataFrame) -> str:
    """'April 2019 to March 2025' (the board's period), or the months of the metric's
    whole history (`frame`: its final months)."""
    if slide.period != "whole":
        return builder.period_words
    known = frame.dropna(subset=["value"])
    if known.empty:
        return "the whole history of the data"
    return f"{month_words(known['month'].min())} to {month_words(known['month'].max())}"


def _slide_figures(builder: Builder, base: Slide, slide: SlideDef) -> Slide:
    wants_metric = slide.number != "none" or slide.chart != "none"
    if not wants_metric:
        notes = "\n\n".join(p for p in (slide.notes, status_note(builder.catalogue)) if p)
        return dataclasses.replace(base, notes=notes)
    if not slide.metric:
        raise ValueError("the slide asks for a number or chart but names no metric")
    metric = builder.catalogue.metrics.get(slide.metric)
    if metric is None:
        raise ValueError(f"unknown metric '{slide.metric}'")
    if slide.intervention and slide.intervention not in builder.catalogue.interventions:
        raise ValueError(f"unknown intervention '{slide.intervention}'")
    # A headline that speaks of a group while the slide shows the overall figure is a
    # claim the slide does not back: the slide is not shown (validation says the same).
    claim = slide_claim_problem(slide, builder.catalogue)
    if claim:
        raise ValueError(claim)
    if (slide.number == "ratio" or slide.chart == "compare") and slide.compare is None:
        raise ValueError(f"number: {slide.number}, chart: {slide.chart} need compare")
    first_entry = len(builder.ledger.entries)
    query = slide_query(builder, slide)
    exact, shown = builder.shown_frame(metric.id, query)
    spc = spc_reading(builder.board, metric.id, query)
    final = exact[~exact["month"].isin(pd.to_datetime(list(spc.provisional_months)))]
    period_words = slide_period_words(builder, slide, final)
    method: list[str] = []
    caveats: list[str] = []
    big = interval = label = ""
    impact: Impact | None = None
    compared: Any = None  # the EquityResult behind a comparison
    if slide.number == "effect" or slide.chart == "its":
        impact = builder.impact(metric, slide.intervention)
        if impact.result is None:
            raise ValueError(f"the impact model could not be fitted: {impact.error}")
    if slide.compare is not None:
        compared = comparison(builder, metric, slide.compare, query)
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
        big, interval, label = ratio_figure(builder, compared, slide.compare)
        method.extend(ratio_method(builder, compared, slide.compare))
    elif slide.number in ("latest", "change"):
        reading = read_metric(builder.board, metric.id, query, builder.audience)
        if not reading.available:
            raise ValueError(reading.reason)
        builder.record_reading(reading, "big number")
        if slide.number == "latest":
            big = reading.value_text
            words = slide.label or _unit_words(metric)
            when = f"in {reading.period}"
            if reading.provisional:
                when += f" ({reading.status_label})"
            if slide.out_of:
                whole = whole_reading(builder, slide.out_of, reading, query)
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
        # Its axis always takes in zero (metrics.charts.its_chart), as a count's should on
        # a slide read in seconds.
        chart = its_chart_content(builder, impact, slide.intervention)
    elif slide.chart == "spc":
        reading = read_metric(builder.board, metric.id, query, builder.audience)
        chart = spc_chart_content(builder, metric, spc, shown, reading.provisional_shown)
    elif slide.chart == "series":
        # Provisional months (still filling up) would read as a fall: left out, as in SPC.
        pending = pd.to_datetime(list(spc.provisional_months))
        complete = shown[~shown["month"].isin(pending)]
        whole_line = None
        if slide.out_of and slide.out_of in builder.catalogue.metrics:
            whole_metric = builder.catalogue.metrics[slide.out_of]
            whole_exact, whole_shown = builder.shown_frame(whole_metric.id, query)
            whole_exact = whole_exact[~whole_exact["month"].isin(pending)]
            builder.record_points(
                whole_metric, whole_exact["month"], whole_exact["value"], whole_shown
            )
            whole_line = (whole_metric, whole_shown[~whole_shown["month"].isin(pending)])
        plotted = exact[~exact["month"].isin(pending)]
        builder.record_points(metric, plotted["month"], plotted["value"], shown)
        chart = series_chart_content(builder, metric, complete, whole_line)
        if spc.provisional_months:
            method.append(
                "Chart: the latest months are provisional (still filling up) and not shown."
            )
    elif slide.chart == "compare":
        assert slide.compare is not None
        chart = comparison_chart_content(builder, compared, slide.compare)
    if slide.period == "whole":
        method.append(f"Period: the whole history of the measure, {period_words}.")
    if impact is not None and impact.result is not None:
        method.append(builder.method_words(impact))
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
        e.suppressed for e in builder.ledger.entries[first_entry:]
    )
    if builder.controls and is_controlled(metric):
        caveats.append(legend(builder.policy))
    caveats.extend(filter(None, [status_note(builder.catalogue)]))
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


def whole_reading(builder: Builder, metric_id: str, part: Reading, query: SeriesQuery) -> Reading:
    """The reading of the whole a big number is part of ('of 205'), as shown."""
    if metric_id not in builder.catalogue.metrics:
        raise ValueError(f"unknown metric '{metric_id}' (out_of)")
    whole = read_metric(builder.board, metric_id, query, builder.audience)
    if not whole.available:
        raise ValueError(f"the whole ({whole.metric.title}) is unavailable: {whole.reason}")
    builder.record_reading(whole, "big number")
    return whole


def comparison(builder: Builder, metric: MetricDef, compare: Comparison, query: SeriesQuery) -> Any:
    """The equity analysis behind a slide's comparison (metrics.analyses.equity: rates per
    population over the slide's period, the reference as asked), shared with the Equity
    page's memo."""
    equity = importlib.import_module("metrics.analyses.equity")
    result = builder.board.memo(
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
            builder.board,
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


def ratio_figure(builder: Builder, result: Any, compare: Comparison) -> tuple[str, str, str]:
    """(big number, interval, label) of the group's rate against the reference's, from
    metrics.analyses.equity_shown's figures as shown under this audience's policy: '*' when
    either group's count is suppressed."""
    equity_shown = importlib.import_module("metrics.analyses.equity_shown")
    row = equity_shown.shown_rates(result, builder.policy).group(compare.group)
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


def ratio_method(builder: Builder, result: Any, compare: Comparison) -> list[str]:
    """What the big number compares, in the speaker notes."""
    equity_shown = importlib.import_module("metrics.analyses.equity_shown")
    group = equity_shown.group_phrase(compare.dimension, compare.group)
    reference = equity_shown.group_phrase(compare.dimension, compare.reference)
    return [
        f"Big number: the rate of {equity_shown.event_noun(result.metric)} among {group} "
        f"divided by the rate among {reference}, each per {result.per:,.0f} adults a year "
        f"pooled over {result.period_text.replace(' and ', ' to ')} (mid-year population "
        "estimates), with its 95% confidence interval; rates come from the counts as "
        f"shown under the {builder.audience} disclosure policy.",
        equity_shown.ratio_sentence(result, compare.group, builder.policy),
    ]


def comparison_chart_content(builder: Builder, result: Any, compare: Comparison) -> ChartContent:
    """The two groups' rates per financial year with their intervals, as shown."""
    equity_shown = importlib.import_module("metrics.analyses.equity_shown")
    yearly = equity_shown.shown_yearly(result, builder.policy)
    rows = yearly[yearly["group"].isin([compare.group, compare.reference]) & yearly["rate"].notna()]
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
