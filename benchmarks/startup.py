"""Time to ready and peak memory of the dashboard, started the way the Docker image starts it.

Runs the Dockerfile's CMD (``streamlit run app.py``) with the Dockerfile's ENV, on a free
local port with a fresh data folder, and measures:

1. seconds until ``/_stcore/health`` answers "ok" (what the HEALTHCHECK sees);
2. seconds until a first browser gets the default page, and until the models are ready:
   the server has gone idle and the log's last model-load line says when loading ended;
3. memory (RSS of the server's process tree, sampled every 0.1 s) when ready, and its
   peak under load: ``--sessions`` browsers at once, each opening the default page (the
   library) and then the Analyse lyrics page, pasting ``--rounds`` songs of the sample
   library and pressing Analyse, over Streamlit's websocket exactly as a browser does;
4. the slowest health answer and any failed one after the first "ok";
5. the model-load lines of the log: one per model, none repeated (models load once);
6. every line the server logged while the sessions worked (after ready, before the stop):
   none is expected, so a line per request or per session shows at once.

    python benchmarks/startup.py [--sessions 4] [--rounds 3] [--profile compact] [--json out.json]

The docker-compose files' memory limits and start periods come from these figures
(deploy/measured-*.json; see the README's "Deploy" section).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import dockerfile  # noqa: E402

SAMPLE_LIBRARY = ROOT / "pipelines" / "data" / "sample_library.json"
IMAGE_CACHE_VARIABLES = ("HF_HOME", "DISCERN_MODEL_CACHE_DIR")  # paths inside the image
ANALYSE_PAGE = "analyse_lyrics"  # pages/analyse_lyrics.py: a "Lyrics" text area, an "Analyse" button
# The line pipelines/analyzers/loader.py logs per model load.
LOAD_LINE = re.compile(
    r"loaded model (?P<name>\S+) \((?P<model_id>.*?)\) in (?P<seconds>[\d.]+)s, \+(?P<rss_added_mb>-?\d+) MB RSS"
)


@dataclass
class Figures:
    command: list[str]  # the Dockerfile's CMD
    profile: str
    sessions: int
    rounds: int
    health_ok_s: float | None = None
    first_page_s: float | None = None  # a first browser got the default page
    models_ready_s: float | None = None  # the last model-load line appeared in the log
    all_sessions_done_s: float | None = None
    rss_ready_mb: float = 0.0  # models loaded, no session working
    peak_rss_mb: float = 0.0  # the whole run, under the analysis load included
    rss_at_end_mb: float = 0.0
    health_max_latency_s: float = 0.0
    health_failures_after_ok: int = 0
    run_seconds_median: float | None = None
    run_seconds_max: float | None = None
    model_loads: list[dict] = field(default_factory=list)
    repeated_loads: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    log_under_load: list[str] = field(default_factory=list)  # logged from ready until the sessions were done
    log_tail: list[str] = field(default_factory=list)
    server_cmdline: list[str] = field(default_factory=list)  # as resolved on PATH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image_environment(port: int, data_dir: Path, bin_dir: Path | None, extra: dict[str, str]) -> dict[str, str]:
    """The Dockerfile's ENV over this process's environment, with local paths and port."""
    env = {**os.environ, **dockerfile.env(dockerfile.load())}
    # The image's paths do not exist here: a fresh data folder, and this machine's model
    # caches (as set here, else each library's default).
    env.update(DISCERN_DATA_DIR=str(data_dir), STREAMLIT_SERVER_PORT=str(port), STREAMLIT_SERVER_ADDRESS="127.0.0.1")
    for cache in IMAGE_CACHE_VARIABLES:
        if cache in os.environ:
            env[cache] = os.environ[cache]
        else:
            env.pop(cache, None)
    # The image runs `streamlit` from its venv: here, this interpreter's venv unless told
    # otherwise (the venv need not be activated).
    bin_dir = bin_dir or Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env.update(extra)
    return env


def health(port: int, timeout: float = 5.0) -> tuple[bool, float]:
    """(answered "ok", seconds taken)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=timeout) as r:
            ok = r.read().strip() == b"ok"
    except OSError:
        ok = False
    return ok, time.perf_counter() - start


class TreeSampler(threading.Thread):
    """Peak RSS of a process and its descendants, sampled until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_mb = 0.0
        self.last_mb = 0.0
        self.done = threading.Event()

    def rss_mb(self) -> float:
        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a child that exited meanwhile
                total += proc.memory_info().rss
        return total / 2**20

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.last_mb = self.rss_mb()
            except psutil.Error:
                return
            self.peak_mb = max(self.peak_mb, self.last_mb)
            self.done.wait(self.interval)


class LogWatcher(threading.Thread):
    """Reads the server's output, keeping each line with the second it appeared."""

    def __init__(self, stream, t0: float) -> None:
        super().__init__(daemon=True)
        self.stream, self.t0 = stream, t0
        self.lines: list[tuple[float, str]] = []

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            self.lines.append((time.perf_counter() - self.t0, raw.decode("utf-8", "replace").rstrip()))


class HealthPoller(threading.Thread):
    """Polls the health endpoint every half second: the slowest answer and failures."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.max_latency = 0.0
        self.failures = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            ok, took = health(self.port)
            self.max_latency = max(self.max_latency, took)
            self.failures += not ok
            self.done.wait(0.5)


@dataclass
class SessionResult:
    run_seconds: list[float] = field(default_factory=list)  # every script run: page loads and Analyse runs
    analyse_seconds: list[float] = field(default_factory=list)  # the Analyse runs only
    errors: list[str] = field(default_factory=list)


class BrowserSession:
    """One dashboard session over Streamlit's websocket, driven as a browser drives it."""

    def __init__(self, ws, timeout: float, result: SessionResult) -> None:
        self.ws, self.timeout, self.result = ws, timeout, result

    async def run(self, page: str = "", widgets=()) -> list:
        """Run ``page`` (default page: "") with these widget states; its elements."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.rerun_script.query_string = ""
        request.rerun_script.page_name = page
        request.rerun_script.widget_states.widgets.extend(widgets)
        start = time.perf_counter()
        await self.ws.send(request.SerializeToString())
        elements = []
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(self.ws.recv(), self.timeout))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                elements.append(element)
                if element.WhichOneof("type") == "exception":
                    self.result.errors.append(f"{element.exception.type}: {element.exception.message}")
            elif kind == "page_not_found":
                self.result.errors.append(f"no page {page!r}")
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.result.errors.append("the app failed to compile")
                if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    break
        self.result.run_seconds.append(time.perf_counter() - start)
        return elements


def _connect(port: int, timeout: float):
    import websockets

    return websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None, open_timeout=timeout
    )


async def first_visit(port: int, timeout: float) -> SessionResult:
    """One browser opening the dashboard's default page."""
    result = SessionResult()
    async with _connect(port, timeout) as ws:
        await BrowserSession(ws, timeout, result).run()
    return result


def widget_id(elements, kind: str, label: str) -> str | None:
    for element in elements:
        if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
            return getattr(element, kind).id
    return None


async def analysing_session(port: int, texts: list[str], timeout: float) -> SessionResult:
    """A browser opening the default page, then on the Analyse lyrics page pasting each text
    and pressing Analyse."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    result = SessionResult()
    async with _connect(port, timeout) as ws:
        session = BrowserSession(ws, timeout, result)
        await session.run()  # the library: the database is read too
        elements = await session.run(ANALYSE_PAGE)
        text_id, button_id = widget_id(elements, "text_area", "Lyrics"), widget_id(elements, "button", "Analyse")
        if text_id is None or button_id is None:
            result.errors.append(f"page {ANALYSE_PAGE!r} has no 'Lyrics' text area and 'Analyse' button")
            return result
        for text in texts:
            await session.run(
                ANALYSE_PAGE, [WidgetState(id=text_id, string_value=text), WidgetState(id=button_id, trigger_value=True)]
            )
            result.analyse_seconds.append(result.run_seconds[-1])
    return result


async def analysis_load(port: int, sessions: int, rounds: int, timeout: float) -> list[SessionResult]:
    songs = [song["lyrics"] for song in json.loads(SAMPLE_LIBRARY.read_text(encoding="utf-8"))["songs"]]
    texts = [[songs[(i * rounds + r) % len(songs)] for r in range(rounds)] for i in range(sessions)]
    return await asyncio.gather(*(analysing_session(port, t, timeout) for t in texts))


def wait_until_idle(sampler: TreeSampler, timeout: float, busy_percent: float = 10.0) -> None:
    """Return once the server's processes used under ``busy_percent`` of a core for 2 s."""
    deadline = time.perf_counter() + timeout
    quiet = 0
    while quiet < 2:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the server was still busy after {timeout:.0f}s")
        before = sampler.cpu_seconds()
        time.sleep(1.0)
        quiet = quiet + 1 if (sampler.cpu_seconds() - before) * 100 < busy_percent else 0


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def measure(
    sessions: int = 4,
    rounds: int = 3,
    profile: str = "compact",
    timeout: float = 300.0,
    bin_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    on_healthy: Callable[[dict[str, str]], None] | None = None,
) -> Figures:
    """Start the image's command, load it with browser sessions, return the figures.

    ``on_healthy(env)``, when given, runs once the server is healthy, before the sessions,
    with the server's environment (a test runs the image's HEALTHCHECK command there).
    """
    command = dockerfile.exec_form(dockerfile.only(dockerfile.load(), "CMD").value)
    figures = Figures(command=command, profile=profile, sessions=sessions, rounds=rounds)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="discern-startup-") as data_dir:
        env = image_environment(port, Path(data_dir), bin_dir, {"DISCERN_PROFILE": profile, **(extra_env or {})})
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        log = LogWatcher(proc.stdout, t0)
        log.start()
        figures.server_cmdline = psutil.Process(proc.pid).cmdline()
        sampler = TreeSampler(proc.pid)
        sampler.start()
        poller = HealthPoller(port)
        try:
            while figures.health_ok_s is None:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {proc.returncode} before it was healthy")
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError(f"no healthy answer within {timeout:.0f}s")
                if health(port, timeout=1.0)[0]:
                    figures.health_ok_s = time.perf_counter() - t0
                else:
                    time.sleep(0.1)
            if on_healthy is not None:
                on_healthy(env)
            poller.start()
            results = [asyncio.run(first_visit(port, timeout))]
            figures.first_page_s = time.perf_counter() - t0
            wait_until_idle(sampler, timeout)  # models that load at start or on a visit are loaded
            figures.rss_ready_mb = round(sampler.rss_mb(), 1)
            ready_lines = len(log.lines)
            results += asyncio.run(analysis_load(port, sessions, rounds, timeout))
            figures.all_sessions_done_s = time.perf_counter() - t0
            wait_until_idle(sampler, timeout)
            time.sleep(0.5)  # a last sample of memory and the log after the load
            figures.log_under_load = [line for _, line in log.lines[ready_lines:]]  # before the stop's own lines
        except Exception as exc:
            exc.add_note("server log:\n" + "\n".join(line for _, line in log.lines[-40:]))
            raise
        finally:
            poller.done.set()
            sampler.done.set()
            stop(proc)
            log.join(5)
    runs = [s for r in results for s in r.analyse_seconds]
    figures.run_seconds_median = statistics.median(runs) if runs else None
    figures.run_seconds_max = max(runs, default=None)
    figures.script_errors = sorted({e for r in results for e in r.errors})
    figures.peak_rss_mb = round(sampler.peak_mb, 1)
    figures.rss_at_end_mb = round(sampler.last_mb, 1)
    figures.health_max_latency_s = round(poller.max_latency, 3)
    figures.health_failures_after_ok = poller.failures
    seen: dict[str, int] = {}
    for at, line in log.lines:
        match = LOAD_LINE.search(line)
        if match:
            figures.models_ready_s = at
            load = match.groupdict()
            figures.model_loads.append({**load, "seconds": float(load["seconds"]), "rss_added_mb": int(load["rss_added_mb"])})
            seen[load["name"]] = seen.get(load["name"], 0) + 1
    figures.repeated_loads = sorted(name for name, count in seen.items() if count > 1)
    figures.log_tail = [line for _, line in log.lines[-40:]]
    return figures


def report(f: Figures) -> str:
    def s(v):
        return "-" if v is None else f"{v:.1f}s"

    lines = [
        f"command: {' '.join(f.command)}  profile={f.profile}  sessions={f.sessions} x {f.rounds} runs",
        f"health ok after        {s(f.health_ok_s)}",
        f"first page after       {s(f.first_page_s)}",
        f"models ready after     {s(f.models_ready_s)}",
        f"all sessions done      {s(f.all_sessions_done_s)}",
        f"Analyse median/max     {s(f.run_seconds_median)} / {s(f.run_seconds_max)}",
        f"RSS when ready         {f.rss_ready_mb:.0f} MB",
        f"peak RSS (tree)        {f.peak_rss_mb:.0f} MB",
        f"RSS after the load     {f.rss_at_end_mb:.0f} MB",
        f"health while loading   slowest {f.health_max_latency_s:.2f}s, {f.health_failures_after_ok} failed",
        f"model loads            {len(f.model_loads)}"
        + (f" (REPEATED: {', '.join(f.repeated_loads)})" if f.repeated_loads else " (each once)"),
        f"log lines under load   {len(f.log_under_load)}",
    ]
    lines += [f"  {m['name']}: {m['seconds']:.2f}s, +{m['rss_added_mb']} MB" for m in f.model_loads]
    if f.script_errors:
        lines.append("app errors: " + "; ".join(f.script_errors))
    return "\n".join(lines)


def record(f: Figures) -> dict:
    """The figures with where and when they were measured, without the log."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    figures = {k: v for k, v in asdict(f).items() if k not in {"log_tail", "server_cmdline"}}
    return {
        **figures,
        "measured_at": time.strftime("%Y-%m-%d"),
        "commit": commit.strip(),
        "machine": f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=4, help="browsers analysing at once")
    parser.add_argument("--rounds", type=int, default=3, help="songs each session analyses")
    parser.add_argument("--profile", default="compact", help="DISCERN_PROFILE of the server")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for health and each run")
    parser.add_argument("--bin-dir", type=Path, help="bin folder of the environment to run (default: this one's PATH)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="folder to start the command in (default: this repository)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra server variable (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.env)
    figures = measure(args.sessions, args.rounds, args.profile, args.timeout, args.bin_dir, extra, args.app_dir)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(record(figures), indent=2) + "\n")
    return 1 if figures.script_errors or figures.repeated_loads else 0


if __name__ == "__main__":
    sys.exit(main())
