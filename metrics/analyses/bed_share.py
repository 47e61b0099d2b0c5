"""Acute bed-day share: a group's share of acute bed days against its share of the adult
population, by financial year (the Equity page's and the board pack's bed-day figures).

Apart from the rates by group (`metrics.analyses.equity`) because it is a different
measure: a ratio metric for the whole area (bed days are not recorded by neighbourhood),
set beside population shares, and controlled as one whole-area ratio (`control_ratio`)
rather than per group. It shares the analysis's plumbing (provisional months, financial
years, `EquityError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metrics.analyses.disclosure import MISSING, Cell, Policy, control_ratio
from metrics.analyses.equity import EquityError, provisional_start
from metrics.analyses.equity_stats import financial_year
from metrics.board import Board
from metrics.definitions.models import MetricDef
from metrics.sql.series import SeriesError, SeriesQuery

BED_SHARE_METRIC = "black_bed_day_share"
BED_SHARE_GROUP = "Black"
BED_SHARE_SERIES = "Share of acute bed days"
POPULATION_SHARE_SERIES = "Share of the adult population"


@dataclass(frozen=True)
class BedShare:
    """A group's share of acute bed days against its share of the adult population.

    `yearly` columns: fin_year, numerator (group's bed days), denominator (all bed days),
    bed_share (%), population_share (%), months, complete. Figures are exact; pages
    control them with `bed_share_table`.
    """

    group: str
    metric: MetricDef
    yearly: pd.DataFrame
    numerator: float
    denominator: float
    population_share: float | None
    months: tuple[dt.date, ...]
    notes: tuple[str, ...] = ()

    @property
    def bed_share(self) -> float | None:
        if not self.denominator:
            return None
        return 100 * self.numerator / self.denominator


def _population_share_by_month(frame: pd.DataFrame, group: str) -> pd.Series:
    """Percent of the population in `group` each month (from a broken-down rate series)."""
    known = frame[frame["denominator"].notna()]
    totals = known.groupby("month")["denominator"].sum()
    mine = known[known["group"] == group].groupby("month")["denominator"].sum()
    return (100 * mine / totals).dropna()


def bed_day_share(
    board: Board,
    *,
    population_metric_id: str,
    share_metric_id: str = BED_SHARE_METRIC,
    group: str = BED_SHARE_GROUP,
    dimension: str = "ethnicity",
    start: dt.date | None = None,
    end: dt.date | None = None,
    include_provisional: bool = False,
) -> BedShare:
    """Share of acute bed days used by `group` (a ratio metric) against the group's share
    of the mid-year adult population (the denominators of `population_metric_id`).

    Bed days are recorded for the whole area only, so both shares are whole-area figures.
    The population share for a financial year is the average over its months of the
    calendar year's mid-year estimate (so mostly the estimate dated inside the year).
    """
    metric = board.catalogue.metrics.get(share_metric_id)
    if metric is None:
        raise EquityError(f"there is no metric called '{share_metric_id}'")
    try:
        share = board.series(share_metric_id, SeriesQuery(start=start, end=end)).frame
        population = board.series(
            population_metric_id, SeriesQuery(breakdown=dimension, start=start, end=end)
        ).frame
    except SeriesError as exc:
        raise EquityError(str(exc)) from exc
    notes = []
    cut = provisional_start(board, metric)
    known = share.dropna(subset=["numerator", "denominator"])
    if cut is not None and not include_provisional:
        late = known["month"] >= pd.Timestamp(cut)
        if late.any():
            known = known[~late]
            notes.append(
                f"Months from {cut:%B %Y} are provisional (still filling up) and are left out."
            )
    if known.empty:
        raise EquityError("no bed-day data in the selected period")
    pop_share = _population_share_by_month(population, group)
    known = known.assign(
        fin_year=[financial_year(m) for m in known["month"]],
        population_share=known["month"].map(pop_share),
    )
    yearly = (
        known.groupby("fin_year", sort=True)
        .agg(
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
            population_share=("population_share", "mean"),
            months=("month", "nunique"),
        )
        .reset_index()
    )
    yearly["bed_share"] = metric.per * yearly["numerator"] / yearly["denominator"]
    yearly["complete"] = yearly["months"] == 12
    overall_pop = known["population_share"].mean()
    return BedShare(
        group=group,
        metric=metric,
        yearly=yearly,
        numerator=float(known["numerator"].sum()),
        denominator=float(known["denominator"].sum()),
        population_share=None if pd.isna(overall_pop) else float(overall_pop),
        months=tuple(pd.Timestamp(m).date() for m in sorted(known["month"].unique())),
        notes=tuple(notes),
    )


def controlled_share(
    share: BedShare, numerator: float | None, denominator: float | None, policy: Policy
) -> Cell:
    """A bed-day share, controlled as one whole-area figure."""
    return control_ratio(
        numerator,
        denominator,
        policy,
        per=share.metric.per,
        decimals=share.metric.decimals,
        top_level=True,
    )


def controlled_years(share: BedShare, policy: Policy) -> list[tuple[Any, Cell]]:
    """Each financial year's row of `share.yearly` with its bed-day share controlled as a
    whole-area figure: the one reading the table, the chart and their words all show."""
    return [
        (r, controlled_share(share, r.numerator, r.denominator, policy))
        for r in share.yearly.itertuples()
    ]


def bed_share_table(share: BedShare, policy: Policy) -> pd.DataFrame:
    """Yearly bed-day share (controlled as a whole-area figure) and population share."""
    rows = [
        {
            "Financial year": r.fin_year + ("" if r.complete else " (part year)"),
            f"Share of acute bed days ({share.group} patients)": cell.text,
            f"Share of adult population ({share.group})": (
                MISSING if pd.isna(r.population_share) else f"{r.population_share:.1f}%"
            ),
        }
        for r, cell in controlled_years(share, policy)
    ]
    return pd.DataFrame(rows).astype("str")


def bed_share_alt_text(share: BedShare, policy: Policy) -> str:
    table = bed_share_table(share, policy)
    if table.empty:
        return "Chart of bed-day share: no data."
    first, last = table.iloc[0], table.iloc[-1]
    columns = list(table.columns)
    return (
        f"Share of acute bed days used by {share.group} patients against their share of the "
        f"adult population, by financial year. {first[columns[0]]}: {first[columns[1]]} of bed "
        f"days, {first[columns[2]]} of adults. {last[columns[0]]}: {last[columns[1]]} of bed "
        f"days, {last[columns[2]]} of adults."
    )


def bed_share_sentence(share: BedShare, policy: Policy) -> str:
    """'Black patients used 45.1% of acute bed days ... while Black adults are 24.0% ...'"""
    cell = controlled_share(share, share.numerator, share.denominator, policy)
    if cell.suppressed or cell.value is None:
        return f"The share of acute bed days used by {share.group} patients cannot be shown."
    first, last = share.months[0], share.months[-1]
    text = (
        f"{share.group} patients used {cell.text} of acute bed days between {first:%B %Y} and "
        f"{last:%B %Y}"
    )
    if share.population_share is None:
        return text + "."
    times = cell.value / share.population_share if share.population_share else None
    text += (
        f", while {share.group} adults are {share.population_share:.1f}% of the adult population"
    )
    if times:
        text += f" ({times:.1f} times their population share)"
    return text + "."
