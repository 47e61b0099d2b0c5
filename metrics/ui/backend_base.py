"""Tell the page where its server is, so the browser does not look for it at the wrong
address first.

Streamlit's page does not know which part of its address is the site and which the page:
opened at /metric it first asks /metric/_stcore/health and /metric/_stcore/host-config,
gets two 404s (two errors in the browser's console, on every page but the home page), and
only then tries /. This middleware writes the answer into the HTML page itself: a small
script, before Streamlit's own, sets `window.__streamlit.BACKEND_BASE_URL` (Streamlit's
setting for a page served from elsewhere than its server), so the page asks the right
address at once.

The server knows the page's path as it received it (after any proxy that strips a prefix
such as /board), so the script takes that path off the end of the browser's address: what
is left is the site's address, whatever the proxy in front. Only a browser's request for a
page (GET, accepting HTML, outside Streamlit's own routes) is touched, and only a 200
text/html answer is rewritten; for those, compression is left out (the page is about
10 KB), so the HTML can be read and the length set right.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Streamlit's and the site's own routes: never a page.
NOT_PAGES = ("/_stcore", "/static", "/media", "/component", "/app/static", "/spc-icons/")
NOT_PAGE_FILES = ("/healthz", "/favicon.png", "/manifest.json", "/robots.txt")


def configured_base_url_path(given: str | None) -> str:
    """`given`, or else the server's configured server.baseUrlPath ('' for none)."""
    if given is not None:
        return given
    from streamlit import config

    return config.get_option("server.baseUrlPath") or ""


def site_path(path: str, scope: Scope, base_url_path: str) -> str:
    """`path` less the mount point and server.baseUrlPath: what it is within the site."""
    for prefix in (scope.get("root_path", ""), f"/{base_url_path.strip('/')}"):
        if prefix not in ("", "/") and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :]
    return path


def page_path(scope: Scope, base_url_path: str) -> str:
    """The page's part of the request's path, percent-encoded as the browser sent it and
    without trailing slashes ('' for the site's home page): the path less the mount point
    and server.baseUrlPath."""
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
    return site_path(raw.decode("latin-1").split("?", 1)[0], scope, base_url_path).rstrip("/")


def base_script(page: str) -> bytes:
    """The script that sets the page's server address: the browser's address less `page`."""
    # JSON, with <, > and & escaped: a path cannot end the script element or open another.
    served = (
        json.dumps(page)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return (
        "<script>(function(){var served=" + served + ";"
        "var path=location.pathname.replace(/\\/+$/,'');"
        "var base=served&&path.slice(-served.length)===served"
        "?path.slice(0,path.length-served.length):path;"
        "window.__streamlit=Object.assign({},window.__streamlit,"
        "{BACKEND_BASE_URL:location.origin+base+'/'});})();</script>"
    ).encode("utf-8")


def _is_page_request(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "GET":
        return False
    path = scope.get("path", "")
    if path.startswith(NOT_PAGES) or path.endswith(NOT_PAGE_FILES) or "/_stcore/" in path:
        return False
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return b"text/html" in accept


class BackendBaseMiddleware:
    """ASGI middleware: a page's HTML says where its server is (see the module's words)."""

    def __init__(self, app: ASGIApp, base_url_path: str | None = None) -> None:
        self.app = app
        self.base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_page_request(scope):
            await self.app(scope, receive, send)
            return
        script = base_script(page_path(scope, configured_base_url_path(self.base_url_path)))
        # Uncompressed, so the page can be read here (Streamlit's gzip sits inside this).
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"accept-encoding"]
        scope = dict(scope, headers=headers)
        start: dict[str, Any] | None = None
        body: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if message["status"] == 200 and content_type.startswith(b"text/html"):
                    start = dict(message)
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            html = b"".join(body)
            if b"<head>" in html:
                html = html.replace(b"<head>", b"<head>" + script, 1)
            kept = [
                (k, v)
                for k, v in start.get("headers") or []
                # The page now differs from the file: its length changes, and the file's
                # validators would no longer describe it.
                if k not in (b"content-length", b"etag", b"last-modified")
            ]
            kept.append((b"content-length", str(len(html)).encode("ascii")))
            await send(dict(start, headers=kept))
            await send({"type": "http.response.body", "body": html, "more_body": False})

        await self.app(scope, receive, rewriting_send)
