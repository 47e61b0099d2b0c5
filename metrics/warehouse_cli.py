"""`python -m metrics warehouse load|check [CONFIG_DIR]`: files into a shared warehouse,
and what the site would find there.

- ``load``: check every file source exactly as the site does (every cell, every rule) and
  copy the checked, typed tables into the warehouse (ALLIANCE_WAREHOUSE, ``--url``, or
  sources.yaml's ``warehouse: url:``) as ``<schema>.src_<id>``; a source with errors is
  not copied (the warehouse keeps what an earlier load put there). This needs a role that
  may create tables in the schema; the site's own role needs SELECT only.
- ``check``: open the sources where the site will read them (tables' columns, types and
  data checks as warehouse queries) and print every problem.

Exit codes: 0 done (warnings allowed), 1 problems found, 2 the command could not run.
Credentials are never printed: the URL is shown without its password.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metrics.definitions.issues import sort_issues

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "warehouse",
        help="load source files into a shared warehouse (PostgreSQL, Spark), or check it",
        description="Load checked source files into PostgreSQL or Spark, or check the "
        "sources the site would read there (docs/warehouse.md).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    load = actions.add_parser("load", help="check the files and copy them into the warehouse")
    load.add_argument("config_dir", nargs="?", type=Path, default=DEFAULT_CONFIG)
    load.add_argument("--url", help="warehouse URL (default: ALLIANCE_WAREHOUSE or sources.yaml)")
    load.add_argument("--schema", help="schema to load into (default: sources.yaml or alliance)")
    load.add_argument(
        "--grant-to", metavar="ROLE", help="PostgreSQL: grant SELECT on the loaded tables to ROLE"
    )
    load.set_defaults(func=run_load)
    check = actions.add_parser("check", help="check the sources where the site reads them")
    check.add_argument("config_dir", nargs="?", type=Path, default=DEFAULT_CONFIG)
    check.add_argument("--url", help="warehouse URL (default: ALLIANCE_WAREHOUSE or sources.yaml)")
    check.set_defaults(func=run_check)


def _catalogue(config_dir: Path):  # type: ignore[no-untyped-def]
    from metrics.validation import load_config

    if not config_dir.is_dir():
        print(f"config folder not found: {config_dir}", file=sys.stderr)
        return None
    return load_config(config_dir).catalogue


def run_load(args: argparse.Namespace) -> int:
    from metrics.sql.backends import QueryError, safe_url
    from metrics.sql.remote import load_files, warehouse_schema, warehouse_url

    catalogue = _catalogue(args.config_dir)
    if catalogue is None:
        return 2
    url = args.url or warehouse_url(catalogue)
    if not url:
        print(
            "no warehouse to load into: set ALLIANCE_WAREHOUSE, pass --url, or write "
            "warehouse: url: in sources.yaml (the embedded database loads files itself)",
            file=sys.stderr,
        )
        return 2
    schema = args.schema or warehouse_schema(catalogue)
    try:
        report = load_files(catalogue, url, schema=schema, grant_to=args.grant_to)
    except QueryError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Loading into {safe_url(url)} (schema {schema}) took {report.seconds:.1f} s")
    for source_id, rows in report.loaded.items():
        print(f"  {source_id}: {rows:,} rows")
    for issue in sort_issues(report.issues):
        print(issue.format_text())
    skipped = [s for s in catalogue.sources.values() if s.path and s.id not in report.loaded]
    for source in skipped:
        print(f"  {source.id}: not loaded (see the errors above)")
    return 1 if any(i.is_error for i in report.issues) else 0


def run_check(args: argparse.Namespace) -> int:
    import os

    from metrics.sql.remote import open_for

    catalogue = _catalogue(args.config_dir)
    if catalogue is None:
        return 2
    if args.url:
        os.environ["ALLIANCE_WAREHOUSE"] = args.url
    warehouse = open_for(catalogue)
    try:
        print(f"Sources on {warehouse.location}")
        for source_id, loaded in warehouse.loaded.items():
            span = (
                f", {loaded.first_month:%b %Y} to {loaded.last_month:%b %Y}"
                if loaded.first_month and loaded.last_month
                else ""
            )
            print(f"  {source_id}: {loaded.table}, {loaded.rows:,} rows{span}")
        for issue in sort_issues(warehouse.issues):
            print(issue.format_text())
    finally:
        warehouse.close()
    return 1 if any(i.is_error for i in warehouse.issues) else 0
