"""Every stage of validation, in the order data flow: the definitions (parse, schema,
references: metrics.definitions, no SQL engine needed), then their SQL checked against
empty typed tables (metrics.sql.definition_checks), then the data (the sources loaded into
the warehouse, for_each metrics expanded from them, and metrics.sql.data_checks).

`python -m metrics validate` (metrics.validate_cli), the board and the editor run them from
here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from metrics.definitions.assemble import MetricCounts, metric_counts
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.issues import Issue, sort_issues
from metrics.definitions.validate import ConfigLoad, load_definitions
from metrics.sql.data_checks import check_data, data_folder_issues
from metrics.sql.definition_checks import SQL_CHECKS
from metrics.sql.expand import expand_from_data
from metrics.sql.remote import open_for
from metrics.sql.warehouse import Warehouse


def load_config(config_dir: Path | str, *, served: Mapping[str, str] | None = None) -> ConfigLoad:
    """Stages 1 to 3 (parse, schema, references) with the SQL of every metric checked.
    The catalogue holds what passed; `served` is as for `load_definitions`."""
    return load_definitions(config_dir, served=served, checks=SQL_CHECKS)


def metric_summary(
    loaded: ConfigLoad, catalogue: Catalogue, issues: list[Issue], warehouse: Warehouse | None
) -> MetricCounts:
    """How many metrics are valid, have errors, or wait for a source with errors."""
    waiting = dict(loaded.waiting)
    defined = list(loaded.defined)
    if warehouse is not None:
        failed = set(warehouse.failed) | (set(catalogue.sources) - set(warehouse.loaded))
        for metric_id, metric in catalogue.metrics.items():
            needed = {metric.source, metric.rate.population if metric.rate else metric.source}
            if needed & failed:
                waiting[metric_id] = f"source '{sorted(needed & failed)[0]}'"
        for template_id, template in loaded.catalogue.templates.items():
            if template.source in failed:
                waiting[template_id] = f"source '{template.source}'"
        from_data = {
            t for t, m in loaded.catalogue.templates.items() if m.for_each and not m.for_each.values
        }
        expanded = [
            (metric_id, template_id)
            for metric_id, template_id in catalogue.expanded_from.items()
            if template_id in from_data
        ]
        made = {template_id for _, template_id in expanded}
        defined = [(label, t) for label, t in defined if not (label in made and t == label)]
        defined += expanded
    served = set(catalogue.metrics)
    if warehouse is None:  # definitions only: one whose values come from the data is checked
        served |= set(loaded.catalogue.templates)
    return metric_counts(defined, served, issues, waiting)


@dataclass
class ValidationReport:
    catalogue: Catalogue
    issues: list[Issue]
    warehouse: Warehouse | None = None
    counts: MetricCounts | None = None  # metrics valid, with errors, waiting for a source

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]


def validate_config(config_dir: Path | str, *, data: bool = True) -> ValidationReport:
    """All four stages. With data=False, only what can be checked without reading data."""
    loaded = load_config(config_dir)
    issues = list(loaded.issues)
    warehouse = None
    if data:
        warehouse = open_for(loaded.catalogue)
        catalogue, expanded = expand_from_data(loaded.catalogue, warehouse)
        issues += data_folder_issues(loaded, warehouse) + expanded
        issues += check_data(catalogue, warehouse)
    else:
        catalogue = loaded.catalogue
    counts = metric_summary(loaded, catalogue, issues, warehouse)
    return ValidationReport(catalogue, sort_issues(issues), warehouse, counts)


__all__ = ["ValidationReport", "load_config", "validate_config"]
