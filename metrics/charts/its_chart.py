"""Impact chart for an interrupted time-series result, and its alt text.

Layers (each named, so pages and tests can find them): shaded phase-in / excluded windows,
the counterfactual confidence band, the counterfactual line (dashed), the fitted line,
the observed points (hollow where left out of the fit), and a labelled rule at each
intervention. Colour is never the only cue: the counterfactual is dashed, observations are
points, and excluded points differ by shape.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from metrics.charts.theme import (
    COUNTERFACTUAL,
    FITTED,
    NHS_BLUE,
    OBSERVED,
    SECONDARY_TEXT,
    TEXT,
    configure_theme,
)
from metrics.its.result import ITSResult, period_label

OBSERVED_NAME = "Observed"
FITTED_NAME = "Fitted model"
COUNTERFACTUAL_NAME = "Expected without the change"

LAYER_NAMES = (
    "window_shading",
    "counterfactual_band",
    "counterfactual_line",
    "fitted_line",
    "observed_points",
    "intervention_rules",
    "intervention_labels",
)


def _pieces(values: pd.Series, segments: pd.Series) -> pd.Series:
    """An id that changes at each gap (NaN) or segment change, so lines break there."""
    gap = values.isna().to_numpy()
    changed = np.r_[True, segments.to_numpy()[1:] != segments.to_numpy()[:-1]]
    return pd.Series(np.cumsum(gap | changed), index=values.index)


def _period_end(stamp: pd.Timestamp, frequency: str) -> pd.Timestamp:
    return stamp + (pd.DateOffset(years=1) if frequency == "annual" else pd.DateOffset(months=1))


def its_chart(
    result: ITSResult,
    *,
    title: str | None = None,
    y_title: str | None = None,
    width: int | str = "container",
    height: int = 320,
    themed: bool = True,
) -> alt.LayerChart:
    """Observed points, fitted line and counterfactual with its band, with intervention
    markers and shaded phase-in / excluded windows.

    Args:
        result: a fitted `ITSResult`.
        title: chart title (default: the series name).
        y_title: y-axis title (default: the series name).
        width, height: chart size in pixels ("container" fills the page column).
        themed: apply the project theme (turn off to layer or concatenate further).
    """
    frame = result.counterfactual
    frequency = result.frequency
    first_start = min(window.start for window in result.windows)
    name = result.series or "value"

    observed = frame.loc[frame["observed"].notna(), ["date", "observed", "in_fit"]].copy()
    observed["status"] = np.where(observed["in_fit"], "used in the fit", "left out of the fit")
    observed["series"] = OBSERVED_NAME

    fitted = frame[["date", "fitted", "segment"]].copy()
    fitted["piece"] = _pieces(fitted["fitted"], fitted["segment"])
    fitted = fitted.dropna(subset=["fitted"])
    fitted["series"] = FITTED_NAME

    after = frame.loc[
        frame["date"] >= first_start, ["date", "counterfactual", "cf_low", "cf_high"]
    ].copy()
    after["series"] = COUNTERFACTUAL_NAME
    # A count or a wait is never below zero: an interval the model (on an identity link)
    # puts partly below zero is drawn from zero, and the axis starts at zero.
    non_negative = bool((observed["observed"] >= 0).all())
    if non_negative:
        for column in ("counterfactual", "cf_low", "cf_high"):
            after[column] = after[column].clip(lower=0)

    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(
            domain=[OBSERVED_NAME, FITTED_NAME, COUNTERFACTUAL_NAME],
            range=[OBSERVED, FITTED, COUNTERFACTUAL],
        ),
        legend=alt.Legend(orient="top", symbolStrokeWidth=3),
    )
    time_format = "%Y" if frequency == "annual" else "%b %Y"
    x = alt.X("date:T", title=None, axis=alt.Axis(format=time_format, grid=False))
    y_axis_title = y_title or name
    y_scale = alt.Scale(domainMin=0) if non_negative else alt.Scale()

    windows = pd.DataFrame(
        [
            {
                "start": w.window_start,
                "end": _period_end(w.window_end, frequency),
                "kind": w.window,
                "label": w.label,
            }
            for w in result.windows
            if w.window is not None and w.window_start is not None and w.window_end is not None
        ],
        columns=["start", "end", "kind", "label"],
    )
    shading = (
        alt.Chart(windows)
        .mark_rect(opacity=0.12)
        .encode(
            x="start:T",
            x2="end:T",
            fill=alt.Fill(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=["phase-in", "excluded"], range=[NHS_BLUE, SECONDARY_TEXT]),
                legend=alt.Legend(orient="top") if len(windows) else None,
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Intervention"),
                alt.Tooltip("kind:N", title="Window"),
            ],
        )
        .properties(name="window_shading")
    )
    band = (
        alt.Chart(after)
        .mark_area(opacity=0.18, color=COUNTERFACTUAL)
        .encode(x=x, y=alt.Y("cf_low:Q", title=y_axis_title, scale=y_scale), y2="cf_high:Q")
        .properties(name="counterfactual_band")
    )
    counterfactual_line = (
        alt.Chart(after)
        .mark_line(strokeDash=[6, 4])
        .encode(
            x=x,
            y=alt.Y("counterfactual:Q", title=y_axis_title, scale=y_scale),
            color=colour,
            tooltip=[
                alt.Tooltip("date:T", format=time_format, title="Period"),
                alt.Tooltip("counterfactual:Q", format=",.1f", title="Expected"),
                alt.Tooltip("cf_low:Q", format=",.1f", title="Lower"),
                alt.Tooltip("cf_high:Q", format=",.1f", title="Upper"),
            ],
        )
        .properties(name="counterfactual_line")
    )
    fitted_line = (
        alt.Chart(fitted)
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("fitted:Q", title=y_axis_title, scale=y_scale),
            color=colour,
            detail="piece:N",
        )
        .properties(name="fitted_line")
    )
    points = (
        alt.Chart(observed)
        .mark_point(size=36)
        .encode(
            x=x,
            y=alt.Y("observed:Q", title=y_axis_title, scale=y_scale),
            color=colour,
            shape=alt.Shape(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=["used in the fit", "left out of the fit"],
                    range=["circle", "triangle-up"],
                ),
                legend=None,
            ),  # the shaded "excluded" window explains them
            fill=alt.condition("datum.in_fit", alt.value(OBSERVED), alt.value("white")),
            tooltip=[
                alt.Tooltip("date:T", format=time_format, title="Period"),
                alt.Tooltip("observed:Q", format=",.1f", title="Observed"),
                alt.Tooltip("status:N", title="Model"),
            ],
        )
        .properties(name="observed_points")
    )
    markers = pd.DataFrame(
        {
            "start": [w.start for w in result.windows],
            "label": [w.label for w in result.windows],
            "when": [period_label(w.start, frequency) for w in result.windows],
        }
    )
    rules = (
        alt.Chart(markers)
        .mark_rule(color=TEXT, strokeDash=[2, 2], strokeWidth=1.5)
        .encode(
            x="start:T",
            tooltip=[
                alt.Tooltip("label:N", title="Intervention"),
                alt.Tooltip("when:N", title="Start"),
            ],
        )
        .properties(name="intervention_rules")
    )
    labels = (
        alt.Chart(markers)
        .mark_text(align="left", baseline="top", dx=4, dy=4, color=TEXT, fontSize=12)
        .encode(x="start:T", y=alt.value(0), text="label:N")
        .properties(name="intervention_labels")
    )
    chart = alt.layer(shading, band, counterfactual_line, fitted_line, points, rules, labels)
    # Set on the layered chart just built, not on copies: each copy of a layered chart makes
    # Altair copy every layer again (the theme's axes already have the grid colour).
    chart["title"] = title if title is not None else name
    chart["width"], chart["height"] = width, height
    if themed:
        configure_theme(chart)
    return chart


def its_alt_text(result: ITSResult, subject: str | None = None) -> str:
    """One or two sentences describing the chart for screen readers, with effect and CI."""
    frame = result.counterfactual
    observed = frame.dropna(subset=["observed"])
    unit = "monthly" if result.frequency == "monthly" else "yearly"
    what = subject or result.series or "the measure"
    main = result.windows[0]
    spoken = "%Y" if result.frequency == "annual" else "%B %Y"
    start = observed["date"].iloc[0].strftime(spoken)
    end = observed["date"].iloc[-1].strftime(spoken)
    first = (
        f"Chart of {unit} {what} from {start} to {end}, with the fitted model and, from "
        f"{main.label} ({main.start.strftime(spoken)}), the level expected "
        f"without it (dashed, with a shaded {result.confidence_level:.0%} confidence band)."
    )
    return f"{first} {result.sentence(subject=subject)}"
