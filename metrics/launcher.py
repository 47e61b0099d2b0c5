"""`alliance-board`: start the site, several site processes behind HAProxy, or the command
line, from a checkout or from an installed package.

    alliance-board site [--port 8501] [--address 127.0.0.1] [--config DIR]
    alliance-board serve [-n 2] [--port 8501] [--address 127.0.0.1] [--config DIR]
    alliance-board init DIR          # a copy of the sample configuration and data to edit
    alliance-board validate|spc|its|export|readings|schema ...   # = python -m metrics ...

In a checkout, `make serve N=4` runs `python -m metrics.launcher serve -n 4`.

Where the site comes from: the folder holding streamlit_app.py, pages/, config/,
sample_data/ and .streamlit/config.toml. In a checkout that is the repository itself; an
installed package carries a copy of them as the package data of `alliance_board_site`
(pyproject.toml maps the repository root to that package), and the site is run from there.

`serve` picks free ports, starts N `streamlit run streamlit_app.py --server.port P
--server.address 127.0.0.1` processes, waits until each one's /healthz says it is warm,
writes haproxy.cfg from deploy/haproxy.cfg.in into a temporary folder and runs HAProxy in
the foreground in front of them (cookie affinity, health checks on /healthz). A process
that dies is started again; Ctrl-C or SIGTERM stops everything this launcher started, by
process id. Every process reads the same configuration folder and data files and watches
them itself (metrics.serving), so an edit reaches every process.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"
DEFAULT_PORT = 8501
SITE_PACKAGE = "alliance_board_site"
HAPROXY = "/usr/sbin/haproxy"
TEMPLATE = Path("deploy") / "haproxy.cfg.in"
BACKEND = "streamlit"  # the HAProxy backend's name in the template
SITE_COMMANDS = ("site", "serve", "init")


class LaunchError(RuntimeError):
    """The site or the cluster could not be started (the message says why)."""


def log(message: str) -> None:
    print(f"[alliance-board] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- where the site is


def site_root() -> Path:
    """The folder with streamlit_app.py, pages/, config/, sample_data/, .streamlit/: the
    checkout this package was imported from, else the installed copy (package data)."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "streamlit_app.py").is_file() and (checkout / "pages").is_dir():
        return checkout
    spec = importlib.util.find_spec(SITE_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "streamlit_app.py").is_file():
            return Path(location).resolve()
    raise LaunchError(
        "the site's files (streamlit_app.py, pages/, config/) were not found: run from a "
        f"checkout, or install the package (pip install .), which carries them as {SITE_PACKAGE}"
    )


def installed() -> bool:
    """Whether the site runs from an installed package rather than a checkout."""
    return site_root().name == SITE_PACKAGE


def default_config_dir() -> Path:
    """ALLIANCE_CONFIG_DIR, else the site's own config/ (the sample alliance)."""
    return Path(os.environ.get("ALLIANCE_CONFIG_DIR") or site_root() / "config").resolve()


def site_env(config_dir: Path | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a site process: the configuration named explicitly (absolute,
    so every process reads the same folder whatever its working directory) and, for an
    installed package, an audit log in the working directory rather than site-packages."""
    env = dict(os.environ if base is None else base)
    config = config_dir or Path(env.get("ALLIANCE_CONFIG_DIR") or site_root() / "config")
    env["ALLIANCE_CONFIG_DIR"] = str(Path(config).resolve())
    if installed() and not env.get("ALLIANCE_AUDIT_LOG"):
        env["ALLIANCE_AUDIT_LOG"] = str(Path.cwd() / "logs" / "audit.jsonl")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def streamlit_command(
    port: int, address: str = HOST, *, python: str = sys.executable, extra: Sequence[str] = ()
) -> list[str]:
    """`streamlit run streamlit_app.py` on one port of one address. The site's own
    .streamlit/config.toml sits beside the script, where Streamlit reads it from any
    working directory; secrets are read from the working directory's .streamlit/."""
    return [
        python,
        "-m",
        "streamlit",
        "run",
        str(site_root() / "streamlit_app.py"),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` different free ports (held open together, so none is picked twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def health(url: str, timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    """GET url + /healthz: (status, body); (0, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=timeout) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (OSError, ValueError):
        return 0, {}


# ---------------------------------------------------------------- HAProxy


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (HAPROXY if Path(HAPROXY).exists() else None)
    if not found:
        raise LaunchError("HAProxy is not installed (Debian: apt-get install haproxy)")
    return found


def haproxy_config(bind: str, servers: Sequence[tuple[str, int]], stats_socket: Path) -> str:
    """haproxy.cfg from deploy/haproxy.cfg.in: one `server` line per site process, each on
    127.0.0.1 with its own affinity cookie value (its name)."""
    template = string.Template((site_root() / TEMPLATE).read_text(encoding="utf-8"))
    lines = "\n".join(f"    server {name} {HOST}:{port} cookie {name}" for name, port in servers)
    return template.substitute(bind=bind, servers=lines, stats_socket=str(stats_socket))


def haproxy_stats(stats_socket: Path, timeout: float = 5.0) -> dict[str, dict[str, str]]:
    """`show stat` over the stats socket: the site backend's servers by name (status UP,
    DOWN, ...; stot = sessions so far)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(stats_socket))
        sock.sendall(b"show stat\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", "replace").lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {
        row["svname"]: row
        for row in rows
        if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND")
    }


# ---------------------------------------------------------------- the cluster


@dataclass
class Backend:
    """One site process behind the proxy."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _stop_group(process: subprocess.Popen[Any] | None, timeout: float = 15.0) -> None:
    """Stop a process this launcher started in its own session, and whatever it started
    (its process group, e.g. a board-reload worker): SIGTERM, then SIGKILL."""
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    # Leftovers of the group (a worker that outlived its server) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Cluster:
    """N site processes on 127.0.0.1 behind one HAProxy. start() waits until every
    process is warm and the proxy answers; stop() ends only what start() began."""

    processes: int = 2
    port: int = 0  # the proxy's port; 0 picks a free one
    address: str = HOST  # the proxy's address (the site processes are always on 127.0.0.1)
    config_dir: Path | None = None
    env: dict[str, str] | None = None  # base environment (default: this process's)
    python: str = sys.executable
    workdir: Path | None = None  # the processes' working directory (secrets are read there)
    folder: Path | None = None  # haproxy.cfg, the stats socket and logs (default: a temp dir)
    extra_args: Sequence[str] = ()
    backends: list[Backend] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    _own_folder: bool = False
    _haproxy_log: IO[bytes] | None = None

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise LaunchError("at least one process is needed")
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="alliance-board-cluster-"))
            self._own_folder = True
        self.folder.mkdir(parents=True, exist_ok=True)
        self.environment = site_env(self.config_dir, self.env)
        if not self.port:
            self.port = free_port(self.address)

    # -- addresses -----------------------------------------------------------------
    @property
    def url(self) -> str:
        host = HOST if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    @property
    def config_path(self) -> Path:
        assert self.folder is not None
        return self.folder / "haproxy.cfg"

    @property
    def stats_socket(self) -> Path:
        assert self.folder is not None
        return self.folder / "haproxy.sock"

    @property
    def haproxy_log(self) -> Path:
        assert self.folder is not None
        return self.folder / "haproxy.log"

    def backend(self, name: str) -> Backend:
        return next(b for b in self.backends if b.name == name)

    def pids(self) -> list[int]:
        """The proxy and every site process (not their children)."""
        procs = [self.haproxy, *(b.process for b in self.backends)]
        return [p.pid for p in procs if p is not None and p.poll() is None]

    # -- life ------------------------------------------------------------------------
    def start(self, timeout: float = 600.0) -> Cluster:
        assert self.folder is not None
        binary = haproxy_binary()
        try:
            ports = free_ports(self.processes)
            self.backends = [
                Backend(f"s{i + 1}", port, self.folder / f"s{i + 1}.log")
                for i, port in enumerate(ports)
            ]
            for backend in self.backends:
                self._start_backend(backend)
            deadline = time.monotonic() + timeout
            for backend in self.backends:
                self.wait_warm(backend, deadline - time.monotonic())
            self.config_path.write_text(
                haproxy_config(
                    f"{self.address}:{self.port}",
                    [(b.name, b.port) for b in self.backends],
                    self.stats_socket,
                ),
                encoding="utf-8",
            )
            self._haproxy_log = self.haproxy_log.open("ab")
            self.haproxy = subprocess.Popen(
                [binary, "-db", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=self._haproxy_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._wait_proxy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_backend(self, backend: Backend) -> None:
        backend.log_file = backend.log_path.open("ab")
        backend.process = subprocess.Popen(
            streamlit_command(backend.port, python=self.python, extra=self.extra_args),
            cwd=self.workdir or Path.cwd(),
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=backend.log_file,
            stderr=subprocess.STDOUT,
            # Its own session and process group: a Ctrl-C in the terminal reaches the
            # launcher, which stops the processes in order; and stopping one stops what
            # it started.
            start_new_session=True,
        )

    def wait_warm(self, backend: Backend, timeout: float) -> dict[str, Any]:
        """Poll the process's /healthz until it is 200 (warm); its body."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if not backend.alive():
                raise LaunchError(
                    f"site process {backend.name} (port {backend.port}) exited:\n"
                    + backend.log_tail()
                )
            status, body = health(backend.url)
            if status == 200:
                return body
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"site process {backend.name} not warm in time (/healthz {status} {body})"
                )
            time.sleep(0.25)

    def _wait_proxy(self, deadline: float) -> None:
        while True:
            if self.haproxy is None or self.haproxy.poll() is not None:
                raise LaunchError("haproxy exited:\n" + self._haproxy_tail())
            if health(self.url)[0] == 200 and self.stats_socket.exists():
                return
            if time.monotonic() > deadline:
                raise LaunchError("haproxy did not answer in time:\n" + self._haproxy_tail())
            time.sleep(0.1)

    def _haproxy_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.haproxy_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self, name: str) -> None:
        """Kill one site process outright (SIGKILL), as a crash would (tests)."""
        backend = self.backend(name)
        if backend.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(backend.process.pid, signal.SIGKILL)
            backend.process.wait(timeout=15)

    def restart(self, name: str, timeout: float = 600.0) -> None:
        """Start a site process again on its port; returns once it is warm (HAProxy's
        health check then brings it back into service)."""
        backend = self.backend(name)
        _stop_group(backend.process)
        if backend.log_file is not None:
            backend.log_file.close()
        backend.restarts += 1
        self._start_backend(backend)
        self.wait_warm(backend, timeout)

    def stats(self) -> dict[str, dict[str, str]]:
        return haproxy_stats(self.stats_socket)

    def wait_status(self, name: str, status: str, timeout: float = 60.0) -> None:
        """Poll HAProxy until it reports server `name` as `status` (UP, DOWN)."""
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, KeyError):
                seen = self.stats()[name]["status"]
                if seen.split()[0] == status:
                    return
            time.sleep(0.2)
        raise LaunchError(f"HAProxy did not report {name} {status} in {timeout:g} s ({seen})")

    def stop(self) -> None:
        _stop_group(self.haproxy)
        self.haproxy = None
        for backend in self.backends:
            _stop_group(backend.process)
            if backend.log_file is not None:
                backend.log_file.close()
        if self._haproxy_log is not None:
            self._haproxy_log.close()
            self._haproxy_log = None

    def cleanup(self) -> None:
        """stop(), and remove the temporary folder if this cluster made it."""
        self.stop()
        if self._own_folder and self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def serve_forever(self, poll: float = 1.0) -> int:
        """Watch the processes until HAProxy exits (or a signal stops the launcher): a
        site process that dies is started again."""
        while True:
            if self.haproxy is None or self.haproxy.poll() is not None:
                code = self.haproxy.returncode if self.haproxy else 1
                log(f"haproxy exited ({code}):\n{self._haproxy_tail()}")
                return code or 1
            for backend in self.backends:
                if not backend.alive():
                    code = backend.process.returncode if backend.process else None
                    log(
                        f"site process {backend.name} exited ({code}); starting it again. "
                        f"Its last words:\n{backend.log_tail(15)}"
                    )
                    try:
                        self.restart(backend.name)
                        log(f"site process {backend.name} is warm again")
                    except LaunchError as exc:
                        log(str(exc))
            time.sleep(poll)


# ---------------------------------------------------------------- commands


def _raise_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops everything


def run_site(args: argparse.Namespace) -> int:
    """One site process in the foreground (this process becomes streamlit)."""
    command = streamlit_command(args.port, args.address, extra=args.streamlit_args)
    env = site_env(args.config)
    log(f"serving {env['ALLIANCE_CONFIG_DIR']} on http://{args.address}:{args.port}")
    os.execve(command[0], command, env)
    return 0  # not reached


def run_serve(args: argparse.Namespace) -> int:
    """N site processes behind HAProxy, in the foreground, until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    cluster = Cluster(
        processes=args.processes,
        port=args.port,
        address=args.address,
        config_dir=args.config,
        extra_args=args.streamlit_args,
    )
    log(
        f"starting {args.processes} site process(es) for "
        f"{cluster.environment['ALLIANCE_CONFIG_DIR']}; logs and haproxy.cfg in {cluster.folder}"
    )
    try:
        cluster.start()
        for backend in cluster.backends:
            log(f"  {backend.name}: {backend.url} (warm)")
        log(f"HAProxy is serving the board at {cluster.url} (Ctrl-C stops everything)")
        return cluster.serve_forever()
    except LaunchError as exc:
        log(f"could not start: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        log("stopping HAProxy and the site processes")
        cluster.cleanup()


def run_init(args: argparse.Namespace) -> int:
    """Copy the sample configuration and data into DIR, to edit and to serve."""
    target: Path = args.dir.resolve()
    if (target / "config").exists():
        log(f"{target / 'config'} exists already; nothing copied")
        return 2
    root = site_root()
    ignore = shutil.ignore_patterns(".history", "__pycache__", "*.py")
    shutil.copytree(root / "config", target / "config", ignore=ignore)
    shutil.copytree(root / "sample_data", target / "sample_data", ignore=ignore)
    print(f"Copied the sample configuration and data to {target}.")
    print(f"Serve it with: ALLIANCE_CONFIG_DIR={target / 'config'} alliance-board site")
    return 0


def _site_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alliance-board",
        description="Alliance Board: serve the site (one process, or several behind "
        "HAProxy), copy the sample configuration, or run any `python -m metrics` command "
        "(validate, spc, its, export, readings, schema) with the site's configuration as "
        "the default.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def serving(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8501")
        sub.add_argument("--address", default=HOST, help="address to listen on (default 127.0.0.1)")
        sub.add_argument(
            "--config", type=Path, help="config folder (default $ALLIANCE_CONFIG_DIR or the sample)"
        )
        sub.add_argument(
            "streamlit_args",
            nargs=argparse.REMAINDER,
            help="after --: more `streamlit run` options",
        )

    site = commands.add_parser("site", help="start the site (one process) in the foreground")
    serving(site)
    site.set_defaults(func=run_site)
    serve = commands.add_parser(
        "serve", help="N site processes behind HAProxy (cookie affinity, /healthz checks)"
    )
    serve.add_argument("-n", "--processes", type=int, default=2, help="site processes (2)")
    serving(serve)
    serve.set_defaults(func=run_serve)
    init = commands.add_parser("init", help="copy the sample configuration and data into DIR")
    init.add_argument("dir", type=Path)
    init.set_defaults(func=run_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] not in (*SITE_COMMANDS, "-h", "--help"):
        # The analysts' command line, with the site's configuration as the default.
        os.environ["ALLIANCE_CONFIG_DIR"] = str(default_config_dir())
        from metrics import validate_cli

        validate_cli.DEFAULT_CONFIG = default_config_dir()
        from metrics.cli import main as metrics_main

        return metrics_main(arguments)
    parser = _site_parser()
    args = parser.parse_args(arguments)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if getattr(args, "streamlit_args", None) and args.streamlit_args[0] == "--":
        args.streamlit_args = args.streamlit_args[1:]
    try:
        return int(args.func(args))
    except LaunchError as exc:
        log(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
