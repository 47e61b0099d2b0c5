"""Shared fixtures: a small hand-checkable project, and paths to the real one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from metrics.access import DEVELOPMENT_ACCESS_ENV

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini; returns its config folder."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    return target / "config"


@pytest.fixture
def edit() -> Callable[[Path, str, str], None]:
    """Replace one exact piece of text in a file (the test fails if it is not there)."""

    def _edit(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return _edit


@pytest.fixture(scope="session", autouse=True)
def _development_access() -> Iterator[None]:
    """The suite runs the site with the development default (everyone an analyst), which
    now needs an explicit opt-in. Set in os.environ itself, so the servers that browser
    tests start inherit it; tests of the other sign-in states unset it themselves."""
    previous = os.environ.get(DEVELOPMENT_ACCESS_ENV)
    os.environ[DEVELOPMENT_ACCESS_ENV] = "1"
    yield
    if previous is None:
        os.environ.pop(DEVELOPMENT_ACCESS_ENV, None)
    else:
        os.environ[DEVELOPMENT_ACCESS_ENV] = previous


@pytest.fixture(scope="session", autouse=True)
def _sync_reload_in_process() -> Iterator[None]:
    """Page tests (AppTest, in this process) edit configuration files and look straight
    away, so this process's boards reload in the request that notices a change. The
    background reload is tested on its own (tests/test_hot_reload.py); servers that
    browser tests start run as deployed (they drop this setting)."""
    previous = os.environ.get("ALLIANCE_RELOAD")
    os.environ["ALLIANCE_RELOAD"] = "sync"
    yield
    if previous is None:
        os.environ.pop("ALLIANCE_RELOAD", None)
    else:
        os.environ["ALLIANCE_RELOAD"] = previous


@pytest.fixture(autouse=True)
def _audit_log_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test writes to the project's own audit log."""
    path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("ALLIANCE_AUDIT_LOG", str(path))
    return path


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Chromium for the whole run (Playwright's sync API allows one instance
    per process, so every browser test shares it and opens its own context)."""
    import os

    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip(
            "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The suite runs on several workers, a file at a time (Makefile: -n auto --dist loadfile).
# These files take minutes each (they start site processes, a proxy, PostgreSQL or Spark);
# handed out first, they do not leave one worker running the last of them alone while the
# other has finished. Slowest first, as measured serially on the 2-core CI machine.
SLOWEST_FILES_FIRST = (
    "tests/test_cluster.py",
    "tests/browser/test_layout.py",
    "tests/test_warehouse_backends.py",
    "tests/browser/test_markdown_injection.py",
    "tests/browser/test_accessibility.py",
    "tests/browser/test_escaping.py",
    "tests/test_server_warm.py",
    "tests/test_packaging.py",
    "tests/browser/test_pages_e2e.py",
    "tests/browser/test_warehouse_site.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: number for number, path in enumerate(SLOWEST_FILES_FIRST)}
    # A stable sort: every file's own tests keep their order.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
