"""One HTTP request through an ASGI app, in a test, without a server."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from starlette.types import ASGIApp


def http_scope(
    path: str,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    **more: Any,
) -> dict:
    """The scope of an HTTP request for `path`; `more` sets or overrides scope keys."""
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "headers": list(headers or []),
        **more,
    }


def call_asgi(app: ASGIApp, scope: dict) -> tuple[dict, bytes]:
    """Send `scope` (with an empty request body) to `app`; returns the response's start
    message and its whole body."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    # In a thread of its own: the browser tests' Playwright keeps an event loop running in
    # the main thread for the whole session, and asyncio.run refuses to start inside one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body
