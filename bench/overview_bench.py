"""Page ready time in headless Chromium: the Overview and a metric page against hello world.

    .venv/bin/python bench/overview_bench.py [--runs N] [--quick]

What is measured, with /work/shared/tools/page_timing.py (one fresh `streamlit run` server
per page, Debian's Chromium at /usr/bin/chromium; see that tool's README):

  * baseline: a hello-world Streamlit app (``st.write("hello")``) written to a temporary
    folder, ready when its text is drawn;
  * the Overview (``/`` of streamlit_app.py, run from the repository so its
    .streamlit/config.toml applies), ready when every domain's table is drawn
    (``[data-testid="stDataFrame"]``, one per Overview domain with metrics);
  * the metric page ``/metric?metric=secondary_referrals``, ready when every Vega chart on
    it has drawn (``--all-charts``).

Each page gets its own server, so its "cold" load is the first run of the app in a new
process (for the Alliance Board that includes opening the board: validation, loading the
data and the data checks); "warm" is the median of --runs further loads in new tabs.
Ratios are against the hello-world page measured in the same run. Target: Overview cold
<= 2 x hello-world cold. Also printed: exception boxes, console and page errors, failed
requests and requests to other hosts that the tool saw (the app runs ``--as-configured``,
so any request it would send itself shows up). Prints figures; never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOOL = Path("/work/shared/tools/page_timing.py")
CHROMIUM = Path("/usr/bin/chromium")
APP = ROOT / "streamlit_app.py"
HELLO = 'import streamlit as st\n\nst.write("hello")\n'
COLD_RATIO_TARGET = 2.0
CHART_SELECTOR = '[data-testid="stVegaLiteChart"] svg, [data-testid="stVegaLiteChart"] canvas'
# Text the app shows only when something went wrong.
FORBIDDEN = ("This page could not be shown", "Page not found", "Traceback")


@dataclass
class Page:
    """One page to time, and what the tool reported for it."""

    name: str
    app: Path
    cwd: Path
    path: str
    selector: str
    min_count: int = 1
    all_charts: bool = False
    as_configured: bool = False
    forbid: tuple[str, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def entry(self) -> dict[str, Any]:
        paths = self.result.get("paths") or [{}]
        return paths[0]

    @property
    def cold(self) -> float | None:
        return self.entry.get("cold", {}).get("ready_s")

    @property
    def warm(self) -> float | None:
        return self.entry.get("warm_ready_s", {}).get("median")

    @property
    def server_start(self) -> float | None:
        return self.result.get("server_start_to_healthy_s")

    @property
    def loads_ok(self) -> str:
        """Loads that became ready with no exception box, of all loads (cold + warm)."""
        loads = [self.entry.get("cold", {}), *self.entry.get("warm_runs", [])]
        ok = sum(1 for ld in loads if ld and "error" not in ld and not ld.get("exceptions"))
        return f"{ok}/{len([ld for ld in loads if ld])}"


def overview_table_count() -> int:
    """How many tables the Overview draws: one per Overview domain that has metrics."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from metrics.validation import load_config

        catalogue = load_config(ROOT / "config").catalogue
        return sum(1 for d in catalogue.domain_order() if catalogue.metrics_in_domain(d)) or 8
    except Exception as exc:  # a broken config must not stop the timing; the page shows it
        print(f"(could not count Overview domains: {exc}; expecting 8 tables)")
        return 8


def run_tool(page: Page, runs: int, python: str, out_dir: Path) -> dict[str, Any]:
    """Run page_timing.py for one page in its own server; returns its JSON summary."""
    out = out_dir / f"{page.name.split()[0].lower()}.json"
    command = [
        python,
        str(TOOL),
        "--app",
        str(page.app),
        "--cwd",
        str(page.cwd),
        "--path",
        page.path,
        "--selector",
        page.selector,
        "--min-count",
        str(page.min_count),
        "--runs",
        str(runs),
        "--python",
        python,
        "--out",
        str(out),
        "--verbose",
    ]
    if page.all_charts:
        command.append("--all-charts")
    if page.as_configured:
        command.append("--as-configured")
    for text in page.forbid:
        command += ["--forbid-text", text]
    print(f"  timing {page.name} ...", file=sys.stderr, flush=True)
    try:
        # The development default (every page open), which needs an explicit opt-in.
        env = dict(os.environ, ALLIANCE_DEVELOPMENT_ACCESS="1")
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "page_timing did not finish within 900 s"}
    try:
        return json.loads(out.read_text() if out.exists() else done.stdout)
    except (json.JSONDecodeError, OSError):
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"ok": False, "error": f"page_timing exited {done.returncode}: " + " | ".join(tail)}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def _loads(page: Page) -> list[dict[str, Any]]:
    return [page.entry.get("cold", {}), *page.entry.get("warm_runs", [])]


def _probe_404s(page: Page) -> int:
    """Streamlit's own 404 probes of <page>/_stcore/health and host-config on sub-paths."""
    return sum(
        1 for load in _loads(page) for text in load.get("http_errors") or [] if "/_stcore/" in text
    )


def unexpected_problems(page: Page) -> int:
    """Problems that are not Streamlit's normal sub-path probes: exception boxes, page and
    load errors, failed or foreign requests, forbidden text, server tracebacks, and console
    errors beyond the browser's log line for each probe 404."""
    if page.result.get("error"):
        return 1
    counts = page.entry.get("problems", {})
    keys = ("exceptions", "page_errors", "load_errors", "failed_requests")
    keys += ("foreign_requests", "forbidden_text")
    console_404 = sum(
        1 for load in _loads(page) for text in load.get("console_errors") or [] if "404" in text
    )
    console_other = counts.get("console_errors", 0) - min(console_404, _probe_404s(page))
    return (
        sum(counts.get(k, 0) for k in keys)
        + console_other
        + int(page.result.get("server_log_tracebacks", 0))
    )


def report_problems(page: Page) -> None:
    """Everything the tool flagged for a page, with the texts (deduplicated)."""
    result = page.result
    if result.get("error"):
        print(f"  {page.name}: TOOL ERROR {result['error']}")
        return
    entry = page.entry
    loads = _loads(page)

    def texts(key: str) -> list[str]:
        seen: list[str] = []
        for load in loads:
            for text in load.get(key) or []:
                if text not in seen:
                    seen.append(text)
        return seen

    counts = entry.get("problems", {})
    print(
        f"  {page.name}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f", server log tracebacks {result.get('server_log_tracebacks', 0)}"
        + f"; unexpected: {unexpected_problems(page)}"
    )
    for text in dict.fromkeys(load["error"] for load in loads if load.get("error")):
        print(f"      load error: {text[:300]}")
    probes = _probe_404s(page)
    for key in ("exceptions", "console_errors", "page_errors", "failed_requests"):
        for text in texts(key):
            note = ""
            if key == "console_errors" and "404" in text and probes:
                note = f" ({probes} x: the browser's log of the _stcore probe 404s below)"
            print(f"      {key}: {text[:300]}{note}")
    for text in texts("foreign_requests"):
        print(f"      foreign request: {text}")
    for text in texts("forbidden_text"):
        print(f"      forbidden text on page: {text}")
    http = texts("http_errors")
    if http:
        print(
            f"      http errors ({len(http)} distinct; 404s of <page>/_stcore/* probes are normal):"
        )
        for text in http[:5]:
            print(f"        {text}")
    if result.get("server_log_tracebacks"):
        print("      server log tail:")
        for text in str(result.get("server_log_tail", "")).splitlines()[-15:]:
            print(f"        {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="warm loads per page (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 warm loads per page")
    parser.add_argument("--python", default=sys.executable, help="interpreter for streamlit")
    parser.add_argument("--summary-json", type=Path, help="write the headline figures here")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)

    if not TOOL.is_file():
        print(f"{TOOL} is absent: page timing skipped (nothing measured).")
        return 0
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent (apt-get install -y chromium): page timing skipped.")
        return 0

    with tempfile.TemporaryDirectory(prefix="alliance_overview_bench_") as tmp:
        folder = Path(tmp)
        hello_app = folder / "hello.py"
        hello_app.write_text(HELLO)
        pages = [
            Page(
                "hello world (baseline)",
                hello_app,
                folder,
                "/",
                '[data-testid="stMarkdownContainer"]',
            ),
            Page(
                "Overview",
                APP,
                ROOT,
                "/",
                '[data-testid="stDataFrame"]',
                min_count=overview_table_count(),
                as_configured=True,
                forbid=FORBIDDEN,
            ),
            Page(
                "Metric detail",
                APP,
                ROOT,
                "/metric?metric=secondary_referrals",
                CHART_SELECTOR,
                all_charts=True,
                as_configured=True,
                forbid=FORBIDDEN,
            ),
        ]
        for page in pages:
            page.result = run_tool(page, runs, args.python, folder)

    hello = pages[0]
    print(f"Page ready time, headless Chromium ({runs} warm loads per page, one server each)")
    print(
        f"  {'page':<24}{'path':<38}{'server s':>9}{'cold s':>8}{'warm s':>8}"
        f"{'cold/hello':>12}{'warm/hello':>12}{'loads ok':>10}"
    )
    for page in pages:
        print(
            f"  {page.name:<24}{page.path:<38}{_fmt(page.server_start):>9}{_fmt(page.cold):>8}"
            f"{_fmt(page.warm):>8}{_fmt(_ratio(page.cold, hello.cold)):>11}x"
            f"{_fmt(_ratio(page.warm, hello.warm)):>11}x{page.loads_ok:>10}"
        )
    overview = pages[1]
    cold_ratio = _ratio(overview.cold, hello.cold)
    if cold_ratio is not None:
        verdict = "within" if cold_ratio <= COLD_RATIO_TARGET else "OVER"
        print(
            f"  Overview cold = {cold_ratio:.2f} x hello-world cold "
            f"(target <= {COLD_RATIO_TARGET:g} x: {verdict} target)"
        )
    print("Problems reported by the tool (counts over the cold and warm loads):")
    for page in pages:
        report_problems(page)

    if args.summary_json:
        metric = pages[2]
        headline = [
            {
                "figure": "Overview cold / hello cold",
                "value": overview.cold,
                "unit": "s",
                "ratio": None if cold_ratio is None else round(cold_ratio, 2),
                "against": f"hello world cold {_fmt(hello.cold)} s (same run)",
                "target": f"<= {COLD_RATIO_TARGET:g}",
            },
            {
                "figure": "Overview warm / hello warm",
                "value": overview.warm,
                "unit": "s",
                "ratio": _round(_ratio(overview.warm, hello.warm)),
                "against": f"hello world warm {_fmt(hello.warm)} s (same run)",
                "target": "",
            },
            {
                "figure": "Metric page cold / hello cold",
                "value": metric.cold,
                "unit": "s",
                "ratio": _round(_ratio(metric.cold, hello.cold)),
                "against": f"hello world cold {_fmt(hello.cold)} s (same run)",
                "target": "",
            },
            {
                "figure": "unexpected page problems (app pages)",
                "value": sum(unexpected_problems(p) for p in pages[1:]),
                "unit": "",
                "ratio": None,
                "against": "",
                "target": "0",
            },
        ]
        args.summary_json.write_text(json.dumps({"bench": "overview", "headline": headline}))
    return 0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


if __name__ == "__main__":
    sys.exit(main())
