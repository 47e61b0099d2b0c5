"""`python -m metrics validate`, `python -m metrics schema` and `python -m metrics docs`.

Exit codes for validate: 0 no errors (warnings allowed), 1 errors found, 2 the command
itself could not run (e.g. the config folder does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metrics.definitions.issues import issues_to_json
from metrics.definitions.schema import render_schemas, write_schemas
from metrics.reference_docs import DOCS_PATH, render_reference, write_reference
from metrics.validation import validate_config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config"


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser(
        "validate",
        help="check metric definitions, sources and data; exit 1 on any error",
        description="Validate config/ in stages (parse, schema, references, data) and print "
        "every problem with file, line, column and field.",
    )
    validate.add_argument("config_dir", nargs="?", type=Path, default=DEFAULT_CONFIG)
    validate.add_argument("--json", action="store_true", help="machine-readable output")
    validate.add_argument(
        "--format",
        choices=["text", "json", "github"],
        default=None,
        help="text (default), json, or github (workflow annotations for CI)",
    )
    validate.add_argument(
        "--no-data", action="store_true", help="skip the data stage (do not read source files)"
    )
    validate.add_argument("--strict", action="store_true", help="treat warnings as errors")
    validate.set_defaults(func=run_validate)

    schema = subparsers.add_parser(
        "schema", help="write the JSON Schemas for config files (editor autocomplete)"
    )
    schema.add_argument("config_dir", nargs="?", type=Path, default=DEFAULT_CONFIG)
    schema.add_argument(
        "--check", action="store_true", help="exit 1 if the committed schemas are out of date"
    )
    schema.set_defaults(func=run_schema)

    docs = subparsers.add_parser(
        "docs",
        help="write docs/metric-definitions.md, the reference generated from the models",
        description="Generate the metric-definitions reference (every field of every config "
        "file, with guidance and examples) from the models that validate the files.",
    )
    docs.add_argument(
        "--output", type=Path, default=DOCS_PATH, help=f"where to write it (default {DOCS_PATH})"
    )
    docs.add_argument(
        "--check", action="store_true", help="exit 1 if the committed file is out of date"
    )
    docs.set_defaults(func=run_docs)


def run_validate(args: argparse.Namespace) -> int:
    config_dir: Path = args.config_dir
    output_format = args.format or ("json" if args.json else "text")
    if not config_dir.is_dir():
        print(f"error: config folder not found: {config_dir}", file=sys.stderr)
        return 2
    report = validate_config(config_dir, data=not args.no_data)
    failing = report.errors + (report.warnings if args.strict else [])
    if output_format == "json":
        print(issues_to_json(report.issues, report.counts))
    elif output_format == "github":
        for issue in report.issues:
            print(issue.format_github())
    else:
        for issue in report.issues:
            print(issue.format_text())
        counts = report.counts
        metrics = counts.words() if counts else f"{len(report.catalogue.metrics)} metric(s) valid"
        print(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s); "
            f"{metrics} in {config_dir}"
        )
    return 1 if failing else 0


def run_schema(args: argparse.Namespace) -> int:
    config_dir: Path = args.config_dir
    if args.check:
        stale = [
            name
            for name, text in render_schemas().items()
            if not (config_dir / "schema" / name).exists()
            or (config_dir / "schema" / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"out of date: {config_dir / 'schema' / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_schemas(config_dir):
        print(f"wrote {path}")
    return 0


def run_docs(args: argparse.Namespace) -> int:
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != render_reference():
            print(f"out of date: {path} (run `python -m metrics docs`)", file=sys.stderr)
            return 1
        return 0
    print(f"wrote {write_reference(path)}")
    return 0
