"""A metric's definition in plain words, for board members (and a check for analysts)."""

from __future__ import annotations

import yaml

from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import MetricDef

BETTER_TEXT = {
    "up": "Higher is better.",
    "down": "Lower is better.",
    "neutral": "Neither higher nor lower is better in itself: it is context.",
}


def _where(condition: str | None) -> str:
    return f" where {condition}" if condition else ""


def describe_metric(metric: MetricDef, catalogue: Catalogue, *, caveats: bool = True) -> str:
    """E.g. 'Counts rows of Referrals (record level) where pathway = 'secondary', by month of
    referral_date. Lower is better.' Plain text. With `caveats=False` the metric's caveats
    are left out, for pages that show them apart, formatted (they may use Markdown)."""
    source = catalogue.sources.get(metric.source)
    source_name = source.title if source else metric.source
    date = metric.date or (source.date_column if source else "date")
    month = f"by month of {date}"
    rows = f"{source_name}{_where(metric.filter)}"
    if metric.measure == "count":
        body = f"Counts the rows of {rows}, {month}."
    elif metric.measure == "sum":
        body = f"Adds up {metric.value} over the rows of {rows}, {month}."
    elif metric.measure == "mean":
        body = f"The average of {metric.value} over the rows of {rows}, {month}."
    elif metric.measure == "median":
        body = f"The median (middle value) of {metric.value} over the rows of {rows}, {month}."
    elif metric.percentile is not None:
        body = (
            f"The {metric.percentile}th percentile of {metric.value} over the rows of {rows}, "
            f"{month}: {metric.percentile}% of values are at or below it."
        )
    elif metric.measure == "ratio":
        num = metric.numerator
        den = metric.denominator
        num_text = f"the sum of {num.value}" if num and num.value else "the rows"
        den_text = f"the sum of {den.value}" if den and den.value else "all the rows"
        scale = "A percentage: " if metric.per == 100 else f"A ratio (times {metric.per:g}): "
        body = (
            f"{scale}{num_text}{_where(num.filter if num else None)}, out of {den_text}"
            f"{_where(den.filter if den else None)}, in {rows}, {month}. "
            "Numerator and denominator are kept, so small numbers can be suppressed."
        )
    elif metric.measure == "rate" and metric.rate:
        population = catalogue.sources.get(metric.rate.population)
        pop_name = population.title if population else metric.rate.population
        body = (
            f"The number of rows of {rows}, {month}, per {metric.rate.per:,} people in "
            f"{pop_name}{_where(metric.rate.filter)} (the population of the same year and group)."
        )
    else:
        body = f"{metric.measure} of {rows}, {month}."
    parts = [body, BETTER_TEXT[metric.better]]
    if metric.target:
        since = f" from {metric.target.from_:%B %Y}" if metric.target.from_ else ""
        parts.append(f"Target: {metric.target.value:g}{'%' if metric.unit == '%' else ''}{since}.")
    if metric.since:
        parts.append(f"Reported from {metric.since:%B %Y}.")
    if caveats and metric.caveats:
        parts.append(f"Caveat: {metric.caveats}")
    if metric.owner:
        parts.append(f"Owner: {metric.owner}.")
    return " ".join(parts)


def metric_yaml(metric: MetricDef) -> str:
    """The definition as YAML (defaults left out), as an analyst would write it."""
    data = metric.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump([data], sort_keys=False, allow_unicode=True, width=100)
