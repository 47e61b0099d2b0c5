"""Notebook-driven analysis (issue 15, req. 8): metrics.api and the notebooks in notebooks/.

Every notebook is a Jupytext percent script. Each is converted with jupytext and run with
nbclient on a kernel of this interpreter (a kernel spec written to a temporary folder:
nothing is installed in the user's Jupyter folders, and it works on a clean clone), then
the JSON its cell tagged `key-figures` prints is compared with the engine's own figures,
computed here without metrics.api: the same functions the pages call.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pandas as pd
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from metrics import api
from metrics.analyses.disclosure import policy_for
from metrics.analyses.funnel import breakdown_funnel
from metrics.analyses.impact import ImpactRequest, headline, headline_study_id, run_impact
from metrics.analyses.reading import default_period, read_metric
from metrics.board import Board, open_board
from metrics.its import fit_its
from metrics.sql.series import SeriesQuery

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CONFIG = ROOT / "config"
KERNEL = "alliance-board-tests"
FIGURES_TAG = "key-figures"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.py"))


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(CONFIG)


# --------------------------------------------------------------------------- the API


def test_the_api_does_not_import_streamlit():
    code = "import sys, metrics.api; print('streamlit' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_open_board_honours_alliance_config_dir(monkeypatch, mini):
    monkeypatch.setenv("ALLIANCE_CONFIG_DIR", str(mini))
    assert api.config_dir() == mini.resolve()
    assert api.open_board().catalogue.metrics.keys() == open_board(mini).catalogue.metrics.keys()
    monkeypatch.delenv("ALLIANCE_CONFIG_DIR")
    assert api.config_dir() == CONFIG.resolve()
    assert api.config_dir(mini) == mini.resolve()


def test_open_board_strict_lists_the_errors(mini, edit):
    edit(
        mini / "metrics" / "all.yaml",
        "source: events, measure: count",
        "source: evnts, measure: count",
    )
    assert api.open_board(mini).errors
    with pytest.raises(ValueError, match="error"):
        api.open_board(mini, strict=True)


def test_series_is_the_engines_with_status(board):
    frame = api.series(board, "secondary_referrals", breakdown="lcn", start="2024-01")
    query = SeriesQuery(breakdown="lcn", start=pd.Timestamp("2024-01-01").date())
    engine = board.series("secondary_referrals", query).frame
    pd.testing.assert_frame_equal(frame.drop(columns="status"), engine)
    latest = frame["month"].max()
    assert set(frame.loc[frame["month"] == latest, "status"]) == {"provisional"}
    assert "status" not in engine  # the board's own frame is left alone
    with pytest.raises(ValueError, match="not a breakdown"):
        api.series(board, "secondary_referrals", breakdown="team")
    with pytest.raises(KeyError, match="did you mean"):
        api.series(board, "secondary_referals")
    with pytest.raises(ValueError, match="unknown neighbourhood"):
        api.series(board, "secondary_referrals", lcn="Norht")


def test_reading_spc_and_charts_are_the_pages(board):
    start, end = default_period(board)
    query = SeriesQuery(start=start, end=end)
    for audience in ("board", "public"):
        item = api.reading(board, "secondary_referrals", audience=audience)
        assert item is read_metric(board, "secondary_referrals", query, audience)
    result = api.spc(board, "secondary_referrals")
    assert result is read_metric(board, "secondary_referrals", query).spc.result
    assert api.spc_chart(api.reading(board, "secondary_referrals")).to_dict()
    by_lcn = api.spc(board, "secondary_referrals", breakdown="lcn")
    assert len(by_lcn.facets) == len(board.catalogue.board.lcns)
    assert api.spc_chart(by_lcn).to_dict()
    table = api.readings(board)
    assert "secondary_referrals" in set(table["metric"])
    assert api.period(board) == (start, end)


def test_study_is_the_impact_pages_and_its_variants_refit_the_same_data(board):
    planned = run_impact(board, ImpactRequest(headline_study_id(board)))
    impact = api.study(board)
    assert headline(impact) == headline(planned)
    summary = api.study_summary(impact)
    assert (summary["headline"], summary["interval"]) == headline(planned)
    varied = api.study(board, seasonality="none")
    expected = fit_its(
        planned.data,
        dataclasses.replace(planned.spec, seasonality="none"),
        series_name=planned.metric.title,
    )
    assert varied.result.horizon_effect() == expected.horizon_effect()
    placebo = api.study(board, placebo_date="2014-10")
    assert placebo.result is not None, placebo.error
    assert placebo.data["date"].max() < pd.Timestamp(planned.spec.interventions[0].start)
    assert placebo.result.spec.interventions[0].id == "placebo_2014_10"
    with pytest.raises(ValueError, match="before the real intervention"):
        api.study(board, placebo_date="2020-01")
    assert api.study_chart(board, impact).to_dict()
    assert not api.study_models(impact).empty


def test_funnel_is_the_equity_pages(board):
    start, end = default_period(board)
    query = SeriesQuery(breakdown="lcn", start=start, end=end)
    for audience in ("board", "public"):
        site = breakdown_funnel(
            board, "detention_rate", query, policy_for(board.catalogue, audience)
        )
        assert api.funnel(board, "detention_rate", audience=audience) == site
    table = api.funnel_table(site)
    assert list(table["group"]) == [p.group for p in site.points]
    assert table.attrs["summary"]
    assert api.funnel_chart(site).to_dict()


def test_the_docs_examples_run(board, monkeypatch):
    """The examples in docs/notebooks.md run as written (`my_frame` is the reader's own)."""
    text = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    section = text.split("### Examples", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.setattr(api, "open_board", lambda *args, **kwargs: board)
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    namespace = {"my_frame": pd.DataFrame({"month": months, "calls": range(24)})}
    exec(compile(code, "docs/notebooks.md", "exec"), namespace)
    assert namespace["reading"].headline.startswith(namespace["reading"].display)


# --------------------------------------------------------------------------- notebooks


def test_every_notebook_is_a_jupytext_percent_script():
    assert [p.name for p in NOTEBOOK_FILES] == [
        "01_new_extract_to_metric.py",
        "02_impact_study_designs.py",
        "03_funnel_neighbourhoods.py",
    ]
    for path in NOTEBOOK_FILES:
        text = path.read_text(encoding="utf-8")
        notebook = jupytext.reads(text, fmt="py:percent")
        header = notebook.metadata["jupytext"]["text_representation"]
        assert header["format_name"] == "percent", path.name
        assert notebook.metadata["kernelspec"]["language"] == "python", path.name
        # Saved from Jupyter (with jupytext), the file comes back as it is: readable diffs.
        assert jupytext.writes(notebook, fmt="py:percent") == text, path.name
        tagged = [c for c in notebook.cells if FIGURES_TAG in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one cell tagged {FIGURES_TAG}"
        assert any("assert " in c.source for c in notebook.cells if c.cell_type == "code")


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch) -> Iterator[KernelManager]:
    """A kernel manager for this interpreter's ipykernel: the kernel spec, the connection
    files and IPython's own folder all live under tmp_path."""
    folder = tmp_path / "kernels" / KERNEL
    folder.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Alliance Board (tests)",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    yield KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def run_notebook(
    path: Path, kernel: KernelManager, env: dict[str, str]
) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    """Execute the notebook from its own folder (as Jupyter does); any cell that raises
    fails the test with the cell and its traceback. Returns it with its key figures."""
    notebook = jupytext.read(path, fmt="py:percent")
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=600,
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute(env={**os.environ, "ALLIANCE_CONFIG_DIR": str(CONFIG), **env})
    cell = next(c for c in notebook.cells if FIGURES_TAG in c.metadata.get("tags", []))
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return notebook, json.loads(printed)


def test_new_extract_notebook(kernel, tmp_path):
    work = tmp_path / "work"
    _, figures = run_notebook(
        NOTEBOOKS / "01_new_extract_to_metric.py",
        kernel,
        {"ALLIANCE_NOTEBOOK_WORKDIR": str(work)},
    )
    assert Path(figures["config_dir"]) == work / "config"
    assert any("unknown source 'crisis_line_call'" in p for p in figures["first_problems"])
    metric = figures["metric"]
    board = open_board(work / "config")
    assert not board.errors
    start, end = default_period(board)
    site = read_metric(board, metric, SeriesQuery(start=start, end=end), "board")
    assert (figures["value"], figures["display"]) == (site.value, site.display)
    assert figures["month"] == f"{site.month:%Y-%m}"
    extract = pd.read_csv(work / "data" / "crisis_line_calls.csv")
    latest = extract[extract["month"] == f"{site.month:%Y-%m-%d}"]
    assert figures["value"] == pytest.approx(
        100 * latest["answered_60s"].sum() / latest["calls_offered"].sum(), rel=1e-12
    )
    groups = board.series(metric, SeriesQuery(breakdown="provider_code")).frame
    shown = groups[groups["month"] == pd.Timestamp(site.month)].set_index("group")["value"]
    assert figures["providers"] == pytest.approx(shown.to_dict(), rel=1e-12)


def test_impact_study_notebook(kernel, board):
    _, figures = run_notebook(NOTEBOOKS / "02_impact_study_designs.py", kernel, {})
    metric_id = headline_study_id(board)
    assert figures["metric"] == metric_id == board.catalogue.board.headline_study
    planned = run_impact(board, ImpactRequest(metric_id))
    assert (figures["headline"], figures["interval"]) == headline(planned)
    assert figures["relative"] == pytest.approx(planned.result.horizon_effect().relative)
    for name, variant in figures["variants"].items():
        design = variant["design"]
        if set(design) <= {"model"}:  # the page's own choices: an ImpactRequest
            study = run_impact(board, ImpactRequest(metric_id, model=design.get("model")))
        else:
            study = api.study(board, **design)
        assert (variant["headline"], variant["interval"]) == headline(study), name


def test_funnel_notebook(kernel, board):
    _, figures = run_notebook(NOTEBOOKS / "03_funnel_neighbourhoods.py", kernel, {})
    start, end = default_period(board)
    assert (figures["from"], figures["to"]) == (f"{start:%Y-%m}", f"{end:%Y-%m}")
    site = breakdown_funnel(
        board,
        figures["metric"],
        SeriesQuery(breakdown="lcn", start=start, end=end),
        policy_for(board.catalogue, "board"),
    )
    assert figures["target"] == pytest.approx(site.target, rel=1e-12)
    assert figures["tau2"] == site.tau2
    assert set(figures["points"]) == {p.group for p in site.points}
    for point in site.points:
        shown = figures["points"][point.group]
        assert shown["value"] == pytest.approx(point.value, rel=1e-12)
        assert shown["limits95"] == pytest.approx([point.lower95, point.upper95], rel=1e-12)
        assert shown["position"] == point.position
