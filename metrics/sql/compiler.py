"""Metric definitions compiled to queries as sqlglot expression trees.

Every query the engine runs about a metric is built here, node by node: analyst-written
fragments enter only as checked trees (metrics.sql.fragments), identifiers are quoted
nodes and values are literal nodes, so no text from configuration or from a reader is
ever spliced into SQL. A tree is emitted in the backend's dialect when it runs.

The queries push the work down and bring back little: one row per month and group with
the aggregates a measure needs (sums, counts, a percentile). Filling the calendar, marking
months the source does not cover as missing, and dividing numerators by denominators is
done on those few rows by the series module, identically for every backend.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from metrics.definitions.catalogue import fragment_texts
from metrics.definitions.models import MetricDef, SourceDef
from metrics.sql.fragments import Fragment, parse_fragment

MONTH = "__month"
GROUP = "__grp"
NOT_RECORDED = "Not recorded"  # label for a blank breakdown value


def table_name(source_id: str) -> str:
    """The table holding a loaded source."""
    return f"src_{source_id}"


def covered_table_name(source_id: str) -> str:
    """The months in which a record-level source has any row (one column, __month)."""
    return f"cov_{source_id}"


@functools.lru_cache(maxsize=256)
def _parsed_template(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def template(sql: str, **nodes: exp.Expression) -> exp.Query:
    """A query from a constant SQL template with ``$name`` placeholders, each replaced by
    an expression node (a `column`, `table` or `literal`, or a checked fragment's tree).

    The template is the module's own fixed text, parsed once: values never enter it as
    text, so nothing a definition or a reader supplies can change the query's shape.
    Write templates portably (no GROUP BY ALL, no FILTER clauses, no DuckDB-only
    functions): the tree is emitted in each backend's dialect.
    """
    tree = _parsed_template(sql).copy()
    missing = {p.name for p in tree.find_all(exp.Placeholder)} - set(nodes)
    if missing:
        raise ValueError(f"template placeholders without a value: {sorted(missing)}")

    def fill(node: exp.Expression) -> exp.Expression:
        # `FROM $name` parses as a table whose name is the placeholder: put the table (or a
        # subquery) there itself, keeping any alias the template gives it.
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Placeholder):
            value = nodes[node.this.name].copy()
            alias = node.args.get("alias")
            if isinstance(value, exp.Query):
                return exp.Subquery(this=value, alias=alias)
            if alias is not None:
                value.set("alias", alias)
            return value
        if isinstance(node, exp.Placeholder) and node.name in nodes:
            return nodes[node.name].copy()  # one node per place it is used
        return node

    filled = tree.transform(fill, copy=False)
    assert isinstance(filled, exp.Query)
    return filled


def emit(
    query: exp.Expression,
    dialect: str,
    *,
    tables: Mapping[str, exp.Table] | None = None,
    pretty: bool = False,
) -> str:
    """A query tree as SQL text in `dialect`, for the backend that runs it.

    `tables` maps the names the compiler uses (``src_<id>``, ``cov_<id>``) to where the
    warehouse keeps them (a schema-qualified table or view); the few functions whose names
    differ between engines are written the target's way (PostgreSQL has no DAY_OF_MONTH,
    Spark's exact percentile is percentile(x, q), T-SQL's day of month is DAY(x))."""
    tree = query.copy()
    if tables:

        def place(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Table) and not node.args.get("db"):
                target = tables.get(node.name)
                if target is not None:
                    placed = target.copy()
                    if node.args.get("alias") is not None:
                        placed.set("alias", node.args["alias"])
                    return placed
            return node

        tree = tree.transform(place, copy=False)
    tree = tree.transform(functools.partial(_portable, dialect=dialect), copy=False)
    return tree.sql(dialect=dialect, pretty=pretty, comments=False)


def _portable(node: exp.Expression, *, dialect: str) -> exp.Expression:
    if isinstance(node, exp.DayOfMonth):
        if dialect == "postgres":
            return exp.Extract(this=exp.Var(this="DAY"), expression=node.this)
        if dialect == "tsql":
            return exp.Day(this=node.this)
    if isinstance(node, exp.PercentileCont) and dialect == "spark":
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    return node


def physical_table(name: str, schema: str | None = None) -> exp.Table:
    """A table where the warehouse keeps it: `schema.name` (quoted parts), or `name`."""
    return exp.Table(
        this=exp.to_identifier(name, quoted=True),
        db=exp.to_identifier(schema, quoted=True) if schema else None,
    )


def column(name: str) -> exp.Column:
    """A quoted column reference (names come from configuration)."""
    return exp.column(name, quoted=True)


def table(name: str) -> exp.Table:
    """A quoted table reference."""
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def literal(value: object) -> exp.Expression:
    """A value as a literal node (dates as DATE literals)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def month_of(expression: exp.Expression) -> exp.Expression:
    """The first day of the month of a date, as a DATE."""
    return exp.cast(
        exp.TimestampTrunc(this=expression, unit=exp.Var(this="MONTH")), exp.DataType.Type.DATE
    )


def group_label(name: str) -> exp.Expression:
    """A breakdown column as text, with blanks labelled "Not recorded"."""
    return exp.Coalesce(
        this=exp.cast(column(name), exp.DataType.Type.VARCHAR),
        expressions=[literal(NOT_RECORDED)],
    )


def all_of(conditions: list[exp.Expression]) -> exp.Expression:
    if not conditions:
        return exp.true()
    return exp.and_(*(exp.paren(c, copy=False) for c in conditions), copy=False)


def count_where(condition: exp.Expression | None) -> exp.Expression:
    """count(*), or the number of rows meeting `condition` (portable: no FILTER clause)."""
    if condition is None:
        return exp.Count(this=exp.Star())
    return exp.Count(this=exp.Case(ifs=[exp.If(this=condition, true=literal(1))]))


def sum_where(value: exp.Expression, condition: exp.Expression | None) -> exp.Expression:
    """sum(value), over the rows meeting `condition` only (NULL when none do)."""
    if condition is None:
        return exp.Sum(this=value)
    return exp.Sum(this=exp.Case(ifs=[exp.If(this=condition, true=value)]))


@dataclass(frozen=True)
class MetricFragments:
    """A metric's checked fragments, by where they are written."""

    filter: Fragment | None = None
    value: Fragment | None = None
    numerator_filter: Fragment | None = None
    numerator_value: Fragment | None = None
    denominator_filter: Fragment | None = None
    denominator_value: Fragment | None = None
    rate_filter: Fragment | None = None
    rate_value: Fragment | None = None


# Where each fragment is written in a metric definition (field path, attribute).
FRAGMENT_FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("filter",), "filter"),
    (("value",), "value"),
    (("numerator", "filter"), "numerator_filter"),
    (("numerator", "value"), "numerator_value"),
    (("denominator", "filter"), "denominator_filter"),
    (("denominator", "value"), "denominator_value"),
    (("rate", "filter"), "rate_filter"),
    (("rate", "value"), "rate_value"),
)


def fragment_columns(
    metric: MetricDef, sources: Mapping[str, SourceDef], path: tuple[str, ...]
) -> list[str]:
    """The columns a fragment at `path` may read: the population source's for the rate's
    parts, the metric's source's for everything else."""
    if path[0] == "rate" and metric.rate is not None:
        return list(sources[metric.rate.population].columns)
    return list(sources[metric.source].columns)


def metric_fragments(metric: MetricDef, sources: Mapping[str, SourceDef]) -> MetricFragments:
    """Parse and check every fragment of `metric` (raises FragmentError on the first bad one;
    validation reports each with its field)."""
    parsed: dict[str, Fragment | None] = {}
    texts = fragment_texts(metric)
    for path, attribute in FRAGMENT_FIELDS:
        text = texts[path]
        parsed[attribute] = (
            None if text is None else parse_fragment(text, fragment_columns(metric, sources, path))
        )
    return MetricFragments(**parsed)


def for_each_condition(metric: MetricDef, source: SourceDef) -> exp.Expression | None:
    """The rows of one value of a parameterised metric (`for_each`): `column = value`, or
    `column IN (...)` for a definition not yet expanded; None for other metrics. Values
    are literal nodes (integers for an integer column), never text in the SQL."""
    each = metric.for_each
    if each is None or not each.values:
        return None
    declared = source.columns.get(each.column)
    if declared is None:
        return None  # an unknown column: reported by validation, never served
    whole = declared.type.value == "integer"

    def value(text: str) -> exp.Expression:
        if whole:
            try:
                return literal(int(text))
            except ValueError:
                pass
        return literal(text)

    if len(each.values) == 1:
        return exp.EQ(this=column(each.column), expression=value(each.values[0]))
    return exp.In(this=column(each.column), expressions=[value(v) for v in each.values])


@dataclass(frozen=True)
class SeriesPlan:
    """The queries behind one metric series, and how to read their rows."""

    aggregate: exp.Select  # __month, [__grp], aggregates by measure
    population: exp.Select | None  # __year, __grp, __population (rates only)
    covered: exp.Select | None  # __month: months the source covers (record-level sources)
    monthly: bool  # the source has one row per month and measure
    notes: tuple[str, ...] = ()


def series_plan(
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    *,
    breakdown: str | None = None,
    start: dt.date | None = None,
    end_exclusive: dt.date | None = None,
    lcn: str | None = None,
    lcn_column: str = "lcn",
    lcn_recorded: bool = True,
    covered_table: str | None = None,
) -> SeriesPlan:
    """The aggregate (and population, and covered-months) queries of a metric series.

    `start` and `end_exclusive` bound the period by the metric's date; `covered_table`
    names a table of the months a record-level source covers, made at load time (None:
    derive them from the source in the query)."""
    source = sources[metric.source]
    fragments = metric_fragments(metric, sources)
    date = column(metric.date or source.date_column)
    notes: list[str] = []

    period: list[exp.Expression] = [exp.Not(this=exp.Is(this=date.copy(), expression=exp.null()))]
    if start is not None:
        period.append(exp.GTE(this=date.copy(), expression=literal(start)))
    if end_exclusive is not None:
        period.append(exp.LT(this=date.copy(), expression=literal(end_exclusive)))

    rows: list[exp.Expression] = list(period)
    if fragments.filter is not None:
        rows.append(fragments.filter.tree.copy())
    one_of = for_each_condition(metric, source)
    if one_of is not None:
        rows.append(one_of)
    lcn_condition: exp.Expression | None = None
    if lcn:
        if lcn_column in source.columns and lcn_recorded:
            lcn_condition = exp.EQ(this=column(lcn_column), expression=literal(lcn))
            rows.append(lcn_condition)
        else:
            notes.append(
                f"{source.title} is not recorded by neighbourhood: figures are for the whole area."
            )

    month = month_of(date.copy())
    keys: list[exp.Expression] = [month]
    selects: list[exp.Expression] = [exp.alias_(month.copy(), MONTH, quoted=True)]
    if breakdown:
        grp = group_label(breakdown)
        keys.append(grp)
        selects.append(exp.alias_(grp.copy(), GROUP, quoted=True))
    selects += [
        exp.alias_(aggregate, name, quoted=True)
        for name, aggregate in _aggregates(metric, fragments)
    ]
    # Rows behind each month's figure: with n (values present) it tells how complete a
    # provisional month's statistic is ("444 of 778 recorded").
    selects.append(exp.alias_(count_where(None), "__rows", quoted=True))
    aggregate_query = (
        exp.select(*selects, copy=False)
        .from_(table(table_name(source.id)), copy=False)
        .where(all_of(rows), copy=False)
        .group_by(*(k.copy() for k in keys), copy=False)
    )

    population_query = None
    if metric.measure == "rate":
        assert metric.rate is not None
        population_query = population_plan(
            metric,
            sources,
            breakdown=breakdown,
            lcn=lcn if lcn_condition is not None else None,
            lcn_column=lcn_column,
        )

    covered_query = None
    if source.grain != "monthly":
        if covered_table is not None:
            covered_query = exp.select(column(MONTH)).from_(table(covered_table))
        else:
            covered_query = (
                exp.select(exp.alias_(month_of(date.copy()), MONTH, quoted=True))
                .distinct()
                .from_(table(table_name(source.id)))
                .where(all_of([p.copy() for p in period]))
            )
    return SeriesPlan(
        aggregate=aggregate_query,
        population=population_query,
        covered=covered_query,
        monthly=source.grain == "monthly",
        notes=tuple(notes),
    )


def population_plan(
    metric: MetricDef,
    sources: Mapping[str, SourceDef],
    *,
    breakdown: str | None = None,
    lcn: str | None = None,
    lcn_column: str = "lcn",
) -> exp.Select:
    """Population of a rate metric's denominator by year (and group): __year, __grp,
    __population. `lcn` is applied only when the population records neighbourhoods."""
    assert metric.rate is not None
    population = sources[metric.rate.population]
    fragments = metric_fragments(metric, sources)
    conditions: list[exp.Expression] = []
    if fragments.rate_filter is not None:
        conditions.append(fragments.rate_filter.tree.copy())
    if lcn and lcn_column in population.columns:
        conditions.append(exp.EQ(this=column(lcn_column), expression=literal(lcn)))
    year = column(population.date_column)
    keys: list[exp.Expression] = [year]
    selects: list[exp.Expression] = [exp.alias_(year.copy(), "__year", quoted=True)]
    if breakdown:
        grp = group_label(breakdown)
        keys.append(grp)
        selects.append(exp.alias_(grp.copy(), GROUP, quoted=True))
    assert fragments.rate_value is not None
    selects.append(
        exp.alias_(exp.Sum(this=fragments.rate_value.tree.copy()), "__population", quoted=True)
    )
    return (
        exp.select(*selects, copy=False)
        .from_(table(table_name(population.id)), copy=False)
        .where(all_of(conditions), copy=False)
        .group_by(*(k.copy() for k in keys), copy=False)
    )


def _aggregates(metric: MetricDef, fragments: MetricFragments) -> list[tuple[str, exp.Expression]]:
    """(name, aggregate) pairs for the measure: __num, __den, __missing, __n, __stat."""
    measure = metric.measure
    value = fragments.value.tree if fragments.value is not None else None

    if measure == "count":
        return [("__num", count_where(None))]

    if measure in {"sum", "rate"}:
        if value is None:
            return [
                ("__num", count_where(None)),
                ("__missing", literal(0)),
                ("__n", count_where(None)),
            ]
        return [
            ("__num", exp.Sum(this=value.copy())),
            ("__missing", count_where(exp.Is(this=value.copy(), expression=exp.null()))),
            ("__n", exp.Count(this=value.copy())),
        ]

    if measure in {"mean", "median"} or metric.percentile is not None:
        assert value is not None
        if measure == "mean":
            statistic: exp.Expression = exp.Avg(this=value.copy())
        else:
            quantile = 0.5 if measure == "median" else (metric.percentile or 50) / 100
            statistic = exp.PercentileCont(
                this=value.copy(), expression=exp.Literal.number(quantile)
            )
        return [("__stat", statistic), ("__n", exp.Count(this=value.copy()))]

    if measure == "ratio":
        numerator_where = (
            fragments.numerator_filter.tree if fragments.numerator_filter is not None else None
        )
        denominator_where = (
            fragments.denominator_filter.tree if fragments.denominator_filter is not None else None
        )

        def part(
            where: exp.Expression | None, summed: Fragment | None
        ) -> tuple[exp.Expression, exp.Expression]:
            condition = where.copy() if where is not None else None
            if summed is None:
                return count_where(condition), literal(0)
            missing: exp.Expression = exp.Is(this=summed.tree.copy(), expression=exp.null())
            if where is not None:
                missing = exp.and_(exp.paren(missing), exp.paren(where.copy()), copy=False)
            return sum_where(summed.tree.copy(), condition), count_where(missing)

        num, num_missing = part(numerator_where, fragments.numerator_value)
        den, den_missing = part(denominator_where, fragments.denominator_value)
        return [
            ("__num", num),
            ("__den", den),
            ("__missing", exp.Add(this=num_missing, expression=den_missing)),
        ]

    raise ValueError(f"unknown measure '{measure}'")


# The aggregates a metric's series uses, each over one value: these can be narrowed to a
# query's own rows by nulling the value elsewhere (they all skip NULLs).
_NARROWABLE = (exp.Count, exp.Sum, exp.Avg, exp.PercentileCont)


def scan_key(query: exp.Select) -> str:
    """What a series query reads and how it groups: queries with the same key can share
    one scan (shared_scan)."""
    grouping = query.args.get("group")
    keys = grouping.expressions if grouping is not None else []
    return " | ".join([query.args["from_"].sql(), *(k.sql() for k in keys)])


def shared_scan(queries: list[exp.Select]) -> exp.Select | None:
    """Aggregate queries over the same table with the same grouping (series_plan's, with
    the same scan_key) as one query that reads the table once.

    Each query's aggregates keep their meaning over its own rows: the value each aggregates
    is NULL outside its WHERE (CASE WHEN, portable, as count_where), and every aggregate
    used skips NULLs. Its columns are named "__q{i}" + the original name; a group where
    query i has no rows has its "__q{i}__rows" 0 (that query would have had no such
    group). None when a query aggregates in a way this cannot narrow."""
    first = queries[0]
    keys = [s for s in first.expressions if s.alias in (MONTH, GROUP)]
    selects: list[exp.Expression] = [k.copy() for k in keys]
    conditions: list[exp.Expression] = []
    for index, query in enumerate(queries):
        if scan_key(query) != scan_key(first):
            return None
        where = query.args.get("where")
        condition = where.this if where is not None else exp.true()
        conditions.append(exp.paren(condition.copy(), copy=False))
        for select in query.expressions:
            if select.alias in (MONTH, GROUP):
                continue
            narrowed = _narrowed(select.this, condition)
            if narrowed is None:
                return None
            selects.append(exp.alias_(narrowed, f"__q{index}{select.alias}", quoted=True))
    grouping = first.args.get("group")
    combined = exp.select(*selects, copy=False).from_(first.args["from_"].this.copy(), copy=False)
    combined = combined.where(exp.or_(*conditions, copy=False), copy=False)
    if grouping is not None:
        combined = combined.group_by(*(k.copy() for k in grouping.expressions), copy=False)
    return combined


def _narrowed(aggregate: exp.Expression, condition: exp.Expression) -> exp.Expression | None:
    """`aggregate` computed over the rows meeting `condition` only (None if it holds an
    aggregate that cannot be narrowed so)."""
    tree = aggregate.copy()
    outermost = [
        node
        for node in tree.find_all(exp.AggFunc)
        if not any(isinstance(a, exp.AggFunc) for a in _ancestors(node))
    ]
    for node in outermost:
        value = node.this
        if not isinstance(node, _NARROWABLE) or isinstance(value, exp.Distinct) or value is None:
            return None
        kept = literal(1) if isinstance(value, exp.Star) else value.copy()
        node.set("this", exp.Case(ifs=[exp.If(this=condition.copy(), true=kept)]))
    return tree


def _ancestors(node: exp.Expression) -> Iterator[exp.Expression]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def neighbourhood_probe(
    metric: MetricDef, sources: Mapping[str, SourceDef], lcn_column: str
) -> exp.Select:
    """One row if any of the metric's rows records a neighbourhood (else none)."""
    source = sources[metric.source]
    fragments = metric_fragments(metric, sources)
    conditions: list[exp.Expression] = []
    if fragments.filter is not None:
        conditions.append(fragments.filter.tree.copy())
    one_of = for_each_condition(metric, source)
    if one_of is not None:
        conditions.append(one_of)
    conditions.append(exp.Not(this=exp.Is(this=column(lcn_column), expression=exp.null())))
    return (
        exp.select(exp.alias_(literal(1), "found", quoted=True))
        .from_(table(table_name(source.id)))
        .where(all_of(conditions))
        .limit(1)
    )
