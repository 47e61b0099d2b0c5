# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Benchmarking neighbourhoods on a funnel plot
#
# Are detentions under the Mental Health Act more common in one neighbourhood (Local
# Care Network) than the others, beyond what chance would give? A funnel plot puts each
# neighbourhood at its size (person-years: residents times years) and its rate per
# 100,000 adults a year, around the rate for all of them together, with 95% and 99.8%
# limits that narrow as groups get bigger (Spiegelhalter 2005; the method is in
# `docs/equity.md` and `metrics/analyses/funnel.py`).
#
# This is the Equity page's "Benchmarking neighbourhoods" plot. The notebook draws it,
# then works the target and the limits out again from the monthly series, step by step.

# %%
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display
from scipy.stats import norm

# The project folder, from wherever Jupyter was started: the engine is imported from it.
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "metrics" / "api.py").is_file())
sys.path.insert(0, str(ROOT))

from metrics import api  # noqa: E402
from metrics.analyses.disclosure import count_as_shown, policy_for  # noqa: E402
from metrics.analyses.funnel import breakdown_funnel  # noqa: E402
from metrics.sql.series import SeriesQuery  # noqa: E402

board = api.open_board()  # $ALLIANCE_CONFIG_DIR, else the project's config/
METRIC = "detention_rate"
start, end = api.period(board)  # the period every page opens on
print(board.metric(METRIC).title, f"{start:%b %Y} to {end:%b %Y}")

# %% [markdown]
# ## The funnel plot, as the Equity page draws it
#
# For the board (the board's disclosure policy: counts for a neighbourhood are rounded
# before anything is worked out from them).

# %%
funnel = api.funnel(board, METRIC, breakdown="lcn")
points = api.funnel_table(funnel)
print(points.attrs["summary"])
print(funnel.note)
for note in funnel.notes:
    print("note:", note)
display(points)

# %%
api.funnel_chart(funnel)

# %% [markdown]
# ## The same figures, worked out again
#
# From the monthly series by neighbourhood (exact figures; `status` marks the
# provisional months, which the funnel leaves out):
#
# 1. pool each neighbourhood's detentions (O) and person-years (E: the monthly
#    population summed and divided by 12) over the period's final months;
# 2. round each O as the board sees it (the disclosure policy's own rounding);
# 3. the target is sum(O) / sum(E); on the square-root scale each neighbourhood has
#    standard error 1 / (2 sqrt(E)), so the limits at size E are
#    (sqrt(target) -/+ z / (2 sqrt(E)))^2, with z = 1.96 (95%) and 3.09 (99.8%): with
#    three groups there is no overdispersion term (it needs 5 or more).

# %%
monthly = api.series(board, METRIC, breakdown="lcn", start=start, end=end)
final = monthly[monthly["status"] == "final"]
pooled = final.groupby("group").agg(O=("numerator", "sum"), population=("denominator", "sum"))
pooled["E"] = pooled["population"] / 12
policy = policy_for(board.catalogue, "board")
pooled["O_shown"] = [count_as_shown(o, policy) for o in pooled["O"]]

PER = 100_000
target = pooled["O_shown"].sum() / pooled["E"].sum()
se = 1 / (2 * np.sqrt(pooled["E"]))
by_hand = pd.DataFrame(
    {
        "rate": pooled["O_shown"] / pooled["E"] * PER,
        "lower95": (np.sqrt(target) - norm.ppf(0.975) * se) ** 2 * PER,
        "upper95": (np.sqrt(target) + norm.ppf(0.975) * se) ** 2 * PER,
        "lower998": (np.sqrt(target) - norm.ppf(0.999) * se) ** 2 * PER,
        "upper998": (np.sqrt(target) + norm.ppf(0.999) * se) ** 2 * PER,
    }
)
print(f"target: {target * PER:.2f} per 100,000 a year (engine: {funnel.target:.2f})")
display(by_hand)

# %%
engine = points.set_index("group")[["value", "lower95", "upper95", "lower998", "upper998"]]
engine = engine.rename(columns={"value": "rate"})
assert np.isclose(target * PER, funnel.target, rtol=1e-12)
assert np.allclose(by_hand.loc[engine.index].to_numpy(), engine.to_numpy(), rtol=1e-9)
print("The engine's points and limits match the working above.")

# %% [markdown]
# ## Checks against the site
#
# The Equity page makes this call for the default period and the board's policy; the
# notebook's funnel must be the same object, point for point.

# %%
query = SeriesQuery(breakdown="lcn", start=start, end=end)
site = breakdown_funnel(board, METRIC, query, policy_for(board.catalogue, "board"))
assert site == funnel
assert [p.position for p in site.points] == list(points["position"])
assert len(funnel.points) == len(board.catalogue.board.lcns)

# %% [markdown]
# ## Key figures

# %% tags=["key-figures"]
figures = {
    "metric": METRIC,
    "from": f"{start:%Y-%m}",
    "to": f"{end:%Y-%m}",
    "target": funnel.target,
    "phi": funnel.phi,
    "tau2": funnel.tau2,
    "summary": points.attrs["summary"],
    "points": {
        p.group: {"value": p.value, "limits95": [p.lower95, p.upper95], "position": p.position}
        for p in funnel.points
    },
}
print(json.dumps(figures, indent=2))
