"""Memory of the dashboard server with many sessions at once: does it stay flat?

Starts the server as the Docker image does (the Dockerfile's CMD, ``streamlit run app.py``,
with its ENV, a free port and a fresh data folder holding the sample library), or attaches
to a running one (``--url``), then opens ``--sessions`` browser sessions at once over
Streamlit's websocket, exactly as a browser talks to it (the session client of
``benchmarks/startup.py``). Each session loads the Library and Explore pages (both read the
library from the database); every ``--analyse-every``-th one also analyses a song of the
sample library on the Analyse lyrics page. The sessions stay connected until all are done,
then close. This is one wave; ``--waves`` runs several in a row, so memory that grows with
every wave (a leak) shows.

The RSS of the server's process tree is sampled every 0.1 s:

- before: server idle, models loaded, after one warm-up session visited the same pages
  (Streamlit and the pages import their libraries on first use, once per process);
- during: the peak while the sessions load pages and analyse, and the RSS with all of
  them connected;
- after: the sessions closed and the server idle again.

    python benchmarks/sessions.py [--sessions 20] [--analyse-every 4] [--waves 2] [--json out.json]
    python benchmarks/sessions.py --url http://127.0.0.1:8501 [--pid PID]   # a running server

Prints a table; exits non-zero when a session failed or the RSS rose more than
``--budget-mb`` (100) above "before".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup  # noqa: E402  (benchmarks/startup.py: server start-up, RSS sampler, session client)

PAGES = ("", "explore")  # the default page (Library), then Explore: both read the library
ANALYSE_PAGE = startup.ANALYSE_PAGE


@dataclass
class Wave:
    peak_mb: float = 0.0  # while the sessions load pages and analyse
    all_open_mb: float = 0.0  # every session connected, all work done
    after_mb: float = 0.0  # sessions closed, server idle
    page_seconds: list[float] = field(default_factory=list)
    analyse_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Figures:
    server: str  # "started: streamlit run app.py" or "attached: URL"
    pid: int
    sessions: int
    analysing: int
    waves: list[Wave] = field(default_factory=list)
    start_mb: float = 0.0  # models loaded, no session yet (started servers only)
    before_mb: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def peak_mb(self) -> float:
        return max(w.peak_mb for w in self.waves)

    @property
    def after_mb(self) -> float:
        return self.waves[-1].after_mb

    @property
    def growth_mb(self) -> float:
        return max(self.peak_mb, self.after_mb) - self.before_mb


def song_texts() -> list[str]:
    return [song["lyrics"] for song in json.loads(startup.SAMPLE_LIBRARY.read_text(encoding="utf-8"))["songs"]]


def check_library_page(elements, result: startup.SessionResult) -> None:
    if not any(e.WhichOneof("type") == "metric" and e.metric.label == "Playlists" for e in elements):
        result.errors.append("the Library page showed no 'Playlists' figure")


async def session(port: int, index: int, text: str | None, timeout: float, all_done: asyncio.Barrier,
                  result: startup.SessionResult, analyse_seconds: list[float]) -> None:
    """One browser tab: the library pages, maybe one analysis, then open until all are done."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    try:
        async with startup._connect(port, timeout) as ws:
            client = startup.BrowserSession(ws, timeout, result)
            for page in PAGES:
                elements = await client.run(page)
                if page == "":
                    check_library_page(elements, result)
            if text is not None:
                elements = await client.run(ANALYSE_PAGE)
                text_id = startup.widget_id(elements, "text_area", "Lyrics")
                button_id = startup.widget_id(elements, "button", "Analyse")
                if text_id is None or button_id is None:
                    result.errors.append(f"session {index}: no 'Lyrics' text area and 'Analyse' button")
                else:
                    states = [WidgetState(id=text_id, string_value=text), WidgetState(id=button_id, trigger_value=True)]
                    elements = await client.run(ANALYSE_PAGE, states)
                    analyse_seconds.append(result.run_seconds[-1])
                    if not any(e.WhichOneof("type") == "metric" and e.metric.label == "Verdict" for e in elements):
                        result.errors.append(f"session {index}: the analysis showed no verdict")
            await all_done.wait()
    except Exception as exc:  # a refused or dropped connection, a timeout: counted, not fatal
        result.errors.append(f"session {index}: {type(exc).__name__}: {exc}")
        await all_done.wait()


async def wave(port: int, sessions: int, analyse_every: int, timeout: float, sampler: startup.TreeSampler,
               texts: list[str], first: int) -> tuple[Wave, list[str]]:
    figures = Wave()
    results = [startup.SessionResult() for _ in range(sessions)]
    everyone = asyncio.Barrier(sessions + 1)  # the sessions and this coroutine
    started = time.perf_counter()
    sampler.peak_mb = 0.0
    tasks = [
        asyncio.create_task(session(
            port, i, texts[(first + i) % len(texts)] if analyse_every and i % analyse_every == 0 else None,
            timeout, everyone, results[i], figures.analyse_seconds,
        ))
        for i in range(sessions)
    ]
    await asyncio.wait_for(everyone.wait(), timeout)
    figures.seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # a few more samples with every session connected
    figures.peak_mb = round(sampler.peak_mb, 1)
    figures.all_open_mb = round(sampler.rss_mb(), 1)
    await asyncio.gather(*tasks)  # each closes its websocket
    for result in results:
        figures.page_seconds += result.run_seconds[: len(PAGES)]
    return figures, [e for r in results for e in r.errors]


def settle(sampler: startup.TreeSampler, timeout: float) -> float:
    """RSS once the server has gone idle (a few seconds under 10% of a core)."""
    startup.wait_until_idle(sampler, timeout)
    time.sleep(1.0)
    return round(sampler.rss_mb(), 1)


async def warm_up(port: int, timeout: float, text: str) -> startup.SessionResult:
    """One session on the same pages, once the models are ready (the Analyse page then has its form)."""
    result = startup.SessionResult()
    deadline = time.monotonic() + timeout
    while True:
        async with startup._connect(port, timeout) as ws:
            elements = await startup.BrowserSession(ws, timeout, result).run(ANALYSE_PAGE)
        if startup.widget_id(elements, "text_area", "Lyrics") is not None:
            break
        if time.monotonic() > deadline:
            result.errors.append("the models were not ready in time (no analysis form)")
            return result
        await asyncio.sleep(1.0)
    barrier = asyncio.Barrier(1)
    await session(port, -1, text, timeout, barrier, result, [])
    return result


def find_pid(port: int) -> int:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise SystemExit(f"no process found listening on port {port}; pass --pid")


def measure(sessions: int = 20, analyse_every: int = 4, waves: int = 2, timeout: float = 300.0,
            url: str | None = None, pid: int | None = None) -> Figures:
    texts = song_texts()
    proc = None
    log = None
    data_dir = None
    if url:
        port = urlparse(url).port or 80
        pid = pid or find_pid(port)
        where = f"attached: {url}"
    else:
        port = startup.free_port()
        data_dir = tempfile.TemporaryDirectory(prefix="discern-sessions-")
        command = startup.dockerfile.exec_form(startup.dockerfile.only(startup.dockerfile.load(), "CMD").value)
        env = startup.image_environment(port, Path(data_dir.name), Path(sys.executable).parent, {})
        proc = subprocess.Popen(command, cwd=startup.ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log = startup.LogWatcher(proc.stdout, time.perf_counter())
        log.start()
        pid = proc.pid
        where = f"started: {' '.join(command)}"
    figures = Figures(server=where, pid=pid, sessions=sessions,
                      analysing=len(range(0, sessions, analyse_every)) if analyse_every else 0)
    sampler = startup.TreeSampler(pid)
    sampler.start()
    try:
        deadline = time.monotonic() + timeout
        while not startup.health(port, timeout=2.0)[0]:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no healthy answer within {timeout:.0f}s")
            time.sleep(0.2)
        figures.start_mb = settle(sampler, timeout) if proc is not None else 0.0
        figures.errors += asyncio.run(warm_up(port, timeout, texts[-1])).errors
        figures.before_mb = settle(sampler, timeout)
        for number in range(waves):
            result, errors = asyncio.run(wave(port, sessions, analyse_every, timeout, sampler, texts, number * sessions))
            result.after_mb = settle(sampler, timeout)
            figures.waves.append(result)
            figures.errors += errors
    except Exception as exc:
        if log is not None:
            exc.add_note("server log:\n" + "\n".join(line for _, line in log.lines[-40:]))
        raise
    finally:
        sampler.done.set()
        if proc is not None:
            startup.stop(proc)
            log.join(5)
            data_dir.cleanup()
    return figures


def table(f: Figures, budget_mb: float) -> str:
    def change(mb: float) -> str:
        return f"{mb - f.before_mb:+.0f} MB"

    rows = ["| moment | server RSS | vs before |", "|---|---|---|"]
    if f.start_mb:
        rows.append(f"| server started, models loaded, no session yet | {f.start_mb:.0f} MB | {change(f.start_mb)} |")
    rows.append(f"| before: idle, after one warm-up session | {f.before_mb:.0f} MB | |")
    for number, w in enumerate(f.waves, start=1):
        name = f"wave {number}" if len(f.waves) > 1 else "sessions"
        rows += [
            f"| during {name}: peak, {f.sessions} sessions loading pages and analysing | {w.peak_mb:.0f} MB | {change(w.peak_mb)} |",
            f"| during {name}: all {f.sessions} connected, work done | {w.all_open_mb:.0f} MB | {change(w.all_open_mb)} |",
            f"| after {name}: sessions closed, idle | {w.after_mb:.0f} MB | {change(w.after_mb)} |",
        ]
    pages = [s for w in f.waves for s in w.page_seconds]
    analyses = [s for w in f.waves for s in w.analyse_seconds]
    holds = f.growth_mb <= budget_mb and not f.errors
    summary = [
        f"{f.sessions} sessions at once per wave, {len(f.waves)} waves; each loads the Library and Explore pages, "
        f"{f.analysing} also analyse a song on Analyse lyrics. Server {f.server} (pid {f.pid}).",
        f"Page runs: median {statistics.median(pages):.2f} s, max {max(pages):.2f} s; analyses: "
        + (f"median {statistics.median(analyses):.2f} s, max {max(analyses):.2f} s; " if analyses else "none; ")
        + f"a wave took {max(w.seconds for w in f.waves):.1f} s at most.",
        f"Growth over 'before' (peak or after): {f.growth_mb:+.0f} MB, budget {budget_mb:.0f} MB: "
        + ("holds." if holds else "**does not hold**." if not f.errors else "errors: " + "; ".join(f.errors[:5])),
    ]
    return "\n".join(rows) + "\n\n" + "\n".join(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="browser sessions at once")
    parser.add_argument("--analyse-every", type=int, default=4, help="every Nth session also analyses a song (0: none)")
    parser.add_argument("--waves", type=int, default=2, help="rounds of sessions, one after the other")
    parser.add_argument("--url", help="attach to the server at this URL instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id (default: found by its port)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server, a page, a wave")
    parser.add_argument("--budget-mb", type=float, default=100.0, help="allowed RSS growth over 'before'")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures = measure(args.sessions, args.analyse_every, args.waves, args.timeout, args.url, args.pid)
    print(table(figures, args.budget_mb))
    if args.json:
        payload = {**asdict(figures), "growth_mb": figures.growth_mb, "budget_mb": args.budget_mb,
                   "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if figures.growth_mb <= args.budget_mb and not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
