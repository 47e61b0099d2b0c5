"""Data quality: how far the board can trust the figures, source by source and month by month.

Five questions, each answered from what the board already loaded (no file is re-read):

1. **Completeness.** For every source a metric uses and every month of its span:
   - record-level sources (one row per referral, admission...): the month's row count
     against the median of the previous 12 months. A month with no rows at all is
     *missing*; a month far below the usual (under `LOW_RECORD_RATIO`: half) is *possibly
     incomplete*. The threshold is low on purpose: real falls happen (COVID April 2020 was
     about two thirds of a usual month), seasonal dips are 10-15%, and small sources vary
     a lot by chance (detentions, about 43 a month, have ranged from 24 to 65).
   - monthly sources (aggregated rows): per measure (a long table's ``measure`` value, or
     each numeric column of a wide table), the month's non-blank values against the median
     of the previous 12 months. No values at all (every cell blank, or no rows) is
     *missing*; fewer values than usual (blank cells or missing rows) is *incomplete*.
   A measure's span starts at its first row (a service that did not exist yet is absent,
   not missing, e.g. the Evening Sanctuary before May 2019) and runs to the source's last
   month (a measure that stops reporting is missing). The latest `provisional_months` of
   each source (sources.yaml) are flagged provisional.
2. **Revisions.** From the vintages table (``src_revisions``): each month's first reported
   value against its latest, and how close a figure is to final N months after the period.
3. **Definition breaks.** Interventions of kind ``definition_break``, the loaded sources
   whose data span the break, and the metrics on them.
4. **Last refresh.** Per source: file modified time, rows, first and last period, and the
   provisional months.
5. **Validation issues.** Counts by level and stage (details via ``Issue.format_text()``).

All aggregation over data runs in DuckDB SQL; only the small results are shaped in pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import altair as alt
import pandas as pd

from metrics.board import Board
from metrics.charts.theme import CATEGORICAL, SECONDARY_TEXT, TEXT, apply_theme
from metrics.definitions.issues import Issue
from metrics.definitions.models import ColumnType, SourceDef
from metrics.warehouse import quote, sql_literal, table_name

REVISIONS_SOURCE = "revisions"
LOW_RECORD_RATIO = 0.5  # a record month under half the usual is possibly incomplete
HISTORY_MONTHS = 12  # the "usual" month is the median of this many previous months
RECORDS = "records"  # the one measure of a record-level source: its row count
# Columns of a long-format monthly table that name the measure on each row.
LONG_MEASURE_COLUMNS = ("measure", "measure_key")
LONG_VALUE_COLUMN = "value"
# Calendar bookkeeping, not measures (never blank in practice, and would only add noise).
CALENDAR_COLUMNS = frozenset({"fin_month", "fin_year", "year", "month", "quarter"})

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


def source_measures(source: SourceDef) -> tuple[str, list[str]]:
    """How a source's completeness is measured: ('record', ['records']),
    ('long', [measure column]) or ('wide', [numeric columns])."""
    if source.grain == "record":
        return "record", [RECORDS]
    for name in LONG_MEASURE_COLUMNS:
        if name in source.columns and LONG_VALUE_COLUMN in source.columns:
            return "long", [name]
    numeric = [
        name
        for name, column in source.columns.items()
        if column.type in (ColumnType.integer, ColumnType.number)
        and name not in source.key
        and name != source.date_column
        and name not in CALENDAR_COLUMNS
    ]
    return "wide", numeric


def _cells_sql(source: SourceDef, low_ratio: float) -> list[str]:
    """SELECTs giving (source_id, measure, month, n_rows, n_values, ratio, provisional_n)."""
    table = table_name(source.id)
    month = f"date_trunc('month', {quote(source.date_column)})::DATE"
    dated = f"{quote(source.date_column)} IS NOT NULL"
    sid = sql_literal(source.id)
    tail = f"{source.provisional_months} AS provisional_n"
    kind, measures = source_measures(source)
    if kind == "record":
        return [
            f"SELECT {sid} AS source_id, {sql_literal(RECORDS)} AS measure, {month} AS month, "
            f"count(*) AS n_rows, count(*) AS n_values, {low_ratio!r} AS ratio, {tail} "
            f"FROM {table} WHERE {dated} GROUP BY ALL"
        ]
    if kind == "long":
        column = quote(measures[0])
        # Monthly grains are fixed, so any shortfall against the usual month counts.
        return [
            f"SELECT {sid} AS source_id, CAST({column} AS VARCHAR) AS measure, {month} AS month, "
            f"count(*) AS n_rows, count({quote(LONG_VALUE_COLUMN)}) AS n_values, "
            f"1.0 AS ratio, {tail} FROM {table} WHERE {dated} AND {column} IS NOT NULL "
            "GROUP BY ALL"
        ]
    return [
        f"SELECT {sid} AS source_id, {sql_literal(name)} AS measure, {month} AS month, "
        f"count(*) AS n_rows, count({quote(name)}) AS n_values, 1.0 AS ratio, {tail} "
        f"FROM {table} WHERE {dated} GROUP BY ALL"
        for name in measures
    ]


def completeness(
    board: Board,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    low_ratio: float = LOW_RECORD_RATIO,
) -> pd.DataFrame:
    """Completeness of every checked source by measure and month.

    Columns: ``source_id, source_title, grain, measure, month, n_rows, n_values,
    expected`` (median non-blank values over the previous 12 months; None for the first
    month), ``share`` (n_values / expected, capped at 1: 0 to 1), ``status`` (complete,
    incomplete or missing) and ``provisional``. `start` and `end` (months, inclusive)
    limit the rows returned; the usual month is still measured on the months before.
    """
    scope = completeness_scope(board)
    sources = [board.catalogue.sources[s] for s in scope.checked]
    selects = [sql for source in sources for sql in _cells_sql(source, low_ratio)]
    columns = [
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
    ]
    if not selects:
        return pd.DataFrame(columns=columns)
    period = ["TRUE"]
    if start is not None:
        period.append(f"month >= {sql_literal(start.replace(day=1))}")
    if end is not None:
        period.append(f"month <= {sql_literal(end.replace(day=1))}")
    titles = " UNION ALL ".join(
        f"SELECT {sql_literal(s.id)} AS source_id, {sql_literal(s.title)} AS source_title, "
        f"{sql_literal(s.grain)} AS grain"
        for s in sources
    )
    sql = f"""
        WITH cells AS ({" UNION ALL ".join(selects)}),
        source_span AS (
            SELECT source_id, max(month) AS last_month FROM cells GROUP BY source_id
        ),
        spans AS (
            SELECT c.source_id, c.measure, min(c.month) AS first_month,
                any_value(s.last_month) AS last_month, any_value(c.ratio) AS ratio,
                any_value(c.provisional_n) AS provisional_n
            FROM cells c JOIN source_span s USING (source_id)
            GROUP BY c.source_id, c.measure
        ),
        calendar AS (
            SELECT source_id, measure, ratio, provisional_n, last_month,
                unnest(generate_series(first_month, last_month, INTERVAL 1 MONTH))::DATE
                    AS month
            FROM spans
        ),
        filled AS (
            SELECT k.source_id, k.measure, k.month, k.ratio, k.provisional_n, k.last_month,
                coalesce(c.n_rows, 0) AS n_rows, coalesce(c.n_values, 0) AS n_values
            FROM calendar k LEFT JOIN cells c USING (source_id, measure, month)
        ),
        scored AS (
            SELECT *,
                median(n_values) OVER (
                    PARTITION BY source_id, measure ORDER BY month
                    ROWS BETWEEN {HISTORY_MONTHS} PRECEDING AND 1 PRECEDING
                ) AS expected
            FROM filled
        ),
        titles AS ({titles})
        SELECT
            s.source_id, t.source_title, t.grain, s.measure, s.month, s.n_rows, s.n_values,
            s.expected,
            CASE WHEN s.expected IS NULL OR s.expected = 0
                    THEN CASE WHEN s.n_values > 0 THEN 1.0 ELSE 0.0 END
                 ELSE least(s.n_values / s.expected, 1.0) END AS share,
            CASE WHEN s.n_values = 0 THEN 'missing'
                 WHEN s.expected IS NOT NULL AND s.n_values < s.ratio * s.expected
                    THEN 'incomplete'
                 ELSE 'complete' END AS status,
            s.month > s.last_month - to_months(s.provisional_n) AS provisional
        FROM scored s JOIN titles t USING (source_id)
        WHERE {" AND ".join(period)}
        ORDER BY s.source_id, s.measure, s.month
    """
    frame = board.warehouse.query(sql)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame[columns]


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
    )
    names = {rank: status for status, rank in STATUS_ORDER.items()}
    rolled["status"] = rolled["_rank"].map(names)
    rolled["measure"] = "all measures"
    return rolled.drop(columns="_rank")


def completeness_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """The months that are missing or incomplete, newest first, as a readable table."""
    flagged = frame[frame["status"] != "complete"]
    return (
        pd.DataFrame(
            {
                "Source": flagged["source_title"],
                "Measure": flagged["measure"],
                "Month": flagged["month"].dt.strftime("%b %Y"),
                "Status": flagged["status"],
                "Values": flagged["n_values"].astype(int),
                "Usual": flagged["expected"].map(lambda v: "–" if pd.isna(v) else f"{v:,.0f}"),
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


def _revisions_table(board: Board, source_id: str) -> str:
    if source_id not in board.warehouse.loaded:
        raise DataQualityError(board.warehouse.failure_reason(source_id))
    return table_name(source_id)


def revision_vintages(board: Board, source_id: str = REVISIONS_SOURCE) -> pd.DataFrame:
    """First reported against latest value for every measure_key and month.

    Columns: ``measure_key, month, first_value, first_extract, latest_value,
    latest_extract, latest_status, extracts, months_to_latest`` (calendar months from the
    period to the latest extract), ``first_pct_of_latest`` (0-100) and ``revision_pct``
    ((latest - first) / first x 100), ``final`` (the latest vintage is final).
    """
    table = _revisions_table(board, source_id)

    def compute() -> pd.DataFrame:
        frame = board.warehouse.query(
            f"""
            WITH v AS (
                SELECT measure_key, "month", extract_date, "value", data_status,
                    (year(extract_date) * 12 + month(extract_date))
                        - (year("month") * 12 + month("month")) AS months_after,
                    row_number() OVER (PARTITION BY measure_key, "month"
                        ORDER BY extract_date) AS first_rank,
                    row_number() OVER (PARTITION BY measure_key, "month"
                        ORDER BY extract_date DESC) AS latest_rank
                FROM {table}
                WHERE "value" IS NOT NULL AND "month" IS NOT NULL AND extract_date IS NOT NULL
            ),
            pairs AS (
                SELECT measure_key, "month",
                    any_value("value") FILTER (WHERE first_rank = 1) AS first_value,
                    any_value(extract_date) FILTER (WHERE first_rank = 1) AS first_extract,
                    any_value("value") FILTER (WHERE latest_rank = 1) AS latest_value,
                    any_value(extract_date) FILTER (WHERE latest_rank = 1) AS latest_extract,
                    any_value(data_status) FILTER (WHERE latest_rank = 1) AS latest_status,
                    count(*) AS extracts,
                    any_value(months_after) FILTER (WHERE latest_rank = 1) AS months_to_latest
                FROM v GROUP BY measure_key, "month"
            )
            SELECT *,
                100 * first_value / nullif(latest_value, 0) AS first_pct_of_latest,
                100 * (latest_value - first_value) / nullif(first_value, 0) AS revision_pct,
                latest_status = 'final' AS final
            FROM pairs
            ORDER BY measure_key, "month"
            """
        )
        frame["month"] = pd.to_datetime(frame["month"])
        return frame

    return board.memo(("data_quality.revision_vintages", source_id), compute)


def revisions_by_lag(board: Board, source_id: str = REVISIONS_SOURCE) -> pd.DataFrame:
    """How close each extract is to final, by months after the period (finalised months).

    Columns: ``measure_key`` ('all measures' for the pooled row), ``months_after``,
    ``months`` (figures counted), ``median_pct_of_final``, ``low_pct_of_final``,
    ``high_pct_of_final`` (0-100), ``share_final_pct`` (of those figures, % already final).
    """
    table = _revisions_table(board, source_id)

    def compute() -> pd.DataFrame:
        return board.warehouse.query(
            f"""
            WITH v AS (
                SELECT measure_key, "month", extract_date, "value", data_status,
                    (year(extract_date) * 12 + month(extract_date))
                        - (year("month") * 12 + month("month")) AS months_after,
                    last_value("value") OVER (
                        PARTITION BY measure_key, "month" ORDER BY extract_date
                        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                    ) AS final_value,
                    last_value(data_status) OVER (
                        PARTITION BY measure_key, "month" ORDER BY extract_date
                        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                    ) AS final_status
                FROM {table}
                WHERE "value" IS NOT NULL AND "month" IS NOT NULL AND extract_date IS NOT NULL
            ),
            finalised AS (
                SELECT *, 100 * "value" / nullif(final_value, 0) AS pct_of_final
                FROM v WHERE final_status = 'final'
            )
            SELECT
                coalesce(measure_key, 'all measures') AS measure_key,
                months_after,
                count(*) AS months,
                median(pct_of_final) AS median_pct_of_final,
                min(pct_of_final) AS low_pct_of_final,
                max(pct_of_final) AS high_pct_of_final,
                100.0 * count(*) FILTER (WHERE data_status = 'final') / count(*)
                    AS share_final_pct
            FROM finalised
            GROUP BY GROUPING SETS ((measure_key, months_after), (months_after))
            ORDER BY measure_key = 'all measures' DESC, measure_key, months_after
            """
        )

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
        metrics = [m.id for m in live if m.source in sources]
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
                span = warehouse.query(
                    f"SELECT min({quote(source.date_column)}) AS lo, "
                    f"max({quote(source.date_column)}) AS hi FROM {loaded.table}"
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
    """Every data-quality view for a period (months, inclusive; None = the whole span)."""
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
        gaps=completeness_gaps(detail),
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


def _cell_state(status: str, provisional: bool) -> str:
    if status != "complete":
        return status
    return "provisional" if provisional else "complete"


def completeness_heatmap(frame: pd.DataFrame, *, by_source: bool) -> alt.LayerChart:
    """Rows (sources, or one source's measures) x months. Colour says whether the month is
    complete, provisional, incomplete or missing (dark to pale blue); a shape inside every
    cell that is not complete says the same (diamond, triangle, cross), so colour is never
    the only carrier. The tooltip gives the share of a usual month's values present."""
    if by_source:
        label = frame["source_title"].astype(str)
    elif frame["source_id"].nunique() == 1:
        label = frame["measure"].astype(str)  # the source is named above the chart
    else:
        label = frame["source_title"].astype(str) + ": " + frame["measure"].astype(str)
        label = label.where(frame["measure"] != RECORDS, frame["source_title"].astype(str))
    data = pd.DataFrame(
        {
            "row": label,
            "month": frame["month"],
            "share_pct": (100 * frame["share"].astype(float)).round(1),
            "state": [
                _cell_state(s, bool(p))
                for s, p in zip(frame["status"], frame["provisional"], strict=True)
            ],
        }
    )
    rows = list(dict.fromkeys(data["row"]))
    y = alt.Y("row:N", title=None, sort=rows, axis=alt.Axis(labelLimit=320))
    x = alt.X("yearmonth(month):T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0))
    tooltip = [
        alt.Tooltip("row:N", title="Source"),
        alt.Tooltip("yearmonth(month):T", title="Month", format="%B %Y"),
        alt.Tooltip("state:N", title="Status"),
        alt.Tooltip("share_pct:Q", title="% of a usual month's values"),
    ]
    legend = alt.Legend(orient="bottom", direction="horizontal", title="Month is")
    cells = (
        alt.Chart(data, name="completeness_cells")
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(CELL_STATES), range=CELL_COLOURS),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    flagged = data[data["state"] != "complete"]
    markers = (
        alt.Chart(flagged, name="completeness_markers")
        .mark_point(filled=True, fill="white", stroke=TEXT, strokeWidth=1, size=40, opacity=1)
        .encode(
            x=alt.X("yearmonth(month):T", bandPosition=0.5),
            y=y,
            shape=alt.Shape(
                "state:N",
                scale=alt.Scale(domain=list(CELL_STATES), range=CELL_SHAPES),
                legend=legend,
            ),
            tooltip=tooltip,
        )
    )
    chart = alt.layer(cells, markers).properties(height=max(60, 22 * len(rows)), width="container")
    return apply_theme(chart)


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


def revisions_chart(by_lag: pd.DataFrame) -> alt.LayerChart:
    """Median % of the final figure by months after the period, one line per measure
    (colour, dash and point shape differ), with a labelled rule at 100% (final)."""
    data = by_lag[by_lag["measure_key"] != "all measures"].copy()
    keys = sorted(data["measure_key"].unique())
    dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4], [3, 1]]
    shapes = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
    colour = alt.Color(
        "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=CATEGORICAL)
    )
    base = alt.Chart(data).encode(
        x=alt.X(
            "months_after:O",
            title="Months after the month it describes",
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y(
            "median_pct_of_final:Q",
            title="% of the final figure (median)",
            scale=alt.Scale(zero=False),
        ),
        color=colour,
        tooltip=[
            alt.Tooltip("measure_key:N", title="Measure"),
            alt.Tooltip("months_after:O", title="Months after"),
            alt.Tooltip("median_pct_of_final:Q", title="% of final (median)", format=".1f"),
            alt.Tooltip("low_pct_of_final:Q", title="lowest", format=".1f"),
            alt.Tooltip("high_pct_of_final:Q", title="highest", format=".1f"),
            alt.Tooltip("months:Q", title="Months counted"),
        ],
    )
    lines = base.mark_line().encode(
        strokeDash=alt.StrokeDash(
            "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=dashes)
        )
    )
    points = base.mark_point(filled=True, size=50).encode(
        shape=alt.Shape(
            "measure_key:N", title="Measure", scale=alt.Scale(domain=keys, range=shapes)
        )
    )
    final = pd.DataFrame({"y": [100.0], "text": ["final"]})
    rule = alt.Chart(final).mark_rule(color=SECONDARY_TEXT, strokeDash=[3, 3]).encode(y="y:Q")
    rule_label = (
        alt.Chart(final)
        .mark_text(align="left", dx=4, dy=-6, color=SECONDARY_TEXT)
        .encode(y="y:Q", x=alt.value(0), text="text:N")
    )
    chart = alt.layer(rule, rule_label, lines, points).properties(height=300, width="container")
    return apply_theme(chart)


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
