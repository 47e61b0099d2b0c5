"""Readings as HTML: the body of a metric tile, the Overview's cards for a phone, and the
SPC icons with their meaning. Pure functions of a reading (no Streamlit), so the site
makes each once per board and every session sends the finished text.

A tile's body is one Markdown element instead of the six or seven Streamlit elements it
took (value, change, note, sparkline, icons, meaning): on the Overview and Outcomes pages
most of a session's server time was spent sending tiles element by element.

Everything from configuration or data is escaped here, and whitespace runs are folded to
one space: the HTML goes out through st.markdown, where a blank line would end the HTML
block and let the rest be read as Markdown.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Iterable

from metrics.analyses.reading import Reading
from metrics.formatting import direction_word
from metrics.spc import icon_meaning, icon_url

# The icons' meaning in a few words, for a table cell or a phone card (icon_meaning says
# it in full, in the alt text and tooltips).
VARIATION_SHORT = {
    "common_cause": "No significant change",
    "improvement_high": "Improving (higher)",
    "improvement_low": "Improving (lower)",
    "concern_high": "Concern (higher)",
    "concern_low": "Concern (lower)",
    "neutral_high": "Higher than usual",
    "neutral_low": "Lower than usual",
}
ASSURANCE_SHORT = {
    "pass": "target met",
    "fail": "target missed",
    "inconsistent": "target hit and miss",
}
# A change's colour on a tile says what its words say (never colour alone): the class
# names are styled in assets/layout.css with colours that pass WCAG AA on white.
CHANGE_CLASS = {"better": "better", "worse": "worse"}


def text(value: object) -> str:
    """Escaped, with every run of whitespace one space (no blank line can end the block)."""
    return html.escape(" ".join(str(value).split()))


def icon_img(icon: str | None, size: int = 44) -> str:
    """An SPC icon as an image with its meaning as alt text and tooltip, so it is not
    conveyed by colour or shape alone. The site's own icon file (same host; the browser
    keeps it for a day), not a data URI: with a couple of icons on every tile and card,
    data URIs made each page run carry (and the browser parse) over a hundred kilobytes."""
    if not icon:
        return ""
    meaning = html.escape(icon_meaning(icon))
    return (
        f'<img src="{html.escape(icon_url(icon))}" alt="{meaning}" title="{meaning}" '
        f'width="{size}" height="{size}" style="margin-right:6px"/>'
    )


def short_icon_words(variation: str | None, assurance: str | None) -> str:
    """E.g. "Concern (higher); target missed" ('' with neither icon)."""
    words = [VARIATION_SHORT.get(variation or "", ""), ASSURANCE_SHORT.get(assurance or "", "")]
    return "; ".join(w for w in words if w)


def change_words(reading: Reading) -> str:
    """The change on a year earlier and whether it is better or worse, in a few words."""
    if not reading.available or not reading.change_display:
        return ""
    change = f"{reading.change_display} {reading.change_period}".strip()
    word = direction_word(reading.change, reading.metric)
    return f"{change}, {word}" if word else change


def tile_body(reading: Reading, sparkline: str = "") -> str:
    """Everything on a metric tile below its link: the value with its month and status, the
    change on a year earlier (arrow, colour and the word better or worse), a borough-wide
    note, the sparkline (`sparkline`, an SVG), both SPC icons, their meaning, and why the
    metric needs attention. One HTML block."""
    metric = reading.metric
    if not reading.available:
        reason = text(reading.reason)
        return f'<div class="board-tile"><p class="board-tile-note">Unavailable: {reason}</p></div>'
    label = reading.period
    if reading.provisional:
        label += f" ({reading.status_label})"
    parts = [
        f'<p class="board-tile-label">{text(label)}</p>',
        f'<p class="board-tile-value">{text(reading.display)}</p>',
    ]
    # The change is shown only where it may be: not for a suppressed reading.
    shown = change_words(reading)
    if shown and not reading.suppressed and reading.change is not None:
        # The words say it; the arrow (hidden from screen readers) and colour repeat them.
        word = direction_word(reading.change, metric)
        arrow = "▲" if reading.change > 0 else "▼" if reading.change < 0 else ""
        parts.append(
            f'<p class="board-tile-change board-tile-{CHANGE_CLASS.get(word, "same")}">'
            + (f'<span aria-hidden="true">{arrow} </span>' if arrow else "")
            + f"{text(shown)}</p>"
        )
    if reading.scope == "borough":
        parts.append(
            f'<p class="board-tile-note">Borough-wide: {text(metric.title)} is not recorded '
            "by neighbourhood.</p>"
        )
    if sparkline:
        parts.append(f'<div class="board-tile-sparkline">{sparkline}</div>')
    icons = icon_img(reading.variation_icon) + icon_img(reading.assurance_icon)
    if icons:
        parts.append(f'<p class="board-tile-icons">{icons}</p>')
    if reading.icon_words:
        parts.append(f'<p class="board-tile-note">{text(reading.icon_words)}.</p>')
    if reading.attention_reason:
        parts.append(
            '<p class="board-tile-note"><strong>Why it is here:</strong> '
            f"{text(reading.attention_reason)}</p>"
        )
    return f'<div class="board-tile">{"".join(parts)}</div>'


def phone_cards(readings: Iterable[Reading], link_query: str) -> str:
    """Readings as cards for a phone: title (a link to the metric), value with its month,
    the SPC icons and one line of meaning. One HTML block."""
    cards = []
    for reading in readings:
        metric = reading.metric
        href = html.escape(f"metric?metric={urllib.parse.quote(metric.id)}&{link_query}")
        parts = [
            f'<p class="board-card-title"><a href="{href}" target="_self">'
            f"{text(metric.title)}</a></p>"
        ]
        if reading.available:
            period = reading.period
            if reading.provisional:
                period += f" ({reading.status_label})"
            parts.append(
                f'<p><span class="board-card-value">{text(reading.display)}</span> '
                f'<span class="board-card-period">{text(period)}</span></p>'
            )
            icons = icon_img(reading.variation_icon, 32) + icon_img(reading.assurance_icon, 32)
            if icons:
                parts.append(f"<p>{icons}</p>")
            meaning = "; ".join(
                w
                for w in (
                    short_icon_words(reading.variation_icon, reading.assurance_icon),
                    change_words(reading),
                )
                if w
            )
            if meaning:
                parts.append(f'<p class="board-card-meaning">{text(meaning)}.</p>')
        else:
            parts.append(f'<p class="board-card-meaning">Unavailable: {text(reading.reason)}</p>')
        cards.append(f'<li class="board-card">{"".join(parts)}</li>')
    return f'<ul class="board-cards">{"".join(cards)}</ul>'
