"""The site on PostgreSQL: a real server whose board reads a throwaway PostgreSQL cluster
(the sample's files loaded by `warehouse load`, the site connecting as a SELECT-only role
with its password in PGPASSWORD). /healthz names the backend without credentials, the
Overview and Diagnostics load in Chromium with no exception, and the password appears in
no page and no server output."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from metrics.sql.remote import load_files
from metrics.validation import load_config
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, READY_JS, site_server  # noqa: F401
from tests.warehouse_support import LOADER_PASSWORD, SITE_PASSWORD, start_postgres

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site_on_postgres() -> Iterator[tuple[str, list[str], object]]:
    cluster = start_postgres()
    report = load_files(load_config(ROOT / "config").catalogue, cluster.loader_url)
    assert report.loaded
    env = {
        "ALLIANCE_DEVELOPMENT_ACCESS": "1",
        "ALLIANCE_WAREHOUSE": cluster.site_url,
        "PGPASSWORD": SITE_PASSWORD,
        "ALLIANCE_QUERY_TIMEOUT_SECONDS": "60",
    }
    try:
        with site_server(env) as running:
            yield running.url, running.output, running.process
    finally:
        cluster.stop()


def _health(url: str) -> tuple[int, dict]:
    deadline = time.monotonic() + 240
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            if time.monotonic() > deadline:
                return exc.code, json.loads(exc.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def test_the_site_serves_from_postgres(site_on_postgres, chromium_browser):
    url, output, _process = site_on_postgres
    status, body = _health(url)
    assert status == 200, body
    assert body["backend"].startswith("PostgreSQL at postgresql://alliance_site@127.0.0.1:")
    assert "referrals" in body["sources_loaded"] and not body["sources_failed"]
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        for path in ("/", "/diagnostics"):
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_function(READY_JS, timeout=120_000)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            text = page.inner_text("body")
            assert SITE_PASSWORD not in text and LOADER_PASSWORD not in text
            if path == "/diagnostics":
                assert "PostgreSQL at postgresql://alliance_site@127.0.0.1" in text
            page.close()
    finally:
        context.close()
    shown = "".join(output) + json.dumps(body)
    assert SITE_PASSWORD not in shown and LOADER_PASSWORD not in shown
