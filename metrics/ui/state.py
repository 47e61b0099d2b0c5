"""Board access and the shared filters (period and neighbourhood), kept in the URL.

Filters are widgets created once in the entry point with fixed keys, so they keep their
values across pages; they are initialised from the URL on a fresh session and written
back to it on every run, so any view can be shared as a link.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from metrics import audit
from metrics.access import (
    DEVELOPMENT_ACCESS_ENV,
    AccessFile,
    Identity,
    SignInConfig,
    classify_secrets,
    development_access_requested,
    identity_for,
    load_access,
    sign_in_config,
)
from metrics.analyses.disclosure import Policy, policy_for
from metrics.analyses.reading import default_period
from metrics.serving import BoardState, holder_for
from metrics.sql.series import SeriesQuery
from metrics.text import looks_like_a_name, plain_markdown

# ALLIANCE_CONFIG_DIR points the site at another config folder (tests, other alliances).
CONFIG_DIR = Path(
    os.environ.get("ALLIANCE_CONFIG_DIR") or Path(__file__).resolve().parents[2] / "config"
)
ALL_LCNS = "All neighbourhoods"
LOG = logging.getLogger("alliance_board")

PERIOD_KEY = "filter_period"
LCN_KEY = "filter_lcn"
INITIAL_KEY = "filters_from_url"
RESETS_KEY = "filters_reset_from_url"  # what the first run had to reset, in words
SHARED_PARAMS = ("from", "to", "lcn")


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date
    lcn: str | None

    def query(self, breakdown: str | None = None) -> SeriesQuery:
        return SeriesQuery(breakdown=breakdown, start=self.start, end=self.end, lcn=self.lcn)

    def url_params(self) -> dict[str, str]:
        params = {"from": f"{self.start:%Y-%m}", "to": f"{self.end:%Y-%m}"}
        if self.lcn:
            params["lcn"] = self.lcn
        return params


def board_state() -> BoardState:
    """The board being served (hot-reloaded when a config or data file changes)."""
    config_dir = os.environ.get("ALLIANCE_CONFIG_DIR") or str(CONFIG_DIR)
    return holder_for(config_dir).current()


# The entry point is run afresh on every run of every session, so what it needs only once
# per server process is kept here (an imported module lives as long as the process).


@functools.cache
def data_url(path: Path) -> str:
    """A small image as a data URL, made once (Streamlit would otherwise read and register
    the file again on every run)."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@functools.cache
def missing_files(folder: Path, stems: tuple[str, ...]) -> tuple[str, ...]:
    """Which of `stems` have no `<stem>.py` in `folder` (looked for, and logged, once)."""
    missing = tuple(s for s in stems if not (folder / f"{s}.py").exists())
    for stem in missing:
        LOG.error("page file %s/%s.py is missing", folder.name, stem)
    return missing


def _parse_month(text: str | None) -> dt.date | None:
    if not text or not re.fullmatch(r"\d{4}-\d{2}", text):
        return None
    year, month = int(text[:4]), int(text[5:])
    return dt.date(year, month, 1) if 1 <= month <= 12 else None


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], first
    while current <= last:
        months.append(current)
        current = dt.date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def shared_filters(state: BoardState) -> Filters:
    """Render the shared filters in the sidebar and keep them in the URL."""
    board = state.board
    span = board.data_span() or (dt.date(2013, 4, 1), dt.date(2025, 3, 1))
    months = _months(*span)
    layout = board.catalogue.board
    default_start, default_end = default_period(board) or (months[0], months[-1])

    # The first run of a session takes its filters from the URL. They are kept as the
    # widgets' defaults for the whole session (a default that changed between runs would
    # give Streamlit a new widget and reset the reader's choice).
    if INITIAL_KEY not in st.session_state:
        resets: list[str] = []
        span_words = f"{months[0]:%b %Y} to {months[-1]:%b %Y}"

        def month_from(name: str, default: dt.date, what: str) -> dt.date:
            text = st.query_params.get(name)
            if not text:
                return default
            parsed = _parse_month(text)
            if parsed is None or parsed not in months:
                said = f" \u201c{plain_markdown(text)}\u201d" if looks_like_a_name(text) else ""
                resets.append(
                    f"the link's {what}{said} is not a month of the data ({span_words}), "
                    f"so the period {what.split()[0]}s at {default:%b %Y}"
                )
                return default
            return parsed

        start = month_from("from", default_start, "start month")
        end = month_from("to", default_end, "end month")
        if start > end:
            resets.append(
                f"the link's period starts ({start:%b %Y}) after it ends ({end:%b %Y}), so the "
                f"default period ({default_start:%b %Y} to {default_end:%b %Y}) is shown"
            )
            start, end = default_start, default_end
        requested = st.query_params.get("lcn")
        if requested and requested not in layout.lcns:
            said = (
                f" \u201c{plain_markdown(requested)}\u201d" if looks_like_a_name(requested) else ""
            )
            resets.append(
                f"the link's neighbourhood{said} is not one of "
                f"{', '.join(layout.lcns) or 'the neighbourhoods'}, so all neighbourhoods are "
                "shown"
            )
        st.session_state[INITIAL_KEY] = (
            start,
            end,
            requested if requested in layout.lcns else ALL_LCNS,
        )
        st.session_state[RESETS_KEY] = tuple(resets)
        if resets:
            identity = st.session_state.get("identity")
            audit.record(
                identity.who if identity else "visitor",
                "filters_reset",
                "link filters",
                values={k: str(st.query_params.get(k))[:40] for k in SHARED_PARAMS},
            )
    initial_start, initial_end, initial_lcn = st.session_state[INITIAL_KEY]
    lcn_options = [ALL_LCNS, *layout.lcns]

    with st.sidebar:
        st.markdown("**Filters** (shared by every page and kept in the link)")
        start, end = st.select_slider(
            "Period",
            options=months,
            value=(initial_start, initial_end),
            key=PERIOD_KEY,
            format_func=lambda m: f"{m:%b %Y}",
        )
        lcn = st.selectbox(
            "Neighbourhood (Local Care Network)",
            lcn_options,
            index=lcn_options.index(initial_lcn) if initial_lcn in lcn_options else 0,
            key=LCN_KEY,
        )
    filters = Filters(start=start, end=end, lcn=None if lcn == ALL_LCNS else lcn)
    resets = st.session_state.get(RESETS_KEY, ())
    if resets and (start, end, lcn) == (initial_start, initial_end, initial_lcn):
        # Said at the top of each page until the reader picks filters of their own.
        st.info(
            "Some of this link's filters were reset: " + "; ".join(resets) + ".",
            icon=":material/info:",
        )
    for name in SHARED_PARAMS:
        if name not in filters.url_params() and name in st.query_params:
            del st.query_params[name]
    st.query_params.update(filters.url_params())
    return filters


def url_param(name: str) -> str | None:
    """A query parameter as an id-like value. Anything shaped like a path or markup is
    refused (and logged): parameters only ever name metrics, groups and the like."""
    value = st.query_params.get(name)
    if not isinstance(value, str) or not value:
        return None
    # "Other/not stated" is a real group, so a slash alone is allowed; a path is not.
    if (
        len(value) > 200
        or ".." in value
        or value.startswith(("/", "\\"))
        or re.search(r"[<>\x00]", value)
    ):
        seen: set[tuple[str, str]] = st.session_state.setdefault("_refused_params", set())
        if (name, value) not in seen:  # once per session, not on every rerun
            seen.add((name, value))
            identity = st.session_state.get("identity")
            audit.record(
                identity.who if identity else "visitor",
                "refused_parameter",
                name,
                value=value[:80],
            )
        return None
    return value


REGISTERED_PAGES = "_registered_pages"  # session state: stem -> this run's st.Page


def remember_pages(pages: dict[str, Any]) -> None:
    """The pages this run registered with st.navigation, by file stem, for `page_link`."""
    st.session_state[REGISTERED_PAGES] = pages


def page_link(
    stem: str, label: str, *, icon: str = "", query_params: dict[str, str] | None = None
) -> None:
    """A link to one of the site's pages, by its file's stem. Given the st.Page this run
    registered for it, Streamlit looks nothing up (given a file path it resolves the path
    on disk and compares it with every registered page, for each link on every run: a
    tenth of the Outcomes page's server time went on its tiles' links). The page's own
    menu icon is not shown unless `icon` asks for one."""
    page = (st.session_state.get(REGISTERED_PAGES) or {}).get(stem) or f"pages/{stem}.py"
    st.page_link(page, label=label, icon=icon, query_params=query_params)


def page_context() -> tuple[BoardState, Filters]:
    """The board and filters the entry point prepared for this run.

    On the first deep link after a server start, Streamlit's legacy ``pages/`` mode can
    run a page script directly, without the entry point (it switches to st.navigation only
    once the entry point has called it). Then nothing is prepared: turn the legacy mode
    off and rerun, so the entry point runs and serves the same URL properly.
    """
    if "board_state" not in st.session_state or "filters" not in st.session_state:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state["board_state"], st.session_state["filters"]


DEVELOPMENT_ROLE_NOTICE = (
    f"Development default ({DEVELOPMENT_ACCESS_ENV}=1): no sign-in is configured, so everyone "
    "is treated as an analyst and can edit definitions. Configure sign-in before sharing "
    "this site."
)
# Public pages only, because sign-in is broken. Visitors read this, so it names no file,
# line or key: the operator gets those in the server log and the audit log.
MISCONFIGURED_NOTICE = (
    "Sign-in is misconfigured, so only public pages are served; the operator has been told."
)
NOT_CONFIGURED_NOTICE = (
    "Sign-in is not configured, so only public pages are served. Operators: configure "
    "sign-in (an [auth] section in Streamlit's secrets; see the README, \"Sign-in and "
    f'roles"), or, for local development only, set {DEVELOPMENT_ACCESS_ENV}=1 to open '
    "every page to everyone."
)


def analyst_notice() -> None:
    """Labels analyst tools as open to everyone while the development default is on
    (signed-in analysts are not told the tools are open to everyone: they are not)."""
    current = st.session_state.get("identity")
    if current is None or current.identity.development:
        st.warning(DEVELOPMENT_ROLE_NOTICE, icon=":material/lock_open:")


@dataclass(frozen=True)
class CurrentIdentity:
    """The identity of this session with what its role allows."""

    identity: Identity
    title: str
    pages: list[str]
    disclosure: str  # "board" or "public"
    sign_in: SignInConfig | None = None

    @property
    def role(self) -> str:
        return self.identity.role

    @property
    def who(self) -> str:
        return self.identity.who


_ACCESS_CACHE: dict[str, tuple[int, AccessFile | None, list]] = {}
_LAST_GOOD_ACCESS: dict[str, AccessFile] = {}


def _access(config_dir: Path) -> tuple[AccessFile | None, list]:
    """config/access.yaml, reloaded when it changes; a broken edit keeps the last good one."""
    path = config_dir / "access.yaml"
    key = str(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _ACCESS_CACHE.get(key)
    if cached is None or cached[0] != stamp:
        access, issues = load_access(path)
        if access is not None:
            _LAST_GOOD_ACCESS[key] = access
        _ACCESS_CACHE[key] = (stamp, _LAST_GOOD_ACCESS.get(key), issues)
    _, access, issues = _ACCESS_CACHE[key]
    return access, issues


# Sign-in states already reported by this process (the log and audit log get each once).
_SIGN_IN_REPORTED: set[tuple[str, ...]] = set()
_SIGN_IN_LOCK = threading.Lock()


def _sign_in() -> SignInConfig:
    """Sign-in as configured in the secrets files Streamlit reads (read afresh each run,
    so fixing the file takes effect without a restart)."""
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton

    if st.secrets is not secrets_singleton:
        # AppTest swaps in its in-memory secrets (AppTest.secrets): there is no file.
        return classify_secrets(st.secrets.to_dict(), source="st.secrets (in memory)")
    return sign_in_config(config.get_option("secrets.files"))


@functools.cache
def _authlib_installed() -> bool:
    # st.login needs Authlib; without it a "Sign in" button would only raise an error.
    from streamlit.auth_util import is_authlib_installed

    return is_authlib_installed()


def _report_once(key: tuple[str, ...], report: Callable[[], None]) -> None:
    with _SIGN_IN_LOCK:
        if key in _SIGN_IN_REPORTED:
            return
        _SIGN_IN_REPORTED.add(key)
    report()


def _report_sign_in(sign_in: SignInConfig, development_access: bool) -> None:
    """Tell the operator (server log; audit log for a misconfiguration), once per process
    for each distinct state, so a broken secrets file is noticed without a log flood."""
    if sign_in.state == "misconfigured":

        def misconfigured() -> None:
            LOG.error(
                "sign-in is misconfigured, so only public pages are served: %s",
                sign_in.summary(),
            )
            if development_access:
                LOG.error(
                    "%s=1 is ignored because sign-in is misconfigured", DEVELOPMENT_ACCESS_ENV
                )
            audit.record(
                "system",
                "sign_in_misconfigured",
                "only public pages are served",
                problems=[problem.format_text() for problem in sign_in.problems],
            )

        _report_once(("misconfigured", sign_in.summary()), misconfigured)
    elif sign_in.state == "not_configured" and development_access:
        _report_once(
            ("development",),
            lambda: LOG.warning(
                "%s=1 and no sign-in configured: everyone is treated as an analyst "
                "(development only)",
                DEVELOPMENT_ACCESS_ENV,
            ),
        )
    elif sign_in.state == "not_configured":
        _report_once(
            ("not_configured",),
            lambda: LOG.warning(
                "sign-in is not configured, so only public pages are served; configure [auth] "
                "in .streamlit/secrets.toml, or set %s=1 for local development",
                DEVELOPMENT_ACCESS_ENV,
            ),
        )
    else:
        if development_access:
            _report_once(
                ("development_ignored",),
                lambda: LOG.warning(
                    "%s=1 is ignored because sign-in is configured", DEVELOPMENT_ACCESS_ENV
                ),
            )
        if not _authlib_installed():
            _report_once(
                ("no_authlib",),
                lambda: LOG.error(
                    "sign-in is configured but Authlib is not installed, so nobody can sign "
                    "in (pip install 'Authlib>=1.3.2')"
                ),
            )


def _user() -> dict[str, Any] | None:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return None


def current_identity(state: BoardState) -> CurrentIdentity:
    """Who this is and what they may see. Never chosen by anything in the request."""
    config_dir = state.board.catalogue.config_dir
    access, issues = _access(config_dir)
    sign_in = _sign_in()
    development_access = development_access_requested()
    _report_sign_in(sign_in, development_access)
    if access is None:
        # Fail closed: with no valid access configuration, only public views are served.
        LOG.error("config/access.yaml is invalid: %s", "; ".join(i.format_text() for i in issues))
        return CurrentIdentity(Identity("public"), "Public", ["showcase"], "public", sign_in)
    # The token's claims are only read when sign-in is configured.
    user = _user() if sign_in.state == "configured" else None
    identity = identity_for(access, user, sign_in, development_access=development_access)
    if "role" in st.query_params and not st.session_state.get("_role_param_logged"):
        st.session_state["_role_param_logged"] = True
        audit.record(
            identity.who,
            "refused_role_parameter",
            "a role in the URL was ignored",
            value=str(st.query_params.get("role"))[:60],
        )
    if identity.ignored_claims and not st.session_state.get("_claims_logged"):
        st.session_state["_claims_logged"] = True
        audit.record(
            identity.who,
            "ignored_role_claims",
            "unknown role names in the token",
            values=list(identity.ignored_claims)[:10],
        )
    role = access.roles.get(identity.role)
    if role is None:
        # Only "public" can be missing here (the others are checked when access.yaml loads):
        # a site without a public role shows nothing to the public.
        return CurrentIdentity(identity, "Public", [], "public", sign_in)
    return CurrentIdentity(identity, role.title, list(role.pages), role.disclosure, sign_in)


def identity_banner(current: CurrentIdentity) -> None:
    """Who the site thinks you are, the development default's warning, and why only public
    pages are served when sign-in is missing or broken."""
    limited_by = current.identity.limited_by
    if limited_by == "sign_in_misconfigured":
        st.warning(MISCONFIGURED_NOTICE, icon=":material/lock:")
    elif limited_by == "sign_in_not_configured":
        st.warning(NOT_CONFIGURED_NOTICE, icon=":material/lock:")
    with st.sidebar:
        if current.identity.development:
            st.warning(DEVELOPMENT_ROLE_NOTICE, icon=":material/lock_open:")
        elif current.identity.signed_in:
            st.caption(
                f"Signed in as {plain_markdown(current.who)} ({plain_markdown(current.title)})."
            )
            if st.button("Sign out", key="sign_out"):
                st.logout()
        else:
            st.caption("You are viewing the public pages.")
            # Only a working sign-in gets a button (st.login would fail otherwise).
            sign_in = current.sign_in
            if sign_in is not None and sign_in.state == "configured" and _authlib_installed():
                for provider in sign_in.providers:
                    label = "Sign in" if len(sign_in.providers) == 1 else f"Sign in ({provider})"
                    if st.button(label, key=f"sign_in_{provider}"):
                        st.login(None if provider == "default" else provider)


def current_audience() -> Literal["board", "public"]:
    """Which readings this session sees: the board's own, or the public ones."""
    current = st.session_state.get("identity")
    return "board" if current is not None and current.disclosure == "board" else "public"


def current_policy() -> Policy:
    """The disclosure policy for this session's role (the public one for public roles)."""
    state = st.session_state["board_state"]
    current = st.session_state.get("identity")
    context = current.disclosure if current is not None else "public"
    return policy_for(state.board.catalogue, context)


# Page failures seen by this server (viewers get a reference; analysts read the details).
PAGE_ERRORS: deque[dict[str, str]] = deque(maxlen=50)


def record_page_error(reference: str, page: str, details: str) -> None:
    PAGE_ERRORS.appendleft(
        {
            "reference": reference,
            "page": page,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "details": details,
        }
    )
