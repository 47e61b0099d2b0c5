"""Data quality: how far the board can trust the figures, source by source and month by month.

Five questions, each answered from what the board already loaded (no file is re-read):

1. **Completeness.** For every source a metric uses and every month of its span, per
   measure (a record source's rows; each numeric column of a wide table, or the columns
   `checks.measures` names; each ``measure`` of a long table): a month with no values at
   all (every cell blank, or no rows) is *missing*; a month the month-change rule of
   `metrics.sql.month_checks` finds low is *incomplete*: keys (providers, cells) with values
   in the months either side but none in it, or a total (or, without a key, a row count)
   below every reference (the 3 months before, the 3 after, the same month a year earlier
   scaled) by more than the source's `checks` tolerance, its usual swings and chance. The
   same rule gives `validate`'s warnings, so the page and the command agree. A measure's
   span starts at its first row (a service that did not exist yet is absent, not
   missing, e.g. the Evening Sanctuary before May 2019) and runs to the source's last
   month (a measure that stops reporting is missing). The latest `provisional_months` of
   each source (sources.yaml) are flagged provisional and not judged.
2. **Revisions.** From the vintages table (``src_revisions``): each month's first reported
   value against its latest, and how close a figure is to final N months after the period.
3. **Definition breaks.** Interventions of kind ``definition_break``, the loaded sources
   whose data span the break, and the metrics on them.
4. **Last refresh.** Per source: file modified time, rows, first and last period, and the
   provisional months.
5. **Validation issues.** Counts by level and stage (details via ``Issue.format_text()``).

Every query is a sqlglot expression tree (identifiers and values are quoted nodes, never
text spliced into SQL), written portably and run one SELECT at a time by the warehouse. The
aggregation runs in the warehouse; only the small results are shaped in pandas: the
completeness query returns each measure's counts for the months that have rows, and the
calendar, the usual month and the status are laid out here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sqlglot import exp

from metrics.board import Board
from metrics.definitions.issues import Issue
from metrics.definitions.models import ColumnType, SourceDef
from metrics.labels import code_labels
from metrics.sql.compiler import column, table, table_name, template
from metrics.sql.month_checks import (
    RECORDS,
    completeness_query,
    judge_source,
    presence_query,
)

REVISIONS_SOURCE = "revisions"

Status = Literal["complete", "incomplete", "missing"]
STATUS_ORDER = {"complete": 0, "incomplete": 1, "missing": 2}
# What a heatmap cell says, best first, with ColorBrewer Blues (a single-hue sequential
# palette, safe under the common colour-vision deficiencies): dark = complete, pale = gap.
CELL_STATES = ("complete", "provisional", "incomplete", "missing")
CELL_COLOURS = ["#08519c", "#6baed6", "#bdd7e7", "#f7fbff"]
CELL_SHAPES = ["square", "diamond", "triangle-down", "cross"]


class DataQualityError(ValueError):
    """A data-quality view cannot be computed (e.g. the revisions source is not loaded)."""


# --------------------------------------------------------------------------- completeness


@dataclass(frozen=True)
class CompletenessScope:
    """Which sources are checked month by month, and why the others are not."""

    checked: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # source id -> reason


def completeness_scope(board: Board) -> CompletenessScope:
    """Loaded sources that metrics use and that are dated by month are checked."""
    catalogue = board.catalogue
    used = {m.source for m in catalogue.metrics.values() if m.status != "retired"}
    used |= {m.rate.population for m in catalogue.metrics.values() if m.rate is not None}
    checked: list[str] = []
    skipped: dict[str, str] = {}
    for source_id, source in catalogue.sources.items():
        date_column = source.columns.get(source.date_column)
        if source_id not in board.warehouse.loaded:
            skipped[source_id] = "not loaded (see the validation issues)"
        elif source_id not in used:
            skipped[source_id] = "no metric uses it"
        elif date_column is None or date_column.type != ColumnType.date:
            skipped[source_id] = f"dated by '{source.date_column}', not by month"
        else:
            checked.append(source_id)
    return CompletenessScope(tuple(checked), skipped)


COMPLETENESS_COLUMNS = [
    "source_id",
    "source_title",
    "grain",
    "measure",
    "month",
    "n_rows",
    "n_values",
    "expected",
    "share",
    "status",
    "provisional",
    "total",
    "change",
    "reason",
]


def _no_cells(month_type: object = "datetime64[us]") -> pd.DataFrame:
    """An empty completeness frame, typed as the warehouse types an empty result."""
    types: dict[str, object] = dict.fromkeys(COMPLETENESS_COLUMNS, "object")
    types.update(month=month_type, n_rows="int64", n_values="int64", expected="float64")
    types.update(share="float64", provisional="bool", total="float64", change="float64")
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in types.items()})


def score_cells(
    cells: pd.DataFrame,
    sources: Mapping[str, SourceDef],
    presence: Mapping[str, pd.DataFrame | None] | None = None,
) -> pd.DataFrame:
    """Lay the cells out on the calendar and judge every month (COMPLETENESS_COLUMNS,
    ordered by source, measure and month) by `metrics.sql.month_checks`.

    `presence`: each keyed source's `presence_query` result (key gaps); without it, key
    gaps are not looked for. ``expected`` is the usual number of values (the median of
    the references), ``share`` the month's values against it (capped at 1), ``change``
    the flagged change against the nearest reference and ``reason`` what was found."""
    months = pd.to_datetime(cells["month"])
    month_type = months.dtype
    if cells.empty:
        return _no_cells(month_type)
    cells = cells.assign(month=months)
    frames = []
    for source_id, own in cells.groupby("source_id", sort=True):
        source = sources[str(source_id)]
        judged = judge_source(source, own, (presence or {}).get(str(source_id)))
        last = judged["month"].max()
        judged["source_title"] = source.title
        judged["grain"] = source.grain
        provisional_from = last - pd.DateOffset(months=source.provisional_months)
        judged["provisional"] = (judged["month"] > provisional_from).to_numpy(dtype=bool)
        frames.append(judged)
    frame = pd.concat(frames, ignore_index=True)
    text = cells["source_id"].dtype
    frame = frame.astype({"source_id": text, "source_title": text, "grain": text})
    frame["measure"] = frame["measure"].astype(cells["measure"].dtype)
    frame["month"] = frame["month"].astype(month_type)
    n_values = frame["n_values"].to_numpy(dtype="float64")
    expected = frame["expected"].to_numpy(dtype="float64")
    unknown = ~np.isfinite(expected) | (expected == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["share"] = np.where(
            unknown, np.where(n_values > 0, 1.0, 0.0), np.minimum(n_values / expected, 1.0)
        )
    low = frame["direction"].to_numpy() < 0
    frame["status"] = np.where(
        frame["n_values"] == 0, "missing", np.where(low, "incomplete", "complete")
    )
    frame["change"] = frame["change"].astype("float64")
    frame["total"] = frame["total"].astype("float64")
    return frame[COMPLETENESS_COLUMNS]


def completeness(
    board: Board, start: dt.date | None = None, end: dt.date | None = None
) -> pd.DataFrame:
    """Completeness of every checked source by measure and month.

    Columns: ``source_id, source_title, grain, measure, month, n_rows, n_values,
    expected`` (the usual number of values: the median of the month's references; None
    for the first month), ``share`` (n_values / expected, capped at 1: 0 to 1), ``status``
    (complete, incomplete or missing), ``provisional``, ``total`` (the measure's sum),
    ``change`` (against the nearest reference, where flagged) and ``reason`` (what the
    month checks found, in words). `start` and `end` (months, inclusive) limit the rows
    returned; the references still use the months around them.
    """
    scope = completeness_scope(board)
    sources = {s: board.catalogue.sources[s] for s in scope.checked}
    query = completeness_query(list(sources.values()))
    if query is None:  # typed, so the views built on it work when nothing is checked
        return _no_cells()
    cells = board.warehouse.select(query, label="data quality: completeness")
    presence = {}
    for source_id, source in sources.items():
        tree = presence_query(source)
        if tree is not None and source.checks.month_change:
            presence[source_id] = board.warehouse.select(
                tree, label=f"data quality: keys of {source_id}"
            )
    frame = score_cells(cells, sources, presence)
    if start is not None:
        frame = frame[frame["month"] >= pd.Timestamp(start.replace(day=1))]
    if end is not None:
        frame = frame[frame["month"] <= pd.Timestamp(end.replace(day=1))]
    frame = frame.reset_index(drop=True)
    if frame.empty:
        # Text columns of an empty result are plain objects, as the warehouse returns them.
        text = ["source_id", "source_title", "grain", "measure", "status", "reason"]
        frame = frame.astype(dict.fromkeys(text, object))
    return frame


def completeness_by_source(frame: pd.DataFrame) -> pd.DataFrame:
    """Roll measures up to one row per source and month: the worst status, the lowest
    share, provisional if any measure is."""
    if frame.empty:
        return frame.assign(measures=pd.Series(dtype="int64"))
    ranked = frame.assign(_rank=frame["status"].map(STATUS_ORDER))
    rolled = ranked.groupby(["source_id", "source_title", "grain", "month"], as_index=False).agg(
        share=("share", "min"),
        _rank=("_rank", "max"),
        provisional=("provisional", "any"),
        measures=("measure", "nunique"),
        n_rows=("n_rows", "sum"),
        reason=("reason", lambda reasons: "; ".join(r for r in reasons if r)),
    )
    names = {rank: status for status, rank in STATUS_ORDER.items()}
    rolled["status"] = rolled["_rank"].map(names)
    rolled["measure"] = "all measures"
    return rolled.drop(columns="_rank")


def _measure_words(board: Board) -> Callable[[str], str]:
    """A measure in board words: the label sources.yaml gives a long-format source's
    measure code (employed_den: 'People asked about employment'); anything else (a
    source's own value column, 'all measures') as it is."""
    labels = code_labels(board.catalogue, "measure") or {}
    return lambda measure: labels.get(str(measure), str(measure))


def completeness_gaps(
    frame: pd.DataFrame, measure_words: Callable[[str], str] = str
) -> pd.DataFrame:
    """The months that are missing or incomplete, newest first, as a readable table
    (``Why``: what the month checks found; ``Measure`` in board words by `measure_words`)."""
    flagged = frame[frame["status"] != "complete"]
    return (
        pd.DataFrame(
            {
                "Source": flagged["source_title"],
                "Measure": flagged["measure"].map(measure_words),
                "Month": flagged["month"].dt.strftime("%b %Y"),
                "Status": flagged["status"],
                "Values": flagged["n_values"].astype(int),
                "Usual": flagged["expected"].map(lambda v: "–" if pd.isna(v) else f"{v:,.0f}"),
                "Why": [
                    "no values" if status == "missing" else reason
                    for status, reason in zip(flagged["status"], flagged["reason"], strict=True)
                ],
                "Provisional": flagged["provisional"].map(lambda p: "yes" if p else ""),
                "_month": flagged["month"],
            }
        )
        .sort_values(["_month", "Source", "Measure"], ascending=[False, True, True])
        .drop(columns="_month")
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------- revisions


@dataclass(frozen=True)
class RevisionSummary:
    """How provisional figures move on the way to final (percentages 0-100)."""

    provisional_months: tuple[dt.date, ...]  # months whose latest vintage is provisional
    typical_rise_pct: float  # median (final - first) / first over finalised months
    first_pct_low: float  # smallest first report as % of final
    first_pct_high: float  # largest first report as % of final
    months_to_final_low: int
    months_to_final_high: int
    finalised: int  # (measure, month) pairs with a final vintage

    @property
    def n_provisional(self) -> int:
        return len(self.provisional_months)


# The first and the latest vintage of every measure_key and month (each rank 1 is one row,
# so MAX over it picks that row's value). months_after: calendar months from a vintage's
# period to its extract.
VINTAGES_SQL = """
WITH "v" AS (
    SELECT "measure_key", "month", "extract_date", "value", "data_status",
        (YEAR("extract_date") * 12 + MONTH("extract_date"))
            - (YEAR("month") * 12 + MONTH("month")) AS "months_after",
        ROW_NUMBER() OVER (
            PARTITION BY "measure_key", "month" ORDER BY "extract_date"
        ) AS "first_rank",
        ROW_NUMBER() OVER (
            PARTITION BY "measure_key", "month" ORDER BY "extract_date" DESC
        ) AS "latest_rank"
    FROM $revisions
    WHERE "value" IS NOT NULL AND "month" IS NOT NULL AND "extract_date" IS NOT NULL
),
"pairs" AS (
    SELECT "measure_key", "month",
        MAX(CASE WHEN "first_rank" = 1 THEN "value" END) AS "first_value",
        MAX(CASE WHEN "first_rank" = 1 THEN "extract_date" END) AS "first_extract",
        MAX(CASE WHEN "latest_rank" = 1 THEN "value" END) AS "latest_value",
        MAX(CASE WHEN "latest_rank" = 1 THEN "extract_date" END) AS "latest_extract",
        MAX(CASE WHEN "latest_rank" = 1 THEN "data_status" END) AS "latest_status",
        COUNT(*) AS "extracts",
        MAX(CASE WHEN "latest_rank" = 1 THEN "months_after" END) AS "months_to_latest"
    FROM "v"
    GROUP BY "measure_key", "month"
)
SELECT "measure_key", "month", "first_value", "first_extract", "latest_value",
    "latest_extract", "latest_status", "extracts", "months_to_latest",
    CAST(100 * "first_value" AS DOUBLE) / NULLIF("latest_value", 0) AS "first_pct_of_latest",
    CAST(100 * ("latest_value" - "first_value") AS DOUBLE) / NULLIF("first_value", 0)
        AS "revision_pct"
FROM "pairs"
ORDER BY "measure_key", "month"
"""

# Every extract of a finalised month as % of its final figure, by months after the period,
# per measure_key and pooled ('all measures', the last rows). No extract_date is NULL here:
# NULLS FIRST only spares SQL Server, which cannot order NULLs last in a framed window.
REVISIONS_BY_LAG_SQL = """
WITH "v" AS (
    SELECT "measure_key", "value", "data_status",
        (YEAR("extract_date") * 12 + MONTH("extract_date"))
            - (YEAR("month") * 12 + MONTH("month")) AS "months_after",
        LAST_VALUE("value") OVER (
            PARTITION BY "measure_key", "month" ORDER BY "extract_date" NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS "final_value",
        LAST_VALUE("data_status") OVER (
            PARTITION BY "measure_key", "month" ORDER BY "extract_date" NULLS FIRST
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS "final_status"
    FROM $revisions
    WHERE "value" IS NOT NULL AND "month" IS NOT NULL AND "extract_date" IS NOT NULL
),
"finalised" AS (
    SELECT "measure_key", "months_after", "data_status",
        CAST(100 * "value" AS DOUBLE) / NULLIF("final_value", 0) AS "pct_of_final"
    FROM "v"
    WHERE "final_status" = 'final'
),
"by_lag" AS (
    SELECT
        COALESCE("measure_key", 'all measures') AS "measure_key",
        "months_after",
        COUNT(*) AS "months",
        QUANTILE_CONT("pct_of_final", 0.5) AS "median_pct_of_final",
        MIN("pct_of_final") AS "low_pct_of_final",
        MAX("pct_of_final") AS "high_pct_of_final",
        CAST(100 * COUNT(CASE WHEN "data_status" = 'final' THEN 1 END) AS DOUBLE) / COUNT(*)
            AS "share_final_pct"
    FROM "finalised"
    GROUP BY GROUPING SETS (("measure_key", "months_after"), ("months_after"))
)
SELECT "measure_key", "months_after", "months", "median_pct_of_final", "low_pct_of_final",
    "high_pct_of_final", "share_final_pct"
FROM "by_lag"
ORDER BY CASE WHEN "measure_key" = 'all measures' THEN 1 ELSE 0 END, "measure_key",
    "months_after"
"""


def _revisions_table(board: Board, source_id: str) -> exp.Table:
    if source_id not in board.warehouse.loaded:
        raise DataQualityError(board.warehouse.failure_reason(source_id))
    return table(table_name(source_id))


def revision_vintages_query(revisions: exp.Table) -> exp.Query:
    return template(VINTAGES_SQL, revisions=revisions)


def revisions_by_lag_query(revisions: exp.Table) -> exp.Query:
    return template(REVISIONS_BY_LAG_SQL, revisions=revisions)


def revision_vintages(board: Board, source_id: str = REVISIONS_SOURCE) -> pd.DataFrame:
    """First reported against latest value for every measure_key and month.

    Columns: ``measure_key, month, first_value, first_extract, latest_value,
    latest_extract, latest_status, extracts, months_to_latest`` (calendar months from the
    period to the latest extract), ``first_pct_of_latest`` (0-100) and ``revision_pct``
    ((latest - first) / first x 100), ``final`` (the latest vintage is final).
    """
    revisions = _revisions_table(board, source_id)

    def compute() -> pd.DataFrame:
        query = revision_vintages_query(revisions)
        frame = board.warehouse.select(query, label="data quality: revision vintages")
        frame["month"] = pd.to_datetime(frame["month"])
        status = frame["latest_status"]
        final = status == "final"
        if status.isna().any():  # unknown where the latest vintage has no status
            final = final.astype("boolean").mask(status.isna())
        frame["final"] = final
        return frame

    return board.memo(("data_quality.revision_vintages", source_id), compute)


def revisions_by_lag(board: Board, source_id: str = REVISIONS_SOURCE) -> pd.DataFrame:
    """How close each extract is to final, by months after the period (finalised months).

    Columns: ``measure_key`` ('all measures' for the pooled row), ``months_after``,
    ``months`` (figures counted), ``median_pct_of_final``, ``low_pct_of_final``,
    ``high_pct_of_final`` (0-100), ``share_final_pct`` (of those figures, % already final).
    """
    revisions = _revisions_table(board, source_id)

    def compute() -> pd.DataFrame:
        query = revisions_by_lag_query(revisions)
        return board.warehouse.select(query, label="data quality: revisions by lag")

    return board.memo(("data_quality.revisions_by_lag", source_id), compute)


def revision_summary(board: Board, source_id: str = REVISIONS_SOURCE) -> RevisionSummary:
    """Which months are still provisional, and how much figures typically rise."""
    vintages = revision_vintages(board, source_id)
    finalised = vintages[vintages["final"].fillna(False).astype(bool)]
    if finalised.empty:
        raise DataQualityError("no month in the revisions table has a final figure yet")
    provisional = sorted(
        {m.date() for m in vintages.loc[~vintages["final"].fillna(False).astype(bool), "month"]}
    )
    return RevisionSummary(
        provisional_months=tuple(provisional),
        typical_rise_pct=float(finalised["revision_pct"].median()),
        first_pct_low=float(finalised["first_pct_of_latest"].min()),
        first_pct_high=float(finalised["first_pct_of_latest"].max()),
        months_to_final_low=int(finalised["months_to_latest"].min()),
        months_to_final_high=int(finalised["months_to_latest"].max()),
        finalised=len(finalised),
    )


def typical_revision(
    board: Board, measure_key: str, source_id: str = REVISIONS_SOURCE
) -> float | None:
    """Median % rise from first report to final for one measure_key (None if unknown)."""
    vintages = revision_vintages(board, source_id)
    rows = vintages[(vintages["measure_key"] == measure_key) & vintages["final"].fillna(False)]
    if rows.empty:
        return None
    return float(rows["revision_pct"].median())


def revision_sentence(summary: RevisionSummary) -> str:
    """'Figures for the latest N months are provisional and typically rise by X% when final.'"""
    months = summary.n_provisional
    noun = "month is" if months == 1 else "months are"
    text = (
        f"Figures for the latest {months} {noun} provisional and typically rise by "
        f"{summary.typical_rise_pct:.1f}% when final."
    )
    low, high = summary.months_to_final_low, summary.months_to_final_high
    span = f"{low}" if low == high else f"{low} to {high}"
    return text + (
        f" A first report holds {summary.first_pct_low:.0f}% to {summary.first_pct_high:.0f}% "
        f"of the final figure, which arrives {span} months after the month it describes."
    )


# --------------------------------------------------------------------------- breaks


def definition_breaks(board: Board) -> pd.DataFrame:
    """Definition breaks (interventions.yaml, kind definition_break) and what they touch.

    Columns: ``id, title, month, description, sources`` (loaded sources that metrics use
    and whose data span the break month, so may step there), ``metrics`` (live metrics on
    those sources), ``metrics_count``, ``modelled_in`` (metrics that name the break in
    spc.rebase_at or its.interventions / its.shocks).
    """
    catalogue = board.catalogue
    rows = []
    live = [m for m in catalogue.metrics.values() if m.status != "retired"]
    used = {m.source for m in live}
    for item in catalogue.interventions.values():
        if item.kind != "definition_break":
            continue
        # Breaks do not name the sources they affect (interventions.yaml has no field for
        # it), so list every source a metric uses that holds data on both sides.
        sources = [
            sid
            for sid, loaded in board.warehouse.loaded.items()
            if sid in used
            and loaded.first_month is not None
            and loaded.last_month is not None
            and loaded.first_month <= item.start <= loaded.last_month
        ]
        # A break that names its metrics (interventions.yaml metrics:) is taken at its word.
        metrics = list(item.metrics) or [m.id for m in live if m.source in sources]
        modelled = [
            m.id
            for m in live
            if item.id in m.spc.rebase_at
            or (m.its is not None and item.id in (*m.its.interventions, *m.its.shocks))
        ]
        rows.append(
            {
                "id": item.id,
                "title": item.title,
                "month": item.start,
                "description": item.description,
                "sources": ", ".join(sources),
                "metrics": ", ".join(metrics),
                "metrics_count": len(metrics),
                "modelled_in": ", ".join(modelled),
            }
        )
    columns = [
        "id",
        "title",
        "month",
        "description",
        "sources",
        "metrics",
        "metrics_count",
        "modelled_in",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values("month").reset_index(drop=True)


# --------------------------------------------------------------------------- refresh


def _period_text(value: object, dated: bool) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if dated and isinstance(value, dt.date):
        return f"{value:%b %Y}"
    return str(value)


SPAN_SQL = """SELECT MIN($date) AS "lo", MAX($date) AS "hi" FROM $source"""


def span_query(source: SourceDef) -> exp.Query:
    """The first and last value of a source's date column (lo, hi)."""
    return template(SPAN_SQL, date=column(source.date_column), source=table(table_name(source.id)))


def last_refresh(board: Board) -> pd.DataFrame:
    """One row per source in sources.yaml: whether it loaded, when its file last changed,
    its rows, first and last period, and which months are provisional.

    Columns: ``source_id, title, status, file, file_modified, rows, first_period,
    last_period, provisional_months, provisional, owner, refresh, problem``.
    """
    catalogue = board.catalogue
    warehouse = board.warehouse
    rows = []
    for source_id, source in catalogue.sources.items():
        loaded = warehouse.loaded.get(source_id)
        first = last = None
        dated = True
        provisional = ""
        if loaded is not None:
            first, last = loaded.first_month, loaded.last_month
            if first is None:
                # Dated by something other than a month (e.g. a year): read its range.
                dated = False
                span = warehouse.select(
                    span_query(source),
                    label=f"data quality: span of source '{source_id}'",
                )
                first, last = span.iloc[0]["lo"], span.iloc[0]["hi"]
            if source.provisional_months and loaded.last_month is not None:
                months = [
                    _add_months(loaded.last_month, -k)
                    for k in reversed(range(source.provisional_months))
                ]
                provisional = ", ".join(f"{m:%b %Y}" for m in months)
        rows.append(
            {
                "source_id": source_id,
                "title": source.title,
                "status": "loaded" if loaded is not None else "not loaded",
                "file": source.path,
                "file_modified": loaded.file_modified if loaded is not None else None,
                "rows": loaded.rows if loaded is not None else None,
                "first_period": _period_text(first, dated),
                "last_period": _period_text(last, dated),
                "provisional_months": source.provisional_months,
                "provisional": provisional,
                "owner": source.owner,
                "refresh": source.refresh,
                "problem": "" if loaded is not None else warehouse.failure_reason(source_id),
            }
        )
    frame = pd.DataFrame(rows)
    frame["rows"] = frame["rows"].astype("Int64")
    return frame


def _add_months(month: dt.date, k: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + k
    return dt.date(index // 12, index % 12 + 1, 1)


# --------------------------------------------------------------------------- issues


def issue_counts(issues: Sequence[Issue]) -> pd.DataFrame:
    """Validation issues counted by level and stage (errors first). Columns: level, stage,
    issues."""
    frame = pd.DataFrame([(i.level, i.stage) for i in issues], columns=pd.Index(["level", "stage"]))
    if frame.empty:
        return pd.DataFrame({"level": [], "stage": [], "issues": []}).astype({"issues": "int64"})
    counts = frame.value_counts(["level", "stage"]).rename("issues").reset_index()
    stage_order = {"parse": 0, "schema": 1, "references": 2, "data": 3}
    counts["_order"] = (counts["level"] != "error").astype(int) * 10 + counts["stage"].map(
        stage_order
    ).fillna(9)
    return counts.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def issue_lines(issues: Sequence[Issue]) -> list[str]:
    """Every issue on one line (file:line:col: level [field]: message (hint))."""
    return [issue.format_text() for issue in issues]


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class DataQualityReport:
    """Everything the Data quality page shows (computed once per board and period)."""

    completeness: pd.DataFrame
    completeness_by_source: pd.DataFrame
    gaps: pd.DataFrame
    scope: CompletenessScope
    vintages: pd.DataFrame | None
    revisions_by_lag: pd.DataFrame | None
    revisions: RevisionSummary | None
    revisions_problem: str
    definition_breaks: pd.DataFrame
    refresh: pd.DataFrame
    issue_counts: pd.DataFrame
    issue_lines: tuple[str, ...]


def data_quality_report(
    board: Board, start: dt.date | None = None, end: dt.date | None = None
) -> DataQualityReport:
    """Every data-quality view for a period (months, inclusive; None = the whole span),
    computed once per board and period and shared by every session."""
    return board.memo(
        ("data_quality_report", start, end), lambda: _data_quality_report(board, start, end)
    )


def _data_quality_report(
    board: Board, start: dt.date | None, end: dt.date | None
) -> DataQualityReport:
    detail = completeness(board, start, end)
    vintages = by_lag = summary = None
    problem = ""
    try:
        vintages = revision_vintages(board)
        by_lag = revisions_by_lag(board)
        summary = revision_summary(board)
    except DataQualityError as exc:
        problem = str(exc)
    return DataQualityReport(
        completeness=detail,
        completeness_by_source=completeness_by_source(detail),
        gaps=completeness_gaps(detail, _measure_words(board)),
        scope=completeness_scope(board),
        vintages=vintages,
        revisions_by_lag=by_lag,
        revisions=summary,
        revisions_problem=problem,
        definition_breaks=definition_breaks(board),
        refresh=last_refresh(board),
        issue_counts=issue_counts(board.issues),
        issue_lines=tuple(issue_lines(board.issues)),
    )


# --------------------------------------------------------------------------- charts


def cell_state(status: str, provisional: bool) -> str:
    """A completeness cell's state as drawn: its status, with a complete month still
    filling up shown as provisional (the heatmap and its table use the same states)."""
    if status != "complete":
        return status
    return "provisional" if provisional else "complete"


def completeness_alt_text(frame: pd.DataFrame, *, by_source: bool) -> str:
    if frame.empty:
        return "Completeness heatmap: no months in the selected period."
    months = frame["month"]
    what = "sources" if by_source else "measures"
    flagged = frame[frame["status"] != "complete"]
    text = (
        f"Heatmap of completeness for {frame.groupby(['source_id', 'measure']).ngroups} "
        f"{what}, {months.min():%B %Y} to {months.max():%B %Y}."
    )
    if flagged.empty:
        return text + " Every month is complete."
    shown = flagged.sort_values("month").head(12)
    items = [
        f"{r.source_title}"
        + ("" if by_source or r.measure == RECORDS else f" {r.measure}")
        + f" {r.month:%b %Y} {r.status}"
        for r in shown.itertuples()
    ]
    more = f" and {len(flagged) - len(shown)} more" if len(flagged) > len(shown) else ""
    return text + f" {len(flagged)} flagged: " + "; ".join(items) + more + "."


def revisions_alt_text(by_lag: pd.DataFrame) -> str:
    pooled = by_lag[by_lag["measure_key"] == "all measures"].sort_values("months_after")
    if pooled.empty:
        return "Revisions chart: no finalised months."
    steps = "; ".join(
        f"{int(r.months_after)} month{'s' if r.months_after != 1 else ''} after: "
        f"{r.median_pct_of_final:.1f}% of final"
        for r in pooled.itertuples()
    )
    return (
        "Line chart of how close reported figures are to final, by months after the month "
        f"they describe, one line per measure. Across all measures (median): {steps}."
    )
