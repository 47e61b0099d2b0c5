"""The JSON Schemas match the models, the YAML files point at them, and config/ is valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metrics.definitions.catalogue import config_files
from metrics.definitions.schema import render_schemas
from metrics.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def test_committed_schemas_are_up_to_date():
    for name, text in render_schemas().items():
        committed = CONFIG / "schema" / name
        assert committed.exists(), f"run `python -m metrics schema` ({name} missing)"
        assert committed.read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python -m metrics schema`"
        )


def test_schema_describes_metric_fields_for_autocomplete():
    schema = json.loads((CONFIG / "schema" / "metrics.schema.json").read_text())
    metric = schema["$defs"]["MetricDef"]
    assert {"id", "title", "domain", "source", "measure", "unit", "better", "its", "spc"} <= set(
        metric["properties"]
    )
    assert metric["additionalProperties"] is False
    assert "description" in metric["properties"]["measure"]


@pytest.mark.parametrize("path", config_files(CONFIG), ids=lambda p: p.name)
def test_every_yaml_file_references_its_schema(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema_path = (path.parent / first_line.split("=", 1)[1]).resolve()
    assert schema_path.exists()


def test_bundled_config_has_no_definition_errors():
    loaded = load_config(CONFIG)
    assert [i.format_text() for i in loaded.issues if i.is_error] == []


def test_catalogue_covers_every_domain_and_measure_kind():
    catalogue = load_config(CONFIG).catalogue
    metrics = list(catalogue.metrics.values())
    assert len(metrics) >= 20
    assert {m.domain for m in metrics} == set(catalogue.domains)
    kinds = {m.measure for m in metrics}
    assert {"count", "sum", "mean", "median", "p90", "ratio", "rate"} <= kinds
    assert any(m.is_money for m in metrics)
    assert {o for o in catalogue.outcomes} == {
        d.outcome for d in catalogue.domains.values() if d.outcome
    }
    assert {"hub_scale_up", "ipsa_go_live", "alliance_go_live", "covid"} <= set(
        catalogue.interventions
    )
