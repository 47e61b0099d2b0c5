"""More than one process: N site processes behind HAProxy (metrics/launcher.py, `make
serve`), with cookie affinity, health checks on the warm /healthz, configuration edits
reaching every process, and a process that dies taken out of service.

The tests that start processes need Debian's HAProxy: skipped locally without it, failed
in CI (which installs it)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from metrics import launcher
from metrics.launcher import Cluster, haproxy_config, health
from tests.cluster_support import (
    ROOT,
    http_get,
    listening_addresses,
    page_run,
    require_haproxy,
    sample_config_copy,
    site_env,
)

START_TIMEOUT = 600.0  # two processes warming on a shared two-core machine
RELOAD_TIMEOUT = 300.0


# ---------------------------------------------------------------- the configuration


def test_the_haproxy_config_has_affinity_health_checks_and_tunnel_timeouts(tmp_path):
    text = haproxy_config("127.0.0.1:8080", [("s1", 9001), ("s2", 9002)], tmp_path / "sock")
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert "bind 127.0.0.1:8080" in lines
    assert any(line.startswith("cookie SERVERID insert indirect nocache") for line in lines), (
        "cookie-based session affinity"
    )
    assert "option httpchk GET /healthz" in lines
    assert "http-check expect status 200" in lines
    assert "option redispatch" in lines
    assert any(line.startswith("timeout tunnel ") for line in lines)
    assert "server s1 127.0.0.1:9001 cookie s1" in lines
    assert "server s2 127.0.0.1:9002 cookie s2" in lines
    assert "$" not in text  # every placeholder filled


def test_haproxy_accepts_the_written_config(tmp_path):
    require_haproxy()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        haproxy_config("127.0.0.1:8080", [("s1", 9001), ("s2", 9002)], tmp_path / "sock")
    )
    check = subprocess.run(
        ["/usr/sbin/haproxy", "-c", "-f", str(config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_site_processes_are_started_on_loopback_only():
    command = launcher.streamlit_command(9001)
    at = command.index("--server.address")
    assert command[at + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "9001"
    assert Path(command[command.index("run") + 1]) == ROOT / "streamlit_app.py"
    ports = launcher.free_ports(8)
    assert len(set(ports)) == 8


def test_make_serve_starts_the_launcher_with_n_processes():
    # Under `make test` this make is a sub-make: it would print "Entering directory" lines
    # (and inherit the outer make's flags) unless told not to.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "serve", "N=4", "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert dry.returncode == 0, dry.stderr
    command = dry.stdout.strip().splitlines()[-1]
    assert "-m metrics.launcher serve" in command
    assert "--processes 4" in command and "--port 8123" in command


# ---------------------------------------------------------------- two processes, running


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    require_haproxy()
    base = tmp_path_factory.mktemp("cluster")
    config = sample_config_copy(base)
    running = Cluster(
        processes=2, config_dir=config, env=site_env(), workdir=base, folder=base / "run"
    )
    running.start(timeout=START_TIMEOUT)
    try:
        yield running
    finally:
        running.stop()


def _healthy(cluster: Cluster) -> None:
    """Each test starts from two warm processes, both in service."""
    for backend in cluster.backends:
        if not backend.alive():
            cluster.restart(backend.name, timeout=START_TIMEOUT)
        cluster.wait_status(backend.name, "UP", timeout=60)


def test_every_server_listens_on_loopback_only(cluster):
    for port in [cluster.port, *(b.port for b in cluster.backends)]:
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= {"127.0.0.1"}, (port, addresses)


def test_each_process_is_warm_and_serves_the_same_board(cluster):
    _healthy(cluster)
    bodies = [health(b.url)[1] for b in cluster.backends]
    assert all(body["status"] == "ready" for body in bodies)
    assert len({body["board"] for body in bodies}) == 1  # the same configuration
    assert len({tuple(body["sources_loaded"]) for body in bodies}) == 1
    assert bodies[0]["metrics"] > 0 and bodies[0]["sources_failed"] == []
    status, body = health(cluster.url)
    assert status == 200 and body["board"] == bodies[0]["board"]


def test_a_browser_keeps_to_the_process_its_cookie_names(cluster):
    _healthy(cluster)
    # Fresh visitors are spread over both processes, each told which one in a cookie.
    seen = {http_get(cluster.url + "/").set_cookies.get("SERVERID") for _ in range(4)}
    assert seen == {"s1", "s2"}
    for name in ("s1", "s2"):
        other = "s2" if name == "s1" else "s1"
        before = cluster.stats()
        for _ in range(3):
            reply = http_get(cluster.url + "/_stcore/health", cookie=f"SERVERID={name}")
            assert reply.status == 200
            assert "SERVERID" not in reply.set_cookies  # already where it should be
        run = page_run(cluster.port, cookie=f"SERVERID={name}")  # the websocket, too
        assert run.finished and not run.page_not_found and run.exceptions == 0
        after = cluster.stats()
        assert int(after[name]["stot"]) - int(before[name]["stot"]) == 4
        assert int(after[other]["stot"]) == int(before[other]["stot"])


def _first_metric(config: Path) -> tuple[Path, str, str]:
    path = config / "metrics" / "access.yaml"
    metric = yaml.safe_load(path.read_text(encoding="utf-8"))["metrics"][0]
    return path, metric["id"], metric["title"]


def test_a_configuration_edit_reaches_every_process(cluster):
    _healthy(cluster)
    config = Path(cluster.environment["ALLIANCE_CONFIG_DIR"])
    path, metric_id, title = _first_metric(config)
    new_title = f"{title} (edited for the two-process test)"
    before = {b.name: health(b.url)[1]["board"] for b in cluster.backends}
    text = path.read_text(encoding="utf-8")
    assert text.count(f"title: {title}\n") == 1
    path.write_text(text.replace(f"title: {title}\n", f"title: {new_title}\n"), encoding="utf-8")

    # Each process watches the files itself: the next page it serves notices the change
    # and the board is reloaded in the background; /healthz's "board" then changes.
    deadline = time.monotonic() + RELOAD_TIMEOUT
    for backend in cluster.backends:
        while True:
            status, body = health(backend.url)
            if body.get("board") not in (None, before[backend.name]) and not body["reloading"]:
                break
            assert time.monotonic() < deadline, f"{backend.name} did not reload: {body}"
            page_run(backend.port, "metric", f"metric={metric_id}")  # a visitor
            time.sleep(0.5)
        assert status == 200
        run = page_run(backend.port, "metric", f"metric={metric_id}")
        assert run.finished and run.exceptions == 0
        assert new_title.encode() in run.payload, backend.name
        assert body["errors"] == 0 and not body["serving_last_good"]
    boards = {health(b.url)[1]["board"] for b in cluster.backends}
    assert len(boards) == 1  # both serve the same, new board


def test_a_process_that_dies_is_taken_out_of_service(cluster):
    _healthy(cluster)
    victim = http_get(cluster.url + "/").set_cookies["SERVERID"]
    survivor = "s2" if victim == "s1" else "s1"
    cluster.kill(victim)
    try:
        # A browser whose cookie names the dead process is served by the other one (the
        # connection is refused, and HAProxy redispatches), and told so in a new cookie.
        reply = http_get(cluster.url + "/", cookie=f"SERVERID={victim}")
        assert reply.status == 200 and reply.set_cookies.get("SERVERID") == survivor
        # Its page (the websocket) reconnects to the survivor and runs there.
        run = page_run(cluster.port, cookie=f"SERVERID={victim}")
        assert run.finished and run.exceptions == 0
        assert run.set_cookies.get("SERVERID") == survivor
        # The health check marks the dead process down; every new page load succeeds.
        cluster.wait_status(victim, "DOWN", timeout=60)
        for _ in range(4):
            reply = http_get(cluster.url + "/")
            assert reply.status == 200 and reply.set_cookies["SERVERID"] == survivor
            assert page_run(cluster.port, cookie=f"SERVERID={survivor}").finished
        assert health(cluster.url)[0] == 200
    finally:
        # Started again, it is back in service once warm.
        cluster.restart(victim, timeout=START_TIMEOUT)
    cluster.wait_status(victim, "UP", timeout=60)
    assert cluster.backend(victim).restarts == 1


# Every value the page's connection and script states take, and what the status widget
# and any dialog say meanwhile, recorded by the page itself (a reconnection can take well under a
# second: polling from the test could miss it).
RECORD_JS = """() => {
  window.__seen = [];
  const note = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const widget = document.querySelector('[data-testid="stStatusWidget"]');
    const dialog = document.querySelector('[role="dialog"]');
    const entry = [
      app ? app.getAttribute('data-test-connection-state') : null,
      app ? app.getAttribute('data-test-script-state') : null,
      widget ? widget.innerText.trim() : '',
      dialog ? dialog.innerText.trim().slice(0, 200) : '',
    ].join(' | ');
    if (window.__seen[window.__seen.length - 1] !== entry) window.__seen.push(entry);
  };
  new MutationObserver(note).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  note();
}"""


@pytest.mark.browser
def test_a_reader_whose_process_dies_is_reconnected_to_another(cluster, chromium_browser):
    """What the reader sees: the page stays on screen while it finds a live process (the
    connection goes from "pinging the server" to "connecting" to connected, in about a
    second) and is not run again; the reader's next step (here a filter change) runs on
    the new process. No error, no "Connection error" dialog."""
    from tests.browser.conftest import ARTIFACTS, READY_JS

    _healthy(cluster)
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(cluster.url + "/")
        page.wait_for_function(READY_JS, timeout=120_000)
        victim = {c["name"]: c["value"] for c in context.cookies()}["SERVERID"]
        survivor = "s2" if victim == "s1" else "s1"
        page.evaluate(RECORD_JS)
        cluster.kill(victim)
        # Reconnected: the cookie names the survivor and the page has run again there.
        deadline = time.monotonic() + 120
        while {c["name"]: c["value"] for c in context.cookies()}.get("SERVERID") != survivor:
            assert time.monotonic() < deadline, page.evaluate("() => window.__seen")
            page.wait_for_timeout(100)
        page.wait_for_function(READY_JS, timeout=120_000)
        # The page stays as it was (Streamlit reconnects without running it again); the
        # reader's next step runs on the survivor, with the filters the page shows.
        page.get_by_test_id("stSelectbox").first.click()
        choice = page.get_by_role("option").nth(1)
        neighbourhood = choice.inner_text().strip()
        choice.click()
        page.wait_for_url("**lcn=**", timeout=60_000)
        page.wait_for_function(READY_JS, timeout=120_000)
        seen = page.evaluate("() => window.__seen")
        states = [entry.split(" | ")[0] for entry in seen]
        assert states[0] == "CONNECTED" and states[-1] == "CONNECTED"
        assert any(state != "CONNECTED" for state in states), seen  # it did reconnect
        assert "DISCONNECTED_FOREVER" not in states, seen
        assert not any(entry.split(" | ")[3] for entry in seen), seen  # no dialog
        reconnected = next(i for i, s in enumerate(states) if s != "CONNECTED")
        assert "running" in [entry.split(" | ")[1] for entry in seen[reconnected:]], seen
        assert neighbourhood in page.inner_text("body")
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "could not be shown" not in page.inner_text("body")
        assert "synthetic" in page.inner_text("body").lower()  # the page is there
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "cluster_after_failover.png"))
        (ARTIFACTS / "cluster_failover_states.txt").write_text("\n".join(seen) + "\n")
    finally:
        context.close()
        cluster.restart(victim, timeout=START_TIMEOUT)
