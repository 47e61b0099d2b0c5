"""Load: many concurrent sessions against one server, against one session alone.

    .venv/bin/python bench/load_bench.py [--sessions N] [--rounds R] [--quick]
        [--overview-only] [--no-protocol] [--json PATH]
    .venv/bin/python bench/load_bench.py --processes 1 2 [--sessions N]
        [--loads-per-session L] [--client protocol|browser] [--quick] [--json PATH]

What is measured (issue 7, requirement 6), all in one run against ONE `streamlit run` of
streamlit_app.py that this script starts on a free port of 127.0.0.1 (and stops, by its
pid and the pids of any children, on exit, on errors, on Ctrl-C and on SIGTERM):

  1. Warm-up: one load of every page used below, discarded (the first load of a page opens
     the board and fills the caches every later session shares).
  2. Round "overview", in headless Chromium: the Overview loaded alone in a fresh browser
     context three times (the median is the single-session baseline; once with --quick),
     then N sessions (default 20) loading it at the same moment: one Chromium, N browser
     contexts (each its own Streamlit session), released together with asyncio.gather.
     The burst is repeated --rounds times (default 2) and the figures pool every load.
  3. Round "five pages": the same, with the sessions spread over overview, access, crisis,
     equity and impact (session i opens page i mod 5); each page's own single-session
     time is measured first, and each session is also compared with its own page's.
  4. The same two rounds "server only" (skip with --no-protocol): each session speaks
     Streamlit's websocket protocol itself (connect to /_stcore/stream, ask for a run of
     the page, read until the run has finished), with no browser. On a small machine N
     Chromium tabs drawing at once take the CPU from the server, so the browser rounds
     measure the machine; these measure what the server alone does under N sessions.
  5. Reference (skipped with --no-protocol): the Overview round's bursts against a
     hello-world app (`st.write("hello")`) on a server of its own, in Chromium (skip with
     --no-browser-reference) and over the websocket: the least any page's ratio can be on
     this machine, since N loads share its cores (the server's CPU in one, the tabs'
     drawing in the other).

With --processes (a separate run; the default run above is unchanged): throughput behind
HAProxy. For each count given (say 1 and 2), that many site processes are started behind
HAProxy by metrics/launcher.py (the `make serve` launcher: cookie affinity, health checks
on the warm /healthz, everything on 127.0.0.1), each process is warmed with one load of
every page, and then --sessions clients (default 20) each load --loads-per-session pages
(default 5) one after another through the proxy, every load a new Streamlit session,
spread over the five pages. Throughput = page loads finished per second of wall time;
shown side by side for each count, with the ratio to the first. The client is
Streamlit's websocket protocol (default) or Chromium (--client browser, which on a small
machine measures the browser more than the servers). Needs Debian's haproxy.

Ready, in the browser = the readiness logic of tests/browser/conftest.py (READY_JS:
connected, the script has finished, no running indicator, no skeleton, every shown Vega
chart drawn) and, on top, every shown data grid drawn (its canvas is in the page), every
st.metric sparkline drawn and, for the Overview, its full count of domain tables. Times
are the page's own clock (performance.now(): navigation start to the first poll, every
50 ms, that saw the page ready), so Playwright's round trips are not counted. Ready,
server only = connect to the script-finished message. For each burst the CPU time the
server and the client side used is shown as cores busy, which tells which side was short.

Memory: VmHWM (peak resident set) from /proc/<pid>/status of the server and each of its
child processes at the end, and VmRSS of the same processes sampled every 100 ms
throughout (the maximum of their sum is reported). Targets (benchmarks, not tests):
p95 ready time with N sessions <= 3 x a single session's; server memory < 1.5 GB.
Nothing asserts on time; the exit status is 1 only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from overview_bench import overview_table_count  # noqa: E402  (bench/ is not a package)

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, READY_JS  # noqa: E402

HOST = "127.0.0.1"
APP = "streamlit_app.py"
P95_TARGET = 3.0  # p95 with N sessions / single session
MEMORY_TARGET_MB = 1536.0  # 1.5 GB
SAMPLE_SECONDS = 0.1
POLL_MS = 50
SPREAD_PAGES = [
    ("overview", "/"),
    ("access", "/access"),
    ("crisis", "/crisis"),
    ("equity", "/equity"),
    ("impact", "/impact"),
]
# Chromium resolves no name but loopback ones, so no request can leave the machine (a rule
# in the resolver costs nothing per request, unlike routing every request through
# Playwright, which would slow every load and distort the timings).
LOOPBACK_ONLY = [f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {HOST}"]

# The page's own clock at the first moment it is ready; false until then.
READY_FULL_JS = f"""({{minTables}}) => {{
  const base = ({READY_JS});
  if (!base()) return false;
  // Inside a closed expander an element keeps its offsetParent (Chromium hides the
  // content with content-visibility) but is never drawn: checkVisibility() knows.
  const shown = (el) => el.checkVisibility();
  const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
  if (grids.length < minTables) return false;
  for (const g of grids) if (shown(g) && !g.querySelector('canvas')) return false;
  for (const c of document.querySelectorAll('[data-testid="stMetricChart"]')) {{
    if (shown(c) && !c.querySelector('svg, canvas')) return false;
  }}
  return performance.now();
}}"""
# The server has finished the script run (elements may still be drawing).
SCRIPT_DONE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelectorAll('[data-testid="stElementContainer"]').length > 0
    ? performance.now() : false;
}"""
PROBLEMS_JS = """() => ({
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  failed: document.body.innerText.includes('This page could not be shown'),
})"""


def log(message: str) -> None:
    print(f"[load_bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes and memory


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (from the parent pid in /proc/<n>/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _status_kb(pid: int, key: str) -> int:
    """A "VmXXX:  1234 kB" line of /proc/<pid>/status, in kB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far, including that of their children
    that have exited and been waited for (utime, stime, cutime, cstime of /proc/<pid>/stat):
    a browser context's renderer exits when the context closes, and its time would
    otherwise be lost."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


class Server:
    """One `streamlit run` of the app; stop() ends only what start() created, by pid."""

    def __init__(self, python: str, env: dict[str, str] | None = None) -> None:
        self.extra_env = dict(env or {})
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self.command = [
            python,
            "-m",
            "streamlit",
            "run",
            APP,
            "--server.port",
            str(self.port),
            "--server.address",
            HOST,
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        # Closed (and so deleted) in stop(): it must outlive this method.
        self.log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="load_bench_streamlit_", suffix=".log"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.known_children: set[int] = set()

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait until /_stcore/health answers ok; returns the seconds it took."""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal reaches this script, which then
            # stops the server itself (in order, after the browser).
            start_new_session=True,
            # The development default (every page open), which needs an explicit opt-in.
            env=dict(
                os.environ,
                PYTHONUNBUFFERED="1",
                ALLIANCE_DEVELOPMENT_ACCESS="1",
                **self.extra_env,
            ),
        )
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"streamlit not healthy after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    @property
    def pids(self) -> list[int]:
        """The server and its children (remembered, so a child can be stopped even if the
        server has gone first)."""
        if self.process is None:
            return []
        children = _children(self.process.pid)
        self.known_children.update(children)
        return [self.process.pid, *children]

    def check_alive(self) -> None:
        """Raise (with the server's last words) if the server has gone, so that a dead
        server is reported as such instead of as N refused loads."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with code {self.process.returncode} during the run:\n"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_file.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def tracebacks(self) -> int:
        try:
            text = Path(self.log_file.name).read_text(errors="replace")
        except OSError:
            return 0
        return text.count("Traceback (most recent call last)")

    def stop(self) -> None:
        if self.process is None:
            self.log_file.close()
            return
        self.pids  # noqa: B018  (records the children before the parent goes)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        for pid in self.known_children:  # leftovers our server started, if any
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process = None
        self.log_file.close()


class MemorySampler(threading.Thread):
    """Sums VmRSS over the server and its children every 100 ms; keeps the maximum."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop_event = threading.Event()
        self.max_rss_kb = 0
        self.samples = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            total = sum(_status_kb(pid, "VmRSS") for pid in self.server.pids)
            self.max_rss_kb = max(self.max_rss_kb, total)
            self.samples += 1
            self.stop_event.wait(SAMPLE_SECONDS)

    def rss_now_mb(self) -> float:
        return sum(_status_kb(pid, "VmRSS") for pid in self.server.pids) / 1024


class ClusterServer:
    """N site processes behind HAProxy (metrics.launcher.Cluster), with what the bench
    uses of Server's interface; stop() ends only what start() created, by pid."""

    def __init__(self, processes: int, python: str) -> None:
        from metrics.launcher import Cluster

        env = dict(os.environ, PYTHONUNBUFFERED="1", ALLIANCE_DEVELOPMENT_ACCESS="1")
        env.pop("ALLIANCE_RELOAD", None)  # reloads in the background, as deployed
        self.cluster = Cluster(processes=processes, env=env, python=python, workdir=ROOT)
        self.processes = processes

    def start(self, timeout: float = 600.0) -> float:
        started = time.perf_counter()
        self.cluster.start(timeout=timeout)
        return time.perf_counter() - started

    @property
    def port(self) -> int:
        return self.cluster.port

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def pids(self) -> list[int]:
        """HAProxy, the site processes and their children."""
        pids = self.cluster.pids()
        return pids + [child for pid in pids for child in _children(pid)]

    @property
    def proxy_pids(self) -> list[int]:
        haproxy = self.cluster.haproxy
        return [haproxy.pid] if haproxy is not None and haproxy.poll() is None else []

    @property
    def site_pids(self) -> list[int]:
        """The site processes and their children (HAProxy left out)."""
        pids = [b.process.pid for b in self.cluster.backends if b.alive() and b.process]
        return pids + [child for pid in pids for child in _children(pid)]

    def check_alive(self) -> None:
        for backend in self.cluster.backends:
            if not backend.alive():
                raise RuntimeError(
                    f"site process {backend.name} exited during the run:\n{backend.log_tail()}"
                )
        if self.cluster.haproxy is None or self.cluster.haproxy.poll() is not None:
            raise RuntimeError("haproxy exited during the run")

    def tracebacks(self) -> int:
        return sum(
            b.log_path.read_text(errors="replace").count("Traceback (most recent call last)")
            for b in self.cluster.backends
            if b.log_path.exists()
        )

    def stop(self) -> None:
        self.cluster.cleanup()


# ---------------------------------------------------------------- loads


@dataclass
class Load:
    """One session's load of one page."""

    page: str
    ready_ms: float | None = None  # navigation start (browser) / connect to ready
    script_done_ms: float | None = None  # ... to the script run finished
    wall_s: float | None = None  # this process's clock, start to ready seen
    error: str = ""
    foreign_requests: list[str] = field(default_factory=list)


# Starts when the event is set; each call is a new Streamlit session.
Loader = Callable[[str, str, asyncio.Event], Awaitable[Load]]


def browser_loader(browser: Any, base: str, timeout_s: float) -> Loader:
    """Loads in Chromium: a new context (a new Streamlit session) per load."""
    from playwright.async_api import Error as PlaywrightError

    async def load(name: str, path: str, start: asyncio.Event) -> Load:
        result = Load(name)
        context = await browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = await context.new_page()
            page.on(
                "request",
                lambda request: (
                    None
                    if request.url.startswith((base, "data:", "blob:"))
                    else result.foreign_requests.append(request.url)
                ),
            )
            min_tables = overview_tables() if name == "overview" else 0
            await start.wait()
            began = time.perf_counter()
            try:
                await page.goto(base + path, wait_until="commit", timeout=timeout_s * 1000)
                done = await page.wait_for_function(
                    SCRIPT_DONE_JS, polling=POLL_MS, timeout=timeout_s * 1000
                )
                result.script_done_ms = float(await done.json_value())
                ready = await page.wait_for_function(
                    READY_FULL_JS,
                    arg={"minTables": min_tables},
                    polling=POLL_MS,
                    timeout=timeout_s * 1000,
                )
                result.ready_ms = float(await ready.json_value())
                result.wall_s = time.perf_counter() - began
                problems = await page.evaluate(PROBLEMS_JS)
                if problems["exceptions"] or problems["failed"]:
                    result.error = f"page shows an error ({problems})"
            except PlaywrightError as exc:
                result.error = str(exc).splitlines()[0][:200]
        finally:
            await context.close()
        return result

    return load


def protocol_loader(port: int, timeout_s: float) -> Loader:
    """Loads without a browser: Streamlit's own websocket protocol, as the browser speaks
    it (connect to /_stcore/stream, ask for a script run of the page, read the messages
    until the run has finished). What the server alone needs, with no drawing at all."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async def load(name: str, path: str, start: asyncio.Event) -> Load:
        result = Load(name)
        page_name, _, query = path.lstrip("/").partition("?")
        request = BackMsg()
        request.rerun_script.page_name = page_name
        request.rerun_script.query_string = query
        await start.wait()
        began = time.perf_counter()
        try:
            async with (
                asyncio.timeout(timeout_s),
                websockets.connect(
                    f"ws://{HOST}:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None
                ) as socket_,
            ):
                await socket_.send(request.SerializeToString())
                while True:
                    message = ForwardMsg()
                    message.ParseFromString(await socket_.recv())
                    kind = message.WhichOneof("type")
                    if kind == "page_not_found":
                        result.error = f"page not found: {path}"
                    if kind == "script_finished":
                        break
            result.wall_s = time.perf_counter() - began
            result.ready_ms = result.script_done_ms = result.wall_s * 1000
        except (TimeoutError, OSError, websockets.WebSocketException) as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:200]
        return result

    return load


_TABLES: list[int] = []


def overview_tables() -> int:
    """How many domain tables a fully drawn Overview has (counted once, from config/)."""
    if not _TABLES:
        _TABLES.append(overview_table_count())
    return _TABLES[0]


async def burst(load: Loader, pages: list[tuple[str, str]]) -> tuple[list[Load], float]:
    """Every (name, path) loaded at once, each in its own session; returns the loads and
    the wall time of the whole burst. Contexts are opened first, then released together."""
    start = asyncio.Event()
    tasks = [asyncio.create_task(load(name, path, start)) for name, path in pages]
    await asyncio.sleep(0.5)  # let every context and tab open before the gun
    began = time.perf_counter()
    start.set()
    loads = await asyncio.gather(*tasks)
    return list(loads), time.perf_counter() - began


# ---------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else None,
        "values": [round(v, 1) for v in values],
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


@dataclass
class RoundResult:
    """One kind of burst (repeated --rounds times) and its single-session baselines."""

    name: str
    client: str  # "browser" or "protocol"
    sessions: int
    single_ms: dict[str, float]  # page -> median single-session ready time
    single_script_ms: dict[str, float]
    loads: list[Load] = field(default_factory=list)
    burst_s: list[float] = field(default_factory=list)
    server_cpu_s: list[float] = field(default_factory=list)
    client_cpu_s: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        ok = [ld for ld in self.loads if ld.ready_ms is not None and not ld.error]
        ready = [ld.ready_ms for ld in ok if ld.ready_ms is not None]
        script = [ld.script_done_ms for ld in ok if ld.script_done_ms is not None]
        slowdown = [
            ld.ready_ms / self.single_ms[ld.page]
            for ld in ok
            if ld.ready_ms and self.single_ms.get(ld.page)
        ]
        single = statistics.median(self.single_ms.values()) if self.single_ms else None
        single_script = (
            statistics.median(self.single_script_ms.values()) if self.single_script_ms else None
        )
        ready_stats, script_stats = summary(ready), summary(script)
        bursts = list(zip(self.server_cpu_s, self.client_cpu_s, self.burst_s, strict=True))
        return {
            "round": self.name,
            "client": self.client,
            "sessions": self.sessions,
            "loads": len(self.loads),
            "loads_ok": len(ok),
            "errors": sorted({ld.error for ld in self.loads if ld.error}),
            "foreign_requests": sorted({u for ld in self.loads for u in ld.foreign_requests}),
            "single_ms": self.single_ms,
            "single_script_ms": self.single_script_ms,
            "ready_ms": ready_stats,
            "script_done_ms": script_stats,
            "p95_over_single": _ratio(ready_stats["p95"], single),
            "p50_over_single": _ratio(ready_stats["p50"], single),
            "script_p95_over_single": _ratio(script_stats["p95"], single_script),
            "slowdown_vs_own_page": summary(slowdown),
            "burst_s": [round(b, 2) for b in self.burst_s],
            "server_cpu_share": [round(s / b, 2) for s, _, b in bursts],
            "client_cpu_share": [round(c / b, 2) for _, c, b in bursts],
            "server_cpu_s_per_load": round(sum(self.server_cpu_s) / max(len(self.loads), 1), 3),
        }


# ---------------------------------------------------------------- the run


async def single_times(
    load: Loader, pages: list[tuple[str, str]], repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median ready and script-done time of each page loaded alone, `repeats` times."""
    ready: dict[str, float] = {}
    script: dict[str, float] = {}
    for name, path in pages:
        loads = [(await burst(load, [(name, path)]))[0][0] for _ in range(repeats)]
        good = [ld for ld in loads if ld.ready_ms is not None and not ld.error]
        for bad in (ld for ld in loads if ld.error):
            log(f"single {name}: {bad.error}")
        if good:
            ready[name] = statistics.median(ld.ready_ms for ld in good if ld.ready_ms)
            script[name] = statistics.median(ld.script_done_ms for ld in good if ld.script_done_ms)
            log(f"single {name}: ready {[round(ld.ready_ms or 0) for ld in loads]} ms")
    return ready, script


async def run_round(
    load: Loader,
    client: str,
    server: Server,
    name: str,
    pages: list[tuple[str, str]],
    args: argparse.Namespace,
) -> RoundResult:
    """Single-session baselines of the pages, then --rounds bursts of --sessions loads."""
    single, single_script = await single_times(load, pages, args.single_repeats)
    result = RoundResult(name, client, args.sessions, single, single_script)
    plan = [pages[i % len(pages)] for i in range(args.sessions)]
    server.check_alive()
    for number in range(1, args.rounds + 1):
        server_cpu = _cpu_seconds(server.pids)
        # This process (the websocket client) and its children (Playwright, Chromium).
        client_cpu = _cpu_seconds([os.getpid(), *_children(os.getpid())])
        loads, seconds = await burst(load, plan)
        result.server_cpu_s.append(_cpu_seconds(server.pids) - server_cpu)
        result.client_cpu_s.append(
            _cpu_seconds([os.getpid(), *_children(os.getpid())]) - client_cpu
        )
        result.loads += loads
        result.burst_s.append(seconds)
        ready = [ld.ready_ms for ld in loads if ld.ready_ms is not None]
        log(
            f"{name} ({client}) burst {number}/{args.rounds}: {len(ready)}/{len(loads)} "
            f"ready, p50 {_ms(percentile(ready, 0.5))}, p95 {_ms(percentile(ready, 0.95))}"
        )
        server.check_alive()
        await asyncio.sleep(2)  # closed sessions are let go before the next burst
    return result


async def run(args: argparse.Namespace, server: Server, sampler: MemorySampler) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {"sessions": args.sessions, "rounds": args.rounds}
    # SIGTERM while the browser runs: cancel this task, so that the browser is closed in
    # order (then main() stops the server) instead of dying mid-call.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    kinds = [("overview", SPREAD_PAGES[:1])]
    if not args.overview_only:
        kinds.append(("five pages", SPREAD_PAGES))
    rounds: list[RoundResult] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + LOOPBACK_ONLY
        )
        try:
            out["browser"] = browser.version
            load = browser_loader(browser, server.url, args.timeout)
            log("warming the server: one load of each page")
            for name, path in kinds[-1][1]:
                warm = (await burst(load, [(name, path)]))[0][0]
                log(f"warm-up {name}: {_ms(warm.ready_ms)} {warm.error}")
            server.check_alive()
            out["rss_after_warmup_mb"] = round(sampler.rss_now_mb(), 1)
            for name, pages in kinds:
                rounds.append(await run_round(load, "browser", server, name, pages, args))
        finally:
            await browser.close()
    if not args.no_protocol:
        load = protocol_loader(server.port, args.timeout)
        for name, pages in kinds:
            rounds.append(await run_round(load, "protocol", server, name, pages, args))
    out["rounds_detail"] = [r.figures() for r in rounds]
    out["loads"] = {f"{r.name} ({r.client})": [asdict(ld) for ld in r.loads] for r in rounds}
    return out


async def throughput_round(
    load: Loader, pages: list[tuple[str, str]], sessions: int, loads_each: int
) -> tuple[list[Load], float]:
    """`sessions` clients, each loading `loads_each` pages one after another (a new
    session every load), all started together; the loads and the wall time."""
    loads: list[Load] = []
    now = asyncio.Event()
    now.set()

    async def client(number: int) -> None:
        for k in range(loads_each):
            name, path = pages[(number + k * sessions) % len(pages)]
            loads.append(await load(name, path, now))

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(sessions)))
    return loads, time.perf_counter() - began


async def run_throughput_for(server: ClusterServer, args: argparse.Namespace) -> dict[str, Any]:
    """Warm each process (one load of every page, straight to it), then the round."""
    pages = SPREAD_PAGES
    for backend in server.cluster.backends:
        warm = protocol_loader(backend.port, args.timeout)
        for name, path in pages:
            ready = asyncio.Event()
            ready.set()
            result = await warm(name, path, ready)
            log(f"warm-up {backend.name} {name}: {_ms(result.ready_ms)} {result.error}")
    server.check_alive()
    if args.client == "browser":
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + LOOPBACK_ONLY
            )
            try:
                load = browser_loader(browser, server.url, args.timeout)
                figures = await _measure_throughput(load, server, pages, args)
            finally:
                await browser.close()
    else:
        load = protocol_loader(server.port, args.timeout)
        figures = await _measure_throughput(load, server, pages, args)
        # The board's burst through the proxy too: twenty sessions opening the Overview at
        # the same moment against one alone, with this many processes sharing them.
        burst = await run_round(load, "protocol", server, "overview", pages[:1], args)  # type: ignore[arg-type]
        figures["overview_burst"] = burst.figures()
    server.check_alive()
    return figures


async def _measure_throughput(
    load: Loader, server: ClusterServer, pages: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    site_cpu = _cpu_seconds(server.site_pids)
    proxy_cpu = _cpu_seconds(server.proxy_pids)
    client_cpu = _cpu_seconds([os.getpid(), *_children(os.getpid())])
    loads, wall = await throughput_round(load, pages, args.sessions, args.loads_per_session)
    site_cpu = _cpu_seconds(server.site_pids) - site_cpu
    proxy_cpu = _cpu_seconds(server.proxy_pids) - proxy_cpu
    client_cpu = _cpu_seconds([os.getpid(), *_children(os.getpid())]) - client_cpu
    ok = [ld for ld in loads if ld.ready_ms is not None and not ld.error]
    ready = [ld.ready_ms for ld in ok if ld.ready_ms is not None]
    return {
        "processes": server.processes,
        "client": args.client,
        "sessions": args.sessions,
        "loads": len(loads),
        "loads_ok": len(ok),
        "errors": sorted({ld.error for ld in loads if ld.error}),
        "wall_s": round(wall, 2),
        "loads_per_s": len(ok) / wall if wall else None,
        "ready_ms": summary(ready),
        "site_cores_busy": round(site_cpu / wall, 2) if wall else None,
        "haproxy_cores_busy": round(proxy_cpu / wall, 3) if wall else None,
        "client_cores_busy": round(client_cpu / wall, 2) if wall else None,
    }


def run_throughput(args: argparse.Namespace) -> int:
    """--processes: the throughput round for each count of processes, side by side."""
    from metrics.launcher import LaunchError

    if args.client == "browser" and not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent (apt-get install -y chromium): nothing measured.")
        return 0
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    results: list[dict[str, Any]] = []
    for count in args.processes:
        server = ClusterServer(count, args.python)
        try:
            log(f"starting {count} site process(es) behind HAProxy")
            start_s = server.start()
            log(f"{count} process(es) warm and behind HAProxy at {server.url} in {start_s:.1f} s")
            figures = asyncio.run(run_throughput_for(server, args))
            figures["start_s"] = round(start_s, 1)
            figures["memory_mb"] = round(
                sum(_status_kb(pid, "VmRSS") for pid in server.pids) / 1024, 1
            )
            figures["server_tracebacks"] = server.tracebacks()
            results.append(figures)
            log(
                f"{count} process(es): {figures['loads_ok']}/{figures['loads']} loads in "
                f"{figures['wall_s']} s = {figures['loads_per_s']:.2f} loads/s"
            )
        except (RuntimeError, TimeoutError, OSError, LaunchError) as exc:
            print(f"load benchmark could not run with {count} process(es): {exc}")
            return 1
        except (asyncio.CancelledError, KeyboardInterrupt):
            print("load benchmark interrupted; the processes it started have been stopped")
            return 130
        finally:
            server.stop()
    report_throughput(results, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"throughput": results}, indent=2, default=str) + "\n")
        print(f"  all figures: {args.json}")
    return 0


def report_throughput(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    client = "Chromium" if args.client == "browser" else "Streamlit's websocket protocol"
    print(
        f"Throughput behind HAProxy: {args.sessions} clients x {args.loads_per_session} page "
        f"loads each (a new session per load, five pages spread), {client}, on "
        f"{os.cpu_count()} CPU(s)"
    )
    base = results[0]["loads_per_s"] if results else None
    header = (
        f"  {'processes':>9}  {'loads ok':>9}  {'wall s':>7}  {'loads/s':>8}  {'vs first':>8}  "
        f"{'p50 ms':>7}  {'p95 ms':>7}  {'cores: site':>11}  {'proxy':>5}  {'client':>6}  "
        f"{'memory MB':>9}"
    )
    print(header)
    for fig in results:
        ratio = _ratio(fig["loads_per_s"], base)
        print(
            f"  {fig['processes']:>9}  {fig['loads_ok']:>4}/{fig['loads']:<4}  "
            f"{fig['wall_s']:>7.1f}  {fig['loads_per_s'] or 0:>8.2f}  {_x(ratio):>8}  "
            f"{fig['ready_ms']['p50'] or 0:>7.0f}  {fig['ready_ms']['p95'] or 0:>7.0f}  "
            f"{fig['site_cores_busy']:>11}  {fig['haproxy_cores_busy']:>5}  "
            f"{fig['client_cores_busy']:>6}  {fig['memory_mb']:>9.0f}"
        )
        if fig["errors"]:
            print(f"    ERRORS ({fig['processes']} process(es)): {fig['errors']}")
    for fig in results:
        burst = fig.get("overview_burst")
        if burst:
            single = statistics.median(burst["single_ms"].values()) if burst["single_ms"] else None
            print(
                f"  {fig['processes']} process(es), {burst['sessions']} sessions opening the "
                f"Overview at once ({burst['loads_ok']}/{burst['loads']} ok): single "
                f"{_ms(single)}, p50 {_ms(burst['ready_ms']['p50'])}, p95 "
                f"{_ms(burst['ready_ms']['p95'])} = {_x(burst['p95_over_single'])} single "
                f"(target 3x); server {burst['server_cpu_s_per_load'] * 1000:.0f} ms CPU a load"
            )
            if burst["errors"]:
                print(f"    ERRORS: {burst['errors']}")
        if fig["server_tracebacks"]:
            print(f"    server log tracebacks: {fig['server_tracebacks']}")
    print(
        "  Every process is warmed first; on a machine with few cores the client shares the "
        "CPU with the servers (its cores busy are shown), which caps what more processes add."
    )


HELLO = 'import streamlit as st\nst.write("hello")\n'


def reference_round(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The same bursts against a hello-world app on its own server: the least any page's
    ratio can be on this machine. A page that costs its server more CPU per load than it
    waits on anything else cannot do better than its CPU allows, and in Chromium twenty
    tabs drawing at once share the same cores whatever the page. Server only, and (unless
    --no-browser-reference) in Chromium too."""
    with tempfile.TemporaryDirectory(prefix="load_bench_hello_") as scratch:
        script = Path(scratch) / "hello.py"
        script.write_text(HELLO)
        hello = Server(args.python)
        hello.command[hello.command.index(APP)] = str(script)
        try:
            hello.start()
            return asyncio.run(_hello_rounds(args, hello))
        finally:
            hello.stop()


async def _hello_rounds(args: argparse.Namespace, hello: Server) -> list[dict[str, Any]]:
    pages = [("hello", "/")]
    name = "hello world (reference)"
    figures = []
    if not args.no_browser_reference:
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + LOOPBACK_ONLY
            )
            try:
                load = browser_loader(browser, hello.url, args.timeout)
                await burst(load, pages)  # the first load starts the app's script cache
                result = await run_round(load, "browser", hello, name, pages, args)
                figures.append(result.figures())
            finally:
                await browser.close()
    load = protocol_loader(hello.port, args.timeout)
    figures.append((await run_round(load, "protocol", hello, name, pages, args)).figures())
    return figures


def report(out: dict[str, Any], server_start_s: float) -> None:
    print(
        f"Load benchmark: one streamlit server, {out['sessions']} concurrent sessions, "
        f"{out['rounds']} burst(s) per round, on {os.cpu_count()} CPU(s)"
    )
    print(f"  server start to healthy: {server_start_s:.2f} s")
    for fig in out.get("rounds_detail", []):
        ready, script, slow = fig["ready_ms"], fig["script_done_ms"], fig["slowdown_vs_own_page"]
        singles = ", ".join(f"{k} {_ms(v)}" for k, v in fig["single_ms"].items())
        if fig["client"] == "browser":
            title = f"in Chromium {out.get('browser', '')}, one context per session"
        else:
            title = "server only: Streamlit's websocket protocol, no browser"
        print(f"\n  Round '{fig['round']}', {title}: {fig['loads_ok']}/{fig['loads']} ready")
        print(f"    single session (median, alone):  {singles}")
        print(
            f"    {fig['sessions']} sessions at once, ready:  p50 {_ms(ready['p50'])}, "
            f"p95 {_ms(ready['p95'])}, max {_ms(ready['max'])}"
        )
        print(
            f"    ratios vs single:               p50 {_x(fig['p50_over_single'])}, "
            f"p95 {_x(fig['p95_over_single'])} (target p95 <= {P95_TARGET:g}x: "
            f"{_verdict(fig['p95_over_single'], P95_TARGET)})"
        )
        print(f"    each session vs its page alone: p50 {_x(slow['p50'])}, p95 {_x(slow['p95'])}")
        if fig["client"] == "browser":
            print(
                f"    script finished (as the page saw it): p50 {_ms(script['p50'])}, "
                f"p95 {_ms(script['p95'])}; p95 vs single {_x(fig['script_p95_over_single'])}"
            )
        print(
            f"    burst wall time {fig['burst_s']} s; cores busy during the burst: server "
            f"{fig['server_cpu_share']}, client {fig['client_cpu_share']}; server CPU "
            f"{fig['server_cpu_s_per_load'] * 1000:.0f} ms per load"
        )
        if fig["errors"]:
            print(f"    ERRORS: {fig['errors']}")
        if fig["foreign_requests"]:
            print(f"    REQUESTS TO OTHER HOSTS: {fig['foreign_requests']}")
    memory = out.get("memory", {})
    if memory:
        peak = max(memory["vmhwm_total_mb"], memory["max_sampled_rss_mb"])
        print("\n  Server memory (the streamlit process and its children)")
        print(
            f"    VmHWM at the end: {memory['vmhwm_total_mb']:.0f} MB "
            f"({memory['processes']} process(es): {memory['vmhwm_mb']})"
        )
        print(
            f"    VmRSS sampled every {SAMPLE_SECONDS * 1000:.0f} ms: max "
            f"{memory['max_sampled_rss_mb']:.0f} MB ({memory['samples']} samples); after "
            f"start {memory['rss_after_start_mb']:.0f} MB, after warm-up "
            f"{out.get('rss_after_warmup_mb', 0):.0f} MB, at the end {memory['rss_end_mb']:.0f} MB"
        )
        print(
            f"    peak {peak:.0f} MB (target < {MEMORY_TARGET_MB:.0f} MB: "
            f"{'within' if peak < MEMORY_TARGET_MB else 'OVER'} target)"
        )
    print(f"  server log tracebacks: {out.get('server_tracebacks', 0)}")


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "within" if value <= target else "OVER"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=None, help="concurrent sessions (20)")
    parser.add_argument("--rounds", type=int, default=None, help="bursts per round (2)")
    parser.add_argument(
        "--quick", action="store_true", help="5 sessions, 1 burst, 1 single load per page"
    )
    parser.add_argument("--overview-only", action="store_true", help="skip the five-page round")
    parser.add_argument(
        "--no-protocol", action="store_true", help="skip the server-only (no browser) rounds"
    )
    parser.add_argument(
        "--no-browser-reference",
        action="store_true",
        help="skip the hello-world burst in Chromium (the server-only one still runs)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="per-load timeout, s")
    parser.add_argument("--python", default=sys.executable, help="interpreter for streamlit")
    parser.add_argument("--json", type=Path, help="write every figure and load here")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        metavar="N",
        help="instead: throughput behind HAProxy with N site processes, for each N given "
        "(e.g. --processes 1 2), side by side",
    )
    parser.add_argument(
        "--loads-per-session",
        type=int,
        default=None,
        help="with --processes: page loads each client makes one after another (5)",
    )
    parser.add_argument(
        "--client",
        choices=["protocol", "browser"],
        default="protocol",
        help="with --processes: the websocket protocol (default) or Chromium",
    )
    args = parser.parse_args(argv)
    args.loads_per_session = args.loads_per_session or (2 if args.quick else 5)
    if args.processes and (min(args.processes) < 1 or args.loads_per_session < 1):
        parser.error("--processes and --loads-per-session must be at least 1")
    args.sessions = args.sessions or (5 if args.quick else 20)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.single_repeats = 1 if args.quick else 3
    if args.sessions < 1 or args.rounds < 1:
        parser.error("--sessions and --rounds must be at least 1")
    return args


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop things


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.processes:
        return run_throughput(args)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent (apt-get install -y chromium): nothing measured.")
        return 0
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    server = Server(args.python)
    sampler = MemorySampler(server)
    out: dict[str, Any] = {}
    try:
        log(f"starting {' '.join(server.command)}")
        start_s = server.start()
        sampler.start()
        time.sleep(0.3)
        rss_after_start = sampler.rss_now_mb()
        out = asyncio.run(run(args, server, sampler))
        pids = server.pids
        hwm = {pid: _status_kb(pid, "VmHWM") / 1024 for pid in pids}
        sampler.stop_event.set()
        sampler.join(timeout=2)
        out["memory"] = {
            "processes": len(pids),
            "vmhwm_mb": {str(pid): round(mb, 1) for pid, mb in hwm.items()},
            "vmhwm_total_mb": sum(hwm.values()),
            "max_sampled_rss_mb": sampler.max_rss_kb / 1024,
            "samples": sampler.samples,
            "rss_after_start_mb": rss_after_start,
            "rss_end_mb": sampler.rss_now_mb(),
        }
        out["server_tracebacks"] = server.tracebacks()
        if out["server_tracebacks"]:
            out["server_log_tail"] = server.log_tail(40)
        if not args.no_protocol:
            out.setdefault("rounds_detail", []).extend(reference_round(args))
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"load benchmark could not run: {exc}")
        return 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("load benchmark interrupted; the server it started has been stopped")
        return 130
    finally:
        sampler.stop_event.set()
        server.stop()
    report(out, start_s)
    if out.get("server_log_tail"):
        print(out["server_log_tail"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"  all figures and loads: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
