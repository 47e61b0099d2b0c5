"""Time index and design matrix for segmented regression, built with numpy (no formulas).

Time `t` counts periods (months or years) from the first period in the data (t = 0 there).
For each intervention starting at period T0 (centre C = T0 + exclude_periods):

- level term: 1 for t >= C (or, with a phase-in of n periods, a ramp
  min(max((t - T0 + 1) / n, 0), 1) that reaches 1 at T0 + n - 1);
- slope term: (t - C) for t >= C, else 0: zero at the first point after the interruption,
  so the level coefficient is the jump at that point (Linden's `itsa` parameterisation;
  Lopez Bernal et al.'s later code uses (t - T0 + 1), which shifts the level change by one
  slope unit).

Seasonality by Fourier pairs uses harmonics 1..K of the period on the calendar month number
m (1-12): columns sin(2 pi j m / P) for j = 1..K, then cos(2 pi j m / P) for j = 1..K. For
K <= 2 these are exactly the columns of R's `tsModel::harmonic(month, K, P)` (later tsModel
releases also use 1, 2, 3, ...; older ones used 1, 2, 4, ..., which agree for K <= 2 only).
Month-of-year terms are 11 indicators (February to December; January is the reference).

With a comparison series (Linden's multiple-group design) the treated and comparison series
are stacked: `group` is 1 for the treated series, and every trend, level and slope term is
also interacted with `group`; the interactions are the differences against the comparison.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics.its.errors import ITSInputError
from metrics.its.spec import DateLike, InterventionSpec, ShockSpec, parse_seasonality

LASTING = 10**9  # the "end" of a lasting shock: beyond any data
_YEAR_ONLY = re.compile(r"^\s*(\d{4})(\.0)?\s*$")
_EPOCH_MONTH = 1970 * 12


# --- time -------------------------------------------------------------------------------


def period_ordinal(value: DateLike, frequency: str) -> int:
    """A date as an integer period: year * 12 + month - 1 (monthly) or the year (annual).

    A bare year (1989 or "1989") means January of that year for monthly data.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        year, month = int(value), 1
    else:
        text = str(value)
        match = _YEAR_ONLY.match(text)
        if match:
            year, month = int(match.group(1)), 1
        else:
            try:
                stamp = pd.Timestamp(value)
            except (ValueError, TypeError) as exc:
                raise ITSInputError(f"cannot read '{value}' as a date") from exc
            if pd.isna(stamp):
                raise ITSInputError(f"cannot read '{value}' as a date")
            year, month = stamp.year, stamp.month
    if frequency == "monthly":
        return year * 12 + month - 1
    if frequency == "quarterly":
        return year * 4 + (month - 1) // 3
    return year


def ordinal_label(ordinal: int, frequency: str) -> str:
    """ "2016-01" for monthly data, "2016 Q1" for quarterly, "1989" for annual data."""
    if frequency == "monthly":
        return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"
    if frequency == "quarterly":
        return f"{ordinal // 4:04d} Q{ordinal % 4 + 1}"
    return f"{ordinal:04d}"


def ordinals_to_timestamps(ordinals: np.ndarray, frequency: str) -> pd.DatetimeIndex:
    """First day of each period (1 January for annual data)."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    # numpy counts months and years from 1970: a direct cast, much faster than pandas parsing.
    if frequency == "monthly":
        stamps = (ordinals - _EPOCH_MONTH).astype("datetime64[M]")
    elif frequency == "quarterly":
        stamps = (ordinals * 3 - _EPOCH_MONTH).astype("datetime64[M]")
    else:
        stamps = (ordinals - 1970).astype("datetime64[Y]")
    return pd.DatetimeIndex(stamps.astype("datetime64[ns]"))


def looks_annual(dates: pd.Series) -> bool:
    """True when every non-missing date is a bare year (1989, "1989", 1989.0)."""
    values = dates.dropna()
    if values.empty:
        return False
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float)
        return bool(np.all((numbers == np.round(numbers)) & (numbers >= 1000) & (numbers <= 9999)))
    return bool(values.astype(str).str.match(_YEAR_ONLY).all())


def ordinals_from_dates(dates: pd.Series, frequency: str) -> np.ndarray:
    """Integer periods for a date column (strings, datetimes or bare years)."""
    if dates.isna().any():
        raise ITSInputError(f"{int(dates.isna().sum())} rows have no date")
    if pd.api.types.is_datetime64_any_dtype(dates):
        stamps = dates.to_numpy(dtype="datetime64[ns]")
    elif looks_annual(dates):
        if frequency != "annual":
            raise ITSInputError(
                "the dates are bare years: use annual frequency, or give months (YYYY-MM)"
            )
        return dates.astype(str).str.extract(_YEAR_ONLY)[0].astype(int).to_numpy(np.int64)
    elif pd.api.types.is_numeric_dtype(dates):
        raise ITSInputError("the date column is numeric but not years: give dates as YYYY-MM")
    else:
        text = dates.astype(str).str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = text[parsed.isna()]
        if len(bad):
            raise ITSInputError(f"cannot read '{bad.iloc[0]}' as a date")
        stamps = parsed.to_numpy(dtype="datetime64[ns]")
    if frequency == "annual":
        return stamps.astype("datetime64[Y]").astype(np.int64) + 1970
    months = stamps.astype("datetime64[M]").astype(np.int64) + _EPOCH_MONTH
    return months // 3 if frequency == "quarterly" else months


def detect_frequency(dates: pd.Series) -> str:
    """ "annual", "quarterly" or "monthly" from the spacing of the dates.

    Bare years are annual. Otherwise the dates are read as months: when every gap between
    consecutive distinct dates is a whole number of years (1970-01-01, 1971-01-01, ...), the
    data are annual; a whole number of quarters, quarterly; anything else, monthly. Fewer
    than two distinct dates: monthly.
    """
    if looks_annual(dates):
        return "annual"
    try:
        months = np.unique(ordinals_from_dates(dates.dropna(), "monthly"))
    except ITSInputError:
        return "monthly"
    if months.size < 2:
        return "monthly"
    gaps = np.diff(months)
    if np.all(gaps % 12 == 0):
        return "annual"
    if np.all(gaps % 3 == 0):
        return "quarterly"
    return "monthly"


# --- timings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InterventionTiming:
    """An intervention placed on the time index (all positions in periods from t = 0)."""

    id: str
    label: str
    start: int  # first period under the intervention
    centre: int  # where the level step and slope start (start + exclude_periods)
    level: bool
    slope: bool
    ramp_periods: int
    exclude_periods: int

    @property
    def window_end(self) -> int | None:
        """Last period of the phase-in or excluded window (None without a window)."""
        width = max(self.ramp_periods, self.exclude_periods)
        return self.start + width - 1 if width > 0 else None


@dataclass(frozen=True)
class ShockTiming:
    """A shock placed on the time index."""

    id: str
    label: str
    start: int
    end: int  # for a lasting shock, a period far beyond any data
    recovery_periods: int
    lasting: bool = False
    ramp_periods: int = 0

    def outside(self, last: int) -> bool:
        """True when the shock, recovery included, lies wholly outside periods 0..last."""
        return self.end + self.recovery_periods < 0 or self.start > last


def place_interventions(
    interventions: Sequence[InterventionSpec], first_ordinal: int, frequency: str
) -> tuple[InterventionTiming, ...]:
    """Convert intervention dates to periods from the first data point, sorted by start."""
    timings = []
    for item in interventions:
        start = period_ordinal(item.start, frequency) - first_ordinal
        timings.append(
            InterventionTiming(
                id=item.id,
                label=item.label,
                start=start,
                centre=start + item.exclude_periods,
                level=item.level,
                slope=item.slope,
                ramp_periods=item.ramp_periods,
                exclude_periods=item.exclude_periods,
            )
        )
    return tuple(sorted(timings, key=lambda timing: timing.start))


def place_shocks(
    shocks: Sequence[ShockSpec], first_ordinal: int, frequency: str
) -> tuple[ShockTiming, ...]:
    """Convert shock dates to periods from the first data point."""
    placed = []
    for shock in shocks:
        start = period_ordinal(shock.start, frequency) - first_ordinal
        if shock.end is None:
            placed.append(
                ShockTiming(
                    shock.id, shock.label, start, LASTING, 0, lasting=True,
                    ramp_periods=shock.ramp_periods,
                )
            )  # fmt: skip
            continue
        end = period_ordinal(shock.end, frequency) - first_ordinal
        if end < start:
            raise ITSInputError(f"shock '{shock.id}' ends before it starts")
        placed.append(ShockTiming(shock.id, shock.label, start, end, shock.recovery_periods))
    return tuple(placed)


# --- design -----------------------------------------------------------------------------


class DesignLayout:
    """The columns of a segmented-regression design and how to evaluate them at any period.

    `matrix(t, group)` builds rows for arbitrary periods (also beyond the data, for the
    reporting horizon), so fitted values, counterfactuals and effects all come from the one
    definition of the terms.
    """

    def __init__(
        self,
        interventions: Sequence[InterventionTiming],
        shocks: Sequence[ShockTiming],
        *,
        seasonality: str,
        period: int,
        first_ordinal: int,
        frequency: str,
        with_control: bool,
    ) -> None:
        self.interventions = tuple(interventions)
        self.shocks = tuple(shocks)
        self.season_kind, self.harmonics = parse_seasonality(seasonality)
        self.period = period
        self.first_ordinal = first_ordinal
        self.frequency = frequency
        self.with_control = with_control
        if self.season_kind == "fourier" and 2 * self.harmonics > period:
            raise ITSInputError(f"fourier:{self.harmonics} needs period >= {2 * self.harmonics}")

        names: list[str] = ["const", "time"]
        if with_control:
            names += ["group", "group:time"]
        self._level_col: dict[str, int] = {}
        self._slope_col: dict[str, int] = {}
        self._effect_cols: dict[str, list[int]] = {}
        for timing in self.interventions:
            cols: list[str] = []
            if timing.level:
                cols.append(f"level[{timing.id}]")
            if timing.slope:
                cols.append(f"slope[{timing.id}]")
            shared_start = len(names)
            names += cols
            if with_control:
                names += [f"group:{c}" for c in cols]
            # With a comparison series the intervention effect is the group interaction;
            # the shared terms describe the change the comparison series also saw.
            first = shared_start + (len(cols) if with_control else 0)
            effect_positions = list(range(first, first + len(cols)))
            self._effect_cols[timing.id] = effect_positions
            position = iter(effect_positions)
            if timing.level:
                self._level_col[timing.id] = next(position)
            if timing.slope:
                self._slope_col[timing.id] = next(position)
        self._shock_start = len(names)
        names += [f"shock[{s.id}]" for s in self.shocks]
        self._season_start = len(names)
        if self.season_kind == "fourier":
            # A sine at exactly half the period is identically zero on whole periods: drop it.
            self._sin_harmonics = [j for j in range(1, self.harmonics + 1) if 2 * j != period]
            names += [f"sin{j}" for j in self._sin_harmonics]
            names += [f"cos{j}" for j in range(1, self.harmonics + 1)]
        elif self.season_kind == "month":
            label = "quarter" if frequency == "quarterly" else "month"
            names += [f"{label}[{m}]" for m in range(2, period + 1)]
        self.columns: tuple[str, ...] = tuple(names)

    # -- contrasts -----------------------------------------------------------------------

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def _unit(self, positions: Sequence[int]) -> np.ndarray:
        vector = np.zeros(self.n_columns)
        vector[list(positions)] = 1.0
        return vector

    def trend_contrast(self) -> np.ndarray:
        """Pre-intervention trend per period of the treated series."""
        return self._unit([1, 3] if self.with_control else [1])

    def level_contrast(self, intervention_id: str) -> np.ndarray | None:
        """Contrast for the level change of an intervention (None if not estimated)."""
        col = self._level_col.get(intervention_id)
        return None if col is None else self._unit([col])

    def slope_contrast(self, intervention_id: str) -> np.ndarray | None:
        """Contrast for the slope change of an intervention (None if not estimated)."""
        col = self._slope_col.get(intervention_id)
        return None if col is None else self._unit([col])

    def effect_columns(self, intervention_id: str | None = None) -> list[int]:
        """Columns set to zero for the counterfactual without one (or every) intervention."""
        if intervention_id is not None:
            return list(self._effect_cols[intervention_id])
        return sorted(c for cols in self._effect_cols.values() for c in cols)

    # -- rows ----------------------------------------------------------------------------

    def calendar_month(self, t: np.ndarray) -> np.ndarray:
        """Calendar month 1-12 of each period (quarter 1-4 for quarterly data)."""
        cycle = 4 if self.frequency == "quarterly" else 12
        return (self.first_ordinal + np.asarray(t, dtype=np.int64)) % cycle + 1

    def matrix(self, t: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
        """Design rows for periods `t` (and `group`: 1 treated, 0 comparison)."""
        t = np.asarray(t, dtype=float)
        n = t.shape[0]
        g = np.ones(n) if group is None else np.asarray(group, dtype=float)
        columns: list[np.ndarray] = [np.ones(n), t]
        if self.with_control:
            columns += [g, g * t]
        for timing in self.interventions:
            columns += self.intervention_terms(timing, t, g)
        for shock in self.shocks:
            if shock.lasting:
                if shock.ramp_periods > 0:
                    ramp = (t - shock.start + 1.0) / shock.ramp_periods
                    columns.append(np.clip(ramp, 0.0, 1.0))
                else:
                    columns.append((t >= shock.start).astype(float))
                continue
            during = ((t >= shock.start) & (t <= shock.end)).astype(float)
            if shock.recovery_periods > 0:
                since_end = t - shock.end
                recovering = (since_end > 0) & (since_end <= shock.recovery_periods)
                during = during + np.where(
                    recovering, 1.0 - since_end / (shock.recovery_periods + 1.0), 0.0
                )
            columns.append(during)
        if self.season_kind == "fourier":
            month = self.calendar_month(t).astype(float)
            angle = 2.0 * math.pi * month / self.period
            columns += [np.sin(j * angle) for j in self._sin_harmonics]
            columns += [np.cos(j * angle) for j in range(1, self.harmonics + 1)]
        elif self.season_kind == "month":
            month = self.calendar_month(t)
            columns += [(month == m).astype(float) for m in range(2, self.period + 1)]
        return np.column_stack(columns)

    def intervention_terms(
        self, timing: InterventionTiming, t: np.ndarray, group: np.ndarray
    ) -> list[np.ndarray]:
        """The columns of one intervention (level, slope, then their group interactions)."""
        terms: list[np.ndarray] = []
        after = t >= timing.centre
        if timing.level:
            if timing.ramp_periods > 0:
                ramp = (t - timing.start + 1.0) / timing.ramp_periods
                terms.append(np.clip(ramp, 0.0, 1.0))
            else:
                terms.append(after.astype(float))
        if timing.slope:
            terms.append(np.where(after, t - timing.centre, 0.0))
        if self.with_control:
            terms += [group * term for term in terms]
        return terms

    def intervention_span(self, intervention_id: str) -> tuple[int, int]:
        """First and one-past-last column of an intervention's terms."""
        positions = [
            i
            for i, name in enumerate(self.columns)
            if name.endswith(f"[{intervention_id}]") and "shock[" not in name
        ]
        return positions[0], positions[-1] + 1

    def segment_labels(self, t: np.ndarray) -> np.ndarray:
        """ "pre" before the first intervention, else the id of the latest one started."""
        t = np.asarray(t)
        labels = np.full(t.shape[0], "pre", dtype=object)
        for timing in self.interventions:  # sorted by start: later ones overwrite
            labels[t >= timing.start] = timing.id
        return labels

    def excluded(self, t: np.ndarray) -> np.ndarray:
        """True for periods inside an excluded transition window."""
        t = np.asarray(t)
        mask = np.zeros(t.shape[0], dtype=bool)
        for timing in self.interventions:
            if timing.exclude_periods > 0:
                mask |= (t >= timing.start) & (t < timing.centre)
        return mask


def first_collinear_column(matrix: np.ndarray, names: Sequence[str]) -> str | None:
    """Name of the first column that is (numerically) a combination of earlier ones."""
    if matrix.shape[0] < matrix.shape[1]:
        return names[matrix.shape[0]] if matrix.shape[0] < len(names) else names[-1]
    scale = np.linalg.norm(matrix, axis=0)
    if np.any(scale == 0):
        return names[int(np.argmax(scale == 0))]
    r = np.linalg.qr(matrix / scale, mode="r")
    diagonal = np.abs(np.diag(r))
    tolerance = 1e-9 * max(1.0, float(diagonal.max()))
    weak = np.nonzero(diagonal < tolerance)[0]
    return names[int(weak[0])] if weak.size else None
