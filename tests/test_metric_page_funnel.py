"""The metric page's breakdowns gain a funnel plot for rates and percentages (issue 12,
requirement 7), under the board's disclosure policy."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.apptest_support import run_page

PAGE = "pages/metric.py"


def words(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def test_percentage_by_team_has_a_funnel():
    app = run_page(PAGE, metric="prom_paired_coverage", breakdown="team")
    assert "Benchmarking: how each group compares" in [h.value for h in app.subheader]
    text = words(app)
    assert "Each point is one team's percentage" in text
    assert "95% limits" in text and "99.8% limits" in text


def test_rate_by_neighbourhood_has_a_funnel_and_a_count_has_none():
    app = run_page(PAGE, metric="detention_rate", breakdown="lcn")
    assert "Benchmarking: how each group compares" in [h.value for h in app.subheader]
    assert "Each point is one neighbourhood's rate" in words(app)
    counts = run_page(PAGE, metric="detentions", breakdown="lcn")
    assert not [h.value for h in counts.subheader if h.value.startswith("Benchmarking")]
