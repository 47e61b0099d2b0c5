"""Board words (issue 16): labels for codes come from config, a code without a label is
shown with a note and `validate` warns, SPC rules read as what they mean, and charts read
cleanly (labels apart, no interval below zero for a count, a title that says where)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from metrics.charts.its_chart import its_chart
from metrics.charts.spc_chart import (
    LABEL_GAP_PX,
    line_label_positions,
    spc_chart,
    spread_labels,
    value_domain,
)
from metrics.definitions.catalogue import Catalogue
from metrics.definitions.models import ColumnDef, InterventionDef, SourceDef
from metrics.its import InterventionSpec, ITSSpec, fit_its
from metrics.labels import (
    MISSING_NOTE,
    chart_title,
    code_label,
    code_list_label,
    column_label,
    measure_key_label,
)
from metrics.spc import SPCOptions, compute_spc
from metrics.spc.wording import rule_meaning
from metrics.validation import load_config, validate_config
from tests.apptest_support import run_page

# --------------------------------------------------------------------------- labels


def catalogue_with(columns: dict[str, ColumnDef]) -> Catalogue:
    source = SourceDef.model_validate(
        {
            "id": "costs",
            "title": "Costs",
            "path": "costs.csv",
            "grain": "monthly",
            "date_column": "month",
            "columns": {
                "month": {"type": "date"},
                **{k: v.model_dump() for k, v in columns.items()},
            },
        }
    )
    return Catalogue(config_dir=".", data_dir=".", sources={"costs": source})  # type: ignore[arg-type]


PROVIDERS = ColumnDef(
    type="category",
    label="Provider",
    values=["SLAM", "PRIVATE_SPOT", "NEW_ONE"],
    labels={"SLAM": "South London and Maudsley", "PRIVATE_SPOT": "Independent sector"},
)


def test_a_code_reads_as_its_label():
    catalogue = catalogue_with({"provider_id": PROVIDERS})
    assert code_label(catalogue, "provider_id", "PRIVATE_SPOT") == "Independent sector"
    assert code_list_label(catalogue, "provider_id", "PRIVATE_SPOT, SLAM") == (
        "Independent sector, South London and Maudsley"
    )


def test_a_code_without_a_label_shows_the_code_with_a_note():
    catalogue = catalogue_with({"provider_id": PROVIDERS})
    assert code_label(catalogue, "provider_id", "NEW_ONE") == f"NEW_ONE ({MISSING_NOTE})"


def test_a_column_without_labels_holds_words_already():
    catalogue = catalogue_with({"lcn": ColumnDef(type="category", values=["North", "South"])})
    assert code_label(catalogue, "lcn", "North") == "North"
    assert code_label(catalogue, "lcn", None) == "not recorded"


def test_column_names_read_as_their_label():
    catalogue = catalogue_with({"provider_id": PROVIDERS, "age_band": ColumnDef(type="category")})
    assert column_label(catalogue, "provider_id") == "Provider"
    assert column_label(catalogue, "age_band") == "age band"


def test_chart_titles_say_where():
    catalogue = catalogue_with({"lcn": ColumnDef(type="category", label="Local Care Network")})
    assert chart_title("Admissions", catalogue) == "Admissions, the whole alliance"
    assert chart_title("Admissions", catalogue, "North") == (
        "Admissions, North (Local Care Network)"
    )


def test_the_real_config_labels_every_provider():
    catalogue = load_config("config").catalogue
    for code in ("PRIVATE_SPOT", "LBL_ASC", "SLAM", "CERTITUDE", "THAMES_REACH"):
        for column in ("provider", "provider_id"):
            words = code_label(catalogue, column, code)
            assert words != code and MISSING_NOTE not in words
    assert column_label(catalogue, "lcn") == "Local Care Network"
    assert catalogue.board.area


def test_validate_warns_about_a_missing_label(mini, edit):
    edit(
        mini / "sources.yaml",
        "kind: {type: category, values: [a, b]}",
        "kind: {type: category, values: [a, b], labels: {a: Kind A}}",
    )
    report = validate_config(mini, data=False)
    assert not report.errors
    warnings = [i for i in report.warnings if "has no label" in i.message]
    assert len(warnings) == 1
    issue = warnings[0]
    assert issue.file.endswith("sources.yaml") and issue.line > 0
    assert "'b'" in issue.message and "labels" in issue.field


# --------------------------------------------------------------------------- SPC words


def test_rules_read_as_what_they_mean():
    assert rule_meaning("Run of 7 points above the mean") == "7 months in a row above average"
    assert rule_meaning("Run of 7 points below the mean") == "7 months in a row below average"
    assert rule_meaning("Trend of 7 points in a row rising") == "rising 7 months in a row"
    assert rule_meaning("Above the upper process limit") == "higher than the usual range"


# --------------------------------------------------------------------------- charts


def monthly(values) -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=len(values), freq="MS")
    return pd.DataFrame({"date": dates, "value": np.array(values, dtype=float)})


def label_layer(spec: dict) -> dict:
    return next(
        layer
        for layer in spec["layer"]
        if layer.get("encoding", {}).get("text", {}).get("field") == "line_label"
    )


def test_spread_labels_keeps_a_pixel_gap():
    placed = spread_labels([10.0, 10.2, 9.9, 0.5], (0.0, 20.0), 300)
    pixels = sorted(p / 20.0 * 300 for p in placed)
    assert all(b - a >= LABEL_GAP_PX - 1e-9 for a, b in itertools.pairwise(pixels))


def test_limit_mean_and_target_labels_never_overlap():
    stable = [48.0, 52.0, 49.0, 51.0, 47.0, 53.0, 50.0, 48.0, 52.0, 49.0, 51.0, 50.0] * 2
    # a target a hair above the lower limit, and a mean close to the upper one
    result = compute_spc(
        monthly(stable), options=SPCOptions(improvement="increase"), target=[("2020-01-01", 44)]
    )
    height = 260
    spec = spc_chart(result, height=height, title="Referrals, Lambeth").to_dict()
    layer = label_layer(spec)
    rows = spec["datasets"][layer["data"]["name"]]
    assert {r["line_label"] for r in rows} >= {"Upper limit", "Mean", "Lower limit", "Target"}
    low, high = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    pixels = sorted((high - r["label_y"]) / (high - low) * height for r in rows)
    assert all(b - a >= LABEL_GAP_PX - 1e-6 for a, b in itertools.pairwise(pixels))
    assert spec["title"] == "Referrals, Lambeth"


def test_a_count_chart_never_goes_below_zero():
    values = [3.0, 0.0, 1.0, 9.0, 0.0, 2.0, 0.0, 8.0, 1.0, 0.0, 2.0, 1.0] * 2
    result = compute_spc(monthly(values), options=SPCOptions(improvement="decrease"))
    data = result.points.assign(median=np.nan, target=np.nan)
    low, _ = value_domain(data)
    assert low >= 0
    spec = spc_chart(result).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"][0] >= 0
    rows = line_label_positions(
        data.assign(is_last=[False] * (len(data) - 1) + [True]), (low, 10.0), 300
    )
    assert (rows["label_y"] >= 0).all()


def test_its_band_for_a_wait_stays_above_zero():
    rng = np.random.default_rng(5)
    n = 60
    t = np.arange(n)
    waits = np.clip(2.0 - 1.5 * (t >= 30) + rng.normal(0, 1.2, n), 0, None)
    frame = pd.DataFrame(
        {"date": pd.date_range("2015-01-01", periods=n, freq="MS"), "value": waits}
    )
    spec = ITSSpec(model="ols", interventions=(InterventionSpec("x", "2017-07", label="Change"),))
    result = fit_its(frame, spec, series_name="Days to first contact")
    assert (result.counterfactual["cf_low"].dropna() < 0).any(), "the test needs a band below 0"
    chart = its_chart(result, title="Days to first contact, Lambeth").to_dict()
    band = next(layer for layer in chart["layer"] if layer["name"] == "counterfactual_band")
    rows = chart["datasets"][band["data"]["name"]]
    assert min(r["cf_low"] for r in rows if r["cf_low"] is not None) >= 0
    assert band["encoding"]["y"]["scale"]["domainMin"] == 0
    assert chart["title"] == "Days to first contact, Lambeth"


def test_a_relabel_is_not_a_service_change():
    relabel = InterventionDef.model_validate(
        {"id": "ccg_to_icb", "title": "CCG to ICB", "kind": "relabel", "start": "2022-07"}
    )
    assert relabel.kind == "relabel"


# --------------------------------------------------------------------------- board pages


def page_text(app) -> str:
    parts = [
        str(e.value)
        for kind in ("markdown", "caption", "title", "header", "subheader")
        for e in getattr(app, kind)
    ]
    parts += [df.value.to_csv(index=False) for df in app.dataframe]
    return "\n".join(parts)


def test_board_pages_say_what_rules_mean_not_their_names():

    text = page_text(run_page("pages/overview.py"))
    assert "Run of 7 points" not in text
    assert "months in a row" in text


def test_money_names_providers_not_codes():

    app = run_page("pages/money.py")
    unit_costs = next(df.value for df in app.dataframe if "Providers" in df.value.columns)
    providers = " ".join(unit_costs["Providers"])
    assert "PRIVATE_SPOT" not in providers and "LBL_ASC" not in providers
    assert "Independent sector (spot purchase)" in providers
    text = page_text(app)
    assert "budget_gbp" not in text and "2024-04-01" not in text


def test_crisis_heading_appears_once_and_limits_say_when_they_start_again():

    app = run_page("pages/crisis.py")
    headings = [t.value for t in app.title] + [h.value for h in app.header]
    assert headings.count("Crisis and acute care") == 1
    assert "Choice and control" in headings


def test_revision_measures_read_in_board_words():
    catalogue = load_config("config").catalogue
    assert measure_key_label(catalogue, "activity:bed_days_acute") == "Bed days, acute"
    assert measure_key_label(catalogue, "all measures") == "all measures"
    unknown = measure_key_label(catalogue, "activity:new_measure")
    assert unknown == "Monthly activity and outcome measures: new measure"
