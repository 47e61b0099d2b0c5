"""Typed models of the definitions an analyst edits under config/: sources (sources.yaml),
interventions (interventions.yaml) and metrics (metrics/*.yaml). The board-level files
(framework, board, disclosure, showcase) and FILE_MODELS are in
`metrics.definitions.board_files`.

The same models validate the YAML, type the catalogue the engine runs on, and generate the
JSON Schema that editors use to autocomplete (see `metrics.definitions.schema`).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[
    str,
    Field(pattern=ID_PATTERN, description="lower_snake_case identifier"),
]


def _parse_month(value: Any) -> Any:
    """Accept 2015-10, 2015-10-01 or a YAML date; always the first of the month."""
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", value.strip())
        if not match:
            raise ValueError(f"'{value}' is not a month: write it as YYYY-MM, e.g. 2015-10")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"'{value}' has month {month}: months run from 01 to 12")
        return dt.date(year, month, 1)
    raise ValueError("expected a month written as YYYY-MM, e.g. 2015-10")


Month = Annotated[
    dt.date,
    BeforeValidator(_parse_month),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "description": "YYYY-MM"}
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- sources


class ColumnType(StrEnum):
    string = "string"
    category = "category"
    date = "date"
    integer = "integer"
    number = "number"
    boolean = "boolean"


class ColumnDef(_Model):
    type: ColumnType = Field(description="How the column is read and checked.")
    description: str = Field(
        default="", description="What the column holds, for readers of the catalogue."
    )
    values: list[str] | None = Field(
        default=None, description="Allowed values (category columns); others are reported."
    )
    label: str = Field(
        default="",
        description="The column's name in board words, e.g. 'Local Care Network' for lcn "
        "(board pages show it instead of the column name).",
    )
    labels: dict[str, str] | None = Field(
        default=None,
        description="Board words for each code the column holds, e.g. {PRIVATE_SPOT: "
        "Independent sector (spot purchase)}; board pages show these instead of the codes. "
        "Once a column has labels, every one of its values needs one: a code without a "
        "label is shown as the code with a note, and `validate` warns.",
    )
    min: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Smallest allowed value (e.g. 0 for counts; integer and number columns).",
    )
    max: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Largest allowed value (integer and number columns).",
    )
    required: bool = Field(default=False, description="Blank cells are reported as errors.")
    format: str | None = Field(
        default=None,
        description="strptime format for date columns not written as YYYY-MM-DD, e.g. "
        "'%d/%m/%Y'; 'excel' reads Excel serial day numbers (45292 = 2024-01-01).",
    )


def _as_list(value: Any) -> Any:
    """A single name where a list is expected: by: provider_code means [provider_code]."""
    return [value] if isinstance(value, str) else value


NameList = Annotated[list[str], BeforeValidator(_as_list)]


class DataTest(_Model):
    """A check on the data that `validate` (and the site, on every load) runs: on a source's
    rows, or on a metric's rows (its filter applied) and monthly values."""

    test: Literal["not_null", "unique", "every_month", "accepted_values", "range"] = Field(
        description="not_null: no blank cells in `columns`; unique: no two rows share "
        "`columns`; every_month: every group of `by` (or the whole table) has rows in every "
        "month of the span; accepted_values: `column` holds only `values`; range: `column` "
        "(on a metric: its monthly value when `column` is left out) within `min` and `max`."
    )
    columns: NameList = Field(
        default_factory=list, description="Columns checked (not_null, unique)."
    )
    column: str | None = Field(default=None, description="Column checked (accepted_values, range).")
    by: NameList = Field(
        default_factory=list,
        description="every_month: the columns whose every group must have rows each month, "
        "e.g. provider_code; the table as a whole when empty.",
    )
    values: list[str] | None = Field(
        default=None, description="accepted_values: the values allowed (quote codes: '01')."
    )
    min: float | None = Field(
        default=None, allow_inf_nan=False, description="range: smallest allowed."
    )
    max: float | None = Field(
        default=None, allow_inf_nan=False, description="range: largest allowed."
    )
    level: Literal["error", "warning"] = Field(
        default="error",
        description="error: `validate` fails and a reload that fails it keeps the last good "
        "board serving; warning: reported only.",
    )

    @model_validator(mode="after")
    def _has_its_parts(self) -> DataTest:
        needs = {
            "not_null": ("columns", "columns: [provider_code, attendances]"),
            "unique": ("columns", "columns: [month, provider_code]"),
            "accepted_values": ("values", "column: provider_code, values: [RJ1, RYJ]"),
        }
        if self.test in needs:
            name, example = needs[self.test]
            if not getattr(self, name):
                raise ValueError(f"test {self.test} needs {name} (e.g. {example})")
        if self.test == "accepted_values" and not self.column:
            raise ValueError("test accepted_values needs column (e.g. column: provider_code)")
        if self.test == "range" and self.min is None and self.max is None:
            raise ValueError("test range needs min, max or both (e.g. min: 0)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be more than max")
        return self


class SourceChecks(_Model):
    """Whether each month looks complete: `validate` warns, and the Data quality page marks
    the month incomplete (docs/metric-definitions.md, "Is a month complete?")."""

    month_change: bool = Field(
        default=True, description="Compare every month with the months around it (false: off)."
    )
    month_change_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="A month's total (or row count, for a source without a key) is flagged "
        "only when it is further than this share (0.05 = 5%) from every reference: the "
        "median of the 3 months before, of the 3 months after, and the same month a year "
        "earlier scaled by the year's change.",
    )
    typical_change_multiple: float = Field(
        default=8,
        ge=0,
        le=100,
        allow_inf_nan=False,
        description="...and further than this many times the series' typical month-to-month "
        "change (the median, as a ratio), so series that always vary a lot are not flagged "
        "for their usual swings (0: the tolerance alone).",
    )
    key_gap_tolerance: float = Field(
        default=0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Monthly sources with a key (e.g. [month, provider_code]): keys with "
        "rows in the months either side but none in a month are flagged when they held "
        "more than this share of a measure's total around then (0: any such gap).",
    )
    measures: list[str] | None = Field(
        default=None,
        description="Columns whose monthly totals are compared; every integer and number "
        "column of a monthly source when omitted (none of a record source: its rows are "
        "counted).",
    )


class UnpivotDef(_Model):
    """A month-per-column sheet turned into rows: one row per id and month column."""

    id_columns: list[str] = Field(
        default_factory=list,
        description="Columns kept as they are on every row (e.g. [provider_code]), by the "
        "names columns: uses (after rename).",
    )
    name_column: str = Field(
        default="month",
        description="The new column holding each unpivoted column's header, read as a month "
        "(Apr-16, April 2016, 2016-04, 2016-04-01 ...); declare it under columns: with "
        "type: date.",
    )
    value_column: str = Field(
        description="The new column holding the cells (declare it under columns:, e.g. "
        "attendances: {type: integer, min: 0})."
    )
    ignore_columns: list[str] = Field(
        default_factory=list,
        description="Columns neither kept nor unpivoted (e.g. [Total, YTD]); every other "
        "column's header must be a month.",
    )


class SourceDef(_Model):
    id: Identifier
    title: str = Field(description="Name shown to readers, e.g. 'Referrals (record level)'.")
    description: str = Field(
        default="", description="What the source holds and where it comes from."
    )
    path: str | None = Field(
        default=None,
        description="File path, relative to data_dir (a source is a file or a table).",
    )
    table: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
        description="A table or view that already exists in the warehouse, schema.name "
        "(instead of path; the site only reads it: docs/warehouse.md).",
    )
    format: Literal["csv", "excel", "parquet"] | None = Field(
        default=None, description="Inferred from the file extension when omitted."
    )
    sheet: str | None = Field(default=None, description="Worksheet name (Excel sources).")
    header_row: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="The line (CSV) or row (Excel) holding the column names, counted as the "
        "file or Excel shows them; the lines above it (titles, notes) are skipped. Default: "
        "the first line that is not blank. Line numbers in messages stay the file's own.",
    )
    skip_rows: int | None = Field(
        default=None,
        ge=0,
        le=999,
        description="Lines (rows) at the top to skip; the header is the first non-blank line "
        "after them (skip_rows: 3 and header_row: 4 agree when line 4 is the header). Give "
        "one of the two.",
    )
    rename: dict[str, str] = Field(
        default_factory=dict,
        description="The file's column names -> the names columns: and metrics use, e.g. "
        '{"Provider Code": provider_code} (the file keeps its own names).',
    )
    unpivot: UnpivotDef | None = Field(
        default=None,
        description="Turn a month-per-column sheet into rows (see Unpivot), after rename.",
    )
    grain: Literal["record", "monthly"] = Field(
        description=(
            "record: one row per person or event (a month with no rows at all is missing); "
            "monthly: aggregated rows (a blank value is missing)."
        )
    )
    date_column: str = Field(description="The column that places a row in a month.")
    key: list[str] = Field(
        default_factory=list, description="Columns that identify a row uniquely."
    )
    columns: dict[str, ColumnDef] = Field(
        description="Every column the metrics use, by its name in the file (see Column)."
    )
    owner: str = Field(default="", description="Team or person who supplies the file.")
    refresh: str = Field(default="monthly", description="How often the source is refreshed.")
    provisional_months: int = Field(
        default=0,
        ge=0,
        le=12,
        description="The latest N months are provisional (still filling up): shown and "
        "marked, but left out of models.",
    )
    checks: SourceChecks = Field(
        default_factory=SourceChecks,
        description="How each month is checked for completeness (see Checks).",
    )
    tests: list[DataTest] = Field(
        default_factory=list,
        description="Data tests run on the source's rows when it is loaded (see Data test), "
        "e.g. [{test: every_month, by: provider_code}].",
    )

    @model_validator(mode="after")
    def _file_or_table(self) -> SourceDef:
        if (self.path is None) == (self.table is None):
            raise ValueError("a source names either a file (path) or a warehouse table (table)")
        return self

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        suffix = (self.path or "").rsplit(".", 1)[-1].lower()
        return {"xlsx": "excel", "xlsm": "excel", "parquet": "parquet", "pq": "parquet"}.get(
            suffix, "csv"
        )


class WarehouseSetting(_Model):
    url: str = Field(
        description="postgresql://user@host:port/database, spark://local, local[2] or "
        "sc://host:port. Never a password: it comes from PGPASSWORD, a .pgpass file or a "
        "secret."
    )
    schema_: str | None = Field(
        default=None,
        alias="schema",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Schema (database in Spark) that `python -m metrics warehouse load` "
        "loads files into and the site reads them from; default alliance.",
    )


class SourcesFile(_Model):
    data_dir: str = Field(
        default="../sample_data",
        description="Folder holding the source files, relative to this config folder "
        "(overridden by the ALLIANCE_DATA_DIR environment variable).",
    )
    query_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=600,
        description="A query running longer than this is cancelled and the metric it was for "
        "is named as unavailable (seconds).",
    )
    sources: list[SourceDef] = Field(description="One entry per data file (see Source).")
    warehouse: WarehouseSetting | None = Field(
        default=None,
        description="Where the queries run (omit for the embedded database; the "
        "ALLIANCE_WAREHOUSE environment variable overrides url): docs/warehouse.md.",
    )


# --------------------------------------------------------------------------- interventions


class StaggeredStart(_Model):
    """A roll-out that reached groups at different dates (a staggered start)."""

    column: str = Field(
        description="The breakdown column whose groups started at different dates, e.g. lcn "
        "(one of the studied metric's breakdowns)."
    )
    starts: dict[str, Month] = Field(
        min_length=2,
        description="Each group's first month under the change, e.g. {North: 2015-10, South "
        "West: 2016-01, South East: 2016-04}; the earliest is the intervention's start.",
    )
    phase_in_months: int = Field(
        default=0, ge=0, le=36, description="Months over which the change phases in within a group."
    )


class InterventionDef(_Model):
    id: Identifier
    title: str = Field(description="Name shown on charts and in ITS results.")
    kind: Literal["service_change", "shock", "definition_break", "relabel"] = Field(
        description="service_change: a change the alliance made (ITS estimates its effect); "
        "shock: an outside event such as COVID (modelled, not credited); definition_break: "
        "the way a figure is counted changed (flagged on data-quality pages); relabel: only "
        "a name changed (e.g. CCG to ICB), not the service or the count (recorded so a new "
        "name in the data is explained; never an SPC rebase or an ITS intervention)."
    )
    metrics: list[str] = Field(
        default_factory=list,
        description="Metric ids whose figures the change touches (definition breaks and "
        "relabels): named wherever breaks are listed.",
    )
    start: Month = Field(description="First month the change applies to (YYYY-MM).")
    end: Month | None = Field(
        default=None,
        description="Last month of a temporary shock at its full size; a shock without an "
        "end is lasting (a step that stays, phased in over phase_in_months).",
    )
    recovery_months: int = Field(
        default=0,
        ge=0,
        le=36,
        description="A temporary shock's recovery: months over which it fades linearly back "
        "to nothing after its end.",
    )
    phase_in_months: int = Field(
        default=0, ge=0, le=36, description="Months over which a change phases in (a ramp)."
    )
    description: str = Field(default="", description="What changed, in plain words.")
    source: str = Field(default="", description="Where the date comes from (citation or note).")
    staggered: StaggeredStart | None = Field(
        default=None,
        description="A roll-out that reached groups at different dates (column and each "
        "group's start): a multiple-baseline study (its: design: multiple_baseline) fits the "
        "groups together, each with its own date.",
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> InterventionDef:
        if self.end is not None and self.end < self.start:
            raise ValueError("end must not be before start")
        if self.staggered is not None and min(self.staggered.starts.values()) < self.start:
            raise ValueError("a staggered start must not be before the intervention's start")
        return self


class InterventionsFile(_Model):
    interventions: list[InterventionDef] = Field(
        description="Service changes, shocks and definition breaks (see Intervention)."
    )


# --------------------------------------------------------------------------- metrics

MEASURE_PATTERN = r"^(count|sum|mean|median|ratio|rate|p([1-9]|[1-9][0-9]))$"


class Target(_Model):
    value: float = Field(allow_inf_nan=False, description="The target, in the metric's unit.")
    from_: Month | None = Field(
        default=None, alias="from", description="Month the target applies from."
    )


class RatioPart(_Model):
    filter: str | None = Field(
        default=None, description="SQL condition, added to the metric's filter."
    )
    value: str | None = Field(
        default=None, description="Column or SQL expression to sum; rows are counted when omitted."
    )


class RateDef(_Model):
    population: str = Field(description="Source id of the population denominators.")
    value: str = Field(default="population", description="Population column to sum.")
    per: int = Field(default=100_000, gt=0, description="Rate per this many people.")
    filter: str | None = Field(default=None, description="SQL condition on the population source.")


class SPCBlock(_Model):
    chart: Literal["xmr", "laney"] = Field(
        default="xmr",
        description="xmr: the Making Data Count XmR chart (the default; read as a run chart "
        "where most moving ranges are 0); laney: Laney's p' chart (measure: ratio, a "
        "proportion) or u' chart (measure: rate), for large denominators: limits vary with "
        "each month's denominator and are widened by the variation between months.",
    )
    rebase_at: list[str] = Field(
        default_factory=list, description="Intervention ids at which SPC limits are recalculated."
    )
    fix_after_n_points: int | None = Field(
        default=None,
        ge=12,
        description="Limits from the first N points of each period (at least 12); all "
        "points when omitted.",
    )
    screen_outliers: bool = Field(
        default=True,
        description="Leave out moving ranges of 3.267 times their mean or more before "
        "computing limits (Making Data Count practice).",
    )


class ITSBlock(_Model):
    interventions: list[str] = Field(
        min_length=1, description="Intervention ids (interventions.yaml)."
    )
    shocks: list[str] = Field(
        default_factory=list, description="Shock ids modelled as their own terms."
    )
    model: Literal["ols", "poisson", "quasipoisson", "negbin", "arima", "binomial"] | None = Field(
        default=None,
        description="arima: linear with AR(1) errors (the default, except for proportions); "
        "ols: Newey-West errors; poisson, quasipoisson, negbin: count models (log link, "
        "effects as ratios); binomial: the numerator out of the denominator (logit link, "
        "quasi-binomial; the default for measure: ratio; effects in percentage points and "
        "odds ratios).",
    )
    seasonality: str = Field(
        default="auto",
        pattern=r"^(none|auto|month|fourier:[1-6])$",
        description="auto (the default: fourier:2 unless month-of-year terms fit "
        "significantly better, docs/its.md), none, month (month-of-year terms) or fourier:K "
        "(K harmonic pairs, period 12).",
    )
    offset: Literal["population"] | None = Field(
        default=None, description="Log-population offset (count models)."
    )
    hac_lags: int | None = Field(
        default=None,
        ge=0,
        le=24,
        description="Newey-West lag for model: ols; chosen from the series length when omitted.",
    )
    horizon: int = Field(default=12, ge=1, le=120, description="Months after the intervention.")
    comparison: str | None = Field(default=None, description="Metric id of a comparison series.")
    phase_in: Literal["ramp", "exclude", "none"] = Field(
        default="ramp", description="How an intervention's phase-in months are modelled."
    )
    term: Literal["auto", "level", "slope"] = Field(
        default="auto",
        description="The effect the study reports for its first intervention: level (the "
        "jump), slope (the change in trend, e.g. a programme that grows people's independence "
        "month by month) or auto (the level).",
    )
    slope: bool = Field(
        default=True,
        description="Estimate a change in trend after each intervention as well as its level "
        "change; false: steps only (for changes meant to shift the level, not the growth).",
    )
    post_months: int | None = Field(
        default=None,
        ge=3,
        le=240,
        description="A limited post window: study only the first N months after the first "
        "intervention (e.g. a programme's growth phase, before it levels off); later months "
        "are shown but not modelled.",
    )
    design: Literal["single", "multiple_baseline"] = Field(
        default="single",
        description="single: one series (the whole area); multiple_baseline: the groups of the "
        "first intervention's staggered column fitted together, each with its own start "
        "(pooled effect and each group's; needs a staggered intervention and that breakdown).",
    )


class ForEach(_Model):
    """One definition, one metric per value of a column: a provider, a team, a
    neighbourhood. Each value gets its own metric id (the definition's id, then the value:
    ae_4h_rj1), title and page, with its rows selected by `column` = value."""

    column: str = Field(
        description="The source column whose values each get their own metric, e.g. "
        "provider_code (a category, string or integer column)."
    )
    values: list[str] | None = Field(
        default=None,
        description="The values, one metric each (quote codes: ['01', '02']); leave out and "
        "write values_from: data to take every value found in the data.",
    )
    values_from: Literal["data"] | None = Field(
        default=None,
        description="data: one metric per value of `column` found in the data (read when the "
        "data are loaded; `validate --no-data` checks the definition once).",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Names shown for values, e.g. {RJ1: Guy's and St Thomas'}; the value "
        "itself when a value has none.",
    )
    labels_from: str | None = Field(
        default=None,
        description="A column of the source holding each value's name, e.g. provider_name "
        "(read with the data; `labels` wins where both name a value).",
    )

    @model_validator(mode="after")
    def _values_or_data(self) -> ForEach:
        if (self.values is None) == (self.values_from is None):
            raise ValueError(
                "for_each needs either values (a list) or values_from: data, not both"
                if self.values is not None
                else "for_each needs values: [...] or values_from: data"
            )
        if self.values is not None and not self.values:
            raise ValueError("for_each values must not be empty")
        return self


class MetricDef(_Model):
    id: Identifier
    code: str = Field(default="", description="Catalogue code, e.g. ACC02.")
    title: str = Field(description="Name shown to readers, in plain words.")
    description: str = Field(default="", description="What the metric means, in plain words.")
    domain: str = Field(description="Framework domain id (framework.yaml).")
    source: str = Field(description="Source id (sources.yaml).")
    date: str | None = Field(
        default=None, description="Date column; the source's date_column if omitted."
    )
    measure: str = Field(
        pattern=MEASURE_PATTERN,
        description="count | sum | mean | median | pNN (percentile, e.g. p90) | ratio | rate",
    )
    value: str | None = Field(default=None, description="Column or SQL expression measured.")
    filter: str | None = Field(
        default=None, description="SQL condition selecting the rows counted."
    )
    numerator: RatioPart | None = Field(
        default=None, description="measure: ratio only: what is counted or summed on top."
    )
    denominator: RatioPart | None = Field(
        default=None,
        description="measure: ratio only: what is counted or summed below (every row "
        "the filter selects when omitted).",
    )
    per: float = Field(
        default=100, gt=0, allow_inf_nan=False, description="Multiplier for ratios (100 = percent)."
    )
    rate: RateDef | None = Field(
        default=None, description="measure: rate only: the population to divide by."
    )
    unit: str = Field(description="Unit shown to readers, e.g. referrals, %, days, GBP.")
    decimals: int = Field(default=0, ge=0, le=4, description="Decimal places shown.")
    better: Literal["up", "down", "neutral"] = Field(
        description="Which direction is an improvement (colours SPC signals); neutral: neither."
    )
    breakdowns: list[str] = Field(
        default_factory=list,
        description="Category or string columns of the source the metric can be split by.",
    )
    target: Target | None = Field(
        default=None, description="A target line, used for SPC assurance."
    )
    owner: str = Field(default="", description="Team answerable for the metric.")
    status: Literal["live", "draft", "retired"] = Field(
        default="live",
        description="live: in use; draft: being written (the editor saves new metrics as "
        "drafts); retired: kept for lineage, left off the pages.",
    )
    since: Month | None = Field(default=None, description="First month reported.")
    maturity_months: int = Field(
        default=0,
        ge=0,
        le=24,
        description="Months an outcome needs before it is complete (e.g. 1 for a 4-week "
        "wait): the latest N months of data are not reported for this metric.",
    )
    caveats: str = Field(default="", description="What readers must know before using it.")
    spc: SPCBlock = Field(
        default_factory=SPCBlock, description="SPC chart settings (see SPC block)."
    )
    its: ITSBlock | None = Field(
        default=None,
        description="Interrupted time series analysis (see ITS block); none when omitted.",
    )
    for_each: ForEach | None = Field(
        default=None,
        description="One metric per value of a column (see For each): e.g. {column: "
        "provider_code, values: [RJ1, RYJ]}; write {label} or {value} in the title to place "
        "the name (else ': name' is added).",
    )
    tests: list[DataTest] = Field(
        default_factory=list,
        description="Data tests on the metric's rows (its filter applied) and monthly values "
        "(see Data test), e.g. [{test: range, min: 0, max: 100}].",
    )

    @property
    def is_money(self) -> bool:
        return self.unit.upper() in {"GBP", "£"}

    @property
    def percentile(self) -> int | None:
        return int(self.measure[1:]) if re.fullmatch(r"p\d+", self.measure) else None


class MetricsFile(_Model):
    metrics: list[MetricDef] = Field(description="One entry per metric (see Metric).")
