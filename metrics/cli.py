"""Command-line entry point: one sub-command per engine module.

Each sub-command module exposes `register(subparsers) -> None`, which adds its parser and
sets `func` (a callable taking the parsed arguments and returning the exit code).
Modules are imported lazily so that one broken or missing module never takes the others down.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = [
    "metrics.validate_cli",  # validate, schema
    "metrics.its.cli",  # its
    "metrics.spc.cli",  # spc
    "metrics.exports.cli",  # export
    "metrics.analyses.readings_cli",  # readings
    "metrics.show_cli",  # show
    "metrics.analyses.impact_cli",  # impact
    "metrics.warehouse_cli",  # warehouse load, warehouse check
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m metrics",
        description="Alliance Board: validate metric definitions and run SPC and ITS analyses.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # sub-command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))
