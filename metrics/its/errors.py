"""Exceptions raised by the ITS engine.

`ITSInputError` is the one exception type callers need to catch: the command line turns
it into a one-line message and exit code 2, and the site shows it in place of the chart.
"""

from __future__ import annotations


class ITSInputError(ValueError):
    """The data or the specification cannot support an interrupted time-series fit.

    Raised for, among others: fewer than 3 points in a segment, an intervention outside the
    data, a constant or all-missing series, negative values for a count model, a missing
    column, a rank-deficient design and a fit that does not converge.
    """


class ITSConvergenceError(ITSInputError):
    """The model fit did not converge to finite estimates (a kind of input error: the data
    cannot support the chosen model)."""
