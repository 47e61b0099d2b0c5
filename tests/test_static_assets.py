"""Streamlit's build files from memory, compressed once (metrics/ui/static_assets.py): the
bytes a browser gets are the file's, with the caching Streamlit gives hashed assets, and
every request the middleware should not answer reaches Streamlit untouched."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from metrics.ui.static_assets import (
    CACHE_CONTROL,
    NOT_KEPT,
    StaticAssetMiddleware,
    StaticAssetStore,
    accepts_gzip,
    build_relative,
    streamlit_build_dir,
)
from tests.asgi_support import call_asgi, http_scope

SCRIPT = b"function hello(){return 'board';}\n" * 200  # 7 KB: worth compressing
PASSED = b"streamlit answered"


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    (root / "js").mkdir(parents=True)
    (root / "js" / "index.abc123.js").write_bytes(SCRIPT)
    (root / "js" / "tiny.js").write_bytes(b"x=1")
    (root / "css").mkdir()
    (root / "css" / "main.css").write_bytes(b"body{margin:0}\n" * 100)
    (root / "media").mkdir()
    (root / "media" / "font.woff2").write_bytes(os.urandom(4096))
    (root / "index.html").write_bytes(b"<html></html>")
    (tmp_path / "secret.txt").write_bytes(b"not for the web" * 100)
    (root / "js" / "escape.js").symlink_to(tmp_path / "secret.txt")
    return root


def request(path: str, *, method: str = "GET", encoding: bytes = b"gzip, deflate, br", **more):
    headers = [(b"accept-encoding", encoding)] if encoding else []
    headers += [(name.replace("_", "-").encode(), value) for name, value in more.items()]
    return http_scope(path, method=method, headers=headers)


def serve(store: StaticAssetStore, scope: dict, base_url_path: str = "") -> tuple[dict, bytes]:
    """The middleware's answer, or Streamlit's (PASSED) where it lets the request by."""

    async def streamlit(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": PASSED})

    middleware = StaticAssetMiddleware(streamlit, base_url_path=base_url_path, store=store)
    return call_asgi(middleware, scope)


def headers(start: dict) -> dict[bytes, bytes]:
    return dict(start["headers"])


def test_a_script_is_sent_compressed_with_long_lived_caching(build_dir):
    start, body = serve(StaticAssetStore(build_dir), request("/static/js/index.abc123.js"))
    sent = headers(start)
    assert start["status"] == 200
    assert gzip.decompress(body) == SCRIPT
    assert len(body) < len(SCRIPT) / 5
    assert sent[b"content-encoding"] == b"gzip"
    assert sent[b"content-length"] == str(len(body)).encode()
    assert sent[b"cache-control"] == CACHE_CONTROL
    assert sent[b"vary"] == b"Accept-Encoding"
    assert sent[b"content-type"].startswith((b"text/javascript", b"application/javascript"))
    assert sent[b"etag"].startswith(b'"') and sent[b"etag"].endswith(b'"')


def test_each_file_is_read_and_compressed_once(build_dir):
    store = StaticAssetStore(build_dir)
    first = serve(store, request("/static/js/index.abc123.js"))
    (build_dir / "js" / "index.abc123.js").unlink()  # from memory from now on
    assert serve(store, request("/static/js/index.abc123.js")) == first


def test_a_font_is_sent_as_it_is(build_dir):
    start, body = serve(StaticAssetStore(build_dir), request("/static/media/font.woff2"))
    assert body == (build_dir / "media" / "font.woff2").read_bytes()
    assert b"content-encoding" not in headers(start)
    assert headers(start)[b"content-type"] == b"font/woff2"


def test_a_small_file_is_not_compressed(build_dir):
    start, body = serve(StaticAssetStore(build_dir), request("/static/js/tiny.js"))
    assert body == b"x=1" and b"content-encoding" not in headers(start)


def test_a_client_that_does_not_take_gzip_gets_streamlits_answer(build_dir):
    store = StaticAssetStore(build_dir)
    for encoding in (b"", b"identity", b"br", b"gzip;q=0"):
        assert serve(store, request("/static/js/index.abc123.js", encoding=encoding))[1] == PASSED
    # ... but an uncompressed file is the same either way, so it is served.
    assert serve(store, request("/static/js/tiny.js", encoding=b""))[1] == b"x=1"


def test_a_matching_etag_gets_not_modified(build_dir):
    store = StaticAssetStore(build_dir)
    etag = headers(serve(store, request("/static/css/main.css"))[0])[b"etag"]
    start, body = serve(store, request("/static/css/main.css", if_none_match=etag))
    assert start["status"] == 304 and body == b""
    assert headers(start)[b"etag"] == etag
    stale = serve(store, request("/static/css/main.css", if_none_match=b'"other"'))
    assert stale[0]["status"] == 200


def test_head_gets_the_headers_without_the_body(build_dir):
    store = StaticAssetStore(build_dir)
    _, body = serve(store, request("/static/js/index.abc123.js"))
    start, empty = serve(store, request("/static/js/index.abc123.js", method="HEAD"))
    assert empty == b""
    assert headers(start)[b"content-length"] == str(len(body)).encode()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/js/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static//etc/passwd",
        "/static/js/escape.js",  # a link out of the directory
        "/static/.hidden.js",
        "/static/js/",
        "/static/",
        "/static/index.html",  # pages are Streamlit's (and BackendBaseMiddleware's)
        "/static/js/missing.js",
        "/static\\js\\index.abc123.js",
        "/metric",
        "/_stcore/health",
        "/staticky/js/index.abc123.js",
    ],
)
def test_anything_else_reaches_streamlit_untouched(build_dir, path):
    assert serve(StaticAssetStore(build_dir), request(path))[1] == PASSED


def test_other_methods_and_ranges_reach_streamlit(build_dir):
    store = StaticAssetStore(build_dir)
    assert serve(store, request("/static/js/index.abc123.js", method="POST"))[1] == PASSED
    ranged = request("/static/js/index.abc123.js", range=b"bytes=0-99")
    assert serve(store, ranged)[1] == PASSED


def test_base_url_path_and_mount_point_are_honoured(build_dir):
    store = StaticAssetStore(build_dir)
    based = serve(store, request("/board/static/js/index.abc123.js"), base_url_path="board")
    assert gzip.decompress(based[1]) == SCRIPT
    mounted = dict(request("/app/static/js/index.abc123.js"), root_path="/app")
    assert gzip.decompress(serve(store, mounted)[1]) == SCRIPT
    # Without the base path configured, /board/static/... is a page, not an asset.
    assert serve(store, request("/board/static/js/index.abc123.js"))[1] == PASSED


def test_build_relative_reads_the_path_below_static():
    assert build_relative(request("/static/js/a.js"), "") == "js/a.js"
    assert build_relative(request("/board/static/js/a.js"), "/board/") == "js/a.js"
    assert build_relative(request("/metric"), "") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"gzip, deflate, br, zstd", True),
        (b"GZIP", True),
        (b"br;q=1.0, gzip;q=0.5", True),
        (b"*", True),
        (b"gzip;q=0", False),
        (b"gzip;q=0.0, br", False),
        (b"gzip;q=nonsense", False),
        (b"identity", False),
        (b"", False),
        (b"x-gzip", False),
    ],
)
def test_accept_encoding_is_read_as_http_says(header, expected):
    assert accepts_gzip(header) is expected


def test_warm_compresses_every_text_file_and_keeps_out_the_rest(build_dir):
    store = StaticAssetStore(build_dir)
    # index.abc123.js, tiny.js, main.css; not the font, the page or the link outward.
    assert store.warm() == 3
    assert store.kept("js/index.abc123.js") is not NOT_KEPT
    assert store.kept("css/main.css") is not NOT_KEPT
    assert store.kept("media/font.woff2") is NOT_KEPT
    assert store.get("js/escape.js") is None


def test_streamlits_own_build_directory_is_found_and_served():
    build = streamlit_build_dir()
    scripts = sorted((build / "js").glob("*.js"))
    assert scripts, f"no scripts in {build}"
    store = StaticAssetStore(build)
    largest = max(scripts, key=lambda path: path.stat().st_size)
    _, body = serve(store, request(f"/static/js/{largest.name}"))
    assert gzip.decompress(body) == largest.read_bytes()
    assert len(body) < largest.stat().st_size / 2
