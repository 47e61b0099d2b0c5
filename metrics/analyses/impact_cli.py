"""`python -m metrics impact`: the configured impact studies, exactly as the site runs them.

    python -m metrics impact [CONFIG_DIR] [--metric ID] [--json]

Every metric with an `its:` block, the board's headline study (board.yaml headline_study)
first, each fitted by `metrics.analyses.impact.run_impact` as the Impact page fits it (the whole
area, the board's own request, the same memo key). `--json` prints a list of studies:

    {"metric", "title", "headline_study", "interventions", "model", "design", "verdict",
     "headline": {"number", "interval", "sentence", "cumulative"}, "effects",
     "horizon_effects", "cumulative_effects", "group_effects", "notes", "result"}

with `effects` (and the horizon and cumulative effects) in the same shape as
`python -m metrics its --json`, and `result` the full `ITSResult.to_dict()`. A study that
cannot be fitted is `{"metric", "title", "error"}`, its message naming the metric and the
field; the others still run. Exit code 0 when every study ran, 2 when any could not (or
for an unknown metric or config folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config"
EXIT_OK, EXIT_INPUT = 0, 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "impact",
        help="the configured impact (ITS) studies, as the Impact page runs them",
        description=__doc__.split("\n\n", 1)[0],
    )
    parser.add_argument("config_dir", nargs="?", default=None, help="config folder")
    parser.add_argument("--metric", help="one study: a metric id with an its: block")
    parser.add_argument("--json", action="store_true", help="a JSON list, one per study")
    parser.set_defaults(func=run)


def study_json(board: Any, impact: Any) -> dict[str, Any]:
    """One study as JSON (see the module docstring)."""
    from metrics.analyses.impact import (
        block_model,
        cumulative_sentence,
        headline,
        headline_study_id,
        impact_sentence,
    )

    metric = impact.metric
    base: dict[str, Any] = {
        "metric": metric.id,
        "title": metric.title,
        "headline_study": metric.id == headline_study_id(board),
    }
    if impact.result is None:
        return {**base, "error": impact.error}
    result = impact.result
    payload = result.to_dict()
    big, interval = headline(impact)
    block = metric.its
    return {
        **base,
        "interventions": [i.id for i in result.spec.interventions],
        "shocks": [s.id for s in result.spec.shocks],
        "model": result.model,
        "model_default": block is not None and block.model is None,
        "resolved_model": block_model(metric, block) if block is not None else result.model,
        "design": result.design,
        "term": result.reported_term(),
        "verdict": payload["verdict"],
        "headline": {
            "number": big,
            "interval": interval,
            "sentence": impact_sentence(impact),
            "cumulative": cumulative_sentence(impact) or None,
        },
        "effects": payload["effects"],
        "horizon_effects": payload["horizon_effects"],
        "cumulative_effects": payload["cumulative_effects"],
        "group_effects": payload.get("group_effects", []),
        "notes": list(impact.notes),
        "result": payload,
    }


def run(args: argparse.Namespace) -> int:
    from metrics.analyses.impact import ImpactRequest, run_impact, studies_headline_first
    from metrics.board import open_board

    config = Path(args.config_dir or os.environ.get("ALLIANCE_CONFIG_DIR") or DEFAULT_CONFIG)
    if not config.is_dir():
        print(f"impact: config folder not found: {config}", file=sys.stderr)
        return EXIT_INPUT
    board = open_board(config)
    studies = studies_headline_first(board)
    if args.metric:
        metric = board.catalogue.metrics.get(args.metric)
        if metric is None or metric.status == "retired":
            known = ", ".join(m.id for m in studies) or "none"
            print(f"impact: unknown metric '{args.metric}' (studies: {known})", file=sys.stderr)
            return EXIT_INPUT
        if metric.its is None:
            print(
                f"impact: metric '{args.metric}' has no its: block, so it has no planned "
                "study (python -m metrics its runs any series)",
                file=sys.stderr,
            )
            return EXIT_INPUT
        studies = [metric]
    # The Impact page's request and memo key: the site and this command fit each study once.
    impacts = []
    for metric in studies:
        request = ImpactRequest(metric.id)
        impacts.append(board.memo(("impact", request), lambda r=request: run_impact(board, r)))
    failed = [impact for impact in impacts if impact.result is None]
    for impact in failed:
        print(f"impact: {impact.metric.id}: {impact.error}", file=sys.stderr)
    try:
        if args.json:
            print(json.dumps([study_json(board, i) for i in impacts], indent=2))
        else:
            print(_report(board, impacts))
    except BrokenPipeError:  # piped into `head`: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_INPUT if failed else EXIT_OK


def _report(board: Any, impacts: list[Any]) -> str:
    from metrics.analyses.impact import (
        cumulative_sentence,
        diagnostics_for_analysts,
        headline,
        headline_study_id,
        impact_sentence,
        model_words,
    )

    lead = headline_study_id(board)
    lines = [f"Impact studies ({len(impacts)}), as the Impact page runs them"]
    for impact in impacts:
        metric = impact.metric
        mark = " [headline study]" if metric.id == lead else ""
        lines.append("")
        lines.append(f"{metric.title} ({metric.id}){mark}")
        if impact.result is None:
            lines.append(f"  no estimate: {impact.error}")
            continue
        result = impact.result
        big, interval = headline(impact)
        lines.append(f"  {result.verdict.badge if result.verdict else ''}: {big} ({interval})")
        lines.append(f"  {impact_sentence(impact)}")
        cumulative = cumulative_sentence(impact)
        if cumulative:
            lines.append(f"  {cumulative}")
        lines.append(f"  model: {model_words(result.spec)} [{result.model}, {result.design}]")
        for effect in result.effects:
            per = f" per {effect.per}" if effect.per else ""
            lines.append(
                f"    {effect.intervention} {effect.term}: {effect.estimate:.4g}{per} "
                f"({effect.ci_low:.4g} to {effect.ci_high:.4g}), {effect.scale}"
            )
        for line in diagnostics_for_analysts(result):
            lines.append(f"    {line}")
    return "\n".join(lines)
