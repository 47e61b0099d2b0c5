"""The board pack as an A4 PDF (fpdf2, built-in Helvetica: nothing downloaded or embedded).

Order follows an NHS integrated performance report (domain.md section 4): cover sheet
(meeting, date, purpose, summary, recommendation), exception report, Making Data Count
summary with both icons per metric (the project's SVG icons converted to PNG offline by
vl-convert), one page per planned impact study (chart, sentence, interval and the model
checks in words), money, equity, data quality and method notes with the suppression
legend. Every page carries its number and "Synthetic data" in the footer; the PDF
outline (bookmarks) lists the sections.

Tables never split a row across pages, and a table that goes on to another page repeats
its header row there. A table that fits on one page is kept whole on one page (with its
title), starting a new page if it does not fit in the space left; a longer one starts
where it is if its title, header and first row fit.

Built-in PDF fonts cover Windows-1252 only, so text is mapped to it (a minus sign becomes
a hyphen); figures never depend on characters outside it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterable

from fpdf import FPDF, FontFace
from fpdf.enums import TableHeadingsDisplay, XPos, YPos

from metrics.exports.model import (
    BoardPack,
    ImpactPage,
    Problem,
    Section,
    SPCLine,
    Table,
    unavailable_text,
)
from metrics.exports.render import chart_png, icon_png
from metrics.spc import ASSURANCE_ICONS, VARIATION_ICONS, icon_meaning

Progress = Callable[[float, str], None]

FONT = "Helvetica"
INK = (11, 12, 12)
MUTED = (66, 84, 98)
ACCENT = (0, 94, 184)
WARN = (138, 21, 56)
HEADING_FILL = (225, 232, 237)
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
MARGIN = 15.0
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
ICON_SIZE = 7.0  # mm
ICON_COLUMN = 15.0
SPC_LINE = 3.6
CELL_PAD = 1.0
CHART_WIDTH_MM = TEXT_WIDTH
_REPLACEMENTS = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2011": "-",  # non-breaking hyphen
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2192": "->",
        "\u00d7": "x",
        "\u202f": " ",  # narrow no-break space
        "\u2009": " ",  # thin space
    }
)


def pdf_text(text: object) -> str:
    """Text mapped to what the built-in fonts can print (Windows-1252)."""
    mapped = str(text).translate(_REPLACEMENTS)
    return mapped.encode("cp1252", errors="replace").decode("cp1252")


class _PackPDF(FPDF):
    def __init__(self, pack: BoardPack, *, page_height: float = PAGE_HEIGHT) -> None:
        # A taller page is only for measuring (see `_table_height`).
        super().__init__(orientation="P", unit="mm", format=(PAGE_WIDTH, page_height))
        self.pack = pack
        self.core_fonts_encoding = "windows-1252"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_title(pdf_text(pack.cover.title))
        self.set_author("Alliance Board")
        self.set_subject(pdf_text(f"{pack.audience} version; {pack.synthetic_label}"))
        self.set_creator("Alliance Board")

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(
            0, 5, pdf_text(self.pack.cover.title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, style="B", size=8)
        self.set_text_color(*INK)
        version = "Public version" if self.pack.audience == "public" else "Board version"
        self.cell(
            0,
            5,
            pdf_text(
                "  |  ".join(
                    p
                    for p in (self.pack.status_label, version, f"Page {self.page_no()} of {{nb}}")
                    if p
                )
            ),
            align="C",
        )

    # ---- building blocks ---------------------------------------------------------------

    def heading(self, text: str, level: int = 0) -> None:
        if level == 0:
            self.start_section(pdf_text(text), level=0)
        size = {0: 17, 1: 13, 2: 11}[level]
        self.set_font(FONT, style="B", size=size)
        self.set_text_color(*INK)
        self.multi_cell(
            0, size * 0.5, pdf_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.ln(2)

    def paragraph(self, text: str, *, size: float = 10, colour=INK, style: str = "") -> None:
        self.set_font(FONT, style=style, size=size)
        self.set_text_color(*colour)
        self.multi_cell(
            0, size * 0.5, pdf_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.ln(1.5)

    def bullets(self, items: Iterable[str], *, size: float = 10) -> None:
        self.set_font(FONT, size=size)
        self.set_text_color(*INK)
        for item in items:
            self.set_x(MARGIN)
            self.cell(5, size * 0.5, pdf_text("•"))
            self.multi_cell(
                TEXT_WIDTH - 5,
                size * 0.5,
                pdf_text(item),
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            self.ln(1)
        self.ln(1)

    def unavailable(self, reason: str) -> None:
        self.set_draw_color(*WARN)
        self.set_text_color(*WARN)
        self.set_font(FONT, style="B", size=11)
        self.multi_cell(
            0,
            6,
            pdf_text(unavailable_text(reason)),
            border=1,
            padding=2,
            align="L",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_draw_color(0, 0, 0)
        self.ln(3)

    def key_values(self, pairs: Iterable[tuple[str, str]]) -> None:
        for key, value in pairs:
            self.set_font(FONT, style="B", size=10)
            self.set_text_color(*INK)
            self.cell(38, 6, pdf_text(key))
            self.set_font(FONT, size=10)
            self.multi_cell(
                TEXT_WIDTH - 38,
                6,
                pdf_text(value),
                align="L",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        self.ln(2)

    def data_table(self, table: Table, widths: tuple[float, ...] | None = None) -> None:
        """A titled table that never splits a row and repeats its header on each page."""
        space = self.page_break_trigger - self.get_y()
        height = _table_height(self, table, widths)
        if height > space:
            fresh_page = self.page_break_trigger - self.t_margin - HEADER_HEIGHT
            start = _table_height(self, table, widths, rows=1)  # title, header, first row
            if height <= fresh_page or start > space:
                self.add_page()
        self._draw_table(table, widths)

    def _draw_table(self, table: Table, widths: tuple[float, ...] | None) -> None:
        if table.title:
            self.heading(table.title, level=2)
        self.set_font(FONT, size=7.5)
        self.set_text_color(*INK)
        with self.table(
            col_widths=widths,
            width=TEXT_WIDTH,
            line_height=3.8,
            text_align="LEFT",
            first_row_as_headings=True,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADING_FILL),
            # fpdf2 keeps each row whole (a row that would cross the page end starts the
            # next page) and repeats the heading row on top of every page.
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        ) as grid:
            header = grid.row()
            for column in table.columns:
                header.cell(pdf_text(column))
            for values in table.rows:
                row = grid.row()
                for value in values:
                    row.cell(pdf_text(value))
        if table.note:
            self.ln(1)
            self.paragraph(table.note, size=8, colour=MUTED)
        self.ln(3)

    def chart(self, png: bytes, alt_text: str) -> None:
        self.image(io.BytesIO(png), x=MARGIN, w=CHART_WIDTH_MM, alt_text=pdf_text(alt_text))
        self.ln(2)


HEADER_HEIGHT = 7.0  # the running header on pages after the first (5 mm line + 2 mm)
MEASURE_HEIGHT = 5000.0  # mm: a page no table fills, to measure one in a single piece


def _table_height(
    pdf: _PackPDF, table: Table, widths: tuple[float, ...] | None, rows: int | None = None
) -> float:
    """The height a titled table takes when drawn in one piece (its first `rows` rows
    only, if given), measured on a scratch document as tall as no table is."""
    scratch = _PackPDF(pdf.pack, page_height=MEASURE_HEIGHT)
    scratch.add_page()
    top = scratch.get_y()
    part = table if rows is None else dataclasses.replace(table, rows=table.rows[:rows], note="")
    scratch._draw_table(part, widths)
    return scratch.get_y() - top


# --------------------------------------------------------------------------- pages


def _cover(pdf: _PackPDF, pack: BoardPack) -> None:
    cover = pack.cover
    pdf.add_page()
    pdf.set_fill_color(*INK)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, style="B", size=10)
    pdf.cell(
        0,
        8,
        pdf_text(f"  {(pack.status_label or 'Board pack').upper()}"),
        fill=True,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_fill_color(255, 255, 255)  # tables fill with the current colour otherwise
    pdf.ln(6)
    pdf.start_section(pdf_text("Cover sheet"), level=0)
    pdf.set_font(FONT, style="B", size=22)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 10, pdf_text(cover.title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if cover.organisation:
        pdf.paragraph(cover.organisation, size=12, colour=MUTED)
    pdf.ln(3)
    pdf.key_values(
        (
            ("Meeting", cover.meeting),
            ("Date", f"{cover.date:%d %B %Y}"),
            ("Purpose", cover.purpose),
            ("Period", cover.period),
            ("Version", cover.audience_note),
        )
    )
    pdf.heading("Summary of key issues", level=1)
    pdf.bullets(cover.summary, size=10.5)
    pdf.heading("Recommendation", level=1)
    pdf.paragraph(cover.recommendation)
    pdf.ln(2)
    pdf.paragraph(pack.synthetic_label, size=9, colour=MUTED, style="I")
    if pack.legend:
        pdf.paragraph(pack.legend, size=9, colour=MUTED)


def _text_lines(pdf: _PackPDF, width: float, text: str) -> int:
    lines = pdf.multi_cell(width - 2 * CELL_PAD, SPC_LINE, text, dry_run=True, output="LINES")
    return max(len(lines), 1)


def _spc_header(pdf: _PackPDF, columns: list[str], widths: list[float]) -> None:
    pdf.set_font(FONT, style="B", size=7.5)
    pdf.set_fill_color(*HEADING_FILL)
    for column, width in zip(columns, widths, strict=True):
        pdf.cell(width, 6, pdf_text(column), border=1, fill=True)
    pdf.set_fill_color(255, 255, 255)
    pdf.ln(6)


def _spc_row(
    pdf: _PackPDF,
    cells: list[str | None],
    icons: list[str | None],
    widths: list[float],
    failures: list[str],
) -> bool:
    """One row: text cells (None marks an icon cell), icons centred in their cells.

    Returns False, drawing nothing, when the row would cross the page end.
    """
    pdf.set_font(FONT, size=7.5)
    texts = [pdf_text(c) if c is not None else "" for c in cells]
    lines = max(_text_lines(pdf, w, t) for w, t in zip(widths, texts, strict=True))
    height = max(lines * SPC_LINE, ICON_SIZE) + 2 * CELL_PAD
    if pdf.will_page_break(height):
        return False
    x, y = MARGIN, pdf.get_y()
    icon_index = 0
    for width, cell, text in zip(widths, cells, texts, strict=True):
        pdf.rect(x, y, width, height)
        if cell is None:
            icon = icons[icon_index]
            icon_index += 1
            if icon:
                try:
                    pdf.image(
                        io.BytesIO(icon_png(icon)),
                        x=x + (width - ICON_SIZE) / 2,
                        y=y + CELL_PAD,
                        w=ICON_SIZE,
                        h=ICON_SIZE,
                        alt_text=pdf_text(icon_meaning(icon)),
                    )
                except Exception as exc:  # an icon that cannot be drawn is written instead
                    failures.append(f"icon {icon}: {exc}")
                    pdf.set_xy(x + CELL_PAD, y + CELL_PAD)
                    pdf.multi_cell(width - 2 * CELL_PAD, SPC_LINE, icon.replace("_", " "))
            else:
                pdf.set_xy(x + CELL_PAD, y + (height - SPC_LINE) / 2)
                pdf.cell(width - 2 * CELL_PAD, SPC_LINE, "-", align="C")
        else:
            used = _text_lines(pdf, width, text) * SPC_LINE
            pdf.set_xy(x + CELL_PAD, y + (height - used) / 2)
            pdf.multi_cell(width - 2 * CELL_PAD, SPC_LINE, text, align="L")
        x += width
    pdf.set_xy(MARGIN, y + height)
    return True


def _spc_table(
    pdf: _PackPDF, lines: tuple[SPCLine, ...], *, reasons: bool, failures: list[str]
) -> None:
    """Metric, latest figure (next to its metric), month, both icons, and why or domain."""
    columns = ["Metric", "Latest", "Month", "Variation", "Assurance"]
    widths: list[float] = [62, 28, 16, ICON_COLUMN, ICON_COLUMN]
    columns.append("Why it is here" if reasons else "Domain")
    widths.append(TEXT_WIDTH - sum(widths))
    pdf.set_text_color(*INK)
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    _spc_header(pdf, columns, widths)
    for line in lines:
        if line.unavailable:
            cells: list[str | None] = [
                line.metric_title,
                line.latest,
                "",
                "",
                "",
                unavailable_text(line.unavailable),
            ]
            icons: list[str | None] = []
        else:
            cells = [
                line.metric_title,
                line.latest,
                line.month,
                None,
                None,
                line.attention if reasons else line.domain,
            ]
            icons = [line.variation_icon, line.assurance_icon]
        if not _spc_row(pdf, cells, icons, widths, failures):
            pdf.add_page()
            _spc_header(pdf, columns, widths)
            _spc_row(pdf, cells, icons, widths, failures)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(4)


def _icon_key(pdf: _PackPDF, failures: list[str]) -> None:
    pdf.heading("What the icons mean", level=2)
    pdf.set_font(FONT, size=8)
    for name in (*VARIATION_ICONS, *ASSURANCE_ICONS):
        if pdf.will_page_break(8):
            pdf.add_page()
        y = pdf.get_y()
        try:
            pdf.image(io.BytesIO(icon_png(name)), x=MARGIN, y=y, w=7, h=7)
        except Exception as exc:
            failures.append(f"icon {name}: {exc}")
        pdf.set_xy(MARGIN + 9, y + 1.5)
        pdf.cell(0, 4, pdf_text(icon_meaning(name)), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(y + 8)
    pdf.ln(2)


def _impact_page(pdf: _PackPDF, page: ImpactPage, problems: list[Problem]) -> None:
    pdf.add_page()
    pdf.start_section(pdf_text(f"Impact: {page.metric_title}"), level=1)
    pdf.heading(f"Impact: {page.metric_title}", level=1)
    pdf.paragraph(f"Change studied: {page.intervention}. Model: {page.model}.", colour=MUTED)
    if page.verdict:
        # The verdict's badge: whether the model fits well enough to conclude.
        colour = {"green": (0, 103, 71), "orange": (153, 82, 0)}.get(page.verdict_colour, WARN)
        pdf.paragraph(f"[{page.verdict}] {page.verdict_words}", colour=colour, style="B")
    reason = page.unavailable
    png = None
    if not reason and page.chart is not None:
        try:
            png = chart_png(page.chart)
        except Exception as exc:  # a chart that cannot be drawn marks its page only
            reason = f"the chart could not be drawn: {exc}"
            problems.append(Problem(f"board pack: impact of {page.metric_id}", reason))
    if reason:
        pdf.unavailable(reason)
        return
    pdf.set_font(FONT, style="B", size=26)
    pdf.set_text_color(*ACCENT)
    number = pdf_text(page.big_number)
    pdf.cell(pdf.get_string_width(number) + 6, 12, number)
    pdf.set_font(FONT, style="B", size=12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 12, pdf_text(page.interval), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if png is not None and page.chart is not None:
        pdf.chart(png, page.chart.alt_text)
    pdf.paragraph(page.sentence, size=10.5, style="B")
    if page.cumulative:
        pdf.paragraph(page.cumulative)
    pdf.heading("What the model checks say", level=2)
    pdf.bullets(page.diagnostics, size=8.5)
    if page.notes:
        pdf.heading("Method and caveats", level=2)
        pdf.bullets(page.notes, size=8.5)


def _section(pdf: _PackPDF, section: Section, problems: list[Problem]) -> None:
    pdf.add_page()
    pdf.heading(section.title)
    if section.unavailable:
        pdf.unavailable(section.unavailable)
        return
    for text in section.paragraphs:
        pdf.paragraph(text)
    for table in section.tables:
        pdf.data_table(table)
    for chart in section.charts:
        try:
            png = chart_png(chart, height=None)
        except Exception as exc:
            reason = f"the chart could not be drawn: {exc}"
            problems.append(Problem(f"board pack: {section.key}", reason))
            pdf.unavailable(reason)
            continue
        if pdf.will_page_break(80):
            pdf.add_page()
        pdf.chart(png, chart.alt_text)


def render_pdf(pack: BoardPack, progress: Progress | None = None) -> tuple[bytes, list[Problem]]:
    """The board pack as PDF bytes, and the problems met while drawing it."""
    report = progress or (lambda _f, _m: None)
    problems: list[Problem] = []
    failures: list[str] = []
    pdf = _PackPDF(pack)
    report(0.1, "Cover sheet")
    _cover(pdf, pack)

    report(0.15, "Exception report")
    pdf.add_page()
    pdf.heading("Exception report")
    pdf.paragraph(
        "Measures whose latest point is a special-cause concern, or whose target will not be "
        "met without a change (Making Data Count). Everything else is in the summary that "
        "follows.",
        colour=MUTED,
    )
    if not pack.spc_summary:
        pdf.unavailable("no measure could be read")
    elif pack.exceptions:
        _spc_table(pdf, pack.exceptions, reasons=True, failures=failures)
    else:
        pdf.paragraph("No measure shows special-cause concern or a target that will not be met.")

    report(0.2, "SPC summary")
    pdf.add_page()
    pdf.heading("Making Data Count summary")
    pdf.paragraph(
        f"Every measure, exceptions first, {pack.cover.period}: the latest complete month "
        "and the variation and assurance icons.",
        colour=MUTED,
    )
    if pack.spc_summary:
        _spc_table(pdf, pack.spc_summary, reasons=False, failures=failures)
        _icon_key(pdf, failures)
    else:
        pdf.unavailable("no measure could be read")
    if pack.legend:
        pdf.paragraph(pack.legend, size=8, colour=MUTED)

    pages = pack.impact_pages
    for index, page in enumerate(pages):
        report(0.25 + 0.55 * index / max(len(pages), 1), f"Impact: {page.metric_title}")
        if index == 0:
            pdf.start_section(pdf_text("Impact of service changes"), level=0)
        _impact_page(pdf, page, problems)

    sections = pack.sections
    for index, section in enumerate(sections):
        report(0.82 + 0.15 * index / max(len(sections), 1), section.title)
        _section(pdf, section, problems)

    problems.extend(Problem("board pack: icons", failure) for failure in failures)
    return bytes(pdf.output()), problems
