"""docs/metric-definitions.md, generated from the models that validate the configuration.

`render_reference()` returns the whole page: hand-written guidance with examples (kept
here as text, so the page is one generated artefact) and then a table for every field of
every config file, read from the pydantic models and their JSON Schema: name, type,
required or default, allowed values, description. Sample output lines are produced by the
real `Issue` formatters and "did you mean" by the real `did_you_mean`, so the page cannot
drift from the code. `python -m metrics docs` writes it; `--check` fails when it is stale
(and `tests/test_docs.py` fails the build).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from metrics.definitions.board_files import FILE_MODELS
from metrics.definitions.issues import Issue, closest, did_you_mean, issues_to_json
from metrics.definitions.models import ID_PATTERN, MEASURE_PATTERN
from metrics.sql import month_checks, warehouse

DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "metric-definitions.md"

# Where each file's model lives, as analysts know it.
FILE_NAMES = {
    "sources": "sources.yaml",
    "framework": "framework.yaml",
    "interventions": "interventions.yaml",
    "metrics": "metrics/*.yaml",
    "board": "board.yaml",
    "disclosure": "disclosure.yaml",
    "showcase": "showcase.yaml",
}
FILE_PURPOSES = {
    "sources": "the data files, their columns and how each is checked",
    "framework": "the big outcomes and the domains that group metrics",
    "interventions": "service changes, shocks and definition breaks (dates for SPC and ITS)",
    "metrics": "the metrics, one entry each, in any number of files",
    "board": "the board's layout: title, domain order, neighbourhoods",
    "disclosure": "small-number suppression for the board and for public outputs",
    "showcase": "the public showcase slides",
}
# Headings for the nested blocks (model class name -> what analysts call it).
BLOCK_NAMES = {
    "SourceDef": "Source",
    "ColumnDef": "Column",
    "SourceChecks": "Checks",
    "InterventionDef": "Intervention",
    "MetricDef": "Metric",
    "RatioPart": "Numerator and denominator",
    "RateDef": "Rate",
    "SPCBlock": "SPC block",
    "ITSBlock": "ITS block",
    "DisclosureContext": "Disclosure context",
    "SlideDef": "Slide",
    "StoryDef": "Story",
}
TYPE_WORDS = {
    "string": "text",
    "integer": "whole number",
    "number": "number",
    "boolean": "true or false",
}
MONTH_PATTERN = r"^\d{4}-\d{2}(-\d{2})?$"
PATTERN_WORDS = {
    ID_PATTERN: "lower_snake_case: a-z, 0-9 and _, starting with a letter",
    MEASURE_PATTERN: "`count`, `sum`, `mean`, `median`, `p1` to `p99`, `ratio`, `rate`",
    r"^(none|month|fourier:[1-6])$": "`none`, `month`, `fourier:1` to `fourier:6`",
    MONTH_PATTERN: "YYYY-MM (YYYY-MM-DD is read as its month)",
}


# --------------------------------------------------------------------------- models


def _anchor(model: type[BaseModel]) -> str:
    return f"block-{model.__name__.lower()}"


def _block_name(model: type[BaseModel]) -> str:
    return BLOCK_NAMES.get(model.__name__, model.__name__)


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    """Models inside a field's type (list[X], dict[str, X], X | None, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        yield from _nested_models(argument)


def models_of_file(name: str) -> list[tuple[type[BaseModel], list[str]]]:
    """(model, where it is written) for a file's top-level model and every nested block,
    in the order a reader meets them; a block written in several places lists them all."""
    top = FILE_MODELS[name]
    found: dict[type[BaseModel], list[str]] = {top: ["top level"]}
    queue = [(top, "")]
    while queue:
        model, path = queue.pop(0)
        for field_name, info in model.model_fields.items():
            key = info.alias or field_name
            for nested in _nested_models(info.annotation):
                where = _where(path, key, info.annotation)
                if nested in found:
                    found[nested].append(where)
                    continue
                found[nested] = [where]
                queue.append((nested, where))
    return list(found.items())


def _where(path: str, key: str, annotation: Any) -> str:
    origin = getattr(annotation, "__origin__", None)
    step = f"{path}.{key}" if path else key
    if origin is list:
        return f"{step}[]"
    if origin is dict:
        return f"{step}.<name>"
    return step


def all_models() -> list[type[BaseModel]]:
    """Every model the configuration files use (each once)."""
    seen: list[type[BaseModel]] = []
    for name in FILE_MODELS:
        for model, _places in models_of_file(name):
            if model not in seen:
                seen.append(model)
    return seen


def field_names(model: type[BaseModel]) -> list[str]:
    """Field names as written in YAML (aliases such as 'from' for from_)."""
    return [info.alias or name for name, info in model.model_fields.items()]


# --------------------------------------------------------------------------- one field


def _type_text(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, str]:
    """(type, allowed values) in words, from a JSON Schema property (`defs`: its $defs)."""
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        rest = {k: v for k, v in prop.items() if k != "anyOf"}
        if len(options) == 1:
            return _type_text({**options[0], **rest}, defs)
        parts = [_type_text(p, defs)[0] for p in options]
        return " or ".join(parts), ""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        if "properties" not in defs.get(name, {"properties": None}):
            return _type_text(defs[name], defs)  # an enum such as ColumnType: inline
        label = BLOCK_NAMES.get(name, name)
        return f"[{label}](#block-{name.lower()})", ""
    kind = prop.get("type", "")
    if kind == "array":
        inner, allowed = _type_text(prop.get("items", {}), defs)
        size = f"at least {prop['minItems']}" if prop.get("minItems") else ""
        return f"list of {inner}", "; ".join(filter(None, [allowed, size]))
    if kind == "object":
        inner, allowed = _type_text(prop.get("additionalProperties", {}), defs)
        return f"mapping of name to {inner}", allowed
    allowed = []
    if "const" in prop:
        allowed.append(f"`{prop['const']}`")
    if "enum" in prop:
        allowed.append(", ".join(f"`{json.dumps(v).strip(chr(34))}`" for v in prop["enum"]))
    if "pattern" in prop:
        allowed.append(PATTERN_WORDS.get(prop["pattern"], f"matches `{prop['pattern']}`"))
    allowed.extend(_bounds(prop))
    word = TYPE_WORDS.get(kind, kind or "any")
    if prop.get("pattern") == MONTH_PATTERN:
        word = "month"
    return word, "; ".join(allowed)


def _bounds(prop: dict[str, Any]) -> list[str]:
    low, high = prop.get("minimum"), prop.get("maximum")
    out = []
    if low is not None and high is not None:
        out.append(f"{low} to {high}")
    elif low is not None:
        out.append(f"at least {low}")
    elif high is not None:
        out.append(f"at most {high}")
    if "exclusiveMinimum" in prop:
        out.append(f"more than {prop['exclusiveMinimum']}")
    return out


def _yaml_value(value: Any) -> str:
    """A default as it would be written in YAML (flow style)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, mode="json")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value) if value == "" or ":" in value else value
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "optional (none)"
    return f"`{_yaml_value(value)}`"


def _cell(text: str) -> str:
    """Safe inside a Markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())


def _field_table(model: type[BaseModel]) -> list[str]:
    schema = model.model_json_schema(by_alias=True)
    properties = schema.get("properties", {})
    lines = [
        "| Field | Type | Required / default | Allowed values | Description |",
        "|---|---|---|---|---|",
    ]
    for name, info in model.model_fields.items():
        key = info.alias or name
        kind, allowed = _type_text(properties.get(key, {}), schema.get("$defs", {}))
        lines.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    f"`{key}`",
                    kind,
                    _default_text(info),
                    allowed or "any",
                    info.description or "",
                )
            )
            + " |"
        )
    return lines


def _reference() -> list[str]:
    lines = ["## Reference: every field", ""]
    lines.append(
        "One section per file, then one table per block inside it. *Required* fields must "
        "be written; any other field may be left out and takes the default shown. Fields "
        "not listed are errors (`unknown field`), with a suggestion when one is close."
    )
    documented: set[type[BaseModel]] = set()
    for name in FILE_MODELS:
        purpose = FILE_PURPOSES[name]
        lines += ["", f"### {FILE_NAMES[name]}", "", f"{purpose[0].upper()}{purpose[1:]}."]
        for model, places in models_of_file(name):
            where = ", ".join(f"`{place}`" for place in places)
            if model in documented:
                lines += ["", f"{where}: see [{_block_name(model)}](#{_anchor(model)})."]
                continue
            documented.add(model)
            title = (
                f"{FILE_NAMES[name]}: top level"
                if places == ["top level"]
                else f"{_block_name(model)} ({where})"
            )
            lines += ["", f'<a id="{_anchor(model)}"></a>', "", f"#### {title}", ""]
            lines += _field_table(model)
    return lines


# --------------------------------------------------------------------------- guidance

INTRO = """\
# Metric definitions: reference

<!-- Generated by `python -m metrics docs` from metrics/definitions/models.py,
     metrics/definitions/board_files.py and metrics/reference_docs.py. Do not edit by
     hand: change the models or the
     generator, then run `.venv/bin/python -m metrics docs`. -->

Everything the board shows is defined in YAML under `config/`. This page explains how the
definitions work, with examples, and then documents every field of every file. It is
generated from the same models that validate the files and produce the JSON Schemas
editors use for autocompletion, so it always matches what the validator accepts.

Each YAML file starts with `# yaml-language-server: $schema=schema/<file>.schema.json`
(`../schema/metrics.schema.json` for the metric files): editors with the YAML language
server (VS Code's YAML extension, for one) then complete field names and flag mistakes as
you type.

Commands (from the repository root):

```bash
.venv/bin/python -m metrics validate            # check config/ and the data it points at
.venv/bin/python -m metrics validate --no-data  # definitions only, no data read
.venv/bin/python -m metrics schema              # regenerate config/schema/*.json
.venv/bin/python -m metrics docs                # regenerate this page (--check: is it stale?)
```
"""

MEASURES = """\
## Measures, one example per kind

`measure` says how a metric turns the rows of its source into one number per month. The
month of a row is the month of the metric's `date` (the source's `date_column` when
`date` is left out). `filter` selects the rows first (see
[Filters are SQL](#filters-are-sql)).

**count**: rows per month. `value` is not used.

```yaml
- id: secondary_referrals
  title: Referrals from primary care to secondary mental health care
  domain: access
  source: referrals
  measure: count
  filter: pathway = 'secondary'
  unit: referrals
  better: down
  breakdowns: [lcn, ethnicity, age_band, gender]
```

**sum**: the sum of `value` (a column or an SQL expression) per month. On a `monthly`
source a month with any blank value is missing, never a partial total.

```yaml
- id: acute_beds_occupied
  title: Average acute beds occupied
  domain: crisis
  source: activity
  measure: sum
  value: value / dayofmonth(last_day(month))   # bed days / days in the month
  filter: measure = 'bed_days_acute'
  unit: beds
  decimals: 1
  better: down
```

**mean**: the average of `value` over the month's rows (blank values left out).

```yaml
- id: dialog_review_score
  title: Average DIALOG quality of life at review
  domain: recovery
  source: proms
  measure: mean
  value: review_score
  filter: measure = 'DIALOG' AND paired
  unit: score (1-7)
  decimals: 2
  better: up
  since: 2019-04
```

**median**: the middle value of `value` in the month.

```yaml
- id: days_to_first_contact_median
  title: Median wait from referral to first contact (front door)
  domain: access
  source: referrals
  measure: median
  value: days_to_first_contact
  filter: pathway = 'front_door'
  unit: days
  decimals: 1
  better: down
```

**p90** (any `pNN` from `p1` to `p99`): the NN-th percentile of `value` (continuous, as
SQL `quantile_cont`). `p90` is the wait nine in ten people were within.

```yaml
- id: days_to_first_contact_p90
  title: 90th percentile wait from referral to first contact (front door)
  domain: access
  source: referrals
  measure: p90
  value: days_to_first_contact
  filter: pathway = 'front_door'
  unit: days
  better: down
```

**ratio**: `per` (100 by default, a percentage) times numerator / denominator. Each part
counts its rows, or sums its `value`; its `filter` is added to the metric's own filter.
Without `denominator`, the denominator is every row the metric's filter selects.

```yaml
- id: secondary_acceptance_rate
  title: Secondary referrals accepted for specialist care
  domain: access
  source: referrals
  measure: ratio
  filter: pathway = 'secondary'
  numerator: {filter: accepted}
  denominator: {filter: accepted IS NOT NULL}
  unit: "%"
  decimals: 1
  better: up
```

**rate**: the count (or sum of `value`) per `per` people (100,000 by default), divided by
the population source's `value` column summed for the year of each month. The population
source's `date_column` is a whole-number year; each breakdown must also be a column of the
population source (rates by ethnicity need the population by ethnicity).

```yaml
- id: detention_rate
  title: Detentions per 100,000 adults
  domain: equity
  source: detentions
  measure: rate
  rate: {population: population, value: population, per: 100000}
  unit: per 100,000
  decimals: 1
  better: down
  breakdowns: [ethnicity, age_band, gender, lcn]
```

**money**: not a measure of its own but a `sum` whose `unit` is `GBP` (or `£`): figures
are then shown as board papers write money (£1.23m, £456k, £789), and they are not
disclosure-controlled (money is not a count of people).

```yaml
- id: pooled_spend
  title: Alliance spend (actual)
  domain: money
  source: costs
  measure: sum
  value: actual_gbp
  unit: GBP
  better: neutral
  breakdowns: [provider_id, service_line, pod, cost_type]
```
"""

FILTERS = """\
## Filters are SQL

`filter`, `value`, `numerator`/`denominator` `filter` and `value`, and `rate.filter` and
`rate.value` are pieces of SQL (DuckDB's dialect) over the columns of the metric's source,
named as in `sources.yaml` (the population source's columns for `rate.filter` and
`rate.value`). Columns arrive typed: dates are dates, booleans can be used on their own,
numbers compare as numbers.

```yaml
filter: pathway = 'secondary'                       # text in single quotes
filter: pathway = 'secondary' AND accepted          # a boolean column on its own
filter: source IN ('GP', 'Self') AND age_band <> '65+'
filter: days_to_second_contact <= 28
filter: discharge_date IS NOT NULL
value: review_score - baseline_score               # an expression, not only a column
value: value / dayofmonth(last_day(month))
```

Quote the whole YAML value (`filter: "..."`) when it contains `: `, starts with a quote,
or holds a `#` (YAML would read the rest as a comment).

Validation compiles every metric and binds it against empty tables of the declared
columns, so an unknown column or a syntax error is reported at the metric's line, with a
suggestion (`unknown column 'knd' in filter (did you mean 'kind'?)`). A piece of SQL must
be one condition or expression: a `;` that would start another statement is refused, and
the SQL can read the loaded tables only (the database has no access to files).
"""

MISSING = """\
## Missing months, provisional months and maturity

**Missing months are never zero.** A metric's series runs from its first month with data
to its last; in between:

- for a `record` source (one row per person or event), a month with no rows at all is
  missing; a month with rows but none that pass the filter is a true 0 for a count;
- for a `monthly` source (aggregated rows), a month whose rows are absent, or whose
  `value` is blank, is missing; a sum or ratio over a month with any blank value is
  missing rather than a partial figure.

Missing months are shown as gaps on charts and in tables; `validate` warns how many there
are. SPC and ITS work on the months that have values.

**`provisional_months`** (a source, 0 to 12): the latest N months of the source are still
filling up (late returns, coding). They are shown, marked provisional, and left out of
models (SPC limits, ITS estimates). Use it for extracts that are revised.

**`maturity_months`** (a metric, 0 to 24): the outcome takes N months to happen, so the
latest N months of data are not reported at all for this metric. A second contact within
4 weeks of referral needs `maturity_months: 1`: referrals made last month may still get
their contact.

```yaml
# sources.yaml
- id: referrals
  path: referrals.csv
  grain: record
  provisional_months: 2
  ...
# metrics/access.yaml
- id: seen_within_4_weeks
  source: referrals
  measure: ratio
  filter: pathway = 'secondary' AND accepted
  numerator: {filter: days_to_second_contact <= 28}
  maturity_months: 1
  ...
```
"""

STAGES = """\
## Validation stages

`python -m metrics validate` (and the site, on every change) checks the configuration in
four stages and reports every problem at once, each with file, line, column and field:

1. **parse**: every file is UTF-8 YAML, one document, no key written twice, no tabs for
   indentation, no unknown `!tags`, aliases that do not refer to themselves.
2. **schema**: every field has the right type and an allowed value, required fields are
   present, no unknown fields (with "did you mean" for a misspelt name).
3. **references**: ids are unique; metrics name known domains, sources, columns,
   interventions and comparison metrics; measures have the parts they need (a `value`
   for sum, mean, median and pNN; a `numerator` for ratio; a `rate` block for rate);
   column settings make sense (`min`/`max` on numbers, `format` on dates); every metric's
   SQL compiles and binds (DuckDB) without reading data; the board layout names known
   domains and metrics.
4. **data** (left out by `--no-data`): every source file is read and checked cell by cell
   against its declared columns (see [Data files](#data-files)); every metric computes;
   `since` against the first month with data; gaps; enough months each side of an ITS
   intervention (at least 3; fewer than 12 is a warning).

One mistake is one message. A problem in one metric never hides another: an item that
fails the schema is still checked, without its faulty parts, against everything else, so
a wrong `better:` and an unknown breakdown column come in the same run. Nothing already
reported is reported again: metrics on a source with errors (its file missing, a
`values:` list of numbers) wait for it and are counted as waiting, rather than each
failing with "unknown source"; a data folder that is not there is one error at
`data_dir`. A duplicate metric id is an error at **both** definitions; the earlier one
(the one being served, or in the file written first) keeps serving, so a new file can
never silently replace a live definition.

A metric with an error is not served; every other metric still is. On the site, a broken
edit never takes the board down: the last good configuration keeps serving and the
problems are listed for analysts. The summary line counts every metric:
`2 error(s), 0 warning(s); 35 metric(s) valid, 3 with errors in config` (and `N waiting
for a source with errors` when a source has them).
"""

OWN_DATA = """\
## Your own data: folders and paths

The site and every command read one **config folder** (the YAML files) and one **data
folder** (the source files). By default they are this project's `config/` and
`sample_data/`, the synthetic alliance. To work on real data, keep your own config and
data folders anywhere (outside the project, if you like) and point at them:

{settings}

A source's `path` is relative to the data folder. So with this layout

```
my-board/
  config/            sources.yaml (data_dir: ../data), framework.yaml, board.yaml, ...
    metrics/         ae.yaml, ...
  data/              ae_monthly.csv
```

`python -m metrics validate my-board/config` reads `my-board/data/ae_monthly.csv`, from
whichever folder it is run. Copying `config/` somewhere else without its data folder
gives **one** error, at `data_dir` in `sources.yaml`, naming the folder it looked for:

```
{missing}
```

and the summary counts the metrics as waiting for their source, not as errors of their
own. The site needs two more files in a new config folder: `access.yaml` (who sees
which pages; copy the sample's) and `disclosure.yaml` (small-number suppression; an empty
file takes the defaults). Say what the data are in `board.yaml`, so every page and export
says it (see [What the data are](#what-the-data-are)).
"""

EXAMPLE_FILES = {
    "my-board/data/ae_monthly.csv": (
        "csv",
        """\
period,org_code,org_name,type,attendances,breaches
2018-10-01,Z1A,Northfield Hospitals,1,10120,1093
2018-10-01,Z2B,Riverside Trust,1,7340,512
2018-10-01,Z3C,Eastgate Health,1,5210,698
2018-11-01,Z1A,Northfield Hospitals,1,9875,1204
2018-11-01,Z2B,Riverside Trust,1,7102,604
2018-11-01,Z3C,Eastgate Health,1,5034,755
2018-12-01,Z1A,Northfield Hospitals,1,10230,1517
2018-12-01,Z2B,Riverside Trust,1,7415,779
2018-12-01,Z3C,Eastgate Health,1,5386,902
2019-01-01,Z1A,Northfield Hospitals,1,9962,1388
2019-01-01,Z2B,Riverside Trust,1,7201,701
2019-01-01,Z3C,Eastgate Health,1,5120,811
2019-02-01,Z1A,Northfield Hospitals,1,9104,1102
2019-02-01,Z2B,Riverside Trust,1,6688,575
2019-02-01,Z3C,Eastgate Health,1,4790,690
2019-03-01,Z1A,Northfield Hospitals,1,10415,1046
2019-03-01,Z2B,Riverside Trust,1,7560,498
2019-03-01,Z3C,Eastgate Health,1,5402,629
""",
    ),
    "my-board/config/sources.yaml": (
        "yaml",
        """\
data_dir: ../data              # relative to this folder (my-board/config)
sources:
  - id: ae
    title: A&E attendances and four-hour breaches (provider, monthly)
    description: Made-up provider-level extract for the worked example.
    path: ae_monthly.csv
    grain: monthly
    date_column: period
    key: [period, org_code, type]
    columns:
      period: {type: date}
      org_code: {type: category, values: [Z1A, Z2B, Z3C]}
      org_name: {type: string}
      type: {type: category, values: ['1', '2', '3']}   # codes are text: quoted
      attendances: {type: integer, min: 0, required: true}
      breaches: {type: integer, min: 0, required: true}
    tests:
      - {test: every_month, by: org_code}     # every provider, every month
      - {test: not_null, columns: [attendances, breaches]}
""",
    ),
    "my-board/config/metrics/ae.yaml": (
        "yaml",
        """\
metrics:
  - id: ae_4h_all
    title: "A&E: seen within four hours (all providers)"
    domain: access
    source: ae
    measure: ratio
    filter: type = '1'
    numerator: {value: attendances - breaches}
    denominator: {value: attendances}
    unit: "%"
    decimals: 1
    better: up
    tests:
      - {test: range, min: 0, max: 100}
  - id: ae_4h
    title: "A&E: seen within four hours ({label})"
    domain: access
    source: ae
    measure: ratio
    filter: type = '1'
    numerator: {value: attendances - breaches}
    denominator: {value: attendances}
    unit: "%"
    decimals: 1
    better: up
    for_each: {column: org_code, values_from: data, labels_from: org_name}
""",
    ),
    "my-board/config/framework.yaml": (
        "yaml",
        """\
outcomes: []
domains:
  - {id: access, title: Access and waiting times, kind: system}
""",
    ),
    "my-board/config/board.yaml": (
        "yaml",
        """\
title: A&E four-hour performance
overview_domains: [access]
default_from: 2018-10
default_to: 2019-03
data_status: {kind: test, text: Made-up extract from the worked example in the docs.}
""",
    ),
    "my-board/config/interventions.yaml": ("yaml", "interventions: []\n"),
    "my-board/config/showcase.yaml": ("yaml", "title: Showcase\nslides: []\n"),
    "my-board/config/disclosure.yaml": ("yaml", "# the defaults\n"),
}


SETTINGS = (
    (
        "`python -m metrics validate CONFIG_DIR`",
        "command line",
        "checks the config folder `CONFIG_DIR` and the data it points at (`show ID "
        "CONFIG_DIR`, `readings CONFIG_DIR` and `export --config CONFIG_DIR` take the "
        "folder the same way)",
    ),
    (
        "`ALLIANCE_CONFIG_DIR`",
        "environment",
        "the config folder the site (and the commands, when no folder is given) reads: "
        "`ALLIANCE_CONFIG_DIR=$PWD/my-board/config make run`",
    ),
    (
        "`data_dir`",
        "`sources.yaml`",
        "the data folder, **relative to the folder holding `sources.yaml`** (not to the "
        "folder you run the command from), or an absolute path; `../sample_data` when left "
        "out",
    ),
    (
        "`ALLIANCE_DATA_DIR`",
        "environment",
        "the data folder, overriding `data_dir` (an absolute path, or relative to the "
        "folder the command runs in): the same config on another machine's data",
    ),
)


def _own_data() -> str:
    from pathlib import PurePosixPath

    from metrics.sql.data_checks import missing_data_issue

    at = Issue("error", "data", "config/sources.yaml", "", line=4, column=1)
    issue = missing_data_issue(
        Path(PurePosixPath("/home/analyst/sample_data")),
        Path(PurePosixPath("/home/analyst/config")),
        at,
        setting="../sample_data",
    )
    settings = "\n".join(
        ["| Setting | Where | What it does |", "|---|---|---|"]
        + [f"| {a} | {b} | {c} |" for a, b, c in SETTINGS]
    )
    return OWN_DATA.replace("{missing}", issue.format_text()).replace("{settings}", settings)


def _traps() -> str:
    from metrics.definitions.yaml_hints import shown_value, value_hint

    issue = Issue(
        "error",
        "schema",
        "config/sources.yaml",
        f"expected text, got {shown_value('01', 1)}",
        line=12,
        column=39,
        field="sources[ae].columns.team.values.0",
        hint=value_hint("01", 1),
    )
    filter_row = (
        "| `filter: kind = 1` on a text column | text compared with a number (fails on the "
        "data) | `filter: kind = '1'` |"
    )
    return TRAPS.replace("{trap}", issue.format_text()).replace("{filter_row}", filter_row)


def _data_tests() -> str:
    from metrics.definitions.data_test_rules import describe
    from metrics.definitions.models import DataTest

    test = DataTest(test="every_month", by=["org_code"])
    issue = Issue(
        "error",
        "data",
        "config/sources.yaml",
        f"source 'ae': data test {describe(test)}: 1 group-month(s) of Apr 2016 to Mar 2019 "
        "have no rows (e.g. org_code=Z2B in Nov 2017)",
        line=19,
        field="sources[ae].tests[0]",
        hint="a month missing for one group is often a late or failed submission; set "
        "level: warning if groups start or stop on purpose",
    )
    return DATA_TESTS.replace("{failing}", issue.format_text())


def example_files() -> dict[str, str]:
    """The worked example's files, by path (tests/test_docs.py builds and validates them)."""
    return {path: text for path, (_kind, text) in EXAMPLE_FILES.items()}


def _worked_example() -> str:
    blocks = "\n".join(
        f"**`{path}`**\n\n```{kind}\n{text}```\n" for path, (kind, text) in EXAMPLE_FILES.items()
    )
    return f"""\
## Worked example: a published extract to a board metric

A provider-level monthly extract, as a publisher gives it: one row per provider, month and
department type, with attendances and the attendances that waited over four hours. (The
figures below are made up; a real extract has more providers and years, and the same
steps apply.) The board metric: the percentage seen within four hours, for all providers
and for each provider.

1. **Save the extract as CSV**, one header row, one row per provider and month; keep the
   publisher's column names. Dates as YYYY-MM-DD (or declare `format:`, e.g. `'%d/%m/%Y'`).
2. **Declare it in `sources.yaml`**, every column the metrics use, with its type. Codes
   (`type` 1, 2, 3; practice or team codes like `01`) are text: quote them in `values:`
   (`['1', '2', '3']`), or YAML reads them as numbers (see [YAML traps](#yaml-traps)).
   Add data tests for what must hold every month ([Data tests](#data-tests)).
3. **Define the metric**: a ratio of sums (each part's `value` summed over the month's
   rows); one definition with `for_each` makes one metric per provider
   ([One definition, many metrics](#one-definition-many-metrics-for_each)).
4. **Validate, then serve**:

```bash
.venv/bin/python -m metrics validate my-board/config        # 0 errors: exit code 0
.venv/bin/python -m metrics show ae_4h_z1a my-board/config --csv
ALLIANCE_CONFIG_DIR=$PWD/my-board/config make run             # the site on your data
```

`validate` ends `0 error(s), 0 warning(s); 4 metric(s) valid in my-board/config`: the
all-providers metric and one per provider (`ae_4h_z1a`, `ae_4h_z2b`, `ae_4h_z3c`, titled
with each provider's name from `org_name`). Each has its own page
(`?metric=ae_4h_z1a`). Northfield in October 2018: (10,120 - 1,093) / 10,120 = 89.2%.

The files (copy `access.yaml` from the sample's `config/` too, for the site):

{blocks}"""


TRAPS = """\
## YAML traps

YAML guesses what a bare value is, and some guesses lose what you wrote. The validator
says what YAML read and how to write it; the fix is always to quote the value:

| Written | YAML reads | Write |
|---|---|---|
| `values: [1, 2, 3]` | the numbers 1, 2, 3 | `values: ['1', '2', '3']` |
| `values: [01, 02]` | the numbers 1 and 2 (leading zero lost) | `values: ['01', '02']` |
| `values: [Yes, No]` (also `on`, `off`) | true and false | `values: ['Yes', 'No']` |
| `values: [2024-04-01]` | a date | `values: ['2024-04-01']` |
| `title: Access: waits` | a syntax error (`: ` inside a value) | `title: "Access: waits"` |
{filter_row}

```
{trap}
```

**Indentation**: spaces only (YAML refuses tabs), and the lines of one mapping or list
start in the same column; a line indented one space too far or too little is a syntax
error at that line, with a hint to check the indentation. A month (`default_from`,
`start`) may be written `2019-04` or `2019-04-01`: both mean April 2019.
"""

FOR_EACH = """\
## One definition, many metrics (for_each)

One definition can make a metric per provider, team or neighbourhood: `for_each` names
the source column and its values. Each value gets its own metric id (the definition's id,
`_`, the value in lower case: `ae_4h_z1a`), title and page, and its rows are those with
that value (on top of `filter`).

```yaml
for_each: {column: org_code, values: [Z1A, Z2B]}              # the values, written
for_each: {column: org_code, values_from: data}               # every value in the data
for_each: {column: org_code, values_from: data, labels_from: org_name}
for_each: {column: team, values: [crisis, home], labels: {crisis: Crisis team}}
```

The title takes `{label}` (the value's name from `labels` or `labels_from`, else the
value) or `{value}`; without either, `: label` is added. With `values_from: data` the
values are read when the data are loaded (`validate --no-data` checks the definition
once). Validation checks the column exists and is a category, string or integer column,
that written values are among the column's `values`, and that no metric id is made twice
or clashes with another metric; each problem is reported once, at the definition's line.
"""

DATA_TESTS = """\
## Data tests

`tests:` on a source (its rows) or a metric (the rows its filter selects, and its monthly
values) say what must hold in the data. `validate` runs them after loading (so does the
site, on every load), each failure reported at the test's own line with how many rows or
months fail and examples:

```yaml
tests:
  - {test: not_null, columns: [attendances, breaches]}
  - {test: unique, columns: [period, org_code, type]}
  - {test: every_month, by: org_code}       # every provider has rows in every month
  - {test: accepted_values, column: type, values: ['1', '2', '3']}
  - {test: range, column: breaches, min: 0}
  - {test: range, min: 0, max: 100}         # on a metric: its monthly value
  - {test: every_month, by: org_code, level: warning}   # report, do not fail
```

```
{failing}
```

`every_month` spans the first to the last month of the rows tested; a provider that
opened or closed within it fails, so use `level: warning` where groups come and go. A
failing test at `level: error` (the default) fails `validate` (exit 1), and on the site a
reload that fails it keeps the last good board serving. Tests run as queries built from
the definitions (never SQL text), so they run on a shared warehouse too.
"""

STATUS = """\
## What the data are

`data_status` in `board.yaml` is said on every page (a banner) and in every export (a
label and a note): `synthetic` (generated data: the sample says so), `test` (not for
decisions), `provisional` (still being checked) or `live` (the real, checked data; no
banner unless `text` is written). `text` replaces the standard sentence. When
`data_status` is left out nothing is claimed, so a board on real data never says its
figures are synthetic.

```yaml
data_status: {kind: synthetic}
data_status: {kind: test, text: "Test extract of 3 March 2025: not for decisions."}
data_status: {kind: live}
```

**The period.** Pages open on `default_from` to `default_to` (within the data's span). A
metric with no data in the period (a new source whose data end earlier, say) reads
"Unavailable: no data in the selected period (Apr 2019 to Mar 2025); its data run from
Apr 2016 to Mar 2019", and its own page shows it over its own span, says so, and offers
that period for every page.
"""


EXIT_CODES = """\
## Exit codes of `validate`

| Code | Meaning |
|---|---|
| 0 | no errors (warnings allowed; `--strict` treats warnings as errors) |
| 1 | errors found |
| 2 | the command could not run (for example, the config folder does not exist) |
"""


def _sample_issues() -> list[Issue]:
    hint = did_you_mean("referals", ["referrals", "admissions", "population"])
    return [
        Issue(
            "error",
            "references",
            "config/metrics/access.yaml",
            "metric 'secondary_referrals': unknown source 'referals'",
            line=24,
            column=13,
            field="metrics[secondary_referrals].source",
            hint=hint,
        )
    ]


def _formats() -> str:
    issues = _sample_issues()
    (issue,) = issues
    return f"""\
## Output formats

`--format text` (the default): one line per problem,
`file:line:column: level [field]: message (hint)`, then a summary line.

```
{issue.format_text()}
1 error(s), 0 warning(s); 22 metric(s) valid, 1 with errors in config
```

`--format json` (or `--json`): counts and every issue with all its parts, for tools.

```json
{issues_to_json(issues)}
```

`--format github`: GitHub Actions workflow annotations, so problems show on the lines of
a pull request.

```
{issue.format_github()}
```
"""


def _did_you_mean() -> str:
    renamed = closest("date", ["id", "event_date", "kind"])
    examples = [
        ("unknown source", "referals", ["referrals", "admissions", "population"]),
        ("unknown field", "unti", ["unit", "title", "until_month"]),
        ("not a measure", "medain", ["count", "sum", "mean", "median", "ratio", "rate"]),
        ("unknown column", "Ethnicity", ["ethnicity", "lcn", "age_band"]),
        ("unknown intervention", "covid19", ["covid", "hub_scale_up"]),
    ]
    rows = "\n".join(
        f"| {what} | `{name}` | {did_you_mean(name, options) or '(nothing close)'} |"
        for what, name, options in examples
    )
    return f"""\
## "Did you mean" suggestions

When a name is not known (a field, an id, a column, an allowed value), the validator
looks for the closest known name and adds it as a hint: the same name in another case,
a close spelling (most letters in the same order), or the one known name that contains
it or is contained in it (`date` and `event_date`). Nothing is suggested when nothing is
close; for ids and columns the hint then lists what is known. In a data file, a declared
column that is missing while a close one is present is reported as renamed:
`column 'date' is missing (...) (the file has '{renamed}': renamed?)`.

| Problem | Written | Hint |
|---|---|---|
{rows}
"""


def _data_files() -> str:
    doc = warehouse.__doc__ or ""
    start = doc.index("Awkward files")
    end = doc.index("Fast path:")
    body = doc[start:end].split("\n", 1)[1].strip()
    return f"""\
## Data files

Source files are CSV, Excel (`.xlsx`, a `sheet` by name) or Parquet. Every cell is
checked against its column's `type` (and `values`, `min`, `max`, `required`, `format`),
and every problem is reported with the file and the line (header = line 1). A source with
errors is not loaded: its metrics are reported unavailable, every other source keeps
working. What happens to awkward files:

{body}
"""


def _month_checks() -> str:
    doc = month_checks.__doc__ or ""
    start = doc.index("A published extract")
    end = doc.index("Queries are sqlglot trees")
    body = doc[start:end].strip()
    return f"""\
## Is a month complete?

{body}

Each flagged month is one warning naming the source's file, the month, what is off and by
how much, for example:

```
{_month_check_example().format_text()}
```

Set the tolerances per source; every field is in the reference under
[Checks](#block-sourcechecks):

```yaml
- id: ae
  path: ae_by_provider.csv
  grain: monthly
  date_column: month
  key: [month, provider_code]   # so a missing provider is told from one that closed
  checks:
    month_change_tolerance: 0.05
    key_gap_tolerance: 0        # any provider missing between two months it reported in
    measures: [attendances, breaches]
```
"""


def _month_check_example() -> Issue:
    return Issue(
        "warning",
        "data",
        "data/ae_by_provider.csv",
        "source 'ae': 2018-03 looks incomplete: 1 key(s) with attendances in the months "
        "either side have none: provider_code RXX, 1.2% of the attendances total around then",
        field="attendances, breaches",
        hint="check the extract for 2018-03: rows or a part of the file left out? If the "
        "change is real, raise checks: month_change_tolerance (now 0.05) or "
        "key_gap_tolerance for source 'ae' in sources.yaml",
    )


def _slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def render_reference() -> str:
    """The whole of docs/metric-definitions.md (deterministic, for the staleness check)."""
    titles = [
        "Your own data: folders and paths",
        "Worked example: a published extract to a board metric",
        "Files",
        "Measures, one example per kind",
        "Filters are SQL",
        "Missing months, provisional months and maturity",
        "YAML traps",
        "One definition, many metrics (for_each)",
        "Data tests",
        "What the data are",
        "Validation stages",
        "Exit codes of `validate`",
        "Output formats",
        '"Did you mean" suggestions',
        "Data files",
        "Is a month complete?",
        "Reference: every field",
    ]
    contents = ["## Contents", ""]
    contents += [f"- [{title}](#{_slug(title)})" for title in titles]
    contents += [f"  - [{FILE_NAMES[n]}](#{_slug(FILE_NAMES[n])})" for n in FILE_MODELS]
    files = ["## Files", "", "| File | What it holds |", "|---|---|"]
    files += [f"| `config/{FILE_NAMES[n]}` | {FILE_PURPOSES[n]} |" for n in FILE_MODELS]
    sections = [
        INTRO,
        "\n".join(contents) + "\n",
        _own_data(),
        _worked_example(),
        "\n".join(files) + "\n",
        MEASURES,
        FILTERS,
        MISSING,
        _traps(),
        FOR_EACH,
        _data_tests(),
        STATUS,
        STAGES,
        EXIT_CODES,
        _formats(),
        _did_you_mean(),
        _data_files(),
        _month_checks(),
        "\n".join(_reference()) + "\n",
    ]
    return "\n".join(sections)


def write_reference(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_reference(), encoding="utf-8")
    return path
