"""Stage 3 of validation: the reference rules. Each rule reads the catalogue that passed
the schema and reports what it names that is not there (a source, a column, a domain,
an intervention, a study), at the field that names it. No rule reads data or SQL
engines: checks that need them are in metrics.sql.definition_checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metrics.definitions.board_files import SlideDef
from metrics.definitions.catalogue import (
    MISSING_NOTE,
    Catalogue,
    missing_labels,
)
from metrics.definitions.issues import Issue, did_you_mean
from metrics.definitions.models import ColumnType, MetricDef, SourceDef
from metrics.definitions.parsing import YamlFile, display_path, issue_at, parse_file
from metrics.definitions.slide_claims import (
    GENERATION_WORDS,
    SLIDE_TEXTS,
    check_comparison,
    slide_claim_problem,
)
from metrics.definitions.yaml_positions import Path as YPath

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class RuleContext:
    catalogue: Catalogue
    metric_files: dict[str, tuple[YamlFile, int]]
    source_files: dict[str, tuple[YamlFile, int]]
    board_file: YamlFile
    issues: list[Issue]
    showcase_file: YamlFile | None = None

    def metric_issue(
        self,
        metric: MetricDef,
        subpath: YPath,
        message: str,
        hint: str = "",
        level: str = "error",
        stage: str = "references",
    ) -> None:
        file, index = self.metric_files[metric.id]
        label = ".".join([f"metrics[{metric.id}]", *(str(p) for p in subpath)])
        self.issues.append(
            issue_at(
                file,
                ("metrics", index, *subpath),
                f"metric '{metric.id}': {message}",
                hint=hint,
                level=level,
                stage=stage,  # type: ignore[arg-type]
                label=label,
            )
        )

    def source_issue(
        self,
        source: SourceDef,
        subpath: YPath,
        message: str,
        hint: str = "",
        key: bool = False,
        level: str = "error",
    ) -> None:
        file, index = self.source_files[source.id]
        label = ".".join([f"sources[{source.id}]", *(str(p) for p in subpath)])
        self.issues.append(
            issue_at(
                file,
                ("sources", index, *subpath),
                f"source '{source.id}': {message}",
                hint=hint,
                level=level,
                stage="references",
                label=label,
                key=key,
            )
        )


Rule = Callable[[RuleContext], None]
REFERENCE_RULES: list[Rule] = []


def rule(function: Rule) -> Rule:
    REFERENCE_RULES.append(function)
    return function


@rule
def sources_name_their_columns(ctx: RuleContext) -> None:
    for source in ctx.catalogue.sources.values():
        if source.date_column not in source.columns:
            ctx.source_issue(
                source,
                ("date_column",),
                f"date_column '{source.date_column}' is not among its columns",
                did_you_mean(source.date_column, source.columns),
            )
        elif source.columns[source.date_column].type not in {ColumnType.date, ColumnType.integer}:
            ctx.source_issue(
                source,
                ("date_column",),
                f"date_column '{source.date_column}' must be "
                "of type date (or integer years for annual tables)",
            )
        for position, key in enumerate(source.key):
            if key not in source.columns:
                ctx.source_issue(
                    source,
                    ("key", position),
                    f"key column '{key}' is not among its columns",
                    did_you_mean(key, source.columns),
                )


NUMERIC_TYPES = {ColumnType.integer, ColumnType.number}


@rule
def labelled_columns_label_every_value(ctx: RuleContext) -> None:
    """A column with `labels:` names each of its values in board words: a code without a
    label is shown on board pages as the code with a note, so `validate` warns."""
    for source in ctx.catalogue.sources.values():
        for name, column in source.columns.items():
            for code in missing_labels(column.labels, column.values):
                ctx.source_issue(
                    source,
                    ("columns", name, "labels"),
                    f"column '{name}': value '{code}' has no label",
                    f"add '{code}: <words the board reads>' under labels; board pages show "
                    f"'{code} ({MISSING_NOTE})' until then",
                    level="warning",
                )


@rule
def columns_are_usable(ctx: RuleContext) -> None:
    """Column settings the data checks could not apply (they would fail or mean nothing)."""
    for source in ctx.catalogue.sources.values():
        if not source.columns:
            ctx.source_issue(source, ("columns",), "declares no columns")
        seen: dict[str, str] = {}
        for name, column in source.columns.items():
            where: YPath = ("columns", name)
            if not name.strip():
                ctx.source_issue(source, where, "a column name must not be blank", key=True)
                continue
            folded = name.casefold()
            if folded in seen:
                # DuckDB, like SQL generally, does not tell 'LCN' from 'lcn'.
                ctx.source_issue(
                    source,
                    where,
                    f"column '{name}' differs from '{seen[folded]}' only in case",
                    "column names are case-insensitive in SQL: rename one",
                    key=True,
                )
            seen.setdefault(folded, name)
            for bound in ("min", "max"):
                if getattr(column, bound) is not None and column.type not in NUMERIC_TYPES:
                    ctx.source_issue(
                        source,
                        (*where, bound),
                        f"column '{name}': {bound} applies only to integer and number "
                        f"columns, not {column.type}",
                    )
            # (A date format DuckDB cannot read: metrics.sql.definition_checks.)
            if column.format is not None and column.type != ColumnType.date:
                ctx.source_issue(
                    source,
                    (*where, "format"),
                    f"column '{name}': format applies only to date columns",
                )


@rule
def sources_are_read_as_written(ctx: RuleContext) -> None:
    """header_row, skip_rows, rename and unpivot: settings the loader can follow."""
    for source in ctx.catalogue.sources.values():
        if source.header_row is not None and source.skip_rows is not None:
            ctx.source_issue(
                source,
                ("skip_rows",),
                "give header_row or skip_rows, not both",
                f"header_row: {source.header_row} already says which line holds the names",
            )
        if source.path is not None and source.file_format == "parquet":
            for name in ("header_row", "skip_rows"):
                if getattr(source, name) is not None:
                    ctx.source_issue(
                        source,
                        (name,),
                        f"{name} applies to CSV and Excel files; a Parquet file names its "
                        "columns itself",
                    )
        became: dict[str, str] = {}
        for own, used in source.rename.items():
            if used in became:
                ctx.source_issue(
                    source,
                    ("rename", own),
                    f"rename: '{became[used]}' and '{own}' both become '{used}'",
                    key=True,
                )
            became[used] = own
        spec = source.unpivot
        if spec is None:
            continue
        made = (("name_column", spec.name_column), ("value_column", spec.value_column))
        flagged: set[str] = set()  # one issue per setting: no follow-on for one mistake
        for role, name in made:
            if name not in source.columns:
                example = "{type: date}" if role == "name_column" else "{type: integer, min: 0}"
                problem = f"unpivot.{role} '{name}' is not among its columns"
                fix = f"declare it under columns:, e.g. {name}: {example}"
            elif name in (*spec.id_columns, *spec.ignore_columns):
                problem = (
                    f"unpivot.{role} '{name}' is also listed as an id or ignored column; it "
                    "names a new column the unpivot makes"
                )
                fix = f"give {role} the name of a column the file does not have"
            elif role == "value_column" and name == spec.name_column:
                problem = f"unpivot: name_column and value_column are both '{name}'"
                fix = "name_column holds each cell's month, value_column the cell"
            else:
                continue
            flagged.add(role)
            ctx.source_issue(source, ("unpivot", role), problem, fix)
        month = source.columns.get(spec.name_column)
        if month is None or "name_column" in flagged:
            continue
        if month.type != ColumnType.date:
            ctx.source_issue(
                source,
                ("unpivot", "name_column"),
                f"unpivot.name_column '{spec.name_column}' must be of type date (each "
                f"header is read as a month), not {month.type}",
                f"declare it under columns: as {spec.name_column}: {{type: date}}",
            )
        elif month.format is not None:
            ctx.source_issue(
                source,
                ("columns", spec.name_column, "format"),
                f"column '{spec.name_column}': format does not apply to an unpivot's "
                "name_column; its headers are read as months (Apr-16, 2016-04, ...)",
            )


@rule
def source_checks_name_numeric_columns(ctx: RuleContext) -> None:
    """checks.measures (the month checks' totals) names integer or number columns."""
    for source in ctx.catalogue.sources.values():
        for position, name in enumerate(source.checks.measures or []):
            where: YPath = ("checks", "measures", position)
            column = source.columns.get(name)
            if column is None:
                ctx.source_issue(
                    source,
                    where,
                    f"checks.measures: '{name}' is not among its columns",
                    did_you_mean(name, source.columns) or "name a column under columns:",
                )
            elif column.type not in NUMERIC_TYPES:
                ctx.source_issue(
                    source,
                    where,
                    f"checks.measures: '{name}' is a {column.type} column; only integer and "
                    "number columns have totals",
                )


@rule
def metrics_point_at_known_things(ctx: RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        if metric.domain not in cat.domains:
            ctx.metric_issue(
                metric,
                ("domain",),
                f"unknown domain '{metric.domain}'",
                did_you_mean(metric.domain, cat.domains) or f"domains: {', '.join(cat.domains)}",
            )
        source = cat.sources.get(metric.source)
        if source is None:
            ctx.metric_issue(
                metric,
                ("source",),
                f"unknown source '{metric.source}'",
                did_you_mean(metric.source, cat.sources) or f"sources: {', '.join(cat.sources)}",
            )
            continue
        date = metric.date or source.date_column
        if date not in source.columns:
            ctx.metric_issue(
                metric,
                ("date",),
                f"unknown column '{date}' in source '{source.id}'",
                did_you_mean(date, source.columns),
            )
        elif source.columns[date].type != ColumnType.date:
            ctx.metric_issue(metric, ("date",), f"column '{date}' is not a date column")
        if metric.value and IDENTIFIER.match(metric.value) and metric.value not in source.columns:
            ctx.metric_issue(
                metric,
                ("value",),
                f"unknown column '{metric.value}' in source '{source.id}'",
                did_you_mean(metric.value, source.columns),
            )
        for position, breakdown in enumerate(metric.breakdowns):
            if breakdown not in source.columns:
                ctx.metric_issue(
                    metric,
                    ("breakdowns", position),
                    f"unknown breakdown column '{breakdown}' in source '{source.id}'",
                    did_you_mean(breakdown, source.columns),
                )
            elif source.columns[breakdown].type in {ColumnType.date, ColumnType.number}:
                ctx.metric_issue(
                    metric,
                    ("breakdowns", position),
                    f"cannot break down by "
                    f"'{breakdown}': it is a {source.columns[breakdown].type} column",
                )


@rule
def measures_have_what_they_need(ctx: RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        measure = metric.measure
        needs_value = measure in {"sum", "mean", "median"} or metric.percentile is not None
        if needs_value and not metric.value:
            ctx.metric_issue(
                metric,
                ("measure",),
                f"measure '{measure}' needs 'value' (the column or expression to aggregate)",
            )
        if measure == "count" and metric.value:
            ctx.metric_issue(
                metric,
                ("value",),
                "measure 'count' counts rows and ignores 'value'",
                "use measure: sum to add up a column",
                level="warning",
            )
        if measure == "ratio" and metric.numerator is None:
            ctx.metric_issue(
                metric,
                ("measure",),
                "measure 'ratio' needs 'numerator' (and "
                "optionally 'denominator'; the default denominator is every row "
                "the filter selects)",
            )
        if measure != "ratio" and (metric.numerator or metric.denominator):
            ctx.metric_issue(
                metric,
                ("numerator" if metric.numerator else "denominator",),
                "numerator/denominator apply only to measure: ratio",
            )
        if measure == "rate":
            if metric.rate is None:
                ctx.metric_issue(
                    metric,
                    ("measure",),
                    "measure 'rate' needs a 'rate' block naming the population source",
                )
                continue
            population = cat.sources.get(metric.rate.population)
            if population is None:
                ctx.metric_issue(
                    metric,
                    ("rate", "population"),
                    f"unknown population source '{metric.rate.population}'",
                    did_you_mean(metric.rate.population, cat.sources),
                )
                continue
            for position, breakdown in enumerate(metric.breakdowns):
                if breakdown not in population.columns:
                    ctx.metric_issue(
                        metric,
                        ("breakdowns", position),
                        f"rates by '{breakdown}' "
                        f"need it in the population source '{population.id}'",
                        "remove the breakdown or add the column to the population",
                    )
        elif metric.rate is not None:
            ctx.metric_issue(metric, ("rate",), "a 'rate' block applies only to measure: rate")


@rule
def laney_charts_have_numerator_and_denominator(ctx: RuleContext) -> None:
    """spc.chart: laney reads each month's numerator over its denominator: a ratio (a
    proportion: Laney's p' chart) or a rate (u' chart) has them; other measures do not."""
    for metric in ctx.catalogue.metrics.values():
        if metric.spc.chart == "laney" and metric.measure not in {"ratio", "rate"}:
            ctx.metric_issue(
                metric,
                ("spc", "chart"),
                f"chart 'laney' needs a numerator and a denominator, but this metric is a "
                f"{metric.measure}",
                "Laney's p' chart is for measure: ratio (a proportion) and u' for measure: "
                "rate; use chart: xmr (the default) for counts, sums, averages and waits",
            )


@rule
def changes_name_known_metrics(ctx: RuleContext) -> None:
    """A definition break or relabel names the metrics it touches: each must exist."""
    known = {*ctx.catalogue.metrics, *ctx.catalogue.templates}
    unknown = [i for i in ctx.catalogue.interventions.values() if set(i.metrics) - known]
    file = _interventions_file(ctx) if unknown else None
    if file is None:
        return
    for item in unknown:
        index = _intervention_index(file, item.id)
        for position, ref in enumerate(item.metrics):
            if ref not in known:
                ctx.issues.append(
                    issue_at(
                        file,
                        ("interventions", index if index is not None else 0, "metrics", position),
                        f"intervention '{item.id}': unknown metric '{ref}'",
                        hint=did_you_mean(ref, ctx.catalogue.metrics),
                        stage="references",
                        label=f"interventions[{item.id}].metrics[{position}]",
                    )
                )


@rule
def analyses_name_known_interventions(ctx: RuleContext) -> None:
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        for position, ref in enumerate(metric.spc.rebase_at):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("spc", "rebase_at", position),
                    f"unknown intervention '{ref}'",
                    did_you_mean(ref, cat.interventions),
                )
            elif cat.interventions[ref].kind == "relabel":
                ctx.metric_issue(
                    metric,
                    ("spc", "rebase_at", position),
                    f"'{ref}' is a relabel (a name changed, not the service): limits are "
                    "not recalculated for it",
                    level="warning",
                )
        if metric.its is None:
            continue
        for position, ref in enumerate(metric.its.interventions):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("its", "interventions", position),
                    f"unknown intervention '{ref}'",
                    did_you_mean(ref, cat.interventions)
                    or f"interventions: {', '.join(cat.interventions)}",
                )
            elif cat.interventions[ref].kind == "shock":
                ctx.metric_issue(
                    metric,
                    ("its", "interventions", position),
                    f"'{ref}' is a shock: list it under its.shocks",
                    level="warning",
                )
            elif cat.interventions[ref].kind == "relabel":
                ctx.metric_issue(
                    metric,
                    ("its", "interventions", position),
                    f"'{ref}' is a relabel (a name changed, not the service): it has no "
                    "effect to estimate and is left out of the model",
                    level="warning",
                )
        for position, ref in enumerate(metric.its.shocks):
            if ref not in cat.interventions:
                ctx.metric_issue(
                    metric,
                    ("its", "shocks", position),
                    f"unknown shock '{ref}'",
                    did_you_mean(ref, cat.interventions),
                )
        if metric.its.comparison and metric.its.comparison not in cat.metrics:
            ctx.metric_issue(
                metric,
                ("its", "comparison"),
                f"unknown comparison metric '{metric.its.comparison}'",
                did_you_mean(metric.its.comparison, cat.metrics),
            )
        count_model = metric.its.model in {"poisson", "quasipoisson", "negbin"}
        if count_model and metric.measure not in {"count", "sum", "rate"}:
            ctx.metric_issue(
                metric,
                ("its", "model"),
                f"model '{metric.its.model}' is for counts, but this metric is a {metric.measure}",
                "use model: arima (or ols) for percentages, averages and waits",
            )
        if metric.its.offset == "population" and metric.measure != "rate":
            ctx.metric_issue(
                metric,
                ("its", "offset"),
                "a population offset needs measure: rate (its denominator is the population)",
            )


@rule
def slides_name_known_things(ctx: RuleContext) -> None:
    cat = ctx.catalogue
    file = ctx.showcase_file
    if file is None:
        return
    for index, slide in enumerate(cat.slides):
        checks = [
            ("metric", slide.metric, cat.metrics, "metric"),
            ("outcome", slide.outcome, cat.outcomes, "outcome"),
            ("intervention", slide.intervention, cat.interventions, "intervention"),
        ]
        for field_name, value, known, kind in checks:
            if value and value not in known:
                ctx.issues.append(
                    issue_at(
                        file,
                        ("slides", index, field_name),
                        f"slide '{slide.id}': unknown {kind} '{value}'",
                        hint=did_you_mean(value, known),
                        stage="references",
                        label=f"slides[{slide.id}].{field_name}",
                    )
                )
        if slide.number == "effect" and slide.metric in cat.metrics:
            metric = cat.metrics[slide.metric]
            if metric.its is None and not slide.intervention:
                ctx.issues.append(
                    issue_at(
                        file,
                        ("slides", index, "number"),
                        f"slide '{slide.id}': number: effect needs an intervention (the metric has "
                        "no its: block)",
                        stage="references",
                        label=f"slides[{slide.id}].number",
                    )
                )


@rule
def slides_show_what_they_claim(ctx: RuleContext) -> None:
    """A headline that speaks of a group needs the comparison on the slide (a rate ratio
    with its interval); `compare` and `out_of` name what the metric can show; slides speak
    of the alliance, never of how the sample data were made."""
    cat = ctx.catalogue
    file = ctx.showcase_file
    if file is None:
        return
    for index, slide in enumerate(cat.slides):

        def report(
            subpath: YPath,
            message: str,
            hint: str = "",
            level: str = "error",
            index: int = index,
            slide: SlideDef = slide,
        ) -> None:
            ctx.issues.append(
                issue_at(
                    file,
                    ("slides", index, *subpath),
                    f"slide '{slide.id}': {message}",
                    hint=hint,
                    level=level,
                    stage="references",
                    label=".".join([f"slides[{slide.id}]", *(str(p) for p in subpath)]),
                )
            )

        for path in SLIDE_TEXTS:
            text: Any = slide
            for part in path:
                text = getattr(text, part, None) if text is not None else None
            found = GENERATION_WORDS.search(text) if isinstance(text, str) else None
            if found:
                report(
                    path,
                    f"'{found.group(0)}' in the {' '.join(path)} is about how the sample data "
                    "were made: speak of the alliance and its services instead",
                    "the synthetic-data label already tells readers the data are generated",
                    level="warning",
                )
        if slide.number == "ratio" and slide.compare is None:
            report(
                ("number",),
                "number: ratio needs compare (the groups whose rates are compared)",
                "add compare: {dimension: ethnicity, group: Black, reference: White}",
            )
        if slide.chart == "compare" and slide.compare is None:
            report(
                ("chart",),
                "chart: compare needs compare (the groups whose rates are drawn)",
                "add compare: {dimension: ethnicity, group: Black, reference: White}",
            )
        metric = cat.metrics.get(slide.metric or "")
        if slide.compare is None:
            problem = slide_claim_problem(slide, cat)
            if problem:
                report(("headline",), problem)
        else:
            check_comparison(cat, slide, metric, report)
        if slide.out_of is not None:
            whole = cat.metrics.get(slide.out_of)
            if whole is None:
                report(
                    ("out_of",),
                    f"unknown metric '{slide.out_of}'",
                    did_you_mean(slide.out_of, cat.metrics),
                )
            elif whole.measure not in {"count", "sum"}:
                report(
                    ("out_of",),
                    f"out_of names '{whole.id}', a {whole.measure}: the whole must be a count "
                    "or a sum (e.g. the size of a cohort)",
                )
            elif metric is not None and metric.measure not in {"count", "sum"}:
                report(
                    ("out_of",),
                    f"out_of needs a count or a sum as the big number; '{metric.id}' is a "
                    f"{metric.measure}",
                )
            if slide.number != "latest":
                report(
                    ("out_of",),
                    f"out_of applies to number: latest (this slide has number: {slide.number})",
                )


@rule
def board_layout_names_known_things(ctx: RuleContext) -> None:
    cat = ctx.catalogue
    file = ctx.board_file
    for position, domain in enumerate(cat.board.overview_domains):
        if domain not in cat.domains:
            ctx.issues.append(
                issue_at(
                    file,
                    ("overview_domains", position),
                    f"unknown domain '{domain}'",
                    hint=did_you_mean(domain, cat.domains),
                    stage="references",
                )
            )
    for position, metric_id in enumerate(cat.board.featured_metrics):
        if metric_id not in cat.metrics:
            ctx.issues.append(
                issue_at(
                    file,
                    ("featured_metrics", position),
                    f"unknown metric '{metric_id}'",
                    hint=did_you_mean(metric_id, cat.metrics),
                    stage="references",
                )
            )


@rule
def binomial_studies_have_a_denominator(ctx: RuleContext) -> None:
    """its.model: binomial models a numerator out of a denominator: a ratio metric has
    them (a proportion); any other measure has no denominator to give it."""
    for metric in ctx.catalogue.metrics.values():
        if metric.its is not None and metric.its.model == "binomial" and metric.measure != "ratio":
            ctx.metric_issue(
                metric,
                ("its", "model"),
                f"model 'binomial' needs a numerator and a denominator, but this metric is a "
                f"{metric.measure}",
                "binomial is for measure: ratio (a proportion); use arima for averages and "
                "waits, or a count model for counts",
            )


def _interventions_file(ctx: RuleContext) -> YamlFile | None:
    """interventions.yaml with its positions (for issues about an intervention's fields)."""
    path = ctx.catalogue.config_dir / "interventions.yaml"
    file = YamlFile(path, display_path(path, ctx.catalogue.config_dir))
    parse_file(file, [])
    return file if file.loaded is not None else None


def _intervention_index(file: YamlFile, intervention_id: str) -> int | None:
    data = file.loaded.data if file.loaded is not None else None
    items = data.get("interventions") if isinstance(data, dict) else None
    for index, item in enumerate(items or []):
        if isinstance(item, dict) and item.get("id") == intervention_id:
            return index
    return None


@rule
def staggered_starts_name_known_groups(ctx: RuleContext) -> None:
    """interventions.yaml staggered.starts: each group a neighbourhood of board.yaml lcns when
    the column is the neighbourhood column (other columns are checked against the data when
    a study runs)."""
    cat = ctx.catalogue
    staggered = [i for i in cat.interventions.values() if i.staggered is not None]
    if not staggered:
        return
    file = _interventions_file(ctx)
    if file is None:
        return
    for item in staggered:
        assert item.staggered is not None
        index = _intervention_index(file, item.id)
        if index is None:
            continue
        where = ("interventions", index, "staggered")
        label = f"interventions[{item.id}].staggered"
        column = item.staggered.column
        if column != cat.board.lcn_column or not cat.board.lcns:
            continue
        for group in item.staggered.starts:
            if group not in cat.board.lcns:
                ctx.issues.append(
                    issue_at(
                        file,
                        (*where, "starts", group),
                        f"intervention '{item.id}': staggered start for unknown group "
                        f"'{group}' of {column}",
                        hint=did_you_mean(group, cat.board.lcns)
                        or f"neighbourhoods (board.yaml lcns): {', '.join(cat.board.lcns)}",
                        stage="references",
                        label=f"{label}.starts.{group}",
                        key=True,
                    )
                )
        if min(item.staggered.starts.values()) != item.start:
            ctx.issues.append(
                issue_at(
                    file,
                    (*where, "starts"),
                    f"intervention '{item.id}': the earliest staggered start "
                    f"({min(item.staggered.starts.values()):%Y-%m}) is not its start "
                    f"({item.start:%Y-%m})",
                    hint="start is when the first group began",
                    level="warning",
                    stage="references",
                    label=f"{label}.starts",
                )
            )


@rule
def multiple_baseline_studies_can_run(ctx: RuleContext) -> None:
    """its.design: multiple_baseline needs a staggered intervention whose column is one of
    the metric's breakdowns, and a model that the design fits (not arima)."""
    cat = ctx.catalogue
    for metric in cat.metrics.values():
        block = metric.its
        if block is None or block.design != "multiple_baseline":
            continue
        staggered = [
            cat.interventions[i]
            for i in block.interventions
            if i in cat.interventions and cat.interventions[i].staggered is not None
        ]
        if not staggered:
            ctx.metric_issue(
                metric,
                ("its", "design"),
                "design 'multiple_baseline' needs an intervention with staggered starts, and "
                f"none of {', '.join(block.interventions)} has them",
                "give the intervention staggered: {column, starts} in interventions.yaml, or "
                "use design: single",
            )
            continue
        column = staggered[0].staggered.column  # type: ignore[union-attr]
        if column not in metric.breakdowns:
            ctx.metric_issue(
                metric,
                ("its", "design"),
                f"design 'multiple_baseline' fits the groups of '{column}', but the metric has "
                f"no breakdown by '{column}'",
                f"add {column} to breakdowns",
            )
        if block.model == "arima" or (block.model is None and metric.measure != "ratio"):
            ctx.metric_issue(
                metric,
                ("its", "model"),
                "design 'multiple_baseline' allows for months that move together in its "
                "covariance and does not take model 'arima'",
                "use model: quasipoisson (counts), binomial (proportions) or ols",
            )


@rule
def headline_study_names_a_study(ctx: RuleContext) -> None:
    """board.yaml headline_study: a metric with an its: block (the study the Impact page and
    the board pack open on)."""
    cat = ctx.catalogue
    wanted = cat.board.headline_study
    if not wanted:
        return
    metric = cat.metrics.get(wanted)
    if metric is None:
        ctx.issues.append(
            issue_at(
                ctx.board_file,
                ("headline_study",),
                f"unknown metric '{wanted}'",
                hint=did_you_mean(wanted, cat.metrics),
                stage="references",
            )
        )
    elif metric.its is None:
        studies = [m.id for m in cat.metrics.values() if m.its is not None]
        ctx.issues.append(
            issue_at(
                ctx.board_file,
                ("headline_study",),
                f"metric '{wanted}' has no its: block, so it has no impact study",
                hint=f"studies: {', '.join(studies)}" if studies else "",
                stage="references",
            )
        )
