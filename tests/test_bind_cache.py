"""The SQL checks remember which metric definitions bound cleanly (the editor validates
the whole configuration on every edit): an unchanged metric is not bound again, while a
changed metric, or one whose source changed, is checked afresh and its problems reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.sql import definition_checks
from metrics.validation import load_config


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the metrics whose whole query was built and bound."""
    seen: list[str] = []
    plan = definition_checks.plan_series

    def counting(metric, *args, **kwargs):
        seen.append(metric.id)
        return plan(metric, *args, **kwargs)

    monkeypatch.setattr(definition_checks, "plan_series", counting)
    monkeypatch.setattr(definition_checks, "_BOUND", type(definition_checks._BOUND)())
    return seen


def sql_errors(config: Path) -> list[str]:
    return [i.format_text() for i in load_config(config).issues if i.stage == "sql"]


def test_unchanged_metrics_are_bound_once(mini: Path, planned: list[str]):
    assert sql_errors(mini) == []
    first = sorted(planned)
    assert "count_a" in first and "rate_a" in first
    planned.clear()
    assert sql_errors(mini) == []
    assert planned == []


def test_a_changed_metric_is_checked_again_and_its_error_reported(mini, planned, edit):
    assert sql_errors(mini) == []
    planned.clear()
    edit(
        mini / "metrics" / "all.yaml",
        "filter: \"kind = 'a'\", unit: events",
        "filter: \"kinds = 'a'\", unit: events",
    )
    errors = sql_errors(mini)
    assert any("count_a" in e and "kinds" in e for e in errors), errors
    # Only the edited metric was bound again; its error is reported on every check.
    assert set(planned) <= {"count_a"}
    assert any("count_a" in e and "kinds" in e for e in sql_errors(mini))


def test_a_changed_source_checks_its_metrics_again(mini, planned, edit):
    assert sql_errors(mini) == []
    planned.clear()
    # days becomes text: the metrics that sum it no longer bind.
    edit(mini / "sources.yaml", "days: {type: integer, min: 0}", "days: {type: string}")
    sql_errors(mini)
    assert {"sum_days", "mean_days", "count_a"} <= set(planned)
    assert "sum_x" not in planned  # another source: unchanged, not bound again
