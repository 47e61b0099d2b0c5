"""Does the model fit well enough to conclude? One verdict per ITS result, in board words.

A study whose model does not describe the data cannot say whether the change worked: its
interval is not trustworthy, and "consistent with no change" would be read as "it made no
difference". The verdict says so and why, in words a board member can read aloud; the
analyst's version of each reason (with the test and its numbers) travels with it.

Reasons the model **does not fit well enough to conclude** (any one is enough):

- ``ar_at_bound``: the AR(1) coefficient is at (within 0.01 of) its bound of 0.99. The
  month-to-month carry-over has taken over the series: a change in trend is then
  indistinguishable from drift, and the error term absorbs the effect.
- ``autocorrelation``: the residuals the model treats as independent (innovations of an
  AR model, Pearson residuals of a count model, raw residuals of ols) still move together:
  Ljung-Box p < 0.001. The intervals are then too narrow (or, for an AR model, its
  allowance for carry-over does not describe it).
- ``too_few_points``: fewer than 8 fitted points before the first intervention or after it
  (EPOC's minimum is 3; 8 is the fewest the domain notes accept; 24 a side is the aim).
- ``lack_of_fit``: adding a separate level for each year before and after the change (the
  blocks the model's straight lines should already describe) improves the fit beyond
  chance: F test (Wald, the model's own covariance) p < 0.001. Typical causes: growth that
  levels off, or a step the study leaves out (a concurrent change).
- ``non_convergence``: the optimiser did not converge.

Cautions (the model fits, but the board should hear them): Ljung-Box p < 0.05, the
lack-of-fit test p < 0.01, fewer than 12 points in a segment, overdispersed Poisson
counts, a placebo check in which a false date gave a change as large, and placebo checks
with too few dates. The thresholds are deliberately strict for "does not fit" (p < 0.001:
strong evidence, so a sound model on 140 months fails by chance about once in 500 tests)
and looser for cautions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FITS = "fits"
DOES_NOT_FIT = "does_not_fit"

AR_BOUND_MARGIN = 0.01  # |phi| >= 0.99 - 0.01 counts as at the bound
AUTOCORRELATION_FAIL_P = 0.001
AUTOCORRELATION_CAUTION_P = 0.05
LACK_OF_FIT_FAIL_P = 0.001
LACK_OF_FIT_CAUTION_P = 0.01
MIN_POINTS_TO_CONCLUDE = 8
ADVISED_POINTS = 12


@dataclass(frozen=True)
class Reason:
    """One reason, in board words (`words`) and for analysts (`detail`, with test names)."""

    code: str
    words: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "words": self.words, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    """Whether the model fits well enough to conclude, why not, and what to bear in mind.

    `status` is "fits" or "does_not_fit"; `reasons` explain a "does_not_fit" (empty
    otherwise); `cautions` are caveats that do not stop a conclusion.
    """

    status: str
    reasons: tuple[Reason, ...] = ()
    cautions: tuple[Reason, ...] = ()

    @property
    def fits(self) -> bool:
        return self.status == FITS

    @property
    def badge(self) -> str:
        """Short label for a badge beside the result."""
        if not self.fits:
            return "Does not fit: no conclusion"
        return "Model fits, with caveats" if self.cautions else "Model fits"

    @property
    def colour(self) -> str:
        """Badge colour: green (fits), orange (fits with caveats), red (does not fit)."""
        if not self.fits:
            return "red"
        return "orange" if self.cautions else "green"

    def words(self) -> str:
        """The verdict as one board sentence."""
        if not self.fits:
            return (
                "The model does not fit the data well enough to conclude: "
                + "; ".join(r.words for r in self.reasons)
                + "."
            )
        if self.cautions:
            return (
                "The model fits the data, with caveats: "
                + "; ".join(c.words for c in self.cautions)
                + "."
            )
        return "The model fits the data: its checks find nothing that stops a conclusion."

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "badge": self.badge,
            "words": self.words(),
            "reasons": [r.to_dict() for r in self.reasons],
            "cautions": [c.to_dict() for c in self.cautions],
        }


def assess(result: Any) -> Verdict:
    """The verdict for an `ITSResult` (any object with its fields: duck-typed, so the
    multiple-baseline result can use it too)."""
    reasons: list[Reason] = []
    cautions: list[Reason] = []
    details = result.model_details
    d = result.diagnostics
    unit = {"monthly": "month", "quarterly": "quarter", "annual": "year"}.get(
        result.frequency, "period"
    )
    units = f"{unit}s"

    phi = details.get("phi")
    at_bound = phi is not None and abs(phi) >= 0.99 - AR_BOUND_MARGIN
    if at_bound and details.get("phi_fixed", 0.0) == 0.0:
        reasons.append(
            Reason(
                "ar_at_bound",
                f"each {unit}'s value carries over almost entirely into the next, so the "
                "model cannot tell a change in trend apart from drift",
                f"AR(1) coefficient {phi:.3f} is at its bound (|phi| >= "
                f"{0.99 - AR_BOUND_MARGIN:.2f}): near unit root",
            )
        )

    lb_p = d.ljung_box_p
    treated = {
        "innovation": "innovations of the AR error model",
        "pearson": "Pearson residuals",
        "raw": "residuals",
    }.get(d.residual_kind, "residuals")
    lb_detail = (
        f"Ljung-Box({d.ljung_box_lags}) p = {lb_p:.2g} on the {treated}; "
        f"lag-1 r = {d.acf[0]:+.2f}, lag-12 r = {d.acf[11]:+.2f}"
    )
    if lb_p < AUTOCORRELATION_FAIL_P:
        reasons.append(
            Reason(
                "autocorrelation",
                f"neighbouring {units} still move together in a way the model does not allow "
                "for, so its interval would be too narrow",
                lb_detail,
            )
        )
    elif lb_p < AUTOCORRELATION_CAUTION_P:
        cautions.append(
            Reason(
                "autocorrelation",
                f"some pattern from {unit} to {unit} is left over, so the interval may be a "
                "little too narrow",
                lb_detail,
            )
        )

    fewest = min(result.n_pre, result.n_post)
    side = "before" if result.n_pre <= result.n_post else "after"
    if fewest < MIN_POINTS_TO_CONCLUDE:
        reasons.append(
            Reason(
                "too_few_points",
                f"only {fewest} {units if fewest != 1 else unit} of data {side} the change "
                f"(at least {MIN_POINTS_TO_CONCLUDE} are needed to conclude)",
                f"{result.n_pre} fitted points before, {result.n_post} after",
            )
        )
    elif fewest < ADVISED_POINTS or any(w.code == "short_segment" for w in result.warnings):
        cautions.append(
            Reason(
                "few_points",
                "some periods have fewer than 12 points of data, so the estimate is fragile",
                "; ".join(w.message for w in result.warnings if w.code == "short_segment")
                or f"{result.n_pre} fitted points before, {result.n_post} after",
            )
        )

    lof_p = getattr(d, "lack_of_fit_p", None)
    if lof_p is not None:
        lof_detail = (
            f"lack-of-fit F test: {d.lack_of_fit_df} yearly block levels added, "
            f"F = {d.lack_of_fit_stat:.2f}, p = {lof_p:.2g}"
        )
        if lof_p < LACK_OF_FIT_FAIL_P:
            reasons.append(
                Reason(
                    "lack_of_fit",
                    "the data do not follow the shape the model assumes, such as growth that "
                    "levels off or a step the study leaves out",
                    lof_detail,
                )
            )
        elif lof_p < LACK_OF_FIT_CAUTION_P:
            cautions.append(
                Reason(
                    "lack_of_fit",
                    "some years sit further from the model's line than chance would explain",
                    lof_detail,
                )
            )

    if any(w.code == "non_convergence" for w in result.warnings):
        reasons.append(
            Reason(
                "non_convergence",
                "the model's calculation did not settle on an answer",
                "; ".join(w.message for w in result.warnings if w.code == "non_convergence"),
            )
        )
    if any(w.code == "overdispersion" for w in result.warnings):
        cautions.append(
            Reason(
                "overdispersion",
                f"the counts vary more from {unit} to {unit} than this model allows, so the "
                "interval is too narrow",
                f"Pearson chi-square / df = {d.dispersion:.2f} under a Poisson model",
            )
        )
    placebo = result.placebo
    if placebo is not None:
        if placebo.too_few:
            cautions.append(
                Reason(
                    "placebo_too_few",
                    "the check against false dates before the change has too few dates to say much",
                    placebo.text(),
                )
            )
        elif placebo.rank > 1:
            cautions.append(
                Reason(
                    "placebo",
                    f"changes as large appear at {placebo.rank - 1} of {placebo.n_placebo} false "
                    "dates before the change",
                    placebo.text(),
                )
            )
    if reasons:
        return Verdict(DOES_NOT_FIT, tuple(reasons), tuple(cautions))
    return Verdict(FITS, (), tuple(cautions))
