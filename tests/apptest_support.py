"""Shared AppTest helpers for page tests: open a page through the entry point."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def run_page(page: str, *, timeout: int = 90, **params: str) -> AppTest:
    """Run the app with `params` in the URL, switch to `page`, and fail on an exception."""
    app = AppTest.from_file(str(APP), default_timeout=timeout)
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app
