"""`fit_its(frame, spec) -> ITSResult`: validate, build the design, fit, summarise.

Validation happens before any fitting (CausalPy's habit): a study the data cannot support
raises `ITSInputError` with the series name and the problem; weaker problems become
warnings on the result. Refusals: fewer than 3 fitted points in a segment, an intervention
outside the data, an all-missing or constant series, negative values for a count model,
missing columns, a rank-deficient design, a fit that does not reach finite estimates.

The steps live beside this module: the data in metrics.its.prepare, the fit in
metrics.its.fitting, what is read off it in metrics.its.estimates, the lack-of-fit test,
seasonality test and placebo check in metrics.its.checks. A study with `group_col` is a
multiple-baseline study (metrics.its.staggered), which shares those steps.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from metrics.its.checks import PLACEBO_MIN_SIDE, choose_seasonality, lack_of_fit, placebo_check
from metrics.its.design import (
    DesignLayout,
    InterventionTiming,
    ShockTiming,
    ordinal_label,
    place_interventions,
    place_shocks,
)
from metrics.its.diagnostics import residual_diagnostics, residual_kind
from metrics.its.estimates import (
    coefficient_draws,
    coefficient_table,
    conclude,
    counterfactual_frame,
    horizon_effect,
    intervention_effects,
    make_trend,
    series_cumulative_effect,
)
from metrics.its.fitting import fit_input, run_model, treated_fit_mask
from metrics.its.prepare import StudySeries, check_segment_size, fail, filled, prepare_series
from metrics.its.result import (
    InterventionWindow,
    ITSResult,
    ITSWarning,
    the_label,
)
from metrics.its.spec import FAMILIES, ITSSpec
from metrics.its.staggered import fit_multiple_baseline


def _post_window(
    spec: ITSSpec,
    series: StudySeries,
    timings: Sequence[InterventionTiming],
    notes: list[ITSWarning],
) -> int:
    """The first period after a limited post window (the series' length without one)."""
    stop = series.n_periods
    for item in spec.interventions:
        if item.post_periods is None:
            continue
        timing = next(t for t in timings if t.id == item.id)
        end = timing.start + item.post_periods
        if end < stop:
            stop = end
            notes.append(
                ITSWarning(
                    "post_window",
                    f"the study covers the {item.post_periods} periods from '{item.id}' "
                    f"({series.label(timing.start)} to {series.label(end - 1)}); later periods "
                    "are shown but not modelled",
                )
            )
    later = [t for t in timings if t.start >= stop] if stop < series.n_periods else []
    if later:
        raise fail(
            series.name,
            f"intervention '{later[0].id}' starts after the post window of the study "
            f"(which ends {series.label(stop - 1)}): leave it out or widen the window",
        )
    return stop


def _check_timings(
    series: StudySeries,
    timings: Sequence[InterventionTiming],
    in_fit: np.ndarray,
    notes: list[ITSWarning],
) -> None:
    last = series.n_periods - 1
    span = f"{series.label(0)} to {series.label(last)}"
    for timing in timings:
        if timing.start <= 0 or timing.start > last:
            where = "before or at the first" if timing.start <= 0 else "after the last"
            raise fail(
                series.name,
                f"intervention '{timing.id}' starts "
                f"{ordinal_label(series.first_ordinal + timing.start, series.frequency)}, "
                f"{where} data point: outside the data ({span})",
            )
        if timing.centre > last:
            raise fail(
                series.name, f"the excluded window of '{timing.id}' runs past the end of the data"
            )
    for earlier, later in itertools.pairwise(timings):
        end = earlier.window_end
        if later.start == earlier.start or (end is not None and later.start <= end):
            notes.append(
                ITSWarning(
                    "overlapping_interventions",
                    f"interventions '{earlier.id}' and '{later.id}' overlap: '{later.id}' starts "
                    f"{'at the same time' if later.start == earlier.start else 'during the phase-in or excluded window of ' + repr(earlier.id)}",  # noqa: E501
                )
            )
    bounds = [0] + [timing.start for timing in timings] + [series.n_periods]
    names = ["before the first intervention"] + [
        f"from '{timing.id}' ({series.label(timing.start)})" for timing in timings
    ]
    for (lo, hi), segment in zip(itertools.pairwise(bounds), names, strict=True):
        check_segment_size(int(in_fit[lo:hi].sum()), segment, series.name, notes)


def _usable_shocks(
    shocks: Sequence[ShockTiming], in_fit: np.ndarray, notes: list[ITSWarning], name: str
) -> tuple[ShockTiming, ...]:
    kept = []
    last = in_fit.shape[0] - 1
    for shock in shocks:
        if shock.outside(last):
            notes.append(
                ITSWarning(
                    "shock_outside_data", f"shock '{shock.id}' lies outside the data: ignored"
                )
            )
            continue
        lo, hi = shock.start, shock.end + shock.recovery_periods
        if not in_fit[max(lo, 0) : min(hi, last) + 1].any():
            notes.append(
                ITSWarning(
                    "shock_outside_data", f"shock '{shock.id}' covers no fitted point: ignored"
                )
            )
            continue
        kept.append(shock)
    return tuple(kept)


def _windows(
    series: StudySeries, timings: Sequence[InterventionTiming]
) -> tuple[InterventionWindow, ...]:
    windows = []
    last = series.n_periods - 1
    for timing in timings:
        end = timing.window_end
        kind = ("phase-in" if timing.ramp_periods else "excluded") if end is not None else None
        windows.append(
            InterventionWindow(
                id=timing.id,
                label=timing.label,
                start=series.dates[timing.start],
                window=kind,
                window_start=series.dates[timing.start] if kind else None,
                window_end=series.dates[min(end, last)] if end is not None else None,
            )
        )
    return tuple(windows)


def fit_its(
    frame: pd.DataFrame,
    spec: ITSSpec,
    *,
    date_col: str = "date",
    value_col: str = "value",
    series_name: str = "",
) -> ITSResult:
    """Fit an interrupted time-series model to one series.

    Args:
        frame: one row per period (month, or year for annual data). Missing periods may be
            absent or NaN; both are left out of the fit and shown as gaps.
        spec: interventions, shocks, model family and options (`ITSSpec`).
        date_col: column of dates (YYYY-MM, YYYY-MM-DD, datetimes, or years when annual).
        value_col: the outcome (counts for count models; any units for "ols"/"arima").
        series_name: name used in messages and sentences (e.g. "Secondary referrals").

    Returns:
        A frozen `ITSResult`.

    Raises:
        ITSInputError: when the data cannot support the study (see module docstring).
    """
    name = series_name
    if spec.group_col:
        return fit_multiple_baseline(
            frame, spec, date_col=date_col, value_col=value_col, series_name=name
        )
    series = prepare_series(frame, spec, date_col, value_col, name)
    notes = list(series.warnings)
    timings = place_interventions(spec.interventions, series.first_ordinal, spec.frequency)
    shocks_all = place_shocks(spec.shocks, series.first_ordinal, spec.frequency)
    probe = DesignLayout(
        timings,
        (),
        seasonality="none",
        period=spec.period,
        first_ordinal=series.first_ordinal,
        frequency=spec.frequency,
        with_control=False,
    )
    t = np.arange(series.n_periods)
    excluded = probe.excluded(t)
    stop = _post_window(spec, series, timings, notes)
    excluded = excluded | (t >= stop)
    in_fit = np.isfinite(series.y) & np.isfinite(series.log_offset) & ~excluded
    _check_timings(series, timings, in_fit, notes)
    seasonality_p = None
    if spec.seasonality.strip().lower() == "auto":
        chosen, seasonality_p = choose_seasonality(
            series, spec, timings, _usable_shocks(shocks_all, in_fit, [], name), excluded
        )
        spec = dataclasses.replace(spec, seasonality=chosen)
    main_timing = timings[0]
    wanted_term = spec.main_term(main_timing.level)
    if not getattr(main_timing, wanted_term):
        raise fail(
            name,
            f"the study reports the {wanted_term} change of '{main_timing.id}', which is not "
            "estimated (level or slope is switched off)",
        )
    shocks = _usable_shocks(shocks_all, in_fit, notes, name)
    layout = DesignLayout(
        timings,
        shocks,
        seasonality=spec.seasonality,
        period=spec.period,
        first_ordinal=series.first_ordinal,
        frequency=spec.frequency,
        with_control=series.control is not None,
    )
    data = fit_input(series, layout, excluded)
    fit = run_model(spec, data, layout, name)
    if seasonality_p is not None:
        fit.details["seasonality_test_p"] = seasonality_p
    if not fit.converged:
        notes.append(
            ITSWarning(
                "non_convergence",
                f"the {spec.model} optimiser did not report "
                "convergence: treat the estimates with care",
            )
        )
    if fit.details.get("phi_at_bound"):
        notes.append(
            ITSWarning(
                "near_unit_root",
                f"the AR(1) coefficient is at its bound "
                f"({fit.details['phi']:.2f}): the series may not be stationary "
                "around its trend",
            )
        )
    if fit.details.get("alpha_at_bound"):
        notes.append(
            ITSWarning(
                "no_overdispersion",
                "the negative binomial found no overdispersion: it has reduced to a Poisson model",
            )
        )

    q = fit.quantile(spec.alpha)
    treated_fit = treated_fit_mask(data, series)
    treated_resid = fit.resid[: int(treated_fit.sum())]
    arma_terms = sum(spec.arma_order) if spec.model == "arima" else 0
    diagnostics = residual_diagnostics(
        treated_resid,
        residual_kind=residual_kind(spec.model),
        X=data.X[: series.n_periods][treated_fit] if spec.model == "ols" else None,
        dispersion=fit.dispersion,
        fitted_arma_terms=arma_terms,
    )
    if diagnostics.ljung_box_p < 0.05:
        if spec.model == "ols":
            handled = (
                "the Newey-West standard errors allow for it up to lag "
                f"{int(fit.details['hac_lags'])}"
            )
        elif spec.model == "arima":
            handled = "the ARMA error model has not captured all of it; try another arma_order"
        else:
            handled = "intervals may be too narrow; consider model 'arima' or 'ols'"
        notes.append(
            ITSWarning(
                "autocorrelation",
                "autocorrelation is left in the residuals "
                f"(Ljung-Box p={diagnostics.ljung_box_p:.3g}, "
                f"lag-1 r={diagnostics.acf[0]:.2f}): {handled}",
            )
        )
    if spec.model == "poisson" and fit.dispersion is not None and fit.dispersion > 1.5:
        notes.append(
            ITSWarning(
                "overdispersion",
                f"the counts are overdispersed (Pearson "
                f"chi-square/df = {fit.dispersion:.2f}): Poisson intervals are "
                "too narrow; use 'quasipoisson' or 'negbin'",
            )
        )

    if spec.placebo or spec.check_fit:
        tested = lack_of_fit(spec, data, layout, fit, timings[0].start, stop)
        if tested is not None:
            diagnostics = dataclasses.replace(
                diagnostics,
                lack_of_fit_stat=tested[0],
                lack_of_fit_p=tested[1],
                lack_of_fit_df=tested[2],
            )
    offsets = filled(series.log_offset)
    effects = intervention_effects(fit, layout, spec, q, timings)
    draws = coefficient_draws(fit.params, fit.cov, fit.df_resid, spec)
    horizon = tuple(
        horizon_effect(fit, layout, series, spec, q, timing, offsets, notes, draws, stop)
        for timing in timings
    )
    # A binomial model's total is in cases (e.g. referrals accepted): each period's
    # difference in the proportion times its denominator (the nearest known one in gaps).
    trials = None if series.trials is None else filled(series.trials)
    cumulative = tuple(
        series_cumulative_effect(fit, layout, series, spec, q, timing, offsets, trials, draws, stop)
        for timing in timings
    )
    counterfactual = counterfactual_frame(
        fit, layout, series, q, data, excluded, offsets, spec.per, stop
    )
    main = timings[0]
    term = spec.main_term(main.level)
    real = next(e for e in effects if e.intervention == main.id and e.term == term)
    placebo = None
    placebo_note = ""
    if spec.placebo:
        placebo = placebo_check(series, spec, fit, main, shocks, excluded, real)
        if placebo is None:
            before = int(treated_fit[: main.start].sum())
            placebo_note = (
                f"No placebo check: it needs at least {2 * PLACEBO_MIN_SIDE} points before "
                f"{the_label(main.label)} ({PLACEBO_MIN_SIDE} either side of each false "
                f"date), and there {'is' if before == 1 else 'are'} {before}."
            )
    first_start = main.start
    return conclude(
        fit.params,
        fit.cov,
        series=name,
        spec=spec,
        model=spec.model,
        link=fit.link,
        frequency=spec.frequency,
        n_obs=int(treated_fit.sum()),
        n_pre=int(treated_fit[:first_start].sum()),
        n_post=int(treated_fit[first_start:].sum()),
        effects=effects,
        horizon_effects=horizon,
        cumulative_effects=cumulative,
        trend=make_trend(layout.trend_contrast(), fit.params, fit.cov, q, fit.link, spec),
        diagnostics=diagnostics,
        warnings=tuple(notes),
        placebo=placebo,
        placebo_note=placebo_note,
        windows=_windows(series, timings),
        model_details=dict(fit.details),
        coefficient_table=coefficient_table(layout.columns, fit.params, fit.cov, q, fit.df_resid),
        counterfactual_table=counterfactual,
    )


def sensitivity(
    frame: pd.DataFrame,
    spec: ITSSpec,
    families: Iterable[str] | None = None,
    *,
    date_col: str = "date",
    value_col: str = "value",
    series_name: str = "",
) -> pd.DataFrame:
    """The main effect under each model family, side by side.

    One row per family: the level change of the first intervention (ratio or absolute), the
    relative effect at the horizon with its interval (comparable across families), the
    dispersion, the Ljung-Box p-value and the verdict ("fits" or "does_not_fit"). A family
    that cannot be fitted gives a row with status "failed" and the reason, never an
    exception.
    """
    if families is None:  # binomial needs a denominator; the other families any outcome
        families = [f for f in FAMILIES if f != "binomial" or spec.denominator_col]
    rows = []
    for family in families:
        row: dict[str, object] = {"family": family}
        try:
            variant = dataclasses.replace(spec, model=family, placebo=False, group_effects=False)
            result = fit_its(
                frame, variant, date_col=date_col, value_col=value_col, series_name=series_name
            )
        except Exception as exc:  # every failure becomes a row, by design
            row.update(status="failed", reason=str(exc))
            rows.append(row)
            continue
        level = result.effect(term="level") or result.effect(term="slope")
        assert level is not None
        horizon = result.horizon_effect()
        row.update(
            status="ok",
            reason="",
            term=level.term,
            estimate=level.estimate,
            ci_low=level.ci_low,
            ci_high=level.ci_high,
            scale=level.scale,
            relative_effect=horizon.relative,
            relative_ci_low=horizon.relative_low,
            relative_ci_high=horizon.relative_high,
            absolute_effect=horizon.absolute,
            absolute_ci_low=horizon.absolute_low,
            absolute_ci_high=horizon.absolute_high,
            dispersion=result.dispersion,
            ljung_box_p=result.diagnostics.ljung_box_p,
            n_warnings=len(result.warnings),
            verdict=None if result.verdict is None else result.verdict.status,
        )
        rows.append(row)
    columns = [
        "family",
        "status",
        "term",
        "estimate",
        "ci_low",
        "ci_high",
        "scale",
        "relative_effect",
        "relative_ci_low",
        "relative_ci_high",
        "absolute_effect",
        "absolute_ci_low",
        "absolute_ci_high",
        "dispersion",
        "ljung_box_p",
        "n_warnings",
        "verdict",
        "reason",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)
