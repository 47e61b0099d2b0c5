"""What analysts see in the catalogue: each metric's status, lineage and where it is used."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from metrics.board import Board
from metrics.definitions.issues import Issue
from metrics.definitions.models import MetricDef

# Which board page shows each framework domain (pages/*.py stems); every metric is also on
# the Overview, its own detail page and, with an `its:` block, the Impact page.
DOMAIN_PAGES = {
    "access": "access",
    "crisis": "crisis",
    "choice": "crisis",
    "equity": "equity",
    "money": "money",
    "data_quality": "data_quality",
}

_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


@dataclass(frozen=True)
class Lineage:
    source_id: str
    source_title: str
    file: str
    columns: tuple[str, ...]
    filter: str
    sql: str


def metric_issues(board: Board, metric_id: str) -> list[Issue]:
    """The metric's own issues, and, when a source it reads did not load, that reason
    (validation reports it once, at the source; here it is said where it matters)."""
    key = f"metrics[{metric_id}]"
    definition = board.catalogue.expanded_from.get(metric_id)
    keys = {key, f"metrics[{definition}]"} if definition else {key}
    own = [
        i for i in board.issues if i.field in keys or any(i.field.startswith(k + ".") for k in keys)
    ]
    metric = board.catalogue.metrics.get(metric_id)
    if metric is not None:
        for source_id in dict.fromkeys(
            [metric.source, metric.rate.population if metric.rate else metric.source]
        ):
            if source_id in board.warehouse.failed:
                origin = board.catalogue.origins.get(metric_id)
                own.append(
                    Issue(
                        "error",
                        "data",
                        origin.file if origin else "",
                        f"metric '{metric_id}': unavailable because "
                        f"{board.warehouse.failure_reason(source_id)}",
                        line=origin.line if origin else 0,
                        field=f"{key}.source",
                    )
                )
    return own


def status_of(board: Board, metric_id: str) -> str:
    """'error', 'warning' or 'ok': the worst validation finding for the metric."""
    issues = metric_issues(board, metric_id)
    if any(i.is_error for i in issues):
        return "error"
    return "warning" if issues else "ok"


def columns_used(metric: MetricDef, source_columns: list[str]) -> tuple[str, ...]:
    """Source columns the definition reads (date, value, filters, breakdowns)."""
    texts = [
        metric.date or "",
        metric.value or "",
        metric.filter or "",
        *(part.filter or "" for part in (metric.numerator, metric.denominator) if part),
        *(part.value or "" for part in (metric.numerator, metric.denominator) if part),
    ]
    found = {token for text in texts for token in _IDENTIFIER.findall(text)}
    found |= set(metric.breakdowns)
    return tuple(c for c in source_columns if c in found)


def lineage(board: Board, metric_id: str) -> Lineage:
    metric = board.metric(metric_id)
    source = board.catalogue.sources[metric.source]
    columns = list(source.columns)
    used = columns_used(metric, columns)
    if source.date_column not in used and not metric.date:
        used = (source.date_column, *used)
    loaded = board.warehouse.loaded.get(source.id)
    sql = ""
    try:
        sql = board.series(metric_id).sql
    except Exception as exc:  # the reason is shown instead of the SQL
        sql = f"-- not computed: {exc}"
    return Lineage(
        source_id=source.id,
        source_title=source.title,
        file=str(loaded.path)
        if loaded
        else f"{board.catalogue.data_dir / source.path} (not loaded)"
        if source.path is not None
        else f"warehouse table {source.table} (not loaded)",
        columns=used,
        filter=metric.filter or "",
        sql=sql,
    )


def where_used(board: Board, metric_id: str) -> list[str]:
    metric = board.metric(metric_id)
    places = ["Overview", "Metric detail"]
    domain_page = DOMAIN_PAGES.get(metric.domain)
    if domain_page:
        places.append(domain_page.replace("_", " ").capitalize())
    domain = board.catalogue.domains.get(metric.domain)
    if domain and domain.kind == "outcome":
        places.append("Outcomes")
    if metric.its is not None:
        places.append("Impact (ITS: " + ", ".join(metric.its.interventions) + ")")
    if metric_id in board.catalogue.board.featured_metrics:
        places.append("Featured on the board")
    slides = [slide.id for slide in board.catalogue.slides if slide.metric == metric_id]
    if slides:
        places.append("Showcase slides: " + ", ".join(slides) + " (and the exports)")
    return places


def latest_data_month(board: Board, metric_id: str) -> str:
    try:
        frame = board.series(metric_id).frame.dropna(subset=["value"])
    except Exception:
        return ""
    return "" if frame.empty else f"{frame['month'].iloc[-1]:%b %Y}"


def catalogue_table(board: Board) -> pd.DataFrame:
    """One row per metric for the catalogue page."""
    catalogue = board.catalogue
    rows = []
    for metric in catalogue.metrics.values():
        domain = catalogue.domains.get(metric.domain)
        rows.append(
            {
                "id": metric.id,
                "Metric": metric.title,
                "Domain": domain.title if domain else metric.domain,
                "Owner": metric.owner,
                "Source": metric.source,
                "Status": metric.status,
                "Validation": status_of(board, metric.id),
                "Latest data": latest_data_month(board, metric.id),
                "ITS": "yes" if metric.its else "",
            }
        )
    return pd.DataFrame(rows)


def search(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """Rows whose id, title, owner or source contain `text` (case-insensitive)."""
    if not text.strip():
        return table
    needle = text.strip().lower()
    haystack = (
        table["id"] + " " + table["Metric"] + " " + table["Owner"] + " " + table["Source"]
    ).str.lower()
    return table[haystack.str.contains(needle, regex=False)]
