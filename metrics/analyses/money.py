"""Money: the pooled alliance budget against what was spent, where it is going, and savings.

Everything is aggregated in SQL over the loaded cost table (``src_costs``; schema in
domain.md section 6), so the same queries could run on a finance warehouse. Each query is a
sqlglot expression tree built from a constant template (values enter as literal nodes,
never as text) and written portably, so it can be emitted for DuckDB, PostgreSQL, Spark or
SQL Server. Functions take the board, a financial year written ``2024/25`` (April to March)
and optionally the month the year-to-date runs up to (the first of a calendar month;
default: the latest month in the data for that year). They return small frozen dataclasses
or DataFrames; amounts are pounds (GBP), percentages are 0-100, months are
``datetime.date`` (first of the month).

Conventions a board paper uses, kept here:

- variance = actual - budget, so a positive variance is an **overspend**;
- year to date (YTD) runs from April to the chosen month inclusive; "in-month" is that month;
- forecast outturn is the finance team's full-year forecast as at the chosen month
  (``forecast_outturn_gbp`` on that month's rows, summed); at March it equals the year's
  actual;
- provisional months (``data_status = 'provisional'``: the latest extract is not final yet)
  are flagged wherever they contribute; their actuals usually rise when final;
- March carries the year-end accrual spike (a real cost, but it makes March's in-month
  variance look worse than the run rate);
- savings are measured in cash against a baseline financial year, like for like (the same
  months of each year). The default baseline is the last full year before the first
  alliance service change in interventions.yaml: IPSA went live in April 2015, so the
  baseline is 2014/15, the year the IPSA savings target is measured against. 2017/18 (the
  last full year before the whole alliance went live in July 2018) is a defensible
  alternative for the wider pool; pass ``baseline_year``. Cash figures are not adjusted for
  inflation or demand (budgets other than IPSA rise about 2.5% a year).

Money is not about individuals, so small-number suppression does not apply to it (NHS
Digital's disclosure rules exclude values that are not about people).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlglot import exp

from metrics.board import Board
from metrics.definitions.board_files import MoneySettings, UnitCost
from metrics.formatting import format_money
from metrics.sql.compiler import column, literal, table, table_name, template

COSTS_SOURCE = "costs"
PROVISIONAL = "provisional"
GroupBy = Literal["provider", "service_line", "alliance"]

# Group key column and display-name column for each way of cutting the budget.
_GROUP_COLUMNS: dict[str, tuple[str, str]] = {
    "provider": ("provider_id", "provider_name"),
    "service_line": ("service_line_id", "service_line"),
}
ALLIANCE_ID = "alliance"
ALLIANCE_NAME = "Whole alliance"

# Savings targets, the headline savings line and unit-cost words come from board.yaml
# `money:` (MoneySettings; its defaults are IPSA's 20% saving against a GBP 12m budget,
# domain.md sections 1 and 6). These are the defaults, for callers without a board.
SAVINGS_TARGETS: dict[str, float] = dict(MoneySettings().savings_targets)
IPSA_LINE = MoneySettings().headline_line


def money_settings(board: Board) -> MoneySettings:
    """The board's money settings (board.yaml `money:`)."""
    return board.catalogue.board.money


# Variances smaller than a penny are "on budget" (sums of 2-dp amounts in floating point).
ON_BUDGET_TOLERANCE_GBP = 0.005
_FIN_YEAR = re.compile(r"^\d{4}/\d{2}$")


class MoneyError(ValueError):
    """The cost data are unavailable, or the year or month asked for is not in them."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class YearPosition:
    """The whole alliance's position in a financial year, up to `through_month` (GBP)."""

    fin_year: str
    through_month: dt.date
    months_elapsed: int  # months of the year to date (April = 1)
    month_budget_gbp: float
    month_actual_gbp: float
    ytd_budget_gbp: float
    ytd_actual_gbp: float
    full_year_budget_gbp: float
    forecast_outturn_gbp: float
    budget_estimated: bool  # full-year budget scaled up because some months are not loaded
    provisional_months: tuple[dt.date, ...]

    @property
    def ytd_variance_gbp(self) -> float:
        return self.ytd_actual_gbp - self.ytd_budget_gbp

    @property
    def ytd_variance_pct(self) -> float | None:
        return _pct(self.ytd_variance_gbp, self.ytd_budget_gbp)

    @property
    def month_variance_gbp(self) -> float:
        return self.month_actual_gbp - self.month_budget_gbp

    @property
    def forecast_variance_gbp(self) -> float:
        return self.forecast_outturn_gbp - self.full_year_budget_gbp

    @property
    def forecast_variance_pct(self) -> float | None:
        return _pct(self.forecast_variance_gbp, self.full_year_budget_gbp)

    @property
    def full_year(self) -> bool:
        """The year to date is the whole year (through March)."""
        return self.months_elapsed == 12


@dataclass(frozen=True)
class AccrualNote:
    """March's in-month spend against the average of the year's other months (GBP)."""

    fin_year: str
    march: dt.date
    march_actual_gbp: float
    typical_month_gbp: float

    @property
    def uplift_pct(self) -> float | None:
        return _pct(self.march_actual_gbp - self.typical_month_gbp, self.typical_month_gbp)


@dataclass(frozen=True)
class Savings:
    """One service line's spend against a baseline year, like for like (GBP)."""

    service_line_id: str
    service_line: str
    fin_year: str
    baseline_year: str
    months: int  # months compared in each year (April onwards)
    baseline_actual_gbp: float | None
    actual_gbp: float
    budget_gbp: float
    target_share: float | None  # e.g. 0.20: save 20% of the budget against the baseline
    provisional: bool

    @property
    def saving_gbp(self) -> float | None:
        """Baseline spend minus this year's: positive is a saving."""
        if self.baseline_actual_gbp is None:
            return None
        return self.baseline_actual_gbp - self.actual_gbp

    @property
    def saving_pct(self) -> float | None:
        if self.saving_gbp is None or self.baseline_actual_gbp is None:
            return None
        return _pct(self.saving_gbp, self.baseline_actual_gbp)

    @property
    def target_saving_gbp(self) -> float | None:
        """The saving the target asks for: share x budget (the same months)."""
        if self.target_share is None:
            return None
        return self.target_share * self.budget_gbp

    @property
    def target_spend_gbp(self) -> float | None:
        """The most the line may spend and meet its target: baseline - target saving."""
        if self.target_saving_gbp is None or self.baseline_actual_gbp is None:
            return None
        return self.baseline_actual_gbp - self.target_saving_gbp

    @property
    def is_baseline(self) -> bool:
        """The year asked for is the baseline year itself (nothing to compare)."""
        return self.fin_year == self.baseline_year

    @property
    def target_met(self) -> bool | None:
        """None when there is no target, no baseline, or the year is the baseline."""
        if self.target_saving_gbp is None or self.saving_gbp is None or self.is_baseline:
            return None
        return self.saving_gbp >= self.target_saving_gbp - ON_BUDGET_TOLERANCE_GBP


@dataclass(frozen=True)
class MoneyReport:
    """Everything the Money page shows for one year and month (computed once per board)."""

    fin_year: str
    through_month: dt.date
    baseline_year: str
    position: YearPosition
    by_provider: pd.DataFrame
    by_service_line: pd.DataFrame
    forecast_by_service_line: pd.DataFrame
    monthly: pd.DataFrame
    unit_costs: pd.DataFrame
    unit_cost_trend: pd.DataFrame
    savings: pd.DataFrame
    ipsa: Savings | None
    accrual: AccrualNote | None
    summary: str


# --------------------------------------------------------------------------- helpers


def _pct(part: float, whole: float | None) -> float | None:
    if whole is None or whole == 0 or pd.isna(whole):
        return None
    return 100.0 * part / whole


def _table(board: Board, source_id: str) -> exp.Table:
    if source_id not in board.warehouse.loaded:
        raise MoneyError(board.warehouse.failure_reason(source_id))
    return table(table_name(source_id))


def _tree(sql: str, **nodes: exp.Expression) -> exp.Select:
    """A query from one of this module's constant templates, its placeholders filled with
    nodes (metrics.sql.compiler.template)."""
    tree = template(sql, **nodes)
    assert isinstance(tree, exp.Select)
    return tree


def _run(board: Board, query: exp.Query, what: str) -> pd.DataFrame:
    return board.warehouse.select(query, label=f"money: {what}")


def fin_year_of(month: dt.date) -> str:
    """The financial year (April to March) a month falls in, written ``2024/25``."""
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def period_words(fin_year: str, through_month: dt.date) -> str:
    """The span a year-to-date figure covers, named the way every page and the pack name
    it: '2024/25 (Apr 2024 to Mar 2025)' for a whole year, '2024/25 to date (Apr 2024 to
    Jan 2025)' otherwise."""
    start = fin_year_start(fin_year)
    whole = through_month.month == 3
    lead = fin_year if whole else f"{fin_year} to date"
    return f"{lead} ({start:%b %Y} to {through_month:%b %Y})"


def fin_year_start(fin_year: str) -> dt.date:
    """1 April of a financial year written ``2024/25``."""
    return dt.date(int(fin_year[:4]), 4, 1)


def fin_month_of(month: dt.date) -> int:
    """Month of the financial year: April = 1 ... March = 12."""
    return (month.month - 4) % 12 + 1


_FINANCIAL_YEARS_SQL = """
SELECT DISTINCT fin_year FROM $costs WHERE fin_year IS NOT NULL ORDER BY fin_year
"""


def financial_years(board: Board, source_id: str = COSTS_SOURCE) -> list[str]:
    """Financial years in the cost data, oldest first (e.g. ['2014/15', ..., '2024/25'])."""
    costs = _table(board, source_id)

    def compute() -> list[str]:
        frame = _run(board, _tree(_FINANCIAL_YEARS_SQL, costs=costs), "financial years")
        return [str(v) for v in frame["fin_year"] if _FIN_YEAR.match(str(v))]

    return board.memo(("money.financial_years", source_id), compute)


def latest_financial_year(board: Board, source_id: str = COSTS_SOURCE) -> str:
    years = financial_years(board, source_id)
    if not years:
        raise MoneyError("the cost data hold no financial years")
    return years[-1]


def _check_year(board: Board, fin_year: str, source_id: str) -> str:
    years = financial_years(board, source_id)
    # Checked against the data before it goes anywhere near SQL (it may come from a URL).
    if fin_year not in years:
        span = f"{years[0]} to {years[-1]}" if years else "no years"
        raise MoneyError(f"no costs for financial year '{fin_year}' (the data have {span})")
    return fin_year


_YEAR_MONTHS_SQL = """
SELECT DISTINCT month FROM $costs WHERE fin_year = $fin_year ORDER BY month
"""


def year_months(board: Board, fin_year: str, source_id: str = COSTS_SOURCE) -> list[dt.date]:
    """Months of `fin_year` that have cost rows, in order."""
    costs = _table(board, source_id)
    _check_year(board, fin_year, source_id)

    def compute() -> list[dt.date]:
        query = _tree(_YEAR_MONTHS_SQL, costs=costs, fin_year=literal(fin_year))
        frame = _run(board, query, f"months of {fin_year}")
        return [pd.Timestamp(m).date() for m in frame["month"]]

    # A list shared by every caller: copied so a caller's change cannot reach the next.
    return list(board.memo(("money.year_months", source_id, fin_year), compute))


def _resolve_through(
    board: Board, fin_year: str, through_month: dt.date | None, source_id: str
) -> dt.date:
    months = year_months(board, fin_year, source_id)
    if not months:
        raise MoneyError(f"no cost rows in {fin_year}")
    if through_month is None:
        return months[-1]
    through = through_month.replace(day=1)
    if through not in months:
        raise MoneyError(
            f"{through:%B %Y} is not a month of {fin_year} in the cost data "
            f"({months[0]:%B %Y} to {months[-1]:%B %Y})"
        )
    return through


_PROVISIONAL_MONTHS_SQL = """
SELECT DISTINCT month FROM $costs WHERE data_status = $provisional ORDER BY month
"""


def provisional_months(
    board: Board, fin_year: str | None = None, source_id: str = COSTS_SOURCE
) -> list[dt.date]:
    """Months whose cost rows are still provisional (data_status), optionally in one year."""
    costs = _table(board, source_id)
    query = _tree(_PROVISIONAL_MONTHS_SQL, costs=costs, provisional=literal(PROVISIONAL))
    if fin_year is not None:
        year = literal(_check_year(board, fin_year, source_id))
        query = query.where(exp.EQ(this=column("fin_year"), expression=year), copy=False)
    frame = _run(board, query, "provisional months")
    return [pd.Timestamp(m).date() for m in frame["month"]]


def _group_nodes(by: GroupBy) -> dict[str, exp.Expression]:
    """The ``$group_id`` and ``$group_name`` of a grouped template, by provider, by service
    line or for the whole alliance."""
    if by == "alliance":
        return {"group_id": literal(ALLIANCE_ID), "group_name": literal(ALLIANCE_NAME)}
    if by not in _GROUP_COLUMNS:
        raise MoneyError(f"cannot group costs by '{by}' (provider, service_line or alliance)")
    key, name = _GROUP_COLUMNS[by]
    return {"group_id": column(key), "group_name": exp.Min(this=column(name))}


def _grouped(query: exp.Select, by: GroupBy) -> exp.Select:
    """`query` grouped by the group key; for the whole alliance, one row over all its rows
    (none if it has no rows, as grouping would give). Portable: no GROUP BY of a constant."""
    if by == "alliance":
        return query.having(exp.GT(this=exp.Count(this=exp.Star()), expression=literal(0)))
    return query.group_by(column(_GROUP_COLUMNS[by][0]))


# --------------------------------------------------------------------------- budget


_BUDGET_GROUPED_SQL = """
SELECT
    $group_id AS group_id,
    $group_name AS group_name,
    coalesce(sum(CASE WHEN month = $month THEN budget_gbp END), 0) AS month_budget_gbp,
    coalesce(sum(CASE WHEN month = $month THEN actual_gbp END), 0) AS month_actual_gbp,
    coalesce(sum(budget_gbp), 0) AS ytd_budget_gbp,
    coalesce(sum(actual_gbp), 0) AS ytd_actual_gbp,
    max(CASE WHEN data_status = $provisional THEN 1 ELSE 0 END) = 1 AS provisional
FROM ytd
"""

_BUDGET_SQL = """
WITH ytd AS (
    SELECT * FROM $costs WHERE fin_year = $fin_year AND month <= $month
),
grouped AS ($grouped)
SELECT
    group_id, group_name,
    month_budget_gbp, month_actual_gbp,
    month_actual_gbp - month_budget_gbp AS month_variance_gbp,
    100 * (month_actual_gbp - month_budget_gbp) / nullif(month_budget_gbp, 0)
        AS month_variance_pct,
    ytd_budget_gbp, ytd_actual_gbp,
    ytd_actual_gbp - ytd_budget_gbp AS ytd_variance_gbp,
    100 * (ytd_actual_gbp - ytd_budget_gbp) / nullif(ytd_budget_gbp, 0) AS ytd_variance_pct,
    CASE
        WHEN ytd_actual_gbp - ytd_budget_gbp > $tolerance THEN 'overspend'
        WHEN ytd_actual_gbp - ytd_budget_gbp < -$tolerance THEN 'underspend'
        ELSE 'on budget'
    END AS status,
    provisional
FROM grouped
ORDER BY ytd_variance_gbp DESC, group_id
"""


def budget_vs_actual(
    board: Board,
    fin_year: str,
    by: GroupBy = "provider",
    through_month: dt.date | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> pd.DataFrame:
    """Budget against actual by provider, service line or for the whole alliance (GBP).

    One row per group: ``group_id, group_name``; in-month (the chosen month)
    ``month_budget_gbp, month_actual_gbp, month_variance_gbp, month_variance_pct``;
    year to date (April to the chosen month) ``ytd_budget_gbp, ytd_actual_gbp,
    ytd_variance_gbp, ytd_variance_pct``; ``status`` (overspend, underspend or on budget,
    by the YTD variance) and ``provisional`` (any provisional month in the YTD).
    Variance = actual - budget; percentages are of the budget (None when it is zero).
    Sorted by YTD variance, largest overspend first.
    """
    costs = _table(board, source_id)
    fin_year = _check_year(board, fin_year, source_id)
    through = _resolve_through(board, fin_year, through_month, source_id)
    grouped = _grouped(
        _tree(
            _BUDGET_GROUPED_SQL,
            **_group_nodes(by),
            month=literal(through),
            provisional=literal(PROVISIONAL),
        ),
        by,
    )
    query = _tree(
        _BUDGET_SQL,
        costs=costs,
        fin_year=literal(fin_year),
        month=literal(through),
        grouped=grouped,
        tolerance=literal(ON_BUDGET_TOLERANCE_GBP),
    )
    return _run(board, query, f"budget against actual by {by}")


_FORECAST_GROUPED_SQL = """
SELECT
    $group_id AS group_id,
    $group_name AS group_name,
    sum(budget_gbp) AS budget_loaded_gbp,
    sum(CASE WHEN month = $month THEN forecast_outturn_gbp END) AS forecast_gbp,
    sum(CASE WHEN month <= $month THEN actual_gbp END) AS ytd_actual_gbp,
    max(CASE WHEN month <= $month AND data_status = $provisional THEN 1 ELSE 0 END) = 1
        AS provisional
FROM year_rows
"""

_FORECAST_SQL = """
WITH year_rows AS (
    SELECT * FROM $costs WHERE fin_year = $fin_year
),
loaded AS (SELECT count(DISTINCT month) AS months FROM year_rows),
grouped AS ($grouped),
scaled AS (
    SELECT
        g.*,
        CASE WHEN l.months = 12 THEN g.budget_loaded_gbp
             ELSE g.budget_loaded_gbp * 12.0 / l.months END AS full_year_budget_gbp,
        coalesce(g.forecast_gbp, g.ytd_actual_gbp, 0) AS forecast_outturn_gbp,
        l.months < 12 AS budget_estimated
    FROM grouped g CROSS JOIN loaded l
)
SELECT
    group_id, group_name, full_year_budget_gbp, forecast_outturn_gbp,
    forecast_outturn_gbp - full_year_budget_gbp AS forecast_variance_gbp,
    100 * (forecast_outturn_gbp - full_year_budget_gbp) / nullif(full_year_budget_gbp, 0)
        AS forecast_variance_pct,
    budget_estimated, provisional
FROM scaled
ORDER BY forecast_variance_gbp DESC, group_id
"""


def forecast_outturn(
    board: Board,
    fin_year: str,
    through_month: dt.date | None = None,
    by: GroupBy = "alliance",
    *,
    source_id: str = COSTS_SOURCE,
) -> pd.DataFrame:
    """Forecast outturn as at `through_month` against the full-year budget (GBP).

    One row per group: ``group_id, group_name, full_year_budget_gbp,
    forecast_outturn_gbp, forecast_variance_gbp, forecast_variance_pct, budget_estimated,
    provisional``. The forecast is the latest ``forecast_outturn_gbp`` at the chosen month,
    summed over the group's rows (a group with no row that month, e.g. a service that has
    closed, counts what it spent to date). The full-year budget is the sum of the year's
    phased monthly budgets; if the extract holds fewer than 12 months of the year, it is
    scaled up to 12 and ``budget_estimated`` is true.
    """
    costs = _table(board, source_id)
    fin_year = _check_year(board, fin_year, source_id)
    through = _resolve_through(board, fin_year, through_month, source_id)
    grouped = _grouped(
        _tree(
            _FORECAST_GROUPED_SQL,
            **_group_nodes(by),
            month=literal(through),
            provisional=literal(PROVISIONAL),
        ),
        by,
    )
    query = _tree(_FORECAST_SQL, costs=costs, fin_year=literal(fin_year), grouped=grouped)
    return _run(board, query, f"forecast outturn by {by}")


def year_position(
    board: Board,
    fin_year: str,
    through_month: dt.date | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> YearPosition:
    """The whole alliance's in-month, year-to-date and forecast position (GBP)."""
    through = _resolve_through(board, fin_year, through_month, source_id)
    totals = budget_vs_actual(board, fin_year, "alliance", through, source_id=source_id)
    forecast = forecast_outturn(board, fin_year, through, "alliance", source_id=source_id)
    row, outturn = totals.iloc[0], forecast.iloc[0]
    provisional = [
        m for m in provisional_months(board, fin_year, source_id=source_id) if m <= through
    ]
    return YearPosition(
        fin_year=fin_year,
        through_month=through,
        months_elapsed=fin_month_of(through),
        month_budget_gbp=float(row["month_budget_gbp"]),
        month_actual_gbp=float(row["month_actual_gbp"]),
        ytd_budget_gbp=float(row["ytd_budget_gbp"]),
        ytd_actual_gbp=float(row["ytd_actual_gbp"]),
        full_year_budget_gbp=float(outturn["full_year_budget_gbp"]),
        forecast_outturn_gbp=float(outturn["forecast_outturn_gbp"]),
        budget_estimated=bool(outturn["budget_estimated"]),
        provisional_months=tuple(provisional),
    )


_MONTHLY_SQL = """
WITH months AS (
    SELECT
        month,
        min(fin_month) AS fin_month,
        sum(budget_gbp) AS budget_gbp,
        sum(actual_gbp) AS actual_gbp,
        sum(forecast_outturn_gbp) AS forecast_outturn_gbp,
        max(CASE WHEN data_status = $provisional THEN 1 ELSE 0 END) = 1 AS provisional
    FROM $costs
    WHERE fin_year = $fin_year
    GROUP BY month
)
SELECT
    month, fin_month, budget_gbp, actual_gbp, actual_gbp - budget_gbp AS variance_gbp,
    sum(budget_gbp) OVER (ORDER BY month) AS cumulative_budget_gbp,
    sum(actual_gbp) OVER (ORDER BY month) AS cumulative_actual_gbp,
    sum(actual_gbp - budget_gbp) OVER (ORDER BY month) AS cumulative_variance_gbp,
    forecast_outturn_gbp, provisional
FROM months
ORDER BY month
"""


def monthly_spend(board: Board, fin_year: str, *, source_id: str = COSTS_SOURCE) -> pd.DataFrame:
    """The alliance's spend month by month in a year, with running totals (GBP).

    Columns: ``month, fin_month, budget_gbp, actual_gbp, variance_gbp,
    cumulative_budget_gbp, cumulative_actual_gbp, cumulative_variance_gbp,
    forecast_outturn_gbp, provisional``.
    """
    costs = _table(board, source_id)
    fin_year = _check_year(board, fin_year, source_id)
    query = _tree(
        _MONTHLY_SQL, costs=costs, fin_year=literal(fin_year), provisional=literal(PROVISIONAL)
    )
    frame = _run(board, query, f"monthly spend in {fin_year}")
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


_ACCRUAL_SQL = """
SELECT
    sum(CASE WHEN fin_month = 12 THEN actual_gbp END) AS march_gbp,
    sum(CASE WHEN fin_month < 12 THEN actual_gbp END)
        / nullif(count(DISTINCT CASE WHEN fin_month < 12 THEN month END), 0) AS typical_gbp
FROM $costs
WHERE fin_year = $fin_year
"""


def year_end_accrual(
    board: Board, fin_year: str, *, source_id: str = COSTS_SOURCE
) -> AccrualNote | None:
    """March's spend against the year's average other month (None if March is not loaded)."""
    costs = _table(board, source_id)
    fin_year = _check_year(board, fin_year, source_id)
    query = _tree(_ACCRUAL_SQL, costs=costs, fin_year=literal(fin_year))
    frame = _run(board, query, f"year-end accrual in {fin_year}")
    march, typical = frame.iloc[0]["march_gbp"], frame.iloc[0]["typical_gbp"]
    if pd.isna(march) or pd.isna(typical):
        return None
    return AccrualNote(
        fin_year=fin_year,
        march=dt.date(fin_year_start(fin_year).year + 1, 3, 1),
        march_actual_gbp=float(march),
        typical_month_gbp=float(typical),
    )


# --------------------------------------------------------------------------- unit costs


def _unit_case(index: int, unit_costs: dict[str, UnitCost]) -> exp.Case:
    """A CASE mapping the activity unit to its label (index 0) or multiplier (1)."""
    unit = column("activity_unit")
    default = literal(1) if index else exp.DPipe(this=literal("per "), expression=unit.copy())
    return exp.Case(
        this=unit,
        ifs=[
            exp.If(
                this=literal(name),
                true=literal((12 if spec.per_year else 1) if index else spec.label),
            )
            for name, spec in unit_costs.items()
        ],
        default=default,
    )


# A line's activity by month; `provisional` is 1 if any of the month's rows is, else 0.
_LINE_MONTHS_SQL = """
SELECT
    fin_year, month, service_line_id,
    min(service_line) AS service_line,
    max(activity_unit) AS activity_unit,
    sum(actual_gbp) AS actual_gbp,
    sum(activity_value) AS activity_value,
    max(CASE WHEN data_status = $provisional THEN 1 ELSE 0 END) AS provisional
FROM $costs
GROUP BY fin_year, month, service_line_id
"""

# The unit sits on the row carrying the activity; a month with a missing return has no
# unit either, so a line's unit is its usual one: the unit most of its months record (on a
# tie, the first alphabetically). A line that never records a unit has none and is left
# out.
_UNIT_COSTS_SQL = """
WITH line_months AS ($line_months),
ranked_units AS (
    SELECT
        service_line_id, activity_unit,
        row_number() OVER (
            PARTITION BY service_line_id ORDER BY count(*) DESC, activity_unit
        ) AS unit_rank
    FROM line_months
    WHERE activity_unit IS NOT NULL
    GROUP BY service_line_id, activity_unit
),
line_units AS (
    SELECT service_line_id, activity_unit AS line_unit FROM ranked_units WHERE unit_rank = 1
),
providers AS (
    SELECT service_line_id, string_agg(provider_id, ', ' ORDER BY provider_id) AS providers
    FROM (SELECT DISTINCT service_line_id, provider_id FROM $costs) AS line_providers
    GROUP BY service_line_id
),
yearly AS (
    SELECT
        fin_year, service_line_id,
        min(service_line) AS service_line,
        sum(CASE WHEN activity_value IS NOT NULL THEN actual_gbp END) AS spend_gbp,
        sum(activity_value) AS activity,
        count(CASE WHEN activity_value IS NOT NULL THEN 1 END) AS months_with_activity,
        count(CASE WHEN activity_value IS NULL THEN 1 END) AS months_without_activity,
        max(provisional) = 1 AS provisional
    FROM line_months
    GROUP BY fin_year, service_line_id
),
with_unit AS (
    SELECT y.*, u.line_unit AS activity_unit
    FROM yearly y JOIN line_units u ON u.service_line_id = y.service_line_id
),
costed AS (
    SELECT
        w.*, p.providers,
        $unit_label AS unit_label,
        w.spend_gbp / nullif(w.activity, 0) * $unit_multiplier AS unit_cost_gbp
    FROM with_unit w JOIN providers p ON p.service_line_id = w.service_line_id
)
SELECT
    fin_year, service_line_id, service_line, providers, activity_unit, unit_label,
    spend_gbp, activity, unit_cost_gbp, months_with_activity, months_without_activity,
    provisional,
    lag(unit_cost_gbp) OVER (PARTITION BY service_line_id ORDER BY fin_year)
        AS previous_unit_cost_gbp,
    100 * (
        unit_cost_gbp
        / nullif(lag(unit_cost_gbp) OVER (PARTITION BY service_line_id ORDER BY fin_year), 0)
        - 1
    ) AS change_pct
FROM costed
ORDER BY service_line_id, fin_year
"""


def unit_cost_trend(
    board: Board,
    *,
    fin_year: str | None = None,
    through_month: dt.date | None = None,
    source_id: str = COSTS_SOURCE,
) -> pd.DataFrame:
    """Unit cost per service line and financial year (GBP per unit of activity).

    A line's unit cost = its spend (every provider and cost type) / its activity, over the
    months in which the activity is recorded: a month with blank activity (a missing
    return, e.g. the Evening Sanctuary in November and December 2022) is left out of both
    sides rather than counted as free. Caseload lines give the cost per person supported a
    year. With `fin_year` and `through_month`, that year counts only months up to then.

    Columns: ``fin_year, service_line_id, service_line, providers, activity_unit,
    unit_label, spend_gbp, activity, unit_cost_gbp, months_with_activity,
    months_without_activity, provisional, previous_unit_cost_gbp, change_pct``.
    """
    costs = _table(board, source_id)
    line_months = _tree(_LINE_MONTHS_SQL, costs=costs, provisional=literal(PROVISIONAL))
    if fin_year is not None and through_month is not None:
        fin_year = _check_year(board, fin_year, source_id)
        through = _resolve_through(board, fin_year, through_month, source_id)
        cut = exp.or_(
            exp.NEQ(this=column("fin_year"), expression=literal(fin_year)),
            exp.LTE(this=column("month"), expression=literal(through)),
            copy=False,
        )
        line_months = line_months.where(cut, copy=False)
    query = _tree(
        _UNIT_COSTS_SQL,
        line_months=line_months,
        costs=costs,
        unit_label=_unit_case(0, money_settings(board).unit_costs),
        unit_multiplier=_unit_case(1, money_settings(board).unit_costs),
    )
    return _run(board, query, "unit costs")


def unit_costs(
    board: Board,
    fin_year: str,
    through_month: dt.date | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> pd.DataFrame:
    """Unit costs in one financial year (to `through_month`), with the change on the year
    before (GBP per unit; see `unit_cost_trend` for the columns). Sorted with the bed-day
    lines first, so the NHS and private bed-day costs sit together."""
    fin_year = _check_year(board, fin_year, source_id)
    trend = unit_cost_trend(
        board, fin_year=fin_year, through_month=through_month, source_id=source_id
    )
    year = trend[trend["fin_year"] == fin_year].copy()
    year["_order"] = (year["activity_unit"] != "bed days").astype(int)
    year = year.sort_values(["_order", "unit_cost_gbp"], ascending=[True, False])
    return year.drop(columns="_order").reset_index(drop=True)


def bed_day_sentence(frame: pd.DataFrame, period: str = "") -> str:
    """'In 2024/25 to date (...), an NHS acute bed day cost £X; a private or out-of-area bed
    day £Y (N times as much).' `period` names the span (period_words)."""
    beds = frame[(frame["activity_unit"] == "bed days") & frame["unit_cost_gbp"].notna()]
    nhs = beds[beds["service_line_id"] == "acute_inpatient"]
    private = beds[beds["service_line_id"] == "private_beds"]
    if nhs.empty or private.empty:
        return ""
    nhs_cost = float(nhs["unit_cost_gbp"].iloc[0])
    private_cost = float(private["unit_cost_gbp"].iloc[0])
    lead = f"In {period}, an" if period else "An"
    return (
        f"{lead} occupied NHS acute bed day cost {format_money(nhs_cost)}; a private or "
        f"out-of-area bed day cost {format_money(private_cost)} "
        f"({private_cost / nhs_cost:.1f} times as much)."
    )


# --------------------------------------------------------------------------- savings


def default_baseline_year(board: Board, *, source_id: str = COSTS_SOURCE) -> str:
    """The last full financial year before the first service change in interventions.yaml
    (2014/15 for IPSA's April 2015 go-live); the first year in the data if that is not
    loaded."""
    years = financial_years(board, source_id)
    if not years:
        raise MoneyError("the cost data hold no financial years")
    changes = [
        i.start for i in board.catalogue.interventions.values() if i.kind == "service_change"
    ]
    if changes:
        first = min(changes)
        before = dt.date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
        candidate = fin_year_of(before)
        if candidate in years and len(year_months(board, candidate, source_id)) == 12:
            return candidate
    return years[0]


_TARGET_SQL = "SELECT $service_line_id AS service_line_id, $target_share AS target_share"
_NO_TARGETS_SQL = (
    "SELECT CAST(NULL AS VARCHAR) AS service_line_id, CAST(NULL AS DOUBLE) AS target_share"
)

_SAVINGS_SQL = """
WITH compared AS (
    SELECT * FROM $costs
    WHERE fin_year IN ($fin_year, $baseline_year) AND fin_month <= $months
),
lines AS (
    SELECT
        service_line_id, min(service_line) AS service_line, 0 AS _order,
        sum(CASE WHEN fin_year = $baseline_year THEN actual_gbp END) AS baseline_actual_gbp,
        coalesce(sum(CASE WHEN fin_year = $fin_year THEN actual_gbp END), 0) AS actual_gbp,
        coalesce(sum(CASE WHEN fin_year = $fin_year THEN budget_gbp END), 0) AS budget_gbp,
        max(CASE WHEN fin_year = $fin_year AND data_status = $provisional THEN 1 ELSE 0 END) = 1
            AS provisional
    FROM compared
    GROUP BY service_line_id
    UNION ALL
    SELECT
        $alliance_id, $alliance_name, 1,
        sum(CASE WHEN fin_year = $baseline_year THEN actual_gbp END),
        coalesce(sum(CASE WHEN fin_year = $fin_year THEN actual_gbp END), 0),
        coalesce(sum(CASE WHEN fin_year = $fin_year THEN budget_gbp END), 0),
        max(CASE WHEN fin_year = $fin_year AND data_status = $provisional THEN 1 ELSE 0 END) = 1
    FROM compared
),
targets AS ($targets)
SELECT
    l.service_line_id, l.service_line,
    $baseline_year AS baseline_year, $fin_year AS fin_year, $months AS months,
    l.baseline_actual_gbp, l.actual_gbp,
    l.baseline_actual_gbp - l.actual_gbp AS saving_gbp,
    100 * (l.baseline_actual_gbp - l.actual_gbp) / nullif(l.baseline_actual_gbp, 0)
        AS saving_pct,
    l.budget_gbp,
    100 * t.target_share AS target_pct,
    t.target_share * l.budget_gbp AS target_saving_gbp,
    CASE WHEN t.target_share IS NULL OR l.baseline_actual_gbp IS NULL
            OR $fin_year = $baseline_year THEN NULL
         ELSE l.baseline_actual_gbp - l.actual_gbp
            >= t.target_share * l.budget_gbp - $tolerance
    END AS target_met,
    l.provisional
FROM lines l LEFT JOIN targets t ON t.service_line_id = l.service_line_id
ORDER BY
    l._order,
    CASE WHEN t.target_share IS NULL THEN 1 ELSE 0 END,
    saving_gbp DESC NULLS LAST,
    l.service_line_id
"""


def _targets(targets: dict[str, float]) -> exp.Query:
    """The savings targets as rows: service_line_id, target_share."""
    rows = [
        _tree(_TARGET_SQL, service_line_id=literal(line), target_share=literal(share))
        for line, share in targets.items()
    ]
    if not rows:
        return _tree(_NO_TARGETS_SQL)
    return exp.union(*rows, distinct=False, copy=False) if len(rows) > 1 else rows[0]


def savings_against_baseline(
    board: Board,
    fin_year: str,
    baseline_year: str | None = None,
    through_month: dt.date | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> pd.DataFrame:
    """Cash spend by service line against a baseline year, like for like (GBP).

    Both years are summed over the same months (April to the chosen month), so a part year
    is compared with the same part of the baseline. One row per service line plus a last
    row ``service_line_id = 'alliance'`` for the whole pool. Columns: ``service_line_id,
    service_line, baseline_year, fin_year, months, baseline_actual_gbp, actual_gbp,
    saving_gbp (baseline - actual; positive is a saving), saving_pct, budget_gbp,
    target_pct, target_saving_gbp, target_met, provisional``. A line that did not exist in
    the baseline year has no baseline and no saving. A target (IPSA: save 20% of its
    budget) is met when the saving against the baseline is at least target x budget.
    """
    costs = _table(board, source_id)
    fin_year = _check_year(board, fin_year, source_id)
    baseline = _check_year(
        board, baseline_year or default_baseline_year(board, source_id=source_id), source_id
    )
    through = _resolve_through(board, fin_year, through_month, source_id)
    query = _tree(
        _SAVINGS_SQL,
        costs=costs,
        fin_year=literal(fin_year),
        baseline_year=literal(baseline),
        months=literal(fin_month_of(through)),
        provisional=literal(PROVISIONAL),
        alliance_id=literal(ALLIANCE_ID),
        alliance_name=literal(ALLIANCE_NAME),
        targets=_targets(money_settings(board).savings_targets),
        tolerance=literal(ON_BUDGET_TOLERANCE_GBP),
    )
    return _run(board, query, f"savings in {fin_year} against {baseline}")


def line_savings(
    board: Board,
    fin_year: str,
    service_line_id: str | None = None,
    baseline_year: str | None = None,
    through_month: dt.date | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> Savings | None:
    """One line's savings against the baseline (IPSA by default); None if it has no rows."""
    frame = savings_against_baseline(
        board, fin_year, baseline_year, through_month, source_id=source_id
    )
    return _savings_from(frame, service_line_id or money_settings(board).headline_line)


def _savings_from(frame: pd.DataFrame, service_line_id: str) -> Savings | None:
    rows = frame[frame["service_line_id"] == service_line_id]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return Savings(
        service_line_id=service_line_id,
        service_line=str(row["service_line"]),
        fin_year=str(row["fin_year"]),
        baseline_year=str(row["baseline_year"]),
        months=int(row["months"]),
        baseline_actual_gbp=None
        if pd.isna(row["baseline_actual_gbp"])
        else float(row["baseline_actual_gbp"]),
        actual_gbp=float(row["actual_gbp"]),
        budget_gbp=float(row["budget_gbp"]),
        target_share=None if pd.isna(row["target_pct"]) else float(row["target_pct"]) / 100,
        provisional=bool(row["provisional"]),
    )


def savings_sentence(savings: Savings, *, mention_provisional: bool = True) -> str:
    """The line's saving against its baseline and target in one or two sentences."""
    name = "IPSA" if savings.service_line_id == IPSA_LINE else savings.service_line
    period = f"in {savings.fin_year}" + ("" if savings.months == 12 else " to date")
    if savings.is_baseline:
        return (
            f"{name} spent {format_money(savings.actual_gbp)} {period}: this is the baseline "
            "year that savings are measured against."
        )
    if savings.baseline_actual_gbp is None or savings.saving_gbp is None:
        text = (
            f"{name} spent {format_money(savings.actual_gbp)} {period}; it had no spend in "
            f"{savings.baseline_year} to compare with."
        )
    else:
        less = "less" if savings.saving_gbp >= 0 else "more"
        pct = savings.saving_pct or 0.0
        text = (
            f"{name} spent {format_money(savings.actual_gbp)} {period}, "
            f"{format_money(abs(savings.saving_gbp))} ({abs(pct):.1f}%) {less} than in "
            f"{'' if savings.months == 12 else 'the same months of '}{savings.baseline_year} "
            f"({format_money(savings.baseline_actual_gbp)})."
        )
    if savings.target_met is not None and savings.target_saving_gbp is not None:
        verdict = "met" if savings.target_met else "not met"
        text += (
            f" Its target, to save {savings.target_share:.0%} of its "
            f"{format_money(savings.budget_gbp)} budget"
            f"{'' if savings.months == 12 else ' for these months'} "
            f"({format_money(savings.target_saving_gbp)}), is {verdict}."
        )
    if savings.provisional and mention_provisional:
        text += " Some of these months are provisional."
    return text


# --------------------------------------------------------------------------- summary


def _period_words(fin_year: str, months: int) -> str:
    start = fin_year_start(fin_year)
    end = dt.date(start.year + (months + 2) // 12, (start.month + months - 2) % 12 + 1, 1)
    if months == 12:
        return f"in {fin_year} (the full year, April {start.year} to March {end.year})"
    return f"in {fin_year} to date (April {start.year} to {end:%B %Y}, {months} months)"


def _variance_words(variance: float, budget: float) -> str:
    pct = _pct(variance, budget)
    pct_text = f" ({abs(pct):.1f}%)" if pct is not None else ""
    if abs(variance) <= ON_BUDGET_TOLERANCE_GBP:
        return "on budget"
    kind = "an overspend" if variance > 0 else "an underspend"
    return f"{kind} of {format_money(abs(variance))}{pct_text}"


def _month_list(months: tuple[dt.date, ...] | list[dt.date]) -> str:
    names = [f"{m:%B %Y}" for m in months]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def money_summary(
    board: Board,
    fin_year: str,
    through_month: dt.date | None = None,
    *,
    baseline_year: str | None = None,
    source_id: str = COSTS_SOURCE,
) -> str:
    """One paragraph a board member can read aloud: spend against budget to date, the
    forecast outturn, the largest overspend, IPSA savings, the March accrual and which
    months are provisional."""
    return _summary(
        year_position(board, fin_year, through_month, source_id=source_id),
        budget_vs_actual(board, fin_year, "service_line", through_month, source_id=source_id),
        line_savings(board, fin_year, None, baseline_year, through_month, source_id=source_id),
        year_end_accrual(board, fin_year, source_id=source_id),
        _typical_cost_revision(board),
    )


def _typical_cost_revision(board: Board) -> float | None:
    # Imported here: the data-quality engine is optional for the money figures.
    from metrics.analyses.data_quality import DataQualityError, typical_revision

    try:
        return typical_revision(board, "costs:actual_gbp")
    except DataQualityError:
        return None


def _summary(
    position: YearPosition,
    by_line: pd.DataFrame,
    ipsa: Savings | None,
    accrual: AccrualNote | None,
    cost_revision_pct: float | None,
) -> str:
    period = _period_words(position.fin_year, position.months_elapsed)
    parts = [
        f"The alliance spent {format_money(position.ytd_actual_gbp)} against a budget of "
        f"{format_money(position.ytd_budget_gbp)} {period}, "
        f"{_variance_words(position.ytd_variance_gbp, position.ytd_budget_gbp)}."
    ]
    forecast_kind = "outturn" if position.full_year else "forecast outturn"
    estimated = " (estimated from the months loaded)" if position.budget_estimated else ""
    parts.append(
        f"The {forecast_kind} at {position.through_month:%B %Y} is "
        f"{format_money(position.forecast_outturn_gbp)} against a full-year budget of "
        f"{format_money(position.full_year_budget_gbp)}{estimated}, "
        f"{_variance_words(position.forecast_variance_gbp, position.full_year_budget_gbp)}."
    )
    over = by_line[by_line["status"] == "overspend"]
    if not over.empty:
        top = over.iloc[0]
        parts.append(
            f"The largest overspend is on {top['group_name']} "
            f"({format_money(float(top['ytd_variance_gbp']))} over budget "
            f"{'for the year' if position.full_year else 'to date'})."
        )
    if ipsa is not None:
        parts.append(savings_sentence(ipsa, mention_provisional=False))
    if accrual is not None and accrual.march <= position.through_month:
        uplift = accrual.uplift_pct
        if uplift is not None and uplift > 0:
            parts.append(
                f"{accrual.march:%B %Y} includes the year-end accrual spike: "
                f"{format_money(accrual.march_actual_gbp)}, {uplift:.0f}% above the year's "
                "average month."
            )
    if position.provisional_months:
        text = (
            f"Figures for {_month_list(position.provisional_months)} are provisional and "
            "will probably rise when final"
        )
        if cost_revision_pct is not None:
            text += (
                f" (monthly spend has typically risen by {cost_revision_pct:.1f}% between "
                "first report and final)"
            )
        parts.append(text + ".")
    return " ".join(parts)


def money_report(
    board: Board,
    fin_year: str | None = None,
    through_month: dt.date | None = None,
    baseline_year: str | None = None,
    *,
    source_id: str = COSTS_SOURCE,
) -> MoneyReport:
    """Every figure the Money page shows, for one year (default: the latest) to a month."""
    fin_year = _check_year(board, fin_year or latest_financial_year(board, source_id), source_id)
    through = _resolve_through(board, fin_year, through_month, source_id)
    baseline = _check_year(
        board, baseline_year or default_baseline_year(board, source_id=source_id), source_id
    )
    # Once per board and resolved choice, shared by every session (and warmed at start).
    return board.memo(
        ("money_report", fin_year, through, baseline, source_id),
        lambda: _money_report(board, fin_year, through, baseline, source_id),
    )


def _money_report(
    board: Board, fin_year: str, through: dt.date, baseline: str, source_id: str
) -> MoneyReport:
    position = year_position(board, fin_year, through, source_id=source_id)
    by_line = budget_vs_actual(board, fin_year, "service_line", through, source_id=source_id)
    savings = savings_against_baseline(board, fin_year, baseline, through, source_id=source_id)
    ipsa = _savings_from(savings, money_settings(board).headline_line)
    accrual = year_end_accrual(board, fin_year, source_id=source_id)
    return MoneyReport(
        fin_year=fin_year,
        through_month=through,
        baseline_year=baseline,
        position=position,
        by_provider=budget_vs_actual(board, fin_year, "provider", through, source_id=source_id),
        by_service_line=by_line,
        forecast_by_service_line=forecast_outturn(
            board, fin_year, through, "service_line", source_id=source_id
        ),
        monthly=monthly_spend(board, fin_year, source_id=source_id),
        unit_costs=unit_costs(board, fin_year, through, source_id=source_id),
        unit_cost_trend=unit_cost_trend(board, source_id=source_id),
        savings=savings,
        ipsa=ipsa,
        accrual=accrual,
        summary=_summary(position, by_line, ipsa, accrual, _typical_cost_revision(board)),
    )


# --------------------------------------------------------------------------- display tables


def _money_or_dash(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else format_money(float(value))


def signed_money(value: float | None) -> str:
    """An amount with its sign written (+£1.2m, -£0.4m; an en dash when there is none)."""
    if value is None or pd.isna(value):
        return "–"
    return ("+" if value > 0 else "") + format_money(float(value))


def _pct_text(value: float | None, signed: bool = True) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+.1f}%" if signed else f"{value:.1f}%"


def budget_display(frame: pd.DataFrame, group_title: str) -> pd.DataFrame:
    """A budget_vs_actual frame as a board-paper table (GBP as £1.23m, variances signed)."""
    return pd.DataFrame(
        {
            group_title: frame["group_name"],
            "Budget (in month)": frame["month_budget_gbp"].map(_money_or_dash),
            "Actual (in month)": frame["month_actual_gbp"].map(_money_or_dash),
            "Variance (in month)": frame["month_variance_gbp"].map(signed_money),
            "Budget (year to date)": frame["ytd_budget_gbp"].map(_money_or_dash),
            "Actual (year to date)": frame["ytd_actual_gbp"].map(_money_or_dash),
            "Variance (year to date)": frame["ytd_variance_gbp"].map(signed_money),
            "Variance %": frame["ytd_variance_pct"].map(_pct_text),
            "Position": frame["status"].str.capitalize(),
            "Provisional months": frame["provisional"].map(lambda p: "yes" if p else ""),
        }
    )


def forecast_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A forecast_outturn frame as a board-paper table."""
    return pd.DataFrame(
        {
            "Service line": frame["group_name"],
            "Full-year budget": frame["full_year_budget_gbp"].map(_money_or_dash),
            "Forecast outturn": frame["forecast_outturn_gbp"].map(_money_or_dash),
            "Variance": frame["forecast_variance_gbp"].map(signed_money),
            "Variance %": frame["forecast_variance_pct"].map(_pct_text),
        }
    )


def unit_cost_display(frame: pd.DataFrame, period: str = "") -> pd.DataFrame:
    """A unit_costs frame as a table: cost per unit over `period` (period_words), the same
    months a year before, and the change."""
    return pd.DataFrame(
        {
            "Service line": frame["service_line"],
            "Providers": frame["providers"],
            "Unit": frame["unit_label"],
            f"Unit cost, {period}" if period else "Unit cost": frame["unit_cost_gbp"].map(
                _money_or_dash
            ),
            "Same months a year before": frame["previous_unit_cost_gbp"].map(_money_or_dash),
            "Change": frame["change_pct"].map(_pct_text),
            "Spend counted": frame["spend_gbp"].map(_money_or_dash),
            "Activity": frame["activity"].map(lambda v: "–" if pd.isna(v) else f"{float(v):,.0f}"),
            "Months without activity": frame["months_without_activity"].astype(int),
            "Provisional months": frame["provisional"].map(lambda p: "yes" if p else ""),
        }
    )


def savings_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A savings_against_baseline frame as a table."""
    baseline = str(frame["baseline_year"].iloc[0]) if not frame.empty else "baseline"
    year = str(frame["fin_year"].iloc[0]) if not frame.empty else "this year"
    return pd.DataFrame(
        {
            "Service line": frame["service_line"],
            f"Spend {baseline}": frame["baseline_actual_gbp"].map(_money_or_dash),
            f"Spend {year}": frame["actual_gbp"].map(_money_or_dash),
            "Saving": frame["saving_gbp"].map(signed_money),
            "Saving %": frame["saving_pct"].map(_pct_text),
            "Target saving": [
                "" if pd.isna(pct) else f"{pct:.0f}% of budget ({format_money(float(gbp))})"
                for pct, gbp in zip(frame["target_pct"], frame["target_saving_gbp"], strict=True)
            ],
            "Target met": frame["target_met"].map(
                lambda v: "" if v is None or pd.isna(v) else ("yes" if v else "no")
            ),
        }
    )


# --------------------------------------------------------------------------- charts


def budget_actual_alt_text(frame: pd.DataFrame, what: str) -> str:
    """The budget chart in words: totals, and every overspend."""
    if frame.empty:
        return f"Budget against actual by {what}: no data."
    over = frame[frame["status"] == "overspend"]
    under = frame[frame["status"] == "underspend"]
    text = (
        f"Bar chart of spend to date against budget by {what}: {len(over)} of {len(frame)} "
        "over budget."
    )
    if not over.empty:
        text += " Over budget: " + "; ".join(
            f"{r.group_name} {signed_money(r.ytd_variance_gbp)} ({_pct_text(r.ytd_variance_pct)})"
            for r in over.itertuples()
        )
        text += "."
    if not under.empty:
        text += " Under budget: " + "; ".join(
            f"{r.group_name} {signed_money(r.ytd_variance_gbp)}" for r in under.itertuples()
        )
        text += "."
    return text


def cumulative_alt_text(monthly: pd.DataFrame, fin_year: str) -> str:
    if monthly.empty:
        return f"Cumulative spend in {fin_year}: no data."
    last = monthly.iloc[-1]
    gap = float(last["cumulative_variance_gbp"])
    where = "above" if gap > 0 else "below"
    crossing = monthly[monthly["cumulative_variance_gbp"] > 0]
    text = (
        f"Line chart of cumulative spend against cumulative budget in {fin_year}, "
        f"{monthly['month'].iloc[0]:%B %Y} to {last['month']:%B %Y}. By {last['month']:%B %Y} "
        f"spend was {format_money(float(last['cumulative_actual_gbp']))} against "
        f"{format_money(float(last['cumulative_budget_gbp']))} budgeted, "
        f"{format_money(abs(gap))} {where} budget."
    )
    if not crossing.empty:
        text += f" Cumulative spend first ran above budget in {crossing['month'].iloc[0]:%B %Y}."
    return text


def cumulative_variance_alt_text(monthly: pd.DataFrame, fin_year: str) -> str:
    if monthly.empty:
        return f"Variance to date in {fin_year}: no data."
    steps = "; ".join(
        f"{m:%b %Y} {signed_money(v)}"
        for m, v in zip(monthly["month"], monthly["cumulative_variance_gbp"], strict=True)
    )
    return (
        f"Bar chart of the running variance against budget in {fin_year} (positive is over "
        f"budget): {steps}."
    )


def unit_cost_alt_text(trend: pd.DataFrame, service_line_ids: list[str]) -> str:
    data = trend[trend["service_line_id"].isin(service_line_ids) & trend["unit_cost_gbp"].notna()]
    if data.empty:
        return "Unit cost trend: no data."
    parts = []
    for _, rows in data.groupby("service_line_id", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        before = format_money(first["unit_cost_gbp"])
        after = format_money(last["unit_cost_gbp"])
        parts.append(
            f"{last['service_line']} {last['unit_label']}: {before} in {first['fin_year']} "
            f"to {after} in {last['fin_year']}"
        )
    return "Unit cost by financial year. " + "; ".join(parts) + "."
