"""Roles: who sees which pages, and under which disclosure policy.

The role of a signed-in user comes from a claim of their ID token (verified by Streamlit's
OIDC sign-in), mapped in config/access.yaml. Nothing a browser sends (a query parameter,
a header) can choose a role. Unknown claim values are ignored (and reported so they can
be logged); with several known roles, the one with the most pages wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from metrics.definitions.issues import Issue

RoleName = Literal["board", "analyst", "presenter", "public"]


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
    development: bool = False  # no identity provider configured
    ignored_claims: tuple[str, ...] = field(default_factory=tuple)  # unknown role values

    @property
    def who(self) -> str:
        if self.development:
            return "development user"
        return self.email or ("signed-in user" if self.signed_in else "visitor")


def resolve_identity(
    access: AccessFile, user: Mapping[str, Any] | None, *, auth_configured: bool
) -> Identity:
    """The role for a user (st.user as a mapping), never from anything the browser sends."""
    if not auth_configured:
        return Identity(access.development_role, development=True)
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
