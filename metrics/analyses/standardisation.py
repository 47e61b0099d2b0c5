"""Rates as public health reports them: direct age standardisation and overdispersion.

Pure statistics (numbers in, numbers out); `metrics.analyses.equity_stats` applies them to
groups' pooled counts, `metrics.analyses.equity` to the board's series, and
`metrics.analyses.equity_shown` controls what is shown.

Direct age standardisation
--------------------------
A crude rate mixes two things: how often events happen at each age and how old the group
is. The directly standardised rate (DSR) removes the second by applying each group's
age-specific rates to one standard population:

    DSR = sum_i w_i * d_i / n_i  (x 100,000),   w_i = W_i / sum_j W_j

with d_i events and n_i person-years in age band i and W_i the standard population in
that band.

The standard is the **2013 European Standard Population (ESP2013)**: Eurostat, "Revision
of the European Standard Population: report of Eurostat's task force", Methodologies and
Working papers, 2013 edition (Publications Office of the European Union, Luxembourg,
ISBN 978-92-79-31094-2, doi:10.2785/11470), the standard used by ONS and by the
Office for Health Improvement and Disparities (OHID, formerly PHE) since 2014. Its 19
five-year bands (0-4 ... 85-89, 90+) sum to 100,000 and are kept below in code
(`ESP2013`), not read from a data file.

The project's age bands (18-24, 25-34, 35-44, 45-54, 55-64, 65+) do not line up with the
five-year bands at 18, so the weights are aggregated (`band_weights`) by giving each
project band the part of every ESP2013 band it overlaps, **assuming people are spread
evenly over the single years of age within a five-year band**:

    18-24 = 2/5 of 15-19 (2 of its 5 single years: 18 and 19) + 20-24
          = 2,200 + 6,000                                   =  8,200
    25-34 = 25-29 + 30-34        = 6,000 + 6,500            = 12,500
    35-44 = 35-39 + 40-44        = 7,000 + 7,000            = 14,000
    45-54 = 45-49 + 50-54        = 7,000 + 7,000            = 14,000
    55-64 = 55-59 + 60-64        = 6,500 + 6,000            = 12,500
    65+   = 65-69 ... 85-89, 90+ = 5,500 + 5,000 + 4,000
                                   + 2,500 + 1,500 + 1,000  = 19,500
                                                      total = 80,700

80,700 is exactly the ESP2013 population aged 18 and over (100,000 less 0-14's 16,000
and 3/5 of 15-19's 5,500). The DSR divides by the total, so it is a rate per 100,000
adults of the standard's adult age structure.

Intervals for a DSR: **Dobson et al. (1991)**: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J.
"Confidence intervals for weighted sums of Poisson parameters", Statistics in Medicine
10(3):457-462, the method in the PHE/OHID "Technical Guide: Confidence Intervals"
(Appendix 4). With O = sum_i d_i events in all, (O_L, O_U) its exact Poisson interval
(chi-squared, as for the crude rates) and var(DSR) = sum_i w_i^2 d_i / n_i^2:

    DSR_L = DSR + sqrt(var(DSR) / O) * (O_L - O),   DSR_U = DSR + sqrt(var(DSR) / O) * (O_U - O)

Following the same guide, no DSR is given for fewer than 10 events (`MIN_DSR_EVENTS`).

A ratio of two DSRs (group / reference) gets an interval on the log scale by the delta
method, var(log DSR) = var(DSR) / DSR^2, the two groups being independent:

    SE(log RR) = sqrt(var(DSR_1) / DSR_1^2 + var(DSR_0) / DSR_0^2),  RR x exp(+-1.96 SE)

(Rothman KJ, Greenland S, Lash TL. Modern Epidemiology, 3rd ed., 2008, ch. 15, the
standardised rate ratio; Breslow NE, Day NE. Statistical Methods in Cancer Research,
vol. II, IARC 1987, ch. 2.)

Overdispersion
--------------
The intervals above assume Poisson counts: month-to-month variation equal to the mean.
Real counts of detentions or referrals vary more (clustering, seasonality, waves of
demand). `monthly_dispersion` measures it from the monthly counts of one group: a
Poisson log-linear model with the group's person-years as offset and a smooth of time (a
cubic B-spline with a knot every 12 months, so slow trends and steps are not counted as
noise), then the quasi-likelihood dispersion factor

    phi = Pearson X^2 / df = sum_t (y_t - mu_t)^2 / mu_t / (months - parameters)

(McCullagh P, Nelder JA. Generalized Linear Models, 2nd ed., 1989, section 4.5.2; as
in quasi-Poisson regression). phi = 1 is Poisson. Because phi from Poisson counts
scatters around 1 by about sqrt(2 / df), an interval is widened only when the variation
is beyond chance: X^2 above the 95th centile of chi-squared on df (one-sided test at 5%);
then every interval built on that group's counts is widened by sqrt(phi) about its
estimate (`widen`; on the log scale for ratios). Otherwise phi is reported and nothing is
widened. Fewer than 12 months, or fewer than one event a month on average, is too little
to judge; nothing is widened then either.

When the counts are as shown (rounded to the nearest 5), rounding itself adds variance:
the rounding error of a whole count spread over several multiples of 5 is close to
uniform on -2..2, variance 2 (Sheppard's correction for grouping), so
`rounding_variance=2` is taken off each squared residual.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.interpolate import BSpline
from scipy.stats import chi2

# --------------------------------------------------------------------------- ESP2013

# (first year of age, last year of age or None for open-ended, standard population)
ESP2013: tuple[tuple[int, int | None, int], ...] = (
    (0, 4, 5_000),
    (5, 9, 5_500),
    (10, 14, 5_500),
    (15, 19, 5_500),
    (20, 24, 6_000),
    (25, 29, 6_000),
    (30, 34, 6_500),
    (35, 39, 7_000),
    (40, 44, 7_000),
    (45, 49, 7_000),
    (50, 54, 7_000),
    (55, 59, 6_500),
    (60, 64, 6_000),
    (65, 69, 5_500),
    (70, 74, 5_000),
    (75, 79, 4_000),
    (80, 84, 2_500),
    (85, 89, 1_500),
    (90, None, 1_000),
)
ESP2013_TOTAL = 100_000
STANDARD_NAME = "2013 European Standard Population"
STANDARD_SHORT = "ESP2013"

MIN_DSR_EVENTS = 10  # PHE/OHID: no DSR for fewer than 10 events
CONFIDENCE = 0.95

_BAND = re.compile(r"^\s*(\d+)\s*(?:-|to|–)\s*(\d+)\s*$")
_OPEN = re.compile(r"^\s*(\d+)\s*(?:\+|and over|or over)\s*$")

# The two rates a standardised comparison shows, as labelled in its frames and charts.
CRUDE = "Crude rate"
STANDARDISED = "Age-standardised rate"


class StandardisationError(ValueError):
    """Age bands the standard cannot be mapped onto; the message is for readers."""


def parse_band(label: str) -> tuple[int, int | None]:
    """'18-24' -> (18, 24); '65+' -> (65, None). Raises StandardisationError otherwise."""
    closed = _BAND.match(label)
    if closed:
        low, high = int(closed.group(1)), int(closed.group(2))
        if high < low:
            raise StandardisationError(f"age band '{label}' ends before it starts")
        return low, high
    open_ended = _OPEN.match(label)
    if open_ended:
        return int(open_ended.group(1)), None
    raise StandardisationError(f"age band '{label}' is not of the form '18-24' or '65+'")


def band_weights(labels: Sequence[str]) -> dict[str, float]:
    """ESP2013 population for each age band in `labels` (see the module docstring).

    Each label gets, from every five-year ESP2013 band it overlaps, the fraction of that
    band's single years it covers times the band's population (people spread evenly
    within a band). The open-ended 90+ band counts only for an open-ended label that
    starts at 90 or younger. Raises StandardisationError for labels that cannot be read
    or that overlap each other.
    """
    parsed = {label: parse_band(label) for label in labels}
    spans = sorted((low, math.inf if high is None else high) for low, high in parsed.values())
    for (_, first_high), (second_low, _) in itertools.pairwise(spans):
        if second_low <= first_high:
            raise StandardisationError("age bands overlap, so they cannot be standardised")
    weights: dict[str, float] = {}
    for label, (low, high) in parsed.items():
        total = 0.0
        for esp_low, esp_high, people in ESP2013:
            if esp_high is None:
                if high is None and low <= esp_low:
                    total += people
                elif high is not None and high >= esp_low:
                    raise StandardisationError(
                        f"age band '{label}' splits the standard's open-ended 90+ band"
                    )
                continue
            top = esp_high if high is None else min(high, esp_high)
            years = top - max(low, esp_low) + 1
            if years > 0:
                total += people * years / (esp_high - esp_low + 1)
        weights[label] = total
    return weights


# --------------------------------------------------------------------------- DSR


@dataclass(frozen=True)
class DSR:
    """A directly standardised rate per `per` a year, with its Dobson interval.

    `variance` is var(DSR) on the per-person-year scale (no `per`), `events` the O of
    Dobson's method; `lower`/`upper` are None with a `reason` when there is no interval.
    """

    rate: float | None
    lower: float | None
    upper: float | None
    variance: float
    events: float
    per: float
    reason: str = ""


def exact_poisson_interval(count: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Garwood, chi-squared) interval for a Poisson mean given `count` events."""
    alpha = 1 - confidence
    lower = chi2.ppf(alpha / 2, 2 * count) / 2 if count > 0 else 0.0
    upper = chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(lower), float(upper)


def directly_standardised_rate(
    events: Sequence[float],
    person_years: Sequence[float],
    weights: Sequence[float],
    *,
    per: float = 100_000,
    confidence: float = CONFIDENCE,
    min_events: int = MIN_DSR_EVENTS,
) -> DSR:
    """DSR of age-specific `events` over `person_years`, standard `weights` (any scale),
    with the Dobson et al. (1991) interval. Every band must have person-years."""
    d = np.asarray(events, dtype=float)
    n = np.asarray(person_years, dtype=float)
    w = np.asarray(weights, dtype=float)
    if not (len(d) == len(n) == len(w)) or len(d) == 0:
        raise ValueError("events, person-years and weights must be the same length")
    total = float(d.sum())
    if (n <= 0).any():
        return DSR(None, None, None, math.nan, total, per, "an age band has no population")
    if total < min_events:
        return DSR(
            None,
            None,
            None,
            math.nan,
            total,
            per,
            f"fewer than {min_events} events: too few to standardise",
        )
    share = w / w.sum()
    rate = float(np.sum(share * d / n))
    variance = float(np.sum((share / n) ** 2 * d))
    low_count, high_count = exact_poisson_interval(total, confidence)
    spread = math.sqrt(variance / total)
    lower = rate + spread * (low_count - total)
    upper = rate + spread * (high_count - total)
    return DSR(rate * per, max(lower, 0.0) * per, upper * per, variance, total, per)


def dsr_ratio(
    group: DSR,
    reference: DSR,
    *,
    group_dispersion: float = 1.0,
    reference_dispersion: float = 1.0,
    confidence: float = CONFIDENCE,
) -> tuple[float | None, float | None, float | None]:
    """(ratio, lower, upper) of two DSRs; the interval on the log scale (delta method),
    each variance multiplied by its group's dispersion factor (1: Poisson)."""
    if group.rate is None or reference.rate is None or reference.rate <= 0:
        return None, None, None
    ratio = group.rate / reference.rate
    if group.rate <= 0:
        return ratio, None, None
    g, r = group.rate / group.per, reference.rate / reference.per
    se = math.sqrt(
        group_dispersion * group.variance / g**2 + reference_dispersion * reference.variance / r**2
    )
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)


def widen(
    estimate: float, lower: float, upper: float, factor: float, *, floor: float | None = 0.0
) -> tuple[float, float]:
    """An interval widened by `factor` (sqrt(phi)) about its estimate; the lower end
    kept at or above `floor` (rates cannot be negative)."""
    low = estimate - factor * (estimate - lower)
    high = estimate + factor * (upper - estimate)
    if floor is not None:
        low = max(low, floor)
    return low, high


# --------------------------------------------------------------------------- dispersion

MIN_DISPERSION_MONTHS = 12
MIN_MEAN_MONTHLY_EVENTS = 1.0
DISPERSION_TEST_LEVEL = 0.05
ROUNDING_VARIANCE_TO_5 = 2.0  # variance of a uniform rounding error on -2..2
KNOT_EVERY_MONTHS = 12


@dataclass(frozen=True)
class Dispersion:
    """How much more a group's monthly counts vary than Poisson counts would.

    `phi` is Pearson X^2 / df against a smooth trend (None when it cannot be judged, with
    `reason`); `widened` says whether intervals are widened, `factor` by how much
    (sqrt(phi), or 1)."""

    phi: float | None
    df: int
    statistic: float
    p_value: float | None
    months: int
    widened: bool = False
    reason: str = ""

    @property
    def factor(self) -> float:
        return math.sqrt(self.phi) if self.widened and self.phi is not None else 1.0

    @property
    def variance_factor(self) -> float:
        """phi where intervals are widened, else 1 (multiplies a variance)."""
        return self.phi if self.widened and self.phi is not None else 1.0


NOT_JUDGED = Dispersion(None, 0, math.nan, None, 0, reason="not checked")


def trend_basis(months: Sequence[int], *, knot_every: int = KNOT_EVERY_MONTHS) -> np.ndarray:
    """Cubic B-spline basis over month numbers (gaps allowed), one interior knot every
    `knot_every` months; the columns sum to 1, so the basis holds the intercept."""
    x = np.asarray(months, dtype=float)
    low, high = float(x.min()), float(x.max())
    if high <= low:
        return np.ones((len(x), 1))
    interior = np.arange(low + knot_every, high - knot_every / 2, knot_every)
    knots = np.concatenate([[low] * 4, interior, [high] * 4])
    basis = BSpline.design_matrix(x, knots, 3).toarray()
    return basis


def poisson_fit(
    counts: np.ndarray, design: np.ndarray, offset: np.ndarray, *, iterations: int = 100
) -> np.ndarray:
    """Fitted means of a Poisson log-linear model (iteratively reweighted least squares)."""
    mu = np.maximum(counts, 0.5)
    eta = np.log(mu)
    for _ in range(iterations):
        working = eta - offset + (counts - mu) / mu
        weights = mu
        xtw = design.T * weights
        beta, *_ = np.linalg.lstsq(xtw @ design, xtw @ working, rcond=None)
        new_eta = design @ beta + offset
        if np.max(np.abs(new_eta - eta)) < 1e-10:
            eta = new_eta
            break
        eta = new_eta
        mu = np.exp(np.clip(eta, -30, 30))
    return np.exp(np.clip(eta, -30, 30))


def monthly_dispersion(
    counts: Sequence[float],
    exposure: Sequence[float],
    months: Sequence[int],
    *,
    rounding_variance: float = 0.0,
    level: float = DISPERSION_TEST_LEVEL,
    min_months: int = MIN_DISPERSION_MONTHS,
) -> Dispersion:
    """Dispersion factor of monthly `counts` with `exposure` (person-years each month)
    against a smooth trend in `months` (whole month numbers, gaps allowed)."""
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    t = np.asarray(months, dtype=float)
    keep = np.isfinite(y) & np.isfinite(e) & (e > 0)
    y, e, t = y[keep], e[keep], t[keep]
    n = len(y)
    if n < min_months:
        return Dispersion(
            None, 0, math.nan, None, n, reason=f"fewer than {min_months} months to judge"
        )
    if y.sum() < MIN_MEAN_MONTHLY_EVENTS * n:
        return Dispersion(None, 0, math.nan, None, n, reason="too few events a month to judge")
    design = trend_basis(t)
    rank = int(np.linalg.matrix_rank(design))
    df = n - rank
    if df < 1:
        return Dispersion(None, 0, math.nan, None, n, reason="too few months for the trend")
    mu = poisson_fit(y, design, np.log(e))
    statistic = float(np.sum(((y - mu) ** 2 - rounding_variance) / mu))
    phi = statistic / df
    p_value = float(chi2.sf(statistic, df))
    widened = phi > 1 and p_value < level
    return Dispersion(phi, df, statistic, p_value, n, widened=widened)
