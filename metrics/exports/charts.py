"""Chart content for the deck and the board pack: SPC, impact and line charts drawn from
the figures as shown, each with its alt text."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from metrics.analyses.disclosure import is_controlled
from metrics.analyses.impact import Impact, impact_sentence, verdict_badge
from metrics.analyses.reading import SPCReading
from metrics.charts.its_chart import its_chart
from metrics.charts.part_of_whole_chart import part_of_whole_chart
from metrics.charts.series_chart import series_chart
from metrics.charts.spc_chart import spc_chart
from metrics.definitions.models import MetricDef
from metrics.exports.builder import Builder
from metrics.exports.helpers import (
    CONFIDENCE_WORDS,
    _is_count,
    _number,
    _y_title,
    month_short,
    month_words,
)
from metrics.exports.model import ChartContent
from metrics.exports.render import SVG_HEIGHT
from metrics.labels import chart_title
from metrics.sql.series import SeriesQuery

# ---- charts -----------------------------------------------------------------------


def spc_chart_content(
    builder: Builder,
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
    builder.record_points(metric, result.points["date"], result.points["value"], shown)

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
    # A count's axis starts at zero (the SPC chart places its line labels on its own
    # domain, so it is told when it is built; an impact chart's axis always takes in zero).
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


def its_chart_content(builder: Builder, impact: Impact, intervention: str | None) -> ChartContent:
    """The impact chart with the observed points as shown (the model uses exact ones)."""
    result = impact.result
    if result is None:
        raise ValueError(impact.error)
    metric = impact.metric
    frame = result.counterfactual
    if is_controlled(metric) and builder.controls:
        if impact.spec is not None and impact.spec.offset_col:
            # A count model of a rate: the observed points are the event counts.
            cells = [
                builder.shown_count(_number(v), month_short(d), "chart", top_level=True)
                for d, v in zip(frame["date"], frame["observed"], strict=True)
            ]
            frame["observed"] = [math.nan if c.value is None else c.value for c in cells]
        else:
            _, shown = builder.shown_frame(metric.id, SeriesQuery())
            values = dict(zip(shown["month"], shown["value"], strict=True))
            builder.record_points(metric, frame["date"], frame["observed"], shown)
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
    builder: Builder,
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
            shown, metric, height=SVG_HEIGHT, title=chart_title(metric.title, builder.catalogue)
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
