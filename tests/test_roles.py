"""Roles under AppTest's user mocking: each role gets only its pages, the development
default is labelled, unknown and forged claims give no extra access, and nothing in the
URL can choose a role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics.access import AccessFile, load_access, resolve_identity

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "alliance-board",
    "client_secret": "not-a-secret",
    "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
}


@pytest.fixture(autouse=True)
def audit_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("ALLIANCE_AUDIT_LOG", str(path))
    return path


def run_as(user: dict | None, *, page: str | None = None, **params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    if user is not None:
        app.secrets["auth"] = AUTH
        app.user = user
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def can_open(app: AppTest, page: str) -> bool:
    try:
        app.switch_page(page)
    except ValueError:  # not registered for this session
        return False
    return True


@pytest.fixture(scope="module")
def access() -> AccessFile:
    loaded, issues = load_access(ROOT / "config" / "access.yaml")
    assert issues == []
    return loaded


def test_development_default_is_an_analyst_and_says_so():
    app = run_as(None)
    assert any("Development default" in w.value for w in app.sidebar.warning)
    assert can_open(app, "pages/editor.py")


def test_board_member_sees_board_pages_but_not_analyst_tools():
    app = run_as({"is_logged_in": True, "email": "chair@nhs.net", "roles": ["Alliance.Board"]})
    assert any("chair@nhs.net" in c.value.replace("\u2060", "") for c in app.sidebar.caption)
    assert can_open(app, "pages/equity.py")
    assert not can_open(app, "pages/editor.py")
    assert not can_open(app, "pages/diagnostics.py")


def test_analyst_gets_the_analyst_tools():
    app = run_as({"is_logged_in": True, "email": "a@nhs.net", "roles": ["Alliance.Analyst"]})
    assert can_open(app, "pages/editor.py") and can_open(app, "pages/diagnostics.py")


@pytest.mark.parametrize(
    "user",
    [
        {"is_logged_in": True, "email": "p@nhs.net", "roles": ["Alliance.Presenter"]},
        {"is_logged_in": True, "email": "x@nhs.net", "roles": ["Alliance.Superuser"]},  # unknown
        {"is_logged_in": True, "email": "y@nhs.net"},  # no role claim
        {"is_logged_in": False},  # not signed in
    ],
    ids=["presenter", "unknown-role", "no-claim", "signed-out"],
)
def test_public_roles_see_only_public_pages(user):
    app = run_as(user)
    assert not can_open(app, "pages/overview.py")
    assert not can_open(app, "pages/editor.py")
    assert not can_open(app, "pages/metric.py")


def test_role_in_the_url_is_ignored_and_logged(audit_log):
    app = run_as({"is_logged_in": True, "email": "z@nhs.net", "roles": []}, role="analyst")
    assert not can_open(app, "pages/editor.py")
    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert any(e["action"] == "refused_role_parameter" and e["who"] == "z@nhs.net" for e in entries)


def test_unknown_claims_are_logged(audit_log):
    run_as({"is_logged_in": True, "email": "q@nhs.net", "roles": ["Alliance.Board", "Admin"]})
    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert any(e["action"] == "ignored_role_claims" and e["values"] == ["Admin"] for e in entries)


def test_most_privileged_known_role_wins(access):
    user = {"is_logged_in": True, "roles": ["Alliance.Presenter", "Alliance.Analyst"]}
    assert resolve_identity(access, user, auth_configured=True).role == "analyst"


def test_a_claim_of_the_wrong_type_gives_no_access(access):
    user = {"is_logged_in": True, "roles": {"Alliance.Analyst": True}}
    assert resolve_identity(access, user, auth_configured=True).role == "public"


def test_public_roles_must_use_the_public_disclosure_policy(tmp_path):
    text = (
        (ROOT / "config" / "access.yaml")
        .read_text()
        .replace(
            "    title: Public\n    disclosure: public", "    title: Public\n    disclosure: board"
        )
    )
    path = tmp_path / "access.yaml"
    path.write_text(text)
    access, issues = load_access(path)
    assert access is None
    assert any("public disclosure policy" in i.message for i in issues)


def test_a_path_in_a_query_parameter_is_refused_and_logged(audit_log):
    app = run_as(None, page="pages/metric.py", metric="../../etc/passwd")
    assert app.title[0].value  # the page still shows its first metric
    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert any(e["action"] == "refused_parameter" and e["what"] == "metric" for e in entries)


def test_readers_get_a_calm_notice_when_the_last_good_board_is_served(tmp_path, monkeypatch):
    import shutil

    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(config))
    monkeypatch.setenv("ALLIANCE_DATA_DIR", str(ROOT / "sample_data"))
    (config / "metrics" / "access.yaml").write_text(
        (config / "metrics" / "access.yaml").read_text().replace("better: up", "better: [up", 1)
    )
    board_user = {"is_logged_in": True, "email": "chair@nhs.net", "roles": ["Alliance.Board"]}
    app = run_as(board_user)
    captions = " ".join(c.value for c in app.caption)
    assert "analysts fix a problem" in captions
    assert not any("access.yaml" in t.value for t in app.text)  # no file or line for readers
    analyst = run_as(None)
    assert any("access.yaml" in t.value for t in analyst.text)
