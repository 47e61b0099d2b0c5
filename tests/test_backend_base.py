"""A page's HTML says where its server is (metrics/ui/backend_base.py): the script is put
into the page a browser asks for, and nothing else Streamlit serves is touched."""

from __future__ import annotations

import pytest

from metrics.ui.backend_base import BackendBaseMiddleware, base_script, page_path
from tests.asgi_support import call_asgi, http_scope

INDEX = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"
BROWSER_ACCEPT = b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def scope(path: str, *, method: str = "GET", accept: bytes = BROWSER_ACCEPT, **more) -> dict:
    headers = [(b"accept", accept), (b"accept-encoding", b"gzip, br")]
    return http_scope(path, method=method, headers=headers, **more)


def serve(
    request: dict,
    *,
    status: int = 200,
    content_type: bytes = b"text/html",
    chunks: tuple[bytes, ...] = (INDEX,),
) -> tuple[dict, bytes, dict]:
    """Run the middleware around an app that answers with `chunks`; returns the response's
    start message, its body and the scope the app was given."""
    seen: dict = {}

    async def app(scope, receive, send):
        seen.update(scope)
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(sum(map(len, chunks))).encode()),
            (b"etag", b'"file-etag"'),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for number, chunk in enumerate(chunks):
            more = number < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    start, body = call_asgi(BackendBaseMiddleware(app, base_url_path=""), request)
    return start, body, seen


def header(start: dict, name: bytes) -> bytes | None:
    return dict(start["headers"]).get(name)


def test_a_page_gets_the_script_before_streamlits_own():
    start, body, seen = serve(scope("/metric"))
    script = base_script("/metric")
    assert body == INDEX.replace(b"<head>", b"<head>" + script, 1)
    assert body.index(script) < body.index(b"<title>")
    assert header(start, b"content-length") == str(len(body)).encode()
    assert header(start, b"etag") is None  # the page is no longer the file
    assert header(start, b"cache-control") == b"no-cache"
    # The page is asked for uncompressed, so it can be read here.
    assert b"accept-encoding" not in dict(seen["headers"])


def test_a_page_sent_in_parts_is_put_together():
    start, body, _ = serve(scope("/equity"), chunks=(INDEX[:20], INDEX[20:50], INDEX[50:]))
    assert body == INDEX.replace(b"<head>", b"<head>" + base_script("/equity"), 1)
    assert header(start, b"content-length") == str(len(body)).encode()


@pytest.mark.parametrize(
    "request_scope",
    [
        scope("/_stcore/health"),
        scope("/metric/_stcore/host-config"),
        scope("/static/js/index.js"),
        scope("/spc-icons/common_cause.svg"),
        scope("/healthz"),
        scope("/metric", method="POST"),
        scope("/metric", method="HEAD"),
        scope("/metric", accept=b"*/*"),  # not a browser asking for a page
        {"type": "websocket", "path": "/_stcore/stream", "headers": []},
    ],
    ids=lambda s: f"{s.get('method', s['type'])} {s['path']}",
)
def test_nothing_but_a_page_is_touched(request_scope):
    start, body, seen = serve(request_scope)
    assert body == INDEX and header(start, b"etag") == b'"file-etag"'
    assert seen["headers"] == request_scope["headers"]


def test_an_answer_that_is_not_a_page_is_passed_on_as_it_is():
    for status, content_type in ((404, b"text/html"), (200, b"application/json")):
        start, body, _ = serve(scope("/metric"), status=status, content_type=content_type)
        assert body == INDEX and start["status"] == status


@pytest.mark.parametrize(
    ("path", "base_url_path", "root_path", "page"),
    [
        ("/", "", "", ""),
        ("/metric", "", "", "/metric"),
        ("/metric/", "", "", "/metric"),
        ("/board", "board", "", ""),
        ("/board/", "board", "", ""),
        ("/board/metric", "board", "", "/metric"),
        ("/board/metric", "/board/", "", "/metric"),
        ("/mounted/equity", "", "/mounted", "/equity"),
        ("/boardroom", "board", "", "/boardroom"),  # a prefix only at a / boundary
        ("/South%20East", "", "", "/South%20East"),  # as the browser sent it, encoded
    ],
)
def test_the_pages_part_of_the_path(path, base_url_path, root_path, page):
    request = scope(path, root_path=root_path)
    assert page_path(request, base_url_path) == page


def test_a_hostile_path_cannot_end_the_script():
    script = base_script("/x</script><script>alert(1)</script>&\u2028")
    inner = script[len(b"<script>") : -len(b"</script>")]
    assert b"</script" not in inner and b"<script" not in inner
    assert b"\\u003c/script\\u003e" in inner and b"\\u0026" in inner and b"\\u2028" in inner
