"""Money: the pooled budget against spend by provider and service line, the forecast
outturn, unit costs and savings against the pre-alliance baseline.

Deep link: ?year=2024/25 (optionally &through=2024-12 and &baseline=2014/15).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from metrics.analyses.money import (
    MoneyError,
    bed_day_sentence,
    budget_display,
    default_baseline_year,
    financial_years,
    forecast_display,
    money_report,
    period_words,
    savings_display,
    savings_sentence,
    unit_cost_display,
    year_months,
)
from metrics.analyses.reading import month_label
from metrics.formatting import format_money
from metrics.labels import code_list_label
from metrics.ui.components import (
    cached_table,
    downloads,
    draw_part,
    fitted_table,
    plain,
    unknown_in_link,
)
from metrics.ui.money_view import MoneyView, baseline_choices, opening_baseline
from metrics.ui.state import page_context, url_param


def signed(value: float) -> str:
    return ("+" if value > 0 else "") + format_money(value)


state, filters = page_context()


def unit_costs_in_words(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """The unit-cost table with providers named as config labels them (not their codes)."""
    table = unit_cost_display(frame, period)
    table["Providers"] = [
        code_list_label(state.board.catalogue, "provider_id", codes) for codes in table["Providers"]
    ]
    return table


# The monthly frame's columns in board words (pounds to the penny, months as 'Apr 2024').
MONTHLY_WORDS = {
    "month": "Month",
    "fin_month": "Month of the financial year",
    "budget_gbp": "Budget (£)",
    "actual_gbp": "Actual (£)",
    "variance_gbp": "Variance (£)",
    "cumulative_budget_gbp": "Budget to date (£)",
    "cumulative_actual_gbp": "Actual to date (£)",
    "cumulative_variance_gbp": "Variance to date (£)",
    "forecast_outturn_gbp": "Forecast outturn (£)",
    "provisional": "Provisional",
}


# On screen the units go in the captions above the tables (headings stay short).
MONTHLY_SHORT = {
    "Budget (£)": "Budget",
    "Actual (£)": "Actual",
    "Variance (£)": "Variance",
    "Budget to date (£)": "Budget to date",
    "Actual to date (£)": "Actual to date",
    "Variance to date (£)": "Variance to date",
    "Forecast outturn (£)": "Forecast outturn",
}


def money_widths(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """Widths (px) for pound columns shown with thousands separators (-1,234,567.89)."""
    widths = {}
    for column in columns:
        values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
        cell = max((len(f"{v:,.2f}") for v in values), default=0)
        label = MONTHLY_SHORT[MONTHLY_WORDS[column]]
        widths[MONTHLY_WORDS[column]] = int(max(cell, len(label)) * 7.4) + 30
    return widths


def monthly_in_words(frame: pd.DataFrame) -> pd.DataFrame:
    table = frame.copy()
    if "month" in table:
        table["month"] = [month_label(m) for m in table["month"]]
    if "provisional" in table:
        table["provisional"] = table["provisional"].map(lambda p: "yes" if p else "")
    return table.rename(columns=MONTHLY_WORDS)


board = state.board

st.title("Money")
st.caption(
    "The pooled alliance budget against what was spent, by provider and service line "
    "(GBP, accruals basis; financial years run April to March). Variance is actual minus "
    "budget, so a positive variance is an overspend. Money is not about individuals, so no "
    "small-number suppression applies to these figures. Costs are not recorded by "
    "neighbourhood, so the neighbourhood filter does not apply here."
)

try:
    years = financial_years(board)
except MoneyError as exc:
    st.warning(f"Cost figures are unavailable: {plain(exc)}")
    st.stop()
if not years:
    st.warning("The cost data hold no financial years.")
    st.stop()

# Financial year and the month the year to date runs to (both kept in the link).
requested_year = url_param("year")
if requested_year and requested_year not in years:
    unknown_in_link("year", requested_year, what="financial year", instead="the latest year")
newest_first = years[::-1]
left, middle, right = st.columns(3)
fin_year = left.selectbox(
    "Financial year",
    newest_first,
    index=newest_first.index(requested_year) if requested_year in years else 0,
    key="money_year",
)
months = year_months(board, fin_year)
requested_through = url_param("through")
through_options = [f"{m:%Y-%m}" for m in months]
# The month and baseline in the link belong to the link's year: once the reader picks
# another year, they no longer apply, and that is not worth a notice.
link_year = (requested_year or fin_year) == fin_year
if link_year and requested_through and requested_through not in through_options:
    unknown_in_link(
        "through", requested_through, what="month in that year", instead="the latest month"
    )
through_text = middle.selectbox(
    "Year to date up to",
    through_options,
    index=through_options.index(requested_through)
    if requested_through in through_options
    else len(through_options) - 1,
    format_func=lambda m: dt.datetime.strptime(m, "%Y-%m").strftime("%B %Y"),
    key=f"money_through_{fin_year}",
)
through = months[through_options.index(through_text)]
baselines = baseline_choices(years, fin_year)
requested_baseline = url_param("baseline")
default_baseline = default_baseline_year(board)
if link_year and requested_baseline and requested_baseline not in baselines:
    unknown_in_link(
        "baseline", requested_baseline, what="baseline year", instead="the usual baseline"
    )
baseline_year = right.selectbox(
    "Savings baseline year",
    baselines,
    index=baselines.index(
        requested_baseline
        if requested_baseline in baselines
        else opening_baseline(board, baselines)
    ),
    key=f"money_baseline_{fin_year}",
    help="Savings compare each service line's spend with the same months of this year. "
    "The default is the last full year before the first alliance service change (IPSA, "
    "April 2015).",
)
st.query_params["year"] = fin_year
st.query_params["through"] = through_text
if baseline_year == default_baseline:
    st.query_params.pop("baseline", None)
else:
    st.query_params["baseline"] = baseline_year

report = money_report(board, fin_year, through, baseline_year)
# What the page draws from the report is made once per board and choice (metrics.ui).
view = MoneyView(board, report)
report_key = view.key
position = report.position

st.markdown(plain(report.summary))

# Headline tiles: year to date, then the year-end view.
ytd_word = "full year" if position.full_year else f"to {position.through_month:%b %Y}"
tiles = st.columns(4)
tiles[0].metric(f"Spend ({ytd_word})", format_money(position.ytd_actual_gbp))
tiles[1].metric(f"Budget ({ytd_word})", format_money(position.ytd_budget_gbp))
tiles[2].metric(
    "Variance",
    signed(position.ytd_variance_gbp),
    delta=f"{position.ytd_variance_pct or 0:+.1f}% "
    + ("over budget" if position.ytd_variance_gbp > 0 else "under budget"),
    delta_color="inverse",
)
tiles[3].metric(
    f"Forecast outturn (at {position.through_month:%b %Y})",
    format_money(position.forecast_outturn_gbp),
    delta=f"{signed(position.forecast_variance_gbp)} vs budget",
    delta_color="inverse",
    help=f"Against a full-year budget of {format_money(position.full_year_budget_gbp)}.",
)
if position.provisional_months:
    st.caption(
        "Provisional: "
        + ", ".join(f"{m:%B %Y}" for m in position.provisional_months)
        + " (still filling up; actuals usually rise when final)."
    )

# The budget tables show the year to date; the month's own figures are one click away (all
# of them fit 1280 px that way, and the downloads carry every column).
BUDGET_LABELS = {
    "Budget (year to date)": "Budget to date",
    "Actual (year to date)": "Actual to date",
    "Variance (year to date)": "Variance to date",
    "Provisional months": "Provisional",
    "Budget (in month)": "Budget in month",
    "Actual (in month)": "Actual in month",
    "Variance (in month)": "Variance in month",
}
YEAR_TO_DATE = [
    "Budget (year to date)",
    "Actual (year to date)",
    "Variance (year to date)",
    "Variance %",
    "Position",
    "Provisional months",
]
IN_MONTH = ["Budget (in month)", "Actual (in month)", "Variance (in month)"]


def budget_against_actual(frame: pd.DataFrame, group: str, key: str) -> None:
    """One tab: the chart, the year-to-date table, the in-month figures and downloads for
    a grouping ('Provider' or 'Service line')."""
    noun = group.lower()
    draw_part(view.budget_chart(group, key))
    table = cached_table((*report_key, key), lambda: budget_display(frame, group))
    table_key = "money_" + key.removeprefix("budget_")
    fitted_table(
        table, key=table_key, column_config=BUDGET_LABELS, column_order=[group, *YEAR_TO_DATE]
    )
    with st.expander("In-month figures"):
        fitted_table(
            table,
            key=f"{table_key}_month",
            column_config=BUDGET_LABELS,
            column_order=[group, *IN_MONTH],
        )
    downloads(
        lambda: budget_display(frame, group),
        f"Budget by {noun} {fin_year}",
        key=table_key,
    )


st.header("Budget against actual")
by_provider, by_line = st.tabs(["By provider", "By service line"])
with by_provider:
    budget_against_actual(report.by_provider, "Provider", "budget_by_provider")
with by_line:
    budget_against_actual(report.by_service_line, "Service line", "budget_by_line")
    st.caption(
        f"**Forecast outturn by service line** (the finance forecast at "
        f"{position.through_month:%B %Y} against the full-year budget)."
    )
    fitted_table(
        cached_table(
            (*report_key, "forecast"), lambda: forecast_display(report.forecast_by_service_line)
        ),
        key="money_forecast",
    )
    downloads(
        lambda: forecast_display(report.forecast_by_service_line),
        f"Forecast outturn {fin_year}",
        key="money_forecast",
    )

st.header("Spend through the year")
draw_part(view.cumulative_chart())
draw_part(view.cumulative_variance_chart())
if report.accrual is not None and report.accrual.uplift_pct and report.accrual.uplift_pct > 0:
    st.caption(
        f"March carries the year-end accrual spike: {format_money(report.accrual.march_actual_gbp)}"
        f" against an average month of {format_money(report.accrual.typical_month_gbp)} "
        f"({report.accrual.uplift_pct:.0f}% higher). It is real spend, but it makes March's "
        "in-month variance look worse than the run rate."
    )

st.header("Unit costs")
unit_period = period_words(report.fin_year, report.through_month)
sentence = bed_day_sentence(report.unit_costs, unit_period)
if sentence:
    st.markdown(plain(sentence))
unit_table = cached_table(
    (*report_key, "unit_costs"), lambda: unit_costs_in_words(report.unit_costs, unit_period)
)
unit_cost_column = unit_table.column_names[3]  # "Unit cost, 2024/25 (Apr 2024 to Mar 2025)"
st.caption(
    f"**Unit cost** over {plain(unit_period)}, against the same months a year before "
    "(pounds per unit)."
)
# The cost and its change on screen; what it is worked out from one click away (all of it
# fits 1280 px that way), and the downloads carry every column.
fitted_table(
    unit_table,
    key="money_unit_costs",
    column_config={
        unit_cost_column: "Unit cost",
        "Same months a year before": "A year before",
        "Provisional months": "Provisional",
    },
    column_order=[
        "Service line",
        "Unit",
        unit_cost_column,
        "Same months a year before",
        "Change",
        "Provisional months",
    ],
)
with st.expander("Spend and activity behind each unit cost"):
    fitted_table(
        unit_table,
        key="money_unit_costs_detail",
        column_config={"Months without activity": "Months left out"},
        column_order=[
            "Service line",
            "Providers",
            "Spend counted",
            "Activity",
            "Months without activity",
        ],
    )
    st.caption(
        "Months left out: months with spend but no activity recorded, not counted in the unit cost."
    )
downloads(
    lambda: unit_costs_in_words(report.unit_costs, unit_period),
    f"Unit costs {fin_year}",
    key="money_unit_costs",
)
st.caption(
    "The Overview and the metric pages read unit costs month by month (the latest final "
    "month); this table covers the financial year to date. Each says which period it is."
)
st.caption(
    "Unit cost is a service line's spend divided by its activity, over the months in which "
    "activity was recorded (a month with a missing return is left out rather than counted "
    "as free). Caseload lines show the cost of supporting one person for a year."
)
line_names = view.unit_cost_lines()
default_lines = view.opening_unit_lines()
chosen = st.multiselect(
    "Service lines in the trend chart",
    list(line_names),
    default=default_lines,
    format_func=lambda line: line_names[line],
    key="money_unit_cost_lines",
)
if chosen:
    draw_part(view.unit_cost_chart(chosen))

st.header("Savings against the baseline")
if report.ipsa is not None:
    st.markdown(plain(savings_sentence(report.ipsa)))
st.caption(
    f"Cash spend in {plain(fin_year)} against the same months of "
    f"{plain(report.baseline_year)}, by "
    "service line; positive is a saving. Cash figures are not adjusted for inflation or "
    "demand, so most lines cost more than a decade ago; IPSA is the line with a savings "
    "target (to save 20% of its GBP 12m budget against the baseline). A line that did "
    "not exist in the baseline year has no comparison."
)
fitted_table(
    cached_table((*report_key, "savings"), lambda: savings_display(report.savings)),
    key="money_savings",
)
downloads(lambda: savings_display(report.savings), f"Savings {fin_year}", key="money_savings")

with st.expander("Monthly figures for analysts"):
    # Two tables of five columns (each fits 1280 px); the downloads carry every column.
    monthly = cached_table((*report_key, "monthly"), lambda: monthly_in_words(report.monthly))
    pounds = {
        name: st.column_config.NumberColumn(label, format="localized")
        for name, label in MONTHLY_SHORT.items()
    }
    st.caption("**Each month** (pounds)")
    fitted_table(
        monthly,
        key="money_monthly",
        column_config=pounds,
        column_order=["Month", "Budget (£)", "Actual (£)", "Variance (£)", "Provisional"],
        fixed=money_widths(report.monthly, ["budget_gbp", "actual_gbp", "variance_gbp"]),
    )
    st.caption("**Year to date**, and the forecast for the whole year made that month (pounds)")
    to_date = ["cumulative_budget_gbp", "cumulative_actual_gbp", "cumulative_variance_gbp"]
    fitted_table(
        monthly,
        key="money_monthly_to_date",
        column_config=pounds,
        column_order=["Month", *(MONTHLY_WORDS[c] for c in to_date), "Forecast outturn (£)"],
        fixed=money_widths(report.monthly, [*to_date, "forecast_outturn_gbp"]),
    )
    downloads(
        lambda: monthly_in_words(report.monthly),
        f"Monthly figures {fin_year}",
        key="money_monthly",
    )
