"""Warm before the first visitor: the server computes the default views at start, and
/healthz says when it is ready and what is missing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from metrics import serving
from metrics.analyses.reading import default_period
from metrics.board import open_board

ROOT = Path(__file__).resolve().parents[1]


def test_warm_computes_the_default_views_for_both_audiences():
    board = open_board(ROOT / "config")
    assert serving.warm(board) == []
    start, end = default_period(board)
    keys = set(board._memo)
    for audience in ("board", "public"):
        assert ("readings", start, end, None, audience) in keys
    assert any(isinstance(k, tuple) and k[0] == "money_report" for k in keys)
    assert ("data_quality_report", start, end) in keys
    assert any(isinstance(k, tuple) and k[:2] == ("exports", "deck") for k in keys)


def test_a_failing_step_is_reported_not_fatal(monkeypatch):
    board = open_board(ROOT / "config")
    from metrics.analyses import money

    def broken(*args, **kwargs):
        raise RuntimeError("cost data unavailable")

    monkeypatch.setattr(money, "money_report", broken)
    problems = serving.warm(board)
    assert problems == ["money: cost data unavailable"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broken_source_config(tmp_path: Path) -> Path:
    """The sample configuration with one data file that cannot be loaded."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns(".history"))
    data = tmp_path / "data"
    shutil.copytree(ROOT / "sample_data", data, ignore=shutil.ignore_patterns("*.py", "*.md"))
    (data / "detentions.csv").write_text("not,a,header\n1,2,3\n", encoding="utf-8")
    sources = config / "sources.yaml"
    sources.write_text(
        sources.read_text(encoding="utf-8").replace(
            "data_dir: ../sample_data", f"data_dir: {data}"
        ),
        encoding="utf-8",
    )
    return config


def test_the_server_is_ready_only_when_warm_and_names_what_is_missing(broken_source_config):
    port = _free_port()
    env = dict(os.environ, ALLIANCE_CONFIG_DIR=str(broken_source_config))
    env.pop("ALLIANCE_RELOAD", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        # The URL is printed as the server starts listening; /healthz is answered once the
        # warm-up is done (ALLIANCE_WARM_SECONDS bounds it), so the request waits for it.
        for line in process.stdout:
            output.append(line)
            if "URL:" in line or "You can now view" in line:
                break
        else:
            pytest.fail("streamlit did not start:\n" + "".join(output))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=600) as reply:
            assert reply.status == 200
            body = json.loads(reply.read())
        assert body["status"] == "ready"
        assert "detentions" in body["sources_failed"]
        assert "referrals" in body["sources_loaded"]
        assert body["errors"] >= 1
        assert "secret" not in json.dumps(body).lower()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_streamlits_first_element_check_is_made_by_the_warm_under_a_server(monkeypatch, caplog):
    """The once-per-process check Streamlit makes on the first element sent (is this a
    REPL? by inspecting the whole stack) is made at start-up, silently, under a server."""
    from streamlit import delta_generator, runtime

    from metrics.ui.server import settle_first_element_check

    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    monkeypatch.setattr(runtime, "exists", lambda: True)
    with caplog.at_level("WARNING"):
        settle_first_element_check()
    assert delta_generator._use_warning_has_been_displayed is True
    assert not [r for r in caplog.records if "streamlit run" in r.getMessage()]


def test_without_a_server_streamlits_own_warning_is_left_to_streamlit(monkeypatch):
    from streamlit import delta_generator, runtime

    from metrics.ui.server import settle_first_element_check

    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    monkeypatch.setattr(runtime, "exists", lambda: False)
    settle_first_element_check()
    assert delta_generator._use_warning_has_been_displayed is False
