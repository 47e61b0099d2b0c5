"""A tile's recent trend as a tiny inline SVG line, described in words.

A sparkline is a few dozen points with no axes: drawing it as a full Vega-Lite chart cost
more server time per tile than everything else on the tile. An inline SVG polyline is one
element, needs no script, fetches nothing, and carries its meaning for screen readers in
`role="img"` and `aria-label` (WCAG 1.1.1).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

LINE_COLOUR = "#005EB8"  # NHS Blue, as the project theme


def sparkline_svg(
    values: Sequence[float], description: str, *, width: int = 240, height: int = 48
) -> str:
    """An SVG line through `values` (oldest first; missing values break the line), scaled
    to the box, with `description` as its accessible name.

    The name is an attribute only, never a <title> element: the page draws this SVG through
    Markdown, which would read a title's text (a metric's title from YAML) as Markdown and
    turn it into links."""
    points = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    label = html.escape(description, quote=True)
    if len(points) < 2:
        return ""
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = high - low or 1.0
    last = max(len(values) - 1, 1)
    pad = 3  # keeps the stroke inside the box

    def xy(i: int, v: float) -> str:
        x = pad + (width - 2 * pad) * i / last
        y = pad + (height - 2 * pad) * (1 - (v - low) / span)
        return f"{x:.1f},{y:.1f}"

    # Consecutive points form a segment; a gap (a missing month) starts a new one.
    segments: list[list[str]] = []
    previous = None
    for i, v in points:
        if previous is None or i != previous + 1:
            segments.append([])
        segments[-1].append(xy(i, v))
        previous = i
    lines = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="{LINE_COLOUR}" '
        'stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>'
        for s in segments
        if len(s) > 1
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'viewBox="0 0 {width} {height}" width="100%" height="{height}" '
        f'preserveAspectRatio="none">{lines}</svg>'
    )
