"""The server around the pages: warm before the first visitor, and say when it is ready.

`streamlit run streamlit_app.py` serves the app through `st.App` (streamlit_app.py makes
one when it is imported rather than run as a page), whose lifespan calls `lifespan` here:
the board is opened, validated and loaded and the default views are computed (metrics.
serving.warm) before the server accepts connections. A source that is slow to load does not
hold the server forever: after ALLIANCE_WARM_SECONDS (default 300 s) it starts anyway and
/healthz says it is still warming.

/healthz: 200 {"status": "ready", ...} once warm; 503 with "starting" or "warming"
before; either way the board version, the sources loaded and failed, validation errors and
whether a reload is under way. Nothing secret is in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from metrics.serving import health, warm_process
from metrics.spc.icons import ASSURANCE_ICONS, ICON_URL_PREFIX, icon_svg
from metrics.spc.rules import VARIATION_ICONS
from metrics.ui.components import warm_metric_pages, warm_spc_pages
from metrics.ui.equity_view import warm_equity
from metrics.ui.impact_view import warm_impact
from metrics.ui.money_view import warm_money
from metrics.ui.overview_view import warm_overview
from metrics.ui.preview import warm_editor
from metrics.ui.quality_view import warm_data_quality
from metrics.ui.static_assets import warm_static_assets

LOG = logging.getLogger("alliance_board")
DEFAULT_WARM_SECONDS = 300.0
# After the figures (metrics.serving.warm): the Overview's tables, phone cards and tiles
# (the page every visitor lands on); the charts of the pages drawn as SPC panels,
# made for the default view the way the pages make them, so their first visitor does not
# wait for a dozen charts to be built; each metric's chart on its Metric detail page (where
# every tile links); the opening charts of the Equity, Money, Impact and Data quality
# pages; and the editor's checks and previews of what it opens on (checking a candidate
# validates the whole configuration).
PAGE_WARM_STEPS = (
    ("overview tables", warm_overview),
    ("SPC panel charts", warm_spc_pages),
    ("metric page charts", warm_metric_pages),
    ("equity charts", warm_equity),
    ("money charts", warm_money),
    ("impact study", warm_impact),
    ("data quality charts", warm_data_quality),
    ("editor checks", warm_editor),
)


def config_dir() -> Path:
    """The configuration this server serves (ALLIANCE_CONFIG_DIR, or the project's)."""
    from metrics.ui.state import CONFIG_DIR

    return Path(os.environ.get("ALLIANCE_CONFIG_DIR") or CONFIG_DIR)


def _warm_seconds() -> float:
    try:
        return float(os.environ.get("ALLIANCE_WARM_SECONDS") or DEFAULT_WARM_SECONDS)
    except ValueError:
        return DEFAULT_WARM_SECONDS


def settle_first_element_check() -> None:
    """Make now the check Streamlit makes on the first element any session sends.

    Streamlit asks once per process whether it runs in a Python REPL, to warn if so, by
    inspecting the whole call stack, which resolves the path of every loaded module's file:
    with this site's libraries loaded that was about 170 ms of the first visitor's page
    (three quarters of it). Made here, under the running server, it warns of nothing and
    the first visitor does not wait for it. Left alone (Streamlit makes it as before) if
    there is no server, or if a Streamlit release has renamed the check."""
    from streamlit import delta_generator, runtime

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if runtime.exists() and callable(check):
        check()


def build_charts_unchecked() -> None:
    """Altair checks each part of a chart against the Vega-Lite schema as the part is made
    (its "debug mode", for friendlier errors while a chart is being written). That was half
    the CPU of building a chart: half of the charts' share of the start-up warm, and of a
    first visit to a view no one has opened. The site's charts come from the engine's
    builders, whose every chart the test suite checks against the schema; a server builds
    them unchecked. Notebooks and the command line keep Altair's default."""
    from altair.utils import schemapi

    schemapi.disable_debug_mode()


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Warm the board before serving (off the event loop, bounded in time)."""
    build_charts_unchecked()
    settle_first_element_check()
    warm_static_assets()
    work = asyncio.get_running_loop().run_in_executor(
        None, functools.partial(warm_process, config_dir(), more=PAGE_WARM_STEPS)
    )
    try:
        await asyncio.wait_for(asyncio.shield(work), timeout=_warm_seconds())
    except TimeoutError:
        LOG.warning(
            "the board is still warming after %.0f s; serving meanwhile (/healthz says so)",
            _warm_seconds(),
        )
    yield


async def _health(_request: Request) -> JSONResponse:
    status, body = health(config_dir())
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def health_route() -> Route:
    return Route("/healthz", _health, methods=["GET"])


ICON_NAMES = frozenset((*VARIATION_ICONS, *ASSURANCE_ICONS))


async def _icon(request: Request) -> Response:
    """One of the project's SPC icons, by name only (nothing else on disk is reachable)."""
    name = request.path_params["name"]
    stem = name.removesuffix(".svg")
    if not name.endswith(".svg") or stem not in ICON_NAMES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        icon_svg(stem),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def icon_route() -> Route:
    """The SPC icons table cells show (metrics.spc.icon_url): /spc-icons/<name>.svg."""
    return Route(f"/{ICON_URL_PREFIX}{{name}}", _icon, methods=["GET"])
