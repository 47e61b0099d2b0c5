"""The engine for notebooks and scripts: the figures the site shows, one import away.

    from metrics import api

    board = api.open_board()                                  # $ALLIANCE_CONFIG_DIR or config/
    api.series(board, "secondary_referrals", start="2019-04")  # exact monthly figures
    reading = api.reading(board, "secondary_referrals")       # the figure a page shows
    api.spc_chart(reading)                                    # the page's SPC chart
    impact = api.study(board)                                 # the board's headline study
    api.study(board, model="negbin", seasonality="fourier:2")  # the same study, other design
    api.funnel(board, "detention_rate")                       # neighbourhoods on a funnel plot

Every function here calls the engine the site uses (metrics.board, metrics.analyses.reading,
metrics.spc, metrics.analyses.impact, metrics.analyses.funnel, metrics.charts); nothing is
computed twice.
What the site shows goes through the same functions with the same arguments:

- `reading`, `spc_chart(reading)`, `funnel`, `study_chart` are as shown to an audience
  ("board" by default: the board's disclosure policy in config/disclosure.yaml;
  "public": small numbers suppressed);
- `series`, `spc` and the `Impact` returned by `study` hold the exact figures, like
  `python -m metrics show`: for analysts working where the data are, not for publishing.

Periods: `start` and `end` are months, written "2019-04" (or any date; the day is
ignored), both inclusive. `series` covers the whole span of the data unless told
otherwise; `reading`, `spc`, `spc_chart`, `funnel` and `readings` default to the period
every page opens on (board.yaml `default_from`/`default_to`, within the data's span), so
that by default they give what the site gives.

This module does not import Streamlit. docs/notebooks.md has worked examples.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import altair as alt
import pandas as pd

from metrics import board as _board
from metrics.analyses.disclosure import policy_for
from metrics.analyses.funnel import Funnel, breakdown_funnel, funnel_points_frame, funnel_summary
from metrics.analyses.impact import (
    Impact,
    ImpactRequest,
    controlled_result,
    cumulative_sentence,
    group_studies,
    headline,
    headline_study_id,
    impact_sentence,
    run_impact,
    sensitivity_display,
    sensitivity_table,
    verdict_badge,
)
from metrics.analyses.reading import (
    Reading,
    default_period,
    provisional_months,
    read_metric,
    spc_reading,
)
from metrics.analyses.reading import readings as _readings
from metrics.board import Board
from metrics.charts.funnel_chart import funnel_chart as _funnel_chart
from metrics.charts.its_chart import its_chart
from metrics.charts.spc_chart import spc_chart as _spc_chart
from metrics.definitions.issues import Issue, did_you_mean
from metrics.definitions.models import MetricDef
from metrics.its import ITSInputError, ITSSpec, fit_its
from metrics.spc import SPCOptions, SPCResult, compute_spc
from metrics.sql.series import SeriesQuery
from metrics.validation import ValidationReport, validate_config

__all__ = [
    "Audience",
    "Board",
    "Funnel",
    "Impact",
    "Reading",
    "SPCOptions",
    "SPCResult",
    "Unavailable",
    "compute_spc",
    "config_dir",
    "funnel",
    "funnel_chart",
    "funnel_table",
    "issues_table",
    "open_board",
    "period",
    "reading",
    "readings",
    "series",
    "spc",
    "spc_chart",
    "study",
    "study_chart",
    "study_models",
    "study_summary",
    "validate",
]

Audience = Literal["board", "public"]
MonthLike = str | dt.date | pd.Timestamp
CONFIG_ENV = "ALLIANCE_CONFIG_DIR"
PROJECT_CONFIG = Path(__file__).resolve().parents[1] / "config"


class Unavailable(ValueError):
    """The figure asked for cannot be given; the message says why, in the site's words."""


# --------------------------------------------------------------------------- the board


def config_dir(path: str | Path | None = None) -> Path:
    """The configuration folder: `path`, else $ALLIANCE_CONFIG_DIR, else the project's
    config/ (the synthetic sample alliance). The same rule as the site and the CLI."""
    return Path(path or os.environ.get(CONFIG_ENV) or PROJECT_CONFIG).resolve()


def validate(path: str | Path | None = None, *, data: bool = True) -> ValidationReport:
    """Every validation stage over a configuration folder, as `python -m metrics validate`
    runs them (`data=False`: definitions only, no data read). `.errors` and `.warnings`
    are lists of `Issue`; `issues_table(report.issues)` lays them out."""
    return validate_config(config_dir(path), data=data)


def issues_table(issues: Sequence[Issue]) -> pd.DataFrame:
    """Problems as a table: level, file, line, column, field, message, hint (one row each,
    in the order `validate` prints them)."""
    columns = ["level", "file", "line", "column", "field", "message", "hint"]
    return pd.DataFrame(
        [{name: getattr(issue, name) for name in columns} for issue in issues], columns=columns
    )


def open_board(path: str | Path | None = None, *, strict: bool = False) -> Board:
    """Validate a configuration, load its data and return the board the site would serve.

    `path`: a config folder (default: $ALLIANCE_CONFIG_DIR, else the project's config/).
    The board keeps every problem found in `board.issues` (`board.errors` for errors
    only); a metric whose definition has an error is left out, as on the site.
    `strict=True` raises `ValueError` listing the errors instead of returning such a board.
    """
    board = _board.open_board(config_dir(path))
    if strict and board.errors:
        lines = "\n".join(issue.format_text() for issue in board.errors)
        raise ValueError(f"{len(board.errors)} error(s) in the configuration:\n{lines}")
    return board


def period(board: Board) -> tuple[dt.date, dt.date] | None:
    """(first month, last month) of the period every page opens on and the board pack is
    built for; None when no source has dates."""
    return default_period(board)


# --------------------------------------------------------------------------- series


def series(
    board: Board,
    metric_id: str,
    breakdown: str | None = None,
    start: MonthLike | None = None,
    end: MonthLike | None = None,
    lcn: str | None = None,
) -> pd.DataFrame:
    """A metric's monthly series, exact, as the engine computes it for every page.

    Columns: month (first day of the month), group (with a `breakdown`), value (in the
    metric's unit: a count, a mean, a percentage for a ratio with per 100, a rate per
    `rate.per` people...), numerator and denominator (ratios and rates; a rate's
    denominator is the population), n (values the figure is built from), rows (rows the
    filter selects) and status ("final" or "provisional": still filling up). A month
    inside the data's span with no data has a missing value, never 0.

    Default: the whole span of the data (like `python -m metrics show ID --csv`).
    """
    metric = _metric(board, metric_id)
    _check_breakdown(metric, breakdown)
    query = SeriesQuery(
        breakdown=breakdown, start=_month(start), end=_month(end), lcn=_lcn(board, lcn)
    )
    result = board.series(metric.id, query)
    frame = result.frame.copy()  # the board's own frame is shared: never change it
    pending = {pd.Timestamp(m) for m in provisional_months(board, metric)}
    frame["status"] = ["provisional" if m in pending else "final" for m in frame["month"]]
    frame.attrs["metric"] = metric.id
    frame.attrs["unit"] = metric.unit
    frame.attrs["notes"] = list(result.notes)
    return frame


# --------------------------------------------------------------------------- readings


def reading(
    board: Board,
    metric_id: str,
    start: MonthLike | None = None,
    end: MonthLike | None = None,
    lcn: str | None = None,
    audience: Audience = "board",
) -> Reading:
    """The metric's reading as the site shows it: the same `Reading` object every page,
    the board pack and `python -m metrics readings` use.

    `.value` (a float in the metric's unit, None when suppressed or missing), `.display`
    ('131 referrals', '57.1%', '*'), `.month` (the month the figure is for: the latest
    final month in the period), `.change` and `.change_display` (on a year earlier),
    `.variation_icon` and `.assurance_icon` (Making Data Count), `.needs_attention`,
    `.headline` (the text shown), `.available` and `.reason`.

    Default period: the one every page opens on (see `period`). `audience`: "board"
    (the board's disclosure policy) or "public" (small numbers suppressed).
    """
    metric = _metric(board, metric_id)
    query = _period_query(board, start, end, lcn)
    return read_metric(board, metric.id, query, audience)


def readings(
    board: Board,
    start: MonthLike | None = None,
    end: MonthLike | None = None,
    lcn: str | None = None,
    audience: Audience = "board",
) -> pd.DataFrame:
    """Every live metric's reading as a table, one row each in the board's domain order:
    the columns of `python -m metrics readings --json` (metric, title, value, display,
    period, status, change, variation, assurance, attention, ...)."""
    query = _period_query(board, start, end, lcn)
    return pd.DataFrame([item.to_json() for item in _readings(board, query, audience)])


# --------------------------------------------------------------------------- SPC


def spc(
    board: Board,
    metric_id: str,
    breakdown: str | None = None,
    start: MonthLike | None = None,
    end: MonthLike | None = None,
    lcn: str | None = None,
) -> SPCResult:
    """The metric's SPC result, as the metric's page computes it: final months of the
    period only (provisional months are never read by the rules), the metric's own options
    (which way is better, outlier screening, Laney charts), its target and its rebasing at
    interventions. One facet per group with a `breakdown`. Exact figures.

    `.points` (a row per month: value, mean, lpl, upl, point_type, rule, ...),
    `.facet()` (icons and summary of the one series, or `.facet(group)`), `.warnings`.
    Raises `Unavailable` with the page's reason when there is no result.
    To chart an ad hoc frame instead, use `compute_spc(frame, date_col=..., value_col=...,
    options=SPCOptions(...))` (re-exported here).
    """
    metric = _metric(board, metric_id)
    _check_breakdown(metric, breakdown)
    start_, end_ = _period(board, start, end)
    query = SeriesQuery(breakdown=breakdown, start=start_, end=end_, lcn=_lcn(board, lcn))
    result = spc_reading(board, metric.id, query)
    if result.result is None:
        raise Unavailable(f"{metric.id}: {result.reason}")
    return result.result


def spc_chart(
    of: Reading | SPCResult,
    facet: Any = None,
    *,
    y_title: str | None = None,
    height: int = 320,
) -> alt.TopLevelMixin:
    """An Altair SPC chart (limits, centre line, target, points marked by rule).

    `of` a `Reading` (from `reading`): the chart the site draws for it, values as shown
    to the reading's audience, provisional months as hollow points. `of` an `SPCResult`
    (from `spc` or `compute_spc`): that result as computed; with several facets and no
    `facet`, one row per facet. `y_title` defaults to the metric's unit.
    """
    if isinstance(of, Reading):
        result = of.spc.result
        if result is None:
            raise Unavailable(f"{of.metric.id}: {of.spc.reason or of.reason}")
        unit = of.metric.unit if of.metric.unit != "%" else "percent"
        return _spc_chart(
            of.spc_shown or result,
            facet,
            y_title=y_title or unit,
            height=height,
            provisional=of.provisional_shown,
        )
    if isinstance(of, SPCResult):
        several = facet is None and len(of.facets) > 1
        return _spc_chart(of, facet, y_title=y_title or "Value", height=height, all_facets=several)
    raise TypeError(f"spc_chart draws a Reading or an SPCResult, not {type(of).__name__}")


# --------------------------------------------------------------------------- studies


def study(
    board: Board,
    metric_id: str | None = None,
    *,
    interventions: Sequence[str] = (),
    model: str | None = None,
    seasonality: str | None = None,
    placebo_date: MonthLike | None = None,
    breakdown: str | None = None,
    lcn: str | None = None,
    placebo: bool = True,
) -> Impact:
    """An interrupted time-series study of a metric, as the Impact page runs it.

    With no other argument, `study(board)` is the board's headline study (board.yaml
    `headline_study`) and `study(board, metric_id)` the metric's planned study (its
    `its:` block): exactly what the Impact page shows. Vary the design with:

    - `interventions`: intervention ids from interventions.yaml, instead of the block's;
    - `model`: another family ("arima", "ols", "poisson", "quasipoisson", "negbin",
      "binomial"), as the page's analysts' choice does;
    - `seasonality`: "none", "month", "fourier:K" or "auto", refitted on the same data;
    - `placebo_date`: a placebo in time: the same design with its first intervention
      moved to this earlier month, fitted on the months before the real one only (shocks
      that start after them are left out). A design that finds effects where there were
      none would find one here;
    - `breakdown`: one study per group too (`.groups`); `lcn`: one neighbourhood.

    Returns the engine's `Impact`: `.result` (an `ITSResult`: effects, counterfactual,
    diagnostics, verdict) or `.error` (why there is none; never an exception), `.spec`
    (the design fitted), `.data` (the monthly figures fitted, exact) and `.notes`.
    `study_summary(impact)` gives the figures the page shows.
    """
    if metric_id is None:
        metric_id = headline_study_id(board)
        if metric_id is None:
            raise Unavailable("no metric has a planned impact study (an its: block)")
    metric = _metric(board, metric_id)
    if breakdown is not None:
        _check_breakdown(metric, breakdown)
    request = ImpactRequest(
        metric_id=metric.id,
        interventions=tuple(interventions),
        model=model,
        breakdown=breakdown,
        lcn=_lcn(board, lcn),
        placebo=placebo,
    )
    # The page's own memo key: the same study is fitted once per board and shared.
    impact = board.memo(("impact", request), lambda: run_impact(board, request))
    if impact.spec is None or impact.result is None:
        return impact
    spec = impact.spec
    data = impact.data
    notes = list(impact.notes)
    if seasonality is not None:
        spec = dataclasses.replace(spec, seasonality=seasonality)
        notes.append(f"Seasonality set to {seasonality} (an analyst's variant).")
    if placebo_date is not None:
        if breakdown is not None:
            raise ValueError("a placebo date is for the whole series: leave out breakdown")
        spec, data, note = _placebo_design(spec, data, _month(placebo_date))
        notes.append(note)
    if spec is impact.spec:
        return impact
    try:
        result = fit_its(data, spec, series_name=metric.title)
    except ITSInputError as exc:
        error = f"{metric.title}: {exc}"
        return dataclasses.replace(
            impact, spec=spec, data=data, result=None, error=error, notes=tuple(notes), groups=()
        )
    groups: tuple = ()
    if breakdown is not None:
        groups = tuple(
            group_studies(board, metric, spec, SeriesQuery(breakdown=breakdown, lcn=request.lcn))
        )
    return dataclasses.replace(
        impact, spec=spec, data=data, result=result, notes=tuple(notes), groups=groups
    )


def _placebo_design(
    spec: ITSSpec, data: pd.DataFrame, when: dt.date | None
) -> tuple[ITSSpec, pd.DataFrame, str]:
    """The spec and data of a placebo in time: the first intervention moved to `when`
    (with a staggered roll-out, every group's start moved by the same number of months),
    fitted on the months before the real intervention's first start only."""
    if when is None or not spec.interventions:
        raise ValueError("a placebo date needs a study with an intervention")
    real = spec.interventions[0]
    starts = dict(getattr(real, "group_starts", ()) or ())
    cut = min(pd.Timestamp(d) for d in (real.start, *starts.values()))
    if pd.Timestamp(when) >= cut:
        raise ValueError(
            f"the placebo date {when:%Y-%m} must be before the real intervention "
            f"({cut:%Y-%m}): a placebo is fitted on the months before it"
        )
    start = pd.Timestamp(real.start)
    shift = pd.DateOffset(months=(when.year - start.year) * 12 + when.month - start.month)
    changes: dict[str, Any] = {
        "id": f"placebo_{when:%Y_%m}",
        "start": when,
        "label": f"placebo date ({when:%b %Y})",
    }
    if starts:  # a staggered roll-out keeps its gaps between groups
        changes["group_starts"] = tuple(
            (group, (pd.Timestamp(d) + shift).date()) for group, d in starts.items()
        )
    fake = dataclasses.replace(real, **changes)
    others = tuple(i for i in spec.interventions[1:] if pd.Timestamp(i.start) < cut)
    shocks = tuple(s for s in spec.shocks if pd.Timestamp(s.start) < cut)
    placebo_spec = dataclasses.replace(
        spec, interventions=(fake, *others), shocks=shocks, placebo=False
    )
    before = data[pd.to_datetime(data["date"]) < cut].reset_index(drop=True)
    months = before["date"].nunique()
    note = (
        f"Placebo in time: {real.label} moved to {when:%B %Y}, fitted on the {months} "
        f"months before {cut:%B %Y} only."
    )
    return placebo_spec, before, note


def study_summary(impact: Impact, intervention: str | None = None) -> dict[str, Any]:
    """The study's figures as the Impact page shows them, as plain values.

    headline and interval (the big number: e.g. '-41%', '95% CI -49% to -31%'),
    sentence (the finding read aloud), badge (the verdict), cumulative (for counts of
    events), model and seasonality (as fitted: 'auto' resolved), months_before and
    months_after (fitted months a side), relative / relative_low / relative_high (the
    horizon effect as a fraction: -0.41 is 41% lower), absolute / absolute_low /
    absolute_high (in the metric's unit), counterfactual (what was expected at the
    horizon, in the metric's unit), horizon_month, placebo (the placebo check in words),
    error ('' when fitted), notes.
    """
    result = impact.result
    big, interval = headline(impact, intervention)
    summary: dict[str, Any] = {
        "metric": impact.metric.id,
        "headline": big,
        "interval": interval,
        "sentence": impact_sentence(impact, intervention),
        "badge": verdict_badge(impact)[0],
        "error": impact.error,
        "notes": list(impact.notes),
    }
    if result is None:
        return summary
    effect = result.horizon_effect(intervention)
    summary.update(
        {
            "cumulative": cumulative_sentence(impact, intervention),
            "interventions": [i.id for i in result.spec.interventions],
            "model": result.model,
            "seasonality": result.spec.seasonality,
            "months_before": result.n_pre,
            "months_after": result.n_post,
            "horizon_month": f"{pd.Timestamp(effect.date):%Y-%m}",
            "relative": effect.relative,
            "relative_low": effect.relative_low,
            "relative_high": effect.relative_high,
            "absolute": effect.absolute,
            "absolute_low": effect.absolute_low,
            "absolute_high": effect.absolute_high,
            "counterfactual": effect.counterfactual,
            "placebo": result.placebo.text() if result.placebo is not None else result.placebo_note,
        }
    )
    return summary


def study_models(impact: Impact) -> pd.DataFrame:
    """The page's "Does the answer depend on the model?" table: the same effect under
    each model family (relative effect at the horizon, its CI, whether the model fits)."""
    return sensitivity_display(sensitivity_table(impact))


def study_chart(
    board: Board, impact: Impact, audience: Audience = "board", *, height: int = 320
) -> alt.LayerChart:
    """The Impact page's chart of a study on `board`: observed months as shown to
    `audience`, the model's fit, the counterfactual with its 95% band, the intervention
    and its phase-in. The model's figures are drawn as computed, as on the page."""
    if impact.result is None:
        raise Unavailable(f"{impact.metric.id}: {impact.error}")
    shown = controlled_result(impact, policy_for(board.catalogue, audience))
    return its_chart(shown, title=None, y_title=impact.metric.unit, height=height)


# --------------------------------------------------------------------------- funnels


def funnel(
    board: Board,
    metric_id: str,
    breakdown: str = "lcn",
    start: MonthLike | None = None,
    end: MonthLike | None = None,
    audience: Audience = "board",
) -> Funnel:
    """A funnel plot of a rate (per population) or a percentage across the groups of a
    breakdown (neighbourhoods by default), as the Equity and metric pages draw it: counts
    pooled over the period (provisional months left out) and controlled for `audience`,
    95% and 99.8% limits, adjusted for overdispersion between places when there are 5+
    groups. `.target` (the figure for all groups together, times `.per`), `.points`
    (each group: value, limits at its size, `.position`), `.phi`, `.tau2`, `.note`.
    Raises `metrics.analyses.funnel.FunnelError` (a ValueError) with the page's reason."""
    metric = _metric(board, metric_id)
    _check_breakdown(metric, breakdown)
    start_, end_ = _period(board, start, end)
    query = SeriesQuery(breakdown=breakdown, start=start_, end=end_)
    policy = policy_for(board.catalogue, audience)
    return board.memo(
        ("funnel", metric.id, breakdown, start_, end_, policy),
        lambda: breakdown_funnel(board, metric.id, query, policy),
    )


def funnel_table(of: Funnel) -> pd.DataFrame:
    """The funnel's points as a table: group, size (person-years or denominator), value,
    the 95% and 99.8% limits at that size, position and label; `.attrs['summary']` is the
    sentence the page shows above the chart."""
    table = funnel_points_frame(of)
    table.attrs["summary"] = funnel_summary(of)
    return table


def funnel_chart(of: Funnel, *, height: int = 360) -> alt.LayerChart:
    """The funnel plot the site draws (limits as dashed and dotted lines, a labelled
    point per group)."""
    return _funnel_chart(of, height=height)


# --------------------------------------------------------------------------- helpers


def _metric(board: Board, metric_id: str) -> MetricDef:
    metric = board.catalogue.metrics.get(metric_id)
    if metric is None:
        hint = did_you_mean(metric_id, list(board.catalogue.metrics))
        raise KeyError(f"unknown metric '{metric_id}'" + (f" ({hint})" if hint else ""))
    return metric


def _check_breakdown(metric: MetricDef, breakdown: str | None) -> None:
    if breakdown is not None and breakdown not in metric.breakdowns:
        known = ", ".join(metric.breakdowns) or "none"
        raise ValueError(f"'{breakdown}' is not a breakdown of '{metric.id}' (breakdowns: {known})")


def _lcn(board: Board, lcn: str | None) -> str | None:
    if lcn is None:
        return None
    known = board.catalogue.board.lcns
    if lcn not in known:
        hint = did_you_mean(lcn, known)
        raise ValueError(
            f"unknown neighbourhood '{lcn}' (board.yaml lcns: {', '.join(known) or 'none'})"
            + (f"; {hint}" if hint else "")
        )
    return lcn


def _month(value: MonthLike | None) -> dt.date | None:
    """A month: '2019-04', '2019-04-17', a date or a Timestamp -> the first of the month."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'{value}' is not a month: write it YYYY-MM") from exc
    return dt.date(stamp.year, stamp.month, 1)


def _period(
    board: Board, start: MonthLike | None, end: MonthLike | None
) -> tuple[dt.date | None, dt.date | None]:
    """The months asked for, the pages' default period where one is not given."""
    default = default_period(board)
    first, last = default if default is not None else (None, None)
    start_ = _month(start) if start is not None else first
    end_ = _month(end) if end is not None else last
    if start_ is not None and end_ is not None and start_ > end_:
        raise ValueError(f"start {start_:%Y-%m} is after end {end_:%Y-%m}")
    return start_, end_


def _period_query(
    board: Board, start: MonthLike | None, end: MonthLike | None, lcn: str | None
) -> SeriesQuery:
    start_, end_ = _period(board, start, end)
    return SeriesQuery(start=start_, end=end_, lcn=_lcn(board, lcn))
