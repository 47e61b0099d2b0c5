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

from metrics import month_checks, warehouse
from metrics.definitions.issues import Issue, closest, did_you_mean, issues_to_json
from metrics.definitions.models import FILE_MODELS, ID_PATTERN, MEASURE_PATTERN

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "metric-definitions.md"

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

<!-- Generated by `python -m metrics docs` from metrics/definitions/models.py and
     metrics/definitions/docs.py. Do not edit by hand: change the models or the
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

A metric with an error is not served; every other metric still is. On the site, a broken
edit never takes the board down: the last good configuration keeps serving and the
problems are listed for analysts.
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
1 error(s), 0 warning(s); 23 metric(s) valid in config
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
        "Files",
        "Measures, one example per kind",
        "Filters are SQL",
        "Missing months, provisional months and maturity",
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
        "\n".join(files) + "\n",
        MEASURES,
        FILTERS,
        MISSING,
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
