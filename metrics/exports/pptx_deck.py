"""The showcase deck as a PowerPoint file (16:9), one slide per deck slide.

Each slide: the outcome served, the headline, the big number with its interval, the
chart as a PNG picture (rendered offline by vl-convert, with its alt text as the
picture's description), the story in a box labelled fictional, a footer with the
synthetic-data label, the suppression legend and the slide number, and speaker notes
with the method and caveats. Presenters can restyle it freely: every element is an
ordinary text box or picture.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR
from pptx.util import Emu, Inches, Pt

from metrics.exports.model import Deck, Problem, Slide, unavailable_text
from metrics.exports.render import chart_png

Progress = Callable[[float, str], None]

SLIDE_WIDTH = Emu(12192000)  # 13.333 in: the standard 16:9 widescreen
SLIDE_HEIGHT = Emu(6858000)  # 7.5 in
BLANK_LAYOUT = 6
MARGIN = Inches(0.5)
INK = RGBColor(0x0B, 0x0C, 0x0C)
MUTED = RGBColor(0x21, 0x2B, 0x32)
ACCENT = RGBColor(0x00, 0x5E, 0xB8)
WARN = RGBColor(0x8A, 0x15, 0x38)
SOFT = RGBColor(0xF0, 0xF4, 0xF5)
BADGE = RGBColor(0xFF, 0xEB, 0x3B)


def _text(
    slide,
    left: int,
    top: int,
    width: int,
    height: int,
    text: str,
    *,
    size: int,
    bold: bool = False,
    colour: RGBColor = INK,
    name: str = "",
):
    """A word-wrapped text box with one run (python-pptx escapes the XML)."""
    box = slide.shapes.add_textbox(left, top, width, height)
    if name:
        box.name = name
    frame = box.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = colour
    return box


def _number_size(text: str) -> int:
    """Points for the big number: as large as fits its 4-inch column on one line."""
    if len(text) <= 6:
        return 60
    return 44 if len(text) <= 9 else 34


def _picture(slide, png: bytes, left: int, top: int, max_width: int, max_height: int, alt: str):
    """The chart scaled to fit its box, keeping its shape; alt text as the description."""
    with Image.open(io.BytesIO(png)) as image:
        px_width, px_height = image.size
    scale = min(max_width / px_width, max_height / px_height)
    width, height = int(px_width * scale), int(px_height * scale)
    picture = slide.shapes.add_picture(io.BytesIO(png), left, top, Emu(width), Emu(height))
    picture.name = "Chart"
    picture._element.nvPicPr.cNvPr.set("descr", alt)  # screen readers read this
    return picture


def _story_box(slide, story, top: int, height: int) -> None:
    box = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, MARGIN, top, SLIDE_WIDTH - 2 * MARGIN, height)
    box.name = "Story"
    box.fill.solid()
    box.fill.fore_color.rgb = SOFT
    box.line.color.rgb = ACCENT
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = Inches(0.2)
    lines = [
        (story.label.upper(), 12, True, WARN),
        (story.title, 16, True, INK),
        (story.text, 14, False, INK),
    ]
    for index, (text, size, bold, colour) in enumerate(lines):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = text
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = colour


def _footer(slide, deck: Deck, number: int, total: int) -> None:
    top = SLIDE_HEIGHT - Inches(0.55)
    if deck.status_label:  # board.yaml data_status; no badge when none is claimed
        badge = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, MARGIN, top, Inches(1.6), Inches(0.36))
        badge.name = deck.status_label
        badge.fill.solid()
        badge.fill.fore_color.rgb = BADGE
        badge.line.fill.background()
        run = badge.text_frame.paragraphs[0].add_run()
        run.text = deck.status_label
        run.font.size = Pt(12)
        run.font.bold = True
        run.font.color.rgb = INK
    legend_text = deck.legend or "No small-number suppression applies to this version."
    _text(
        slide,
        MARGIN + Inches(1.8),
        top - Inches(0.05),
        Inches(9.3),
        Inches(0.5),
        legend_text,
        size=10,
        colour=MUTED,
        name="Legend",
    )
    _text(
        slide,
        SLIDE_WIDTH - MARGIN - Inches(1.2),
        top,
        Inches(1.2),
        Inches(0.4),
        f"{number} of {total}",
        size=12,
        colour=MUTED,
        name="Slide number",
    )


def _add_slide(prs, deck: Deck, slide: Slide, total: int, png: bytes | None, failure: str) -> None:
    page = prs.slides.add_slide(prs.slide_layouts[BLANK_LAYOUT])
    content_width = SLIDE_WIDTH - 2 * MARGIN
    if slide.outcome:
        _text(
            page,
            MARGIN,
            Inches(0.25),
            content_width,
            Inches(0.4),
            f"OUTCOME: {slide.outcome.upper()}",
            size=14,
            colour=MUTED,
            name="Outcome",
        )
    _text(
        page,
        MARGIN,
        Inches(0.65),
        content_width,
        Inches(1.25),
        slide.headline,
        size=32,
        bold=True,
        name="Headline",
    )
    story_top = SLIDE_HEIGHT - Inches(1.95)
    body_bottom = story_top - Inches(0.1) if slide.story else SLIDE_HEIGHT - Inches(0.7)
    reason = slide.unavailable or failure
    if reason:
        box = _text(
            page,
            MARGIN,
            Inches(2.1),
            content_width,
            Inches(1.2),
            unavailable_text(reason),
            size=24,
            bold=True,
            colour=WARN,
            name="Unavailable",
        )
        box.line.color.rgb = WARN
    else:
        left_width = Inches(4.1)
        top = Inches(2.0)
        if slide.big_number:
            _text(
                page,
                MARGIN,
                top,
                left_width,
                Inches(1.2),
                slide.big_number,
                size=_number_size(slide.big_number),
                bold=True,
                colour=ACCENT,
                name="Big number",
            )
            top += Inches(1.25)
        if slide.interval:
            _text(
                page,
                MARGIN,
                top,
                left_width,
                Inches(0.5),
                slide.interval,
                size=20,
                bold=True,
                colour=MUTED,
                name="Interval",
            )
            top += Inches(0.5)
        if slide.number_label:
            _text(
                page,
                MARGIN,
                top,
                left_width,
                Inches(0.8),
                slide.number_label,
                size=16,
                colour=MUTED,
                name="Number label",
            )
            top += Inches(0.8)
        if slide.caption:
            _text(
                page,
                MARGIN,
                top,
                left_width,
                Inches(1.0),
                slide.caption,
                size=16,
                name="Caption",
            )
        if png is not None and slide.chart is not None:
            chart_left = MARGIN + left_width + Inches(0.2)
            chart_top = Inches(1.95)
            picture = _picture(
                page,
                png,
                chart_left,
                chart_top,
                SLIDE_WIDTH - MARGIN - chart_left,
                body_bottom - chart_top - Inches(0.4),
                slide.chart.alt_text,
            )
            _text(
                page,
                chart_left,
                picture.top + picture.height + Inches(0.02),
                SLIDE_WIDTH - MARGIN - chart_left,
                Inches(0.35),
                f"Measure: {slide.metric_title}",
                size=11,
                colour=MUTED,
                name="Measure",
            )
    if slide.story is not None:
        _story_box(page, slide.story, story_top, Inches(1.35))
    _footer(page, deck, slide.number, total)
    notes = slide.notes or deck.synthetic_label
    if deck.period and deck.period not in notes:
        notes = f"{notes}\n\nFigures cover {deck.period}."
    if reason and reason not in notes:
        notes = f"{unavailable_text(reason)}\n\n{notes}"
    page.notes_slide.notes_text_frame.text = notes


def render_pptx(deck: Deck, progress: Progress | None = None) -> tuple[bytes, list[Problem]]:
    """The deck as .pptx bytes, and the problems met while drawing its charts."""
    prs = Presentation()
    prs.slide_width = SLIDE_WIDTH
    prs.slide_height = SLIDE_HEIGHT
    properties = prs.core_properties
    properties.title = deck.title
    properties.subject = f"{deck.subtitle} ({deck.period})" if deck.period else deck.subtitle
    properties.author = "Alliance Board"
    properties.last_modified_by = "Alliance Board"
    properties.comments = deck.synthetic_label
    properties.keywords = f"{deck.audience} version; disclosure policy {deck.policy_name}"
    problems: list[Problem] = []
    total = len(deck.slides)
    for index, slide in enumerate(deck.slides):
        if progress:
            progress(0.1 + 0.85 * index / max(total, 1), f"Drawing slide {slide.number}")
        png = None
        failure = ""
        if slide.available and slide.chart is not None:
            try:
                png = chart_png(slide.chart)
            except Exception as exc:  # a chart that cannot be drawn marks its slide only
                failure = f"the chart could not be drawn: {exc}"
                problems.append(Problem(f"slide {slide.number} ({slide.id})", failure))
        _add_slide(prs, deck, slide, total, png, failure)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue(), problems
