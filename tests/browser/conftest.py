"""A real `streamlit run` server on a free port and Debian's headless Chromium.

Every request the browser makes to a host other than the app's own is recorded (and
blocked), so a test can assert that nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# True once Streamlit has finished the script run and is connected (set by Streamlit).
READY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  // Charts in a closed expander or an unselected tab are not drawn until shown.
  for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (c.offsetParent !== null && !c.querySelector('svg, canvas')) return false;
  }
  return document.querySelectorAll('[data-testid="stElementContainer"]').length > 0;
}"""


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)")
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)


def _wait_until_warm(url: str, process: subprocess.Popen[str], output: list[str]) -> None:
    """As a load balancer would: one request to /healthz, which the server answers only once
    its start-up warm is done (it prints its URL first). A page opened before that waits
    in the browser for the warm, which on a slow machine outlasts the page's own timeout."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=600):
            pass
    except urllib.error.HTTPError:
        pass  # 503 "warming": the warm ran out of time and the server serves meanwhile
    except OSError as exc:
        process.kill()
        pytest.fail(f"streamlit did not answer /healthz ({exc}):\n" + "".join(output))


@contextlib.contextmanager
def site_server(
    env: dict[str, str] | None = None, *, background_reload: bool = True
) -> Iterator[Server]:
    """`streamlit run streamlit_app.py` on a free port of 127.0.0.1, with `env` laid over
    this process's environment, stopped (and its remaining output kept) on exit. Every
    browser test's server starts here. `background_reload`: reload a changed file in the
    background as deployed (False keeps the suite's ALLIANCE_RELOAD setting)."""
    _require_chromium()
    port = _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    environment = dict(os.environ, **(env or {}))
    if background_reload:
        environment.pop("ALLIANCE_RELOAD", None)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    # Streamlit prints its URL once the server listens; reading lines blocks until then.
    for line in process.stdout:
        output.append(line)
        if "URL:" in line or "You can now view" in line:
            break
    else:
        process.kill()
        pytest.fail("streamlit did not start:\n" + "".join(output))
    _wait_until_warm(f"http://127.0.0.1:{port}", process, output)
    try:
        yield Server(f"http://127.0.0.1:{port}", process, output)
    finally:
        process.terminate()
        try:
            remaining, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            remaining, _ = process.communicate(timeout=20)
        output.append(remaining or "")


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    # The browser tests read every page: the development default, opted into explicitly.
    with site_server({"ALLIANCE_DEVELOPMENT_ACCESS": "1"}) as running:
        yield running


@dataclass
class Browser:
    context: object
    foreign_requests: list[str]
    console_errors: list[str]


@pytest.fixture(scope="session")
def browser_session(server: Server, chromium_browser) -> Iterator[Browser]:
    app_host = urllib.parse.urlparse(server.url).netloc
    foreign: list[str] = []
    console_errors: list[str] = []
    # One shared Chromium for the whole run (see tests/conftest.py).
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})

    def guard(route, request) -> None:
        host = urllib.parse.urlparse(request.url).netloc
        if request.url.startswith(("data:", "blob:")) or host == app_host:
            route.continue_()
        else:
            foreign.append(request.url)
            route.abort()

    context.route("**/*", guard)
    context.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    yield Browser(context, foreign, console_errors)
    context.close()


def open_page(browser: Browser, url: str, *, timeout_ms: int = 60_000):
    """Open `url` in a new tab and wait until Streamlit has finished running the page."""
    page = browser.context.new_page()
    page.goto(url)
    wait_ready(page, timeout_ms=timeout_ms)
    return page


def wait_ready(page, *, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(READY_JS, timeout=timeout_ms)
    # Lazy components (data grids, charts) fetch and draw after the script finishes.
    page.wait_for_load_state("networkidle", timeout=timeout_ms)
    page.wait_for_function(READY_JS, timeout=timeout_ms)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # Streamlit scrolls inside its main container, so a "full page" shot would stop at the
    # viewport: grow the viewport to the content for the shot, then put it back.
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size(
        {"width": size["width"], "height": max(size["height"], min(int(height), 8000))}
    )
    wait_ready(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
