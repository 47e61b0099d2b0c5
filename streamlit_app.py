"""Alliance Board: the entry point.

Streamlit runs this file for every run of every session, and compiles it again for each
new session (it clears its script cache when a session starts), so it only hands over to
`metrics.ui.site`, which Python compiles once: page config, sign-in and roles, shared
filters and the page registry are there.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from metrics.ui.site import main

if __name__ == "__main__":
    # A run of the page script for one session (Streamlit runs this file as __main__).
    main(Path(__file__).parent)
else:
    # `streamlit run streamlit_app.py` (and `make run`) imports this file to serve it: the
    # server opens, validates and loads the board and computes the default views before
    # it accepts its first visitor, and /healthz says whether it is warm and what is
    # missing (a probe for load balancers and Kubernetes).
    from starlette.middleware import Middleware

    from metrics.ui.backend_base import BackendBaseMiddleware
    from metrics.ui.server import health_route, icon_route, lifespan
    from metrics.ui.static_assets import StaticAssetMiddleware

    app = st.App(
        __file__,
        lifespan=lifespan,
        routes=[health_route(), icon_route()],
        middleware=[
            # Streamlit's scripts from memory, compressed once: a new visitor's 125 files
            # cost the server a fraction of what Streamlit's own static route spends.
            Middleware(StaticAssetMiddleware),
            # A page's HTML says where its server is: no 404 probes from every page but home.
            Middleware(BackendBaseMiddleware),
        ],
    )
