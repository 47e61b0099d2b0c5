"""Parameterised metrics whose values come from the data (`for_each: values_from: data`):
expanded into one metric per value when the sources are loaded, with a query tree that
brings back only the distinct values (and names)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlglot import exp

from metrics.definitions.assemble import MAX_EXPANDED, expand
from metrics.definitions.catalogue import Catalogue, Origin
from metrics.definitions.issues import Issue
from metrics.definitions.models import MetricDef, SourceDef
from metrics.sql.backends import QueryError
from metrics.sql.compiler import all_of, column, metric_fragments, table, table_name
from metrics.sql.warehouse import Warehouse


def for_each_values_query(template: MetricDef, sources: Mapping[str, SourceDef]) -> exp.Select:
    """The values (and names) a `values_from: data` definition takes: its column's distinct
    non-blank values among its rows (its filter applied), as a query tree."""
    each = template.for_each
    assert each is not None
    source = sources[template.source]
    fragments = metric_fragments(template, sources)
    conditions: list[exp.Expression] = [
        exp.Not(this=exp.Is(this=column(each.column), expression=exp.null()))
    ]
    if fragments.filter is not None:
        conditions.append(fragments.filter.tree.copy())
    value = exp.cast(column(each.column), exp.DataType.Type.VARCHAR)
    selects: list[exp.Expression] = [exp.alias_(value, "value", quoted=True)]
    if each.labels_from:
        selects.append(
            exp.alias_(
                exp.Max(this=exp.cast(column(each.labels_from), exp.DataType.Type.VARCHAR)),
                "label",
                quoted=True,
            )
        )
    return (
        exp.select(*selects)
        .from_(table(table_name(source.id)))
        .where(all_of(conditions))
        .group_by(value.copy())
        .order_by(value.copy())
    )


def expand_from_data(catalogue: Catalogue, warehouse: Warehouse) -> tuple[Catalogue, list[Issue]]:
    """The catalogue with every `values_from: data` definition expanded into its metrics
    (and `labels_from` names read), from the loaded data; issues at the definition."""
    if not catalogue.templates:
        return catalogue, []
    metrics = dict(catalogue.metrics)
    origins = dict(catalogue.origins)
    expanded_from = dict(catalogue.expanded_from)
    issues: list[Issue] = []
    for template_id, template in catalogue.templates.items():
        each = template.for_each
        assert each is not None
        origin = catalogue.origins.get(template_id)

        def report(
            message: str,
            hint: str = "",
            level: str = "error",
            where: str = "",
            origin: Origin | None = origin,
            template_id: str = template_id,
        ) -> None:
            issues.append(
                Issue(
                    level,  # type: ignore[arg-type]
                    "data",
                    origin.file if origin else "",
                    f"metric '{template_id}': {message}",
                    line=origin.line if origin else 0,
                    field=f"metrics[{template_id}].for_each" + (f".{where}" if where else ""),
                    hint=hint,
                )
            )

        if template.source not in warehouse.loaded:
            continue  # the source's own problem is reported once, with the source
        try:
            rows = warehouse.select(
                for_each_values_query(template, catalogue.sources),
                label=f"metric '{template_id}': values of {each.column}",
            )
        except QueryError as exc:
            report(f"the values of '{each.column}' could not be read: {exc}")
            continue
        labels = {}
        if "label" in rows:
            labels = {
                str(v): str(n) for v, n in zip(rows["value"], rows["label"], strict=True) if n
            }
        if each.values is not None:
            values = list(each.values)
        else:
            values = [str(v) for v in rows["value"]]
            if not values:
                report(
                    f"no rows have a value in '{each.column}', so it makes no metrics",
                    "",
                    "warning",
                )
                continue
            if len(values) > MAX_EXPANDED:
                report(
                    f"'{each.column}' has {len(values):,} values; for_each makes at most "
                    f"{MAX_EXPANDED:,} metrics",
                    "list the values wanted (values: [...]), or filter the rows",
                )
                continue
        for metric in expand(template, values, labels):
            if metric.id in metrics and expanded_from.get(metric.id) != template_id:
                report(
                    f"the value '{metric.for_each.values[0]}' gives the metric id "  # type: ignore[union-attr]
                    f"'{metric.id}', which another metric already has",
                    "rename the definition's id or the other metric",
                    where="values_from",
                )
                continue
            metrics[metric.id] = metric
            if origin is not None:
                origins[metric.id] = origin
            expanded_from[metric.id] = template_id
    updated = dataclasses.replace(
        catalogue, metrics=metrics, origins=origins, expanded_from=expanded_from
    )
    return updated, issues
