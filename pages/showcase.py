"""Showcase: the alliance's story, one slide at a time, for a hall or a venue projector.

Always the public version (small numbers suppressed), from the same content model as the
HTML, PowerPoint and PDF exports. Previous / Next by button or by the arrow keys (the
buttons' own keyboard shortcuts: nothing is loaded from anywhere), a deep link per slide
(?slide=3), and the exports to take the deck offline.
"""

from __future__ import annotations

import html
import re

import streamlit as st

from metrics.exports.content import deck_content
from metrics.exports.model import Slide
from metrics.ui.components import chart, plain, unknown_in_link
from metrics.ui.exports import export_buttons
from metrics.ui.state import page_context, page_link

AUDIENCE = "public"  # the showcase is public, always
SLIDE_PARAM = "slide"

# Full-screen friendly: hide the app's chrome (sidebar, toolbar, header), never content.
# Large type and high contrast for a hall; widths stay fluid for any projector.
SHOWCASE_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stToolbar"],
[data-testid="stDecoration"], [data-testid="stHeader"] { display: none !important; }
.block-container { padding-top: 1rem; max-width: 100%; }
.showcase-outcome { font-size: 1.15rem; text-transform: uppercase; letter-spacing: .04em;
  color: #212b32; margin: 0; }
.showcase-headline { font-size: clamp(2rem, 3.4vw, 3.4rem); font-weight: 700; line-height: 1.15;
  color: #0b0c0c; margin: .2rem 0 .6rem; }
.showcase-number { font-size: clamp(3rem, 6vw, 6rem); font-weight: 700; color: #005eb8;
  line-height: 1; margin: 0; }
.showcase-interval { font-size: 1.6rem; font-weight: 700; color: #212b32; margin: .4rem 0 0; }
.showcase-label { font-size: 1.35rem; color: #212b32; margin: .4rem 0 0; }
.showcase-caption { font-size: 1.45rem; color: #0b0c0c; margin: 1rem 0 0; }
.showcase-story { background: #f0f4f5; border-left: 10px solid #005eb8; padding: .7rem 1.2rem;
  font-size: 1.35rem; color: #0b0c0c; }
.showcase-story-label { font-weight: 700; text-transform: uppercase; color: #8a1538;
  font-size: 1rem; letter-spacing: .05em; margin: 0; }
.showcase-counter { font-size: 1.5rem; font-weight: 700; text-align: center; margin: .3rem 0; }
.showcase-badge { background: #ffeb3b; color: #0b0c0c; font-weight: 700; padding: .1rem .6rem;
  border-radius: .3rem; }
.showcase-foot { font-size: 1.05rem; color: #212b32; }
</style>
"""


def e(text: str) -> str:
    """Text from YAML or data, escaped for the HTML blocks below. Whitespace is collapsed
    (HTML would collapse it anyway): a blank line would end the HTML block, and Markdown
    after it would be interpreted."""
    return html.escape(" ".join(str(text).split()), quote=True)


def requested_slide(total: int) -> int:
    """The slide named in the link (?slide=N, 1-based); another value gets a notice and
    the nearest slide."""
    raw = st.query_params.get(SLIDE_PARAM, "1")
    try:
        number: int | None = int(raw)
    except (TypeError, ValueError):
        number = None
    shown = min(max(number or 1, 1), max(total, 1))
    if number != shown:
        unknown_in_link(SLIDE_PARAM, str(raw), what="slide", instead=f"slide {shown}")
    return shown


def go_to(number: int) -> None:
    st.query_params[SLIDE_PARAM] = str(number)


def slide_view(slide: Slide, number: int) -> None:
    """One slide: outcome, headline, big number with interval, chart, story, notes."""
    if slide.outcome:
        st.markdown(
            f'<div class="showcase-outcome">Outcome: {e(slide.outcome)}</div>',
            unsafe_allow_html=True,
        )
    st.markdown(f'<div class="showcase-headline">{e(slide.headline)}</div>', unsafe_allow_html=True)
    if not slide.available:
        st.warning(f"Unavailable: {plain(slide.unavailable)}")
    else:
        number_column, chart_column = st.columns([1, 2.2], gap="large")
        with number_column:
            parts = []
            if slide.big_number:
                parts.append(f'<div class="showcase-number">{e(slide.big_number)}</div>')
            if slide.interval:
                parts.append(f'<div class="showcase-interval">{e(slide.interval)}</div>')
            if slide.number_label:
                parts.append(f'<div class="showcase-label">{e(slide.number_label)}</div>')
            if slide.caption:
                parts.append(f'<div class="showcase-caption">{e(slide.caption)}</div>')
            if parts:
                st.markdown("".join(parts), unsafe_allow_html=True)
        with chart_column:
            if slide.chart is not None:
                # Its specification made once per board (this deck is the board's, public,
                # whole area), with the text alternative and its words below it.
                chart(
                    slide.chart.chart,
                    slide.chart.alt_text,
                    key=("showcase_slide", AUDIENCE, number),
                )
                st.caption(f"Measure: {plain(slide.metric_title)}")
    if slide.story is not None:
        paragraphs = "".join(
            f"<p>{e(p)}</p>" for p in re.split(r"\n\s*\n", slide.story.text) if p.strip()
        )
        st.markdown(
            f'<div class="showcase-story"><div class="showcase-story-label">'
            f"{e(slide.story.label)}</div><strong>{e(slide.story.title)}</strong>{paragraphs}</div>",
            unsafe_allow_html=True,
        )
    if slide.notes:
        with st.expander("Speaker notes (method and caveats)"):
            st.text(slide.notes)


state, _filters = page_context()
board = state.board
st.markdown(SHOWCASE_CSS, unsafe_allow_html=True)

deck = deck_content(board, AUDIENCE)  # computed once per board, shared with the exports
total = len(deck.slides)
if not total:
    st.title(plain(deck.title))
    st.warning("The showcase has no slides yet: add them to config/showcase.yaml.")
    st.stop()

current = requested_slide(total)
go_to(current)  # keep the link pointing at the slide shown (deep link per slide)
slide = deck.slides[current - 1]

st.title(plain(deck.title))
previous_column, counter_column, next_column = st.columns([1, 1, 1], vertical_alignment="center")
with previous_column:
    st.button(
        "Previous",
        key="showcase_prev",
        on_click=go_to,
        args=(current - 1,),
        disabled=current <= 1,
        shortcut="Left",
        width="stretch",
    )
with counter_column:
    st.markdown(f'<div class="showcase-counter">{current} of {total}</div>', unsafe_allow_html=True)
with next_column:
    st.button(
        "Next",
        key="showcase_next",
        on_click=go_to,
        args=(current + 1,),
        disabled=current >= total,
        shortcut="Right",
        width="stretch",
    )

slide_view(slide, current)

legend_text = deck.legend or "No small-number suppression applies."
st.markdown(
    '<div class="showcase-foot">'
    + (f'<span class="showcase-badge">{e(deck.status_label)}</span> ' if deck.status_label else "")
    + f"{e(legend_text)}</div>",
    unsafe_allow_html=True,
)

with st.expander("Take the deck offline: HTML (opens from a USB stick), PowerPoint, board pack"):
    st.caption(
        "Built from the same figures as these slides, public version (small numbers "
        "suppressed). Nothing in the files needs a network."
    )
    export_buttons(board, audience=AUDIENCE, key="showcase_export")
# Roles that see only the showcase (public, presenter) have no Overview to go back to.
identity = st.session_state.get("identity")
if identity is None or "overview" in getattr(identity, "pages", ()):
    page_link("overview", "Leave the showcase (back to the Overview)")
