"""JSON Schema for every config file, generated from the same models that validate it.

The YAML files reference these schemas in their first line
(``# yaml-language-server: $schema=...``) so editors such as VS Code autocomplete fields
and flag mistakes as the analyst types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metrics.definitions.board_files import FILE_MODELS

SCHEMA_DIR = "schema"


def schema_for(name: str) -> dict[str, Any]:
    model = FILE_MODELS[name]
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"Alliance Board {name} configuration"
    return schema


def render_schemas() -> dict[str, str]:
    """File name -> JSON text, deterministic so a test can compare it with the committed copy."""
    return {
        f"{name}.schema.json": json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n"
        for name in FILE_MODELS
    }


def write_schemas(config_dir: Path) -> list[Path]:
    target = config_dir / SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in render_schemas().items():
        path = target / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
