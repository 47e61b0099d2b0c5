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
# # From a new extract to a validated board metric
#
# A provider sends a monthly extract: one row per provider and month, with the calls
# offered to the crisis line and the calls answered within 60 seconds. We want a board
# metric, "Crisis line calls answered within 60 seconds", on the same footing as every
# other: defined in YAML, validated, read through SPC, the same figure on every page.
#
# The steps, all on a copy so the project's own `config/` is never touched:
#
# 1. write the extract (generated here in code: no real data);
# 2. copy the sample configuration and its data, and point the copy's `data_dir` at the
#    copied data (it is relative to the config folder);
# 3. add a source and a metric, run validation, read the problems and fix them;
# 4. open the board and read the metric, and check the figure against the extract.

# %%
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

# The project folder, from wherever Jupyter was started: the engine is imported from it.
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "metrics" / "api.py").is_file())
sys.path.insert(0, str(ROOT))

from metrics import api  # noqa: E402

# A work folder: ALLIANCE_NOTEBOOK_WORKDIR if set (the tests set it), else a new temporary one.
WORK = Path(os.environ.get("ALLIANCE_NOTEBOOK_WORKDIR") or tempfile.mkdtemp(prefix="extract_"))
WORK.mkdir(parents=True, exist_ok=True)
print("working in", WORK)

# %% [markdown]
# ## 1. The extract
#
# Four providers, April 2021 to March 2025, monthly. Generated with a fixed seed, so
# every run gives the same figures.

# %%
rng = np.random.default_rng(20250415)
months = pd.date_range("2021-04-01", "2025-03-01", freq="MS")
providers = {  # code: (name, calls a month, share answered within 60 seconds)
    "CRL01": ("Crisis line North", 820, 0.91),
    "CRL02": ("Crisis line South", 610, 0.86),
    "CRL03": ("Crisis line Night", 340, 0.82),
    "CRL04": ("Crisis line Text", 150, 0.88),
}
rows = []
for i, month in enumerate(months):
    for code, (name, calls, share) in providers.items():
        offered = int(rng.poisson(calls * (1 + 0.004 * i)))
        answered = int(rng.binomial(offered, min(share + 0.0008 * i, 0.99)))
        rows.append(
            {
                "month": f"{month:%Y-%m-%d}",
                "provider_code": code,
                "provider_name": name,
                "calls_offered": offered,
                "answered_60s": answered,
            }
        )
extract = pd.DataFrame(rows)
data_dir = WORK / "data"
data_dir.mkdir(exist_ok=True)
extract.to_csv(data_dir / "crisis_line_calls.csv", index=False)
extract.tail(8)

# %% [markdown]
# ## 2. A copy of the configuration
#
# `data_dir` in `sources.yaml` is relative to the config folder (`../sample_data` in
# the project), so a copy elsewhere needs it pointed at the copied data.

# %%
config = WORK / "config"
if config.exists():
    shutil.rmtree(config)
shutil.copytree(ROOT / "config", config)
for item in (ROOT / "sample_data").iterdir():
    if item.suffix in {".csv", ".parquet", ".xlsx", ".json"}:
        shutil.copy2(item, data_dir / item.name)

sources_file = config / "sources.yaml"
text = sources_file.read_text(encoding="utf-8")
text, replaced = re.subn(r"(?m)^data_dir:.*$", "data_dir: ../data", text)
assert replaced == 1, "sources.yaml has no data_dir line"
sources_file.write_text(text, encoding="utf-8")

# %% [markdown]
# ## 3. A source and a metric
#
# The source says what the extract's columns are, so every cell is checked when it is
# loaded; the metric is a ratio of sums (answered within 60 seconds out of calls
# offered, over all providers), with a breakdown by provider. The metric below names
# its source wrongly, as happens.

# %%
SOURCE = """
  - id: crisis_line_calls
    title: Crisis line calls by provider (monthly extract)
    description: One row per provider and month, from the providers' monthly returns.
    path: crisis_line_calls.csv
    grain: monthly
    date_column: month
    key: [month, provider_code]
    owner: Crisis line contract manager
    columns:
      month: {type: date}
      provider_code: {type: category, values: [CRL01, CRL02, CRL03, CRL04]}
      provider_name: {type: string}
      calls_offered: {type: integer, min: 0}
      answered_60s: {type: integer, min: 0}
"""
METRIC = """# yaml-language-server: $schema=../schema/metrics.schema.json
metrics:
  - id: crisis_line_answered_60s
    title: Crisis line calls answered within 60 seconds
    description: Of calls offered to the crisis line, the percentage answered within 60 seconds.
    domain: crisis
    source: crisis_line_call
    measure: ratio
    numerator: {value: answered_60s}
    denominator: {value: calls_offered}
    unit: "%"
    decimals: 1
    better: up
    breakdowns: [provider_code]
    target: {value: 90}
    owner: Crisis line contract manager
"""
with sources_file.open("a", encoding="utf-8") as handle:
    handle.write(SOURCE)
assert "crisis_line_calls" in [s["id"] for s in yaml.safe_load(sources_file.read_text())["sources"]]
metric_file = config / "metrics" / "crisis_line.yaml"
metric_file.write_text(METRIC, encoding="utf-8")

# %% [markdown]
# ### Validate
#
# `api.validate` runs every stage `python -m metrics validate` runs (parse, schema,
# references, data). Here are the problems that concern the new files.

# %%
NEW_FILES = ("crisis_line", "crisis_line_calls")


def ours(report):
    """The problems found in the new metric file, the new source or its data."""
    return [i for i in report.issues if any(n in i.file or n in i.message for n in NEW_FILES)]


report = api.validate(config)
first_problems = ours(report)
print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in all")
for issue in first_problems:
    print(issue.format_text())
api.issues_table(first_problems)

# %% [markdown]
# The source is called `crisis_line_calls`; the hint says so. Fix the metric file and
# validate again (from a terminal: `python -m metrics validate FOLDER`, exit code 0 when
# there is no error).

# %%
assert any(i.is_error for i in first_problems), "the misspelt source should be an error"
metric_file.write_text(
    METRIC.replace("source: crisis_line_call\n", "source: crisis_line_calls\n"), encoding="utf-8"
)
report = api.validate(config)
for issue in ours(report):
    print(issue.format_text())
print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in all")
assert not [i for i in ours(report) if i.is_error], "the new metric should now be valid"
assert not report.errors, "the copied configuration should have no errors"

# %% [markdown]
# ## 4. Open the board and read the metric
#
# `api.reading` gives the `Reading` every page shows (for the period the pages open on,
# the whole area, the board's disclosure policy).

# %%
board = api.open_board(config, strict=True)
reading = api.reading(board, "crisis_line_answered_60s")
print(reading.headline)
print("change on a year earlier:", reading.change_display, reading.change_period)
print("SPC:", reading.icon_words or "no icons")

# %%
api.spc_chart(reading)

# %% [markdown]
# ### Check the figure against the extract
#
# The percentage for the latest month, computed straight from the CSV with pandas, and
# each provider's, against the engine's series broken down by provider.

# %%
latest = extract[extract["month"] == f"{reading.month:%Y-%m-%d}"]
expected = 100 * latest["answered_60s"].sum() / latest["calls_offered"].sum()
print(f"from the extract: {expected:.4f}%   read by the board: {reading.value:.4f}%")
assert abs(reading.value - expected) < 1e-9
assert reading.display == f"{expected:.1f}%"

by_provider = api.series(board, "crisis_line_answered_60s", breakdown="provider_code")
in_month = by_provider[by_provider["month"] == pd.Timestamp(reading.month)]
engine = in_month.set_index("group")["value"]
direct = latest.set_index("provider_code").eval("100 * answered_60s / calls_offered")
pd.DataFrame({"engine": engine, "extract": direct})

# %%
assert np.allclose(engine.sort_index().to_numpy(), direct.sort_index().to_numpy())

# %% [markdown]
# And the site's own read-out of the same figure, `python -m metrics readings --json`,
# which the pages, the board pack and the slides share:

# %%
command = [sys.executable, "-m", "metrics", "readings", str(config), "--json"]
run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
site = next(r for r in json.loads(run.stdout) if r["metric"] == "crisis_line_answered_60s")
print(site["display"], site["period"], site["status"])
assert site["value"] == reading.value and site["display"] == reading.display

# %% [markdown]
# ## Key figures
#
# What this notebook found, for the record (the tests compare these with the engine).

# %% tags=["key-figures"]
figures = {
    "config_dir": str(config),
    "metric": "crisis_line_answered_60s",
    "first_problems": [i.format_text() for i in first_problems],
    "month": f"{reading.month:%Y-%m}",
    "value": reading.value,
    "display": reading.display,
    "expected_from_extract": expected,
    "providers": {str(k): float(v) for k, v in engine.items()},
}
print(json.dumps(figures, indent=2))
