"""Links that name something that does not exist (an unknown metric, year, group...): every
page shows a calm notice, falls back, echoes the value only as plain text and only if it
reads like a name, and logs it in the audit log once per session.

(What the browser draws from hostile parameters is checked in
tests/browser/test_markdown_injection.py.)
"""

from __future__ import annotations

import pytest

from metrics import audit
from tests.apptest_support import run_page

PHISHING = "[Session expired - sign in again](https://evil.example/login)"
PICTURE = "![p](https://evil.example/t.png)"

# (page, parameters, the parameter that names nothing)
CASES: list[tuple[str, dict[str, str], str]] = [
    ("pages/metric.py", {"metric": PHISHING}, "metric"),
    ("pages/metric.py", {"metric": "secondary_referrals", "breakdown": PICTURE}, "breakdown"),
    ("pages/catalogue.py", {"metric": PHISHING}, "metric"),
    ("pages/equity.py", {"metric": PHISHING}, "metric"),
    ("pages/equity.py", {"metric": "detention_rate", "by": PICTURE}, "by"),
    ("pages/equity.py", {"metric": "detention_rate", "reference": PHISHING}, "reference"),
    (
        "pages/equity.py",
        {"metric": "detention_rate", "by": "ethnicity", "reference": "White", "group": PICTURE},
        "group",
    ),
    ("pages/money.py", {"year": PICTURE}, "year"),
    ("pages/money.py", {"year": "2023/24", "through": PHISHING}, "through"),
    ("pages/money.py", {"year": "2023/24", "baseline": PHISHING}, "baseline"),
    ("pages/data_quality.py", {"source": PHISHING}, "source"),
    ("pages/impact.py", {"metric": PHISHING}, "metric"),
    ("pages/impact.py", {"metric": "secondary_referrals", "intervention": PICTURE}, "intervention"),
    ("pages/impact.py", {"metric": "secondary_referrals", "model": PHISHING}, "model"),
    ("pages/impact.py", {"metric": "secondary_referrals", "breakdown": PICTURE}, "breakdown"),
    ("pages/showcase.py", {"slide": PHISHING}, "slide"),
]


def unknown_entries(name: str) -> list:
    return [e for e in audit.recent() if e["action"] == "unknown_parameter" and e["what"] == name]


@pytest.mark.parametrize(
    ("page", "params", "name"), CASES, ids=[f"{c[0][6:-3]}-{c[2]}" for c in CASES]
)
def test_unknown_parameter_gets_a_calm_notice_and_one_audit_line(
    page: str, params: dict[str, str], name: str
) -> None:
    app = run_page(page, **params)
    notices = [i.value for i in app.info if "not available here" in i.value]
    assert len(notices) == 1, [i.value for i in app.info]
    # A sentence or a URL is not echoed at all (it could be a message dressed up as ours).
    assert "evil" not in notices[0] and "Session" not in notices[0], notices[0]
    assert not app.exception and not app.error
    assert len(unknown_entries(name)) == 1, audit.recent()

    # The same link again in the same session: the notice again, no second audit line.
    app.query_params[name] = params[name]
    app.run()
    assert any("not available here" in i.value for i in app.info)
    assert len(unknown_entries(name)) == 1, audit.recent()


def test_a_name_like_value_is_echoed_as_plain_text() -> None:
    app = run_page("pages/metric.py", metric="www.evil.example")
    notice = next(i.value for i in app.info if "not available here" in i.value)
    # Echoed, but as text: a word joiner keeps Streamlit from linking the bare host.
    assert "www\u2060.evil.example" in notice, notice
    assert "metric called" in notice


def test_known_parameters_get_no_notice() -> None:
    app = run_page("pages/metric.py", metric="secondary_referrals", breakdown="ethnicity")
    assert not [i.value for i in app.info if "not available here" in i.value]
    assert not unknown_entries("metric") and not unknown_entries("breakdown")
