"""Streamlit's own scripts and styles, served from memory and compressed once.

A browser's first visit fetches about 125 of Streamlit's hashed script chunks, fonts and
styles (4.7 MB). Streamlit serves each from disk through its whole request stack and,
to spare its CPU, uncompressed: about 400 ms of the server's CPU per new visitor, eight
times what the page's own run costs, and 4.7 MB down an NHS Wi-Fi link instead of about
1.3 MB. Twenty board members opening the link together would queue behind 8 s of it.

This middleware answers those requests first. Each file is read and gzip-compressed once
per process (by `warm_static_assets` at start-up, in a thread of its own, or on its first
request) and then sent from memory, with the long-lived caching Streamlit gives hashed
assets and an ETag for revalidation. Only the files of Streamlit's build directory are
reachable, by names of plain characters; anything else (HTML, ranges, other methods,
a client that does not take gzip, a file the directory lacks) goes on to Streamlit as
before.
"""

from __future__ import annotations

import asyncio
import enum
import gzip
import hashlib
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from metrics.ui.backend_base import configured_base_url_path, site_path

LOG = logging.getLogger(__name__)

# Streamlit names its build files by content hash, so a name is one content for ever.
CACHE_CONTROL = b"public, immutable, max-age=31536000"
# Text that compresses; fonts (woff2) and images already are compressed.
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt", ".wasm"})
# Below this a compressed body saves less than its headers cost.
MIN_COMPRESS_BYTES = 1024
GZIP_LEVEL = 9  # paid once per file per process
# A path below /static/: plain names only (no '..', no empty or hidden segments).
SAFE_RELATIVE = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Asset:
    """One build file as it is sent: gzip-compressed (or raw where that is no smaller)."""

    body: bytes
    gzipped: bool
    content_type: bytes
    etag: bytes


class NotKept(enum.Enum):
    """The store has not looked at a path yet (None means it looked: not servable)."""

    NOT_KEPT = enum.auto()


NOT_KEPT = NotKept.NOT_KEPT


class StaticAssetStore:
    """The build directory's files, each read and compressed once, kept thread-safely."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir.resolve()
        self._assets: dict[str, Asset | None] = {}
        self._lock = threading.Lock()

    def get(self, relative: str) -> Asset | None:
        """The asset at `relative` (a path below the build directory), or None when it is
        not a servable file there."""
        known = self.kept(relative)
        if known is not NOT_KEPT:
            return known
        asset = self._load(relative)
        with self._lock:
            return self._assets.setdefault(relative, asset)

    def kept(self, relative: str) -> Asset | NotKept | None:
        """What is kept for `relative` without reading anything: its asset, None (known
        not to be servable), or NOT_KEPT (not looked at yet)."""
        return self._assets.get(relative, NOT_KEPT)

    def warm(self) -> int:
        """Read and compress every compressible file (a new visitor's first page then
        costs the server no compression); returns how many are kept."""
        count = 0
        for path in sorted(self.build_dir.rglob("*")):
            if path.is_file() and path.suffix in COMPRESSIBLE:
                relative = path.relative_to(self.build_dir).as_posix()
                if SAFE_RELATIVE.fullmatch(relative) and self.get(relative) is not None:
                    count += 1
        return count

    def _load(self, relative: str) -> Asset | None:
        if not SAFE_RELATIVE.fullmatch(relative) or relative.endswith((".html", ".htm")):
            return None
        path = (self.build_dir / relative).resolve()
        if not path.is_relative_to(self.build_dir) or not path.is_file():
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:
            LOG.warning("static asset %s could not be read: %s", relative, exc)
            return None
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in (
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ):
            content_type += "; charset=utf-8"
        body, gzipped = raw, False
        if path.suffix in COMPRESSIBLE and len(raw) >= MIN_COMPRESS_BYTES:
            # mtime=0: the same file gives the same bytes in every process, so one ETag.
            packed = gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
            if len(packed) < len(raw):
                body, gzipped = packed, True
        etag = b'"' + hashlib.blake2b(raw, digest_size=12).hexdigest().encode("ascii") + b'"'
        return Asset(body, gzipped, content_type.encode("ascii"), etag)


def streamlit_build_dir() -> Path:
    """Where Streamlit keeps the hashed files its pages load (<static dir>/static)."""
    from streamlit import file_util

    return Path(file_util.get_static_dir()) / "static"


_STORE: StaticAssetStore | None = None
_STORE_LOCK = threading.Lock()


def shared_store() -> StaticAssetStore:
    """The process's one store of Streamlit's build files."""
    global _STORE
    with _STORE_LOCK:
        if _STORE is None:
            _STORE = StaticAssetStore(streamlit_build_dir())
        return _STORE


def warm_static_assets() -> None:
    """Start-up: compress every build file in a thread of its own (zlib works outside
    Python's lock, so it overlaps the board's warm-up on another core)."""

    def work() -> None:
        try:
            count = shared_store().warm()
            LOG.info("%d static assets compressed and kept in memory", count)
        except OSError as exc:  # a missing or unreadable build directory: served as before
            LOG.warning("static assets not warmed: %s", exc)

    threading.Thread(target=work, name="static-assets-warm", daemon=True).start()


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value
    return b""


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an Accept-Encoding header takes gzip (by name or '*', with q above 0)."""
    for part in accept_encoding.lower().split(b","):
        coding, _, params = part.partition(b";")
        if coding.strip() not in (b"gzip", b"*"):
            continue
        quality = 1.0
        for param in params.split(b";"):
            name, _, value = param.strip().partition(b"=")
            if name == b"q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False


def build_relative(scope: Scope, base_url_path: str) -> str | None:
    """The path below Streamlit's build directory that the request asks for, or None
    when it is not a request for one (the path less any mount point and base path must
    be /static/<name>)."""
    path = site_path(scope.get("path", ""), scope, base_url_path)
    if not path.startswith("/static/"):
        return None
    return path[len("/static/") :]


class StaticAssetMiddleware:
    """ASGI middleware: Streamlit's build files from memory, gzip-compressed once (see the
    module's words); every other request goes on to Streamlit untouched."""

    def __init__(
        self,
        app: ASGIApp,
        base_url_path: str | None = None,
        store: StaticAssetStore | None = None,
    ) -> None:
        self.app = app
        self.base_url_path = base_url_path
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        relative = build_relative(scope, configured_base_url_path(self.base_url_path))
        if relative is None or _header(scope, b"range"):
            await self.app(scope, receive, send)
            return
        store = self.store or shared_store()
        asset = store.kept(relative)
        if asset is NOT_KEPT:
            # A first request reads and compresses off the event loop.
            asset = await asyncio.to_thread(store.get, relative)
        refused = (
            asset is not None
            and asset.gzipped
            and not accepts_gzip(_header(scope, b"accept-encoding"))
        )
        if asset is None or refused:
            await self.app(scope, receive, send)
            return
        headers = [
            (b"content-type", asset.content_type),
            (b"cache-control", CACHE_CONTROL),
            (b"etag", asset.etag),
            (b"vary", b"Accept-Encoding"),
            (b"x-content-type-options", b"nosniff"),
        ]
        if asset.etag in _header(scope, b"if-none-match"):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if asset.gzipped:
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(asset.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else asset.body
        await send({"type": "http.response.body", "body": body})
