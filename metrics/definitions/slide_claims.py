"""What a showcase slide claims, checked against what it shows (used by the rules and by
the exports): a headline about a group needs the comparison on the slide, and speaker
notes speak of the alliance, not of how the sample data were made."""

from __future__ import annotations

import re
from collections.abc import Callable

from metrics.definitions.board_files import SlideDef
from metrics.definitions.catalogue import (
    Catalogue,
)
from metrics.definitions.issues import did_you_mean
from metrics.definitions.models import MetricDef

# Words about how the sample data were made, not about the alliance: speaker notes,
# captions and headlines speak of the alliance (the synthetic-data label says the rest).
GENERATION_WORDS = re.compile(
    r"\b(planted|simulated|simulations?|generated (?:effects?|data|sample)|random seeds?|"
    r"seeds?|seeded|ground truth|truth\.json)\b",
    re.IGNORECASE,
)
# Category values that are not a group a headline can speak of.
GENERIC_GROUPS = {"other", "not stated", "other/not stated", "unknown", "not recorded", "none"}
# Other words for a group (matched without regard to case).
GROUP_ALIASES = {"female": ("women", "female"), "male": ("men", "male")}
SLIDE_TEXTS = (
    ("headline",),
    ("caption",),
    ("notes",),
    ("label",),
    ("story", "title"),
    ("story", "text"),
)


def _mentions(text: str, value: str) -> bool:
    """Whether `text` names the group `value` (a whole word, as written: 'Black', not
    'blackout'; a gender also by its usual words: 'women')."""
    if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
        return True
    return any(
        re.search(rf"\b{re.escape(alias)}\b", text, re.IGNORECASE)
        for alias in GROUP_ALIASES.get(value.casefold(), ())
    )


def headline_groups(slide: SlideDef, catalogue: Catalogue) -> list[tuple[str, str]]:
    """(column, group) for every group of the slide metric's breakdown columns that the
    headline names, e.g. [('ethnicity', 'Black')]."""
    metric = catalogue.metrics.get(slide.metric or "")
    source = catalogue.sources.get(metric.source) if metric else None
    if metric is None or source is None:
        return []
    found = []
    for column in metric.breakdowns:
        definition = source.columns.get(column)
        for value in (definition.values or []) if definition is not None else []:
            if value.casefold() not in GENERIC_GROUPS and _mentions(slide.headline, value):
                found.append((column, value))
    return found


def suggested_reference(catalogue: Catalogue, slide: SlideDef, column: str, group: str) -> str:
    """The comparator to suggest: White for ethnicity (the usual one in NHS equality
    reports), otherwise the column's first other group."""
    metric = catalogue.metrics.get(slide.metric or "")
    source = catalogue.sources.get(metric.source) if metric else None
    definition = source.columns.get(column) if source else None
    declared = (definition.values or []) if definition is not None else []
    values = [v for v in declared if v != group and v.casefold() not in GENERIC_GROUPS]
    if column == "ethnicity" and "White" in values:
        return "White"
    return values[0] if values else "..."


def slide_claim_problem(slide: SlideDef, catalogue: Catalogue) -> str:
    """Why the slide's headline claims more than the slide shows ('' when it does not):
    it names a group while the slide shows the overall figure (no `compare`)."""
    if slide.compare is not None:
        return ""
    named = headline_groups(slide, catalogue)
    if not named:
        return ""
    column, group = named[0]
    reference = suggested_reference(catalogue, slide, column, group)
    return (
        f"the headline speaks of '{group}' but the slide shows the overall figure: add "
        f"compare: {{dimension: {column}, group: {group}, reference: {reference}}} "
        "(and number: ratio, chart: compare) or reword the headline"
    )


def check_comparison(
    cat: Catalogue, slide: SlideDef, metric: MetricDef | None, report: Callable[..., None]
) -> None:
    compare = slide.compare
    assert compare is not None
    if metric is None:
        if not slide.metric:
            report(("compare",), "compare needs a metric (a rate per population)")
        return  # an unknown metric is reported by slides_name_known_things
    if metric.measure != "rate" or metric.rate is None:
        report(
            ("compare",),
            f"compare needs a rate metric (measure: rate, over a population); '{metric.id}' "
            f"is a {metric.measure}",
            "groups differ in size: compare their rates per population, not their counts",
        )
        return
    if compare.dimension not in metric.breakdowns:
        report(
            ("compare", "dimension"),
            f"'{metric.id}' is not broken down by '{compare.dimension}'",
            did_you_mean(compare.dimension, metric.breakdowns)
            or (f"its breakdowns: {', '.join(metric.breakdowns)}" if metric.breakdowns else ""),
        )
        return
    source = cat.sources.get(metric.source)
    population = cat.sources.get(metric.rate.population)
    if source is None or population is None:
        return  # reported by the metric rules
    if compare.dimension not in population.columns:
        report(
            ("compare", "dimension"),
            f"the population source '{population.id}' has no column '{compare.dimension}', "
            "so groups have no rate",
        )
        return
    for key in ("group", "reference"):
        value = getattr(compare, key)
        for where, holder in (("source", source), ("population source", population)):
            column = holder.columns.get(compare.dimension)
            declared = column.values if column is not None else None
            if declared is not None and value not in declared:
                report(
                    ("compare", key),
                    f"'{value}' is not a value of '{compare.dimension}' in the {where} "
                    f"'{holder.id}'",
                    did_you_mean(value, declared) or f"values: {', '.join(declared)}",
                )
                break
    if compare.group == compare.reference:
        report(
            ("compare", "reference"),
            f"the group and the reference are both '{compare.group}'",
            "compare the group with another group",
        )
    if not _mentions(slide.headline, compare.group):
        report(
            ("headline",),
            f"the slide compares '{compare.group}' with '{compare.reference}' but the headline "
            f"does not name '{compare.group}'",
            "say in the headline who the comparison is about",
            level="warning",
        )
    if slide.number not in {"ratio", "none"}:
        report(
            ("number",),
            f"the big number (number: {slide.number}) shows the overall figure while the "
            "slide compares groups",
            "use number: ratio",
            level="warning",
        )
    if slide.chart not in {"compare", "none"}:
        report(
            ("chart",),
            f"the chart (chart: {slide.chart}) shows the overall figure while the slide "
            "compares groups",
            "use chart: compare",
            level="warning",
        )
