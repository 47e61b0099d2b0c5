"""The Overview's icon cells are short addresses on the site (spc-icons/<name>.svg), served
by the site's own route, not data URIs a screen reader would read out (issue 16, req 7)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from metrics.exports.tables import for_file
from metrics.spc import icon_svg, icon_url
from metrics.ui.server import ICON_NAMES, icon_route
from tests.apptest_support import run_page


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(Starlette(routes=[icon_route()]))


@pytest.mark.parametrize("name", sorted(ICON_NAMES))
def test_every_icon_is_served_as_svg(client, name):
    reply = client.get("/" + icon_url(name))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("image/svg+xml")
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.text == icon_svg(name)


@pytest.mark.parametrize(
    "path",
    [
        "/spc-icons/unknown.svg",
        "/spc-icons/pass",
        "/spc-icons/pass.txt",
        "/spc-icons/..%2F..%2Fconfig%2Faccess.yaml",
        "/spc-icons/%2E%2E%2Ficons.py",
    ],
)
def test_nothing_else_is_reachable(client, path):
    assert client.get(path).status_code == 404


def test_unknown_icon_names_are_refused():
    with pytest.raises(ValueError, match="unknown SPC icon"):
        icon_url("../secrets")


def test_overview_cells_are_icon_addresses_and_files_leave_them_out():
    app = run_page("pages/overview.py")
    tables = [d.value for d in app.dataframe if "Variation" in d.value.columns]
    assert tables
    cells = [
        c
        for t in tables
        for c in t[["Variation", "Assurance"]].to_numpy().ravel()
        if c  # no icon: an empty cell, not None (which the data grid writes as "None")
    ]
    every = [c for t in tables for c in t[["Variation", "Assurance"]].to_numpy().ravel()]
    assert all(isinstance(c, str) for c in every) and "" in every
    assert cells and all(c.startswith("spc-icons/") and c.endswith(".svg") for c in cells)
    assert not any(str(c).startswith("data:") for c in cells)
    assert {"Variation", "Assurance"}.isdisjoint(for_file(tables[0]).columns)
