"""`pip install .` gives a working site and command line: every runtime dependency is
declared and pinned, every package under metrics/ and every file the site needs is in the
wheel, and an installed copy, outside the repository, validates and serves the board."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from metrics.launcher import free_port, health
from tests.cluster_support import page_run

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
LOCK = ROOT / "requirements.lock"


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ("streamlit[auth]" -> streamlit)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]).lower()


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    return pins


# ---------------------------------------------------------------- what is declared


def test_every_package_under_metrics_is_in_the_wheel():
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "metrics").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    declared = set(SETUPTOOLS["packages"]) - {"alliance_board_site"}
    assert declared == on_disk


def _imports(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Top-level module names imported when the module is imported, and those imported
    only inside functions (lazily)."""

    def names(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name.split(".")[0] for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            return [node.module.split(".")[0]]
        return []

    eager: set[str] = set()
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for node in ast.walk(statement):
                eager.update(names(node))
    every = {name for node in ast.walk(tree) for name in names(node)}
    return eager, every - eager


def test_every_runtime_import_is_a_declared_dependency():
    """Third-party modules imported by the engine, the pages and the entry point come from
    distributions listed in [project] dependencies. A module imported only inside a
    function may instead come from an extra; one from a distribution the lock does not
    pin at all (an optional backend's driver) is outside the shipped environment and is
    not checked here."""
    files = [*(ROOT / "metrics").rglob("*.py"), *(ROOT / "pages").glob("*.py")]
    files.append(ROOT / "streamlit_app.py")
    eager: set[str] = set()
    lazy: set[str] = set()
    for path in files:
        now, later = _imports(ast.parse(path.read_text(encoding="utf-8")))
        eager |= now
        lazy |= later
    ours = set(sys.stdlib_module_names) | {"metrics", "__future__"}
    owners = importlib.metadata.packages_distributions()
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {
        _name(r)
        for extra, requirements in PYPROJECT["project"].get("optional-dependencies", {}).items()
        if extra != "test"
        for r in requirements
    }
    pinned = set(_locked())

    def distributions(module: str) -> set[str]:
        return {_name(d) for d in owners.get(module, [module])}

    missing = sorted(m for m in eager - ours if not distributions(m) & declared)
    assert not missing, f"imported but not declared in pyproject.toml dependencies: {missing}"
    missing = sorted(
        m
        for m in lazy - eager - ours
        if distributions(m) & pinned and not distributions(m) & (declared | extras)
    )
    assert not missing, f"imported (in a function) but not declared: {missing}"
    # The ones the issue named (the exports' are imported only in functions).
    assert {"python-pptx", "fpdf2", "vl-convert-python", "sqlglot", "statsmodels"} <= declared
    streamlit = next(r for r in PYPROJECT["project"]["dependencies"] if _name(r) == "streamlit")
    # Sign-in, and the faster server (uvloop, httptools) a new visitor's page needs.
    assert {"auth", "performance"} <= set(streamlit.partition("[")[2].rstrip("]").split(","))


def test_every_declared_dependency_is_pinned_in_the_lock():
    pins = _locked()
    wanted = [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["project"]["optional-dependencies"]["test"],
    ]
    assert not [r for r in wanted if _name(r) not in pins]
    assert "authlib" in pins  # the [auth] extra of streamlit
    assert {"uvloop", "httptools", "orjson"} <= set(pins)  # its [performance] extra
    assert _name(PYPROJECT["project"]["name"]) not in pins  # the project itself is not


def test_the_lock_is_sorted_and_matches_the_environment():
    lines = [line for line in LOCK.read_text().splitlines() if line]
    assert lines == sorted(lines, key=str.lower)  # as `pip freeze | sort -f` writes it
    for name, version in _locked().items():
        assert importlib.metadata.version(name) == version, name


def _covered(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


def test_the_site_files_are_package_data():
    data = SETUPTOOLS["package-data"]
    assert SETUPTOOLS["package-dir"]["alliance_board_site"] == "."
    site = data["alliance_board_site"]
    wanted = [
        *(ROOT / "pages").glob("*.py"),
        ROOT / ".streamlit" / "config.toml",
        *(p for p in (ROOT / "config").rglob("*") if p.is_file() and ".history" not in p.parts),
        *(p for p in (ROOT / "sample_data").iterdir() if p.suffix != ".py" and p.is_file()),
        ROOT / "deploy" / "haproxy.cfg.in",
    ]
    assert not [p for p in wanted if not _covered(str(p.relative_to(ROOT)), site)]
    for package in ("metrics.spc", "metrics.ui"):
        folder = ROOT.joinpath(*package.split("."))
        files = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
        assert files
        assert not [p for p in files if not _covered(str(p.relative_to(folder)), data[package])], (
            package
        )


def test_the_console_script_is_declared():
    assert PYPROJECT["project"]["scripts"]["alliance-board"] == "metrics.launcher:main"


# ---------------------------------------------------------------- built and installed


def _dockerfile_copies() -> list[str]:
    """The paths deploy/Dockerfile copies into its build folder."""
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    sources = []
    for line in text.splitlines():
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    return sources


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from exactly what deploy/Dockerfile copies, installed into a new
    virtual environment; the locked dependencies are this environment's, reached
    through a .pth file (nothing is downloaded but the build backend)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    for relative in _dockerfile_copies():
        origin = ROOT / relative
        target = source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(
                origin, target, ignore=shutil.ignore_patterns("__pycache__", ".history")
            )
        else:
            shutil.copy2(origin, target)
    wheels = base / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = wheels.glob("alliance_board-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "metrics/definitions/validate.py",
        "metrics/its/cli.py",
        "metrics/spc/icons/variation/common_cause.svg",
        "metrics/ui/assets/favicon.png",
        "alliance_board_site/streamlit_app.py",
        "alliance_board_site/pages/overview.py",
        "alliance_board_site/.streamlit/config.toml",
        "alliance_board_site/config/sources.yaml",
        "alliance_board_site/sample_data/referrals.csv",
    ):
        assert expected in names, expected
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "locked_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # every declared dependency is satisfied
    return venv


def _outside_env() -> dict[str, str]:
    env = dict(os.environ, ALLIANCE_DEVELOPMENT_ACCESS="1")
    for name in ("PYTHONPATH", "ALLIANCE_CONFIG_DIR", "ALLIANCE_RELOAD", "ALLIANCE_DATA_DIR"):
        env.pop(name, None)
    return env


@pytest.mark.slow
def test_the_installed_command_line_works_outside_the_repository(installed, tmp_path):
    python, script = installed / "bin" / "python", installed / "bin" / "alliance-board"
    env = _outside_env()

    def run(*command: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(c) for c in command], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    where = run(python, "-c", "import metrics; print(metrics.__file__)")
    assert str(installed) in where.stdout and str(ROOT) not in where.stdout
    listed = run(python, "-m", "metrics", "--help")
    for command in ("validate", "spc", "its", "export", "readings"):
        assert re.search(rf"^\s+{command}\s", listed.stdout, re.M), listed.stdout + listed.stderr
    shipped = next((installed / "lib").glob("python3*/site-packages/alliance_board_site/config"))
    validate = run(python, "-m", "metrics", "validate", shipped, "--no-data")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    # The console script validates the shipped sample by default, data included.
    validate = run(script, "validate")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert f"valid in {shipped}" in validate.stdout
    # A copy to edit, and the command line pointed at it.
    assert run(script, "init", tmp_path / "board").returncode == 0
    env["ALLIANCE_CONFIG_DIR"] = str(tmp_path / "board" / "config")
    validate = run(script, "validate")
    assert validate.returncode == 0 and f"valid in {tmp_path / 'board' / 'config'}" in (
        validate.stdout
    )
    assert run(script, "init", tmp_path / "board").returncode == 2  # never overwrites


@pytest.mark.slow
def test_the_installed_console_script_serves_the_site(installed, tmp_path):
    port = free_port()
    log = (tmp_path / "site.log").open("wb")
    process = subprocess.Popen(
        [str(installed / "bin" / "alliance-board"), "site", "--port", str(port)],
        cwd=tmp_path,
        env=_outside_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        status, body = 0, {}
        while status != 200:
            assert process.poll() is None, (tmp_path / "site.log").read_text()[-3000:]
            assert time.monotonic() < deadline, body
            time.sleep(0.5)
            status, body = health(f"http://127.0.0.1:{port}")
        assert body["status"] == "ready" and body["metrics"] > 0
        assert body["sources_failed"] == [] and body["errors"] == 0
        # Pages from the installed copy run without error.
        for page, query in (("", ""), ("metric", "metric=secondary_referrals"), ("money", "")):
            run = page_run(port, page, query)
            assert run.finished and not run.page_not_found and run.exceptions == 0, page
            assert b"could not be shown" not in run.payload
            # The installed copy runs, with its .streamlit/config.toml (the started-from
            # folder has none), e.g. the NHS-blue theme.
            assert "/alliance_board_site/streamlit_app.py" in run.main_script_path
            assert str(ROOT) not in run.main_script_path
            assert run.primary_color.upper() == "#005EB8"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    output = (tmp_path / "site.log").read_text()
    assert "alliance_board_site/config" in output  # served the installed sample
