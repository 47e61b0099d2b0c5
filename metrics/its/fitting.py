"""Fitting a study's design, with the refusals before and after the fit.

Both designs refuse a design the fitted rows cannot support (`check_design`), name the
series in a family's own error (`fit_named`) and refuse estimates that are not finite
(`refuse_non_finite`). A single series is fitted by `run_model` on the rows `fit_input`
lays out (the treated series, then any comparison series); a multiple-baseline study
stacks its groups itself (metrics.its.staggered).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metrics.its.design import DesignLayout, first_collinear_column
from metrics.its.errors import ITSConvergenceError, ITSInputError
from metrics.its.models import FitInput, ModelFit, fit_model
from metrics.its.prepare import StudySeries, fail
from metrics.its.spec import ITSSpec

COLLINEAR_HINT = " (e.g. a shock that coincides with an intervention or a gap)"


def check_design(
    rows: np.ndarray,
    columns: Sequence[str],
    name: str,
    *,
    terms: str = "model terms",
    hint: str = COLLINEAR_HINT,
) -> None:
    """Refuse fitted rows too few for the design's columns, or a column the others explain.

    The multiple-baseline study words both refusals more briefly (`terms="terms"`, no
    `hint`)."""
    if rows.shape[0] <= rows.shape[1] + 1:
        raise fail(name, f"{rows.shape[0]} fitted points cannot support {rows.shape[1]} {terms}")
    collinear = first_collinear_column(rows, columns)
    if collinear:
        raise fail(name, f"the term '{collinear}' cannot be separated from the others{hint}")


def fit_named(family: str, data: FitInput, name: str, **options) -> ModelFit:
    """`fit_model`, its errors naming the series (a linear-algebra failure becomes an
    ITSConvergenceError; an input error keeps its type)."""
    try:
        return fit_model(family, data, **options)
    except np.linalg.LinAlgError as exc:
        raise fail(name, f"the {family} fit failed ({exc})", ITSConvergenceError) from exc
    except ITSInputError as exc:  # name the series (and keep the convergence subtype)
        raise fail(name, str(exc), type(exc)) from exc


def refuse_non_finite(
    params: np.ndarray,
    cov: np.ndarray,
    name: str,
    family: str,
    words: str = "did not converge to finite estimates",
) -> None:
    """Refuse coefficients or a covariance that are not finite (the multiple-baseline study
    says only "did not converge")."""
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        raise fail(name, f"the {family} fit {words}", ITSConvergenceError)


def fit_input(series: StudySeries, layout: DesignLayout, excluded: np.ndarray) -> FitInput:
    """The rows of a single-series design: the treated series, then any comparison series."""
    t = np.arange(series.n_periods)
    y = series.y
    offset = series.log_offset
    group = np.ones(series.n_periods)
    if series.control is not None:
        control_offset = series.control_log_offset
        assert control_offset is not None
        t = np.concatenate([t, t])
        y = np.concatenate([y, series.control])
        offset = np.concatenate([offset, control_offset])
        group = np.concatenate([group, np.zeros(series.n_periods)])
        excluded = np.concatenate([excluded, excluded])
    mask = np.isfinite(y) & np.isfinite(offset) & ~excluded
    return FitInput(
        y=y,
        X=layout.matrix(t, group),
        t=t,
        group=group,
        offset=offset,
        mask=mask,
        trials=series.trials,
    )


def treated_fit_mask(data: FitInput, series: StudySeries) -> np.ndarray:
    """Which periods of the treated series enter the fit."""
    return data.mask[: series.n_periods]


def run_model(
    spec: ITSSpec,
    data: FitInput,
    layout: DesignLayout,
    name: str,
    fixed: dict[str, float] | None = None,
) -> ModelFit:
    """Fit a single-series design, refusing a fit that did not converge (including fitted
    shares or counts that are numerically 0)."""
    X = data.X[data.mask]
    check_design(X, layout.columns, name)
    fit = fit_named(
        spec.model, data, name, hac_lags=spec.hac_lags, arma_order=spec.arma_order, fixed=fixed
    )
    refuse_non_finite(fit.params, fit.cov, name, spec.model)
    if fit.link == "logit" and np.max(np.abs(X @ fit.params)) > 30:
        raise fail(
            name,
            "the binomial fit did not converge: some fitted shares are numerically 0% or 100% "
            "(e.g. every case a success in a segment)",
            ITSConvergenceError,
        )
    if fit.link == "log":
        eta = X @ fit.params + data.offset[data.mask]
        scale = max(1.0, float(np.nanmean(data.y[data.mask])))
        if np.any(np.exp(eta) < 1e-8 * scale) or np.max(np.abs(fit.params[1:])) > 30:
            raise fail(
                name,
                f"the {spec.model} fit did not converge: some fitted counts are "
                "numerically zero (e.g. all zeros in a segment)",
                ITSConvergenceError,
            )
    return fit
