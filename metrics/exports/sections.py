"""The board pack's sections that read the analyses (money, equity, showcase, data
quality), each analysis imported when its section is built, so a missing module marks
only its own section unavailable."""

from __future__ import annotations

import importlib
from typing import Any

from metrics.charts import equity_figures
from metrics.exports.builder import Builder, _scope
from metrics.exports.deck import deck_for
from metrics.exports.helpers import _first_sentence, _number, month_short, month_words
from metrics.exports.model import ChartContent, Section, Table, unavailable_text
from metrics.formatting import format_money

EQUITY_METRIC = "detention_rate"  # the alliance's headline equity measure (domain.md 2.2)
EQUITY_DIMENSION = "ethnicity"


# ---- money --------------------------------------------------------------------------


def money_section(builder: Builder) -> Section:
    """Spend against budget, savings and unit costs (money is not about individuals,
    so only the activity counts behind unit costs are disclosure-controlled)."""
    # Imported here: the money engine may not import yet (its section is then unavailable).
    money = importlib.import_module("metrics.analyses.money")
    report = money.money_report(builder.board)
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
        if builder.audience == "public":
            cell = builder.shown_count(activity, str(r["service_line"]), "table", top_level=False)
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


def equity_section(builder: Builder) -> Section:
    """Rates per 100,000 a year by ethnicity and rate ratios (counts controlled)."""
    equity = importlib.import_module("metrics.analyses.equity")
    equity_shown = importlib.import_module("metrics.analyses.equity_shown")
    bed_share = importlib.import_module("metrics.analyses.bed_share")
    candidates = equity.equity_metrics(builder.catalogue)
    if not candidates:
        raise ValueError("no rate metric with an equity breakdown is defined")
    ids = [m.id for m in candidates]
    metric_id = EQUITY_METRIC if EQUITY_METRIC in ids else ids[0]
    metric = builder.catalogue.metrics[metric_id]
    dims = equity.metric_dimensions(metric)
    dimension = EQUITY_DIMENSION if EQUITY_DIMENSION in dims else dims[0]
    result = builder.board.memo(
        ("equity", metric_id, dimension, builder.query.start, builder.query.end, None, None),
        lambda: equity.equity_rates(
            builder.board, metric_id, dimension, start=builder.query.start, end=builder.query.end
        ),
    )
    paragraphs = []
    group = equity_shown.default_comparison(result, builder.policy)
    if group:
        paragraphs.append(equity_shown.ratio_sentence(result, group, builder.policy))
        age_words = equity_shown.standardised_sentence(result, group, builder.policy)
        if age_words:
            paragraphs.append(age_words)
    variation = equity_shown.dispersion_sentence(result, builder.policy)
    if variation:
        paragraphs.append(variation)
    paragraphs.extend(result.notes)
    frame = equity_shown.equity_table(result, builder.policy)
    keep = [c for c in frame.columns if c not in ("Interval excludes 1",)]
    frame = frame[keep]
    events_col = keep.index("Events")
    for g in result.rates.groups:
        builder.shown_count(g.events, g.group, "table", top_level=False)
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
        ages = equity_shown.standardised_table(result, builder.policy)
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
    if not equity_shown.rate_chart_data(result, builder.policy).empty:
        charts.append(
            ChartContent(
                equity_figures.rate_chart(result, builder.policy),
                equity_shown.rate_alt_text(result, builder.policy),
                "equity",
            )
        )
    if not equity_shown.standardised_chart_data(result, builder.policy).empty:
        charts.append(
            ChartContent(
                equity_figures.standardised_chart(result, builder.policy),
                equity_figures.standardised_alt_text(result, builder.policy),
                "equity",
            )
        )
    if bed_share.BED_SHARE_METRIC in builder.catalogue.metrics:
        try:
            share = bed_share.bed_day_share(
                builder.board,
                population_metric_id=metric_id,
                start=builder.query.start,
                end=builder.query.end,
            )
            paragraphs.append(bed_share.bed_share_sentence(share, builder.policy))
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


def showcase_section(builder: Builder) -> Section:
    """What the showcase slides say in public, each with the figure its slide shows
    (the same deck content as the HTML deck and the PowerPoint, for this audience)."""
    deck = deck_for(builder.board, builder.audience, _scope(builder.board, None))
    if not deck.slides:
        raise ValueError("the showcase has no slides (config/showcase.yaml)")
    paragraphs = [
        "What the showcase slides say, each with the figure its slide shows (the same "
        "figures as the HTML deck and the PowerPoint, "
        f"{'public' if builder.audience == 'public' else 'board'} version)."
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


def data_quality_section(builder: Builder) -> Section:
    """Completeness gaps, revisions, definition breaks and refresh dates."""
    dq = importlib.import_module("metrics.analyses.data_quality")
    report = dq.data_quality_report(builder.board, builder.query.start, builder.query.end)
    paragraphs = []
    gaps = report.gaps
    gap_sentence = (
        f"{len(gaps)} source month(s) in {builder.period_words} are missing or incomplete; "
        "a missing month is shown as a gap on every chart, never as zero."
        if len(gaps)
        else f"No source month in {builder.period_words} is missing or incomplete."
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
        if builder.audience == "public":
            rows_text = builder.shown_count(
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
    if builder.audience == "board" and len(report.issue_counts):
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


def _money(value: Any, *, signed: bool = False) -> str:
    number = _number(value)
    if number is None:
        return "–"
    text = format_money(number)
    return ("+" + text) if signed and number > 0 else text


def _pct(value: Any) -> str:
    number = _number(value)
    return "–" if number is None else f"{number:+.1f}%"
