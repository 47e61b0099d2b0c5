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
# # The board's headline Impact study, and how much its answer depends on the design
#
# The Impact page opens on the board's headline study (`headline_study` in
# `config/board.yaml`): did referrals to secondary mental health care fall after the
# Hub scale-up? This notebook reproduces exactly what the page shows, then refits the
# same study with other designs (another model family, other seasonal terms, a placebo
# date before the real change) and puts the answers side by side.
#
# The data are the project's synthetic sample (`sample_data/`), where the effect was
# planted: `sample_data/truth.json` says referrals were multiplied by 0.57 (43% fewer)
# once the Hub was in place.

# %%
import json
import sys
from pathlib import Path

import pandas as pd
from IPython.display import display

# The project folder, from wherever Jupyter was started: the engine is imported from it.
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "metrics" / "api.py").is_file())
sys.path.insert(0, str(ROOT))

from metrics import api  # noqa: E402
from metrics.analyses.impact import ImpactRequest, headline, headline_study_id, run_impact  # noqa: E402

board = api.open_board()  # $ALLIANCE_CONFIG_DIR, else the project's config/

# %% [markdown]
# ## The study as the Impact page shows it
#
# `api.study(board)` with no other argument is the headline study, as planned in the
# metric's `its:` block.

# %%
impact = api.study(board)
site = api.study_summary(impact)
print(impact.metric.title)
print(f"{site['headline']}  ({site['interval']})  [{site['badge']}]")
print(site["sentence"])
print(site["cumulative"])
for note in site["notes"]:
    print("note:", note)
print(
    f"model {site['model']}, seasonality {site['seasonality']} (as fitted), "
    f"{site['months_before']} points before and {site['months_after']} after"
)

# %%
api.study_chart(board, impact)

# %% [markdown]
# The design, as the engine received it from the YAML:

# %%
display(impact.spec)

# %% [markdown]
# The page's own table of the same effect under each model family:

# %%
api.study_models(impact)

# %% [markdown]
# ## Varying the design
#
# Each variant changes one thing and keeps the rest: the same data, interventions and
# shocks. A model family is chosen as the page's analysts' choice does
# (`ImpactRequest(model=...)`); seasonal terms are refitted on the same monthly figures;
# a placebo date moves the intervention to a month when nothing happened and fits the
# months before the real change only, so a design that finds effects where there are
# none shows itself.

# %%
PLACEBO = "2014-10"
variants = {
    "as planned (the page)": {},
    "negative binomial counts": {"model": "negbin"},
    "linear trend, robust intervals": {"model": "ols"},
    "smooth seasons (fourier:2)": {"seasonality": "fourier:2"},
    "no seasonal terms": {"seasonality": "none"},
    f"placebo date {PLACEBO}": {"placebo_date": PLACEBO},
}
studies = {name: api.study(board, **design) for name, design in variants.items()}
summaries = {name: api.study_summary(s) for name, s in studies.items()}
table = pd.DataFrame(
    [
        {
            "design": name,
            "model": s.get("model", ""),
            "seasonality": s.get("seasonality", ""),
            "effect": s["headline"],
            "95% CI": s["interval"],
            "verdict": s["badge"],
            "relative": s.get("relative"),
            "error": s["error"],
        }
        for name, s in summaries.items()
    ]
)
display(table)

# %%
for name, s in summaries.items():
    print(f"{name:32} {s['headline']:>14}  {s['interval']:28} {s['badge']}")

# %% [markdown]
# The placebo study in full: the intervention moved a year before the Hub, fitted on the
# months before the Hub only.

# %%
placebo = studies[f"placebo date {PLACEBO}"]
print(api.study_summary(placebo)["sentence"])
for note in placebo.notes:
    print("note:", note)
api.study_chart(board, placebo)

# %% [markdown]
# ## Checks against the site
#
# The headline is the Impact page's: the same request the page makes, through the same
# engine function (`run_impact`) and the same formatting (`headline`).

# %%
planned = run_impact(board, ImpactRequest(headline_study_id(board)))
assert impact.metric.id == board.catalogue.board.headline_study == "secondary_referrals"
assert (site["headline"], site["interval"]) == headline(planned)
assert site["relative"] == planned.result.horizon_effect().relative
# The negative binomial variant is the page's own analysts' choice of model.
negbin = run_impact(board, ImpactRequest(headline_study_id(board), model="negbin"))
shown = summaries["negative binomial counts"]
assert (shown["headline"], shown["interval"]) == headline(negbin)

# The planted effect (a 43% fall) is inside the planned study's 95% interval, and the
# placebo does not find a fall like the real one.
truth = json.loads((ROOT / "sample_data" / "truth.json").read_text())
planted = next(e for e in truth["effects"] if e["id"] == "secondary_referrals_hub")["value"] - 1
print(f"planted {planted:+.0%}; estimated {site['relative']:+.1%}")
assert site["relative_low"] <= planted <= site["relative_high"]
placebo_summary = summaries[f"placebo date {PLACEBO}"]
assert not placebo_summary["error"], placebo_summary["error"]
assert placebo_summary["relative_low"] > site["relative_high"]

# %% [markdown]
# ## Key figures

# %% tags=["key-figures"]
figures = {
    "metric": impact.metric.id,
    "headline": site["headline"],
    "interval": site["interval"],
    "sentence": site["sentence"],
    "relative": site["relative"],
    "planted": planted,
    "variants": {
        name: {
            "design": variants[name],
            "headline": s["headline"],
            "interval": s["interval"],
            "relative": s.get("relative"),
            "error": s["error"],
        }
        for name, s in summaries.items()
    },
}
print(json.dumps(figures, indent=2))
