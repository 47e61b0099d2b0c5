"""Drafting a new metric definition: the choices the editor's "New metric" tab offers,
their defaults, and the YAML item they make (the page and the server's start-up warm draft
the default the same way, so the first visitor's check is already made)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from metrics.definitions.catalogue import METRICS_DIR, Catalogue
from metrics.definitions.models import SourceDef

MEASURES = ["count", "sum", "mean", "median", "p90", "ratio", "rate"]
BETTER = ["up", "down", "neutral"]
NO_VALUE = "(none)"  # the value-column choice of a measure that counts rows


@dataclass(frozen=True)
class SourceColumns:
    """A source's columns as the new-metric form offers them."""

    numeric: list[str]
    categories: list[str]
    dates: list[str]

    @classmethod
    def of(cls, source: SourceDef) -> SourceColumns:
        types = {name: column.type.value for name, column in source.columns.items()}
        return cls(
            numeric=[c for c, t in types.items() if t in {"integer", "number"}],
            categories=[c for c, t in types.items() if t in {"category", "string", "boolean"}],
            dates=[c for c, t in types.items() if t == "date"] or [source.date_column],
        )


@dataclass(frozen=True)
class NewMetricChoice:
    """What the analyst picked in the form (each field's default is the form's)."""

    source: str
    domain: str
    date: str
    measure: str = MEASURES[0]
    title: str = "New metric"
    value: str = NO_VALUE
    filter: str = ""
    numerator: str = ""
    better: str = BETTER[0]
    unit: str = "people"
    breakdowns: tuple[str, ...] = field(default_factory=tuple)
    # A ratio's parts: a column summed in each (None counts rows) and the denominator's
    # condition.
    numerator_value: str | None = None
    denominator: str = ""
    denominator_value: str | None = None

    @classmethod
    def default(cls, catalogue: Catalogue) -> NewMetricChoice:
        """The form as it first opens: the first source, domain and date column."""
        source = catalogue.sources[next(iter(catalogue.sources))]
        columns = SourceColumns.of(source)
        return cls(
            source=source.id,
            domain=next(iter(catalogue.domains)),
            date=columns.dates[0],
            value=(columns.numeric or [NO_VALUE])[0],
        )


def draft_item(catalogue: Catalogue, choice: NewMetricChoice) -> tuple[str, str]:
    """(the new metric's id, its YAML list item) for what was picked."""
    source = catalogue.sources[choice.source]
    metric_id = slug(choice.title, set(catalogue.metrics))
    item = new_metric_item(
        metric_id=metric_id,
        title=choice.title,
        domain=choice.domain,
        source=choice.source,
        measure=choice.measure,
        unit=choice.unit,
        better=choice.better,
        date=None if choice.date == source.date_column else choice.date,
        value=None if choice.value == NO_VALUE else choice.value,
        filter=choice.filter or None,
        numerator_filter=choice.numerator or None,
        breakdowns=list(choice.breakdowns),
        numerator_value=choice.numerator_value,
        denominator_filter=choice.denominator or None,
        denominator_value=choice.denominator_value,
    )
    return metric_id, item


def draft_file(config_dir: Path, domain: str) -> str:
    """The metrics file a new metric of `domain` is saved into unless the analyst picks
    another: the domain's own file if there is one, else the first."""
    names = [p.name for p in sorted((config_dir / METRICS_DIR).glob("*.yaml"))]
    wanted = f"{domain}.yaml"
    return wanted if wanted in names else (names[0] if names else wanted)


def slug(title: str, taken: set[str]) -> str:
    """A lower_snake_case id from a title, unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "metric"
    if not base[0].isalpha():
        base = f"m_{base}"
    candidate, number = base[:60], 2
    while candidate in taken:
        candidate, number = f"{base[:56]}_{number}", number + 1
    return candidate


def new_metric_item(
    *,
    metric_id: str,
    title: str,
    domain: str,
    source: str,
    measure: str,
    unit: str,
    better: str,
    date: str | None = None,
    value: str | None = None,
    filter: str | None = None,
    numerator_filter: str | None = None,
    population: str | None = None,
    breakdowns: list[str] | None = None,
    owner: str = "",
    numerator_value: str | None = None,
    denominator_filter: str | None = None,
    denominator_value: str | None = None,
) -> str:
    """YAML for one new metric (a list item), with sensible defaults spelt out.

    A ratio counts rows (a condition) or sums a column in each part: numerator_value and
    denominator_value make a ratio of sums (breaches out of attendances, say)."""
    item: dict[str, object] = {"id": metric_id, "title": title, "description": "", "domain": domain}
    item["source"] = source
    if date:
        item["date"] = date
    item["measure"] = measure
    if value and measure not in {"count", "ratio", "rate"}:
        item["value"] = value
    if filter:
        item["filter"] = filter
    if measure == "ratio":
        numerator: dict[str, str] = {}
        if numerator_filter:
            numerator["filter"] = numerator_filter
        if numerator_value:
            numerator["value"] = numerator_value
        item["numerator"] = numerator or {"filter": "TRUE"}
        denominator: dict[str, str] = {}
        if denominator_filter:
            denominator["filter"] = denominator_filter
        if denominator_value:
            denominator["value"] = denominator_value
        if denominator:
            item["denominator"] = denominator
    if measure == "rate":
        item["rate"] = {"population": population or "population", "per": 100000}
    item["unit"] = "%" if measure == "ratio" else unit
    if measure in {"ratio", "mean", "median", "rate"} or measure.startswith("p"):
        item["decimals"] = 1
    item["better"] = better
    if breakdowns:
        item["breakdowns"] = list(breakdowns)
    item["owner"] = owner
    item["status"] = "draft"
    text = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(("  " + line) if line else line for line in text.splitlines()) + "\n"


def append_item(file_text: str, item_text: str) -> str:
    """`file_text` (a metrics file) with `item_text` added at the end of its list."""
    if not file_text.strip():
        return (
            "# yaml-language-server: $schema=../schema/metrics.schema.json\nmetrics:\n" + item_text
        )
    body = file_text if file_text.endswith("\n") else file_text + "\n"
    return body + "\n" + item_text
