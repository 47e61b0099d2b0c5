"""docs/metric-definitions.md is generated from the models and documents every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.cli import main
from metrics.definitions.board_files import FILE_MODELS
from metrics.reference_docs import DOCS_PATH, all_models, field_names, render_reference

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reference() -> str:
    return render_reference()


def test_committed_docs_are_up_to_date(reference: str) -> None:
    assert DOCS_PATH == ROOT / "docs" / "metric-definitions.md"
    assert DOCS_PATH.exists(), "run `python -m metrics docs`"
    assert DOCS_PATH.read_text(encoding="utf-8") == reference, (
        "docs/metric-definitions.md is stale: run `python -m metrics docs`"
    )


def test_every_field_of_every_model_is_documented(reference: str) -> None:
    models = all_models()
    # Every model any config file uses is reached (the files' own and every nested block).
    assert set(FILE_MODELS.values()) <= set(models)
    assert {"MetricDef", "ITSBlock", "SPCBlock", "Target", "RatioPart", "RateDef"} <= {
        m.__name__ for m in models
    }
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name in field_names(model)
        if f"| `{name}` |" not in reference
    ]
    assert missing == []


def test_every_field_has_a_description() -> None:
    # The reference (and editors' hover text) is only as good as the models' descriptions.
    bare = [
        f"{model.__name__}.{name}"
        for model in all_models()
        for name, info in model.model_fields.items()
        if not info.description
    ]
    assert bare == []


def test_every_file_and_guidance_section_is_there(reference: str) -> None:
    for heading in (
        "### sources.yaml",
        "### framework.yaml",
        "### interventions.yaml",
        "### metrics/*.yaml",
        "### board.yaml",
        "### disclosure.yaml",
        "## Filters are SQL",
        "## Missing months, provisional months and maturity",
        "## Validation stages",
        "## Exit codes of `validate`",
        "## Output formats",
        '## "Did you mean" suggestions',
    ):
        assert heading in reference
    for measure in ("count", "sum", "mean", "median", "p90", "ratio", "rate", "money"):
        assert f"**{measure}**" in reference, measure
    for word in ("provisional_months", "maturity_months", "--format github", "did you mean"):
        assert word in reference


def test_cli_docs_check_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "reference.md"
    assert main(["docs", "--check", "--output", str(target)]) == 1  # missing
    assert "out of date" in capsys.readouterr().err
    assert main(["docs", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_reference()
    assert main(["docs", "--check", "--output", str(target)]) == 0
    target.write_text("edited by hand\n", encoding="utf-8")
    assert main(["docs", "--check", "--output", str(target)]) == 1
