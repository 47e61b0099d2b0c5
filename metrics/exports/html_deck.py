"""The showcase deck as ONE self-contained HTML file: opens from a USB stick, no network.

Every style and script is inline, charts are inline SVG rendered offline by vl-convert,
fonts are the system's (nothing to embed or fetch), and a Content-Security-Policy forbids
any request to another host should anything slip in. Namespace declarations are removed
from the SVGs (HTML parsing does not need them), so no URL appears anywhere.

Presenting: one slide at a time, large type, high contrast; Previous / Next buttons and
the arrow keys (also Page Up / Page Down, Home, End); the slide number lives in the URL
hash (#3), so any slide can be linked to directly; N shows the speaker notes. Without
JavaScript (or when printed) every slide is shown in turn.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from metrics.exports.model import Deck, Problem, Slide, unavailable_text
from metrics.exports.render import chart_svg

Progress = Callable[[float, str], None]

_XMLNS = re.compile(r'\s+xmlns(?::[a-zA-Z]+)?="[^"]*"')
_ID = re.compile(r'\bid="([^"]+)"')
_URL_REF = re.compile(r"url\(#([^)]+)\)")
_HREF_REF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')

STYLE = """
:root { --ink:#0b0c0c; --muted:#212b32; --accent:#005eb8; --paper:#ffffff;
  --soft:#f0f4f5; --warn:#8a1538; --focus:#ffeb3b; }
* { box-sizing: border-box; }
html, body { margin:0; padding:0; background:var(--paper); color:var(--ink);
  font-family: Arial, Helvetica, "Liberation Sans", sans-serif; font-size: 20px; }
.bar { position:sticky; top:0; z-index:2; display:flex; gap:1rem; align-items:center;
  justify-content:space-between; padding:.5rem 1.2rem; background:var(--ink); color:#fff; }
.bar .deck-title { font-weight:bold; font-size:1rem; }
.bar .subtitle { font-size:.85rem; }
.badge { display:inline-block; background:var(--focus); color:var(--ink); font-weight:bold;
  padding:.15rem .6rem; border-radius:.3rem; letter-spacing:.03em; }
.controls { display:flex; gap:.6rem; align-items:center; }
.controls button { font-size:1.1rem; font-weight:bold; padding:.45rem 1rem; border-radius:.35rem;
  border:2px solid #fff; background:var(--ink); color:#fff; cursor:pointer; white-space:nowrap; }
.controls button:disabled { opacity:.45; cursor:default; }
.controls button:focus-visible { outline:4px solid var(--focus); outline-offset:2px; }
#counter { min-width:6.5em; text-align:center; font-size:1.1rem; }
main { padding:0; }
.slide { min-height: calc(100vh - 3.6rem); padding: 1.2rem 3vw .8rem; display:flex;
  flex-direction:column; gap:.8rem; border-bottom:6px solid var(--soft); }
.slide[hidden] { display:none; }
.outcome { margin:0; font-size:1.1rem; color:var(--muted); text-transform:uppercase;
  letter-spacing:.04em; }
.headline { margin:0; font-size:clamp(1.8rem, 3vw, 3rem); line-height:1.15; }
.body { display:grid; grid-template-columns: minmax(15rem, 1fr) 2.2fr; gap:2rem;
  align-items:start; }
.big-number { margin:0; font-size:clamp(3.4rem, 8vw, 7rem); font-weight:bold;
  color:var(--accent); line-height:1; }
.interval { margin:.4rem 0 0; font-size:1.5rem; font-weight:bold; color:var(--muted); }
.number-label { margin:.5rem 0 0; font-size:1.3rem; color:var(--muted); }
.caption { margin:1rem 0 0; font-size:1.35rem; }
figure.chart { margin:0; }
figure.chart svg { width:100%; height:auto; max-height:48vh; display:block; }
figure.chart figcaption { font-size:1rem; color:var(--muted); margin-top:.3rem; }
.story { background:var(--soft); border-left:10px solid var(--accent); padding:.6rem 1.2rem;
  font-size:1.2rem; }
.story .story-label { margin:0; font-weight:bold; text-transform:uppercase; font-size:1rem;
  color:var(--warn); letter-spacing:.05em; }
.story h3 { margin:.1rem 0 .2rem; font-size:1.3rem; }
.story p { margin:.2rem 0; }
.unavailable { border:4px solid var(--warn); padding:1rem 1.2rem; font-size:1.5rem; }
.notes { display:none; border:2px dashed var(--muted); padding:.6rem 1rem; font-size:1rem; }
.show-notes .notes { display:block; }
.slide-foot { margin-top:auto; display:flex; flex-wrap:wrap; gap:.5rem 1.5rem;
  align-items:baseline; font-size:1rem; color:var(--muted); }
.slide-foot .legend { flex:1 1 30rem; }
@media (max-width: 900px) { .body { grid-template-columns: 1fr; } }
@media print {
  .bar { display:none; }
  .slide, .slide[hidden] { display:flex !important; min-height:auto; page-break-after:always; }
}
"""

SCRIPT = """
(function () {
  var slides = Array.prototype.slice.call(document.querySelectorAll('section.slide'));
  var total = slides.length;
  if (!total) { return; }
  var counter = document.getElementById('counter');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var notes = document.getElementById('notes');
  function current() {
    var n = parseInt((window.location.hash || '').replace('#', ''), 10);
    return (n >= 1 && n <= total) ? n : 1;
  }
  function show(n) {
    slides.forEach(function (slide, i) { slide.hidden = (i + 1 !== n); });
    counter.textContent = n + ' of ' + total;
    prev.disabled = n <= 1;
    next.disabled = n >= total;
  }
  function go(n) {
    n = Math.max(1, Math.min(total, n));
    if (window.location.hash !== '#' + n) { window.location.hash = '#' + n; } else { show(n); }
  }
  window.addEventListener('hashchange', function () { show(current()); });
  prev.addEventListener('click', function () { go(current() - 1); });
  next.addEventListener('click', function () { go(current() + 1); });
  notes.addEventListener('click', function () {
    document.body.classList.toggle('show-notes');
  });
  document.addEventListener('keydown', function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = event.key;
    if (key === 'ArrowRight' || key === 'PageDown') { event.preventDefault(); go(current() + 1); }
    else if (key === 'ArrowLeft' || key === 'PageUp') { event.preventDefault(); go(current() - 1); }
    else if (key === 'Home') { go(1); }
    else if (key === 'End') { go(total); }
    else if (key === 'n' || key === 'N') { document.body.classList.toggle('show-notes'); }
  });
  show(current());
})();
"""

# Forbid every request to another host: the deck must work on a venue's offline projector.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; font-src data:; connect-src 'none'; form-action 'none'"
)


def _e(text: str) -> str:
    """Escape text from YAML or data for HTML (attributes too)."""
    return html.escape(str(text), quote=True)


def _paragraphs(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return "".join(f"<p{cls}>{_e(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG ready to sit inside HTML: no namespace URLs, ids unique to its slide."""
    svg = _XMLNS.sub("", svg, count=0)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _URL_REF.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = _HREF_REF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    # The figure carries the accessible description; the drawing itself is decoration.
    return svg.replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)


def _slide_html(slide: Slide, deck: Deck, total: int, svg: str | None, failure: str) -> str:
    outcome = f'<p class="outcome">Outcome: {_e(slide.outcome)}</p>' if slide.outcome else ""
    parts = [outcome, f'<h2 class="headline">{_e(slide.headline)}</h2>']
    reason = slide.unavailable or failure
    if reason:
        parts.append(f'<div class="unavailable" role="status">{_e(unavailable_text(reason))}</div>')
    else:
        figure_col = []
        if slide.big_number:
            figure_col.append(f'<p class="big-number">{_e(slide.big_number)}</p>')
        if slide.interval:
            figure_col.append(f'<p class="interval">{_e(slide.interval)}</p>')
        if slide.number_label:
            figure_col.append(f'<p class="number-label">{_e(slide.number_label)}</p>')
        if slide.caption:
            figure_col.append(f'<p class="caption">{_e(slide.caption)}</p>')
        chart = ""
        if svg is not None and slide.chart is not None:
            chart = (
                f'<figure class="chart" role="img" aria-label="{_e(slide.chart.alt_text)}">'
                f"{svg}<figcaption>Measure: {_e(slide.metric_title)}</figcaption></figure>"
            )
        parts.append(
            f'<div class="body"><div class="figure-col">{"".join(figure_col)}</div>{chart}</div>'
        )
    if slide.story is not None:
        parts.append(
            '<aside class="story">'
            f'<p class="story-label">{_e(slide.story.label)}</p>'
            f"<h3>{_e(slide.story.title)}</h3>{_paragraphs(slide.story.text)}</aside>"
        )
    if slide.notes:
        parts.append(
            f'<aside class="notes" aria-label="Speaker notes">{_paragraphs(slide.notes)}</aside>'
        )
    legend_text = deck.legend or "No small-number suppression applies to this version."
    parts.append(
        '<footer class="slide-foot">'
        + (f'<span class="badge">{_e(deck.status_label)}</span>' if deck.status_label else "")
        + f'<span class="legend">{_e(legend_text)}</span>'
        f'<span class="slide-number">{slide.number} of {total}</span></footer>'
    )
    label = f"Slide {slide.number} of {total}: {slide.headline}"
    return (
        f'<section class="slide" id="slide-{slide.number}" data-slide="{slide.number}" '
        f'aria-roledescription="slide" aria-label="{_e(label)}">{"".join(parts)}</section>'
    )


def render_html(deck: Deck, progress: Progress | None = None) -> tuple[bytes, list[Problem]]:
    """The deck as UTF-8 HTML bytes, and the problems met while drawing its charts."""
    problems: list[Problem] = []
    total = len(deck.slides)
    sections = []
    for index, slide in enumerate(deck.slides):
        if progress:
            progress(0.1 + 0.85 * index / max(total, 1), f"Drawing slide {slide.number}")
        svg = None
        failure = ""
        if slide.available and slide.chart is not None:
            try:
                svg = inline_svg(chart_svg(slide.chart), f"s{slide.number}")
            except Exception as exc:  # a chart that cannot be drawn marks its slide only
                failure = f"the chart could not be drawn: {exc}"
                problems.append(Problem(f"slide {slide.number} ({slide.id})", failure))
        sections.append(_slide_html(slide, deck, total, svg, failure))
    subtitle = " · ".join(p for p in (deck.subtitle, deck.event) if p)
    badge = f'<span class="badge">{_e(deck.status_label)}</span>' if deck.status_label else ""
    audience = "Public version" if deck.audience == "public" else "Board version"
    document = f"""<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">
<meta name="referrer" content="no-referrer">
<title>{_e(deck.title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header class="bar">
<div>{badge}
<span class="deck-title">{_e(deck.title)}</span></div>
<div class="subtitle">{_e(subtitle)} · {_e(audience)} · {_e(deck.period)}</div>
<nav class="controls" aria-label="Slides">
<button type="button" id="prev" aria-label="Previous slide">&#9664; Previous</button>
<span id="counter" aria-live="polite">1 of {total}</span>
<button type="button" id="next" aria-label="Next slide">Next &#9654;</button>
<button type="button" id="notes" aria-label="Show or hide speaker notes">Notes</button>
</nav>
</header>
<main>
{"".join(sections)}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
    return document.encode("utf-8"), problems
