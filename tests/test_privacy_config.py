"""The effective Streamlit configuration of the project keeps data on the machine and
errors away from viewers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READ_CONFIG = """
import streamlit.config as config
config.get_config_options(force_reparse=True)
for name in ("browser.gatherUsageStats", "client.showErrorDetails", "client.showSidebarNavigation",
             "server.headless", "server.maxUploadSize", "client.toolbarMode", "theme.font"):
    print(name, "=", config.get_option(name))
"""


def effective_options() -> dict[str, str]:
    # Streamlit reads .streamlit/config.toml from the working directory, as `streamlit run`
    # does from the project folder.
    done = subprocess.run(
        [sys.executable, "-c", READ_CONFIG], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return dict(line.split(" = ", 1) for line in done.stdout.splitlines() if " = " in line)


def test_usage_statistics_are_off_and_errors_hidden():
    options = effective_options()
    assert options["browser.gatherUsageStats"] == "False"
    assert options["client.showErrorDetails"] == "none"
    assert options["client.showSidebarNavigation"] == "False"
    assert options["server.headless"] == "True"


def test_uploads_are_capped_and_no_web_font_is_configured():
    options = effective_options()
    assert int(options["server.maxUploadSize"]) <= 5  # megabytes: no upload is a data path
    assert "http" not in options["theme.font"]  # a font URL would be fetched from a CDN


def test_no_secrets_are_committed():
    assert not (ROOT / ".streamlit" / "secrets.toml").exists()
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text()
