"""The Money page's choice (financial year, the month the year to date runs to, the
savings baseline) and its charts, made once per board and shared by every reader.

The page lays them out; the server's start-up warm (and each reload's) makes the opening
choice's charts the same way before anyone asks (`warm_money`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass

import pandas as pd

from metrics.analyses.money import (
    MoneyError,
    MoneyReport,
    budget_actual_alt_text,
    cumulative_alt_text,
    cumulative_variance_alt_text,
    default_baseline_year,
    financial_years,
    money_report,
    unit_cost_alt_text,
    year_months,
)
from metrics.board import Board
from metrics.charts.money_chart import (
    budget_actual_chart,
    cumulative_chart,
    cumulative_variance_chart,
    unit_cost_chart,
)
from metrics.labels import chart_title
from metrics.ui.components import ChartPart, warm_part

# The service lines the unit-cost trend opens on (those the data hold).
OPENING_UNIT_LINES = ("acute_inpatient", "private_beds", "supported_accommodation", "ipsa")
# The two budget tabs: (grouping column, key).
BUDGET_TABS = (("Provider", "budget_by_provider"), ("Service line", "budget_by_line"))


def baseline_choices(years: list[str], fin_year: str) -> list[str]:
    """The years a savings baseline can be: those before `fin_year` (or itself alone)."""
    return [y for y in years if y < fin_year] or [fin_year]


def opening_baseline(board: Board, baselines: list[str]) -> str:
    """The baseline the page opens on: the last full year before the first service change,
    if it can be one, else the earliest."""
    usual = default_baseline_year(board)
    return usual if usual in baselines else baselines[0]


@dataclass(frozen=True)
class MoneyView:
    """One reader's choice on the Money page, with its report."""

    board: Board
    report: MoneyReport

    @property
    def key(self) -> tuple[Hashable, ...]:
        report = self.report
        return ("money", report.fin_year, report.through_month, report.baseline_year)

    def budget_chart(self, group: str, key: str) -> ChartPart:
        frame = self.report.by_provider if group == "Provider" else self.report.by_service_line
        noun = group.lower()
        return ChartPart(
            lambda: budget_actual_chart(frame),
            lambda: budget_actual_alt_text(frame, noun),
            (*self.key, key),
            chart_title(
                f"Spend against budget by {noun}, {self.report.fin_year}", self.board.catalogue
            ),
            f"spend to date for each {noun} as a bar, with the budget to date as a black "
            "line; the label says how far over or under budget each is. Orange bars are over "
            "budget, blue under.",
        )

    def cumulative_chart(self) -> ChartPart:
        monthly, fin_year = self.report.monthly, self.report.fin_year
        return ChartPart(
            lambda: cumulative_chart(monthly),
            lambda: cumulative_alt_text(monthly, fin_year),
            (*self.key, "cumulative"),
            chart_title(f"Spend and budget so far, {fin_year}", self.board.catalogue),
            "running totals of spend (solid line, dots) and budget (dashed line, squares) from "
            "April. Where the solid line is above the dashed one, the alliance is over budget "
            "to date. Shaded months are provisional.",
        )

    def cumulative_variance_chart(self) -> ChartPart:
        monthly, fin_year = self.report.monthly, self.report.fin_year
        return ChartPart(
            lambda: cumulative_variance_chart(monthly),
            lambda: cumulative_variance_alt_text(monthly, fin_year),
            (*self.key, "cumulative_variance"),
            chart_title(f"Over or under budget so far, {fin_year}", self.board.catalogue),
            "the gap between the two lines above: how far over (bars above zero, orange) or "
            "under (below zero, blue) budget the alliance was by the end of each month, with "
            "the amount written on each bar. Paler bars are provisional months.",
        )

    def unit_cost_lines(self) -> dict[str, str]:
        """Service line ids with their names, as the trend chart offers them."""
        trend: pd.DataFrame = self.report.unit_cost_trend
        return dict(zip(trend["service_line_id"], trend["service_line"], strict=False))

    def opening_unit_lines(self) -> list[str]:
        lines = self.unit_cost_lines()
        return [line for line in OPENING_UNIT_LINES if line in lines]

    def unit_cost_chart(self, chosen: list[str]) -> ChartPart:
        trend = self.report.unit_cost_trend
        return ChartPart(
            lambda: unit_cost_chart(trend, chosen),
            lambda: unit_cost_alt_text(trend, chosen),
            (*self.key, "unit_costs", tuple(chosen)),
            chart_title("Unit costs by financial year", self.board.catalogue),
            "the unit cost of each chosen service line by financial year, one panel each "
            "with its own scale. A hollow diamond marks a year that includes provisional "
            "months.",
        )


def opening_view(board: Board) -> MoneyView | None:
    """The page's opening choice: the latest year, to its latest month, against the usual
    baseline (None when there are no cost figures)."""
    try:
        years = financial_years(board)
        if not years:
            return None
        fin_year = years[-1]
        months: list[dt.date] = year_months(board, fin_year)
        if not months:
            return None
        baseline = opening_baseline(board, baseline_choices(years, fin_year))
        return MoneyView(board, money_report(board, fin_year, months[-1], baseline))
    except MoneyError:
        return None


def warm_money(board: Board) -> None:
    """Make the charts of the page's opening choice, the way the page makes them."""
    view = opening_view(board)
    if view is None:
        return
    parts = [view.budget_chart(group, key) for group, key in BUDGET_TABS]
    parts += [view.cumulative_chart(), view.cumulative_variance_chart()]
    lines = view.opening_unit_lines()
    if lines:
        parts.append(view.unit_cost_chart(lines))
    for part in parts:
        warm_part(part, board)
