"""The board pack: its SPC summary and exceptions, impact pages, method notes and cover
sheet, around the sections built in `metrics.exports.sections`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from metrics.analyses.disclosure import is_controlled, legend
from metrics.analyses.impact import (
    FAMILY_WORDS,
    block_model,
    cumulative_sentence,
    diagnostics_in_words,
    headline,
    headline_study_id,
    impact_sentence,
    model_words,
    studies_headline_first,
    verdict_badge,
)
from metrics.analyses.reading import Reading, exceptions_first, readings
from metrics.data_status import is_synthetic, status_label, status_note
from metrics.definitions.models import MetricDef
from metrics.exports.builder import Builder
from metrics.exports.charts import its_chart_content
from metrics.exports.helpers import CONFIDENCE_WORDS
from metrics.exports.model import BoardPack, Cover, ImpactPage, Problem, Section, SPCLine
from metrics.exports.sections import (
    data_quality_section,
    equity_section,
    money_section,
    showcase_section,
)

MAX_SUMMARY_BULLETS = 5
MIN_SUMMARY_BULLETS = 3


# ---- the board pack ---------------------------------------------------------------


def build_board_pack(builder: Builder, when: dt.date) -> BoardPack:
    lines = spc_lines(builder)
    exceptions = tuple(line for line in lines if line.attention)
    impact_pages = tuple(impact_page(builder, m) for m in studies_headline_first(builder.board))
    money = guarded(builder, "money", "Money", money_section)
    equity = guarded(builder, "equity", "Equity", equity_section)
    quality = guarded(builder, "data_quality", "Data quality", data_quality_section)
    showcase = guarded(builder, "showcase", "Showcase", showcase_section)
    method = method_section(builder)
    cover = build_cover(builder, when, lines, exceptions, impact_pages, money, equity, quality)
    return BoardPack(
        cover=cover,
        exceptions=exceptions,
        spc_summary=lines,
        impact_pages=impact_pages,
        money=money,
        equity=equity,
        data_quality=quality,
        method=method,
        audience=builder.audience,
        policy_name=builder.policy.name,
        legend=legend(builder.policy),
        synthetic_label=status_note(builder.catalogue),
        status_label=status_label(builder.catalogue),
        problems=tuple(builder.problems),
        disclosed=tuple(builder.ledger.entries),
        showcase=showcase,
    )


def guarded(builder: Builder, key: str, title: str, build: Callable[[Builder], Section]) -> Section:
    """A section, or the same section marked unavailable with the reason."""
    try:
        return build(builder)
    except Exception as exc:  # an engine still being finished must not stop the pack
        reason = str(exc) or exc.__class__.__name__
        builder.problems.append(Problem(f"board pack: {title.lower()}", reason))
        return Section(key, title, unavailable=reason)


def spc_lines(builder: Builder) -> tuple[SPCLine, ...]:
    """Every live metric's reading, exceptions first (as the Overview orders them)."""
    try:
        items = readings(builder.board, builder.reading_query, builder.audience)
    except Exception as exc:
        builder.problems.append(Problem("board pack: SPC summary", str(exc)))
        return ()
    return tuple(spc_line(builder, r) for r in exceptions_first(items))


def spc_line(builder: Builder, reading: Reading) -> SPCLine:
    """One metric's line: exactly the reading the site shows (value, month, status)."""
    metric = reading.metric
    domain = builder.catalogue.domains.get(metric.domain)
    domain_title = domain.title if domain else metric.domain
    if not reading.available or reading.spc.result is None:
        reason = reading.reason or reading.spc.reason or "no SPC reading"
        return SPCLine(metric.id, metric.title, domain_title, "–", "", None, None, "", "", reason)
    builder.record_reading(reading, "table")
    month = reading.period
    if reading.provisional:
        month += f" ({reading.status_label})"
    return SPCLine(
        metric_id=metric.id,
        metric_title=metric.title,
        domain=domain_title,
        latest=reading.display,
        month=month,
        variation_icon=reading.variation_icon,
        assurance_icon=reading.assurance_icon,
        icon_words=reading.icon_words,
        attention=reading.attention_reason,
        latest_is_count=(
            metric.measure in ("count", "sum") and is_controlled(metric) and builder.controls
        ),
    )


def impact_page(builder: Builder, metric: MetricDef) -> ImpactPage:
    assert metric.its is not None
    names = [
        builder.catalogue.interventions[i].title
        for i in metric.its.interventions
        if i in builder.catalogue.interventions
    ]
    base = ImpactPage(
        metric_id=metric.id,
        metric_title=metric.title,
        intervention=", ".join(names) or ", ".join(metric.its.interventions),
        model=FAMILY_WORDS.get(block_model(metric, metric.its), ""),
        headline=metric.id == headline_study_id(builder.board),
    )
    try:
        impact = builder.impact(metric, None)
        if impact.result is None:
            raise ValueError(f"the model could not be fitted: {impact.error}")
        big, interval = headline(impact)
        chart = its_chart_content(builder, impact, None)
        notes = list(impact.notes)
        if metric.caveats:
            notes.append(metric.caveats)
        method = builder.method_words(impact)
        badge, colour = verdict_badge(impact)
        verdict = impact.result.verdict
        return dataclasses.replace(
            base,
            model=model_words(impact.result.spec),
            big_number=big,
            interval=interval,
            sentence=impact_sentence(impact),
            cumulative=cumulative_sentence(impact),
            diagnostics=tuple(diagnostics_in_words(impact.result)),
            notes=(method, *notes),
            chart=chart,
            verdict=badge,
            verdict_colour=colour,
            verdict_words=verdict.words() if verdict is not None else "",
        )
    except Exception as exc:  # one failing model must never stop the pack
        reason = str(exc) or exc.__class__.__name__
        builder.problems.append(Problem(f"board pack: impact of {metric.id}", reason))
        return dataclasses.replace(base, unavailable=reason)


# ---- method notes and cover --------------------------------------------------------


def method_section(builder: Builder) -> Section:
    legend_text = legend(builder.policy) or (
        "No small-number suppression applies to this board version: figures are shown as computed."
    )
    paragraphs = (
        *filter(None, [status_note(builder.catalogue)]),
        "Statistical process control: Making Data Count XmR charts (NHSRplotthedots "
        "rules): process limits at the mean plus or minus 2.66 times the mean moving "
        "range; special causes are a point outside the limits, a run of 7 on one side of "
        "the mean, a trend of 7 rising or falling, or 2 of 3 beyond two sigma. "
        "Percentages and rates over large numbers may use Laney p' and u' charts "
        "(limits allowing for variation between months as well as within them), and a "
        "measure of whole days too coarse for limits is read as a run chart around its "
        "median. The variation icon says whether a change is more than noise; the "
        "assurance icon whether a target will be met. Provisional months (still filling "
        "up) are shown but left out of the reading.",
        "Impact of service changes: interrupted time series (segmented regression) over "
        "the whole history, with seasonality and temporary shocks modelled; counts use "
        "quasi-Poisson or negative binomial models, percentages a quasi-binomial model "
        "of numerator out of denominator, with autocorrelation allowed for. Effects are "
        f"read 12 months after a change by default, with a {CONFIDENCE_WORDS} "
        "simulated from the model. The counterfactual is what the earlier trend and "
        "seasons predicted. A study whose model does not fit well enough (autocorrelation "
        "left over, too few points, poor fit) is said to be inconclusive, never 'no "
        "change'.",
        "Equity: rates per 100,000 adults a year pooled over the period with exact "
        "Poisson 95% intervals; directly age-standardised rates (European Standard "
        "Population 2013) with Dobson 95% intervals, so differences in age mix are "
        "allowed for; rate ratios against a reference group with 95% intervals, widened "
        "where the month-to-month variation is more than chance alone would give; "
        "neighbourhoods compared on funnel plots (95% and 99.8% limits).",
        "Money: pooled budget against actual spend (accruals basis, GBP); a positive "
        "variance is an overspend. Money is not about individuals, so it is not suppressed.",
        f"Disclosure control ({builder.audience} version, policy {builder.policy.name}): "
        + legend_text,
        f"Period: {builder.pack_scope_words}"
        + (
            " (the board's default reporting period)."
            if builder.is_default_period
            else " (chosen on the site's Export page)."
        ),
    )
    return Section("method", "Method notes", paragraphs=paragraphs)


def build_cover(
    builder: Builder,
    when: dt.date,
    lines: tuple[SPCLine, ...],
    exceptions: tuple[SPCLine, ...],
    impact_pages: tuple[ImpactPage, ...],
    money: Section,
    equity: Section,
    quality: Section,
) -> Cover:
    layout = builder.catalogue.board
    bullets: list[str] = []
    readable = [line for line in lines if not line.unavailable]
    if readable:
        if exceptions:
            names = [e.metric_title for e in exceptions[:3]]
            more = f" and {len(exceptions) - 3} more" if len(exceptions) > 3 else ""
            bullets.append(
                f"{len(exceptions)} of {len(readable)} measures need the board's attention "
                f"(special-cause concern or a target that will not be met): "
                f"{'; '.join(names)}{more}."
            )
        else:
            bullets.append(
                f"None of the {len(readable)} measures shows special-cause concern or a "
                "target that will not be met."
            )
    studies = [p for p in impact_pages if p.available]
    if studies:
        # The board's headline study leads (board.yaml headline_study), with its verdict.
        lead = next((p for p in studies if p.headline), studies[0])
        concluding = sum(p.concludes for p in studies)
        count = (
            f"{len(studies)} planned impact studies ({concluding} with a model that fits "
            "well enough to conclude)"
        )
        if lead.concludes:
            bullets.append(
                f"{count}: {lead.metric_title} changed by {lead.big_number} "
                f"({lead.interval}) after {lead.intervention} [{lead.verdict}]."
            )
        else:
            bullets.append(
                f"{count}: no conclusion yet on {lead.metric_title} after "
                f"{lead.intervention}, because its model does not fit the data well "
                f"enough [{lead.verdict}]."
            )
    bullets.extend(s.summary for s in (money, equity, quality) if s.available and s.summary)
    fillers = [
        *(
            ["Every figure in this pack is synthetic (a generated alliance for demonstration)."]
            if is_synthetic(builder.catalogue)
            else []
        ),
        f"Figures cover {builder.pack_scope_words}.",
        "Parts marked unavailable could not be computed; the reason is given with each.",
    ]
    while len(bullets) < MIN_SUMMARY_BULLETS and fillers:
        bullets.append(fillers.pop(0))
    public = builder.audience == "public"
    return Cover(
        title=f"{layout.title}: integrated performance report",
        organisation=layout.organisation,
        meeting=f"{layout.title} (meeting held in public)" if public else layout.title,
        date=when,
        purpose=(
            "Information: a public summary of the alliance's performance."
            if public
            else "Assurance: for the board to note performance, the impact of service "
            "changes, money, equity and data quality, and to discuss the exceptions."
        ),
        summary=tuple(bullets[:MAX_SUMMARY_BULLETS]),
        recommendation=(
            "The board is asked to note this report."
            if public
            else "The board is asked to note the report and agree actions on the exceptions."
        ),
        audience_note=(
            "Public version: small numbers are suppressed and other counts rounded."
            if public
            else "Board version: whole-area figures as computed; breakdowns "
            "disclosure-controlled. Not for publication."
            if builder.policy.area_totals_unrounded or builder.policy.name == "none"
            else "Board version: disclosure-controlled. Not for publication."
        ),
        period=builder.pack_scope_words,
    )
