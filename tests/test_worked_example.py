"""The worked example in docs/metric-definitions.md (issue 15, requirement 1) works as
written: its files, built from the page's own code blocks, validate with no problem from
any folder, compute the figure the page quotes, and the site serves them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.board import open_board
from metrics.reference_docs import DOCS_PATH, example_files

ROOT = Path(__file__).resolve().parents[1]


def files_on_the_page() -> dict[str, str]:
    """Every '**`path`**' followed by a code block, as the page shows them."""
    page = DOCS_PATH.read_text(encoding="utf-8")
    found = re.findall(r"\*\*`(my-board/[^`]+)`\*\*\n\n```[a-z]*\n(.*?)```", page, re.S)
    return dict(found)


@pytest.fixture
def example(tmp_path) -> Path:
    for path, text in files_on_the_page().items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path / "my-board" / "config"


def test_the_page_shows_every_file_of_the_example():
    assert files_on_the_page() == example_files()
    assert {"my-board/data/ae_monthly.csv", "my-board/config/sources.yaml"} <= set(
        files_on_the_page()
    )


def test_the_example_validates_as_the_page_says(example, monkeypatch):
    monkeypatch.delenv("ALLIANCE_DATA_DIR", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "validate", "my-board/config"],
        cwd=example.parent.parent,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = "0 error(s), 0 warning(s); 4 metric(s) valid in my-board/config"
    assert done.stdout.strip() == said
    assert said in DOCS_PATH.read_text(encoding="utf-8")


def test_the_example_computes_the_figure_the_page_quotes(example, monkeypatch):
    monkeypatch.delenv("ALLIANCE_DATA_DIR", raising=False)
    board = open_board(example)
    assert set(board.catalogue.metrics) == {"ae_4h_all", "ae_4h_z1a", "ae_4h_z2b", "ae_4h_z3c"}
    assert board.catalogue.metrics["ae_4h_z1a"].title == (
        "A&E: seen within four hours (Northfield Hospitals)"
    )
    frame = board.series("ae_4h_z1a").frame.set_index("month")
    october = frame.loc["2018-10-01", "value"]
    assert round(october, 1) == 89.2 == round((10120 - 1093) / 10120 * 100, 1)
    assert "(10,120 - 1,093) / 10,120 = 89.2%" in DOCS_PATH.read_text(encoding="utf-8")
    whole = board.series("ae_4h_all").frame.set_index("month").loc["2018-10-01", "value"]
    assert whole == pytest.approx(
        (10120 + 7340 + 5210 - 1093 - 512 - 698) / (10120 + 7340 + 5210) * 100
    )


def test_the_site_serves_the_example(example, monkeypatch):
    from tests.apptest_support import run_page

    shutil.copy(ROOT / "config" / "access.yaml", example / "access.yaml")
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(example))
    monkeypatch.delenv("ALLIANCE_DATA_DIR", raising=False)
    app = run_page("pages/metric.py", metric="ae_4h_z2b")
    assert app.title[0].value.replace("\\", "") == "A&E: seen within four hours (Riverside Trust)"
