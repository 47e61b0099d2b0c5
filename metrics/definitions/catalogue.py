"""The validated catalogue: an immutable view of everything under config/."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metrics.definitions.board_files import (
    BoardFile,
    DisclosureFile,
    Domain,
    FrameworkFile,
    Outcome,
    ShowcaseFile,
    SlideDef,
)
from metrics.definitions.models import InterventionDef, MetricDef, SourceDef

CONFIG_FILES = (
    "sources.yaml",
    "framework.yaml",
    "interventions.yaml",
    "board.yaml",
    "disclosure.yaml",
    "showcase.yaml",
)
METRICS_DIR = "metrics"


@dataclass(frozen=True)
class Origin:
    """Where a definition is written, for messages, lineage and the editor."""

    file: str  # relative to the config folder's parent (e.g. config/metrics/access.yaml)
    line: int


@dataclass(frozen=True)
class Catalogue:
    config_dir: Path
    data_dir: Path
    sources: dict[str, SourceDef] = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    framework_title: str = "Outcomes framework"
    interventions: dict[str, InterventionDef] = field(default_factory=dict)
    metrics: dict[str, MetricDef] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)  # metric id -> where defined
    board: BoardFile = field(default_factory=BoardFile)
    disclosure: DisclosureFile = field(default_factory=DisclosureFile)
    showcase: ShowcaseFile = field(
        default_factory=lambda: ShowcaseFile(title="Showcase", slides=[])
    )
    # Slides that passed the schema (a slide naming an unknown metric is kept: exports mark
    # it unavailable with the reason instead of dropping it).
    slides: tuple[SlideDef, ...] = ()
    fingerprint: str = ""
    query_timeout: float = 10.0  # seconds (sources.yaml query_timeout_seconds)
    # Parameterised metrics (for_each): each expanded metric's definition id, and the
    # definitions whose values (or names) are read from the data when it is loaded.
    expanded_from: dict[str, str] = field(default_factory=dict)
    templates: dict[str, MetricDef] = field(default_factory=dict)
    # Where each data test is written: "sources[id].tests[0]" -> file and line.
    test_origins: dict[str, Origin] = field(default_factory=dict)
    # sources.yaml warehouse: (ALLIANCE_WAREHOUSE overrides the URL; None: embedded DuckDB)
    warehouse_url: str | None = None
    warehouse_schema: str | None = None

    @property
    def framework(self) -> FrameworkFile:
        return FrameworkFile(
            title=self.framework_title,
            outcomes=list(self.outcomes.values()),
            domains=list(self.domains.values()),
        )

    def metrics_in_domain(self, domain_id: str) -> list[MetricDef]:
        return [m for m in self.metrics.values() if m.domain == domain_id and m.status != "retired"]

    def domain_order(self) -> list[str]:
        """Board layout order first, then any domain the layout leaves out."""
        ordered = [d for d in self.board.overview_domains if d in self.domains]
        return ordered + [d for d in self.domains if d not in ordered]

    def intervention_start(self, intervention_id: str) -> dt.date:
        return self.interventions[intervention_id].start


def config_files(config_dir: Path) -> list[Path]:
    """Every YAML file the catalogue is built from, in a stable order."""
    files = [config_dir / name for name in CONFIG_FILES]
    files += sorted((config_dir / METRICS_DIR).glob("*.yaml"))
    return files


def fingerprint(paths: list[Path]) -> str:
    """Changes whenever any file is edited, added or removed (name, size, mtime)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            stat = path.stat()
        except OSError:
            digest.update(f"{path}:absent".encode())
            continue
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def resolve_data_dir(config_dir: Path, data_dir_setting: str) -> Path:
    """ALLIANCE_DATA_DIR (for real data) wins over the data_dir written in sources.yaml."""
    override = os.environ.get("ALLIANCE_DATA_DIR")
    path = Path(override) if override else config_dir / data_dir_setting
    try:
        return path.resolve()
    except (OSError, ValueError):  # a NUL byte or an over-long name: reported on loading
        return path


def fragment_texts(metric: MetricDef) -> dict[tuple[str, ...], str | None]:
    """Every piece of SQL a metric writes, by its field path."""
    return {
        ("filter",): metric.filter,
        ("value",): metric.value,
        ("numerator", "filter"): metric.numerator.filter if metric.numerator else None,
        ("numerator", "value"): metric.numerator.value if metric.numerator else None,
        ("denominator", "filter"): metric.denominator.filter if metric.denominator else None,
        ("denominator", "value"): metric.denominator.value if metric.denominator else None,
        ("rate", "filter"): metric.rate.filter if metric.rate else None,
        ("rate", "value"): metric.rate.value if metric.rate else None,
    }


# Board words for codes (metrics.labels shows them; rules.py warns about gaps).
MISSING_NOTE = "label missing"


def missing_labels(labels: Mapping[str, str] | None, values: Iterable[str] | None) -> list[str]:
    """Declared values of a labelled column that have no label (for `validate`)."""
    if labels is None or values is None:
        return []
    return [value for value in values if value not in labels]
