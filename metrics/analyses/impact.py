"""Did our service changes work? Interrupted time-series studies of catalogue metrics.

Binds a metric's `its:` block (or an analyst's ad hoc choice of intervention and model) to
the ITS engine: the series comes from the board (whole span, not the page's period,
since a study needs its pre-period), provisional months are left out of the fit, and
breakdowns give one study per group.

Disclosure: the model is fitted to exact figures, and what it estimates (fitted values,
the counterfactual and its band, effects) is shown as computed: complex statistics, not
counts. The observed values drawn and downloaded beside them are figures about people, so
they go through `controlled_counterfactual` / `controlled_result` under the page's policy:
under a neighbourhood filter (or any policy that applies) they are shown as on every other
page, rounded or suppressed, never exact.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from metrics.analyses.disclosure import Policy, control_count, control_value, is_controlled
from metrics.board import Board
from metrics.definitions.models import InterventionDef, ITSBlock, MetricDef
from metrics.formatting import format_money, format_value
from metrics.its import (
    InterventionSpec,
    ITSInputError,
    ITSResult,
    ITSSpec,
    ShockSpec,
    fit_its,
    sensitivity,
)
from metrics.its.result import no_conclusion_sentence, verb_for
from metrics.its.spec import LOG_LINK_FAMILIES, parse_seasonality
from metrics.its.verdict import Verdict
from metrics.labels import column_label
from metrics.sql.series import SeriesError, SeriesQuery

OFFSET = "population"
DENOMINATOR = "denominator"  # a binomial model's denominator in the fitted frame
CONTROL = "comparison"
CONTROL_COLUMN = "control"  # the comparison series in an ITS counterfactual frame


@dataclass(frozen=True)
class ImpactRequest:
    """One study: a metric, the interventions and model (None = the metric's `its:` block)."""

    metric_id: str
    interventions: tuple[str, ...] = ()
    model: str | None = None
    breakdown: str | None = None
    lcn: str | None = None
    placebo: bool = True


@dataclass(frozen=True)
class GroupImpact:
    group: str
    result: ITSResult | None
    error: str = ""


@dataclass(frozen=True)
class Impact:
    """A study's outcome. `result` is None when it could not be fitted; `error` says why."""

    request: ImpactRequest
    metric: MetricDef
    spec: ITSSpec | None
    data: pd.DataFrame  # date, value (and population / comparison) as fitted
    result: ITSResult | None = None
    error: str = ""
    notes: tuple[str, ...] = ()
    groups: tuple[GroupImpact, ...] = field(default_factory=tuple)
    # The exact series behind `data` (month, value, numerator, denominator, n), and the
    # comparison metric's: what `controlled_counterfactual` controls the observed values by.
    series: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    comparison: MetricDef | None = None
    comparison_series: pd.DataFrame | None = field(default=None, compare=False, repr=False)


def its_block_for(metric: MetricDef, request: ImpactRequest) -> ITSBlock | None:
    """The metric's own ITS settings, overridden by what the analyst asked for."""
    block = metric.its
    if request.interventions:
        base = block or ITSBlock(interventions=list(request.interventions))
        block = base.model_copy(update={"interventions": list(request.interventions)})
    if block is not None and request.model:
        block = block.model_copy(update={"model": request.model})
    return block


def block_model(metric: MetricDef, block: ITSBlock) -> str:
    """The study's model family: the block's, else binomial for a proportion (measure:
    ratio, a numerator out of a denominator) and regression with AR(1) errors otherwise."""
    if block.model:
        return block.model
    return "binomial" if metric.measure == "ratio" else "arima"


GROUP = "group"  # a multiple-baseline study's group column in the fitted frame


def staggered_column(board: Board, metric: MetricDef, block: ITSBlock) -> str:
    """The breakdown a multiple-baseline study fits across: the staggered column of its
    first staggered intervention. Raises ITSInputError naming the field when it cannot."""
    catalogue = board.catalogue
    staggered = [
        catalogue.interventions[i]
        for i in block.interventions
        if i in catalogue.interventions and catalogue.interventions[i].staggered is not None
    ]
    if not staggered:
        raise ITSInputError(
            "its.design: multiple_baseline needs an intervention with staggered starts "
            f"(interventions.yaml staggered:), and none of {', '.join(block.interventions)} "
            "has them"
        )
    column = staggered[0].staggered.column  # type: ignore[union-attr]
    if column not in metric.breakdowns:
        raise ITSInputError(
            f"its.design: multiple_baseline fits the groups of '{column}' (the staggered "
            f"column of '{staggered[0].id}'), but the metric has no breakdown by '{column}' "
            f"(breakdowns: {', '.join(metric.breakdowns) or 'none'})"
        )
    return column


def shock_spec(item: InterventionDef) -> ShockSpec:
    """An interventions.yaml entry listed under its.shocks, as the engine's shock: a shock
    with an end is temporary (with its recovery months); a shock without one, and a
    definition break, is lasting (a step that stays, phased in over phase_in_months)."""
    if item.end is None:
        return ShockSpec(
            id=item.id, start=item.start, label=item.title, ramp_periods=item.phase_in_months
        )
    return ShockSpec(
        id=item.id,
        start=item.start,
        end=item.end,
        label=item.title,
        recovery_periods=item.recovery_months,
    )


def build_spec(
    board: Board,
    metric: MetricDef,
    block: ITSBlock,
    *,
    placebo: bool = True,
    lcn: str | None = None,
) -> ITSSpec:
    """Translate an `its:` block into an engine specification (interventions by id).

    A multiple-baseline block becomes a study across the groups of the staggered column
    (`group_col`); under a neighbourhood filter (`lcn`) there is one group left, so the
    neighbourhood's own series is studied with the single-series design."""
    catalogue = board.catalogue
    model = block_model(metric, block)
    multiple = block.design == "multiple_baseline" and lcn is None
    column = staggered_column(board, metric, block) if multiple else None
    if model == "binomial" and metric.measure != "ratio":
        raise ITSInputError(
            f"its.model: model 'binomial' needs a numerator and a denominator, but this metric "
            f"is a {metric.measure}: use it for measure: ratio (a proportion)"
        )
    interventions = []
    for position, intervention_id in enumerate(block.interventions):
        item = catalogue.interventions[intervention_id]
        if item.kind == "relabel":  # a name changed, not the service: nothing to estimate
            continue
        phase = item.phase_in_months if block.phase_in != "none" else 0
        by_group = item.staggered is not None and multiple and item.staggered.column == column
        if by_group and lcn is None:
            assert item.staggered is not None
            group_starts = tuple(item.staggered.starts.items())
            group_ramp = item.staggered.phase_in_months if block.phase_in == "ramp" else 0
        else:
            group_starts, group_ramp = (), None
        start = item.start
        if lcn is not None and item.staggered is not None and lcn in item.staggered.starts:
            # A neighbourhood's own study starts at its own date, with its own phase-in.
            start = item.staggered.starts[lcn]
            phase = item.staggered.phase_in_months if block.phase_in != "none" else 0
        interventions.append(
            InterventionSpec(
                id=item.id,
                start=start,
                label=item.title,
                ramp_periods=phase if block.phase_in == "ramp" else 0,
                exclude_periods=phase if block.phase_in == "exclude" and not multiple else 0,
                slope=block.slope or (position == 0 and block.term == "slope"),
                group_starts=group_starts,
                group_ramp_periods=group_ramp,
                post_periods=block.post_months if position == 0 else None,
            )
        )
    shocks = [
        shock_spec(catalogue.interventions[s]) for s in block.shocks if s in catalogue.interventions
    ]
    count_model = model in LOG_LINK_FAMILIES
    use_offset = count_model and (block.offset == OFFSET or metric.measure == "rate")
    binomial = model == "binomial"
    return ITSSpec(
        interventions=tuple(interventions),
        model=model,
        denominator_col=DENOMINATOR if binomial else None,
        per=metric.per if binomial else 100.0,
        shocks=tuple(shocks),
        seasonality=block.seasonality,
        hac_lags=block.hac_lags,
        offset_col=OFFSET if use_offset else None,
        control_col=CONTROL if block.comparison and not multiple else None,
        group_col=GROUP if multiple else None,
        term=block.term,
        horizon=block.horizon,
        placebo=placebo,
    )


def _series_frame(
    board: Board, metric: MetricDef, spec: ITSSpec, query: SeriesQuery, group: str | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """date, value[, population] for the fit, without provisional months (with `group`
    one group of `query.breakdown`; a multiple-baseline spec: every group, long, with a
    group column)."""
    frame = board.series(metric.id, query).frame
    if group is not None:
        frame = frame[frame["group"] == group]
    notes: list[str] = []
    data = pd.DataFrame({"date": frame["month"].to_numpy()})
    if spec.group_col and group is None:
        data[GROUP] = frame["group"].astype(str).to_numpy()
    if spec.offset_col:
        # Count model of a rate: model the counts, with the population as the offset.
        data["value"] = frame["numerator"].to_numpy()
        data[OFFSET] = frame["denominator"].to_numpy()
    elif spec.denominator_col:
        # Binomial model of a proportion: the numerator out of the denominator.
        data["value"] = frame["numerator"].to_numpy()
        data[DENOMINATOR] = frame["denominator"].to_numpy()
    else:
        data["value"] = frame["value"].to_numpy()
    provisional = board.catalogue.sources[metric.source].provisional_months
    known = data.dropna(subset=["value"])
    months = known["date"].drop_duplicates().sort_values()
    if provisional and len(months) > provisional:
        cut = months.iloc[-provisional]
        data = data[data["date"] < cut]
        notes.append(
            f"The latest {provisional} months are provisional (still filling up) and are "
            "left out of the model."
        )
    return data.reset_index(drop=True), notes


def run_impact(board: Board, request: ImpactRequest) -> Impact:
    """Fit the study; every failure becomes a readable `error`, never an exception."""
    metric = board.catalogue.metrics.get(request.metric_id)
    if metric is None:
        raise KeyError(request.metric_id)
    empty = pd.DataFrame(columns=["date", "value"])
    block = its_block_for(metric, request)
    if block is None:
        return Impact(request, metric, None, empty, error="no interventions chosen for this metric")
    unknown = [i for i in block.interventions if i not in board.catalogue.interventions]
    if unknown:
        return Impact(request, metric, None, empty, error=f"unknown intervention {unknown[0]}")
    try:
        spec = build_spec(board, metric, block, placebo=request.placebo, lcn=request.lcn)
    except ITSInputError as exc:
        return Impact(request, metric, None, empty, error=f"{metric.title}: {exc}")
    query = SeriesQuery(lcn=request.lcn)
    comparison = None
    comparison_series = None
    try:
        if spec.group_col:
            column = staggered_column(board, metric, block)
            data, notes = _series_frame(board, metric, spec, SeriesQuery(breakdown=column))
            groups = ", ".join(sorted(data[GROUP].unique()))
            notes.append(
                f"A multiple-baseline study: the {column_label(board.catalogue, column)} groups "
                f"({groups}) "
                "fitted together, each from its own start; the effect is pooled over them."
            )
        else:
            data, notes = _series_frame(board, metric, spec, query)
            if block.design == "multiple_baseline":
                notes.append(
                    "For one neighbourhood the study uses that neighbourhood's own series and "
                    "start date (the multiple-baseline study needs every neighbourhood)."
                )
        series = board.series(metric.id, query).frame
        if block.comparison:
            comparison = board.metric(block.comparison)
            control, _ = _series_frame(
                board, comparison, dataclasses.replace(spec, offset_col=None), query
            )
            comparison_series = board.series(comparison.id, query).frame
            data = data.merge(control.rename(columns={"value": CONTROL}), on="date", how="left")
            notes.append(f"Compared with {comparison.title} (differences in level and slope).")
    except SeriesError as exc:
        return Impact(request, metric, spec, empty, error=str(exc))
    sources = {"series": series, "comparison": comparison, "comparison_series": comparison_series}
    try:
        result = fit_its(data, spec, series_name=metric.title)
    except ITSInputError as exc:
        return Impact(
            request,
            metric,
            spec,
            data,
            error=f"{metric.title}: {exc}{_field_hint(str(exc))}",
            notes=tuple(notes),
            **sources,
        )
    groups: list[GroupImpact] = []
    if request.breakdown and not spec.group_col:
        groups = group_studies(
            board, metric, spec, SeriesQuery(breakdown=request.breakdown, lcn=request.lcn)
        )
    return Impact(
        request, metric, spec, data, result, notes=tuple(notes), groups=tuple(groups), **sources
    )


def _field_hint(message: str) -> str:
    """Which setting to look at for an engine refusal, e.g. " [its.interventions]"."""
    text = message.lower()
    if "staggered start" in text:
        return " [interventions.yaml: staggered.starts]"
    if "not whole numbers" in text or "denominator" in text or "model '" in text:
        return " [its.model]"
    if "shock" in text:
        return " [its.shocks]"
    if "post window" in text:
        return " [its.post_months]"
    if "intervention" in text or "data point" in text:
        return " [its.interventions]"
    return ""


def group_studies(
    board: Board, metric: MetricDef, spec: ITSSpec, query: SeriesQuery
) -> list[GroupImpact]:
    """One study per group of `query.breakdown` (no placebo check: it is per headline)."""
    try:
        frame = board.series(metric.id, query).frame
    except SeriesError as exc:
        return [GroupImpact("all groups", None, str(exc))]
    studies = []
    group_spec = dataclasses.replace(spec, placebo=False, control_col=None, group_col=None)
    for group in sorted(frame["group"].unique()):
        data, _ = _series_frame(board, metric, group_spec, query, group)
        try:
            studies.append(
                GroupImpact(
                    group, fit_its(data, group_spec, series_name=f"{metric.title}: {group}")
                )
            )
        except ITSInputError as exc:
            studies.append(GroupImpact(group, None, str(exc)))
    return studies


# --------------------------------------------------------------------------- as shown


def control_observed(
    values: Sequence[float | None],
    dates: Sequence[object],
    metric: MetricDef,
    policy: Policy,
    *,
    top_level: bool,
    series: pd.DataFrame | None = None,
    counts: bool = False,
) -> list[float]:
    """Observed monthly values of `metric` as shown under `policy` (NaN where hidden).

    `counts`: the values are event counts (a count model of a rate fits the numerator), so
    each is controlled as a count. Otherwise each month's figure is controlled from the
    parts in `series` (month, value, numerator, denominator, n: the exact series the
    values came from), exactly as the metric's own pages show it; a month missing from
    `series` is hidden (NaN), the safe side.
    """
    if not is_controlled(metric) or not policy.applies(top_level=top_level):
        return [math.nan if _blank(v) else float(v) for v in values]  # type: ignore[arg-type]
    if counts:
        shown = [control_count(_number(v), policy).value for v in values]
        return [math.nan if v is None else v for v in shown]
    rows: dict[pd.Timestamp, object] = {}
    if series is not None and not series.empty:
        rows = {pd.Timestamp(r.month): r for r in series.itertuples(index=False)}
    out = []
    for value, date in zip(values, dates, strict=True):
        row = rows.get(pd.Timestamp(date))  # type: ignore[arg-type]
        if _blank(value) or row is None:
            out.append(math.nan)
            continue
        cell = control_value(
            metric,
            policy,
            value=_number(row.value),
            numerator=_number(row.numerator),
            denominator=_number(row.denominator),
            n=_number(getattr(row, "n", None)),
        )
        out.append(math.nan if cell.value is None else cell.value)
    return out


def control_counterfactual_frame(
    frame: pd.DataFrame,
    metric: MetricDef,
    policy: Policy,
    *,
    top_level: bool,
    series: pd.DataFrame | None = None,
    counts: bool = False,
    comparison: MetricDef | None = None,
    comparison_series: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A copy of an ITS counterfactual frame (date, observed, fitted, counterfactual,
    cf_low, cf_high, in_fit, segment[, control]) as shown under `policy`.

    `observed` holds the values as shown (see `control_observed`) and a `suppressed`
    column marks months whose observed value is hidden; the comparison series (`control`)
    is controlled the same way by its own metric, or dropped when it cannot be. Model
    figures (fitted, counterfactual and its band) are kept as computed.
    """
    out = frame.copy()
    observed = control_observed(
        out["observed"].tolist(),
        out["date"].tolist(),
        metric,
        policy,
        top_level=top_level,
        series=series,
        counts=counts,
    )
    out["suppressed"] = out["observed"].notna().to_numpy() & pd.isna(observed)
    out["observed"] = pd.Series(observed, index=out.index, dtype="float64")
    if CONTROL_COLUMN in out:
        if comparison is None:
            if policy.applies(top_level=top_level):
                out = out.drop(columns=[CONTROL_COLUMN])
        else:
            out[CONTROL_COLUMN] = control_observed(
                out[CONTROL_COLUMN].tolist(),
                out["date"].tolist(),
                comparison,
                policy,
                top_level=top_level,
                series=comparison_series,
            )
    return out


def controlled_counterfactual(impact: Impact, policy: Policy) -> pd.DataFrame:
    """The study's counterfactual frame as shown under `policy`: for the chart and the CSV
    download. The whole-area study is top level; a neighbourhood's is not."""
    if impact.result is None:
        raise ValueError(impact.error or "no impact estimate")
    return control_counterfactual_frame(
        impact.result.counterfactual,
        impact.metric,
        policy,
        top_level=impact.request.lcn is None,
        series=impact.series,
        counts=impact.spec is not None and impact.spec.offset_col is not None,
        comparison=impact.comparison,
        comparison_series=impact.comparison_series,
    )


def controlled_result(impact: Impact, policy: Policy) -> ITSResult:
    """The fitted result with its counterfactual table as shown (for `its_chart`, whose
    data travel to the browser whole). Effects and diagnostics are unchanged."""
    if impact.result is None:
        raise ValueError(impact.error or "no impact estimate")
    return dataclasses.replace(
        impact.result, counterfactual_table=controlled_counterfactual(impact, policy)
    )


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(value: object) -> float | None:
    return None if _blank(value) else float(value)  # type: ignore[arg-type]


def sensitivity_families(metric: MetricDef) -> tuple[str, ...]:
    """The families worth comparing for a metric: proportions by binomial and the linear
    families; counts and rates by every family but binomial; anything else linearly."""
    if metric.measure == "ratio":
        return ("binomial", "arima", "ols")
    if metric.measure in ("count", "rate"):
        return ("ols", "arima", "poisson", "quasipoisson", "negbin")
    return ("arima", "ols")


def sensitivity_table(impact: Impact, families: Sequence[str] | None = None) -> pd.DataFrame:
    """The main effect under each model family side by side (failures as rows)."""
    if impact.spec is None or impact.data.empty:
        return pd.DataFrame()
    spec = impact.spec
    data = impact.data
    title = impact.metric.title
    if families is None:
        families = sensitivity_families(impact.metric)
        if spec.group_col:  # a multiple-baseline study allows for carry-over itself
            families = tuple(f for f in families if f != "arima")
    if OFFSET not in data and DENOMINATOR not in data:
        return sensitivity(data, spec, families, series_name=title)
    # Linear families model the rate or percentage itself; count families the counts with
    # the offset; binomial the numerator out of the denominator.
    rows = []
    for family in families:
        if family in LOG_LINK_FAMILIES and OFFSET in data:
            variant = dataclasses.replace(
                spec, model=family, offset_col=OFFSET, denominator_col=None
            )
            rows.append(sensitivity(data, variant, [family], series_name=title))
        elif family == "binomial" and DENOMINATOR in data:
            variant = dataclasses.replace(
                spec, model=family, denominator_col=DENOMINATOR, offset_col=None
            )
            rows.append(sensitivity(data, variant, [family], series_name=title))
        else:
            parts = data[OFFSET] if OFFSET in data else data[DENOMINATOR]
            per = 100_000 if OFFSET in data else impact.metric.per
            rate = data.assign(value=data["value"] / parts * per).drop(
                columns=[c for c in (OFFSET, DENOMINATOR) if c in data]
            )
            variant = dataclasses.replace(spec, model=family, offset_col=None, denominator_col=None)
            rows.append(sensitivity(rate, variant, [family], series_name=title))
    return pd.concat(rows, ignore_index=True)


def metrics_with_its(board: Board) -> list[MetricDef]:
    return [
        m for m in board.catalogue.metrics.values() if m.its is not None and m.status != "retired"
    ]


def headline_study_id(board: Board) -> str | None:
    """The study the Impact page and the board pack open on: board.yaml's headline_study
    when it names a live metric with an `its:` block, else the first planned study."""
    studies = metrics_with_its(board)
    wanted = board.catalogue.board.headline_study
    if wanted and any(m.id == wanted for m in studies):
        return wanted
    return studies[0].id if studies else None


def studies_headline_first(board: Board) -> list[MetricDef]:
    """Every planned study, the board's headline study first (the rest in catalogue order)."""
    studies = metrics_with_its(board)
    lead = headline_study_id(board)
    return sorted(studies, key=lambda m: m.id != lead)


# --------------------------------------------------------------------------- in words

# Board words for each model family (board text carries no family codes or test names).
FAMILY_WORDS = {
    "arima": "a trend model that allows for each month carrying over into the next",
    "ols": "a trend model whose intervals allow for neighbouring months moving together",
    "poisson": "a count model (Poisson)",
    "quasipoisson": "a count model that allows for more variation than chance alone",
    "negbin": "a count model that allows for more variation than chance alone (negative binomial)",
    "binomial": "a model of each month's proportion from its numerator and denominator",
}
FAMILY_SHORT = {
    "arima": "Trend, months carry over",
    "ols": "Trend, robust intervals",
    "poisson": "Counts (Poisson)",
    "quasipoisson": "Counts, extra variation",
    "negbin": "Counts (negative binomial)",
    "binomial": "Proportions",
}
NO_CONCLUSION = "No conclusion"


def model_words(spec: ITSSpec) -> str:
    """The model and its seasons in board words."""
    kind, _ = parse_seasonality(spec.seasonality)
    seasons = {
        "none": "no seasonal pattern",
        "month": "a separate level for each month of the year",
        "fourier": "a smooth seasonal pattern",
    }.get(kind, "seasons chosen from the data")
    return f"{FAMILY_WORDS.get(spec.model, spec.model)}, with {seasons}"


def verdict_of(impact: Impact) -> Verdict | None:
    """The study's verdict (None when it could not be fitted)."""
    return None if impact.result is None else impact.result.verdict


def verdict_badge(impact: Impact) -> tuple[str, str]:
    """(badge text, colour) for the study: green fits, orange caveats, red no conclusion;
    grey when there is no estimate at all."""
    verdict = verdict_of(impact)
    if verdict is None:
        return "No estimate", "gray"
    return verdict.badge, verdict.colour


def _fits(result: ITSResult) -> bool:
    return result.verdict is None or result.verdict.fits


def _amount(value: float, metric: MetricDef) -> str:
    if metric.is_money:
        return format_money(abs(value))
    decimals = max(metric.decimals, 0 if abs(value) >= 10 else 1)
    unit = "percentage points" if metric.unit == "%" else metric.unit
    return f"{abs(value):,.{decimals}f} {unit}"


def _number_only(value: float, metric: MetricDef, reference: float) -> str:
    decimals = max(metric.decimals, 0 if abs(reference) >= 10 else 1)
    return f"{abs(value):,.{decimals}f}"


def impact_sentence(impact: Impact, intervention: str | None = None) -> str:
    """The finding in one sentence a board member can read aloud, with its interval; when
    the model does not fit, that there is no conclusion and why."""
    result = impact.result
    if result is None:
        return f"No estimate: {impact.error}"
    metric = impact.metric
    effect = result.horizon_effect(intervention)
    if not _fits(result):
        assert result.verdict is not None
        return no_conclusion_sentence(metric.title, effect.label, result.verdict)
    if result.reported_term(intervention) == "slope":
        unit = "percentage points" if metric.unit == "%" else metric.unit
        return result.slope_sentence(metric.title, unit=unit, intervention=intervention)
    if result.link in ("log", "logit"):
        return result.sentence(subject=metric.title, intervention=intervention)
    when = f"{effect.months_after} months after the {effect.label}"
    low, high = sorted((effect.absolute_low, effect.absolute_high))
    expected = format_value(effect.counterfactual, metric)
    subject = f"{metric.title} {verb_for(metric.title)}"
    if low <= 0 <= high:
        return (
            f"{subject} {_amount(effect.absolute, metric)} "
            f"{'higher' if effect.absolute >= 0 else 'lower'} than the {expected} expected {when}, "
            f"but the 95% CI runs from {_signed(low, metric)} to {_signed(high, metric)}, so the "
            "data are consistent with no change."
        )
    direction = "higher" if effect.absolute > 0 else "lower"
    a, b = sorted((abs(low), abs(high)))
    return (
        f"{subject} {_amount(effect.absolute, metric)} {direction} "
        f"(95% CI {_number_only(a, metric, effect.absolute)} to "
        f"{_number_only(b, metric, effect.absolute)}) than the {expected} expected {when}."
    )


def _signed(value: float, metric: MetricDef) -> str:
    return ("+" if value >= 0 else "-") + _amount(value, metric)


def headline(impact: Impact, intervention: str | None = None) -> tuple[str, str]:
    """(big number, its interval) at the horizon, e.g. ('-41%', '95% CI -50% to -31%');
    for a slope study the change in trend a month; ('No conclusion', why) when the model
    does not fit."""
    result = impact.result
    if result is None:
        return "–", ""
    if not _fits(result):
        return NO_CONCLUSION, "the model does not fit the data well enough to conclude"
    metric = impact.metric
    if result.reported_term(intervention) == "slope":
        slope = result.effect(intervention, "slope")
        assert slope is not None
        per = slope.per or "period"
        if slope.scale in ("ratio", "odds_ratio"):
            return (
                f"{slope.estimate - 1:+.1%} a {per}",
                f"95% CI {slope.ci_low - 1:+.1%} to {slope.ci_high - 1:+.1%}, change in trend",
            )
        decimals = max(metric.decimals, 0 if abs(slope.estimate) >= 10 else 1)
        unit = "points" if metric.unit == "%" else metric.unit
        return (
            f"{slope.estimate:+,.{decimals}f} {unit} a {per}",
            f"95% CI {slope.ci_low:+,.{decimals}f} to {slope.ci_high:+,.{decimals}f}, "
            "change in trend",
        )
    effect = result.horizon_effect(intervention)
    if result.link == "log":
        return (
            f"{effect.relative:+.0%}",
            f"95% CI {effect.relative_low:+.0%} to {effect.relative_high:+.0%}",
        )
    low, high = sorted((effect.absolute_low, effect.absolute_high))
    decimals = max(metric.decimals, 0 if abs(effect.absolute) >= 10 else 1)
    return _signed(effect.absolute, metric), f"95% CI {low:+,.{decimals}f} to {high:+,.{decimals}f}"


def cumulative_sentence(impact: Impact, intervention: str | None = None) -> str:
    """For counts of events: the total difference over the post period (e.g. referrals
    averted). Not for stocks such as caseloads, where a total over months means nothing,
    nor for a model that does not fit."""
    result = impact.result
    metric = impact.metric
    if result is None or metric.measure != "count" or not _fits(result):
        return ""
    total = result.cumulative_effect(intervention)
    low, high = sorted((total.ci_low, total.ci_high))
    word = "fewer" if total.difference < 0 else "more"
    span = f"{total.start:%B %Y} to {total.end:%B %Y}"
    if low <= 0 <= high:
        return (
            f"Over {span}: about {abs(total.difference):,.0f} {word} {metric.unit} than "
            f"expected in total, but the 95% CI ({low:+,.0f} to {high:+,.0f}) includes no change."
        )
    a, b = sorted((abs(low), abs(high)))
    return (
        f"Over {span}: about {abs(total.difference):,.0f} {word} {metric.unit} than "
        f"expected in total (95% CI {a:,.0f} to {b:,.0f})."
    )


# Warnings whose substance the verdict or the lines below already give in board words.
_COVERED_WARNINGS = frozenset(
    {"autocorrelation", "near_unit_root", "overdispersion", "no_overdispersion", "non_convergence"}
)


def diagnostics_in_words(result: ITSResult) -> list[str]:
    """The model checks in board words: the verdict, then what each check found. No test
    names: analysts get those from `diagnostics_for_analysts`."""
    d = result.diagnostics
    unit = "month" if result.frequency == "monthly" else "period"
    lines = []
    if result.verdict is not None:
        lines.append(result.verdict.words())
    if d.ljung_box_p >= 0.05:
        lines.append(
            f"No pattern is left from {unit} to {unit} once the model is allowed for: each "
            f"{unit}'s difference from the model is unrelated to the last."
        )
    elif result.model == "arima":
        lines.append(
            f"Some pattern from {unit} to {unit} is left even after the model's allowance for "
            f"each {unit} carrying over into the next, so its interval may be too narrow."
        )
    elif result.model == "ols":
        lags = int(result.model_details.get("hac_lags", 0))
        lines.append(
            f"Neighbouring {unit}s move together. The model's intervals allow for this over up "
            f"to {lags} {unit}{'s' if lags != 1 else ''}, not beyond, so they may be too narrow."
        )
    else:
        lines.append(
            f"Neighbouring {unit}s move together, and this model treats each {unit} as "
            "independent, so its interval is too narrow; a trend model that allows for each "
            f"{unit} carrying over into the next does not."
        )
    if d.dispersion is not None:
        allowed = result.model != "poisson"
        lines.append(
            f"The counts vary {d.dispersion:.1f} times as much as chance alone would give"
            + (
                "; the model allows for this."
                if allowed
                else (
                    "; a Poisson model does not allow for this, so its interval is too narrow."
                    if d.dispersion > 1.5
                    else "."
                )
            )
        )
    kind, _ = parse_seasonality(result.spec.seasonality)
    if kind == "month":
        lines.append(
            "Seasons: a separate level for each month of the year (the seasonal pattern has "
            "a shape a smooth curve cannot follow)."
        )
    elif kind == "fourier":
        lines.append("Seasons: a smooth seasonal pattern.")
    if result.placebo is not None:
        lines.append(f"Placebo check: {result.placebo.text()}")
    elif result.placebo_note:
        lines.append(result.placebo_note)
    lines += [f"Note: {w.message}" for w in result.warnings if w.code not in _COVERED_WARNINGS]
    return lines


def diagnostics_for_analysts(result: ITSResult) -> list[str]:
    """The same checks with their tests and numbers (for the analysts' details)."""
    d = result.diagnostics
    details = result.model_details
    lines = [
        f"Model: {result.model} ({result.link} link); seasonality {result.spec.seasonality}"
        + (
            f" (auto: F test of harmonics 3-6, p = {details['seasonality_test_p']:.3g})"
            if "seasonality_test_p" in details
            else ""
        )
        + f"; {result.n_pre} points before and {result.n_post} after.",
    ]
    if "phi" in details:
        lines.append(f"AR(1) coefficient phi = {details['phi']:.3f} (REML; bound 0.99).")
    if "hac_lags" in details:
        lines.append(f"Newey-West standard errors, lag {int(details['hac_lags'])}.")
    if "alpha" in details:
        lines.append(f"Negative binomial alpha = {details['alpha']:.4g}.")
    lines.append(
        f"Ljung-Box({d.ljung_box_lags}) p = {d.ljung_box_p:.3g} on the {d.residual_kind} "
        f"residuals; Durbin-Watson {d.durbin_watson:.2f}"
        + (
            f"; Breusch-Godfrey({d.breusch_godfrey_lags}) p = {d.breusch_godfrey_p:.3g}"
            if d.breusch_godfrey_p is not None
            else ""
        )
        + "."
    )
    if d.dispersion is not None:
        lines.append(f"Dispersion (Pearson chi-square / df) {d.dispersion:.3f}.")
    if d.lack_of_fit_p is not None:
        lines.append(
            f"Lack of fit: {d.lack_of_fit_df} yearly block levels added, F = "
            f"{d.lack_of_fit_stat:.2f}, p = {d.lack_of_fit_p:.3g}."
        )
    lines.append(
        "Residual ACF lags 1-12: " + " ".join("." if math.isnan(v) else f"{v:+.2f}" for v in d.acf)
    )
    if result.verdict is not None:
        lines.append(f"Verdict: {result.verdict.status}.")
        lines += [f"Reason ({r.code}): {r.detail}" for r in result.verdict.reasons]
        lines += [f"Caveat ({c.code}): {c.detail}" for c in result.verdict.cautions]
    lines += [f"Warning ({w.code}): {w.message}" for w in result.warnings]
    lines.append(
        "Intervals of the horizon and cumulative effects: "
        + (
            f"simulation ({result.spec.simulations:,} seeded draws of the coefficients)."
            if result.spec.simulations
            else "delta method."
        )
    )
    return lines


def _interval_text(result: ITSResult, effect) -> tuple[str, str, bool]:
    """(estimate, CI, whether the CI excludes no change) for a horizon effect."""
    if result.link == "log":
        low, high = effect.relative_low, effect.relative_high
        return f"{effect.relative:+.0%}", f"{low:+.0%} to {high:+.0%}", not (low <= 0 <= high)
    low, high = sorted((effect.absolute_low, effect.absolute_high))
    return f"{effect.absolute:+,.1f}", f"{low:+,.1f} to {high:+,.1f}", not (low <= 0 <= high)


def group_table(impact: Impact, intervention: str | None = None) -> pd.DataFrame:
    """One row per group: the effect at the horizon, its CI and a plain reading (for a
    multiple-baseline study, each group's effect from the study fitted across them)."""
    rows = []
    result = impact.result
    if result is not None and result.design == "multiple_baseline":
        fits = _fits(result)
        for effect in result.group_horizon_effects:
            estimate, interval, excludes = _interval_text(result, effect)
            start = next(
                (dict(s.group_starts).get(effect.group) for s in result.spec.interventions),
                None,
            )
            rows.append(
                {
                    "Group": effect.group,
                    "Start": "" if start is None else str(start)[:7],
                    "Effect at horizon": estimate,
                    "95% CI": interval,
                    "Reading": (
                        ("a change" if excludes else "consistent with no change")
                        if fits
                        else "no conclusion: the model does not fit"
                    ),
                }
            )
        return pd.DataFrame(rows)
    for group in impact.groups:
        if group.result is None:
            rows.append(
                {
                    "Group": group.group,
                    "Effect at horizon": "not estimated",
                    "95% CI": "",
                    "Reading": group.error,
                }
            )
            continue
        estimate, interval, excludes = _interval_text(
            group.result, group.result.horizon_effect(intervention)
        )
        if not _fits(group.result):
            reading = "no conclusion: the model does not fit this group's data"
        else:
            reading = "a change" if excludes else "consistent with no change"
        rows.append(
            {
                "Group": group.group,
                "Effect at horizon": estimate,
                "95% CI": interval,
                "Reading": reading,
            }
        )
    return pd.DataFrame(rows)


def sensitivity_display(table: pd.DataFrame) -> pd.DataFrame:
    """The sensitivity table as readers see it (relative effects, comparable across
    families; each family in words, with whether it fits)."""
    if table.empty:
        return table
    rows = []
    for row in table.to_dict("records"):
        ok = row.get("status") == "ok" and pd.notna(row.get("relative_effect"))
        fits = row.get("verdict")
        rows.append(
            {
                "Model": FAMILY_SHORT.get(row["family"], row["family"]),
                "Effect at horizon": f"{row['relative_effect']:+.0%}" if ok else "",
                "95% CI": (
                    f"{row['relative_ci_low']:+.0%} to {row['relative_ci_high']:+.0%}" if ok else ""
                ),
                "Fits?": (
                    ""
                    if not ok or not isinstance(fits, str)
                    else "yes"
                    if fits == "fits"
                    else "no: no conclusion"
                ),
                "Note": row.get("reason") or "",
            }
        )
    return pd.DataFrame(rows)
