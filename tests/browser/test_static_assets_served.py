"""A new visitor's browser gets Streamlit's scripts compressed, from memory, cacheable for
a year (metrics/ui/static_assets.py), and the page they make works: in Chromium, against
the site's server, in a fresh context (an empty cache, as a board member's first visit)."""

from __future__ import annotations

import pytest

from metrics.ui.static_assets import MIN_COMPRESS_BYTES, streamlit_build_dir
from tests.browser.conftest import wait_ready

pytestmark = pytest.mark.browser


def test_a_first_visit_gets_every_script_compressed_and_the_page_works(chromium_browser, server):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    scripts: list = []
    failed: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "response",
            lambda r: scripts.append(r) if "/static/js/" in r.url and r.status == 200 else None,
        )
        page.on(
            "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        page.goto(server.url + "/")
        wait_ready(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Needs the board's attention" in page.inner_text("body")
        assert failed == []
        assert len(scripts) > 20, "Streamlit's page loads its scripts in many chunks"
        for response in scripts:
            sent = response.all_headers()
            name = response.url.rsplit("/static/", 1)[1].split("?")[0]
            if (streamlit_build_dir() / name).stat().st_size >= MIN_COMPRESS_BYTES:
                assert sent.get("content-encoding") == "gzip", response.url
            assert "immutable" in sent.get("cache-control", ""), response.url
            assert sent.get("etag"), response.url
        # What the browser unpacked is the file on disk, byte for byte.
        largest = max(scripts, key=lambda r: int(r.all_headers().get("content-length", 0)))
        name = largest.url.rsplit("/static/", 1)[1].split("?")[0]
        assert largest.body() == (streamlit_build_dir() / name).read_bytes()
    finally:
        context.close()
