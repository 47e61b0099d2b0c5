"""Any table as a file: CSV (UTF-8 with a byte-order mark, so Excel reads accents) or an
Excel workbook. Used by the download buttons under every table on the site and by
`python -m metrics show --csv`. The table given is the one shown (disclosure-controlled
where the page controls it): nothing here sees exact figures a reader may not."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import pandas as pd

# Columns that only make sense on screen (icons drawn from data URIs or the site's icon
# route, sparkline lists).
_SCREEN_ONLY = re.compile(r"^(data:image/|spc-icons/)")


# A text cell a spreadsheet would read as a formula: one starting with = or @ (or a tab or
# carriage return), or with + or - followed by anything but a figure and words ("-4.9
# points" and "+65" are figures; "-2+3+cmd|..." is a formula).
_FORMULA = re.compile(r"^(?:[=@\t\r]|[+-](?!$|[\d.,]+(?:%|\s[\w %.,()]*)?$))")


def formula_safe(value: object) -> object:
    """A text cell as text in a spreadsheet: one that Excel or LibreOffice would run as a
    formula (a metric title or a group name from someone's data) is led by an apostrophe,
    the usual guard against formula injection; anything else is left as it is."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without what only a screen can show: icon images (their words are in
    another column) and list-valued cells (sparklines) become plain text; and no text cell
    can run as a formula in a spreadsheet (formula_safe)."""
    out = frame.copy()
    for column in list(out.columns):
        values = out[column]
        if values.map(lambda v: isinstance(v, str) and bool(_SCREEN_ONLY.match(v))).any():
            out = out.drop(columns=column)
        elif values.map(lambda v: isinstance(v, list | tuple)).any():
            out[column] = values.map(
                lambda v: ", ".join(f"{x:g}" for x in v) if isinstance(v, list | tuple) else v
            )
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = values.map(formula_safe)
    out.columns = [formula_safe(c) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as CSV, UTF-8 with a byte-order mark (Excel opens it with accents)."""
    return for_file(frame).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "Table") -> bytes:
    """The table as an Excel workbook with one sheet (dates as dates, numbers as numbers)."""
    return workbook_bytes({sheet: frame})


def workbook_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """Tables as one Excel workbook, a sheet each, in the order given (names made safe for
    Excel: at most 31 characters, none of []:*?/\\, each different)."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            table = for_file(frame)
            for column in table.columns:
                if isinstance(table[column].dtype, pd.DatetimeTZDtype):
                    table[column] = table[column].dt.tz_localize(None)
            table.to_excel(writer, index=False, sheet_name=_sheet_name(name, used))
    return buffer.getvalue()


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Table"
    candidate, number = base, 2
    while candidate.lower() in used:  # Excel compares sheet names without case
        suffix = f" ({number})"
        candidate, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


def combined_csv_bytes(tables: Mapping[str, pd.DataFrame], label: str) -> bytes:
    """Tables as one CSV, each row led by the name of the table it came from (`label` is
    that column's heading)."""
    frames = [for_file(frame).assign(**{label: name}) for name, frame in tables.items()]
    if not frames:
        return csv_bytes(pd.DataFrame({label: []}))
    combined = pd.concat(frames, ignore_index=True)
    return csv_bytes(combined[[label, *[c for c in combined.columns if c != label]]])


def monthly_values_table(
    shown: pd.DataFrame, provisional_months: tuple = (), *, with_parts: bool = True
) -> pd.DataFrame:
    """A metric's monthly values as readers see them (`shown`: disclosure.control_series'
    frame): the month written 'Mar 2025', the group, the value as shown ('*' where
    suppressed, blank where missing), its status, and the parts it is built from."""
    pending = {pd.Timestamp(m) for m in provisional_months}
    months = pd.to_datetime(shown["month"])
    table = pd.DataFrame({"Month": months.dt.strftime("%b %Y")})
    if "group" in shown:
        table["Group"] = shown["group"].astype(str).to_numpy()
    table["Value"] = ["" if text in ("–", "nan") else text for text in shown["display"].astype(str)]
    table["Status"] = ["provisional" if m in pending else "final" for m in months]
    if with_parts:
        for column, title in (("numerator", "Numerator"), ("denominator", "Denominator")):
            if column in shown and shown[column].notna().any():
                table[title] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    return table
