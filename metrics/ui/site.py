"""The site for one session: page config, sign-in and roles, shared filters and the page
registry. `streamlit_app.py` calls `main` on every run.

Every page is registered here explicitly (url_path = the file's stem), and only the pages
the user's role may see are registered at all, so other pages do not exist for them, not
even by URL. The legacy pages/ auto-discovery is off (client.showSidebarNavigation).

This lives in a module, not in the entry point, because Streamlit clears its cache of
compiled scripts whenever a session starts, so it compiles the entry point again for
every visitor; a module is compiled once per process.
"""

from __future__ import annotations

import logging
import re
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from metrics import audit
from metrics.ui.components import problems_banner, synthetic_banner
from metrics.ui.state import (
    board_state,
    current_identity,
    data_url,
    identity_banner,
    missing_files,
    page_link,
    record_page_error,
    remember_pages,
    shared_filters,
)

LOG = logging.getLogger("alliance_board")
ASSETS = Path(__file__).parent / "assets"
# A local file: a :material/...: favicon would be fetched from Google's font CDN.
FAVICON = ASSETS / "favicon.png"
# The site's own layout rules: wrapping titles, Overview cards on a phone (local, no CDN).
LAYOUT_CSS = (ASSETS / "layout.css").read_text(encoding="utf-8")

# stem -> (navigation section, title, icon), in menu order.
PAGE_REGISTRY: dict[str, tuple[str, str, str]] = {
    "overview": ("Board", "Overview", ":material/dashboard:"),
    "outcomes": ("Board", "Outcomes", ":material/flag:"),
    "access": ("Board", "Access and waits", ":material/schedule:"),
    "crisis": ("Board", "Crisis and acute", ":material/emergency:"),
    "equity": ("Board", "Equity", ":material/diversity_3:"),
    "money": ("Board", "Money", ":material/payments:"),
    "data_quality": ("Board", "Data quality", ":material/fact_check:"),
    "impact": ("Analysis", "Impact", ":material/trending_down:"),
    "metric": ("Analysis", "Metric detail", ":material/show_chart:"),
    "showcase": ("Showcase", "Showcase", ":material/co_present:"),
    "export": ("Showcase", "Export", ":material/download:"),
    "catalogue": ("Analysts", "Catalogue", ":material/list_alt:"),
    "editor": ("Analysts", "Edit definitions", ":material/edit_note:"),
    "diagnostics": ("Analysts", "Diagnostics", ":material/troubleshoot:"),
}


def navigation_for(
    site_dir: Path, allowed: list[str], requested: str = ""
) -> tuple[dict[str, list[st.Page]], dict[str, st.Page]]:
    """The role's pages only, by navigation section, and each page by its file's stem (the
    home page's first registration, as Streamlit picks for a link that names the file).
    The home page is served at / and, through a hidden second registration, at its own
    stem too, so every page is reachable by its stem.

    A link to a page that does not exist, or that this role may not open (`requested`,
    the last part of the link's path), is given the site's own calm page at that path,
    instead of Streamlit's "Page not found" pop-up over the home page."""
    # A page file that is missing is left out (and logged) rather than taking the site down.
    missing = [
        stem for stem in missing_files(site_dir / "pages", tuple(allowed)) if stem in allowed
    ]
    stems = [stem for stem in PAGE_REGISTRY if stem in allowed and stem not in missing]
    if not stems:
        nothing = st.Page(_nothing_to_show, title="Alliance Board", url_path="home", default=True)
        return {"": [nothing]}, {}
    home = "overview" if "overview" in stems else stems[0]
    sections: dict[str, list[st.Page]] = {}
    by_stem: dict[str, st.Page] = {}
    for stem in stems:
        section, title, icon = PAGE_REGISTRY[stem]
        pages = sections.setdefault(section, [])
        path = f"pages/{stem}.py"
        if stem == home:
            by_stem[stem] = st.Page(path, title=title, icon=icon, url_path="home", default=True)
            pages.append(by_stem[stem])
            pages.append(st.Page(path, title=title, url_path=stem, visibility="hidden"))
        else:
            by_stem[stem] = st.Page(path, title=title, icon=icon, url_path=stem)
            pages.append(by_stem[stem])
    if requested and requested not in {"home", *stems} and PAGE_NAME.fullmatch(requested):
        forbidden = requested in PAGE_REGISTRY
        sections.setdefault("", []).append(
            st.Page(
                not_found_page(requested, forbidden, home),
                title="Not available" if forbidden else "Page not found",
                url_path=requested,
                visibility="hidden",
            )
        )
    return sections, by_stem


PAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")  # what Streamlit accepts as a page's path


def requested_page() -> str:
    """The last part of the link's path ("" for the home page)."""
    path = urllib.parse.urlparse(st.context.url or "").path
    return urllib.parse.unquote(path.rstrip("/").rsplit("/", 1)[-1])


def not_found_page(stem: str, forbidden: bool, home: str) -> Callable[[], None]:
    """The site's own page for a link that leads nowhere (logged once per session)."""

    def page_not_found() -> None:
        identity = st.session_state.get("identity")
        who = identity.who if identity is not None else "visitor"
        if forbidden:
            st.title("This page is not available to you")
            st.write(
                "The link leads to a page of the board that your role does not include. "
                "If you need it, ask the alliance's analysts for access."
            )
        else:
            st.title("Page not found")
            st.write(
                "The link does not lead to a page of this board: it may be mistyped, or "
                "the page may have moved."
            )
        title = PAGE_REGISTRY.get(home, ("", "the home page", ""))[1]
        page_link(home, f"Go to {title}", icon=":material/home:")
        logged: set[str] = st.session_state.setdefault("_not_found_logged", set())
        if stem not in logged:
            logged.add(stem)
            audit.record(who, "refused_page" if forbidden else "unknown_page", stem[:80])
            LOG.info("%s page requested: %s", "forbidden" if forbidden else "unknown", stem)

    return page_not_found


def _nothing_to_show() -> None:
    st.info("There is nothing to show for your role yet. Ask the alliance's analysts for access.")


def main(site_dir: Path) -> None:
    """One run of the site for one session: `site_dir` holds the entry point and pages/."""
    st.set_page_config(
        page_title="Alliance Board",
        page_icon=data_url(FAVICON),
        layout="wide",
        # Open on a wide screen, closed on a phone (where it would cover the page).
        initial_sidebar_state="auto",
    )
    st.html(f"<style>{LAYOUT_CSS}</style>")
    state = board_state()
    identity = current_identity(state)
    sections, by_stem = navigation_for(site_dir, identity.pages, requested_page())
    navigation = st.navigation(sections, position="top")
    remember_pages(by_stem)
    st.session_state["board_state"] = state
    st.session_state["identity"] = identity
    st.session_state["filters"] = shared_filters(state)
    synthetic_banner()
    identity_banner(identity)
    if identity.role == "analyst":
        problems_banner(state)
    elif state.serving_last_good or state.board.errors:
        # Readers get a calm notice; analysts see the files, lines and fields.
        st.caption(
            "Some figures may be unavailable or a little out of date while the analysts "
            "fix a problem with the data or definitions."
        )
    try:
        navigation.run()
    except Exception:  # Streamlit's own control flow (rerun, stop) is not an Exception
        reference = uuid.uuid4().hex[:8]
        LOG.exception("page %s failed (reference %s)", navigation.url_path, reference)
        record_page_error(reference, navigation.url_path or "home", traceback.format_exc())
        st.error(
            "This page could not be shown just now. The rest of the board is unaffected. "
            f"If it persists, quote reference {reference} to the analysts."
        )
