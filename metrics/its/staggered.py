"""Multiple-baseline studies: a staggered roll-out fitted across its groups together.

When a change starts at different dates in different groups (the Hub: North 2015-10, South
West 2016-01, South East 2016-04), each group is a baseline for the others: a change that
happens in each group at its own date, and not before, is hard to explain by anything but
the intervention. The study stacks the groups (one row per period and group) and fits:

- an intercept and a trend per group;
- shared seasonality and shocks (the same calendar and the same COVID months);
- for each intervention, a level and a slope term evaluated at each row's own group start
  (with the group's phase-in ramp); a non-staggered intervention starts at its one date;
- **pooled**: one level and one slope coefficient per intervention (the reported effect);
  **per group**: a second fit with each group's own level and slope coefficients.

Covariance: **Driscoll-Kraay** (1998). Groups share month-to-month shocks (the sample's
referral noise is borough-wide) and months carry over, so neither a model-based nor a
group-clustered covariance is right. The scores x_i (y_i - mu_i) w_i of every row are summed
over groups within each period, and a Newey-West (Bartlett) estimator over periods, lag
floor(4 (T/100)^(2/9)) unless `hac_lags` is given, forms the meat of a sandwich around the
family's bread (X'WX)^-1. Small-sample factor T/(T - 1) x (n - 1)/(n - k); intervals use
Student's t with T - 1 degrees of freedom (T periods). Scores: ols x e; Poisson and
quasi-Poisson x (y - mu); negative binomial x (y - mu) / (1 + alpha mu); binomial
x (y - n p).

Reported like a single-series study (`ITSResult` with `design = "multiple_baseline"`):
effects are pooled, `group_effects` and `group_horizon_effects` give each group's; the
horizon effect is read `horizon` months after each group's own start (groups summed); the
cumulative effect sums each group from its own start; the counterfactual table sums the
groups per period. No placebo check: the staggered starts are the check (each group must
change at its own date), and the per-group effects show it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from metrics.its.checks import summed_lack_of_fit
from metrics.its.design import (
    DesignLayout,
    InterventionTiming,
    ordinal_label,
    period_ordinal,
    place_shocks,
)
from metrics.its.diagnostics import residual_diagnostics, residual_kind
from metrics.its.estimates import (
    coefficient_draws,
    coefficient_table,
    conclude,
    cumulative_effect,
    make_effect,
    make_trend,
    mean,
    percentiles,
    predictors,
    row_quadratic,
)
from metrics.its.fitting import check_design, fit_named, refuse_non_finite
from metrics.its.models import (
    LINKS,
    FitInput,
    ModelFit,
    critical_value,
    default_hac_lags,
    driscoll_kraay,
)
from metrics.its.prepare import Panel, check_segment_size, fail, prepare_panel
from metrics.its.result import (
    CumulativeEffect,
    Effect,
    HorizonEffect,
    InterventionWindow,
    ITSResult,
    ITSWarning,
)
from metrics.its.spec import ITSSpec

# --- design ---------------------------------------------------------------------------------


class _Layout:
    """Columns of the stacked design: group intercepts and trends, intervention terms (pooled
    or per group), then shared shocks and seasonality."""

    def __init__(
        self,
        panel: Panel,
        spec: ITSSpec,
        timings: dict[str, list[InterventionTiming]],
        shared: DesignLayout,
        *,
        by_group: bool,
    ) -> None:
        self.groups = panel.groups
        self.timings = timings  # intervention id -> one timing per group (group order)
        self.shared = shared
        self.by_group = by_group
        G = len(self.groups)
        names = [f"const[{g}]" for g in self.groups] + [f"time[{g}]" for g in self.groups]
        self.effect_cols: dict[str, list[int]] = {}
        self.term_cols: dict[tuple[str, str, str], int] = {}  # (id, term, group|"") -> col
        for intervention_id, per_group in timings.items():
            first = per_group[0]
            positions = []
            for term in ("level", "slope"):
                if not getattr(first, term):
                    continue
                targets = self.groups if by_group else ("",)
                for group in targets:
                    self.term_cols[(intervention_id, term, group)] = len(names)
                    positions.append(len(names))
                    suffix = f":{group}" if group else ""
                    names.append(f"{term}[{intervention_id}{suffix}]")
            self.effect_cols[intervention_id] = positions
        self.n_base = len(names)
        names += list(shared.columns[2:])
        self.columns = tuple(names)
        self.G = G

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def matrix(self, t: np.ndarray, g: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        g = np.asarray(g, dtype=np.int64)
        X = np.zeros((t.shape[0], self.n_columns))
        rows = np.arange(t.shape[0])
        X[rows, g] = 1.0
        X[rows, self.G + g] = t
        for intervention_id, per_group in self.timings.items():
            for code, timing in enumerate(per_group):
                here = g == code
                if not here.any():
                    continue
                level = slope = None
                terms = self.shared.intervention_terms(timing, t[here], np.ones(here.sum()))
                cursor = iter(terms)
                if timing.level:
                    level = next(cursor)
                if timing.slope:
                    slope = next(cursor)
                group = self.groups[code] if self.by_group else ""
                if level is not None:
                    X[here, self.term_cols[(intervention_id, "level", group)]] = level
                if slope is not None:
                    X[here, self.term_cols[(intervention_id, "slope", group)]] = slope
        X[:, self.n_base :] = self.shared.matrix(t)[:, 2:]
        return X

    def contrast(self, intervention_id: str, term: str, group: str = "") -> np.ndarray | None:
        column = self.term_cols.get((intervention_id, term, group))
        if column is None:
            return None
        vector = np.zeros(self.n_columns)
        vector[column] = 1.0
        return vector


# --- covariance: each family's scores (the Driscoll-Kraay estimator is in its.models) -------


def _family_parts(
    family: str, fit: ModelFit, X: np.ndarray, y: np.ndarray, eta: np.ndarray, trials
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bread weights, score multipliers, Pearson residuals) at the estimate."""
    if family == "ols":
        resid = y - eta
        return np.ones_like(y), resid, resid
    if family == "binomial":
        p = special.expit(eta)
        variance = trials * p * (1.0 - p)
        return variance, y - trials * p, (y - trials * p) / np.sqrt(variance)
    mu = np.exp(eta)
    if family == "negbin":
        alpha = fit.details["alpha"]
        weight = mu / (1.0 + alpha * mu)
        return weight, (y - mu) / (1.0 + alpha * mu), (y - mu) / np.sqrt(mu + alpha * mu**2)
    return mu, y - mu, (y - mu) / np.sqrt(mu)


# --- the study --------------------------------------------------------------------------------


def _timings(
    spec: ITSSpec, panel: Panel, name: str
) -> tuple[dict[str, list[InterventionTiming]], list[ITSWarning]]:
    """One timing per group for each intervention (its staggered start, or its one date)."""
    found: dict[str, list[InterventionTiming]] = {}
    notes: list[ITSWarning] = []
    for item in spec.interventions:
        starts = dict(item.group_starts)
        unknown = sorted(set(starts) - set(panel.groups))
        if unknown:
            raise fail(
                name,
                f"intervention '{item.id}' has a staggered start for unknown group "
                f"'{unknown[0]}' (groups in the data: {', '.join(panel.groups)})",
            )
        if starts:
            without = [g for g in panel.groups if g not in starts]
            if without:
                raise fail(
                    name,
                    f"intervention '{item.id}' has no staggered start for group '{without[0]}' "
                    f"(it has starts for {', '.join(sorted(starts))})",
                )
        ramp = item.ramp_for_groups() if starts else item.ramp_periods
        per_group = []
        for group in panel.groups:
            when = starts.get(group, item.start)
            start = period_ordinal(when, spec.frequency) - panel.first_ordinal
            per_group.append(
                InterventionTiming(
                    id=item.id,
                    label=item.label,
                    start=start,
                    centre=start,
                    level=item.level,
                    slope=item.slope,
                    ramp_periods=ramp,
                    exclude_periods=0,
                )
            )
        found[item.id] = per_group
    return found, notes


def _check(
    panel: Panel,
    timings: dict[str, list[InterventionTiming]],
    notes: list[ITSWarning],
    name: str,
    frequency: str,
) -> None:
    last = panel.n_periods - 1
    span = (
        f"{ordinal_label(panel.first_ordinal, frequency)} to "
        f"{ordinal_label(panel.first_ordinal + last, frequency)}"
    )
    for intervention_id, per_group in timings.items():
        for group, timing in zip(panel.groups, per_group, strict=True):
            observed = np.isfinite(panel.y[panel.groups.index(group)]) & np.isfinite(
                panel.log_offset[panel.groups.index(group)]
            )
            if timing.start <= 0 or timing.start > last:
                raise fail(
                    name,
                    f"intervention '{intervention_id}' starts outside the data for group "
                    f"'{group}' ({span})",
                )
            before = int(observed[: timing.start].sum())
            after = int(observed[timing.start :].sum())
            for count, side in ((before, "before"), (after, "after")):
                where = f"{side} '{intervention_id}' in group '{group}'"
                check_segment_size(count, where, name, notes, needed="", fragile="fragile")


@dataclass
class _Fitted:
    layout: _Layout
    fit: ModelFit
    params: np.ndarray
    cov: np.ndarray
    df: float
    pearson: np.ndarray
    data: FitInput
    rows_g: np.ndarray


def _fit(spec: ITSSpec, panel: Panel, layout: _Layout, name: str, lags: int) -> _Fitted:
    G, T = panel.y.shape
    g = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    X = layout.matrix(t, g)
    y = panel.y.reshape(-1)
    offset = panel.log_offset.reshape(-1)
    trials = None if panel.trials is None else panel.trials.reshape(-1)
    mask = np.isfinite(y) & np.isfinite(offset)
    data = FitInput(y=y, X=X, t=t, group=g, offset=offset, mask=mask, trials=trials)
    rows = X[mask]
    check_design(rows, layout.columns, name, terms="terms", hint="")
    fit = fit_named(spec.model, data, name, hac_lags=0)
    eta = rows @ fit.params + offset[mask]
    weights, scores, pearson = _family_parts(
        spec.model, fit, rows, y[mask], eta, None if trials is None else trials[mask]
    )
    cov = driscoll_kraay(rows, weights, scores, t[mask], lags)
    # Not "did not converge to finite estimates", as a single series says: kept as written.
    refuse_non_finite(fit.params, cov, name, spec.model, "did not converge")
    periods = int(np.count_nonzero(np.bincount(t[mask])))
    return _Fitted(layout, fit, fit.params, cov, float(periods - 1), pearson, data, g[mask])


def _effect(
    fitted: _Fitted, spec: ITSSpec, intervention: InterventionTiming, term: str, group: str, q
) -> Effect | None:
    contrast = fitted.layout.contrast(intervention.id, term, group)
    if contrast is None:
        return None
    return make_effect(
        intervention,
        term,
        contrast,
        fitted.params,
        fitted.cov,
        q=q,
        df=fitted.df,
        link=LINKS[spec.model],
        spec=spec,
        group=group,
    )


def _draws(fitted: _Fitted, spec: ITSSpec) -> np.ndarray | None:
    return coefficient_draws(fitted.params, fitted.cov, fitted.df, spec)


def _rows_at(
    fitted: _Fitted, panel: Panel, points: Sequence[tuple[int, int]], intervention_id: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Design rows with and without one intervention at (group, period) points, their
    offsets and binomial weights."""
    g = np.array([p[0] for p in points])
    t = np.array([p[1] for p in points])
    x1 = fitted.layout.matrix(t, g)
    x0 = x1.copy()
    x0[:, fitted.layout.effect_cols[intervention_id]] = 0.0
    offsets = panel.filled_offset[g, t]
    weights = np.ones(t.size) if panel.filled_trials is None else panel.filled_trials[g, t]
    return x1, x0, offsets, weights


def _horizon(
    fitted: _Fitted,
    panel: Panel,
    spec: ITSSpec,
    per_group: list[InterventionTiming],
    draws: np.ndarray | None,
    only: int | None,
    notes: list[ITSWarning],
) -> HorizonEffect:
    """Fitted minus counterfactual `horizon` periods after each group's own start, summed
    over the groups (or for group `only`)."""
    last = panel.n_periods - 1
    h = spec.horizon_periods
    codes = range(len(panel.groups)) if only is None else [only]
    points = []
    for code in codes:
        target = per_group[code].start + h
        if target > last:
            target = last
            if only is None:
                notes.append(
                    ITSWarning(
                        "horizon_beyond_data",
                        f"the data end before {spec.horizon} months after '{per_group[code].id}' "
                        f"in group '{panel.groups[code]}': read at the last point there",
                    )
                )
        points.append((code, target))
    x1, x0, offsets, _ = _rows_at(fitted, panel, points, per_group[0].id)
    link = LINKS[spec.model]
    mu1 = mean(x1 @ fitted.params + offsets, link, spec.per).sum()
    mu0 = mean(x0 @ fitted.params + offsets, link, spec.per).sum()
    scale = 1.0 if link != "logit" else 1.0 / len(points)  # proportions: the groups' mean
    mu1, mu0 = mu1 * scale, mu0 * scale
    low = high = rel_low = rel_high = math.nan
    if draws is not None:
        sim1 = mean(predictors(draws, x1) + offsets, link, spec.per).sum(axis=1) * scale
        sim0 = mean(predictors(draws, x0) + offsets, link, spec.per).sum(axis=1) * scale
        low, high = percentiles(sim1 - sim0, spec.alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_low, rel_high = percentiles(sim1 / sim0 - 1.0, spec.alpha)
    latest = max(p[1] for p in points)
    months = min(target - per_group[code].start for code, target in points)
    return HorizonEffect(
        intervention=per_group[0].id,
        label=per_group[0].label,
        months_after=months * (12 // spec.periods_per_year),
        date=panel.dates[latest],
        fitted=float(mu1),
        counterfactual=float(mu0),
        absolute=float(mu1 - mu0),
        absolute_low=low,
        absolute_high=high,
        relative=float(mu1 / mu0 - 1.0) if mu0 != 0 else math.nan,
        relative_low=rel_low,
        relative_high=rel_high,
        method="simulation" if draws is not None else "none",
        group="" if only is None else panel.groups[only],
    )


def _cumulative(
    fitted: _Fitted,
    panel: Panel,
    spec: ITSSpec,
    per_group: list[InterventionTiming],
    draws: np.ndarray | None,
) -> CumulativeEffect:
    """Fitted minus counterfactual summed over each group from its own start (cases, or
    outcome units, not percentages)."""
    points = [
        (code, t)
        for code, timing in enumerate(per_group)
        for t in range(timing.start, panel.n_periods)
    ]
    x1, x0, offsets, weights = _rows_at(fitted, panel, points, per_group[0].id)
    return cumulative_effect(
        per_group[0],
        x1,
        x0,
        offsets,
        weights,
        fitted.params,
        fitted.cov,
        link=LINKS[spec.model],
        alpha=spec.alpha,
        draws=draws,
        start=panel.dates[min(t.start for t in per_group)],
        end=panel.dates[-1],
        # Without draws (simulations=0) a single series falls back on the delta method;
        # this study reports no interval (NaN, method "none"): kept as it was written.
        delta=False,
    )


def _counterfactual_table(
    fitted: _Fitted, panel: Panel, spec: ITSSpec, q: float, first_start: int
) -> pd.DataFrame:
    """Per period, the groups summed (proportions: pooled over the groups' denominators)."""
    G, T = panel.y.shape
    link = LINKS[spec.model]
    g = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    x1 = fitted.layout.matrix(t, g)
    x0 = x1.copy()
    for cols in fitted.layout.effect_cols.values():
        x0[:, cols] = 0.0
    offsets = panel.filled_offset.reshape(-1)
    usable = np.isfinite(panel.y) & np.isfinite(panel.log_offset)
    weights = np.ones((G, T)) if panel.filled_trials is None else panel.filled_trials
    per = spec.per if link == "logit" else 1.0
    mu1 = (mean(x1 @ fitted.params + offsets, link, 1.0).reshape(G, T)) * weights
    eta0 = x0 @ fitted.params + offsets
    mu0 = mean(eta0, link, 1.0).reshape(G, T) * weights
    if link == "log":
        derivative = mu0.reshape(-1)[:, None] * x0
    elif link == "logit":
        p0 = special.expit(eta0)
        derivative = (weights.reshape(-1) * p0 * (1 - p0))[:, None] * x0
    else:
        derivative = x0
    gradient = derivative.reshape(G, T, -1).sum(axis=0)  # T x k
    se = np.sqrt(np.clip(row_quadratic(gradient, fitted.cov), 0, None))
    total_weight = weights.sum(axis=0)
    observed_total = np.where(usable.all(axis=0), np.nansum(panel.y, axis=0), np.nan)
    fitted_total = np.where(usable.all(axis=0), mu1.sum(axis=0), np.nan)
    cf_total = mu0.sum(axis=0)
    low, high = cf_total - q * se, cf_total + q * se
    if link == "logit":  # a pooled percentage: totals over the total denominator
        observed_total = per * observed_total / total_weight
        fitted_total = per * fitted_total / total_weight
        cf_total, low, high = (per * v / total_weight for v in (cf_total, low, high))
    after = next(iter(fitted.layout.timings))
    segment = ["pre" if t < first_start else after for t in range(T)]
    return pd.DataFrame(
        {
            "date": panel.dates,
            "observed": observed_total,
            "fitted": fitted_total,
            "counterfactual": cf_total,
            "cf_low": np.where(np.arange(T) >= first_start, low, np.nan),
            "cf_high": np.where(np.arange(T) >= first_start, high, np.nan),
            "in_fit": usable.all(axis=0),
            "segment": pd.array(segment, dtype="string"),
        }
    )


def fit_multiple_baseline(
    frame: pd.DataFrame,
    spec: ITSSpec,
    *,
    date_col: str = "date",
    value_col: str = "value",
    series_name: str = "",
) -> ITSResult:
    """Fit a multiple-baseline study (see the module docstring); `spec.group_col` names the
    group column of the long `frame`."""
    name = series_name
    panel = prepare_panel(frame, spec, date_col, value_col, name)
    notes = list(panel.warnings)
    timings, extra = _timings(spec, panel, name)
    notes += extra
    _check(panel, timings, notes, name, spec.frequency)
    seasonality = spec.seasonality
    if seasonality.strip().lower() == "auto":  # month terms, untested (docs/its.md)
        seasonality = "none" if spec.frequency == "annual" else "month"
        spec = dataclasses.replace(spec, seasonality=seasonality)
    shocks = place_shocks(spec.shocks, panel.first_ordinal, spec.frequency)
    # Shocks outside the data are left out without the warning a single series gives, and
    # one that covers only missing periods is not left out: kept as written.
    shocks = tuple(s for s in shocks if not s.outside(panel.n_periods - 1))
    shared = DesignLayout(
        (),
        shocks,
        seasonality=seasonality,
        period=spec.period,
        first_ordinal=panel.first_ordinal,
        frequency=spec.frequency,
        with_control=False,
    )
    T = panel.n_periods
    lags = spec.hac_lags if spec.hac_lags is not None else default_hac_lags(T)
    pooled = _fit(spec, panel, _Layout(panel, spec, timings, shared, by_group=False), name, lags)
    grouped = (
        _fit(spec, panel, _Layout(panel, spec, timings, shared, by_group=True), name, lags)
        if spec.group_effects
        else None
    )
    q = critical_value(spec.alpha, pooled.df)
    main_id = spec.interventions[0].id
    order = sorted(spec.interventions, key=lambda i: min(t.start for t in timings[i.id]))
    effects = tuple(
        e
        for item in order
        for term in ("level", "slope")
        if (e := _effect(pooled, spec, timings[item.id][0], term, "", q)) is not None
    )
    group_effects = (
        tuple(
            e
            for item in order
            for group in panel.groups
            for term in ("level", "slope")
            if (e := _effect(grouped, spec, timings[item.id][0], term, group, q)) is not None
        )
        if grouped is not None
        else ()
    )
    draws = _draws(pooled, spec)
    group_draws = _draws(grouped, spec) if grouped is not None else None
    horizon = tuple(
        _horizon(pooled, panel, spec, timings[item.id], draws, None, notes) for item in order
    )
    group_horizon = (
        tuple(
            _horizon(grouped, panel, spec, timings[main_id], group_draws, code, [])
            for code in range(len(panel.groups))
        )
        if grouped is not None
        else ()
    )
    cumulative = tuple(_cumulative(pooled, panel, spec, timings[i.id], draws) for i in order)
    first_start = min(t.start for t in timings[order[0].id])
    table = _counterfactual_table(pooled, panel, spec, q, first_start)

    # Diagnostics on the Pearson residuals summed over groups each period (the series the
    # Driscoll-Kraay covariance treats as the unit), in time order.
    t_rows = pooled.data.t[pooled.data.mask]
    summed = np.zeros(T)
    np.add.at(summed, t_rows, pooled.pearson)
    present = np.isin(np.arange(T), t_rows)
    resid = summed[present] / math.sqrt(len(panel.groups))
    dispersion = (
        float(pooled.pearson @ pooled.pearson / (pooled.pearson.size - pooled.params.size))
        if spec.model != "ols"
        else None
    )
    diagnostics = residual_diagnostics(
        resid, residual_kind=residual_kind(spec.model), dispersion=dispersion
    )
    tested = summed_lack_of_fit(spec, resid, np.nonzero(present)[0], first_start, T)
    if tested is not None:
        diagnostics = dataclasses.replace(
            diagnostics,
            lack_of_fit_stat=tested[0],
            lack_of_fit_p=tested[1],
            lack_of_fit_df=tested[2],
        )
    if diagnostics.ljung_box_p < 0.05:
        notes.append(
            ITSWarning(
                "autocorrelation",
                f"autocorrelation is left in the residuals summed over groups (Ljung-Box "
                f"p={diagnostics.ljung_box_p:.3g}): the Driscoll-Kraay covariance allows for "
                f"it up to lag {lags}",
            )
        )
    contrast = np.zeros(pooled.params.shape[0])
    contrast[len(panel.groups) : 2 * len(panel.groups)] = 1.0 / len(panel.groups)
    link = LINKS[spec.model]
    trend = make_trend(contrast, pooled.params, pooled.cov, q, link, spec)
    windows = []
    for item in order:
        per_group = timings[item.id]
        first = min(t.start for t in per_group)
        last_start = max(t.start for t in per_group)
        end = min(last_start + max(per_group[0].ramp_periods, 1) - 1, T - 1)
        staggered = last_start > first or per_group[0].ramp_periods > 0
        windows.append(
            InterventionWindow(
                id=item.id,
                label=item.label,
                start=panel.dates[first],
                window="phase-in" if staggered else None,
                window_start=panel.dates[first] if staggered else None,
                window_end=panel.dates[end] if staggered else None,
            )
        )
    mask = pooled.data.mask.reshape(len(panel.groups), T)
    main_starts = [t.start for t in timings[order[0].id]]
    n_pre = int(sum(mask[c, :s].sum() for c, s in enumerate(main_starts)))
    n_post = int(sum(mask[c, s:].sum() for c, s in enumerate(main_starts)))
    details = {k: v for k, v in pooled.fit.details.items() if isinstance(v, float)}
    details.update({"groups": float(len(panel.groups)), "dk_lags": float(lags), "df": pooled.df})
    if spec.model != "ols":
        details.pop("hac_lags", None)
    return conclude(
        pooled.params,
        pooled.cov,
        series=name,
        spec=spec,
        model=spec.model,
        link=link,
        frequency=spec.frequency,
        n_obs=int(pooled.data.mask.sum()),
        n_pre=n_pre,
        n_post=n_post,
        effects=effects,
        horizon_effects=horizon,
        cumulative_effects=cumulative,
        trend=trend,
        diagnostics=diagnostics,
        warnings=tuple(notes),
        placebo=None,
        windows=tuple(windows),
        model_details=details,
        coefficient_table=coefficient_table(
            pooled.layout.columns, pooled.params, pooled.cov, q, pooled.df
        ),
        counterfactual_table=table,
        placebo_note=(
            "No placebo check: in a multiple-baseline study each group's own start is the "
            "check (the change must come at each group's date, and not before)."
            if spec.placebo
            else ""
        ),
        design="multiple_baseline",
        groups=panel.groups,
        group_effects=group_effects,
        group_horizon_effects=group_horizon,
    )


__all__ = ["driscoll_kraay", "fit_multiple_baseline"]
