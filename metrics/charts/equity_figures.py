"""Equity charts from an analysis result (metrics.analyses.equity), as shown after
disclosure control: the specs are metrics.charts.equity_chart and standardised_chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from metrics.analyses.bed_share import (
    BED_SHARE_SERIES,
    POPULATION_SHARE_SERIES,
    BedShare,
    controlled_years,
)
from metrics.analyses.disclosure import (
    Policy,
)
from metrics.analyses.equity import EquityResult
from metrics.analyses.equity_shown import (
    rate_chart_data,
    ratio_trend_data,
    shown_standardised,
    standardised_chart_data,
)
from metrics.charts.equity_chart import group_rates_points, ratio_trend, share_lines
from metrics.charts.standardised_chart import (
    crude_and_standardised_alt_text,
    crude_and_standardised_chart,
)


def standardised_chart(result: EquityResult, policy: Policy) -> alt.LayerChart:
    """Crude beside age-standardised rates per group (metrics.charts.standardised_chart)."""
    return crude_and_standardised_chart(
        standardised_chart_data(result, policy),
        x_title=f"Rate per {result.per:,.0f} a year (95% CI)",
    )


def rate_chart(
    result: EquityResult, policy: Policy, *, height: int | None = None
) -> alt.LayerChart:
    """Rates per 100,000 a year as points with 95% CI bars, one row per group
    (`metrics.charts.equity_chart.group_rates_points`), from the figures as shown."""
    return group_rates_points(
        rate_chart_data(result, policy), per_text=f"{result.per:,.0f}", height=height
    )


def ratio_trend_chart(result: EquityResult, group: str, policy: Policy) -> alt.LayerChart:
    """Rate ratio of `group` vs the reference by financial year, with 95% CI bars
    (`metrics.charts.equity_chart.ratio_trend`), from the figures as shown."""
    return ratio_trend(
        ratio_trend_data(result, group, policy),
        group=group,
        reference=result.reference or "reference",
    )


def bed_share_chart(share: BedShare, policy: Policy) -> alt.LayerChart:
    """Yearly bed-day share (controlled as a whole-area figure) and population share: two
    lines told apart by colour, dash, point shape and legend
    (`metrics.charts.equity_chart.share_lines`)."""
    rows = []
    for r, cell in controlled_years(share, policy):
        if cell.value is not None:
            rows.append({"fin_year": r.fin_year, "series": BED_SHARE_SERIES, "share": cell.value})
        if pd.notna(r.population_share):
            rows.append(
                {
                    "fin_year": r.fin_year,
                    "series": POPULATION_SHARE_SERIES,
                    "share": round(float(r.population_share), 1),
                }
            )
    data = pd.DataFrame(rows, columns=["fin_year", "series", "share"])
    return share_lines(data, group=share.group, series=[BED_SHARE_SERIES, POPULATION_SHARE_SERIES])


def standardised_alt_text(result: EquityResult, policy: Policy) -> str:
    data = standardised_chart_data(result, policy)
    table = shown_standardised(result, policy)
    hidden = [] if table is None else [g.group for g in table.groups if g.suppressed]
    what = (
        f"{result.metric.title.lower()} by {result.dimension.replace('_', ' ')}, "
        f"{result.period_text.replace(' and ', ' to ')}"
    )
    return crude_and_standardised_alt_text(data, what=what, hidden=hidden)
