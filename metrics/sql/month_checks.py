"""Is a month complete? One rule for `validate`'s warnings and the Data quality page.

A published extract goes wrong quietly: a provider's rows left out of one month, a file
part missing, a month extracted twice. Each month of every month-dated source is compared
with the months around it, per measure (a record source's rows; each integer or number
column of a monthly source, or the columns `checks.measures` names; each `measure` of a
long table), in two ways:

1. **Gaps in keys** (monthly sources whose `key` has columns besides the month, e.g.
   ``[month, provider_code]``): a key with values in one of the 3 months before and one of
   the 3 months after, but none in this month, is a hole, not churn: a provider that
   closes has no rows after, one that opens none before, a merger is both. (The last
   month of a source has no month after it: there a key with values in each of the 3
   months before is expected.) The gap's size is what those keys held around then, as a
   share of the measure's total; a month is flagged when it exceeds
   `checks.key_gap_tolerance` (default 0: any gap).
2. **Totals** (the sum of a measure) and, for sources without such a key, **row counts**
   (non-blank values): the month is compared with three references,

   - the median of the 3 months before,
   - the median of the 3 months after,
   - the same month a year earlier, times the median year-on-year ratio of the 3 months
     either side (seasonality, such as a short February or a March year-end, and the
     year's trend, carried forward),

   and flagged low (or high) only when it is below (above) *every* reference by more than
   all of: `checks.month_change_tolerance` (default 5%, relative); `typical_change_multiple`
   (default 8) times the series' typical change (the median of |log(month / median of the
   3 before)|, so a series that always swings is judged by its own swings); and, for
   counts of events (a record source's rows, totals that are whole numbers), chance:
   2 |sqrt(month) - sqrt(reference)| > 3 (three standard deviations of Poisson variation
   on the square-root scale). A month between its references (a trend, or the first month
   at a new level) is never flagged: a step change is churn; a month out on its own is not.
   In a source's first year there is no year-earlier reference, so a seasonal dip deeper
   than the tolerance and the series' usual swings (in a series with almost no noise) is
   flagged once; the next year's is explained by it.

Months not judged: the first month of a measure (nothing before it), provisional months
(`provisional_months`, still filling up, marked as such), months with no values (those are
*missing*, said separately), and totals of zero or below (money with credits has no
relative change). Missing and provisional months are not used as references either.

On the sample data this flags nothing but the one planted gap it can see (the Evening
Sanctuary's blank activity in the costs return, 2022-11 and 2022-12: 1.3% of activity);
the planted blank months are *missing*. On a generated provider-level extract (262
providers over 2016-2019, with churn, seasonality, a short February and national shocks,
tests/provider_extract.py) it flags no month, where the rule the Data quality page used
before (fewer values than the median of the previous 12 months) flagged 26; with one
provider dropped from 2018-03 (1.2% of that month's attendances) it flags that month
alone, naming the provider and the 1.2% (tests/test_month_checks.py).

Queries are sqlglot trees (quoted identifiers, literal values), one SELECT each; the rule
runs in numpy on the small per-month results.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from sqlglot import exp

from metrics.definitions.issues import Issue
from metrics.definitions.models import ColumnType, SourceChecks, SourceDef
from metrics.sql.compiler import all_of, column, count_where, literal, month_of, table, table_name

if TYPE_CHECKING:
    from metrics.sql.warehouse import Warehouse

WINDOW = 3  # months either side
CHANCE_Z = 3.0  # standard deviations of Poisson variation (square-root scale)
RECORDS = "records"  # the one count measure of a record-level source: its rows
# Columns of a long-format monthly table that name the measure on each row.
LONG_MEASURE_COLUMNS = ("measure", "measure_key")
LONG_VALUE_COLUMN = "value"
# Calendar bookkeeping, not measures (never blank in practice, and would only add noise).
CALENDAR_COLUMNS = frozenset({"fin_month", "fin_year", "year", "month", "quarter"})
MAX_KEYS_NAMED = 3
NUMERIC = (ColumnType.integer, ColumnType.number)

Direction = Literal[-1, 0, 1]


# --------------------------------------------------------------------------- what is measured


def month_dated(source: SourceDef) -> bool:
    column_def = source.columns.get(source.date_column)
    return column_def is not None and column_def.type == ColumnType.date


def source_measures(source: SourceDef) -> tuple[str, list[str]]:
    """How a source's months are measured: ('record', ['records', *checks.measures]),
    ('long', [measure column]) or ('wide', [numeric columns, or checks.measures])."""
    listed = [m for m in (source.checks.measures or []) if m in source.columns]
    if source.grain == "record":
        return "record", [RECORDS, *listed]
    for name in LONG_MEASURE_COLUMNS:
        if name in source.columns and LONG_VALUE_COLUMN in source.columns:
            return "long", [name]
    if source.checks.measures is not None:
        return "wide", listed
    numeric = [
        name
        for name, column_def in source.columns.items()
        if column_def.type in NUMERIC
        and name not in source.key
        and name != source.date_column
        and name not in CALENDAR_COLUMNS
    ]
    return "wide", numeric


def entity_columns(source: SourceDef) -> list[str]:
    """The key's columns other than the date (what identifies a provider, a cell): gaps
    in these are checked in monthly sources; none for record sources (one id per row)."""
    if source.grain != "monthly":
        return []
    # A key column that is itself a date (an extract date, a vintage) is a second time
    # axis, not a provider: rows of each vintage come and go by design.
    return [
        k
        for k in source.key
        if k != source.date_column
        and k in source.columns
        and source.columns[k].type != ColumnType.date
    ]


def _total(value: exp.Expression) -> exp.Expression:
    return exp.cast(exp.Sum(this=value), exp.DataType.Type.DOUBLE)


def cell_queries(source: SourceDef) -> list[exp.Select]:
    """SELECTs giving (source_id, measure, month, n_rows, n_values, total) for the months
    in which the source has rows: one per source, or one per measure of a wide table."""
    date = column(source.date_column)
    month = month_of(date.copy())
    dated = exp.Not(this=exp.Is(this=date.copy(), expression=exp.null()))
    kind, measures = source_measures(source)

    def cell(
        measure: exp.Expression,
        values: exp.Expression,
        total: exp.Expression,
        conditions: list[exp.Expression],
        keys: list[exp.Expression],
    ) -> exp.Select:
        return (
            exp.select(
                exp.alias_(literal(source.id), "source_id", quoted=True),
                exp.alias_(measure, "measure", quoted=True),
                exp.alias_(month.copy(), "month", quoted=True),
                exp.alias_(count_where(None), "n_rows", quoted=True),
                exp.alias_(values, "n_values", quoted=True),
                exp.alias_(total, "total", quoted=True),
                copy=False,
            )
            .from_(table(table_name(source.id)), copy=False)
            .where(all_of(conditions), copy=False)
            .group_by(month.copy(), *keys, copy=False)
        )

    no_total = exp.cast(exp.null(), exp.DataType.Type.DOUBLE)
    if kind == "long":
        name = column(measures[0])
        measure = exp.cast(name.copy(), exp.DataType.Type.VARCHAR)
        present = exp.Not(this=exp.Is(this=name.copy(), expression=exp.null()))
        return [
            cell(
                measure,
                exp.Count(this=column(LONG_VALUE_COLUMN)),
                _total(column(LONG_VALUE_COLUMN)),
                [dated, present],
                [measure.copy()],
            )
        ]
    selects = []
    for name in measures:
        if name == RECORDS:
            selects.append(cell(literal(RECORDS), count_where(None), no_total.copy(), [dated], []))
        else:
            selects.append(
                cell(
                    literal(name),
                    exp.Count(this=column(name)),
                    _total(column(name)),
                    [dated.copy()],
                    [],
                )
            )
    return selects


def completeness_query(sources: Sequence[SourceDef]) -> exp.Query | None:
    """The cells of every source, as one UNION ALL (None when no source has a measure)."""
    selects = [select for source in sources for select in cell_queries(source)]
    if not selects:
        return None
    return functools.reduce(
        lambda query, select: query.union(select, distinct=False, copy=False), selects
    )


def presence_query(source: SourceDef) -> exp.Select | None:
    """Per month and key (the key's columns other than the date), each measure's
    non-blank values (``n0, n1, ...``) and total (``t0, t1, ...``); None when the source
    has no such key. A long table's measure column is part of its key."""
    keys = entity_columns(source)
    if not keys:
        return None
    kind, measures = source_measures(source)
    values = [LONG_VALUE_COLUMN] if kind == "long" else [m for m in measures if m != RECORDS]
    if not values:
        return None
    date = column(source.date_column)
    month = month_of(date.copy())
    selects: list[exp.Expression] = [exp.alias_(month.copy(), "month", quoted=True)]
    selects += [exp.alias_(column(k), f"k{i}", quoted=True) for i, k in enumerate(keys)]
    for i, name in enumerate(values):
        selects.append(exp.alias_(exp.Count(this=column(name)), f"n{i}", quoted=True))
        selects.append(exp.alias_(_total(column(name)), f"t{i}", quoted=True))
    return (
        exp.select(*selects, copy=False)
        .from_(table(table_name(source.id)), copy=False)
        .where(exp.Not(this=exp.Is(this=date.copy(), expression=exp.null())), copy=False)
        .group_by(month.copy(), *(column(k) for k in keys), copy=False)
    )


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Judgement:
    """One series judged month by month (arrays over its calendar)."""

    direction: np.ndarray  # -1 below every reference, +1 above every one, 0 neither
    change: np.ndarray  # value / nearest reference - 1 where flagged, else NaN
    usual: np.ndarray  # median of the available references (NaN: none)
    before: np.ndarray
    after: np.ndarray
    year: np.ndarray
    typical: float  # the series' typical change (median |log ratio| to the 3 before)


def _shifted(values: np.ndarray, offset: int) -> np.ndarray:
    """values[i + offset] at i (NaN beyond the ends)."""
    out = np.full(values.size, math.nan)
    if abs(offset) >= values.size:
        return out
    if offset >= 0:
        out[: values.size - offset] = values[offset:]
    else:
        out[-offset:] = values[: values.size + offset]
    return out


def _nanmedian(stack: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, as meant
        return np.nanmedian(stack, axis=0)


def references(values: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, ...]:
    """(before, after, year) references for every month of a series; NaN when a reference
    has no usable month."""
    masked = np.where(usable, values, math.nan)
    before = _nanmedian(np.vstack([_shifted(masked, -k) for k in range(1, WINDOW + 1)]))
    after = _nanmedian(np.vstack([_shifted(masked, k) for k in range(1, WINDOW + 1)]))
    last_year = _shifted(masked, -12)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = masked / last_year  # NaN unless both months are usable
    around = [k for k in range(-WINDOW, WINDOW + 1) if k]
    ratio = _nanmedian(np.vstack([_shifted(growth, k) for k in around]))
    year = last_year * np.where(np.isfinite(ratio), ratio, 1.0)
    return before, after, year


def judge(
    values: np.ndarray,
    judged: np.ndarray,
    *,
    tolerance: float,
    multiple: float,
    counts: bool,
) -> Judgement:
    """Judge each month of `values` (NaN: missing) against its references.

    `judged` marks the months that may be flagged and used as references (not missing,
    not provisional); a month is flagged only when it has a reference before it."""
    values = np.asarray(values, dtype="float64")
    usable = np.asarray(judged, dtype=bool) & np.isfinite(values) & (values > 0)
    before, after, year = references(values, usable)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.abs(np.log(values / before))
    steps = steps[usable & np.isfinite(steps)]
    typical = float(np.median(steps)) if steps.size else 0.0
    refs = np.vstack([before, after, year])
    available = np.isfinite(refs)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = values[None, :] / refs
        far = np.abs(np.log(ratio)) > multiple * typical
        low = (ratio < 1 - tolerance) & far
        high = (ratio > 1 + tolerance) & far
        if counts:
            chance = 2 * np.abs(np.sqrt(values[None, :]) - np.sqrt(refs)) > CHANCE_Z
            low &= chance
            high &= chance
        # A tiny margin so that 266 against 266.0000001 (a ratio of medians) is not "low".
        low &= ratio < 1 - 1e-9
        high &= ratio > 1 + 1e-9
    some = available.any(axis=0) & usable & np.isfinite(before)
    all_low = some & np.all(low | ~available, axis=0)
    all_high = some & np.all(high | ~available, axis=0)
    direction = np.where(all_low, -1, np.where(all_high, 1, 0)).astype("int8")
    # The reference nearest the month: the smallest of those above a low month, the
    # largest of those below a high one (the change is the least it could be).
    nearest = np.where(
        all_low,
        np.where(available, refs, np.inf).min(axis=0),
        np.where(available, refs, -np.inf).max(axis=0),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(direction != 0, values / nearest - 1, math.nan)
    usual = _nanmedian(refs)
    return Judgement(direction, change, usual, before, after, year, typical)


@dataclass(frozen=True)
class KeyGaps:
    """Keys missing from a month though present either side, for one measure."""

    months: np.ndarray  # calendar month numbers (year * 12 + month - 1), ascending
    keys: list[tuple[object, ...]]  # the key values of each row of `missing`
    missing: np.ndarray  # bool [keys, months]: a gap
    share: np.ndarray  # [months]: what the missing keys held around then, of the total
    held: np.ndarray  # [months]: what they held (mean of their months around), summed


def key_gaps(
    months: np.ndarray,
    keys: list[tuple[object, ...]],
    present: np.ndarray,
    totals: np.ndarray,
) -> KeyGaps:
    """Gaps in a presence matrix (keys x months, bool) with each key's totals (NaN where
    absent): present in one of the WINDOW months before and one of the WINDOW after but
    not in this month; in the last month, present in each of the WINDOW months before."""
    n_keys, n = present.shape
    seen = np.concatenate([np.zeros((n_keys, 1), "int64"), np.cumsum(present, axis=1)], axis=1)
    index = np.arange(n)
    # Values in [lo, hi) months of each key, from the running count.
    in_before = seen[:, index] - seen[:, np.maximum(index - WINDOW, 0)]
    in_after = seen[:, np.minimum(index + 1 + WINDOW, n)] - seen[:, np.minimum(index + 1, n)]
    expected = (in_before > 0) & (in_after > 0)
    if n > WINDOW:  # the last month: a key with values in each of the months before it
        expected[:, -1] = in_before[:, -1] == WINDOW
    else:
        expected[:, -1] = False
    missing = expected & ~present
    share = np.zeros(n)
    held = np.zeros(n)
    filled = np.where(present & np.isfinite(totals), totals, math.nan)
    month_totals = np.nansum(filled, axis=0)
    month_present = present.any(axis=0)
    for i in np.flatnonzero(missing.any(axis=0)):
        lo, hi = max(0, i - WINDOW), min(n, i + 1 + WINDOW)
        rows = missing[:, i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a key with no totals: NaN
            means = np.nanmean(filled[rows, lo:hi], axis=1)
        held[i] = float(np.nansum(means))
        around = [j for j in range(lo, hi) if j != i and month_present[j]]
        typical_total = float(np.mean(month_totals[around])) if around else math.nan
        if typical_total > 0 and held[i] > 0:
            share[i] = held[i] / typical_total
        else:  # no totals (or none positive): the share of keys
            expected_keys = rows.sum() + present[:, i].sum()
            share[i] = rows.sum() / expected_keys if expected_keys else 0.0
    return KeyGaps(months, keys, missing, share, held)


# --------------------------------------------------------------------------- findings

FINDING_COLUMNS = [
    "source_id",
    "measure",
    "month",
    "n_rows",
    "n_values",
    "total",
    "expected",
    "judged",
    "direction",
    "change",
    "reason",
]


def _month_numbers(months: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(months)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype="int64")


def _month_text(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def _percent(change: float) -> str:
    magnitude = abs(change) * 100
    text = f"{magnitude:.1f}" if magnitude < 10 else f"{magnitude:.0f}"
    return f"{text}%"


def _amount(value: float) -> str:
    if not math.isfinite(value):
        return "none"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def _key_text(names: Sequence[str], values: tuple[object, ...]) -> str:
    shown = ", ".join(f"{n} {v!s}" for n, v in zip(names, values, strict=True))
    return shown if len(names) == 1 else f"({shown})"


def _reference_text(judgement: Judgement, i: int, month: int) -> str:
    parts = []
    for name, array in (
        ("the 3 months before", judgement.before),
        ("the 3 after", judgement.after),
        (f"{_month_text(month - 12)}, scaled", judgement.year),
    ):
        if math.isfinite(array[i]):
            parts.append(f"{name} {_amount(array[i])}")
    return ", ".join(parts)


def judge_source(
    source: SourceDef,
    cells: pd.DataFrame,
    presence: pd.DataFrame | None,
    *,
    last_month: int | None = None,
) -> pd.DataFrame:
    """Every month of every measure of one source, judged (FINDING_COLUMNS).

    `cells`: that source's rows of `completeness_query` (measure, month, n_rows, n_values,
    total); `presence`: `presence_query`'s result, or None. A measure's months run from its
    first cell to `last_month` (default: the source's last); a month without a cell has
    no rows and no values."""
    checks: SourceChecks = source.checks
    if cells.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    numbers = _month_numbers(cells["month"])
    cells = cells.assign(_m=numbers)
    last = int(last_month if last_month is not None else numbers.max())
    provisional_from = last - source.provisional_months  # months above it are provisional
    kind, measure_names = source_measures(source)
    keyed = bool(entity_columns(source)) and presence is not None and not presence.empty
    gaps_by_measure = _gaps_by_measure(source, presence, kind, measure_names) if keyed else {}
    frames = []
    for measure, group in cells.groupby("measure", sort=True):
        first = int(group["_m"].min())
        calendar = np.arange(first, last + 1)
        by_month = group.set_index("_m")
        n_rows = by_month["n_rows"].reindex(calendar).fillna(0).to_numpy(dtype="int64")
        n_values = by_month["n_values"].reindex(calendar).fillna(0).to_numpy(dtype="int64")
        total = by_month["total"].reindex(calendar).to_numpy(dtype="float64")
        judged = (n_values > 0) & (calendar <= provisional_from)
        direction = np.zeros(calendar.size, "int8")
        change = np.full(calendar.size, math.nan)
        reasons = [""] * calendar.size
        counts = judge(
            n_values.astype("float64"),
            judged,
            tolerance=checks.month_change_tolerance,
            multiple=checks.typical_change_multiple,
            counts=source.grain == "record",
        )
        if checks.month_change and not keyed:
            for i in np.flatnonzero(counts.direction):
                direction[i] = counts.direction[i]
                change[i] = counts.change[i]
                same = measure == RECORDS or n_values[i] == n_rows[i]
                word = "rows" if same else f"rows with {measure}"
                reasons[i] = (
                    f"{n_values[i]:,} {word}, {_percent(change[i])} "
                    f"{'below' if change[i] < 0 else 'above'} every reference "
                    f"({_reference_text(counts, i, calendar[i])})"
                )
        if checks.month_change and measure != RECORDS and np.isfinite(total).any():
            whole = bool(np.all(~np.isfinite(total) | (total == np.round(total))))
            sums = judge(
                total,
                judged & np.isfinite(total),
                tolerance=checks.month_change_tolerance,
                multiple=checks.typical_change_multiple,
                counts=whole,
            )
            for i in np.flatnonzero(sums.direction):
                if direction[i] == 0 or sums.direction[i] < 0:
                    direction[i] = sums.direction[i]
                    change[i] = sums.change[i]
                text = (
                    f"{measure} total {_amount(total[i])}, {_percent(sums.change[i])} "
                    f"{'below' if sums.change[i] < 0 else 'above'} every reference "
                    f"({_reference_text(sums, i, calendar[i])})"
                )
                reasons[i] = f"{reasons[i]}; {text}" if reasons[i] else text
        gaps = gaps_by_measure.get(str(measure))
        if checks.month_change and gaps is not None:
            names = entity_columns(source)
            position = {int(m): j for j, m in enumerate(gaps.months)}
            for i, month in enumerate(calendar):
                j = position.get(int(month))
                if j is None or not judged[i] or not gaps.missing[:, j].any():
                    continue
                if gaps.share[j] <= checks.key_gap_tolerance:
                    continue
                rows = np.flatnonzero(gaps.missing[:, j])
                named = ", ".join(_key_text(names, gaps.keys[r]) for r in rows[:MAX_KEYS_NAMED]) + (
                    f" and {rows.size - MAX_KEYS_NAMED} more" if rows.size > MAX_KEYS_NAMED else ""
                )
                text = (
                    f"{rows.size} key(s) with {measure} in the months either side have none: "
                    f"{named}, {_percent(gaps.share[j])} of the {measure} total around then"
                )
                direction[i] = -1
                change[i] = -gaps.share[j] if not math.isfinite(change[i]) else change[i]
                reasons[i] = f"{text}; {reasons[i]}" if reasons[i] else text
        frames.append(
            pd.DataFrame(
                {
                    "source_id": source.id,
                    "measure": str(measure),
                    "_m": calendar,
                    "n_rows": n_rows,
                    "n_values": n_values,
                    "total": total,
                    "expected": counts.usual,
                    "judged": judged,
                    "direction": direction,
                    "change": change,
                    "reason": reasons,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["month"] = pd.to_datetime(
        pd.DataFrame({"year": frame["_m"] // 12, "month": frame["_m"] % 12 + 1, "day": 1})
    )
    return frame[FINDING_COLUMNS]


def _gaps_by_measure(
    source: SourceDef, presence: pd.DataFrame, kind: str, measures: list[str]
) -> dict[str, KeyGaps]:
    keys = entity_columns(source)
    key_names = [f"k{i}" for i in range(len(keys))]
    numbers = _month_numbers(presence["month"])
    months = np.arange(numbers.min(), numbers.max() + 1)
    # Each key's code, and its values (factorised once: NaN keys are keys too).
    codes = presence.groupby(key_names, dropna=False, sort=True).ngroup().to_numpy()
    firsts = pd.Series(np.arange(codes.size)).groupby(codes).first().to_numpy()
    key_values = presence[key_names].to_numpy(dtype=object)
    keys_of = [tuple(key_values[i]) for i in firsts]
    column_of = numbers - months[0]
    if kind == "long":
        # The measure column is one of the key's columns: one matrix per measure value.
        at = keys.index(measures[0]) if measures[0] in keys else None
        labels = key_values[:, at].astype(str) if at is not None else np.full(codes.size, "")
        return {
            str(label): _gaps_of(codes, column_of, keys_of, presence, labels == label, months, 0)
            for label in np.unique(labels)
        }
    values = [m for m in measures if m != RECORDS]
    every = np.ones(codes.size, bool)
    return {
        name: _gaps_of(codes, column_of, keys_of, presence, every, months, i)
        for i, name in enumerate(values)
    }


def _gaps_of(
    codes: np.ndarray,
    column_of: np.ndarray,
    keys_of: list[tuple[object, ...]],
    presence: pd.DataFrame,
    rows: np.ndarray,
    months: np.ndarray,
    measure: int,
) -> KeyGaps:
    used, local = np.unique(codes[rows], return_inverse=True)
    where = column_of[rows]
    present = np.zeros((used.size, months.size), bool)
    totals = np.full((used.size, months.size), math.nan)
    counts = presence[f"n{measure}"].to_numpy(dtype="float64")[rows]
    present[local[counts > 0], where[counts > 0]] = True
    totals[local, where] = presence[f"t{measure}"].to_numpy(dtype="float64")[rows]
    return key_gaps(months, [keys_of[c] for c in used], present, totals)


# --------------------------------------------------------------------------- the warnings


def judge_sources(
    sources: Iterable[SourceDef], warehouse: Warehouse, *, label: str = "month checks"
) -> pd.DataFrame:
    """Every month of every given source that is loaded and dated by month, judged."""
    chosen = [
        s for s in sources if s.id in warehouse.loaded and month_dated(s) and s.checks.month_change
    ]
    query = completeness_query(chosen)
    if query is None:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    cells = warehouse.select(query, label=f"{label}: months")
    frames = []
    for source in chosen:
        own = cells[cells["source_id"] == source.id]
        presence_tree = presence_query(source)
        presence = (
            warehouse.select(presence_tree, label=f"{label}: keys of {source.id}")
            if presence_tree is not None and not own.empty
            else None
        )
        frames.append(judge_source(source, own, presence))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def findings_issues(
    findings: pd.DataFrame, sources: Mapping[str, SourceDef], files: Mapping[str, str]
) -> list[Issue]:
    """One warning per source and flagged month, naming the month, what is off and by how
    much, with a hint."""
    issues: list[Issue] = []
    flagged = findings[findings["direction"] != 0]
    for (source_id, month), rows in flagged.groupby(["source_id", "month"], sort=True):
        source = sources[str(source_id)]
        low = bool((rows["direction"] < 0).any())
        what = "looks incomplete" if low else "is higher than the months around it"
        # A wide table's row count is the same finding for every measure: said once.
        parts = (part for reason in rows["reason"] if reason for part in reason.split("; "))
        reasons = "; ".join(dict.fromkeys(parts))
        tolerance = source.checks.month_change_tolerance
        hint = (
            f"check the extract for {month:%Y-%m}: rows or a part of the file left out?"
            if low
            else f"check the extract for {month:%Y-%m}: a part of the file twice, or a "
            "cumulative figure?"
        )
        hint += (
            " If the change is real, raise checks: month_change_tolerance (now "
            f"{tolerance:g}) or key_gap_tolerance for source '{source_id}' in sources.yaml"
        )
        issues.append(
            Issue(
                "warning",
                "data",
                files.get(str(source_id), str(source_id)),
                f"source '{source_id}': {month:%Y-%m} {what}: {reasons}",
                field=", ".join(dict.fromkeys(str(m) for m in rows["measure"])),
                hint=hint,
            )
        )
    return issues


def month_change_issues(catalogue: object, warehouse: Warehouse) -> list[Issue]:
    """The month checks as warnings, for `validate` and the site (every loaded source
    dated by month, whether or not a metric uses it yet)."""
    sources: dict[str, SourceDef] = dict(getattr(catalogue, "sources", {}))
    data_dir = getattr(catalogue, "data_dir", None)
    findings = judge_sources(sources.values(), warehouse)
    files: dict[str, str] = {}
    for source_id, loaded in warehouse.loaded.items():
        path = getattr(loaded, "path", None)
        files[source_id] = str(path) if path is not None else source_id
        if path is not None and data_dir is not None:
            with contextlib.suppress(ValueError):
                files[source_id] = str(path.relative_to(data_dir.parent.resolve()))
    return findings_issues(findings, sources, files)
