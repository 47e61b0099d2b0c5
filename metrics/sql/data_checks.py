"""Stage 4 of validation: checks that need the loaded sources. Every metric computes and
covers its span, interventions leave enough months either side, months that look
incomplete are reported (metrics.sql.month_checks), the YAML data tests run
(metrics.sql.data_tests), and a data folder that is not there is one error at data_dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metrics.definitions.catalogue import Catalogue
from metrics.definitions.issues import Issue
from metrics.definitions.models import MetricDef
from metrics.definitions.yaml_positions import YamlSyntaxError, load_yaml
from metrics.sql.data_tests import run_data_tests
from metrics.sql.month_checks import month_change_issues
from metrics.sql.series import SeriesError, SeriesQuery, compute_series
from metrics.sql.warehouse import Warehouse

if TYPE_CHECKING:
    from metrics.definitions.validate import ConfigLoad

MIN_POINTS_REFUSE = 3  # ITS: fewer points than this in a segment cannot be modelled
MIN_POINTS_WARN = 12  # ITS: fewer than this gives unstable estimates


def check_data(
    catalogue: Catalogue,
    warehouse: Warehouse,
    series: Callable[[str, Any], Any] | None = None,
) -> list[Issue]:
    """Data checks that need the loaded sources: every metric computes and covers its span.

    `series(metric_id, query)` computes a series (the board's cached one when given)."""
    # Months that look incomplete, or out of line with the months around them (sources.yaml
    # checks:), in every loaded source dated by month, used by a metric or not yet.
    issues: list[Issue] = month_change_issues(catalogue, warehouse)
    for metric in catalogue.metrics.values():

        def report(
            message: str,
            level: str = "error",
            field: str = "",
            hint: str = "",
            metric: MetricDef = metric,
        ) -> None:
            issues.append(_metric_data_issue(catalogue, metric, message, level, field, hint))

        needed = {metric.source, metric.rate.population if metric.rate else metric.source}
        if not needed <= set(warehouse.loaded):
            # The source's own problem is reported once, with the source (not again at
            # every metric on it); the summary counts these metrics as waiting for it.
            continue
        try:
            if series is not None:
                result = series(metric.id, SeriesQuery())
            else:
                result = compute_series(
                    warehouse,
                    metric,
                    catalogue.sources,
                    SeriesQuery(),
                    lcn_column=catalogue.board.lcn_column,
                )
        except SeriesError as exc:
            report(str(exc))
            continue
        values = result.frame.dropna(subset=["value"])
        if values.empty:
            report("no data: the filter selects no rows in any month", "warning", "filter")
            continue
        first = values["month"].min().date()
        if metric.since and metric.since < first:
            report(
                f"since {metric.since:%Y-%m} but the first month with data is {first:%Y-%m}",
                "warning",
                "since",
            )
        gaps = int(result.frame["value"].isna().sum())
        if gaps:
            report(f"{gaps} month(s) have no data and are shown as gaps", "warning")
        if metric.its:
            for position, ref in enumerate(metric.its.interventions):
                intervention = catalogue.interventions.get(ref)
                if intervention is None:
                    continue
                months = values["month"].dt.date
                before = int((months < intervention.start).sum())
                after = int((months >= intervention.start).sum())
                for side, count in (("before", before), ("after", after)):
                    where = f"intervention {ref} ({intervention.start:%Y-%m})"
                    if count < MIN_POINTS_REFUSE:
                        report(
                            f"{where} leaves only {count} point(s) {side} it; at least "
                            f"{MIN_POINTS_REFUSE} are needed",
                            field=f"its.interventions[{position}]",
                        )
                    elif count < MIN_POINTS_WARN:
                        report(
                            f"{where} leaves only {count} points {side} it; estimates from fewer "
                            f"than {MIN_POINTS_WARN} are unstable",
                            "warning",
                            f"its.interventions[{position}]",
                        )
    issues += _run_data_tests(catalogue, warehouse, series)
    return issues


def _run_data_tests(
    catalogue: Catalogue, warehouse: Warehouse, series: Callable[[str, Any], Any] | None
) -> list[Issue]:
    def monthly_values(metric_id: str) -> Any:
        if series is not None:
            return series(metric_id, SeriesQuery()).frame
        metric = catalogue.metrics[metric_id]
        return compute_series(
            warehouse,
            metric,
            catalogue.sources,
            SeriesQuery(),
            lcn_column=catalogue.board.lcn_column,
        ).frame

    return run_data_tests(catalogue, warehouse, monthly_values)


def data_folder_issues(loaded: ConfigLoad, warehouse: Warehouse) -> list[Issue]:
    """The warehouse's issues, with one wrong data folder said once: a data folder that
    does not exist (or holds none of the source files) is one error at data_dir in
    sources.yaml, not one "file not found" per source (and none per metric)."""
    catalogue = loaded.catalogue
    found = [i for i in warehouse.issues if not i.message.startswith("file not found")]
    missing = [i for i in warehouse.issues if i.message.startswith("file not found")]
    if getattr(catalogue, "warehouse_url", None) or not missing:
        return list(warehouse.issues)
    folder = catalogue.data_dir
    exists = folder.is_dir()
    if exists and (len(missing) < 2 or len(missing) < len(catalogue.sources)):
        return list(warehouse.issues)  # some files are there: each missing one is its own slip
    at = loaded.data_dir_at
    override = os.environ.get("ALLIANCE_DATA_DIR")
    setting = "" if override else _data_dir_setting(at, catalogue)
    return [
        missing_data_issue(
            folder,
            catalogue.config_dir,
            at,
            setting=setting,
            override=override,
            files=0 if not exists else len(missing),
        ),
        *found,
    ]


def missing_data_issue(
    folder: Path,
    config_dir: Path,
    at: Issue | None,
    *,
    setting: str = "",
    override: str | None = None,
    files: int = 0,
) -> Issue:
    """The one error for a data folder that is not there (`files` = 0) or holds none of
    the `files` source files, at data_dir in sources.yaml (`at`)."""
    if override:
        why = f"named by ALLIANCE_DATA_DIR={override}"
        hint = (
            "set ALLIANCE_DATA_DIR to the folder holding the source files (an absolute path, "
            "or relative to the folder the command runs in), or unset it to use data_dir"
        )
    else:
        why = (
            f"data_dir: {setting} in sources.yaml, which is relative to the config folder "
            f"{config_dir}"
        )
        hint = (
            "write data_dir as the path from the config folder to the data folder (or an "
            "absolute path), or set ALLIANCE_DATA_DIR to the data folder"
        )
    what = (
        f"none of the {files} source files is in the data folder {folder}"
        if files
        else f"data folder not found: {folder}"
    )
    return Issue(
        "error",
        "data",
        at.file if at is not None else "sources.yaml",
        f"{what} ({why}); no source could be loaded",
        line=at.line if at is not None else 0,
        column=at.column if at is not None else 0,
        field="data_dir",
        hint=hint,
    )


def _data_dir_setting(at: Issue | None, catalogue: Catalogue) -> str:
    if at is None or not at.line:
        return "../sample_data (the default)"
    try:
        data = load_yaml((catalogue.config_dir / "sources.yaml").read_text(encoding="utf-8")).data
    except (OSError, YamlSyntaxError):
        return "(as written)"
    return str(data.get("data_dir")) if isinstance(data, dict) else "(as written)"


def _metric_data_issue(
    catalogue: Catalogue, metric: MetricDef, message: str, level: str, field: str, hint: str
) -> Issue:
    origin = catalogue.origins.get(metric.id)
    return Issue(
        level,  # type: ignore[arg-type]
        "data",
        origin.file if origin else "",
        f"metric '{metric.id}': {message}",
        line=origin.line if origin else 0,
        field=f"metrics[{metric.id}]" + (f".{field}" if field else ""),
        hint=hint,
    )
