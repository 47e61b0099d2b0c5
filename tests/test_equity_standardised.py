"""Equity as public health does it (issue 12, requirement 6): directly age-standardised
rates (ESP2013) with Dobson intervals beside crude rates, ratios of standardised rates,
and intervals widened where monthly counts vary more than Poisson.

Reference values are computed here independently (hand arithmetic, scipy's Poisson
distribution by root finding, the sample's population file and the generator's design),
never by calling the code under test twice.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import norm, poisson

from metrics.analyses.disclosure import (
    MHSDS,
    NHS_SECONDARY_CARE,
    NO_CONTROL,
    SUPPRESSED,
    round_to_base,
)
from metrics.analyses.equity import EquityResult, equity_rates
from metrics.analyses.equity_shown import (
    dispersion_sentence,
    equity_download,
    equity_table,
    shown_rates,
    shown_standardised,
    standardised_chart_data,
    standardised_sentence,
    standardised_table,
)
from metrics.analyses.equity_stats import (
    group_dispersion,
    pool_rates,
    standardise,
    yearly_rate_ratios,
)
from metrics.analyses.standardisation import (
    ESP2013,
    ESP2013_TOTAL,
    StandardisationError,
    band_weights,
    directly_standardised_rate,
    dsr_ratio,
    monthly_dispersion,
    parse_band,
)
from metrics.board import Board, open_board
from metrics.charts.equity_figures import (
    standardised_chart,
)
from metrics.definitions.models import MetricDef, RateDef

ROOT = Path(__file__).resolve().parents[1]
PROJECT_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
TRUTH = json.loads((ROOT / "sample_data" / "truth.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- ESP2013


def test_esp2013_bands_sum_to_the_standard_and_cover_every_age_once():
    assert sum(people for _, _, people in ESP2013) == ESP2013_TOTAL == 100_000
    assert len(ESP2013) == 19
    ends = [(low, high) for low, high, _ in ESP2013]
    assert ends[0] == (0, 4) and ends[-1] == (90, None)
    for (_, high), (low, _) in itertools.pairwise(ends):
        assert low == high + 1  # contiguous five-year bands


def test_project_band_weights_aggregate_the_standard_as_documented():
    weights = band_weights(PROJECT_BANDS)
    # Hand aggregation: 18-24 takes 2 of 15-19's 5 single years (18, 19) plus 20-24.
    assert weights == {
        "18-24": 2 / 5 * 5_500 + 6_000,
        "25-34": 6_000 + 6_500,
        "35-44": 7_000 + 7_000,
        "45-54": 7_000 + 7_000,
        "55-64": 6_500 + 6_000,
        "65+": 5_500 + 5_000 + 4_000 + 2_500 + 1_500 + 1_000,
    }
    # Together they are the standard's population aged 18 and over, and nothing else.
    under_18 = 5_000 + 5_500 + 5_500 + 3 / 5 * 5_500
    assert sum(weights.values()) == pytest.approx(ESP2013_TOTAL - under_18) == 80_700
    # The five-year bands map onto themselves.
    own = [f"{low}-{high}" if high is not None else f"{low}+" for low, high, _ in ESP2013]
    assert list(band_weights(own).values()) == [people for _, _, people in ESP2013]


def test_bands_the_standard_cannot_take_are_refused():
    assert parse_band("65+") == (65, None) and parse_band("18-24") == (18, 24)
    with pytest.raises(StandardisationError, match="not of the form"):
        band_weights(["young", "old"])
    with pytest.raises(StandardisationError, match="overlap"):
        band_weights(["18-30", "25-34"])
    with pytest.raises(StandardisationError, match="90\\+"):
        band_weights(["85-94"])


# --------------------------------------------------------------------------- DSR


def test_dsr_by_hand():
    # Three bands, standard 1:2:3. Rates 10/1,000, 20/2,000, 30/1,500 per person-year.
    dsr = directly_standardised_rate([10, 20, 30], [1_000, 2_000, 1_500], [1, 2, 3])
    assert dsr.rate == pytest.approx((1 * 0.01 + 2 * 0.01 + 3 * 0.02) / 6 * 100_000)  # 1,500
    assert dsr.rate == pytest.approx(1_500.0)
    variance = (1 / 6 / 1_000) ** 2 * 10 + (2 / 6 / 2_000) ** 2 * 20 + (3 / 6 / 1_500) ** 2 * 30
    assert dsr.variance == pytest.approx(variance)
    assert dsr.events == 60


def _exact_poisson_limits(count: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact limits by root finding on scipy's Poisson distribution (not chi2)."""
    alpha = (1 - confidence) / 2
    lower = brentq(lambda mu: poisson.sf(count - 1, mu) - alpha, 1e-9, 10 * count + 10)
    upper = brentq(lambda mu: poisson.cdf(count, mu) - alpha, 1e-9, 10 * count + 50)
    return lower, upper


@pytest.mark.parametrize(
    ("events", "years", "weights"),
    [
        ([10, 20, 30], [1_000, 2_000, 1_500], [1, 2, 3]),
        (
            [3, 0, 9, 1, 40, 2],
            [900, 1_200, 4_000, 300, 25_000, 600],
            [8_200, 12_500, 14_000, 14_000, 12_500, 19_500],
        ),
        ([250, 180], [50_000, 80_000], [1, 1]),
    ],
)
def test_dobson_interval_against_an_independent_computation(events, years, weights):
    dsr = directly_standardised_rate(events, years, weights, per=1)
    w = np.asarray(weights, float) / sum(weights)
    d, n = np.asarray(events, float), np.asarray(years, float)
    rate = float(np.sum(w * d / n))
    variance = float(np.sum(w**2 * d / n**2))
    total = int(d.sum())
    low, high = _exact_poisson_limits(total)
    expected_low = rate + math.sqrt(variance / total) * (low - total)
    expected_high = rate + math.sqrt(variance / total) * (high - total)
    assert dsr.rate == pytest.approx(rate)
    assert dsr.lower == pytest.approx(max(expected_low, 0.0), rel=1e-7)
    assert dsr.upper == pytest.approx(expected_high, rel=1e-7)


def test_one_age_band_reduces_dobson_to_the_exact_poisson_interval():
    dsr = directly_standardised_rate([17], [4_000], [1], per=1)
    low, high = _exact_poisson_limits(17)
    assert (dsr.lower, dsr.upper) == pytest.approx((low / 4_000, high / 4_000), rel=1e-7)


def test_too_few_events_or_a_band_without_people_gives_no_dsr():
    few = directly_standardised_rate([4, 5], [1_000, 1_000], [1, 1])
    assert few.rate is None and "fewer than 10" in few.reason
    empty = directly_standardised_rate([40, 5], [1_000, 0], [1, 1])
    assert empty.rate is None and "no population" in empty.reason


def test_ratio_of_dsrs_on_the_log_scale_by_hand():
    group = directly_standardised_rate([100, 60], [10_000, 20_000], [1, 1])
    reference = directly_standardised_rate([50, 40], [10_000, 20_000], [1, 1])
    ratio, low, high = dsr_ratio(group, reference)
    # DSR = (r1 + r2) / 2; var = (d1/n1^2 + d2/n2^2) / 4.
    g = (100 / 10_000 + 60 / 20_000) / 2
    r = (50 / 10_000 + 40 / 20_000) / 2
    var_g = (100 / 10_000**2 + 60 / 20_000**2) / 4
    var_r = (50 / 10_000**2 + 40 / 20_000**2) / 4
    se = math.sqrt(var_g / g**2 + var_r / r**2)
    z = norm.ppf(0.975)
    assert ratio == pytest.approx(g / r)
    assert (low, high) == pytest.approx((g / r * math.exp(-z * se), g / r * math.exp(z * se)))
    # A dispersion factor adds to the variance of log DSR: wider by sqrt(phi) when both are.
    _, low2, high2 = dsr_ratio(group, reference, group_dispersion=2, reference_dispersion=2)
    assert math.log(high2 / ratio) == pytest.approx(math.sqrt(2) * math.log(high / ratio))
    assert math.log(ratio / low2) == pytest.approx(math.sqrt(2) * math.log(ratio / low))


# --------------------------------------------------------------------------- overdispersion


def _simulate(rng, draw, months: int = 72) -> list:
    return [draw(rng, months) for _ in range(300)]


def test_dispersion_of_poisson_counts_is_close_to_one_and_widens_nothing():
    rng = np.random.default_rng(20250412)
    months = np.arange(72)
    exposure = np.full(72, 2_000.0)
    # A trend and a step: the smooth takes them, so they are not read as extra variation.
    mean = 20 * np.exp(0.004 * months) * np.where(months >= 40, 0.8, 1.0)
    results = [monthly_dispersion(rng.poisson(mean), exposure, months) for _ in range(300)]
    phis = np.array([r.phi for r in results])
    widened = np.mean([r.widened for r in results])
    assert abs(np.median(phis) - 1) < 0.06
    assert widened <= 0.09  # a 5% test: about 1 series in 20 by chance
    assert all(r.factor == 1.0 for r in results if not r.widened)


def test_dispersion_of_overdispersed_counts_is_measured_and_widens():
    rng = np.random.default_rng(7)
    months = np.arange(72)
    exposure = np.full(72, 2_000.0)
    k = 10.0  # negative binomial: variance = mu + mu^2 / k = 20 + 40, phi = 3
    results = [
        monthly_dispersion(rng.negative_binomial(k, k / (k + 20.0), size=72), exposure, months)
        for _ in range(300)
    ]
    phis = np.array([r.phi for r in results])
    assert 2.6 < np.median(phis) < 3.3
    assert np.mean([r.widened for r in results]) > 0.98
    one = results[0]
    assert one.widened and one.factor == pytest.approx(math.sqrt(one.phi))


def test_too_little_to_judge():
    assert monthly_dispersion([5] * 11, [100.0] * 11, range(11)).phi is None
    sparse = monthly_dispersion([0, 1, 0, 0] * 6, [100.0] * 24, range(24))
    assert sparse.phi is None and "too few events" in sparse.reason


# --------------------------------------------------------------------------- in the analysis


def _metric() -> MetricDef:
    return MetricDef(
        id="detention_rate",
        title="Detentions per 100,000 adults",
        domain="d",
        source="s",
        measure="rate",
        rate=RateDef(population="population"),
        unit="per 100,000",
        better="down",
        decimals=1,
    )


def _monthly_frame(counts: dict[str, np.ndarray], population: dict[str, float]) -> pd.DataFrame:
    months = pd.date_range("2019-04-01", periods=len(next(iter(counts.values()))), freq="MS")
    rows = [
        {"month": m, "group": g, "numerator": float(c), "denominator": population[g]}
        for g, series in counts.items()
        for m, c in zip(months, series, strict=True)
    ]
    frame = pd.DataFrame(rows)
    frame["value"] = frame["numerator"] * 100_000 / frame["denominator"]
    frame["n"] = frame["numerator"].astype(int)
    return frame


def _result(frame: pd.DataFrame) -> EquityResult:
    dispersion = group_dispersion(frame)
    factors = {g: d.variance_factor for g, d in dispersion.items()}
    rates = pool_rates(frame, dimension="ethnicity", dispersion=factors)
    yearly = yearly_rate_ratios(
        frame, reference=rates.reference, dimension="ethnicity", dispersion=factors
    )
    return EquityResult(_metric(), "ethnicity", rates, yearly, frame=frame, dispersion=dispersion)


def test_overdispersed_group_gets_wider_intervals_and_the_page_words_say_so():
    rng = np.random.default_rng(3)
    k = 8.0
    frame = _monthly_frame(
        {
            "Black": rng.negative_binomial(k, k / (k + 40.0), size=72),  # phi about 6
            "White": rng.poisson(30, size=72),
        },
        {"Black": 70_000.0, "White": 160_000.0},
    )
    result = _result(frame)
    black, white = result.rates.group("Black"), result.rates.group("White")
    assert black.widened and not white.widened
    phi = result.dispersion["Black"].phi
    # Crude interval: the Garwood interval widened by sqrt(phi) about the rate.
    plain = pool_rates(frame, dimension="ethnicity").group("Black")
    assert black.rate - black.rate_lower == pytest.approx(
        math.sqrt(phi) * (plain.rate - plain.rate_lower)
    )
    assert black.rate_upper - black.rate == pytest.approx(
        math.sqrt(phi) * (plain.rate_upper - plain.rate)
    )
    # Ratio interval: phi on the Black variance term of log RR, none on the White one.
    se = math.sqrt(phi / black.events + 1 / white.events)
    assert math.log(black.ratio_upper / black.rate_ratio) == pytest.approx(norm.ppf(0.975) * se)
    words = dispersion_sentence(result, NO_CONTROL)
    assert "Black adults go up and down more than chance alone would explain" in words
    assert f"by {100 * (math.sqrt(phi) - 1):.0f}%" in words
    table = equity_table(result, NO_CONTROL).set_index("Ethnicity")
    assert "widened" in table.loc["Black", "Note"] and "widened" not in table.loc["White", "Note"]
    download = equity_download(result, NO_CONTROL).set_index("group")
    assert (
        download.loc["Black", "intervals_widened"]
        and download.loc["Black", "dispersion_factor"] == phi
    )


def test_poisson_groups_are_not_widened_and_the_words_say_so():
    rng = np.random.default_rng(11)
    frame = _monthly_frame(
        {"Black": rng.poisson(25, size=72), "White": rng.poisson(30, size=72)},
        {"Black": 70_000.0, "White": 160_000.0},
    )
    result = _result(frame)
    assert not any(g.widened for g in result.rates.groups)
    assert "vary no more than chance would explain" in dispersion_sentence(result, NO_CONTROL)
    assert result.rates.group("Black").rate_lower == pytest.approx(
        pool_rates(frame, dimension="ethnicity").group("Black").rate_lower
    )


def test_dispersion_as_shown_comes_from_the_rounded_monthly_counts():
    rng = np.random.default_rng(5)
    counts = rng.poisson(30, size=48)
    frame = _monthly_frame({"Black": counts, "White": counts + 40}, {"Black": 1e5, "White": 2e5})
    result = _result(frame)
    shown = group_dispersion(frame, NHS_SECONDARY_CARE)["Black"]
    rounded = [round_to_base(c) for c in counts]
    # Independent: Pearson X^2 of the rounded counts less 2 per month, against the same
    # smooth (fitted to the rounded counts), over its degrees of freedom.
    again = monthly_dispersion(
        rounded,
        np.full(48, 1e5 / 12),
        (
            pd.date_range("2019-04-01", periods=48, freq="MS").year * 12
            + pd.date_range("2019-04-01", periods=48, freq="MS").month
        ).to_numpy(float),
        rounding_variance=2.0,
    )
    assert shown.phi == pytest.approx(again.phi)
    assert shown.phi != pytest.approx(result.dispersion["Black"].phi)
    # A suppressed month means no judgement from the counts as shown.
    small = _monthly_frame(
        {"Black": np.r_[counts[:-1], 3], "White": counts}, {"Black": 1e5, "White": 2e5}
    )
    assert group_dispersion(small, MHSDS)["Black"].phi is None


# --------------------------------------------------------------------------- standardise


def test_standardise_two_groups_by_hand():
    cells = pd.DataFrame(
        {
            "group": ["A", "A", "B", "B"],
            "age_band": ["18-24", "65+", "18-24", "65+"],
            "events": [30.0, 10.0, 12.0, 40.0],
            "person_years": [10_000.0, 20_000.0, 4_000.0, 40_000.0],
        }
    )
    weights = {"18-24": 8_200.0, "65+": 19_500.0}
    table = standardise(cells, weights=weights, groups=["A", "B"], reference="B")
    w = np.array([8_200, 19_500]) / 27_700
    a = 100_000 * (w[0] * 30 / 10_000 + w[1] * 10 / 20_000)
    b = 100_000 * (w[0] * 12 / 4_000 + w[1] * 40 / 40_000)
    assert table.group("A").rate == pytest.approx(a)
    assert table.group("B").rate == pytest.approx(b)
    assert table.group("A").ratio == pytest.approx(a / b)
    assert table.group("B").is_reference and table.group("B").ratio == 1.0
    # Crude rates put A above B; allowing for age puts A below: A is the younger group and
    # the old are weighted heavily in the standard.
    assert 40 / 30_000 > 52 / 44_000 and a < b


# --------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def board() -> Board:
    return open_board(ROOT / "config")


@pytest.fixture(scope="module")
def detentions(board: Board) -> EquityResult:
    return equity_rates(board, "detention_rate", "ethnicity")


def _generator():
    path = ROOT / "sample_data" / "generate.py"
    spec = importlib.util.spec_from_file_location("sample_data_generate_std", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_age_cells_add_up_to_the_crude_figures(detentions):
    cells = detentions.age_cells
    assert set(cells["age_band"]) == set(PROJECT_BANDS)
    by_group = cells.groupby("group")[["events", "person_years"]].sum()
    for g in detentions.rates.with_rates:
        assert by_group.loc[g.group, "events"] == g.events
        assert by_group.loc[g.group, "person_years"] == pytest.approx(g.person_years, rel=1e-9)


def test_standardised_black_white_ratio_brackets_the_planted_ratio(detentions):
    """The sample plants crude detention rates by ethnicity (Black 400, White 100 per
    100,000 a year: ratio 4.0) and draws each detention's age band from one distribution
    for everyone. The age-specific rate of group e in band a is then rate_e x
    P(detention age a) / P(population age a | e), so the standardised ratio is

        4 x sum_a w_a P(a) / P_Black(a)  /  sum_a w_a P(a) / P_White(a),

    which differs from 4 only as far as Black and White adults' age structures differ
    (White adults are older: more of them aged 55 and over). Computed here from the
    population file and the generator's age distribution: about 3.96. The interval
    must contain both that and the planted crude ratio."""
    planted = TRUTH["detention_black_white_rate_ratio"]
    assert planted == 4.0
    population = pd.read_parquet(ROOT / "sample_data" / "population.parquet")
    shares = (
        population.groupby(["ethnicity", "age_band"])["population"].sum()
        / population.groupby("ethnicity")["population"].sum()
    )
    detention_age = dict(zip(PROJECT_BANDS, _generator().DETENTION_AGE_PROBS, strict=True))
    weights = {
        "18-24": 8_200,
        "25-34": 12_500,
        "35-44": 14_000,
        "45-54": 14_000,
        "55-64": 12_500,
        "65+": 19_500,
    }

    def standardised_factor(group: str) -> float:
        return sum(weights[a] * detention_age[a] / shares[(group, a)] for a in PROJECT_BANDS)

    expected = planted * standardised_factor("Black") / standardised_factor("White")
    assert 3.9 < expected < 4.0
    black = detentions.standardised.group("Black")
    assert detentions.standardised.reference == "White"
    assert black.ratio_lower < expected < black.ratio_upper
    assert black.ratio_lower < planted < black.ratio_upper
    assert black.ratio_excludes_one
    # Planted rates by true ethnicity; 4% of records lose it, so observed rates are 0.96x.
    white = detentions.standardised.group("White")
    truth = TRUTH["detention_rates_per_100k"]
    for name, row in (("Black", black), ("White", white)):
        age_rate = {a: truth[name] * detention_age[a] / shares[(name, a)] for a in PROJECT_BANDS}
        dsr = 0.96 * sum(weights[a] * age_rate[a] for a in PROJECT_BANDS) / sum(weights.values())
        assert row.lower * 0.95 < dsr < row.upper * 1.05


def test_sample_tables_show_standardised_beside_crude(board):
    result = equity_rates(
        board, "detention_rate", "ethnicity", start=dt.date(2019, 4, 1), end=dt.date(2025, 3, 1)
    )
    table = standardised_table(result, MHSDS).set_index("Ethnicity")
    assert list(table.columns) == [
        "Crude rate per 100,000 a year",
        "Age-standardised rate per 100,000 a year",
        "95% CI (standardised rate)",
        "Standardised rate ratio vs White",
        "95% CI (standardised ratio)",
        "Interval excludes 1",
        "Note",
    ]
    crude = equity_table(result, MHSDS).set_index("Ethnicity")
    assert (
        table.loc["Black", "Crude rate per 100,000 a year"]
        == crude.loc["Black", "Rate per 100,000 a year"]
    )
    assert table.loc["White", "Standardised rate ratio vs White"] == "1 (reference)"
    sentence = standardised_sentence(result, "Black", MHSDS)
    assert sentence.startswith("Allowing for differences in age (rates standardised to the 2013")
    assert "Black adults had a rate of detentions" in sentence and "(95% CI " in sentence
    download = equity_download(result, MHSDS).set_index("group")
    assert download.loc["Black", "standardised_rate"] == pytest.approx(
        shown_standardised(result, MHSDS).group("Black").rate
    )
    data = standardised_chart_data(result, MHSDS)
    assert set(data["measure"]) == {"Crude rate", "Age-standardised rate"}
    assert not {"events", "person_years"} & set(data.columns)
    assert standardised_chart(result, MHSDS).to_dict()["layer"]


def test_no_standardisation_by_age_band_itself(board):
    result = equity_rates(board, "detention_rate", "age_band")
    assert result.standardised is None and "age bands" in result.standardise_note
    assert standardised_table(result, MHSDS).empty


def test_secondary_referrals_vary_more_than_poisson_on_the_sample(board):
    result = equity_rates(
        board,
        "secondary_referral_rate",
        "ethnicity",
        start=dt.date(2019, 4, 1),
        end=dt.date(2025, 3, 1),
    )
    exact = result.dispersion
    assert exact["White"].widened and exact["White"].phi > 1.5
    shown = shown_rates(result, MHSDS).group("White")
    assert shown.widened
    words = dispersion_sentence(result, MHSDS)
    assert "go up and down more than chance alone would explain" in words


# --------------------------------------------------------------------------- as shown


def test_standardised_rates_as_shown_come_from_the_age_band_counts_as_shown(detentions):
    shown = shown_standardised(detentions, NHS_SECONDARY_CARE)
    cells = detentions.age_cells.copy()
    cells["events"] = [round_to_base(e) if e >= 8 or e == 0 else math.nan for e in cells["events"]]
    for row in shown.groups:
        mine = cells[cells["group"] == row.group]
        if mine["events"].isna().any():
            assert row.suppressed and row.rate is None
            continue
        weights = band_weights(list(mine["age_band"]))
        again = directly_standardised_rate(
            list(mine["events"]), list(mine["person_years"]), [weights[a] for a in mine["age_band"]]
        )
        assert row.rate == pytest.approx(again.rate)


def test_a_suppressed_age_band_hides_the_standardised_rate_and_ratios_against_it():
    cells = pd.DataFrame(
        {
            "group": ["A", "A", "B", "B"],
            "age_band": ["18-24", "65+", "18-24", "65+"],
            "events": [3.0, 40.0, 30.0, 50.0],
            "person_years": [10_000.0, 20_000.0, 4_000.0, 40_000.0],
        }
    )
    frame = _monthly_frame(
        {"A": np.full(12, 43 / 12), "B": np.full(12, 80 / 12)}, {"A": 30_000.0, "B": 44_000.0}
    )
    rates = pool_rates(frame, reference="A")
    result = EquityResult(
        _metric(),
        "lcn",
        rates,
        yearly_rate_ratios(frame, reference="A"),
        frame=frame,
        age_cells=cells,
        standardised=standardise(
            cells, weights=band_weights(["18-24", "65+"]), groups=["A", "B"], reference="A"
        ),
    )
    shown = shown_standardised(result, MHSDS)
    assert shown.group("A").suppressed and shown.group("A").rate is None
    b = shown.group("B")
    assert b.rate is not None and b.ratio is None and b.ratio_suppressed
    table = standardised_table(result, MHSDS).set_index("Neighbourhood (LCN)")
    assert table.loc["A", "Age-standardised rate per 100,000 a year"] == SUPPRESSED
    assert table.loc["B", "Standardised rate ratio vs A"] == SUPPRESSED
    # Uncontrolled: the exact table.
    assert shown_standardised(result, NO_CONTROL) is result.standardised
