"""Claims bound to figures (issue 11, requirement 5): a slide's headline names the
comparison it shows, and validation checks that the slide shows it.

- a headline that speaks of a group (e.g. 'Black') on a slide that shows the overall figure
  is refused, with file, line and field; the content model marks such a slide unavailable;
- `compare` and `number: ratio` show the group's rate against the reference's with its
  95% interval, computed by metrics.analyses.equity under the public disclosure policy (the sample's
  Black:White detention rate ratio lies inside it), with a chart of both groups' rates;
- the IPSA slide shows the whole history from zero, "N of M" from the public Reading;
- speaker notes speak of the alliance, never of how the sample was generated;
- every format (HTML deck, PowerPoint, PDF board pack, Showcase page) shows the comparison
  and the "of N" context.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pypdf import PdfReader

from metrics.analyses.disclosure import policy_for
from metrics.analyses.equity import equity_rates
from metrics.analyses.equity_shown import shown_rates
from metrics.analyses.reading import read_metric
from metrics.board import open_board
from metrics.exports import build_export
from metrics.exports.content import deck_content
from metrics.exports.helpers import ratio_words
from metrics.exports.render import export_spec
from metrics.sql.series import SeriesQuery
from metrics.validation import load_config, validate_config
from tests.apptest_support import run_page

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
TRUTH = json.loads((ROOT / "sample_data" / "truth.json").read_text(encoding="utf-8"))
PERIOD = SeriesQuery(start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1))
OLD_SLIDE_6 = """  - id: detentions
    outcome: participate
    headline: Black residents are still detained far more often, and we are working on it
    metric: detention_rate
    number: latest
    chart: series
    caption: Detentions under the Mental Health Act per 100,000 adults.
    notes: Rates use mid-year population estimates; small numbers are suppressed.
"""


def flat(text: str) -> str:
    return " ".join(text.replace("\u2060", "").split())


def only(issues, text):
    found = [i for i in issues if text in i.message]
    assert found, f"no issue mentioning {text!r} in {[i.format_text() for i in issues]}"
    return found[0]


def y_starts_at_zero(spec: dict) -> bool:
    """Whether every quantitative y scale in a Vega-Lite spec includes zero."""
    found: list[bool] = []

    def visit(node) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        encoding = node.get("encoding")
        if isinstance(encoding, dict):
            y = encoding.get("y")
            if isinstance(y, dict) and y.get("type") == "quantitative":
                scale = y.get("scale") if isinstance(y.get("scale"), dict) else {}
                domain = scale.get("domain")
                found.append(
                    scale.get("zero", True) is not False
                    if domain is None
                    else (isinstance(domain, list) and bool(domain) and domain[0] == 0)
                )
        for key, value in node.items():
            if key not in {"data", "datasets", "config"}:
                visit(value)

    visit(spec)
    return bool(found) and all(found)


def spec_rows(spec: dict) -> list[dict]:
    """Every data row a Vega-Lite spec carries (inline datasets)."""
    rows: list[dict] = []
    for values in spec.get("datasets", {}).values():
        rows.extend(values)
    return rows


@pytest.fixture(scope="module")
def board():
    return open_board(CONFIG)


@pytest.fixture(scope="module")
def deck(board):
    return deck_content(board, "public")


def slide_of(deck, slide_id):
    return next(s for s in deck.slides if s.id == slide_id)


# --------------------------------------------------------------------------- validation


def _copy_config(tmp_path: Path) -> Path:
    """The project's config in a temporary folder, reading the project's sample data."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    sources = target / "sources.yaml"
    sources.write_text(
        re.sub(
            r"^data_dir:.*$",
            f"data_dir: {ROOT / 'sample_data'}",
            sources.read_text(encoding="utf-8"),
            flags=re.M,
        ),
        encoding="utf-8",
    )
    return target


def _with_old_slide_6(config: Path) -> int:
    """Put the old slide 6 back; returns the line of its headline."""
    showcase = config / "showcase.yaml"
    text = showcase.read_text(encoding="utf-8")
    start = text.index("  - id: detentions")
    text = text[:start] + OLD_SLIDE_6
    showcase.write_text(text, encoding="utf-8")
    return text[: text.index("headline: Black residents")].count("\n") + 1


def test_the_project_config_has_no_claim_problems():
    report = validate_config(CONFIG, data=False)
    assert report.errors == []
    slide_issues = [i for i in report.issues if i.field.startswith("slides[")]
    assert slide_issues == [], [i.format_text() for i in slide_issues]


def test_validation_refuses_the_old_slide_6_with_file_line_and_field(tmp_path):
    config = _copy_config(tmp_path)
    line = _with_old_slide_6(config)
    issue = only(load_config(config).issues, "the headline speaks of 'Black'")
    assert issue.is_error and issue.stage == "references"
    assert issue.file.endswith("showcase.yaml")
    assert issue.line == line and issue.column > 0
    assert issue.field == "slides[detentions].headline"
    assert "shows the overall figure" in issue.message
    assert "compare: {dimension: ethnicity, group: Black, reference: White}" in issue.message


def test_the_old_slide_6_is_unavailable_in_the_deck_not_shown(tmp_path):
    config = _copy_config(tmp_path)
    _with_old_slide_6(config)
    old = slide_of(deck_content(open_board(config), "public"), "detentions")
    assert not old.available and old.chart is None and not old.big_number
    assert "speaks of 'Black'" in old.unavailable


SHOWCASE_LINE = "  - {id: one, headline: One, metric: count_a, number: latest, chart: spc}"


def _mini_slide(mini: Path, slide: str) -> None:
    showcase = mini / "showcase.yaml"
    text = showcase.read_text(encoding="utf-8")
    assert SHOWCASE_LINE in text
    showcase.write_text(text.replace(SHOWCASE_LINE, slide), encoding="utf-8")


def test_a_valid_comparison_passes(mini):
    _mini_slide(
        mini,
        "  - {id: one, headline: North residents have a higher rate, metric: rate_a,"
        " compare: {dimension: lcn, group: North, reference: South}, number: ratio,"
        " chart: compare}",
    )
    issues = [i for i in load_config(mini).issues if i.field.startswith("slides[")]
    assert issues == [], [i.format_text() for i in issues]


def test_a_headline_naming_a_group_needs_compare(mini):
    _mini_slide(
        mini,
        "  - {id: one, headline: North residents have a higher rate, metric: rate_a,"
        " number: latest, chart: series}",
    )
    issue = only(load_config(mini).issues, "the headline speaks of 'North'")
    assert issue.is_error and issue.field == "slides[one].headline" and issue.line == 3


@pytest.mark.parametrize(
    ("slide", "message", "field", "level"),
    [
        (
            "{id: one, headline: North counts, metric: count_a,"
            " compare: {dimension: lcn, group: North, reference: South}, number: ratio}",
            "compare needs a rate metric",
            "slides[one].compare",
            "error",
        ),
        (
            "{id: one, headline: North rates, metric: rate_a,"
            " compare: {dimension: lnc, group: North, reference: South}, number: ratio}",
            "is not broken down by 'lnc'",
            "slides[one].compare.dimension",
            "error",
        ),
        (
            "{id: one, headline: Nort rates, metric: rate_a,"
            " compare: {dimension: lcn, group: Nort, reference: South}, number: ratio}",
            "'Nort' is not a value of 'lcn'",
            "slides[one].compare.group",
            "error",
        ),
        (
            "{id: one, headline: North rates, metric: rate_a,"
            " compare: {dimension: lcn, group: North, reference: North}, number: ratio}",
            "the group and the reference are both 'North'",
            "slides[one].compare.reference",
            "error",
        ),
        (
            "{id: one, headline: A rate, metric: rate_a, number: ratio}",
            "number: ratio needs compare",
            "slides[one].number",
            "error",
        ),
        (
            "{id: one, headline: A rate, metric: rate_a, chart: compare, number: none}",
            "chart: compare needs compare",
            "slides[one].chart",
            "error",
        ),
        (
            "{id: one, headline: A higher rate, metric: rate_a,"
            " compare: {dimension: lcn, group: North, reference: South}, number: ratio,"
            " chart: compare}",
            "the headline does not name 'North'",
            "slides[one].headline",
            "warning",
        ),
        (
            "{id: one, headline: North rates, metric: rate_a,"
            " compare: {dimension: lcn, group: North, reference: South}, number: latest,"
            " chart: compare}",
            "shows the overall figure while the slide compares groups",
            "slides[one].number",
            "warning",
        ),
        (
            "{id: one, headline: One, metric: sum_days, out_of: sum_dayz}",
            "unknown metric 'sum_dayz'",
            "slides[one].out_of",
            "error",
        ),
        (
            "{id: one, headline: One, metric: sum_days, out_of: mean_days}",
            "the whole must be a count or a sum",
            "slides[one].out_of",
            "error",
        ),
        (
            "{id: one, headline: One, metric: sum_days, out_of: count_a, number: change}",
            "out_of applies to number: latest",
            "slides[one].out_of",
            "error",
        ),
        (
            "{id: one, headline: One, metric: count_a, notes: The planted effect is a fall.}",
            "'planted' in the notes is about how the sample data were made",
            "slides[one].notes",
            "warning",
        ),
        (
            "{id: one, headline: A simulated fall, metric: count_a}",
            "'simulated' in the headline",
            "slides[one].headline",
            "warning",
        ),
        (
            "{id: one, headline: One, metric: count_a, caption: With the random seed 42.}",
            "'random seed' in the caption",
            "slides[one].caption",
            "warning",
        ),
    ],
)
def test_slide_rules_name_file_line_and_field(mini, slide, message, field, level):
    _mini_slide(mini, f"  - {slide}")
    issue = only(load_config(mini).issues, message)
    assert issue.level == level, issue.format_text()
    assert issue.field == field and issue.file.endswith("showcase.yaml")
    assert issue.line == 3 and issue.stage == "references"


# --------------------------------------------------------------------------- slide 6


def test_slide_6_shows_the_black_white_rate_ratio_from_metrics_equity(board, deck):
    slide = slide_of(deck, "detentions")
    assert slide.number == 6 and slide.available
    assert "Black" in slide.headline
    result = equity_rates(
        board,
        "detention_rate",
        "ethnicity",
        start=PERIOD.start,
        end=PERIOD.end,
        reference="White",
    )
    shown = shown_rates(result, policy_for(board.catalogue, "public")).group("Black")
    assert not shown.suppressed and not shown.ratio_suppressed
    assert slide.big_number == f"{ratio_words(shown.rate_ratio)} times"
    assert slide.interval == (
        f"95% CI {ratio_words(shown.ratio_lower)} to {ratio_words(shown.ratio_upper)}"
    )
    low, high = (float(x) for x in re.findall(r"\d+\.\d+", slide.interval))
    truth = TRUTH["detention_black_white_rate_ratio"]
    assert low <= truth <= high, (slide.interval, truth)
    assert "White adults" in slide.number_label and "Black adults" in slide.number_label
    # the notes say what is compared
    assert "Compares the detention rate of Black adults with that of White adults" in slide.notes
    assert "divided by the rate among White adults" in slide.notes


def test_slide_6_chart_shows_both_groups_rates_from_zero_and_no_counts(deck):
    slide = slide_of(deck, "detentions")
    assert slide.chart is not None and slide.chart.kind == "compare"
    spec = export_spec(slide.chart, width=860, height=330)
    assert y_starts_at_zero(spec)
    rows = [r for r in spec_rows(spec) if "rate" in r]
    assert {r["group"] for r in rows} == {"Black", "White"}
    assert not any("events" in r or "numerator" in r for r in rows)
    years = sorted({r["period"] for r in rows})
    assert years[0] == "2019/20" and years[-1] == "2024/25"
    black = [r for r in rows if r["group"] == "Black"]
    white = [r for r in rows if r["group"] == "White"]
    assert min(r["rate"] for r in black) > 2 * max(r["rate"] for r in white)
    assert "Black adults against White adults" in slide.chart.alt_text


# --------------------------------------------------------------------------- IPSA


def test_ipsa_slide_big_number_is_the_public_reading_of_the_whole(board, deck):
    slide = slide_of(deck, "independence")
    reading = read_metric(board, "ipsa_living_independently", SeriesQuery(), "public")
    cohort = read_metric(board, "ipsa_cohort_size", SeriesQuery(), "public")
    assert reading.available and cohort.available and reading.month == cohort.month
    assert slide.big_number == reading.value_text
    assert reading.display == f"{slide.big_number} people"
    assert slide.number_label == (
        f"of {cohort.value_text} people living independently in {reading.period}"
    )
    # the same figure as the board's period reads (the site's Reading)
    assert read_metric(board, "ipsa_living_independently", PERIOD, "public").value_text == (
        slide.big_number
    )
    assert int(slide.big_number) % 5 == 0 and int(cohort.value_text) % 5 == 0


def test_ipsa_chart_starts_at_zero_and_spans_the_whole_history(board, deck):
    slide = slide_of(deck, "independence")
    assert slide.chart is not None
    spec = export_spec(slide.chart, width=860, height=330)
    assert y_starts_at_zero(spec)
    rows = [r for r in spec_rows(spec) if r.get("series") == "IPSA cohort living independently"]
    months = sorted(pd.Timestamp(r["month"]) for r in rows)
    frame = board.series("ipsa_living_independently", SeriesQuery()).frame
    first = frame.dropna(subset=["value"])["month"].min()
    reading = read_metric(board, "ipsa_living_independently", SeriesQuery(), "public")
    assert months[0] == first == pd.Timestamp("2014-04-01")
    assert months[-1] == pd.Timestamp(reading.month)  # provisional months left out
    values = [r["value"] for r in rows if r["value"] is not None]
    assert min(values) == 0 and max(values) >= 75
    whole = [r for r in spec_rows(spec) if r.get("series") == "IPSA cohort size"]
    assert whole and all(r["value"] is None or r["value"] >= 180 for r in whole)
    assert "the axis starts at zero" in slide.chart.alt_text


def test_count_charts_on_slides_start_at_zero(board, deck):
    checked = 0
    for slide in deck.slides:
        definition = next(s for s in board.catalogue.slides if s.id == slide.id)
        metric = board.catalogue.metrics[definition.metric]
        if slide.chart is None or metric.measure not in ("count", "sum"):
            continue
        assert y_starts_at_zero(export_spec(slide.chart, width=860, height=330)), slide.id
        checked += 1
    assert checked >= 4  # hub (ITS), front door and sanctuary (SPC), IPSA (series)


def test_an_impact_chart_takes_in_zero_whatever_its_series(board):
    """Why the deck does not rescale an impact chart of a count: its axis starts at zero
    for a series never below zero, and takes zero in for one that goes below it."""
    from metrics.analyses.impact import ImpactRequest, headline_study_id, run_impact
    from metrics.charts.its_chart import its_chart

    impact = run_impact(board, ImpactRequest(headline_study_id(board), placebo=False))
    assert impact.result is not None
    assert y_starts_at_zero(its_chart(impact.result).to_dict())
    frame = impact.result.counterfactual.copy()
    shift = frame["observed"].max() + 10  # every observed value now below zero
    for column in ("observed", "fitted", "counterfactual", "cf_low", "cf_high"):
        frame[column] = frame[column] - shift
    below = dataclasses.replace(impact.result, counterfactual_table=frame)
    assert y_starts_at_zero(its_chart(below).to_dict())


# --------------------------------------------------------------------------- notes


def test_no_notes_speak_of_how_the_sample_was_generated(board):
    assert "planted" not in (CONFIG / "showcase.yaml").read_text(encoding="utf-8").lower()
    for audience in ("public", "board"):
        for slide in deck_content(board, audience).slides:
            for text in (slide.notes, slide.caption, slide.headline):
                assert "planted" not in text.lower(), (audience, slide.id)
                assert "simulated" not in text.lower(), (audience, slide.id)


# --------------------------------------------------------------------------- every format


@pytest.fixture(scope="module")
def exports(board):
    return {fmt: build_export(board, fmt, "public") for fmt in ("html", "pptx", "pdf")}


def _texts(exports) -> dict[str, str]:
    import html

    body = exports["html"].data.decode("utf-8")
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    parts = []
    for slide in Presentation(io.BytesIO(exports["pptx"].data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
        parts.append(slide.notes_slide.notes_text_frame.text)
    pdf = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(exports["pdf"].data)).pages)
    return {
        "html": flat(html.unescape(re.sub(r"<[^>]+>", " ", body))),
        "pptx": flat(" ".join(parts)),
        "pdf": flat(pdf),
    }


def test_every_format_shows_the_comparison_and_the_whole(deck, exports):
    ratio = slide_of(deck, "detentions")
    ipsa = slide_of(deck, "independence")
    for name, text in _texts(exports).items():
        assert ratio.big_number in text, name
        assert ratio.interval in text, name
        assert ipsa.number_label in text, name
        assert f"{ipsa.big_number} {ipsa.number_label}" in text or name != "pdf", name
    pptx = Presentation(io.BytesIO(exports["pptx"].data))
    page = list(pptx.slides)[ratio.number - 1]
    shapes = {shape.name: shape for shape in page.shapes}
    assert shapes["Big number"].text_frame.text == ratio.big_number
    assert shapes["Interval"].text_frame.text == ratio.interval
    assert "Black adults" in page.notes_slide.notes_text_frame.text


def test_the_board_pack_lists_each_slide_with_its_figure(board):
    from metrics.exports.content import board_pack_content

    pack = board_pack_content(board, "public")
    assert pack.showcase is not None and pack.showcase.available
    assert pack.showcase in pack.sections
    text = " ".join(pack.showcase.paragraphs)
    deck = deck_content(board, "public")
    for slide in deck.slides:
        assert slide.headline in text and slide.big_number in text


def test_the_showcase_page_shows_the_comparison_and_the_whole(deck):
    for slide_id, expected in (
        ("detentions", ("big_number", "interval", "number_label")),
        ("independence", ("big_number", "number_label")),
    ):
        slide = slide_of(deck, slide_id)
        app = run_page("pages/showcase.py", slide=str(slide.number))
        page = flat(" ".join(str(m.value) for m in app.markdown))
        for field in expected:
            assert flat(getattr(slide, field)) in page, (slide_id, field)
