"""Board words for codes: the labels sources.yaml gives a column's codes (`labels:`) and
the column itself (`label:`). Board pages show these; analyst pages keep the ids.

A column with labels that lacks one for a code shows the code with a note that its label
is missing (and `validate` warns); a column without labels holds words already (North,
Female), shown as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from metrics.definitions.catalogue import MISSING_NOTE, Catalogue


def code_labels(catalogue: Catalogue, column: str) -> dict[str, str] | None:
    """Every label given for `column`'s codes, across the sources that have the column
    (None when no source labels it)."""
    found: dict[str, str] | None = None
    for source in catalogue.sources.values():
        definition = source.columns.get(column)
        if definition is not None and definition.labels is not None:
            found = {**(found or {}), **definition.labels}
    return found


def code_label(catalogue: Catalogue, column: str, code: object) -> str:
    """The board's words for `code` in `column`: its label, the code itself where the
    column has no labels, or the code with a note where its label is missing."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "not recorded"
    text = str(code)
    labels = code_labels(catalogue, column)
    if labels is None:
        return text
    if text in labels:
        return labels[text]
    return f"{text} ({MISSING_NOTE})"


def code_list_label(catalogue: Catalogue, column: str, codes: str, sep: str = ", ") -> str:
    """A list of codes written as one string ('LBL_ASC, SLAM') in board words."""
    parts = [part.strip() for part in str(codes).split(sep.strip()) if part.strip()]
    return sep.join(code_label(catalogue, column, part) for part in parts)


def column_label(catalogue: Catalogue, column: str) -> str:
    """The column's name in board words: its `label:`, or the name with spaces for
    underscores (age_band: 'age band')."""
    for source in catalogue.sources.values():
        definition = source.columns.get(column)
        if definition is not None and definition.label:
            return definition.label
    return column.replace("_", " ")


def label_values(catalogue: Catalogue, column: str, values: Iterable[object]) -> list[str]:
    """Labels for a sequence of codes, in order."""
    return [code_label(catalogue, column, value) for value in values]


def place_words(catalogue: Catalogue, lcn: str | None = None) -> str:
    """Where a chart's figures are from, for its title: the neighbourhood chosen, or the
    area the board covers (board.yaml area)."""
    if lcn:
        return f"{lcn} ({column_label(catalogue, catalogue.board.lcn_column)})"
    return catalogue.board.area or "the whole alliance"


def chart_title(what: str, catalogue: Catalogue, lcn: str | None = None, when: str = "") -> str:
    """A chart title that says what and where (and when, if given): 'Acute admissions,
    Lambeth, Apr 2019 to Jan 2025'."""
    return ", ".join(part for part in (what, place_words(catalogue, lcn), when) if part)


def measure_key_label(catalogue: Catalogue, key: str) -> str:
    """A revisions measure ('activity:bed_days_acute') in board words ('Bed days, acute'):
    its label in sources.yaml, else its source's title and the measure ('all measures'
    as it is)."""
    source_id, sep, measure = str(key).partition(":")
    if not sep:
        return str(key)
    label = (code_labels(catalogue, "measure") or {}).get(measure)
    if label:
        return label
    source = catalogue.sources.get(source_id)
    return f"{source.title if source else source_id}: {measure.replace('_', ' ')}"
