"""Export charts rendered offline by vl-convert: the fixed-size Vega-Lite spec, SVG and PNG
renders (and Making Data Count icons as PNG), kept in a small shared cache."""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from metrics.exports.model import ChartContent

# Export charts: a fixed size (vl-convert has no container to fill).
SVG_WIDTH = 860
SVG_HEIGHT = 330
PNG_WIDTH = 760
PNG_HEIGHT = 300
PNG_SCALE = 2.0


# --------------------------------------------------------------------------- rendering


_RENDER_LOCK = threading.Lock()
_RENDERED: OrderedDict[tuple[str, str], bytes | str] = OrderedDict()
_RENDER_CACHE_SIZE = 64


def export_spec(chart: ChartContent, *, width: int, height: int | None = None) -> dict[str, Any]:
    """The chart as a Vega-Lite spec for a fixed-size, offline render.

    Vega's automatic per-mark ARIA labels are switched off: they would print every data
    value as text inside the SVG. The chart's one accessible description is its alt text,
    written from the figures as shown. `height` None keeps the chart's own height.
    """
    made = _chart_dict(chart.chart)
    # A new top level (and new dicts wherever a size is set): the made dict is shared.
    spec = {**made, "width": width, "description": chart.alt_text}
    if height is not None:
        spec["height"] = height
    if "layer" in made:
        spec["layer"] = [
            {**layer, "width": width}
            if isinstance(layer, dict) and layer.get("width") == "container"
            else layer
            for layer in made["layer"]
        ]
    spec["config"] = {**made.get("config", {}), "aria": False}
    return spec


# By the chart object's id, with a weak reference that drops the entry when the chart
# goes (Altair charts compare by value and cannot be dictionary keys themselves).
_CHART_DICTS: dict[int, tuple[weakref.ref[Any], dict[str, Any]]] = {}
_CHART_DICTS_LOCK = threading.Lock()


def _chart_dict(chart: Any) -> dict[str, Any]:
    """The Altair chart's Vega-Lite dict, made (and checked against the schema) once per
    chart object. The deck and the pack are made once per board, so every export after the
    first reuses their charts' dicts: making them again was nearly all of a warm HTML
    export. Never changed once made (export_spec copies what it sets)."""
    key = id(chart)
    with _CHART_DICTS_LOCK:
        entry = _CHART_DICTS.get(key)
    if entry is not None and entry[0]() is chart:
        return entry[1]
    made = chart.to_dict()
    # The callback runs as the chart is freed, before its id can be reused.
    gone = weakref.ref(chart, lambda _ref, key=key: _CHART_DICTS.pop(key, None))
    with _CHART_DICTS_LOCK:
        _CHART_DICTS[key] = (gone, made)
    return made


def _cached_render(kind: str, spec: dict[str, Any], render: Callable[[], Any]) -> Any:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    key = (kind, digest)
    # vl-convert runs one JavaScript engine, so renders are serialised anyway; the lock
    # also keeps two Streamlit sessions from building the same chart twice.
    with _RENDER_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            return _RENDERED[key]
        value = render()
        _RENDERED[key] = value
        while len(_RENDERED) > _RENDER_CACHE_SIZE:
            _RENDERED.popitem(last=False)
        return value


def chart_svg(
    chart: ChartContent, *, width: int = SVG_WIDTH, height: int | None = SVG_HEIGHT
) -> str:
    """The chart as SVG text (vl-convert: offline, no browser). Raises on failure."""
    import vl_convert as vlc

    spec = export_spec(chart, width=width, height=height)
    return _cached_render("svg", spec, lambda: vlc.vegalite_to_svg(spec))


def chart_png(
    chart: ChartContent,
    *,
    width: int = PNG_WIDTH,
    height: int | None = PNG_HEIGHT,
    scale: float = PNG_SCALE,
) -> bytes:
    """The chart as PNG bytes (vl-convert). Raises on failure."""
    import vl_convert as vlc

    spec = export_spec(chart, width=width, height=height)
    return _cached_render(f"png@{scale}", spec, lambda: vlc.vegalite_to_png(spec, scale=scale))


def icon_png(name: str, *, scale: float = 1.0) -> bytes:
    """A Making Data Count icon (SVG) as PNG, converted offline by vl-convert."""
    import vl_convert as vlc

    from metrics.spc import icon_svg

    svg = icon_svg(name)
    return _cached_render(
        "icon", {"icon": name, "scale": scale}, lambda: vlc.svg_to_png(svg, scale=scale)
    )


__all__ = [
    "chart_png",
    "chart_svg",
    "export_spec",
    "icon_png",
]
