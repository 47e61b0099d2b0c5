"""Sign-in fails closed: every state of the secrets files (none, good, broken TOML,
missing keys, provider tables, wrong types) is classified as Streamlit would load it, a
misconfiguration serves public pages only and tells the operator (file, line, keys; never
a value), and the development default needs ALLIANCE_DEVELOPMENT_ACCESS=1."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from metrics.access import (
    DEVELOPMENT_ACCESS_ENV,
    AccessFile,
    SignInConfig,
    default_secrets_files,
    development_access_requested,
    identity_for,
    load_access,
    sign_in_config,
)
from metrics.ui import state

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
PAGES = [
    "overview",
    "outcomes",
    "access",
    "crisis",
    "equity",
    "money",
    "data_quality",
    "impact",
    "metric",
    "showcase",
    "catalogue",
    "editor",
    "diagnostics",
]
BOARD_PAGES = set(PAGES) - {"catalogue", "editor", "diagnostics"}
# Distinctive values: no problem message, notice or log line may ever contain them.
SECRET = "s3cret-Do-Not-Print-7f3a"
COOKIE = "cookie-Do-Not-Print-91c2"
GOOD = f"""\
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "{COOKIE}"
client_id = "alliance-board"
client_secret = "{SECRET}"
server_metadata_url = "https://login.example.invalid/.well-known/openid-configuration"
"""
PROVIDER_STYLE = f"""\
[auth]
redirect_uri = "https://board.example.nhs.uk/oauth2callback"
cookie_secret = "{COOKIE}"

[auth.entra]
client_id = "alliance-board"
client_secret = "{SECRET}"
server_metadata_url = "https://login.example.invalid/.well-known/openid-configuration"
"""
# An unterminated string on line 3: the classic typo.
BROKEN = f"""\
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "{COOKIE}
client_secret = "{SECRET}"
"""
MISSING_KEYS = f"""\
[database]
password = "{SECRET}"

[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
client_id = "alliance-board"
client_secret = "{SECRET}"
"""
AUTH = {  # AppTest's in-memory secrets, as in tests/test_roles.py
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": COOKIE,
    "client_id": "alliance-board",
    "client_secret": SECRET,
    "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
}


def write(folder: Path, text: str, name: str = "secrets.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_no_secret(text: str) -> None:
    assert SECRET not in text and COOKIE not in text
    assert "Do-Not-Print" not in text  # not even part of a value


# --- the engine: sign_in_config on real files -------------------------------------------


def test_no_secrets_files_is_not_configured(tmp_path):
    config = sign_in_config([tmp_path / "home.toml", tmp_path / "project.toml"])
    assert config == SignInConfig("not_configured")


def test_secrets_without_an_auth_table_are_not_configured(tmp_path):
    path = write(tmp_path, f'[database]\npassword = "{SECRET}"\n')
    config = sign_in_config([path])
    assert config.state == "not_configured"
    assert config.files == (str(path),)
    assert config.problems == ()


def test_good_secrets_are_configured_for_the_default_provider(tmp_path):
    config = sign_in_config([tmp_path / "absent.toml", write(tmp_path, GOOD)])
    assert config.state == "configured"
    assert config.providers == ("default",)
    assert config.problems == ()


def test_provider_tables_are_configured_by_name(tmp_path):
    config = sign_in_config([write(tmp_path, PROVIDER_STYLE)])
    assert config.state == "configured"
    assert config.providers == ("entra",)


def test_broken_toml_is_misconfigured_with_file_and_line_but_no_value(tmp_path):
    path = write(tmp_path, BROKEN)
    config = sign_in_config([path])
    assert config.state == "misconfigured"
    (problem,) = config.problems
    assert problem.file == str(path)
    assert problem.line == 3
    assert "not valid TOML" in problem.message
    assert_no_secret(config.summary())
    assert_no_secret(repr(config))


def test_a_broken_file_fails_even_when_another_file_is_good(tmp_path):
    # Streamlit loads nothing when any file is broken, so sign-in would not work at all.
    home = write(tmp_path / "home", GOOD)
    project = write(tmp_path / "project", 'title = "unterminated\n')
    config = sign_in_config([home, project])
    assert config.state == "misconfigured"
    assert [p.file for p in config.problems] == [str(project)]


def test_missing_keys_are_named_with_the_auth_header_line(tmp_path):
    path = write(tmp_path, MISSING_KEYS)
    config = sign_in_config([path])
    assert config.state == "misconfigured"
    missing = {key for problem in config.problems for key in problem.keys}
    assert missing == {"auth.cookie_secret", "auth.server_metadata_url"}
    assert {problem.line for problem in config.problems} == {4}  # the [auth] line
    assert all(problem.file == str(path) for problem in config.problems)
    assert_no_secret(config.summary())


def test_an_empty_auth_table_is_misconfigured(tmp_path):
    config = sign_in_config([write(tmp_path, "[auth]\n")])
    assert config.state == "misconfigured"
    keys = {key for problem in config.problems for key in problem.keys}
    assert {"auth.redirect_uri", "auth.cookie_secret", "client_id", "client_secret"} <= keys


def test_a_provider_table_with_a_missing_key_is_misconfigured(tmp_path):
    text = PROVIDER_STYLE.replace(f'client_secret = "{SECRET}"\n', "")
    config = sign_in_config([write(tmp_path, text)])
    assert config.state == "misconfigured"
    (problem,) = config.problems
    assert problem.keys == ("auth.entra.client_secret",)
    assert problem.line == 5  # the [auth.entra] line


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (f'cookie_secret = "{COOKIE}"', "cookie_secret = 12345", "auth.cookie_secret", "string"),
        (f'client_secret = "{SECRET}"', 'client_secret = "  "', "auth.client_secret", "empty"),
        (
            'redirect_uri = "http://localhost:8501/oauth2callback"',
            'redirect_uri = "http://localhost:8501/"',
            "redirect_uri",
            "/oauth2callback",
        ),
        (
            'server_metadata_url = "https://',
            'server_metadata_url = "ftp://',
            "auth.server_metadata_url",
            "http(s) URL",
        ),
    ],
    ids=["wrong-type", "empty", "redirect-path", "metadata-scheme"],
)
def test_wrong_types_and_empty_values_are_misconfigured(tmp_path, old, new, key, message):
    assert old in GOOD
    config = sign_in_config([write(tmp_path, GOOD.replace(old, new))])
    assert config.state == "misconfigured"
    (problem,) = config.problems
    assert problem.keys == (key,)
    assert message in problem.message
    assert problem.line > 0
    assert_no_secret(config.summary())


def test_auth_that_is_not_a_table_is_misconfigured(tmp_path):
    config = sign_in_config([write(tmp_path, f'auth = "{SECRET}"\n')])
    assert config.state == "misconfigured"
    assert "must be a table" in config.problems[0].message
    assert config.problems[0].line == 1
    assert_no_secret(config.summary())


def test_a_later_file_replaces_an_earlier_auth_table(tmp_path):
    # Streamlit merges the files with dict.update: the project's [auth] wins whole.
    home = write(tmp_path / "home", GOOD)
    project = write(tmp_path / "project", MISSING_KEYS)
    assert sign_in_config([home, project]).state == "misconfigured"
    other = write(tmp_path / "other", f'[database]\npassword = "{SECRET}"\n')
    assert sign_in_config([home, other]).state == "configured"


def test_an_unreadable_secrets_file_is_misconfigured(tmp_path):
    folder = tmp_path / "secrets.toml"  # a folder where Streamlit expects a file
    folder.mkdir()
    config = sign_in_config([folder])
    assert config.state == "misconfigured"
    assert "cannot be read" in config.problems[0].message


def test_a_secrets_path_that_is_neither_toml_nor_a_folder_is_misconfigured(tmp_path):
    config = sign_in_config([tmp_path / "secrets.txt"])
    assert config.state == "misconfigured"
    assert "neither a .toml file nor a folder" in config.problems[0].message


def test_folder_secrets_are_read_as_streamlit_reads_them(tmp_path):
    folder = tmp_path / "mounted"
    for key, value in AUTH.items():
        write(folder / "auth", value, key)
    config = sign_in_config([folder])
    assert config.state == "configured"
    assert config.providers == ("default",)


def test_default_paths_are_streamlits_defaults(tmp_path):
    assert default_secrets_files(cwd=tmp_path / "project", home=tmp_path / "home") == [
        str(tmp_path / "home" / ".streamlit" / "secrets.toml"),
        str(tmp_path / "project" / ".streamlit" / "secrets.toml"),
    ]


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        (GOOD, True),
        (PROVIDER_STYLE, True),
        (MISSING_KEYS, False),
        (GOOD.replace('client_id = "alliance-board"\n', ""), False),
        ("[auth]\n", False),
    ],
    ids=["flat", "provider-table", "missing-keys", "no-client-id", "empty-auth"],
)
def test_configured_means_streamlits_own_check_passes(tmp_path, monkeypatch, text, usable):
    """The classification agrees with Streamlit's validate_auth_credentials (what st.login
    runs), on a fresh secrets store so the process-wide one is untouched."""
    from streamlit import auth_util
    from streamlit.errors import StreamlitAuthError
    from streamlit.runtime.secrets import Secrets

    path = write(tmp_path, text)
    config = sign_in_config([path])
    assert (config.state == "configured") is usable
    fresh = Secrets()
    fresh._file_watchers_installed = True  # no polling threads for a temporary file
    monkeypatch.setattr(auth_util, "secrets_singleton", fresh)
    with patch_config_options({"secrets.files": [str(path)]}):
        for provider in config.providers or ("default",):
            if usable:
                auth_util.validate_auth_credentials(provider)
            else:
                with pytest.raises(StreamlitAuthError):
                    auth_util.validate_auth_credentials(provider)


def test_streamlit_also_fails_to_load_a_broken_file(tmp_path):
    from streamlit.runtime.secrets import Secrets

    path = write(tmp_path, BROKEN)
    fresh = Secrets()
    with patch_config_options({"secrets.files": [str(path)]}):
        assert fresh.load_if_toml_exists() is False  # Streamlit swallows it...
    assert sign_in_config([path]).state == "misconfigured"  # ...this does not


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), (" 1 ", True), ("", False), ("0", False), ("true", False), ("yes", False)],
)
def test_only_one_opts_in_to_development_access(value, expected):
    assert development_access_requested({DEVELOPMENT_ACCESS_ENV: value}) is expected
    assert development_access_requested({}) is False


# --- the engine: which identity each state gives ----------------------------------------


@pytest.fixture(scope="module")
def access() -> AccessFile:
    loaded, issues = load_access(ROOT / "config" / "access.yaml")
    assert issues == [] and loaded is not None
    return loaded


CONFIGURED = SignInConfig("configured", providers=("default",))
NOT_CONFIGURED = SignInConfig("not_configured")
MISCONFIGURED = SignInConfig("misconfigured")
BOARD_USER = {"is_logged_in": True, "email": "chair@nhs.net", "roles": ["Alliance.Board"]}


@pytest.mark.parametrize("opt_in", [False, True], ids=["no-opt-in", "opt-in"])
def test_misconfigured_is_public_even_with_the_opt_in_or_a_user(access, opt_in):
    identity = identity_for(access, BOARD_USER, MISCONFIGURED, development_access=opt_in)
    assert identity.role == "public"
    assert not identity.development and not identity.signed_in
    assert identity.limited_by == "sign_in_misconfigured"


def test_not_configured_without_the_opt_in_is_public(access):
    identity = identity_for(access, None, NOT_CONFIGURED, development_access=False)
    assert (identity.role, identity.development) == ("public", False)
    assert identity.limited_by == "sign_in_not_configured"


def test_not_configured_with_the_opt_in_is_the_development_role(access):
    identity = identity_for(access, None, NOT_CONFIGURED, development_access=True)
    assert (identity.role, identity.development) == (access.development_role, True)
    assert identity.limited_by == ""


def test_configured_ignores_the_opt_in(access):
    visitor = identity_for(access, None, CONFIGURED, development_access=True)
    assert (visitor.role, visitor.development) == (access.signed_out, False)
    member = identity_for(access, BOARD_USER, CONFIGURED, development_access=True)
    assert (member.role, member.signed_in, member.development) == ("board", True, False)


def test_configured_unknown_claims_are_public_and_reported(access):
    user = {"is_logged_in": True, "email": "x@nhs.net", "roles": ["Alliance.Superuser"]}
    identity = identity_for(access, user, CONFIGURED, development_access=False)
    assert identity.role == access.signed_in_default == "public"
    assert identity.ignored_claims == ("Alliance.Superuser",)


# --- the site under AppTest -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_reports(monkeypatch) -> Iterator[None]:
    """Each test is a fresh process as far as the once-per-process reports go, and the
    process-wide Streamlit secrets store is left as it was found."""
    from streamlit.runtime.secrets import secrets_singleton

    monkeypatch.setattr(state, "_SIGN_IN_REPORTED", set())
    yield
    secrets_singleton._reset()


@pytest.fixture
def no_opt_in(monkeypatch) -> None:
    monkeypatch.delenv(DEVELOPMENT_ACCESS_ENV, raising=False)


def run_site(
    secrets_files: list[Path], *, user: dict | None = None, secrets: dict | None = None
) -> AppTest:
    """The site as `streamlit run` with `secrets_files` as Streamlit's secrets.files
    (AppTest's in-memory `secrets`, when given, stand in for the files, as in
    tests/test_roles.py)."""
    app = AppTest.from_file(APP, default_timeout=120)
    if secrets is not None:
        app.secrets.update(secrets)
    if user is not None:
        app.user = user
    with patch_config_options({"secrets.files": [str(p) for p in secrets_files]}):
        app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def openable(app: AppTest) -> set[str]:
    """The pages registered for this session (switch_page refuses any other)."""
    pages = set()
    for stem in PAGES:
        try:
            app.switch_page(f"pages/{stem}.py")
        except ValueError:
            continue
        pages.add(stem)
    return pages


def page_text(app: AppTest) -> str:
    kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error")
    parts = [str(element.value) for kind in kinds for element in getattr(app, kind)]
    parts += [str(element.value) for kind in kinds for element in getattr(app.sidebar, kind)]
    return "\n".join(parts)


def audit_entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_site_not_configured_without_opt_in_serves_public_pages_with_a_notice(
    tmp_path, no_opt_in, caplog
):
    with caplog.at_level(logging.WARNING, logger="alliance_board"):
        app = run_site([tmp_path / "absent.toml"])
    assert openable(app) == {"showcase"}
    notices = [w.value for w in app.warning]
    assert any(
        "Sign-in is not configured" in n and "ALLIANCE_DEVELOPMENT_ACCESS=1" in n for n in notices
    )
    assert not any("Development default" in w.value for w in app.sidebar.warning)
    assert not [b for b in app.sidebar.button if "Sign in" in str(b.label)]
    assert "sign-in is not configured" in caplog.text


def test_site_not_configured_with_opt_in_is_the_development_default(tmp_path, monkeypatch):
    monkeypatch.setenv(DEVELOPMENT_ACCESS_ENV, "1")
    app = run_site([tmp_path / "absent.toml"])
    assert openable(app) == set(PAGES)
    assert any("Development default" in w.value for w in app.sidebar.warning)
    assert not any("Sign-in is" in w.value for w in app.warning)


@pytest.mark.parametrize("opt_in", ["", "1"], ids=["no-opt-in", "opt-in"])
def test_site_with_a_broken_secrets_file_serves_public_pages_and_tells_the_operator(
    tmp_path, monkeypatch, caplog, _audit_log_in_tmp, opt_in
):
    monkeypatch.setenv(DEVELOPMENT_ACCESS_ENV, opt_in)
    path = write(tmp_path / "project" / ".streamlit", BROKEN)
    with caplog.at_level(logging.ERROR, logger="alliance_board"):
        files = [tmp_path / "home.toml", path]
        app = run_site(files)
        with patch_config_options({"secrets.files": [str(p) for p in files]}):
            app.run()  # a second run (any widget change): reported once, not again
    assert openable(app) == {"showcase"}
    assert any(
        w.value.startswith("Sign-in is misconfigured, so only public pages are served")
        for w in app.warning
    )
    assert not any("Development default" in w.value for w in app.sidebar.warning)
    assert not app.sidebar.button  # no "Sign in": it could only fail
    shown = page_text(app)
    assert str(tmp_path) not in shown and "secrets.toml" not in shown  # no paths for visitors
    assert_no_secret(shown)
    # The operator: the server log and, once, the audit log, with file and line.
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"{path}:3" in message for message in errors)
    assert (DEVELOPMENT_ACCESS_ENV in " ".join(errors)) is bool(opt_in)  # the opt-in ignored
    assert_no_secret(caplog.text)
    entries = [
        e for e in audit_entries(_audit_log_in_tmp) if e["action"] == "sign_in_misconfigured"
    ]
    assert len(entries) == 1
    assert any(re.search(rf"{re.escape(str(path))}:3: ", p) for p in entries[0]["problems"])
    assert_no_secret(json.dumps(entries))


def test_site_with_missing_auth_keys_is_public_only(tmp_path, no_opt_in, caplog):
    with caplog.at_level(logging.ERROR, logger="alliance_board"):
        app = run_site(
            [], secrets={"auth": {k: v for k, v in AUTH.items() if k != "cookie_secret"}}
        )
    assert openable(app) == {"showcase"}
    assert any("Sign-in is misconfigured" in w.value for w in app.warning)
    assert "auth.cookie_secret" in caplog.text
    assert_no_secret(caplog.text)


def test_site_with_good_secrets_takes_the_role_from_the_claims(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(DEVELOPMENT_ACCESS_ENV, "1")  # ignored: sign-in is configured
    with caplog.at_level(logging.WARNING, logger="alliance_board"):
        board = run_site([], secrets={"auth": AUTH}, user=BOARD_USER)
    assert openable(board) == BOARD_PAGES
    assert any("chair@nhs.net" in c.value.replace("\u2060", "") for c in board.sidebar.caption)
    assert not any("Development default" in w.value for w in board.sidebar.warning)
    assert f"{DEVELOPMENT_ACCESS_ENV}=1 is ignored because sign-in is configured" in caplog.text
    visitor = run_site([], secrets={"auth": AUTH}, user={"is_logged_in": False})
    assert openable(visitor) == {"showcase"}
    assert not any("Sign-in is" in w.value for w in visitor.warning)  # nothing is wrong


def test_site_with_unknown_role_claims_is_public_and_logged(_audit_log_in_tmp):
    user = {"is_logged_in": True, "email": "x@nhs.net", "roles": ["Alliance.Superuser"]}
    app = run_site([], secrets={"auth": AUTH}, user=user)
    assert openable(app) == {"showcase"}
    entries = audit_entries(_audit_log_in_tmp)
    assert any(
        e["action"] == "ignored_role_claims" and e["values"] == ["Alliance.Superuser"]
        for e in entries
    )


def test_make_run_opts_in_to_development_access():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert f"{DEVELOPMENT_ACCESS_ENV}=1" in recipe and "streamlit run" in recipe
