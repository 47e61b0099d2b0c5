"""Making Data Count SPC for metric series: XmR limits, special-cause rules, icons, summary.

`compute_spc()` takes a tidy frame (one row per date, optionally per facet) and returns a
frozen `SPCResult`: a tidy `points` frame, one `FacetSPC` per facet (icons, per-group
summary, warnings) and every warning in plain words. Charts, pages, the CLI and exports
all read that one result.

Semantics are those of NHSRplotthedots v0.2.2 (see /work/shared/reference_data/spc/README.md
and docs/spc.md); every non-edge reference case is reproduced exactly. Where the reference
has a quirk (the reference cases marked `edge`), this engine deliberately chooses:

1. Constant baseline (every moving range 0) with screening on: the reference screens out
   every moving range and returns NaN limits. Here the screen is skipped, so the limits
   equal the mean (as with screening off) and a warning says so. Point types are the same
   (every point sits on the mean); a later change shows as special cause, and a target
   can be assessed ("consistent pass/fail") instead of reading as "inconsistent".
2. A facet with no target when targets are given per facet: no assurance (None) and no
   assurance icon; the reference reads the NA target as "inconsistent". Generally a NaN
   target means "no target".
3. Missing values: kept as rows (gaps in charts) with common-cause type, as in the
   reference. Their moving ranges are dropped (the moving range never bridges a gap), and
   a missing point breaks any run, trend or two-in-three window that would span it (the
   reference can raise an error there). A warning lists the missing dates.
4. Missing latest value: the variation icon (and the assurance check) use the latest
   NON-missing point, with a warning; the reference uses the missing row, so its icon is
   always "common cause".
5. A rebase on the first date starts no new group: groups are always numbered from 0
   (the reference starts at 1 in that case) and a warning says the date was ignored.

Run charts (beyond the reference, `SPCOptions.chart="auto"`, the default): when more than
half of a rebase group's moving ranges are exactly 0 (the median moving range is 0, e.g. a
median wait in whole days that mostly repeats, or a constant series), XmR limits would
describe the recording resolution, not the process, and nearly every point would be
flagged. Such a group is read as a RUN CHART: no process limits (lpl/upl/nlpl/nupl NaN),
the median as centre line, special cause only by the run-chart rules of NHS England's
Making Data Count guidance (a shift of 6+ points on one side of the median; a trend of 5+
points going one way), no assurance (a run chart cannot say whether a target will be met).
`FacetSPC.chart_kind` and `chart_note` say so in plain words. Every group of every
reference case that is not constant stays XmR; the constant edge case now gets NaN limits
and common cause throughout, exactly as the reference does.

Laney p' and u' charts (beyond the reference, `SPCOptions.chart="laney"`, for a ratio or a
rate with large denominators): `compute_spc(..., numerator_col=..., denominator_col=...)`
charts per x numerator / denominator against p-bar = sum(numerators) / sum(denominators),
with limits p-bar -/+ 3 sigma_i sigma_z that vary with each point's denominator (sigma_i,
binomial for p', Poisson for u') and are scaled by sigma_z, the mean moving range of the
points' z-scores / 1.128 (Laney 2002; `metrics.spc.laney`). The XmR rules apply against
those varying limits (outside the limits, two-in-three beyond the varying 2-sigma lines;
runs and trends as for XmR), icons and assurance as for XmR (assurance against the limits
at the latest point). `chart_kind` is "laney_p" or "laney_u"; there is no run-chart
fallback. See docs/spc.md, "Laney p' and u' charts".

Also beyond the reference: a rebase date matching no row is ignored as in the reference,
but with a warning naming it; targets may step (change from a date); rule lengths and the
two-in-three rule are options.

Performance: numpy throughout, one loop per (facet, rebase group), one DataFrame built at
the end; no per-point pandas operations.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from metrics.spc import rules
from metrics.spc.icons import icon_meaning
from metrics.spc.laney import LANEY_KINDS, LANEY_NAMES, LaneyLimits, laney_limits
from metrics.spc.wording import plain_number
from metrics.spc.xmr import (
    ProcessLimits,
    baseline_median,
    process_limits,
    same_value_tolerance,
)

DEFAULT_TRIAL_LIMIT_POINTS: Final = 13
MIN_FIX_AFTER_N_POINTS: Final = 12

POINT_COLUMNS: Final = (
    "facet",
    "date",
    "value",
    "mean",
    "lpl",
    "upl",
    "nlpl",
    "nupl",
    "rebase_group",
    "target",
    "special_cause_type",
    "special_cause_flag",
    "point_type",
    "rule",
    "short_group_warning",
    "centre",
    "chart_kind",
)
CHART_CHOICES: Final = ("auto", "xmr", "run", "laney")
# chart_kind of a Laney group, by SPCOptions.laney_chart
LANEY_CHART_KINDS: Final = {"p": "laney_p", "u": "laney_u"}

DateLike = str | dt.date | np.datetime64 | pd.Timestamp
TargetSteps = Sequence[tuple[DateLike, float | None]]
TargetSpec = float | TargetSteps | Mapping[Hashable, float | TargetSteps | None] | None
RebaseSpec = Sequence[DateLike] | Mapping[Hashable, Sequence[DateLike]] | DateLike | None


class SPCInputError(ValueError):
    """The input frame cannot be analysed: an unknown column, a missing or unreadable date,
    a duplicate date within a facet, or a value that is not a number."""


@dataclass(frozen=True)
class SPCOptions:
    """Rule parameters. Defaults reproduce NHSRplotthedots v0.2.2.

    improvement: which way is better: "increase", "decrease" or "neutral".
    screen_outliers: drop moving ranges >= 3.267 x their mean before the limits (the MDC
        Excel tool does not screen: use False to match it).
    run_length: points in a row on one side of the mean that make a shift (7).
    trend_length: points in a row strictly rising or falling that make a trend (7).
    two_in_three: apply the "2 of 3 points beyond 2 sigma on one side" rule.
    fix_after_n_points: limits from the first n points of each rebase group (>= 12), or
        None to use every point.
    trial_limit_points: groups with fewer points get the trial-limits warning (13).
    chart: "auto" (the default): XmR, except that a rebase group where more than half of
        the moving ranges are exactly 0 is read as a run chart (its limits would carry no
        information); "xmr": always XmR (the reference's behaviour); "run": always a run
        chart (median, shift and trend rules, no limits); "laney": Laney's p' or u' chart
        from each point's numerator and denominator (compute_spc's numerator_col and
        denominator_col): limits vary with the denominator and are scaled by sigma_z, the
        variation between points (see `metrics.spc.laney`). Never a run chart.
    laney_chart: with chart="laney": "p" for a proportion (binomial: p' chart) or "u" for
        a rate (Poisson: u' chart).
    """

    improvement: str = "increase"
    screen_outliers: bool = True
    run_length: int = 7
    trend_length: int = 7
    two_in_three: bool = True
    fix_after_n_points: int | None = None
    trial_limit_points: int = DEFAULT_TRIAL_LIMIT_POINTS
    chart: str = "auto"
    laney_chart: str = "p"

    def __post_init__(self) -> None:
        if self.chart not in CHART_CHOICES:
            raise ValueError(f"chart must be one of {', '.join(CHART_CHOICES)}; got {self.chart!r}")
        if self.laney_chart not in LANEY_KINDS:
            raise ValueError(
                f"laney_chart must be 'p' (proportions) or 'u' (rates); got {self.laney_chart!r}"
            )
        if self.improvement not in rules.IMPROVEMENT_DIRECTIONS:
            raise ValueError(
                "improvement must be one of "
                f"{', '.join(rules.IMPROVEMENT_DIRECTIONS)}; got {self.improvement!r}"
            )
        for name in ("screen_outliers", "two_in_three"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        for name, least in (("run_length", 2), ("trend_length", 3), ("trial_limit_points", 1)):
            value = getattr(self, name)
            if not _is_int(value) or value < least:
                raise ValueError(
                    f"{name} must be a whole number of at least {least}; got {value!r}"
                )
        fix = self.fix_after_n_points
        if fix is not None and (not _is_int(fix) or fix < MIN_FIX_AFTER_N_POINTS):
            raise ValueError(
                "fix_after_n_points must be None or a whole number of at least "
                f"{MIN_FIX_AFTER_N_POINTS} (limits need a baseline of 12+ points); got {fix!r}"
            )

    def describe(self) -> str:
        """The options in plain words, for reports and chart captions."""
        better = {"increase": "higher is better", "decrease": "lower is better"}.get(
            self.improvement, "neither direction is better"
        )
        rules_used = [
            "a point outside the limits",
            f"a run of {self.run_length} on one side of the mean",
            f"a trend of {self.trend_length}",
        ]
        if self.two_in_three:
            rules_used.append("2 of 3 points close to a limit")
        screen = "moving ranges screened" if self.screen_outliers else "no moving-range screening"
        fixed = (
            f"limits fixed after {self.fix_after_n_points} points"
            if self.fix_after_n_points
            else "limits from all points"
        )
        chart = {
            "auto": (
                "; run chart (median; shift of "
                f"{rules.RUN_CHART_SHIFT_LENGTH}, trend of {rules.RUN_CHART_TREND_LENGTH}) "
                "where most moving ranges are 0"
            ),
            "run": (
                f"; every group read as a run chart (median; shift of "
                f"{rules.RUN_CHART_SHIFT_LENGTH}, trend of {rules.RUN_CHART_TREND_LENGTH})"
            ),
            "xmr": "; always XmR",
            "laney": (
                f"; {LANEY_NAMES[self.laney_chart]} (limits vary with each point's "
                "denominator, scaled by sigma z, the variation between points)"
            ),
        }[self.chart]
        return f"{better}; {screen}; {fixed}; special cause: {', '.join(rules_used)}{chart}"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


@dataclass(frozen=True)
class GroupSummary:
    """One rebase group of one facet, as in the reference's summary table."""

    rebase_group: int
    start: pd.Timestamp
    end: pd.Timestamp
    n: int  # rows in the group, including missing values (as the reference counts)
    n_missing: int
    mean: float
    lpl: float
    upl: float
    common_cause: int
    special_cause_improvement: int
    special_cause_concern: int
    special_cause_neutral: int
    variation_type: str | None  # point type of the group's latest non-missing point
    assurance_type: str | None  # only on the latest group, only with a target
    trial_limits: bool
    # "xmr"; "run": no limits, centre line is the median; "laney_p"/"laney_u": Laney's
    # p'/u' chart, whose lpl/upl vary by point (here: those of the group's latest point)
    chart_kind: str = "xmr"
    centre: float = math.nan  # the centre line: the mean (XmR) or the median (run chart)
    sigma_z: float = math.nan  # Laney charts only: the overdispersion factor

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ISO dates, NaN as None."""
        return {
            "rebase_group": self.rebase_group,
            "start": _iso_date(self.start),
            "end": _iso_date(self.end),
            "n": self.n,
            "n_missing": self.n_missing,
            "mean": _json_float(self.mean),
            "lpl": _json_float(self.lpl),
            "upl": _json_float(self.upl),
            "common_cause": self.common_cause,
            "special_cause_improvement": self.special_cause_improvement,
            "special_cause_concern": self.special_cause_concern,
            "special_cause_neutral": self.special_cause_neutral,
            "variation_type": self.variation_type,
            "assurance_type": self.assurance_type,
            "trial_limits": self.trial_limits,
            "chart_kind": self.chart_kind,
            "centre": _json_float(self.centre),
            "sigma_z": _json_float(self.sigma_z),
        }


@dataclass(frozen=True)
class FacetSPC:
    """Icons, latest point, per-group summary and warnings for one facet."""

    facet: Hashable | None
    improvement: str
    n_points: int
    latest_date: pd.Timestamp | None  # latest date with a value
    latest_value: float | None
    latest_point_type: str | None
    latest_rule: str  # plain-English rule for the latest point ("" for common cause)
    variation_icon: str | None  # None when the facet has no values at all
    assurance_type: str | None
    assurance_icon: str | None
    target: float | None  # the target at the latest point
    summary: tuple[GroupSummary, ...]
    warnings: tuple[str, ...]
    # "run" when the group the icons read (the latest with a value) is read as a run chart;
    # "laney_p" / "laney_u" for a Laney chart (every group)
    chart_kind: str = "xmr"
    # plain English, whenever any group is read as a run chart; for a Laney chart what
    # sigma_z says about the variation between points
    chart_note: str = ""
    assurance_note: str = ""  # why there is no assurance although there is a target

    @property
    def variation_meaning(self) -> str:
        """Plain-English meaning of the variation icon."""
        return icon_meaning(self.variation_icon) if self.variation_icon else "No data to assess"

    @property
    def assurance_meaning(self) -> str:
        """Plain-English meaning of the assurance icon ("" when there is no target)."""
        return icon_meaning(self.assurance_icon) if self.assurance_icon else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the facet-level results (without points)."""
        return {
            "facet": _json_scalar(self.facet),
            "improvement": self.improvement,
            "n_points": self.n_points,
            "latest_date": _iso_date(self.latest_date),
            "latest_value": _json_float(self.latest_value),
            "latest_point_type": self.latest_point_type,
            "latest_rule": self.latest_rule,
            "variation_icon": self.variation_icon,
            "variation_meaning": self.variation_meaning,
            "assurance_type": self.assurance_type,
            "assurance_icon": self.assurance_icon,
            "assurance_meaning": self.assurance_meaning or None,
            "target": _json_float(self.target),
            "chart_kind": self.chart_kind,
            "chart_note": self.chart_note or None,
            "assurance_note": self.assurance_note or None,
            "summary": [group.to_dict() for group in self.summary],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class SPCResult:
    """Everything `compute_spc` found. `points` is sorted by facet, then date.

    points columns: facet (None without a facet column), date, value, mean, lpl, upl,
    nlpl, nupl (2-sigma lines), rebase_group (0, 1, ...), target (NaN where none),
    special_cause_type (reference label), special_cause_flag, point_type (reference name),
    rule (plain English; "" for common cause), short_group_warning (trial limits),
    centre (the centre line: the mean, or the median in a run-chart group), chart_kind
    ("xmr" or "run"; a run-chart group has NaN lpl/upl/nlpl/nupl; "laney_p"/"laney_u" for
    a Laney chart, whose lpl/upl/nlpl/nupl vary by point and whose mean and centre are the
    weighted centre line per x sum(numerators) / sum(denominators)).
    """

    points: pd.DataFrame
    facets: tuple[FacetSPC, ...]
    options: SPCOptions
    warnings: tuple[str, ...] = ()  # every warning; a facet's own are prefixed with its name
    input_warnings: tuple[str, ...] = ()  # warnings about the arguments, not about one facet
    _facet_rows: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def facet_names(self) -> list[Hashable | None]:
        """Facet labels in result order."""
        return [f.facet for f in self.facets]

    def _facet_index(self, name: Hashable | None) -> int:
        if name is None:
            if len(self.facets) == 1:
                return 0
            raise KeyError(
                f"name a facet: there are {len(self.facets)} "
                f"({', '.join(repr(f) for f in self.facet_names)})"
            )
        for i, facet in enumerate(self.facets):
            if facet.facet == name or str(facet.facet) == str(name):
                return i
        raise KeyError(
            f"no facet {name!r}; facets are: {', '.join(repr(f) for f in self.facet_names)}"
        )

    def facet(self, name: Hashable | None = None) -> FacetSPC:
        """The facet called `name` (omit it when there is only one facet)."""
        return self.facets[self._facet_index(name)]

    def facet_points(self, name: Hashable | None = None) -> pd.DataFrame:
        """Rows of `points` for one facet (omit `name` when there is only one facet)."""
        start, stop = self._facet_rows[self._facet_index(name)]
        return self.points.iloc[start:stop]

    def to_json_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per facet: facet-level fields plus `points` (NaN as None)."""
        records = []
        for i, facet in enumerate(self.facets):
            record = facet.to_dict()
            start, stop = self._facet_rows[i]
            record["points"] = _point_records(self.points.iloc[start:stop])
            records.append(record)
        return records


# --- JSON helpers -------------------------------------------------------------------------


def _json_float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _iso_date(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _point_records(points: pd.DataFrame) -> list[dict[str, Any]]:
    date_column = points["date"]
    if (date_column == date_column.dt.normalize()).all():
        dates = date_column.dt.strftime("%Y-%m-%d").tolist()
    else:
        dates = [_iso_date(d) for d in date_column]
    columns = {
        name: points[name].to_numpy(dtype=float, na_value=np.nan)
        for name in ("value", "mean", "lpl", "upl", "nlpl", "nupl", "target", "centre")
    }
    floats = {
        name: [None if math.isnan(v) else v for v in arr.tolist()] for name, arr in columns.items()
    }
    groups = points["rebase_group"].tolist()
    types = points["special_cause_type"].tolist()
    flags = points["special_cause_flag"].tolist()
    point_types = points["point_type"].tolist()
    rule_text = points["rule"].tolist()
    trial = points["short_group_warning"].tolist()
    kinds = points["chart_kind"].tolist()
    return [
        {
            "date": dates[i],
            "value": floats["value"][i],
            "mean": floats["mean"][i],
            "lpl": floats["lpl"][i],
            "upl": floats["upl"][i],
            "nlpl": floats["nlpl"][i],
            "nupl": floats["nupl"][i],
            "target": floats["target"][i],
            "rebase_group": int(groups[i]),
            "point_type": point_types[i],
            "special_cause_type": types[i],
            "special_cause_flag": bool(flags[i]),
            "rule": rule_text[i],
            "short_group_warning": bool(trial[i]),
            "centre": floats["centre"][i],
            "chart_kind": kinds[i],
        }
        for i in range(len(dates))
    ]


# --- input parsing ------------------------------------------------------------------------


def _row_name(frame: pd.DataFrame, position: int) -> str:
    return f"row {frame.index[position]!r}"


def _require_columns(frame: pd.DataFrame, columns: Iterable[tuple[str, str | None]]) -> None:
    for role, column in columns:
        if column is not None and column not in frame.columns:
            known = ", ".join(repr(c) for c in frame.columns)
            raise SPCInputError(f"no {role} column {column!r}; columns are: {known}")


def parse_date_strings(texts: pd.Series) -> pd.Series:
    """Dates written as text: ISO first (2024-04, 2024-04-01, 2024-04-01T00:00), then
    day-first as UK data are written (01/04/2024 is 1 April). NaT where neither reads."""
    parsed = pd.to_datetime(texts, format="ISO8601", errors="coerce")
    retry = (parsed.isna() & texts.notna()).to_numpy()
    if retry.any():
        parsed[retry] = pd.to_datetime(texts[retry], format="mixed", dayfirst=True, errors="coerce")
    return parsed


def _parse_dates(frame: pd.DataFrame, column: str) -> np.ndarray:
    raw = frame[column]
    if isinstance(raw.dtype, pd.PeriodDtype):
        parsed = raw.dt.to_timestamp()
    elif pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = raw
    elif pd.api.types.is_numeric_dtype(raw.dtype) and not raw.isna().all():
        raise SPCInputError(
            f"date column {column!r} holds numbers, not dates (e.g. {raw.iloc[0]!r}); "
            "give dates such as 2024-04-01"
        )
    else:
        if pd.api.types.infer_dtype(raw, skipna=True) == "string":
            parsed = parse_date_strings(raw.astype("string").str.strip())
        else:
            parsed = pd.to_datetime(raw, errors="coerce")
        unreadable = parsed.isna().to_numpy() & raw.notna().to_numpy()
        if unreadable.any():
            i = int(np.flatnonzero(unreadable)[0])
            raise SPCInputError(
                f"{_row_name(frame, i)}: date {raw.iloc[i]!r} in column {column!r} is not a date"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)  # keep wall-clock dates; boards report local months
    missing = parsed.isna().to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise SPCInputError(f"{_row_name(frame, i)}: missing date in column {column!r}")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _parse_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = raw.astype("string").str.strip()
        blank = text.isna() | (text == "")
        values = pd.to_numeric(text.mask(blank), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        unreadable = np.isnan(values) & ~blank.to_numpy(dtype=bool)
        if unreadable.any():
            i = int(np.flatnonzero(unreadable)[0])
            raise SPCInputError(
                f"{_row_name(frame, i)}: value {raw.iloc[i]!r} in column {column!r} is not a number"
            )
    infinite = np.isinf(values)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise SPCInputError(
            f"{_row_name(frame, i)}: value {raw.iloc[i]!r} in column {column!r} is not finite"
        )
    return values


def _laney_per(per: Any, kind: str) -> float:
    """The Laney chart's scale: 100 (percent) for p', 1 for u' unless given."""
    if per is None:
        return 100.0 if kind == "p" else 1.0
    if isinstance(per, bool | np.bool_) or not isinstance(per, numbers.Real):
        raise ValueError(f"per must be a positive number; got {per!r}")
    if not math.isfinite(float(per)) or float(per) <= 0:
        raise ValueError(f"per must be a positive number; got {per!r}")
    return float(per)


def _parse_counts(
    frame: pd.DataFrame, numerator_col: str, denominator_col: str, kind: str, per: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numerators, denominators and the values charted (per x numerator / denominator).

    Negative parts, and for a p' chart a numerator above its denominator (a proportion
    above 1), cannot be charted and raise SPCInputError naming the row. A missing part or
    a denominator of 0 gives a missing value."""
    numerators = _parse_values(frame, numerator_col)
    denominators = _parse_values(frame, denominator_col)
    for column, array in ((numerator_col, numerators), (denominator_col, denominators)):
        negative = array < 0
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise SPCInputError(
                f"{_row_name(frame, i)}: {array[i]:g} in column {column!r} is negative; "
                "a Laney chart needs counts and denominators of 0 or more"
            )
    if kind == "p":
        # NaN compares False; a denominator of 0 is a gap whatever the numerator
        above = (numerators > denominators) & (denominators > 0)
        if above.any():
            i = int(np.flatnonzero(above)[0])
            raise SPCInputError(
                f"{_row_name(frame, i)}: numerator {numerators[i]:g} ({numerator_col!r}) is "
                f"more than its denominator {denominators[i]:g} ({denominator_col!r}); a "
                "p' chart is for proportions (use laney_chart='u' for a rate)"
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(denominators > 0, per * numerators / denominators, np.nan)
    return numerators, denominators, values


def _parse_facets(frame: pd.DataFrame, column: str | None) -> tuple[np.ndarray, list[Any]]:
    if column is None:
        return np.zeros(len(frame), dtype=np.int64), [None]
    raw = frame[column]
    try:
        codes, uniques = pd.factorize(raw, sort=True)
    except TypeError:  # facets of mixed types cannot be sorted; keep their first-seen order
        codes, uniques = pd.factorize(raw, sort=False)
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise SPCInputError(f"{_row_name(frame, i)}: missing facet in column {column!r}")
    return codes.astype(np.int64), [_json_scalar(u) for u in list(uniques)]


def _to_timestamp(value: Any) -> pd.Timestamp | None:
    """A date-like value as a tz-naive Timestamp, or None when it is not a date."""
    if isinstance(value, bool) or not isinstance(
        value, str | dt.date | np.datetime64 | pd.Timestamp
    ):
        return None
    try:
        # text is read as the data's dates are: ISO, then day-first (01/04/2024 = 1 April)
        ts = (
            parse_date_strings(pd.Series([value]))[0]
            if isinstance(value, str)
            else pd.Timestamp(value)
        )
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(ts):
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.as_unit("ns")


def _lookup(mapping: Mapping[Hashable, Any], facet: Hashable | None) -> Any:
    """The entry for a facet; keys may also be the facet's text (a CSV's "1" for facet 1)."""
    if facet in mapping:
        return mapping[facet]
    return next((value for key, value in mapping.items() if str(key) == str(facet)), None)


def _fmt(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


# --- targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Steps:
    """A target that changes from given dates: value NaN means no target from that date."""

    dates: np.ndarray  # datetime64[ns], ascending
    values: np.ndarray  # float


def _parse_target_value(value: Any, where: str) -> tuple[float | _Steps | None, list[str]]:
    if value is None:
        return None, []
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if math.isnan(number):
            return None, []  # NaN is "no target", as in a per-facet table with gaps
        if math.isinf(number):
            return None, [f"{where} {value!r} is not finite; no target used"]
        return number, []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return _parse_target_steps(value, where)
    return None, [
        f"{where} {value!r} is not a number or a list of (from_date, value) steps; no target used"
    ]


def _parse_target_steps(steps: Sequence[Any], where: str) -> tuple[_Steps | None, list[str]]:
    warnings: list[str] = []
    parsed: dict[np.datetime64, float] = {}
    for step in steps:
        ok = isinstance(step, Sequence) and not isinstance(step, str | bytes) and len(step) == 2
        when = _to_timestamp(step[0]) if ok else None
        amount = step[1] if ok else None
        valid_amount = amount is None or (
            isinstance(amount, numbers.Real) and not isinstance(amount, bool | np.bool_)
        )
        if when is None or not valid_amount:
            warnings.append(
                f"{where}: step {step!r} is not a (from_date, value) pair; step ignored"
            )
            continue
        key = when.to_datetime64()
        if key in parsed:
            warnings.append(f"{where}: two steps from {_fmt(when)}; the later one is used")
        parsed[key] = math.nan if amount is None else float(amount)
    if not parsed:
        if not warnings:
            warnings.append(f"{where} is an empty list of steps; no target used")
        return None, warnings
    order = sorted(parsed)
    return _Steps(
        np.array(order, dtype="datetime64[ns]"), np.array([parsed[d] for d in order])
    ), warnings


def _target_values(spec: float | _Steps | None, dates: np.ndarray) -> np.ndarray:
    if spec is None:
        return np.full(dates.size, np.nan)
    if isinstance(spec, _Steps):
        index = np.searchsorted(spec.dates, dates, side="right") - 1
        return np.where(index >= 0, spec.values[np.maximum(index, 0)], np.nan)
    return np.full(dates.size, spec)


# --- rebase -------------------------------------------------------------------------------


def _parse_rebase_dates(value: Any, where: str) -> tuple[list[pd.Timestamp], list[str]]:
    if value is None:
        return [], []
    if isinstance(value, str | dt.date | np.datetime64 | pd.Timestamp):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        raise ValueError(
            f"{where} must be a list of dates (or a dict of facet -> list of dates); "
            f"got {type(value).__name__}"
        )
    dates, warnings = [], []
    for item in value:
        ts = _to_timestamp(item)
        if ts is None:
            warnings.append(f"{where} {item!r} is not a date; ignored")
        else:
            dates.append(ts)
    return dates, warnings


def _assign_rebase_groups(
    dates: np.ndarray, rebase_dates: list[pd.Timestamp]
) -> tuple[np.ndarray, list[str]]:
    """Boolean "starts a new group" per point, and warnings for dates that start none."""
    starts = np.zeros(dates.size, dtype=bool)
    warnings: list[str] = []
    if not rebase_dates or dates.size == 0:
        return starts, warnings
    first, last = dates[0], dates[-1]
    for ts in sorted(set(rebase_dates)):
        when = ts.to_datetime64()
        hit = np.flatnonzero(dates == when)
        if hit.size == 0:
            where = (
                f"outside the data ({_fmt(first)} to {_fmt(last)})"
                if when < first or when > last
                else "matches no date in the data"
            )
            warnings.append(f"rebase date {_fmt(ts)} {where}; ignored")
        elif hit[0] == 0:
            warnings.append(
                f"rebase date {_fmt(ts)} is the first date, so it starts no new group; ignored"
            )
        else:
            starts[hit[0]] = True
    return starts, warnings


# --- the one place the rules are composed --------------------------------------------------


def classify_points(
    values: np.ndarray, limits: ProcessLimits | LaneyLimits, options: SPCOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Apply every special-cause rule to one rebase group.

    `limits` may be XmR limits (one number each) or Laney limits (lpl, upl, nlpl, nupl
    one per point): a point is outside ITS limits, two-in-three uses ITS 2-sigma lines, and
    runs and trends are read against the centre line, as for XmR.

    Returns (rule code per point, direction per point): the rule codes are those of
    `metrics.spc.rules` (0 = common cause, 1 = outside limits, 2 = trend, 3 = two-in-three,
    4 = shift, in order of precedence) and the direction is +1 (high), -1 (low) or 0.
    """
    side = rules.relative_to_mean(values, limits.mean)
    outside = rules.outside_limits(values, limits.lpl, limits.upl)
    in_trend = rules.trend(values, options.trend_length)
    one_side = rules.shift(side, options.run_length)
    if options.two_in_three:
        close = rules.close_to_limits(values, limits.lpl, limits.upl, limits.nlpl, limits.nupl)
        two_of_three = rules.part_of_two_in_three(close, side)
    else:
        two_of_three = np.zeros(values.size, dtype=np.int8)
    rule = rules.special_cause_rule(outside, in_trend, two_of_three, one_side)
    direction = rules.special_cause_direction(rule, side, rules.trend_direction(values, in_trend))
    return rule, direction


def classify_run_chart_points(
    values: np.ndarray, median: float, *, tolerance: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the run-chart rules to one rebase group read as a run chart.

    Only two rules: a trend (5+ points going one way; a repeated value is skipped) and a
    shift (6+ points on one side of the median; a point on the median is skipped), with
    the XmR precedence (trend before shift). Returns (rule code, direction) per point as
    `classify_points` does; no point is ever "outside the limits" or "two in three".
    Values within `tolerance` (default: `same_value_tolerance`, rounding in the last bits)
    count as equal, to each other and to the median.
    """
    tol = same_value_tolerance(values) if tolerance is None else tolerance
    trend_direction = rules.run_chart_trend(values, rules.RUN_CHART_TREND_LENGTH, tolerance=tol)
    one_side = rules.run_chart_shift(values, median, rules.RUN_CHART_SHIFT_LENGTH, tolerance=tol)
    none = np.zeros(np.asarray(values).size, dtype=bool)
    rule = rules.special_cause_rule(none, trend_direction != 0, none, one_side)
    y = np.asarray(values, dtype=float)
    side = rules.relative_to_mean(np.where(np.abs(y - median) <= tol, median, y), median)
    direction = rules.special_cause_direction(rule, side, trend_direction)
    return rule, direction


@dataclass(frozen=True)
class _Tables:
    labels: np.ndarray
    descriptions: np.ndarray
    point_types: np.ndarray
    run_labels: np.ndarray
    run_descriptions: np.ndarray

    @classmethod
    def for_options(cls, options: SPCOptions) -> _Tables:
        return cls(
            labels=rules.special_cause_labels(options.run_length, options.trend_length),
            descriptions=rules.rule_descriptions(options.run_length, options.trend_length),
            point_types=rules.point_type(np.array([-1, 0, 1]), options.improvement),
            run_labels=rules.special_cause_labels(
                rules.RUN_CHART_SHIFT_LENGTH, rules.RUN_CHART_TREND_LENGTH
            ),
            run_descriptions=rules.run_chart_rule_descriptions(),
        )


def _reads_as_run_chart(limits: ProcessLimits, options: SPCOptions) -> bool:
    if options.chart == "run":
        return True
    return options.chart == "auto" and limits.limits_uninformative


def _run_chart_note(
    where: str, limits: ProcessLimits, segment: np.ndarray, median: float, unit: str
) -> str:
    """Why this group is read as a run chart, in plain words."""
    shown = f"Limits are not shown{where}"
    against = f"read as a run chart against the median ({plain_number(median)})"
    if not limits.limits_uninformative:  # chart="run" asked for it
        return f"{shown}: every group is read as a run chart, as asked; {against}."
    present = segment[~np.isnan(segment)]
    total = limits.n_moving_ranges_before_screening
    zero = limits.n_zero_moving_ranges
    if zero == total:
        why = f"every {unit} has the same value as the {unit} before"
    else:
        whole = bool(present.size) and bool(np.all(present == np.round(present)))
        detail = f"{zero} of {total} changes are zero" + ("; whole numbers" if whole else "")
        why = f"most {unit}s have the same value as the {unit} before ({detail})"
    return f"{shown}: {why}, so the limits would carry no information; {against}."


_IMPROVEMENT_SIGN: Final = {"increase": 1, "decrease": -1, "neutral": 0}


@dataclass(frozen=True)
class _Counts:
    """A facet's numerators and denominators (date order), for the Laney charts."""

    numerators: np.ndarray
    denominators: np.ndarray
    per: float


def _laney_note(where: str, limits: LaneyLimits, unit: str) -> str:
    """What sigma_z says about the variation between points, in plain words."""
    if limits.n_baseline_values == 0 or np.isnan(limits.mean):
        return ""
    classic = "p chart" if limits.kind == "p" else "u chart"
    if limits.degenerate:
        return (
            f"Every baseline {unit}{where} has the same value ({plain_number(limits.mean)}), "
            "so there is no variation to set limits from: the limits sit on the centre line."
        )
    if np.isnan(limits.sigma_z):
        return f"Too few {unit}s{where} to measure the variation between them: no limits."
    sz = limits.sigma_z
    if sz > 1:
        compared = (
            f"the {unit}s vary {plain_number(round(sz, 2))} times as much as their "
            "denominators alone would explain, so the limits are that much wider than a "
            f"classic {classic}'s"
        )
    elif sz < 1:
        compared = (
            f"the {unit}s vary less than their denominators alone would explain "
            f"({plain_number(round(sz, 2))} times), so the limits are narrower than a "
            f"classic {classic}'s"
        )
    else:
        compared = f"the limits are those of a classic {classic}"
    return f"Sigma z{where} is {plain_number(round(sz, 2))}: {compared}."


def _laney_group_warnings(
    group: int, start: np.datetime64, size: int, limits: LaneyLimits, options: SPCOptions
) -> list[str]:
    where = f"rebase group {group} (from {_fmt(start)})"
    warnings = []
    if limits.n_baseline_values == 0:
        warnings.append(f"{where} has no values: no centre line or limits")
    elif limits.degenerate:
        warnings.append(
            f"{where}: every baseline value is {plain_number(limits.mean)}, so there is no "
            "variation to set limits from; the limits equal the centre line and any change "
            "will show as special cause"
        )
    elif math.isnan(limits.sigma_z):
        warnings.append(
            f"{where} has too few values for limits: no two consecutive values, so no moving "
            "range of the z-scores"
        )
    elif limits.sigma_z == 0:
        warnings.append(
            f"{where}: every moving range of the z-scores is 0, so the limits equal the "
            "centre line and any change will show as special cause"
        )
    if size < options.trial_limit_points:
        warnings.append(
            f"trial limits: {where} has {size} points "
            f"(fewer than {options.trial_limit_points}); the limits may move as more data arrive"
        )
    fix = options.fix_after_n_points
    if fix is not None and size < fix:
        warnings.append(
            f"{where} has {size} points, fewer than fix_after_n_points={fix}; "
            "its limits use every point and are not yet fixed"
        )
    return warnings


def _analyse_facet(
    facet: Hashable | None,
    dates: np.ndarray,
    values: np.ndarray,
    target_spec: float | _Steps | None,
    rebase_dates: list[pd.Timestamp],
    options: SPCOptions,
    tables: _Tables,
    counts: _Counts | None = None,
) -> tuple[dict[str, np.ndarray], FacetSPC]:
    n = values.size
    missing = np.isnan(values)
    starts, warnings = _assign_rebase_groups(dates, rebase_dates)
    group = np.cumsum(starts)
    bounds = np.concatenate(([0], np.flatnonzero(starts), [n]))

    limit_arrays = {name: np.empty(n) for name in ("mean", "lpl", "upl", "nlpl", "nupl")}
    centre = np.empty(n)
    is_run = np.zeros(n, dtype=bool)
    rule = np.zeros(n, dtype=np.int8)
    direction = np.zeros(n, dtype=np.int8)
    trial = np.zeros(n, dtype=bool)
    group_limits: list[ProcessLimits | LaneyLimits] = []
    group_run: list[bool] = []
    group_centre: list[float] = []
    notes: list[str] = []
    unit = "month" if dates.size and bool((pd.DatetimeIndex(dates).day == 1).all()) else "point"
    several_groups = len(bounds) > 2
    laney_kind = LANEY_CHART_KINDS[options.laney_chart] if counts is not None else None
    for g, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        segment = values[lo:hi]
        if counts is not None:
            laney = laney_limits(
                counts.numerators[lo:hi],
                counts.denominators[lo:hi],
                kind=options.laney_chart,
                per=counts.per,
                fix_after_n_points=options.fix_after_n_points,
                screen_outliers=options.screen_outliers,
            )
            group_limits.append(laney)
            group_run.append(False)
            for name, array in limit_arrays.items():
                array[lo:hi] = getattr(laney, name)
            centre[lo:hi] = laney.mean
            rule[lo:hi], direction[lo:hi] = classify_points(segment, laney, options)
            group_centre.append(float(laney.mean))
            where = (
                f" for rebase group {g} ({_fmt(dates[lo])} to {_fmt(dates[hi - 1])})"
                if several_groups
                else ""
            )
            note = _laney_note(where, laney, unit)
            if note:
                notes.append(note)
            size = hi - lo
            trial[lo:hi] = size < options.trial_limit_points
            warnings.extend(_laney_group_warnings(g, dates[lo], size, laney, options))
            continue
        limits = process_limits(
            segment,
            fix_after_n_points=options.fix_after_n_points,
            screen_outliers=options.screen_outliers,
        )
        run_chart = _reads_as_run_chart(limits, options)
        group_limits.append(limits)
        group_run.append(run_chart)
        for name, array in limit_arrays.items():
            array[lo:hi] = getattr(limits, name)
        if run_chart:
            median = baseline_median(segment, fix_after_n_points=options.fix_after_n_points)
            for name in ("lpl", "upl", "nlpl", "nupl"):
                limit_arrays[name][lo:hi] = np.nan
            centre[lo:hi] = median
            is_run[lo:hi] = True
            rule[lo:hi], direction[lo:hi] = classify_run_chart_points(segment, median)
            where = (
                f" for rebase group {g} ({_fmt(dates[lo])} to {_fmt(dates[hi - 1])})"
                if several_groups
                else ""
            )
            notes.append(_run_chart_note(where, limits, segment, median, unit))
        else:
            median = limits.mean
            centre[lo:hi] = limits.mean
            rule[lo:hi], direction[lo:hi] = classify_points(segment, limits, options)
        group_centre.append(float(median))
        size = hi - lo
        trial[lo:hi] = size < options.trial_limit_points
        warnings.extend(_group_warnings(g, dates[lo], size, limits, options, run_chart))

    flag = rule != rules.NO_RULE
    targets = _target_values(target_spec, dates)
    warnings.extend(_missing_value_warnings(dates, missing))
    warnings.extend(_target_warnings(target_spec, dates))

    present = np.flatnonzero(~missing)
    latest = int(present[-1]) if present.size else None
    point_types = tables.point_types[direction + 1]
    variation = None
    assurance = None
    assurance_note = ""
    latest_target = None
    if latest is not None:
        variation = rules.variation_icon(point_types[latest], options.improvement)
        latest_target = _json_float(targets[latest])
        assurance = rules.assurance_type(
            limit_arrays["lpl"][latest],
            limit_arrays["upl"][latest],
            latest_target,
            options.improvement,
        )
        if is_run[latest] and assurance is not None:
            assurance = None
            assurance_note = (
                "No assurance icon: the latest values are read as a run chart, which has no "
                "process limits, so it cannot say whether the target "
                f"({plain_number(latest_target)}) will be met consistently."
            )
        if latest != n - 1:
            warnings.append(
                f"the latest value ({_fmt(dates[-1])}) is missing; the icons use the latest "
                f"recorded value ({_fmt(dates[latest])})"
            )

    sign = _IMPROVEMENT_SIGN[options.improvement]
    improvement = flag & (direction == sign) if sign else np.zeros(n, dtype=bool)
    concern = flag & (direction == -sign) if sign else np.zeros(n, dtype=bool)
    summaries = []
    for g, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        limits = group_limits[g]
        recorded = np.flatnonzero(~missing[lo:hi])
        if isinstance(limits, LaneyLimits):
            # the limits vary by point: the summary gives those of the group's latest value
            at = lo + int(recorded[-1]) if recorded.size else hi - 1
            group_lpl, group_upl = float(limit_arrays["lpl"][at]), float(limit_arrays["upl"][at])
            group_kind, group_sigma_z = laney_kind or "xmr", limits.sigma_z
        else:
            group_lpl = math.nan if group_run[g] else limits.lpl
            group_upl = math.nan if group_run[g] else limits.upl
            group_kind, group_sigma_z = ("run" if group_run[g] else "xmr"), math.nan
        flagged = int(np.count_nonzero(flag[lo:hi]))
        n_improvement = int(np.count_nonzero(improvement[lo:hi]))
        n_concern = int(np.count_nonzero(concern[lo:hi]))
        is_latest_group = g == len(bounds) - 2
        summaries.append(
            GroupSummary(
                rebase_group=g,
                start=pd.Timestamp(dates[lo]),
                end=pd.Timestamp(dates[hi - 1]),
                n=int(hi - lo),
                n_missing=int(hi - lo - recorded.size),
                mean=limits.mean,
                lpl=group_lpl,
                upl=group_upl,
                common_cause=int(hi - lo) - flagged,
                special_cause_improvement=n_improvement,
                special_cause_concern=n_concern,
                special_cause_neutral=flagged - n_improvement - n_concern,
                variation_type=str(point_types[lo + recorded[-1]]) if recorded.size else None,
                assurance_type=assurance if is_latest_group else None,
                trial_limits=bool(hi - lo < options.trial_limit_points),
                chart_kind=group_kind,
                centre=group_centre[g],
                sigma_z=group_sigma_z,
            )
        )

    columns = {
        "date": dates,
        "value": values,
        **limit_arrays,
        "rebase_group": group,
        "target": targets,
        "special_cause_type": np.where(
            is_run, tables.run_labels[rule, direction + 1], tables.labels[rule, direction + 1]
        ),
        "special_cause_flag": flag,
        "point_type": point_types,
        "rule": np.where(
            is_run,
            tables.run_descriptions[rule, direction + 1],
            tables.descriptions[rule, direction + 1],
        ),
        "short_group_warning": trial,
        "centre": centre,
        "chart_kind": np.where(is_run, "run", laney_kind or "xmr").astype(object),
    }
    facet_result = FacetSPC(
        facet=facet,
        improvement=options.improvement,
        n_points=n,
        latest_date=pd.Timestamp(dates[latest]) if latest is not None else None,
        latest_value=float(values[latest]) if latest is not None else None,
        latest_point_type=str(point_types[latest]) if latest is not None else None,
        latest_rule=str(columns["rule"][latest]) if latest is not None else "",
        variation_icon=variation,
        assurance_type=assurance,
        assurance_icon=rules.assurance_icon(assurance),
        target=latest_target,
        summary=tuple(summaries),
        warnings=tuple(warnings),
        chart_kind=(
            "run" if is_run[latest if latest is not None else n - 1] else laney_kind or "xmr"
        ),
        chart_note=" ".join(notes),
        assurance_note=assurance_note,
    )
    return columns, facet_result


def _group_warnings(
    group: int,
    start: np.datetime64,
    size: int,
    limits: ProcessLimits,
    options: SPCOptions,
    run_chart: bool = False,
) -> list[str]:
    where = f"rebase group {group} (from {_fmt(start)})"
    warnings = []
    if limits.n_baseline_values == 0:
        warnings.append(f"{where} has no values: no centre line or limits")
    elif run_chart:
        pass  # no limits by design; FacetSPC.chart_note says why
    elif math.isnan(limits.mean_moving_range):
        warnings.append(
            f"{where} has too few values for limits: no two consecutive values, so no moving range"
        )
    elif limits.constant_baseline:
        warnings.append(
            f"{where}: every moving range is 0 (constant values), so the limits equal the mean "
            "and any change will show as special cause"
        )
    if size < options.trial_limit_points:
        if run_chart:
            warnings.append(
                f"{where} has {size} points (fewer than {options.trial_limit_points}); "
                "its median may move as more data arrive"
            )
        else:
            warnings.append(
                f"trial limits: {where} has {size} points "
                f"(fewer than {options.trial_limit_points}); "
                "the limits may move as more data arrive"
            )
    fix = options.fix_after_n_points
    if fix is not None and size < fix:
        line = "median" if run_chart else "limits"
        warnings.append(
            f"{where} has {size} points, fewer than fix_after_n_points={fix}; "
            f"its {line} use{'s' if run_chart else ''} every point and "
            f"{'is' if run_chart else 'are'} not yet fixed"
        )
    return warnings


def _missing_value_warnings(dates: np.ndarray, missing: np.ndarray) -> list[str]:
    count = int(np.count_nonzero(missing))
    if count == 0:
        return []
    if count == missing.size:
        return ["every value is missing: nothing to analyse"]
    shown = ", ".join(_fmt(d) for d in dates[missing][:5]) + (", ..." if count > 5 else "")
    return [
        f"{count} missing value{'s' if count > 1 else ''} ({shown}) shown as "
        f"{'gaps' if count > 1 else 'a gap'}; "
        "no moving range or rule window spans a gap"
    ]


def _target_warnings(spec: float | _Steps | None, dates: np.ndarray) -> list[str]:
    if not isinstance(spec, _Steps) or dates.size == 0:
        return []
    warnings = []
    for when in spec.dates[spec.dates > dates[-1]]:
        warnings.append(
            f"target step from {_fmt(when)} starts after the latest date ({_fmt(dates[-1])}); "
            "it applies to no point"
        )
    if spec.dates[0] > dates[0] and spec.dates[0] <= dates[-1]:
        warnings.append(f"no target before {_fmt(spec.dates[0])} (the first target step)")
    return warnings


# --- entry point ----------------------------------------------------------------------------


def _empty_points() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in POINT_COLUMNS}).astype(
        {
            "date": "datetime64[ns]",
            **{
                c: float
                for c in ("value", "mean", "lpl", "upl", "nlpl", "nupl", "target", "centre")
            },
            "rebase_group": np.int64,
            "special_cause_flag": bool,
            "short_group_warning": bool,
        }
    )


def compute_spc(
    frame: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "value",
    facet_col: str | None = None,
    options: SPCOptions | None = None,
    target: TargetSpec = None,
    rebase: RebaseSpec = None,
    numerator_col: str | None = None,
    denominator_col: str | None = None,
    per: float | None = None,
) -> SPCResult:
    """Making Data Count XmR analysis of every facet of `frame`.

    frame: one row per date (per facet); values in the metric's own units, NaN or blank
        for a missing value (shown as a gap). Dates may be strings, dates or periods.
    options: `SPCOptions` (defaults: NHSRplotthedots v0.2.2).
    target: None; a number for every facet; a dict facet -> number; or a list of
        (from_date, value) steps, a target that changes from each date (value None
        withdraws it). A dict may also map a facet to a list of steps.
    rebase: dates at which the limits are recalculated: a list for every facet, or a dict
        facet -> list of dates. A date that matches no row is ignored, with a warning.
    numerator_col, denominator_col, per: for `options.chart == "laney"` (and needed by
        it): the columns of counts over denominators; the values charted are
        per x numerator / denominator (`value_col` is not read), per defaulting to 100
        (percent) for a p' chart and 1 for a u' chart. Missing parts, or a denominator of
        0, make a missing value. Ignored, with a warning, by the other charts.

    Raises SPCInputError (a ValueError) for a frame that cannot be analysed (unknown column,
    unreadable or duplicate date, non-numeric value) and ValueError for a malformed option.
    Problems that still allow an answer (short series, missing values, an unusable target,
    an unmatched rebase date) are reported in `warnings`.
    """
    options = SPCOptions() if options is None else options
    if not isinstance(options, SPCOptions):
        raise ValueError(f"options must be an SPCOptions; got {type(options).__name__}")
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame; got {type(frame).__name__}")
    laney = options.chart == "laney"
    if laney:
        if numerator_col is None or denominator_col is None:
            raise ValueError(
                "the Laney chart (chart='laney') needs numerator_col and denominator_col"
            )
        per = _laney_per(per, options.laney_chart)
        value_role: list[tuple[str, str | None]] = [
            ("numerator", numerator_col),
            ("denominator", denominator_col),
        ]
    else:
        value_role = [("value", value_col)]
    _require_columns(frame, [("date", date_col), *value_role, ("facet", facet_col)])
    has_facets = facet_col is not None
    warnings: list[str] = []
    if not laney and (numerator_col is not None or denominator_col is not None):
        warnings.append(
            "numerator_col and denominator_col are read only by the Laney chart "
            "(chart='laney'); ignored"
        )

    common_target, facet_targets = None, None
    if isinstance(target, Mapping):
        if has_facets:
            facet_targets = {}
            for key, value in target.items():
                facet_targets[key], problems = _parse_target_value(value, f"target for {key!r}")
                warnings.extend(problems)
        else:
            warnings.append(
                "target is given per facet but no facet column is named; no target used"
            )
    else:
        common_target, problems = _parse_target_value(target, "target")
        warnings.extend(problems)

    common_rebase: list[pd.Timestamp] = []
    facet_rebase: dict[Hashable, list[pd.Timestamp]] | None = None
    if isinstance(rebase, Mapping):
        if has_facets:
            facet_rebase = {}
            for key, value in rebase.items():
                facet_rebase[key], problems = _parse_rebase_dates(value, f"rebase date for {key!r}")
                warnings.extend(problems)
        else:
            warnings.append("rebase is given per facet but no facet column is named; ignored")
    else:
        common_rebase, problems = _parse_rebase_dates(rebase, "rebase date")
        warnings.extend(problems)

    if len(frame) == 0:
        warnings.append("no rows to analyse")
        return SPCResult(_empty_points(), (), options, tuple(warnings), tuple(warnings))

    dates = _parse_dates(frame, date_col)
    numerators = denominators = None
    if laney:
        assert numerator_col is not None and denominator_col is not None and per is not None
        numerators, denominators, values = _parse_counts(
            frame, numerator_col, denominator_col, options.laney_chart, per
        )
    else:
        values = _parse_values(frame, value_col)
    codes, labels = _parse_facets(frame, facet_col)

    order = np.lexsort((dates, codes))
    dates, values, codes = dates[order], values[order], codes[order]
    if numerators is not None and denominators is not None:
        numerators, denominators = numerators[order], denominators[order]
    repeated = (codes[1:] == codes[:-1]) & (dates[1:] == dates[:-1])
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        in_facet = f" in facet {labels[codes[i]]!r}" if has_facets else ""
        raise SPCInputError(
            f"date {_fmt(dates[i])} appears twice{in_facet} "
            f"({_row_name(frame, int(order[i]))} and {_row_name(frame, int(order[i + 1]))}); "
            "give one value per date"
        )

    for name, mapping in (("target", facet_targets), ("rebase dates", facet_rebase)):
        for key in mapping or {}:
            if not any(key == label or str(key) == str(label) for label in labels):
                warnings.append(
                    f"{name} given for facet {key!r}, which is not in the data; ignored"
                )

    input_warnings = tuple(warnings)
    tables = _Tables.for_options(options)
    facet_starts = np.concatenate(([0], np.flatnonzero(np.diff(codes)) + 1, [codes.size]))
    column_parts: dict[str, list[np.ndarray]] = {}
    facet_results: list[FacetSPC] = []
    facet_rows: list[tuple[int, int]] = []
    for code, (lo, hi) in enumerate(itertools.pairwise(facet_starts)):
        label = labels[code]
        target_spec = common_target
        rebase_dates = common_rebase
        if facet_targets is not None:
            target_spec = _lookup(facet_targets, label)
        if facet_rebase is not None:
            rebase_dates = _lookup(facet_rebase, label) or []
        counts = None
        if numerators is not None and denominators is not None and per is not None:
            counts = _Counts(numerators[lo:hi], denominators[lo:hi], per)
        columns, facet_result = _analyse_facet(
            label, dates[lo:hi], values[lo:hi], target_spec, rebase_dates, options, tables, counts
        )
        for name, array in columns.items():
            column_parts.setdefault(name, []).append(array)
        facet_results.append(facet_result)
        facet_rows.append((int(lo), int(hi)))
        prefix = f"facet {label!r}: " if has_facets else ""
        warnings.extend(prefix + w for w in facet_result.warnings)

    facet_column = np.full(codes.size, None, dtype=object)
    if has_facets:
        facet_column = np.asarray(labels, dtype=object)[codes]
    points = pd.DataFrame(
        {
            "facet": facet_column,
            **{name: np.concatenate(parts) for name, parts in column_parts.items()},
        },
        columns=list(POINT_COLUMNS),
    )
    return SPCResult(
        points, tuple(facet_results), options, tuple(warnings), input_warnings, tuple(facet_rows)
    )
