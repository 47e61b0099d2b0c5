"""`python -m metrics export`: the showcase deck (HTML, PowerPoint) or the board pack (PDF).

    python -m metrics export --format html --out showcase.html
    python -m metrics export --format pdf --out pack.pdf --audience board

The audience defaults to "public" (small numbers suppressed), the safe choice for a file
that may travel. Parts that cannot be built (a slide naming an unknown metric, a chart
that fails, a model that fails) are marked unavailable inside the file with the reason,
and each prints one warning line on stderr.

Exit codes: 0 the file was written (even with unavailable parts); 1 nothing could be
built (or written); 2 a usage error (unknown format or audience, missing config folder,
an output path that is a folder or sits in a folder that does not exist).

The file is written atomically (a temporary file in the same folder, then renamed), so a
failed run never leaves a half-written deck where the last good one was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from metrics import audit
from metrics.exports import AUDIENCES, FORMATS

EXIT_OK = 0
EXIT_NOTHING_BUILT = 1
EXIT_USAGE = 2
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config"


def register(subparsers: Any) -> None:
    """Add the `export` sub-command to the `python -m metrics` parser."""
    parser = subparsers.add_parser(
        "export",
        help="write the showcase deck (html, pptx) or the board pack (pdf), offline",
        description=(
            "Build the showcase deck as a self-contained HTML file or a PowerPoint file, or "
            "the board pack as a PDF, from the same figures as the site. Public exports "
            "are always disclosure-controlled."
        ),
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="html, pptx or pdf")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    parser.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="public",
        help="public (default: small numbers suppressed) or board",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="DIR",
        help="config folder (default: $ALLIANCE_CONFIG_DIR or the project's config/)",
    )
    parser.add_argument(
        "--meeting-date",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="meeting date on the board pack's cover (default: today)",
    )
    parser.set_defaults(func=run)


def _config_dir(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return Path(args.config)
    return Path(os.environ.get("ALLIANCE_CONFIG_DIR") or DEFAULT_CONFIG)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and a rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Build and write the export; return the exit code (see the module docstring)."""
    config_dir = _config_dir(args)
    out = Path(args.out)
    if args.format not in FORMATS:
        return _usage_error(f"unknown format '{args.format}': use {', '.join(FORMATS)}")
    if args.audience not in AUDIENCES:
        return _usage_error(f"unknown audience '{args.audience}': use {', '.join(AUDIENCES)}")
    if not config_dir.is_dir():
        return _usage_error(f"config folder not found: {config_dir}")
    if out.is_dir():
        return _usage_error(f"--out is a folder, not a file: {out}")
    if not out.parent.is_dir():
        return _usage_error(f"the folder for --out does not exist: {out.parent}")

    # Imported here: registering the sub-command (and `--help`) stays instant.
    from metrics.board import open_board
    from metrics.exports import NothingToExport, build_export

    try:
        board = open_board(config_dir)
    except Exception as exc:  # the board could not even be opened: nothing to build
        print(f"error: the board could not be opened: {exc}", file=sys.stderr)
        return EXIT_NOTHING_BUILT
    try:
        export = build_export(
            board, args.format, args.audience, meeting_date=getattr(args, "meeting_date", None)
        )
    except NothingToExport as exc:
        print(f"error: nothing could be built: {exc}", file=sys.stderr)
        return EXIT_NOTHING_BUILT
    except Exception as exc:  # a writer failed as a whole: report it, never a traceback
        print(f"error: the {args.format} export failed: {exc}", file=sys.stderr)
        return EXIT_NOTHING_BUILT
    for problem in export.problems:
        print(f"warning: {problem.text()}", file=sys.stderr)
    try:
        write_atomically(out, export.data)
    except OSError as exc:
        print(f"error: could not write {out}: {exc}", file=sys.stderr)
        return EXIT_NOTHING_BUILT
    unavailable = len(export.problems)
    audit.record(
        f"{getpass.getuser()} (command line)",
        "export",
        str(out),
        format=args.format,
        audience=args.audience,
        unavailable=unavailable,
    )
    note = f", {unavailable} part(s) unavailable" if unavailable else ""
    print(f"wrote {out} ({len(export.data):,} bytes, {args.audience} version{note})")
    return EXIT_OK
