"""Making Data Count SPC chart (XmR) from an `SPCResult`, and its alt text.

Layers: the values (a thin line that breaks at missing values), the centre line (solid),
the process limits (dashed), the target (dashed, stepped), a dotted rule at each rebase
(the centre and limit lines break there), and the points, marked by type with SHAPE as
well as colour: a circle for common cause, a triangle pointing up for a high special
cause and down for a low one. The legend names the point types in plain words, the lines
are labelled at their right-hand end, and each point's tooltip gives the date, value,
limits, target and the rule that fired ("Run of 7 points above the mean").

Run charts: a rebase group the engine reads as a run chart (`chart_kind == "run"`: its
XmR limits would carry no information) is drawn with its MEDIAN as the centre line,
labelled "Median", and no limit lines; a chart whose groups are all run charts has no
limit layers at all. Its tooltip gives the centre line and limits in words ("median 9",
"none (run chart)"), and the alt text says it is read as a run chart and why.

Laney p' and u' charts (`chart_kind` "laney_p" / "laney_u"): the limits vary with each
point's denominator, so they are drawn as STEP lines (each point's limits level across
it, changing half-way to the next), and the alt text names the chart ("Laney p' chart
(limits adjusted for the size of each month's denominator and for variation between
months)"), reads the latest value against that month's own limits and gives sigma z.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from metrics.charts.theme import (
    SECONDARY_TEXT,
    SPC_COMMON,
    SPC_CONCERN,
    SPC_IMPROVEMENT,
    SPC_LIMIT,
    SPC_MEAN,
    SPC_NEUTRAL,
    SPC_TARGET,
    TEXT,
    configure_theme,
)
from metrics.spc import FacetSPC, SPCResult
from metrics.spc.laney import LANEY_NAMES
from metrics.spc.wording import LEGEND_LABELS, POINT_TYPE_WORDS, plain_number, rule_meaning

POINT_COLOURS = {
    "common_cause": SPC_COMMON,
    "special_cause_improvement": SPC_IMPROVEMENT,
    "special_cause_concern": SPC_CONCERN,
    "special_cause_neutral_high": SPC_NEUTRAL,
    "special_cause_neutral_low": SPC_NEUTRAL,
}
HIGH_SHAPE = "triangle-up"
LOW_SHAPE = "triangle-down"
COMMON_SHAPE = "circle"
LIMIT_DASH = [6, 4]
TARGET_DASH = [2, 3]
LINE_LABELS = {
    "upl": "Upper limit",
    "mean": "Mean",
    "median": "Median",
    "lpl": "Lower limit",
    "target": "Target",
}


def point_shapes(improvement: str) -> dict[str, str]:
    """Shape per point type: high special causes point up, low ones down."""
    high_is_improvement = improvement == "increase"
    if improvement == "neutral":
        return {
            "common_cause": COMMON_SHAPE,
            "special_cause_neutral_high": HIGH_SHAPE,
            "special_cause_neutral_low": LOW_SHAPE,
        }
    return {
        "common_cause": COMMON_SHAPE,
        "special_cause_improvement": HIGH_SHAPE if high_is_improvement else LOW_SHAPE,
        "special_cause_concern": LOW_SHAPE if high_is_improvement else HIGH_SHAPE,
    }


LANEY_KINDS_SHOWN = {"laney_p": "p", "laney_u": "u"}


def laney_chart_name(chart_kind: str, unit: str = "month") -> str:
    """ "Laney p' chart (limits adjusted for the size of each month's denominator and for
    variation between months)", or "" when `chart_kind` is not a Laney chart."""
    kind = LANEY_KINDS_SHOWN.get(chart_kind)
    if kind is None:
        return ""
    return (
        f"{LANEY_NAMES[kind]} (limits adjusted for the size of each {unit}'s denominator "
        f"and for variation between {unit}s)"
    )


def _chart_kinds(points: pd.DataFrame) -> np.ndarray:
    """ "xmr" or "run" per point (points from before run charts existed are all XmR)."""
    if "chart_kind" not in points:
        return np.full(len(points), "xmr", dtype=object)
    return points["chart_kind"].to_numpy(dtype=object)


def _limits_words(lpl: float, upl: float, run: bool) -> str:
    if run:
        return "none (run chart)"
    if np.isnan(lpl) or np.isnan(upl):
        return "none (too few values)"
    return f"{plain_number(lpl)} to {plain_number(upl)}"


def _chart_data(result: SPCResult, facet: Hashable | None, all_facets: bool) -> pd.DataFrame:
    points = result.points if all_facets else result.facet_points(facet)
    data = points[
        ["facet", "date", "value", "mean", "lpl", "upl", "target", "rebase_group", "point_type"]
    ].copy()
    run = _chart_kinds(points) == "run"
    if run.any():
        centre = points["centre"].to_numpy(dtype=float) if "centre" in points else np.nan
        data["median"] = np.where(run, centre, np.nan)
        data["mean"] = np.where(run, np.nan, data["mean"].to_numpy(dtype=float))
        data["centre_text"] = [
            f"median {plain_number(c)}" if r else f"mean {plain_number(m)}"
            for c, m, r in zip(
                np.broadcast_to(centre, run.shape), points["mean"].to_numpy(float), run, strict=True
            )
        ]
        data["limits_text"] = [
            _limits_words(lo, up, r)
            for lo, up, r in zip(
                points["lpl"].to_numpy(float), points["upl"].to_numpy(float), run, strict=True
            )
        ]
    labels = LEGEND_LABELS[result.options.improvement]
    data["point_label"] = data["point_type"].map(labels)
    data["rule_text"] = [
        _capital(rule_meaning(str(rule))) if rule else "Within the usual range"
        for rule in points["rule"]
    ]
    facet_codes = pd.factorize(data["facet"].astype(str))[0]
    group = data["rebase_group"].to_numpy()
    same_facet = np.concatenate([[False], facet_codes[1:] == facet_codes[:-1]])
    new_group = np.concatenate([[False], group[1:] != group[:-1]])
    data["rebase_start"] = same_facet & new_group
    data["is_last"] = np.concatenate([facet_codes[1:] != facet_codes[:-1], [True]])
    data["facet"] = data["facet"].astype(str)
    return data


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def provisional_points(pending: pd.DataFrame, y: Any, value_format: str = ",.2~f") -> alt.Chart:
    """Hollow points for provisional months (still filling up; not read as SPC)."""
    data = pending.assign(status="Provisional (still filling up)")
    return (
        alt.Chart(data)
        .mark_point(filled=False, size=70, stroke=SPC_COMMON, strokeWidth=1.5, opacity=1)
        .encode(
            x=alt.X("date:T"),
            y=y("value"),
            tooltip=[
                alt.Tooltip("date:T", title="Month", format="%b %Y"),
                alt.Tooltip("value:Q", title="Value so far", format=value_format),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
    )


def spc_chart(
    result: SPCResult,
    facet: Hashable | None = None,
    *,
    title: str | None = None,
    y_title: str = "Value",
    value_format: str = ",.2~f",
    date_format: str = "%b %Y",
    height: int = 320,
    all_facets: bool = False,
    themed: bool = True,
    provisional: pd.DataFrame | None = None,
    from_zero: bool = False,
) -> alt.TopLevelMixin:
    """Altair SPC chart of one facet (or of every facet, one row each, with all_facets).

    from_zero: the y axis starts at zero (counts on slides, read in seconds).

    provisional: months still filling up (columns date, value): drawn as hollow points,
    after the limits, and never read by the SPC rules.

    value_format: d3 format for values in tooltips (default: up to 2 decimals).
    themed: apply the project theme (turn off to layer or concatenate the chart further).
    """
    if not result.facets:
        raise ValueError("the SPC result has no data to chart")
    data = _chart_data(result, facet, all_facets)
    has_run = "median" in data
    has_xmr = not has_run or bool(data["median"].isna().any())
    kinds = _chart_kinds(result.points if all_facets else result.facet_points(facet))
    # Laney limits vary by point: steps, each level across its own point
    limit_interpolate = "step" if any(k in LANEY_KINDS_SHOWN for k in kinds) else "linear"
    improvement = result.options.improvement
    labels = LEGEND_LABELS[improvement]
    shapes = point_shapes(improvement)
    domain = list(labels.values())
    x = alt.X("date:T", title=None, axis=alt.Axis(format=date_format, labelAngle=0))
    base = alt.Chart().encode(x=x)

    y_domain = None if all_facets else value_domain(data, provisional, from_zero=from_zero)
    scale = (
        alt.Scale(zero=from_zero)
        if y_domain is None
        else alt.Scale(domain=list(y_domain), zero=False, nice=False)
    )

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title, scale=scale)

    # detail by rebase group: the centre and limit lines break at a rebase
    by_group = alt.Detail("rebase_group:N")
    line_kwargs: dict[str, Any] = {"invalid": "break-paths-show-domains"}
    # a run-chart group has no limits: with only run-chart groups there are no limit layers
    layers: list[alt.Chart] = []
    if has_xmr:
        layers.extend(
            base.mark_line(
                color=SPC_LIMIT,
                strokeDash=LIMIT_DASH,
                strokeWidth=1.5,
                interpolate=limit_interpolate,
                **line_kwargs,
            ).encode(y=y(limit), detail=by_group)
            for limit in ("upl", "lpl")
        )
    centre_lines = [name for name, shown in (("mean", has_xmr), ("median", has_run)) if shown]
    for centre_line in centre_lines:
        layers.append(
            base.mark_line(color=SPC_MEAN, strokeWidth=1.5, **line_kwargs).encode(
                y=y(centre_line), detail=by_group
            )
        )
    if data["target"].notna().any():
        layers.append(
            base.mark_line(
                color=SPC_TARGET,
                strokeDash=TARGET_DASH,
                strokeWidth=2,
                interpolate="step-after",
                **line_kwargs,
            ).encode(y=y("target"))
        )
    if data["rebase_start"].any():
        layers.append(
            base.transform_filter("datum.rebase_start")
            .mark_rule(color=SECONDARY_TEXT, strokeDash=[1, 3], strokeWidth=1.5)
            .encode(
                tooltip=[alt.Tooltip("date:T", title="Limits recalculated from", format="%d %b %Y")]
            )
        )
    layers.append(
        base.mark_line(color=SPC_COMMON, strokeWidth=1.5, **line_kwargs).encode(y=y("value"))
    )
    centre_tooltips = [
        alt.Tooltip("mean:Q", title="Mean", format=value_format),
        alt.Tooltip("lpl:Q", title="Lower process limit", format=value_format),
        alt.Tooltip("upl:Q", title="Upper process limit", format=value_format),
    ]
    if has_run:  # in words: a run-chart point has no limits (a number would read as 0)
        centre_tooltips = [
            alt.Tooltip("centre_text:N", title="Centre line"),
            alt.Tooltip("limits_text:N", title="Process limits"),
        ]
    tooltip = [
        alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
        alt.Tooltip("value:Q", title="Value", format=value_format),
        *centre_tooltips,
        *(
            [alt.Tooltip("target:Q", title="Target", format=value_format)]
            if data["target"].notna().any()
            else []
        ),
        alt.Tooltip("point_label:N", title="Point type"),
        alt.Tooltip("rule_text:N", title="Rule"),
    ]
    legend = alt.Legend(title="Point type", orient="bottom", direction="horizontal", labelLimit=0)
    layers.append(
        base.transform_filter("isValid(datum.value)")
        .mark_point(filled=True, size=70, opacity=1, stroke=TEXT, strokeWidth=0.5)
        .encode(
            y=y("value"),
            color=alt.Color(
                "point_label:N",
                scale=alt.Scale(domain=domain, range=[POINT_COLOURS[kind] for kind in labels]),
                legend=legend,
            ),
            shape=alt.Shape(
                "point_label:N",
                scale=alt.Scale(domain=domain, range=[shapes[kind] for kind in labels]),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    # direct labels at the right-hand end of the latest group's lines, placed at least
    # LABEL_GAP_PX apart (a label whose line is close to another's is nudged up or down)
    labelled = [line for line in LINE_LABELS if line in data]
    if y_domain is not None:
        placed = line_label_positions(data, y_domain, height)
        if not placed.empty:
            layers.append(
                alt.Chart(placed)
                .mark_text(align="left", dx=6, fontSize=11, color=SECONDARY_TEXT)
                .encode(
                    x=alt.X("date:T"),
                    y=alt.Y("label_y:Q", scale=scale),
                    text="line_label:N",
                )
            )
    else:
        layers.append(_folded_line_labels(base, labelled))
    if provisional is not None and not all_facets:
        pending = provisional.dropna(subset=["value"])
        if not pending.empty:
            # A layer with its own data, beside the others rather than a layer around them:
            # Altair copies every layer of a nested layered chart again at each step.
            layers.append(provisional_points(pending, y, value_format))
    chart: Any = alt.layer(*layers, data=data)
    return _finish(
        chart, result, facet, all_facets=all_facets, height=height, title=title, themed=themed
    )


def _folded_line_labels(base: alt.Chart, labelled: list[str]) -> alt.Chart:
    """Labels at the end of each facet's lines (faceted charts: each row its own scale)."""
    return (
        base.transform_filter("datum.is_last")
        .transform_fold(labelled, as_=["line", "line_value"])
        .transform_filter("isValid(datum.line_value)")
        .transform_calculate(
            line_label=" : ".join(f"datum.line === '{k}' ? '{LINE_LABELS[k]}'" for k in labelled)
            + " : ''"
        )
        .mark_text(align="left", dx=6, fontSize=11, color=SECONDARY_TEXT)
        .encode(y=alt.Y("line_value:Q"), text="line_label:N")
    )


def _finish(
    chart: Any,
    result: SPCResult,
    facet: Hashable | None,
    *,
    all_facets: bool,
    height: int,
    title: str | None,
    themed: bool,
) -> alt.TopLevelMixin:
    # screen readers read the top-level description as the chart's accessible name
    described = {
        "description": spc_alt_text(result, facet, all_facets=all_facets),
        **({"title": title} if title else {}),
    }
    # The layered chart was built just now, here: its top-level properties and theme are
    # set on it, not on copies (Altair copies every layer again for each copy of a layered
    # chart: two copies were over half the time it took to build an SPC chart).
    if all_facets:
        chart["height"], chart["width"] = height, 600
        chart = chart.facet(  # the one copy: the facet takes the layers' data to the top
            row=alt.Row("facet:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
        )
        chart["resolve"] = alt.Resolve(scale=alt.ScaleResolveMap(y="independent"))
        for name, value in described.items():
            chart[name] = value
    else:
        for name, value in {"height": height, "width": "container", **described}.items():
            chart[name] = value
    if themed:
        configure_theme(chart)
    return chart


# --- y scale and line labels ---------------------------------------------------------------

LABEL_GAP_PX = 14  # the least vertical distance between two line labels' centres
_DOMAIN_PAD = 0.06  # share of the range added above and below the data


def value_domain(
    data: pd.DataFrame, provisional: pd.DataFrame | None = None, *, from_zero: bool = False
) -> tuple[float, float]:
    """The y domain of a single chart: every value, limit, centre line and target with a
    little room; never below zero when nothing drawn is negative (a count or a wait), and
    from zero when `from_zero` says so."""
    columns = [c for c in ("value", "mean", "median", "lpl", "upl", "target") if c in data]
    values = [data[c].to_numpy(dtype=float) for c in columns]
    if provisional is not None and "value" in provisional:
        values.append(provisional["value"].to_numpy(dtype=float))
    drawn = np.concatenate(values) if values else np.array([])
    drawn = drawn[np.isfinite(drawn)]
    if drawn.size == 0:
        return (0.0, 1.0)
    low, high = float(drawn.min()), float(drawn.max())
    observed = data["value"].to_numpy(dtype=float)
    observed = observed[np.isfinite(observed)]
    non_negative = observed.size == 0 or float(observed.min()) >= 0
    span = high - low or abs(high) or 1.0
    low, high = low - span * _DOMAIN_PAD, high + span * _DOMAIN_PAD
    if non_negative:
        low = 0.0 if from_zero else max(low, 0.0)
    return (low, high)


def spread_labels(
    values: list[float], domain: tuple[float, float], height: float, gap: float = LABEL_GAP_PX
) -> list[float]:
    """Label positions (data units, same order as `values`) at least `gap` pixels apart,
    each as close to its own line as that allows and kept inside the plot."""
    low, high = domain
    if not values or high <= low:
        return list(values)
    per_px = (high - low) / height
    order = sorted(range(len(values)), key=lambda i: -values[i])
    pixels = [(high - values[i]) / per_px for i in order]  # from the top, top first
    pixels = [min(max(p, gap / 2), height - gap / 2) for p in pixels]
    for k in range(1, len(pixels)):
        pixels[k] = max(pixels[k], pixels[k - 1] + gap)
    if pixels and pixels[-1] > height - gap / 2:  # pushed off the bottom: move the rest up
        pixels[-1] = height - gap / 2
        for k in range(len(pixels) - 2, -1, -1):
            pixels[k] = min(pixels[k], pixels[k + 1] - gap)
    placed = [0.0] * len(values)
    for k, i in enumerate(order):
        placed[i] = high - pixels[k] * per_px
    return placed


def line_label_positions(
    data: pd.DataFrame, domain: tuple[float, float], height: float
) -> pd.DataFrame:
    """One row per labelled line at the end of the latest group: its words, the line's
    value and where the label goes (label_y), nudged apart so no two overlap."""
    last = data[data["is_last"]]
    if last.empty:
        return pd.DataFrame(columns=["date", "line", "line_label", "line_value", "label_y"])
    row = last.iloc[-1]
    rows = [
        (line, LINE_LABELS[line], float(row[line]))
        for line in LINE_LABELS
        if line in data and pd.notna(row[line])
    ]
    positions = spread_labels([value for _, _, value in rows], domain, height)
    return pd.DataFrame(
        {
            "date": [row["date"]] * len(rows),
            "line": [line for line, _, _ in rows],
            "line_label": [words for _, words, _ in rows],
            "line_value": [value for _, _, value in rows],
            "label_y": positions,
        }
    )


# --- alt text ---------------------------------------------------------------------------------


def _date_words(value: Any, monthly: bool) -> str:
    ts = pd.Timestamp(value)
    return ts.strftime("%B %Y") if monthly else ts.strftime("%d %B %Y").lstrip("0")


def _facet_alt_text(
    result: SPCResult,
    facet: FacetSPC,
    measure: str,
    fmt: Callable[[float | None], str],
) -> str:
    points = result.facet_points(facet.facet)
    if facet.latest_date is None:
        return f"SPC chart of {measure}: no values to show."
    dates = points["date"]
    monthly = bool((dates.dt.day == 1).all())
    latest = points[points["date"] == facet.latest_date].iloc[0]
    lpl, mean, upl = float(latest["lpl"]), float(latest["mean"]), float(latest["upl"])
    span = f"{_date_words(dates.iloc[0], monthly)} to {_date_words(dates.iloc[-1], monthly)}"
    value_text = f"{fmt(facet.latest_value)} in {_date_words(facet.latest_date, monthly)}"
    kind = str(latest.get("chart_kind", "xmr"))
    run_chart = kind == "run"
    laney_name = laney_chart_name(kind, "month" if monthly else "point")
    chart_name = laney_name or ("Run chart" if run_chart else "SPC chart")
    if run_chart:
        median = float(latest["centre"])
        value = facet.latest_value
        if value is None or np.isnan(value) or np.isnan(median):
            side = "shown against"
        else:
            side = "above" if value > median else "below" if value < median else "on"
        where = f"{side} the median of {fmt(median)} (a run chart: no process limits)"
    elif np.isnan(lpl) or np.isnan(upl):
        where = f"with a mean of {fmt(mean)} and no process limits (too few values)"
    elif facet.latest_value > upl:
        where = f"above the upper process limit of {fmt(upl)} (mean {fmt(mean)})"
    elif facet.latest_value < lpl:
        where = f"below the lower process limit of {fmt(lpl)} (mean {fmt(mean)})"
    elif laney_name:
        where = (
            f"within that {'month' if monthly else 'point'}'s process limits of {fmt(lpl)} "
            f"to {fmt(upl)} around a mean of {fmt(mean)}"
        )
    else:
        where = (
            f"within the process limits of {fmt(lpl)} to {fmt(upl)} around a mean of {fmt(mean)}"
        )
    flagged = points[points["special_cause_flag"].to_numpy(dtype=bool)]
    if len(flagged):
        last = flagged.iloc[-1]
        kind = POINT_TYPE_WORDS[str(last["point_type"])]
        special = (
            f"{len(flagged)} point{'s show' if len(flagged) > 1 else ' shows'} special cause "
            f"variation (latest, {_date_words(last['date'], monthly)}: "
            f"{str(last['rule']).lower()}, {kind})"
        )
    else:
        special = "no point shows special cause variation"
    first = (
        f"{chart_name} of {measure}, {span}: the latest value, {value_text}, is {where}, "
        f"and {special}."
    )
    second = facet.variation_meaning
    if facet.assurance_icon:
        assurance = facet.assurance_meaning.removeprefix("Assurance: ")
        second += f"; assurance against the target of {fmt(facet.target)}: {assurance}"
    elif facet.assurance_note:
        second += f"; {facet.assurance_note[0].lower()}{facet.assurance_note[1:].rstrip('.')}"
    note = f" {facet.chart_note}" if facet.chart_note else ""
    return f"{first}{note} {second}."


def spc_alt_text(
    result: SPCResult,
    facet: Hashable | None = None,
    *,
    measure: str = "the value",
    format_value: Callable[[float | None], str] = plain_number,
    all_facets: bool = False,
) -> str:
    """A few sentences describing the chart: the latest value and limits (or, for a run
    chart, the median), any special cause, why limits are not shown (a run chart), and what
    the icons mean. `format_value` writes numbers with their unit."""
    if not result.facets:
        return f"SPC chart of {measure}: no data."
    if all_facets:
        return " ".join(
            f"{f.facet}: {_facet_alt_text(result, f, measure, format_value)}" for f in result.facets
        )
    return _facet_alt_text(result, result.facet(facet), measure, format_value)
