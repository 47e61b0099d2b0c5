"""The engine's layers import one way (issue 14, req 6): definitions, then SQL, then the
analyses, then the views (charts, exports, ui, pages). Checked by an AST scan of every
module in metrics/, imports inside functions included, and by importing the definitions
with DuckDB, sqlglot and metrics.sql blocked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("duckdb", "sqlglot", "psycopg", "psycopg_pool", "pyspark")
VIEWS = ("metrics.charts", "metrics.exports", "metrics.ui", "metrics.serving", "metrics.api")
# The one exception, with its reason: the PostgreSQL backend reads the warehouse password
# from Streamlit's secrets when the site runs under Streamlit (imported inside a function).
ALLOWED = {("metrics.sql.postgres", "streamlit")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (`from metrics import x` counts as metrics.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted((ROOT / "metrics").rglob("*.py"))}


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _metrics_imports(module: str) -> set[str]:
    """The metrics modules `module` imports (a name imported from a module is dropped when
    it is not itself a module)."""
    return {
        name
        for name in MODULES[module]
        if _under(name, "metrics") and (name in MODULES or name.rsplit(".", 1)[0] not in MODULES)
    }


def _breaches(layer: tuple[str, ...], allowed: tuple[str, ...], third_party: tuple[str, ...]):
    out = []
    for module in MODULES:
        if not _under(module, *layer):
            continue
        for name in sorted(_metrics_imports(module)):
            if not _under(name, *allowed):
                out.append(f"{module} imports {name}")
        for name in sorted(MODULES[module]):
            if _under(name, *third_party) and (module, name.split(".")[0]) not in ALLOWED:
                out.append(f"{module} imports {name}")
    return out


def test_every_module_is_scanned():
    assert "metrics.definitions.validate" in MODULES
    assert "metrics.sql.warehouse" in MODULES
    assert "metrics.analyses.money" in MODULES


def test_definitions_import_only_definitions():
    assert _breaches(("metrics.definitions",), ("metrics.definitions",), ENGINES) == []


def test_sql_imports_only_definitions():
    allowed = ("metrics.definitions", "metrics.sql", "metrics.files")
    assert _breaches(("metrics.sql",), allowed, ("streamlit", "altair")) == []


def test_validation_and_board_sit_on_sql():
    below = ("metrics.definitions", "metrics.sql", "metrics.files")
    assert _breaches(("metrics.validation",), below, ("streamlit", "altair")) == []
    assert _breaches(("metrics.board",), (*below, "metrics.validation"), ("streamlit",)) == []


def test_analyses_import_no_views():
    breaches = [
        f"{module} imports {name}"
        for module in MODULES
        if _under(module, "metrics.analyses")
        for name in sorted(MODULES[module])
        if _under(name, *VIEWS, "pages", "streamlit", "altair")
    ]
    assert breaches == []


def test_below_the_analyses_nothing_imports_them():
    below = ("metrics.definitions", "metrics.sql", "metrics.validation", "metrics.board")
    breaches = [
        f"{module} imports {name}"
        for module in MODULES
        if _under(module, *below)
        for name in sorted(_metrics_imports(module))
        if _under(name, "metrics.analyses", *VIEWS)
    ]
    assert breaches == []


def test_charts_import_no_exports_or_ui():
    breaches = [
        f"{module} imports {name}"
        for module in MODULES
        if _under(module, "metrics.charts")
        for name in sorted(MODULES[module])
        if _under(name, "metrics.exports", "metrics.ui", "metrics.serving", "pages", "streamlit")
    ]
    assert breaches == []


def test_only_the_ui_imports_streamlit_or_pages():
    breaches = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if not _under(module, "metrics.ui")
        for name in sorted(names)
        if _under(name, "streamlit", "pages") and (module, name.split(".")[0]) not in ALLOWED
    ]
    assert breaches == []


def test_leaf_helpers_and_statistics_stand_alone():
    for module, names in MODULES.items():
        own = [n for n in names if _under(n, "metrics")]
        if module in ("metrics.text", "metrics.audit"):
            assert own == [], module
        for package in ("metrics.spc", "metrics.its"):
            if _under(module, package) and module != f"{package}.cli":
                assert all(_under(n, package) for n in own), (module, own)


@pytest.mark.parametrize(
    "module",
    ["metrics.definitions.validate", "metrics.definitions.rules", "metrics.definitions.catalogue"],
)
def test_definitions_read_without_a_database(module):
    """Definitions load and are checked with DuckDB, sqlglot and metrics.sql unimportable."""
    blocked = ", ".join(repr(m) for m in (*ENGINES, "metrics.sql"))
    code = (
        "import sys\n"
        f"for name in ({blocked},):\n"
        "    sys.modules[name] = None\n"
        f"import {module}\n"
        "from metrics.definitions.validate import load_definitions\n"
        f"loaded = load_definitions({str(ROOT / 'config')!r})\n"
        "assert loaded.catalogue.metrics, loaded.issues\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
