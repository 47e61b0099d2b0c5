"""Any table as a file: CSV (UTF-8 with a byte-order mark, so Excel reads accents) or an
Excel workbook. Used by the download buttons under every table on the site and by
`python -m metrics show --csv`. The table given is the one shown (disclosure-controlled
where the page controls it): nothing here sees exact figures a reader may not."""

from __future__ import annotations

import io
import re

import pandas as pd

# Columns that only make sense on screen (icons drawn from data URIs or the site's icon
# route, sparkline lists).
_SCREEN_ONLY = re.compile(r"^(data:image/|spc-icons/)")


def for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without what only a screen can show: icon images (their words are in
    another column) and list-valued cells (sparklines) become plain text."""
    out = frame.copy()
    for column in list(out.columns):
        values = out[column]
        if values.map(lambda v: isinstance(v, str) and bool(_SCREEN_ONLY.match(v))).any():
            out = out.drop(columns=column)
        elif values.map(lambda v: isinstance(v, list | tuple)).any():
            out[column] = values.map(
                lambda v: ", ".join(f"{x:g}" for x in v) if isinstance(v, list | tuple) else v
            )
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as CSV, UTF-8 with a byte-order mark (Excel opens it with accents)."""
    return for_file(frame).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(frame: pd.DataFrame, sheet: str = "Table") -> bytes:
    """The table as an Excel workbook with one sheet (dates as dates, numbers as numbers)."""
    buffer = io.BytesIO()
    safe_sheet = re.sub(r"[\[\]:*?/\\]", " ", sheet)[:31] or "Table"
    table = for_file(frame)
    for column in table.columns:
        if isinstance(table[column].dtype, pd.DatetimeTZDtype):
            table[column] = table[column].dt.tz_localize(None)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name=safe_sheet)
    return buffer.getvalue()


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
