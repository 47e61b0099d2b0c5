"""From a frame to the arrays a study fits, with the refusals and warnings about the data.

One series on its time grid (`prepare_series`, for `fit_its`) or several groups on one
grid (`prepare_panel`, for a multiple-baseline study): the columns are checked, read as
numbers and placed on the grid of periods (missing periods are NaN), counts are checked
for being counts, and offsets and binomial denominators become the masks of what can be
fitted. The segment-size rule both designs apply (`check_segment_size`) is here too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.its.design import ordinal_label, ordinals_from_dates, ordinals_to_timestamps
from metrics.its.errors import ITSInputError
from metrics.its.result import ITSWarning
from metrics.its.spec import COUNT_FAMILIES, ITSSpec

MIN_SEGMENT_POINTS = 3  # refuse below this
ADVISED_SEGMENT_POINTS = 12  # warn below this
COUNTED_FAMILIES = COUNT_FAMILIES | {"binomial"}  # families whose outcome is a count


def fail(name: str, problem: str, error: type[ITSInputError] = ITSInputError) -> ITSInputError:
    """The error for a study the data cannot support, naming the series."""
    return error(f"series '{name}': {problem}" if name else problem)


@dataclass(frozen=True)
class StudySeries:
    """One series on its full time grid (t = 0 .. n_periods - 1)."""

    name: str
    frequency: str
    first_ordinal: int
    dates: pd.DatetimeIndex
    y: np.ndarray
    log_offset: np.ndarray  # zeros without an offset; NaN where unusable
    control: np.ndarray | None
    control_log_offset: np.ndarray | None
    warnings: tuple[ITSWarning, ...]
    trials: np.ndarray | None = None  # binomial denominators (NaN where unusable)

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[0])

    def label(self, t: int) -> str:
        return ordinal_label(self.first_ordinal + t, self.frequency)


@dataclass(frozen=True, eq=False)
class Panel:
    """The groups of a multiple-baseline study on one time grid: y[g, t] (NaN where
    missing), offsets, trials."""

    name: str
    groups: tuple[str, ...]
    first_ordinal: int
    dates: pd.DatetimeIndex
    y: np.ndarray  # G x T
    log_offset: np.ndarray  # G x T (0 without an offset, NaN where unusable)
    trials: np.ndarray | None  # G x T binomial denominators
    warnings: tuple[ITSWarning, ...]

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[1])

    @functools.cached_property
    def filled_offset(self) -> np.ndarray:
        """Offsets with gaps filled from the nearest known period (for horizons)."""
        return np.nan_to_num(filled(self.log_offset), nan=0.0)

    @functools.cached_property
    def filled_trials(self) -> np.ndarray | None:
        """Binomial denominators with gaps filled from the nearest known period."""
        return None if self.trials is None else filled(self.trials)


def filled(values: np.ndarray) -> np.ndarray:
    """Nearest usable value along time (the last axis) for periods without one (offsets and
    denominators at horizons and gaps); one series, or one row per group."""
    frame = pd.DataFrame(np.atleast_2d(values).T)
    return frame.ffill().bfill().to_numpy().T.reshape(values.shape)


# --- reading columns ------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, wanted: Sequence[str], name: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise fail(
            name,
            f"column(s) not found: {', '.join(missing)} "
            f"(columns are: {', '.join(map(str, frame.columns))})",
        )


def _numbers(raw: pd.Series) -> pd.Series:
    """A column as floats; what cannot be read as a number becomes NaN."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    return pd.to_numeric(raw, errors="coerce").astype(float)


def _numeric_column(
    frame: pd.DataFrame, column: str, what: str, notes: list[ITSWarning]
) -> pd.Series:
    """`_numbers`, with a warning naming what could not be read."""
    raw = frame[column]
    values = _numbers(raw)
    unreadable = int((values.isna() & raw.notna()).sum())
    if unreadable:
        example = raw[values.isna() & raw.notna()].iloc[0]
        notes.append(
            ITSWarning(
                "non_numeric",
                f"{unreadable} {what} value(s) are not numbers (e.g. '{example}'): treated as "
                "missing",
            )
        )
    return values


def _to_grid(
    values: pd.Series,
    ordinals: np.ndarray,
    first: int,
    size: int,
    codes: np.ndarray | None = None,
    n_groups: int = 1,
) -> np.ndarray:
    """Values on the grid of periods (one row per group when `codes` are given)."""
    if codes is None:
        grid = np.full(size, np.nan)
        grid[ordinals - first] = values.to_numpy(dtype=float)
        return grid
    grid = np.full((n_groups, size), np.nan)
    grid[codes, ordinals - first] = values.to_numpy(dtype=float)
    return grid


def _log_offset(population: np.ndarray) -> np.ndarray:
    """log(population) where it is positive, NaN where it cannot be used."""
    usable = np.isfinite(population) & (population > 0)
    return np.where(usable, np.log(np.where(usable, population, 1.0)), np.nan)


def _checked_log_offset(
    population: np.ndarray, name: str, what: str, notes: list[ITSWarning]
) -> np.ndarray:
    """`_log_offset`, refusing a column without a positive value and warning about periods
    left out."""
    usable = np.isfinite(population) & (population > 0)
    if not usable.any():
        raise fail(name, f"the {what} column has no positive values")
    bad = int((~usable & np.isfinite(population)).sum())
    if bad:
        notes.append(
            ITSWarning(
                "offset",
                f"{bad} {what} value(s) are zero or negative: "
                "those periods are left out of the fit",
            )
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return _log_offset(population)


def _binomial_mask(trials: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log offset, trials) of a binomial model: periods without a usable denominator are
    left out of the fit through the offset's NaN, as they are for offsets."""
    usable = np.isfinite(trials) & (trials > 0)
    return np.where(usable, 0.0, np.nan), np.where(usable, trials, np.nan)


def _refuse_fractions(values: np.ndarray, name: str, advice: str, what: str = "") -> None:
    """Count families model counts: whole numbers. Anything else is refused, with `advice`."""
    finite = values[np.isfinite(values)]
    fractional = finite[np.abs(finite - np.round(finite)) > 1e-6]
    if fractional.size == 0:
        return
    column = f"{what} " if what else ""
    raise fail(
        name,
        f"the {column}values are not whole numbers (e.g. {fractional[0]:g}), so they are not "
        f"counts: {advice}",
    )


def _count_advice(spec: ITSSpec) -> str:
    """What to use instead of a count model for values that are not counts."""
    if spec.model == "binomial":
        return "a binomial model needs whole-number counts: the numerator and the denominator"
    return (
        f"model '{spec.model}' is for counts; for a percentage use model 'binomial' with "
        "its numerator and denominator, otherwise model 'arima' or 'ols'"
    )


def check_segment_size(
    count: int,
    where: str,
    name: str,
    notes: list[ITSWarning],
    *,
    needed: str = " in each segment",
    fragile: str = (
        f"estimates from fewer than {ADVISED_SEGMENT_POINTS} points a segment are fragile"
    ),
) -> None:
    """Refuse fewer than MIN_SEGMENT_POINTS fitted points in a segment (`where`: "before
    ...", "from ..."), warn below ADVISED_SEGMENT_POINTS. The multiple-baseline study words
    both more briefly (`needed`, `fragile`)."""
    if count < MIN_SEGMENT_POINTS:
        raise fail(
            name,
            f"only {count} data point{'s' if count != 1 else ''} {where}: at least "
            f"{MIN_SEGMENT_POINTS} are needed{needed}",
        )
    if count < ADVISED_SEGMENT_POINTS:
        notes.append(ITSWarning("short_segment", f"only {count} data points {where}: {fragile}"))


# --- one series -----------------------------------------------------------------------------


def prepare_series(
    frame: pd.DataFrame, spec: ITSSpec, date_col: str, value_col: str, name: str
) -> StudySeries:
    """One series (and any comparison series) on its grid of periods, or ITSInputError."""
    wanted = [date_col, value_col] + [
        c
        for c in (spec.offset_col, spec.control_col, spec.control_offset_col, spec.denominator_col)
        if c
    ]
    _require_columns(frame, wanted, name)
    if frame.empty:
        raise fail(name, "no rows")
    notes: list[ITSWarning] = []
    ordinals = ordinals_from_dates(frame[date_col], spec.frequency)
    unique, counts = np.unique(ordinals, return_counts=True)
    if np.any(counts > 1):
        duplicate = ordinal_label(int(unique[np.argmax(counts > 1)]), spec.frequency)
        unit = spec.period_name
        raise fail(name, f"{duplicate} appears more than once: give one row per {unit}")
    first, size = int(ordinals.min()), int(ordinals.max() - ordinals.min() + 1)

    def grid(column: str, what: str) -> np.ndarray:
        return _to_grid(_numeric_column(frame, column, what, notes), ordinals, first, size)

    y = grid(value_col, "outcome")
    observed = np.isfinite(y)
    if not observed.any():
        raise fail(name, "all values are missing")
    if np.nanmax(y) == np.nanmin(y):
        raise fail(
            name,
            f"the series is constant (every value is {np.nanmax(y):g}): there is nothing to model",
        )
    if spec.model in COUNTED_FAMILIES and np.nanmin(y) < 0:
        raise fail(
            name,
            f"negative values (minimum {np.nanmin(y):g}) cannot be counts for "
            f"model '{spec.model}': use model 'ols' or 'arima'",
        )
    if spec.model in COUNTED_FAMILIES:
        _refuse_fractions(y, name, _count_advice(spec))
    n_missing = int((~observed).sum())
    if n_missing:
        gaps = [ordinal_label(first + int(t), spec.frequency) for t in np.nonzero(~observed)[0]]
        shown = ", ".join(gaps[:6]) + (", ..." if len(gaps) > 6 else "")
        unit = spec.period_name
        notes.append(
            ITSWarning(
                "missing_periods",
                f"{n_missing} missing {unit}{'s' if n_missing != 1 else ''} ({shown}): left out of "
                "the fit and shown as gaps",
            )
        )

    log_offset = np.zeros(size)
    if spec.offset_col and spec.model in COUNT_FAMILIES:
        log_offset = _checked_log_offset(grid(spec.offset_col, "offset"), name, "offset", notes)
    elif spec.offset_col:
        notes.append(
            ITSWarning(
                "offset",
                f"offset_col is used by count models only; model '{spec.model}' ignores it",
            )
        )

    trials = None
    if spec.model == "binomial":
        assert spec.denominator_col is not None
        trials = grid(spec.denominator_col, "denominator")
        usable = np.isfinite(trials) & (trials > 0)
        if not usable.any():
            raise fail(
                name, f"the denominator column '{spec.denominator_col}' has no positive values"
            )
        _refuse_fractions(trials, name, _count_advice(spec), what="denominator")
        over = usable & np.isfinite(y) & (y > trials)
        if over.any():
            where = ordinal_label(first + int(np.nonzero(over)[0][0]), spec.frequency)
            raise fail(
                name,
                f"the numerator is larger than the denominator in {where}: a binomial model "
                "needs a count out of a total (e.g. referrals accepted out of referrals)",
            )
        dropped = int((~usable & np.isfinite(y)).sum())
        if dropped:
            notes.append(
                ITSWarning(
                    "offset",
                    f"{dropped} period(s) have no denominator (zero or missing): left out of "
                    "the fit",
                )
            )
        log_offset, trials = _binomial_mask(trials)

    control = control_offset = None
    if spec.control_col:
        control = grid(spec.control_col, "comparison")
        if not np.isfinite(control).any():
            raise fail(name, "the comparison series is all missing")
        if spec.model in COUNT_FAMILIES and np.nanmin(control) < 0:
            raise fail(name, "the comparison series has negative values")
        control_offset = np.zeros(size)
        if spec.control_offset_col and spec.model in COUNT_FAMILIES:
            population = grid(spec.control_offset_col, "comparison offset")
            control_offset = _checked_log_offset(population, name, "comparison offset", notes)

    return StudySeries(
        name=name,
        frequency=spec.frequency,
        first_ordinal=first,
        dates=ordinals_to_timestamps(np.arange(first, first + size), spec.frequency),
        y=y,
        log_offset=log_offset,
        control=control,
        control_log_offset=control_offset,
        warnings=tuple(notes),
        trials=trials,
    )


# --- groups on one grid ---------------------------------------------------------------------


def prepare_panel(
    frame: pd.DataFrame, spec: ITSSpec, date_col: str, value_col: str, name: str
) -> Panel:
    """The groups of a long frame (`spec.group_col`) on one grid of periods.

    It checks less than `prepare_series`, and words its refusals more briefly: values that
    are not numbers and unusable offsets are left out without a warning, and a constant
    series, an offset without a positive value or a denominator that is not whole numbers
    is not refused here. (Kept as it was written, so multiple-baseline results do not
    change; bringing it in line with `prepare_series` would add warnings and refusals.)
    """
    assert spec.group_col is not None
    wanted = [date_col, value_col, spec.group_col] + [
        c for c in (spec.offset_col, spec.denominator_col) if c
    ]
    _require_columns(frame, wanted, name)
    frame = frame.dropna(subset=[spec.group_col])
    if frame.empty:
        raise fail(name, "no rows")
    groups = tuple(sorted(frame[spec.group_col].astype(str).unique()))
    if len(groups) < 2:
        raise fail(name, "a multiple-baseline study needs at least two groups")
    ordinals = ordinals_from_dates(frame[date_col], spec.frequency)
    codes = np.searchsorted(np.array(groups), frame[spec.group_col].astype(str).to_numpy())
    keys = ordinals * len(groups) + codes
    unique, counts = np.unique(keys, return_counts=True)
    if np.any(counts > 1):
        key = int(unique[np.argmax(counts > 1)])
        raise fail(
            name,
            f"{ordinal_label(key // len(groups), spec.frequency)} appears more than once for "
            f"group '{groups[key % len(groups)]}': give one row per period and group",
        )
    first, size, G = int(ordinals.min()), int(ordinals.max() - ordinals.min() + 1), len(groups)

    def grid(column: str) -> np.ndarray:
        return _to_grid(_numbers(frame[column]), ordinals, first, size, codes, G)

    y = grid(value_col)
    if not np.isfinite(y).any():
        raise fail(name, "all values are missing")
    if spec.model in COUNTED_FAMILIES:
        finite = y[np.isfinite(y)]
        if finite.min() < 0:
            raise fail(name, f"negative values cannot be counts for model '{spec.model}'")
        _refuse_fractions(y, name, f"model '{spec.model}' is for counts")
    log_offset = np.zeros((G, size))
    if spec.offset_col and spec.model in COUNT_FAMILIES:
        log_offset = _log_offset(grid(spec.offset_col))
    trials = None
    if spec.model == "binomial":
        assert spec.denominator_col is not None
        trials = grid(spec.denominator_col)
        usable = np.isfinite(trials) & (trials > 0)
        if np.any(usable & np.isfinite(y) & (y > trials)):
            raise fail(name, "the numerator is larger than the denominator in some month")
        log_offset, trials = _binomial_mask(trials)
    return Panel(
        name=name,
        groups=groups,
        first_ordinal=first,
        dates=ordinals_to_timestamps(np.arange(first, first + size), spec.frequency),
        y=y,
        log_offset=log_offset,
        trials=trials,
        warnings=(),
    )
