"""Loader options of sources.yaml: where the header is, column renames, and the unpivot
of month-per-column sheets (issue 15, "sources as analysts get them").

The warehouse (metrics.sql.warehouse) reads a file into a raw table of text cells, each row
carrying its line in the file; these functions say what to do with that table, and what
is wrong, without running anything themselves:

- `header_problem` words a header that is not where ``header_row`` / ``skip_rows`` say;
- `plan_rename` checks ``rename`` against the file's header and gives the statements that
  rename the raw table's columns;
- `plan_unpivot` checks ``unpivot`` against the header (every spread column's header must
  be a month, one column per month) and gives the query making one row per id and month.

Statements are sqlglot trees with every name quoted, so a column called ``Apr-16`` or
``Provider "Code"`` is a name, never SQL. Each mistake is one `Problem`, with the line
(row) of the header and a fix; a follow-on of a problem already reported is not another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from metrics.definitions.issues import closest, did_you_mean
from metrics.definitions.models import UnpivotDef
from metrics.files import month_of_header

HEADER_HINT = (
    "set header_row (or skip_rows) in sources.yaml to the line (an Excel sheet: the row) "
    "holding the column names"
)
CELL_COLUMN = "__alliance_cell"  # after an unpivot: the header of each cell's column


@dataclass(frozen=True)
class Problem:
    """One mistake: the message, the line (row) it is on, the column and the fix."""

    message: str
    line: int = 0
    column: str = ""
    hint: str = ""


def header_problem(header_row: int | None, skip_rows: int, line: int, *, ended: bool) -> str:
    """Why no header was found where sources.yaml says. `ended`: the file ends at `line`
    before the header; else `line` is where the record read at the header row starts
    (the header row itself when it is blank, or earlier when a quoted value spans it)."""
    if ended:
        said = (
            f"line {header_row} (header_row)"
            if header_row is not None
            else f"line {skip_rows + 1} or after (skip_rows: {skip_rows})"
        )
        return f"no header: the file ends at line {line}, and the header is said to be {said}"
    if line == header_row:
        return f"line {header_row} (header_row) is blank: no column names there"
    return (
        f"line {header_row} (header_row) is inside a value in quotes that spans several "
        "lines: no column names there"
    )


def _identifier(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _column(name: str) -> exp.Column:
    return exp.column(_identifier(name))


def _table(name: str) -> exp.Table:
    return exp.table_(_identifier(name))


# --------------------------------------------------------------------------- rename


@dataclass
class RenamePlan:
    header: list[str]  # the header after renaming
    renamed: dict[str, str] = field(default_factory=dict)  # name used -> the file's own
    missing: set[str] = field(default_factory=set)  # names whose file column is not there
    problems: list[Problem] = field(default_factory=list)
    statements: list[exp.Expression] = field(default_factory=list)


def plan_rename(
    rename: Mapping[str, str], header: Sequence[str], table: str, header_line: int
) -> RenamePlan:
    """Check `rename` (the file's name -> the name used) against `header` and give the
    ALTER TABLE statements renaming `table`'s columns. A rename of a column the file lacks
    is a problem (with "did you mean"), unless the file already uses the new name."""
    plan = RenamePlan(list(header))
    for own, used in rename.items():
        if own == used or (own not in plan.header and used in plan.header):
            continue  # nothing to rename: the file already uses the name
        if own not in plan.header:
            plan.missing.add(used)
            plan.problems.append(
                Problem(
                    f"rename: the file has no column '{own}' (it has: "
                    f"{', '.join(plan.header) or 'no columns'})",
                    header_line,
                    own,
                    did_you_mean(own, plan.header)
                    or "rename maps the file's own column names to the names under columns:",
                )
            )
        elif used in plan.header:
            plan.problems.append(
                Problem(
                    f"rename: '{own}' would become '{used}', but the file already has a "
                    f"column '{used}'",
                    header_line,
                    own,
                    "rename one of the two, or leave this rename out",
                )
            )
        else:
            plan.statements.append(
                exp.Alter(
                    this=_table(table),
                    kind="TABLE",
                    actions=[exp.RenameColumn(this=_column(own), to=_column(used))],
                )
            )
            plan.header[plan.header.index(own)] = used
            plan.renamed[used] = own
    return plan


# --------------------------------------------------------------------------- unpivot


@dataclass
class UnpivotPlan:
    header: list[str]  # the columns after the unpivot (the line column aside)
    problems: list[Problem] = field(default_factory=list)
    query: exp.Select | None = None  # None when there are problems


def plan_unpivot(
    spec: UnpivotDef,
    header: Sequence[str],
    table: str,
    *,
    header_line: int,
    line_word: str,
    line_column: str,
) -> UnpivotPlan:
    """Check `spec` against the (renamed) `header` and give the query turning `table`'s
    month columns into rows: `line_column`, the id columns, CELL_COLUMN (the header the
    cell was under), spec.name_column (its month, a DATE) and spec.value_column (the cell,
    as text; a blank cell stays, as missing). An ignored column the file does not have is
    fine (a Total column comes and goes); an id column it lacks is not."""
    plan = UnpivotPlan([*spec.id_columns, spec.name_column, spec.value_column])
    where = f"{line_word} {header_line}"

    def problem(message: str, column: str = "", hint: str = "") -> None:
        plan.problems.append(Problem(message, header_line, column, hint))

    meant: set[str] = set()  # the file's columns a missing id column probably names
    for name in spec.id_columns:
        if name in header:
            continue
        near = closest(name, [h for h in header if h not in spec.id_columns])
        meant.update([near] if near else [])
        problem(
            f"unpivot: the file has no column '{name}' (its header, {where}, has: "
            f"{', '.join(header) or 'no columns'})",
            name,
            f"did you mean '{near}'?"
            if near
            else "id_columns name the file's columns (after rename), kept on every row",
        )
    for role, name in (("name_column", spec.name_column), ("value_column", spec.value_column)):
        if name in header and name not in spec.id_columns:
            problem(
                f"unpivot: {role} '{name}' is already a column of the file; it names the new "
                "column the unpivot makes",
                name,
                f"choose another name for {role}, or leave unpivot out if the file is "
                "already one row per month",
            )
    kept = {*spec.id_columns, *spec.ignore_columns, *meant}
    spread = [h for h in header if h not in kept and h not in (spec.name_column, spec.value_column)]
    months = {h: month_of_header(h) for h in spread}
    not_months = [h for h, m in months.items() if m is None]
    if not_months:
        shown = ", ".join(f"'{h}'" for h in not_months[:5])
        more = f" and {len(not_months) - 5} more" if len(not_months) > 5 else ""
        typo = did_you_mean(not_months[0], spec.ignore_columns)
        problem(
            f"unpivot: column header(s) {shown}{more} ({where}) are not months, so the "
            "columns cannot be unpivoted",
            not_months[0],
            (f"{typo} (under unpivot.ignore_columns); " if typo else "")
            + "headers such as Apr-16, April 2016, 2016-04 or 2016-04-01 are months; list "
            "other columns under unpivot.id_columns (kept on every row) or "
            "unpivot.ignore_columns (left out)",
        )
    by_month: dict[dt.date, list[str]] = {}
    for h, m in months.items():
        if m is not None:
            by_month.setdefault(m, []).append(h)
    for month, headers in by_month.items():
        if len(headers) > 1:
            problem(
                f"unpivot: columns {' and '.join(repr(h) for h in headers)} are both "
                f"{month:%B %Y} ({where})",
                headers[1],
                "each month needs one column; drop the copy or list it under "
                "unpivot.ignore_columns",
            )
    if not plan.problems and not by_month:
        problem(
            f"unpivot: no month columns to unpivot: every column of the header ({where}) is "
            "an id or ignored column",
            hint="the month columns are the ones not listed under id_columns or ignore_columns",
        )
    if plan.problems:
        return plan
    plan.query = _unpivot_query(spec, table, line_column, {h: m for h, m in months.items() if m})
    return plan


def _unpivot_query(
    spec: UnpivotDef, table: str, line_column: str, months: Mapping[str, dt.date]
) -> exp.Select:
    """SELECT line, ids..., cell, CASE cell WHEN header THEN DATE month ... END AS name,
    value FROM (SELECT line, ids..., CAST(month column AS VARCHAR) ... FROM table)
    UNPIVOT INCLUDE NULLS (value FOR cell IN (month columns)) ORDER BY line, name."""
    ids = [_column(n) for n in spec.id_columns]
    as_text = [
        exp.alias_(exp.cast(_column(h), exp.DataType.build("VARCHAR")), _identifier(h))
        for h in months
    ]
    wide = (
        exp.select(_column(line_column), *ids, *as_text)
        .from_(_table(table))
        .subquery(_identifier("wide"))
    )
    wide.set(
        "pivots",
        [
            exp.Pivot(
                unpivot=True,
                include_nulls=True,
                expressions=[_identifier(spec.value_column)],
                fields=[
                    exp.In(
                        this=_identifier(CELL_COLUMN),
                        expressions=[_column(h) for h in months],
                    )
                ],
            )
        ],
    )
    month_of = exp.Case(
        this=_column(CELL_COLUMN),
        ifs=[
            exp.If(
                this=exp.Literal.string(h), true=exp.cast(exp.Literal.string(m.isoformat()), "DATE")
            )
            for h, m in months.items()
        ],
    )
    return (
        exp.select(
            _column(line_column),
            *ids,
            _column(CELL_COLUMN),
            exp.alias_(month_of, _identifier(spec.name_column)),
            _column(spec.value_column),
        )
        .from_(wide)
        .order_by(_column(line_column), _column(spec.name_column))
    )
