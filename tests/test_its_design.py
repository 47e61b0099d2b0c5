"""Design matrix: the centred parameterisation, ramps, windows, shocks, seasonality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.its import InterventionSpec, ITSInputError, ITSSpec, ShockSpec, fit_its
from metrics.its.design import (
    DesignLayout,
    first_collinear_column,
    ordinals_from_dates,
    period_ordinal,
    place_interventions,
    place_shocks,
)

FIRST = period_ordinal("2015-01", "monthly")


def layout(interventions, shocks=(), seasonality="none", control=False) -> DesignLayout:
    return DesignLayout(
        place_interventions(interventions, FIRST, "monthly"),
        place_shocks(shocks, FIRST, "monthly"),
        seasonality=seasonality,
        period=12,
        first_ordinal=FIRST,
        frequency="monthly",
        with_control=control,
    )


def column(design: DesignLayout, name: str, t: np.ndarray) -> np.ndarray:
    return design.matrix(t)[:, design.columns.index(name)]


def test_slope_term_is_zero_at_the_first_point_after_the_interruption() -> None:
    design = layout([InterventionSpec("x", "2016-01")])  # t = 12
    t = np.arange(10, 16)
    np.testing.assert_array_equal(column(design, "level[x]", t), [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(column(design, "slope[x]", t), [0, 0, 0, 1, 2, 3])


def test_level_change_is_the_jump_at_the_first_post_point() -> None:
    """Noise-free data built with a known jump and slope change are recovered exactly."""
    dates = pd.date_range("2015-01-01", periods=48, freq="MS")
    t = np.arange(48)
    after = t >= 24
    value = 100 + 0.5 * t + np.where(after, -12 + 0.8 * (t - 24), 0.0)
    value = value + 0.01 * np.sin(t)  # a little non-systematic variation for the variance
    frame = pd.DataFrame({"date": dates, "value": value})
    spec = ITSSpec(model="ols", interventions=(InterventionSpec("x", dates[24]),), placebo=False)
    result = fit_its(frame, spec)
    assert result.effect("x", "level").estimate == pytest.approx(-12, abs=0.02)
    assert result.effect("x", "slope").estimate == pytest.approx(0.8, abs=0.002)
    jump = value[24] - (value[23] + 0.5)  # observed first post point minus the pre-trend
    assert result.effect("x", "level").estimate == pytest.approx(jump, abs=0.05)


def test_phase_in_ramp_rises_from_one_nth_to_one() -> None:
    design = layout([InterventionSpec("hub", "2016-01", ramp_periods=4)])
    t = np.arange(10, 18)
    np.testing.assert_allclose(column(design, "level[hub]", t), [0, 0, 0.25, 0.5, 0.75, 1, 1, 1])


def test_excluded_window_is_out_of_fit_and_moves_the_centre() -> None:
    design = layout([InterventionSpec("x", "2016-01", exclude_periods=3)])
    t = np.arange(10, 18)
    np.testing.assert_array_equal(design.excluded(t), [0, 0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(column(design, "level[x]", t), [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(column(design, "slope[x]", t), [0, 0, 0, 0, 0, 0, 1, 2])


def test_shock_with_linear_recovery() -> None:
    design = layout(
        [InterventionSpec("x", "2016-01")],
        [ShockSpec("covid", "2015-04", "2015-05", recovery_periods=3)],
    )
    t = np.arange(2, 10)  # 2015-03 .. 2015-10
    np.testing.assert_allclose(column(design, "shock[covid]", t), [0, 1, 1, 0.75, 0.5, 0.25, 0, 0])


def test_fourier_columns_use_calendar_month_harmonics_one_to_k() -> None:
    design = layout([InterventionSpec("x", "2016-01")], seasonality="fourier:3")
    t = np.arange(24)
    month = (t % 12) + 1  # data start in January
    for j in (1, 2, 3):
        np.testing.assert_allclose(
            column(design, f"sin{j}", t), np.sin(2 * np.pi * j * month / 12), atol=1e-12
        )
        np.testing.assert_allclose(
            column(design, f"cos{j}", t), np.cos(2 * np.pi * j * month / 12), atol=1e-12
        )


def test_fourier_six_pairs_drops_the_identically_zero_sine() -> None:
    design = layout([InterventionSpec("x", "2016-01")], seasonality="fourier:6")
    assert "sin6" not in design.columns and "cos6" in design.columns
    assert first_collinear_column(design.matrix(np.arange(48)), design.columns) is None


def test_month_terms_are_eleven_indicators_with_january_reference() -> None:
    design = layout([InterventionSpec("x", "2016-01")], seasonality="month")
    months = [c for c in design.columns if c.startswith("month[")]
    assert months == [f"month[{m}]" for m in range(2, 13)]
    rows = design.matrix(np.arange(12))
    season = rows[:, [design.columns.index(c) for c in months]]
    assert season[0].sum() == 0 and np.all(season[1:].sum(axis=1) == 1)


def test_control_design_interacts_every_term_with_group() -> None:
    design = layout([InterventionSpec("x", "2016-01")], control=True)
    assert design.columns[:4] == ("const", "time", "group", "group:time")
    assert {"level[x]", "slope[x]", "group:level[x]", "group:slope[x]"} <= set(design.columns)
    effect = design.level_contrast("x")
    assert effect is not None and design.columns[int(np.argmax(effect))] == "group:level[x]"
    rows = design.matrix(np.array([20, 20]), np.array([1, 0]))
    assert rows[1, design.columns.index("group:level[x]")] == 0
    assert rows[0, design.columns.index("group:level[x]")] == 1


def test_collinear_term_is_named() -> None:
    X = np.column_stack([np.ones(10), np.arange(10), 2 * np.arange(10)])
    assert first_collinear_column(X, ["const", "time", "double_time"]) == "double_time"


def test_dates_in_many_forms_map_to_the_same_month() -> None:
    forms = pd.Series(["2016-01", "2016-01-01", "2016-01-31"])
    assert list(ordinals_from_dates(forms, "monthly")) == [FIRST + 12] * 3
    stamps = pd.Series(pd.to_datetime(["2016-01-15"]))
    assert list(ordinals_from_dates(stamps, "monthly")) == [FIRST + 12]
    assert list(ordinals_from_dates(pd.Series([1989, 1990]), "annual")) == [1989, 1990]
    assert list(ordinals_from_dates(pd.Series(["1989", "1990"]), "annual")) == [1989, 1990]


def test_unreadable_dates_and_bare_years_for_monthly_data_are_refused() -> None:
    with pytest.raises(ITSInputError, match="cannot read 'soon'"):
        ordinals_from_dates(pd.Series(["2016-01", "soon"]), "monthly")
    with pytest.raises(ITSInputError, match="bare years"):
        ordinals_from_dates(pd.Series([1989, 1990]), "monthly")


def test_spec_rejects_bad_options() -> None:
    x = InterventionSpec("x", "2016-01")
    with pytest.raises(ITSInputError, match="unknown model"):
        ITSSpec(model="lasso", interventions=(x,))
    with pytest.raises(ITSInputError, match="at least one intervention"):
        ITSSpec()
    with pytest.raises(ITSInputError, match="seasonality"):
        ITSSpec(interventions=(x,), seasonality="weekly")
    with pytest.raises(ITSInputError, match="annual data have no seasonality"):
        ITSSpec(interventions=(x,), seasonality="month", frequency="annual")
    with pytest.raises(ITSInputError, match="not both"):
        InterventionSpec("y", "2016-01", ramp_periods=3, exclude_periods=2)
    with pytest.raises(ITSInputError, match="unique"):
        ITSSpec(interventions=(x, InterventionSpec("x", "2017-01")))
    assert ITSSpec(interventions=(x,), seasonality="fourier2").seasonality == "fourier2"
