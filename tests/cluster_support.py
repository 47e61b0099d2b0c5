"""Helpers for tests that run real site processes: HAProxy's presence, a page run over
Streamlit's websocket protocol (as the browser speaks it), plain HTTP with a cookie, and
which addresses a port listens on."""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = Path("/usr/sbin/haproxy")


def require_haproxy() -> None:
    """Skip locally with a reason when HAProxy is absent; fail in CI, which installs it."""
    if HAPROXY.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("CI needs HAProxy at /usr/sbin/haproxy (.ci/run installs it with apt-get)")
    pytest.skip("HAProxy is not installed at /usr/sbin/haproxy (apt-get install haproxy)")


def sample_config_copy(target: Path) -> Path:
    """A writable copy of the sample configuration reading the repository's sample data
    (by absolute path, so every process reads the same files); returns its folder."""
    config = target / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    sources = config / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    assert "data_dir: ../sample_data" in text
    sources.write_text(
        text.replace("data_dir: ../sample_data", f"data_dir: {ROOT / 'sample_data'}"),
        encoding="utf-8",
    )
    return config


def site_env() -> dict[str, str]:
    """The environment for site processes under test: every page open (the development
    default) and configuration changes reloaded in the background, as deployed."""
    env = dict(os.environ, ALLIANCE_DEVELOPMENT_ACCESS="1")
    env.pop("ALLIANCE_RELOAD", None)
    return env


@dataclass
class Reply:
    status: int
    body: bytes
    set_cookies: dict[str, str] = field(default_factory=dict)


def http_get(url: str, cookie: str | None = None, timeout: float = 30.0) -> Reply:
    """GET with an optional Cookie header; the cookies the response sets."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        jar: SimpleCookie = SimpleCookie()
        for header in reply.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return Reply(reply.status, reply.read(), {k: m.value for k, m in jar.items()})


@dataclass
class Run:
    """One script run of one page over the websocket."""

    finished: bool
    payload: bytes  # every message the server sent, concatenated (text is UTF-8 inside)
    set_cookies: dict[str, str]
    exceptions: int  # exception elements in the page
    page_not_found: bool
    primary_color: str = ""  # the theme the server runs with (its .streamlit/config.toml)
    main_script_path: str = ""


def page_run(
    port: int, page: str = "", query: str = "", cookie: str | None = None, timeout: float = 120
) -> Run:
    """Connect to /_stcore/stream (through HAProxy or straight to a process), ask for a run
    of `page` and read until the script has finished. A blocking client: no event loop,
    so it works beside Playwright's sync API (which keeps one running in this thread)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    request = BackMsg()
    request.rerun_script.page_name = page
    request.rerun_script.query_string = query
    payload: list[bytes] = []
    finished = not_found = False
    exceptions = 0
    primary_color = main_script = ""
    deadline = time.monotonic() + timeout
    with connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        subprotocols=["streamlit"],  # type: ignore[list-item]
        additional_headers={"Cookie": cookie} if cookie else None,
        max_size=None,
        open_timeout=timeout,
    ) as socket_:
        jar: SimpleCookie = SimpleCookie()
        for header in socket_.response.headers.get_all("Set-Cookie"):
            jar.load(header)
        socket_.send(request.SerializeToString())
        while True:
            raw = socket_.recv(timeout=max(deadline - time.monotonic(), 0.001))
            data = raw if isinstance(raw, bytes) else raw.encode()
            payload.append(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            if kind == "page_not_found":
                not_found = True
            if kind == "new_session":
                primary_color = message.new_session.custom_theme.primary_color
                main_script = message.new_session.main_script_path
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                exceptions += message.delta.new_element.WhichOneof("type") == "exception"
            if kind == "script_finished":
                finished = True
                break
    return Run(
        finished,
        b"".join(payload),
        {k: m.value for k, m in jar.items()},
        exceptions,
        not_found,
        primary_color,
        main_script,
    )


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every listening TCP socket on `port` (from /proc/net)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            found.add(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    if width == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    if hex_address == "0" * 32:
        return "::"
    if hex_address[:24] == "0000000000000000FFFF0000":  # IPv4-mapped
        return "::ffff:" + _address(hex_address[24:], 8)
    return hex_address
