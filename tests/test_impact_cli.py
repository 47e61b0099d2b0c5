"""`python -m metrics impact`: the configured studies exactly as the site runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from metrics.analyses.impact import (
    ImpactRequest,
    headline,
    impact_sentence,
    metrics_with_its,
    run_impact,
)
from metrics.board import open_board
from metrics.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def impact_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["impact", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def board():
    return open_board(CONFIG)


def test_json_lists_every_study_headline_first_as_the_site_runs_it(board, capsys) -> None:
    code, out, err = impact_cli(capsys, str(CONFIG), "--json")
    assert code == 0, err
    studies = json.loads(out)
    assert studies[0]["metric"] == "secondary_referrals"
    assert studies[0]["headline_study"] and not any(s["headline_study"] for s in studies[1:])
    assert {s["metric"] for s in studies} == {m.id for m in metrics_with_its(board)}
    for study in studies:
        assert {"metric", "interventions", "model", "verdict", "headline", "effects"} <= set(study)
        site = run_impact(board, ImpactRequest(study["metric"]))
        result = site.result
        # The same numbers and words as the Impact page.
        assert study["effects"] == json.loads(json.dumps(result.to_dict()["effects"]))
        assert study["headline"]["sentence"] == impact_sentence(site)
        assert (study["headline"]["number"], study["headline"]["interval"]) == headline(site)
        assert study["verdict"]["status"] == result.verdict.status
        assert study["interventions"] == [i.id for i in result.spec.interventions]
        assert study["model"] == result.model


def test_effects_have_the_shape_of_the_its_command(board, capsys, tmp_path) -> None:
    """The binomial study's data through `python -m metrics its` give the same effects."""
    code, out, _ = impact_cli(
        capsys, str(CONFIG), "--json", "--metric", "secondary_acceptance_rate"
    )
    assert code == 0
    (study,) = json.loads(out)
    impact = run_impact(board, ImpactRequest("secondary_acceptance_rate"))
    path = tmp_path / "acceptance.csv"
    impact.data.assign(date=impact.data["date"].dt.strftime("%Y-%m")).to_csv(path, index=False)
    code = main(
        [
            *("its", str(path), "--json", "--model", "binomial"),
            *("--denominator-col", "denominator", "--seasonality", "none"),
            *("--intervention", "2015-10", "--ramp", "9"),
        ]
    )
    its = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [set(e) for e in its["effects"]] == [set(e) for e in study["effects"]]
    for mine, theirs in zip(study["effects"], its["effects"], strict=True):
        assert mine["estimate"] == pytest.approx(theirs["estimate"], rel=1e-9)
        assert mine["ci_low"] == pytest.approx(theirs["ci_low"], rel=1e-9)
        assert mine["scale"] == theirs["scale"] == "odds_ratio"


def test_the_readable_report_names_each_study_and_its_verdict(capsys) -> None:
    code, out, _ = impact_cli(capsys, str(CONFIG), "--metric", "ipsa_living_independently")
    assert code == 0
    assert "IPSA cohort living independently (ipsa_living_independently)" in out
    assert "Model fits" in out and "+2.1 people a month" in out
    assert "Ljung-Box" in out  # the report is for analysts


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("no_such_metric", "unknown metric 'no_such_metric' (studies: secondary_referrals"),
        ("open_referrals", "metric 'open_referrals' has no its: block"),
    ],
)
def test_a_metric_without_a_study_is_refused(capsys, metric, message) -> None:
    code, out, err = impact_cli(capsys, str(CONFIG), "--metric", metric)
    assert code == 2 and out == "" and message in err


def test_a_study_that_cannot_run_is_named_and_the_others_still_run(tmp_path, capsys) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    with (config / "interventions.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "  - id: future_change\n    title: A change to come\n"
            "    kind: service_change\n    start: 2030-01\n"
        )
    metrics = config / "metrics" / "access.yaml"
    text = metrics.read_text(encoding="utf-8")
    anchor = "    breakdowns: [lcn, team]\n    owner: Performance team\n"
    assert anchor in text
    metrics.write_text(
        text.replace(anchor, anchor + "    its: {interventions: [future_change], model: ols}\n", 1),
        encoding="utf-8",
    )
    code, out, err = impact_cli(capsys, str(config), "--json")
    assert code == 2
    studies = {s["metric"]: s for s in json.loads(out)}
    broken = studies["open_referrals"]
    assert set(broken) == {"metric", "title", "headline_study", "error"}
    assert broken["error"].startswith("Open referrals in adult mental health (month end):")
    assert "future_change" in broken["error"] and "outside the data" in broken["error"]
    assert "open_referrals:" in err
    assert all("effects" in s for m, s in studies.items() if m != "open_referrals")
