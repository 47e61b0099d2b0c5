"""Roles: who sees which pages, and under which disclosure policy.

The role of a signed-in user comes from a claim of their ID token (verified by Streamlit's
OIDC sign-in), mapped in config/access.yaml. Nothing a browser sends (a query parameter,
a header) can choose a role. Unknown claim values are ignored (and reported so they can
be logged); with several known roles, the one with the most pages wins.

Sign-in itself fails closed: `sign_in_config` reads the secrets files Streamlit reads and
says whether sign-in is configured, not configured or misconfigured. Only a configured
sign-in gives roles from tokens; a misconfigured one serves public pages only; with none,
everyone is the development role only when the operator opts in with
ALLIANCE_DEVELOPMENT_ACCESS=1, and otherwise public pages only.
"""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metrics.definitions.issues import Issue

RoleName = Literal["board", "analyst", "presenter", "public"]
SignInState = Literal["not_configured", "configured", "misconfigured"]
# Why a visitor gets public pages only although they might have had more.
Limit = Literal["", "sign_in_misconfigured", "sign_in_not_configured"]

# The explicit opt-in for the development default (everyone the development role).
DEVELOPMENT_ACCESS_ENV = "ALLIANCE_DEVELOPMENT_ACCESS"


class RoleDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    disclosure: Literal["board", "public"] = Field(description="Which disclosure policy applies.")
    pages: list[str] = Field(description="Page file stems this role may open.")


class AccessFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    claim: str = Field(default="roles", description="ID-token claim holding role names.")
    claim_values: dict[str, RoleName] = Field(default_factory=dict)
    signed_in_default: RoleName = "public"
    signed_out: RoleName = "public"
    development_role: RoleName = "analyst"
    roles: dict[RoleName, RoleDef]

    @model_validator(mode="after")
    def _public_is_controlled(self) -> AccessFile:
        for name in ("public", "presenter"):
            role = self.roles.get(name)  # type: ignore[call-overload]
            if role is not None and role.disclosure != "public":
                raise ValueError(f"role '{name}' must use the public disclosure policy")
        for name in (self.signed_in_default, self.signed_out, self.development_role):
            if name not in self.roles:
                raise ValueError(f"role '{name}' is used but not defined under roles")
        return self


@dataclass(frozen=True)
class Identity:
    """Who is using the site, as far as the server knows."""

    role: RoleName
    email: str = ""
    signed_in: bool = False
    development: bool = False  # no identity provider configured, and the operator opted in
    ignored_claims: tuple[str, ...] = field(default_factory=tuple)  # unknown role values
    limited_by: Limit = ""  # set when sign-in trouble is why only public pages are served

    @property
    def who(self) -> str:
        if self.development:
            return "development user"
        return self.email or ("signed-in user" if self.signed_in else "visitor")


def resolve_identity(
    access: AccessFile,
    user: Mapping[str, Any] | None,
    *,
    auth_configured: bool,
    development_access: bool = False,
) -> Identity:
    """The role for a user (st.user as a mapping), never from anything the browser sends.

    Without sign-in, everyone gets the development role only if the operator opted in;
    otherwise the public role (failing closed rather than open).
    """
    if not auth_configured:
        if development_access:
            return Identity(access.development_role, development=True)
        return Identity("public", limited_by="sign_in_not_configured")
    if not user or not user.get("is_logged_in"):
        return Identity(access.signed_out)
    claimed = user.get(access.claim, [])
    if isinstance(claimed, str):
        claimed = [claimed]
    if not isinstance(claimed, list | tuple):
        claimed = []
    known = [
        access.claim_values[v] for v in claimed if isinstance(v, str) and v in access.claim_values
    ]
    ignored = tuple(
        str(v) for v in claimed if not (isinstance(v, str) and v in access.claim_values)
    )
    email = str(user.get("email") or "")
    if not known:
        return Identity(access.signed_in_default, email, True, ignored_claims=ignored)
    best = max(known, key=lambda name: len(access.roles[name].pages))
    return Identity(best, email, True, ignored_claims=ignored)


def identity_for(
    access: AccessFile,
    user: Mapping[str, Any] | None,
    sign_in: SignInConfig,
    *,
    development_access: bool,
) -> Identity:
    """The role for this session given the state of sign-in. A misconfigured sign-in
    serves public pages only, whatever the user or the development opt-in says: the
    user's claims cannot be trusted to come from a working sign-in."""
    if sign_in.state == "misconfigured":
        return Identity("public", limited_by="sign_in_misconfigured")
    return resolve_identity(
        access,
        user,
        auth_configured=sign_in.state == "configured",
        development_access=development_access,
    )


def allowed_pages(access: AccessFile, identity: Identity) -> list[str]:
    return list(access.roles[identity.role].pages)


def load_access(path: Path) -> tuple[AccessFile | None, list[Issue]]:
    """Read config/access.yaml; problems come back as Issues with positions."""
    from pydantic import ValidationError

    from metrics.definitions.yaml_positions import YamlSyntaxError, load_yaml

    display = f"{path.parent.name}/{path.name}"
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [Issue("error", "parse", display, "file not found")]
    except YamlSyntaxError as exc:
        return None, [Issue("error", "parse", display, str(exc), line=exc.line, column=exc.column)]
    try:
        return AccessFile.model_validate(loaded.data or {}), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            position = loaded.position(tuple(error["loc"]))
            issues.append(
                Issue(
                    "error",
                    "schema",
                    display,
                    str(error["msg"]).removeprefix("Value error, "),
                    line=position.line,
                    column=position.column,
                    field=".".join(str(p) for p in error["loc"]),
                )
            )
        return None, issues


# --- Sign-in configuration -------------------------------------------------------------
#
# Streamlit's st.login reads an [auth] table from its secrets files (the `secrets.files`
# option; by default ~/.streamlit/secrets.toml then <cwd>/.streamlit/secrets.toml, later
# files replacing earlier top-level keys). Streamlit itself swallows a broken file (sign-in
# just stops working), so this reads the same files independently and says what is wrong,
# without ever repeating a value from them: they hold the client and cookie secrets.

GENERAL_AUTH_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
# Tables inside [auth] that configure the default provider rather than name a provider.
_PROVIDER_SETTING_TABLES = frozenset({"client_kwargs"})
_TOML_POSITION = re.compile(r"\(at (?:line (\d+), column (\d+)|end of document)\)$")
# tomllib quotes the offending character in two messages; it may sit inside a secret.
_TOML_QUOTED_CHARACTER = re.compile(r"^((?:Found invalid|Illegal) character) .*$")


@dataclass(frozen=True)
class SignInProblem:
    """Why sign-in is misconfigured, for the operator: a file, a line and key names,
    never a value."""

    file: str
    message: str
    line: int = 0  # 1-based; 0 when unknown
    keys: tuple[str, ...] = ()

    def format_text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.message}"
        if self.keys:
            text += f" ({', '.join(self.keys)})"
        return text


@dataclass(frozen=True)
class SignInConfig:
    """The state of sign-in as configured in Streamlit's secrets files."""

    state: SignInState
    files: tuple[str, ...] = ()  # the secrets files (or folders) that were found
    # Providers for st.login: "default" for keys directly in [auth] (st.login()), else the
    # name of an [auth.<provider>] table (st.login(name)).
    providers: tuple[str, ...] = ()
    problems: tuple[SignInProblem, ...] = ()

    def summary(self) -> str:
        return "; ".join(problem.format_text() for problem in self.problems)


def default_secrets_files(cwd: Path | None = None, home: Path | None = None) -> list[str]:
    """Streamlit's default `secrets.files`: the user's, then the project's (the folder the
    server was started in). The site passes Streamlit's own option value instead."""
    home = home if home is not None else Path.home()
    cwd = cwd if cwd is not None else Path.cwd()
    return [str(home / ".streamlit" / "secrets.toml"), str(cwd / ".streamlit" / "secrets.toml")]


def development_access_requested(environ: Mapping[str, str] | None = None) -> bool:
    """True when the operator opted in to the development default with
    ALLIANCE_DEVELOPMENT_ACCESS=1 (any other value is not an opt-in)."""
    environ = os.environ if environ is None else environ
    return environ.get(DEVELOPMENT_ACCESS_ENV, "").strip() == "1"


def sign_in_config(paths: Iterable[str | os.PathLike[str]] | None = None) -> SignInConfig:
    """Classify sign-in from the secrets files Streamlit would read (`paths`, in order;
    Streamlit's defaults when None). Mirrors Streamlit's loading: a `.toml` path may be
    absent; any other path must be a folder of Kubernetes-style secrets."""
    paths = default_secrets_files() if paths is None else [os.fspath(p) for p in paths]
    merged: dict[str, Any] = {}
    texts: dict[str, str] = {}  # file -> TOML text, to find lines for key problems
    origin: dict[str, str] = {}  # top-level key -> the file that supplied it
    found: list[str] = []
    problems: list[SignInProblem] = []
    for path in paths:
        if path.endswith(".toml"):
            loaded = _read_toml(path, problems)
            if loaded is None:
                continue
            text, data = loaded
            found.append(path)
            texts[path] = text
        elif os.path.isdir(path):
            data = _read_secrets_folder(path, problems)
            if data is None:
                continue
            if data:
                found.append(path)
        else:
            problems.append(SignInProblem(path, "is neither a .toml file nor a folder of secrets"))
            continue
        # Streamlit merges files with dict.update: a later [auth] replaces an earlier one.
        merged.update(data)
        origin.update(dict.fromkeys(data, path))
    if problems:
        return SignInConfig("misconfigured", tuple(found), problems=tuple(problems))
    if not found or "auth" not in merged:
        return SignInConfig("not_configured", tuple(found))
    auth_file = origin["auth"]
    return classify_auth(
        merged["auth"], source=auth_file, text=texts.get(auth_file, ""), files=tuple(found)
    )


def classify_secrets(
    secrets: Mapping[str, Any], *, source: str = "st.secrets", text: str = ""
) -> SignInConfig:
    """Classify sign-in from secrets already loaded (e.g. AppTest's in-memory secrets)."""
    if "auth" not in secrets:
        return SignInConfig("not_configured", (source,))
    return classify_auth(secrets["auth"], source=source, text=text, files=(source,))


def classify_auth(
    auth: Any, *, source: str, text: str = "", files: tuple[str, ...] = ()
) -> SignInConfig:
    """Check an [auth] table as st.login would need it: redirect_uri and cookie_secret,
    and at least one provider (client_id, client_secret, server_metadata_url) directly in
    [auth] or in [auth.<provider>] tables. Empty values and wrong types count as missing
    here, though Streamlit would only fail later, at sign-in."""
    files = files or (source,)
    if not isinstance(auth, Mapping):
        problem = SignInProblem(
            source,
            f"auth must be a table ([auth]), not {_type_name(auth)}",
            _line_of(text, (), "auth"),
        )
        return SignInConfig("misconfigured", files, problems=(problem,))
    problems: list[SignInProblem] = []
    header = _line_of(text, ("auth",))
    _check_keys(auth, GENERAL_AUTH_KEYS, ("auth",), source, text, header, problems)
    redirect = auth.get("redirect_uri")
    if isinstance(redirect, str) and redirect.strip() and not _is_callback_url(redirect):
        problems.append(
            SignInProblem(
                source,
                "redirect_uri must be an http(s) URL ending in /oauth2callback",
                _line_of(text, ("auth",), "redirect_uri") or header,
                ("redirect_uri",),
            )
        )

    providers: list[str] = []
    tables = {
        name: value
        for name, value in auth.items()
        if isinstance(value, Mapping) and name not in _PROVIDER_SETTING_TABLES
    }
    flat = [key for key in PROVIDER_KEYS if key in auth]
    # st.login() uses [auth.default] if there is one, else the keys directly in [auth].
    if flat and "default" not in tables:
        _check_provider(auth, ("auth",), source, text, header, problems)
        providers.append("default")
    for name, table in tables.items():
        path = ("auth", name)
        line = _line_of(text, path) or header
        if "_" in name:
            # Streamlit refuses provider names with an underscore at sign-in.
            problems.append(
                SignInProblem(
                    source, f"provider name {name!r} must not contain an underscore", line
                )
            )
            continue
        _check_provider(table, path, source, text, line, problems)
        providers.append(name)
    if not flat and not tables:
        problems.append(
            SignInProblem(
                source,
                "no identity provider: set these in [auth] or in an [auth.<provider>] table",
                header,
                PROVIDER_KEYS,
            )
        )
    if problems:
        return SignInConfig("misconfigured", files, problems=tuple(problems))
    return SignInConfig("configured", files, providers=tuple(providers))


def _check_provider(
    table: Mapping[str, Any],
    path: tuple[str, ...],
    source: str,
    text: str,
    line: int,
    problems: list[SignInProblem],
) -> None:
    _check_keys(table, PROVIDER_KEYS, path, source, text, line, problems)
    url = table.get("server_metadata_url")
    if (
        isinstance(url, str)
        and url.strip()
        and urllib.parse.urlparse(url).scheme not in {"http", "https"}
    ):
        key = _dotted(path, "server_metadata_url")
        problems.append(
            SignInProblem(
                source,
                f"{key} must be an http(s) URL",
                _line_of(text, path, "server_metadata_url") or line,
                (key,),
            )
        )
    kwargs = table.get("client_kwargs")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        problems.append(
            SignInProblem(
                source,
                f"{_dotted(path, 'client_kwargs')} must be a table, not {_type_name(kwargs)}",
                _line_of(text, path, "client_kwargs") or line,
                (_dotted(path, "client_kwargs"),),
            )
        )


def _check_keys(
    table: Mapping[str, Any],
    keys: tuple[str, ...],
    path: tuple[str, ...],
    source: str,
    text: str,
    line: int,
    problems: list[SignInProblem],
) -> None:
    """Missing, empty and non-string keys, each kind as one problem naming the keys."""
    missing = tuple(_dotted(path, key) for key in keys if key not in table)
    empty = tuple(
        _dotted(path, key)
        for key in keys
        if isinstance(table.get(key), str) and not table[key].strip()
    )
    wrong = [(key, table[key]) for key in keys if key in table and not isinstance(table[key], str)]
    if missing:
        problems.append(SignInProblem(source, "missing keys", line, missing))
    if empty:
        first = next(k for k in keys if _dotted(path, k) == empty[0])
        problems.append(
            SignInProblem(source, "empty keys", _line_of(text, path, first) or line, empty)
        )
    for key, value in wrong:
        problems.append(
            SignInProblem(
                source,
                f"must be a string, not {_type_name(value)}",
                _line_of(text, path, key) or line,
                (_dotted(path, key),),
            )
        )


def _read_toml(path: str, problems: list[SignInProblem]) -> tuple[str, dict[str, Any]] | None:
    """(text, data) of one secrets file; None when it is absent or broken (a broken one
    adds a problem). Messages carry positions, never the file's content."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None  # one of the default paths is usually absent
    except OSError as exc:
        problems.append(SignInProblem(path, f"cannot be read ({exc.strerror or 'error'})"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problems.append(SignInProblem(path, "is not UTF-8 text", line))
        return None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = 0
        if match:
            message = message[: match.start()].strip()
            line = int(match.group(1)) if match.group(1) else text.count("\n") + 1
        if message == "Illegal character '\\n'":
            message = "a string is not closed before the end of the line"
        message = _TOML_QUOTED_CHARACTER.sub(r"\1", message)
        problems.append(SignInProblem(path, f"is not valid TOML: {message}", line))
        return None


def _read_secrets_folder(path: str, problems: list[SignInProblem]) -> dict[str, Any] | None:
    """A folder of Kubernetes-style secrets, read as Streamlit reads it: each subfolder is
    a key, each file in it a value (one file collapses to a plain value)."""
    secrets: dict[str, Any] = {}
    try:
        for name in sorted(os.listdir(path)):
            folder = os.path.join(path, name)
            if not os.path.isdir(folder):
                problems.append(SignInProblem(folder, "is not a folder (secrets folder entry)"))
                return None
            values: dict[str, str] = {}
            for filename in sorted(os.listdir(folder)):
                file_path = os.path.join(folder, filename)
                if os.path.isdir(file_path):
                    continue
                values[filename] = Path(file_path).read_text(encoding="utf-8").strip()
            if values:
                secrets[name] = next(iter(values.values())) if len(values) == 1 else values
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
        problems.append(SignInProblem(path, f"cannot be read ({reason})"))
        return None
    return secrets


def _is_callback_url(value: str) -> bool:
    # Streamlit fills in "{port}" itself; its callback route is /oauth2callback.
    parsed = urllib.parse.urlparse(value.replace("{port}", "8501"))
    return (
        parsed.scheme in {"http", "https"}
        and bool(parsed.netloc)
        and parsed.path.endswith("/oauth2callback")
    )


def _dotted(path: tuple[str, ...], key: str) -> str:
    return ".".join((*path, key))


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", list: "an array"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    return "a date or time"


def _line_of(text: str, table: tuple[str, ...], key: str | None = None) -> int:
    """Best-effort 1-based line of a [table] header, or of `key = ...` inside it (0 when
    not found, e.g. for dotted keys or inline tables)."""
    if not text:
        return 0
    lines = text.splitlines()
    start = 0  # index of the first line of the table's body
    if table:
        parts = r"\s*\.\s*".join(rf"[\"']?{re.escape(part)}[\"']?" for part in table)
        header = re.compile(rf"^\s*\[\s*{parts}\s*\]")
        for index, line in enumerate(lines):
            if header.match(line):
                start = index + 1
                break
        else:
            return 0
        if key is None:
            return start
    if key is None:
        return 0
    key_line = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for index in range(start, len(lines)):
        if lines[index].lstrip().startswith("["):
            break  # the next table: the key is not in this one
        if key_line.match(lines[index]):
            return index + 1
    return 0
