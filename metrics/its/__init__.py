"""Interrupted time-series (ITS) engine: segmented regression for service changes.

Public API::

    from metrics.its import ITSSpec, InterventionSpec, ShockSpec, fit_its, sensitivity

    spec = ITSSpec(
        model="quasipoisson",
        interventions=(InterventionSpec("hub", "2016-01", label="Hub scale-up", ramp_periods=6),),
        shocks=(ShockSpec("covid", "2020-04", "2020-06", recovery_periods=3),),
        seasonality="fourier:2",
    )
    result = fit_its(frame, spec, date_col="month", value_col="referrals")
    result.sentence(subject="Referrals")

The level change is the jump at the first point after the interruption (the slope term is
0 there, as in Linden's Stata `itsa`); the slope change is the change in trend after it.
See docs/its.md for the model families, conventions and defaults.
"""

from metrics.its.errors import ITSConvergenceError, ITSInputError
from metrics.its.result import (
    CumulativeEffect,
    Effect,
    HorizonEffect,
    InterventionWindow,
    ITSResult,
    ITSWarning,
    PlaceboCheck,
    Trend,
)
from metrics.its.spec import DEFAULT_MODEL, FAMILIES, InterventionSpec, ITSSpec, ShockSpec
from metrics.its.study import fit_its, sensitivity

__all__ = [
    "DEFAULT_MODEL",
    "FAMILIES",
    "CumulativeEffect",
    "Effect",
    "HorizonEffect",
    "ITSConvergenceError",
    "ITSInputError",
    "ITSResult",
    "ITSSpec",
    "ITSWarning",
    "InterventionSpec",
    "InterventionWindow",
    "PlaceboCheck",
    "ShockSpec",
    "Trend",
    "fit_its",
    "sensitivity",
]
