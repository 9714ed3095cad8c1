"""A real ``analyze --playlist`` runner SIGKILLed at random points of its job, many times
in a row; after each kill the database is checked, and after the last restart the job must
finish with every song analysed exactly once (``library_checks.check_library``).

Kill points are random in two ways: after a random number of further songs were finished
plus a random delay (so a kill lands while a batch is analysed, claimed or committed), or
a random moment after the restarted runner takes the job's lease (before its first batch).
With ``analyzers="fake"`` batches take milliseconds, so most kills land in database work;
with ``"compact"`` (the real models) most land in inference.
"""

from __future__ import annotations

import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.reliability.library_checks import (
    LibraryCheck,
    build_library,
    check_library,
    finished_items,
    lease_owner_pid,
    observer,
    runner_command,
    start_runner,
)
from pipelines.store.db import make_engine, make_sessionmaker
from pipelines.store.migrate import upgrade

PLAYLIST = "Crash loop"


@dataclass
class CrashLoopReport:
    database: str
    analyzers: str
    songs: int
    kills: int = 0  # SIGKILLs delivered to a working runner
    restarts_resumed: int = 0  # restarts that said "resuming job"
    check: LibraryCheck = field(default_factory=LibraryCheck)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.check.problems


def _wait(condition, process, timeout: float) -> bool:
    """Poll ``condition()`` until true; False when the process ended or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.002)
    return False


def crash_loop(
    database_url: str, *, songs: int = 40, kills: int = 5, analyzers: str = "fake", batch_size: int = 2,
    jitter_seconds: float | None = None, seed: int | None = None, timeout: float = 300.0,
    env: dict[str, str] | None = None,
) -> CrashLoopReport:
    """Kill the runner ``kills`` times, then let it finish; the report says what was checked."""
    started = time.monotonic()
    rng = random.Random(seed)
    jitter = jitter_seconds if jitter_seconds is not None else (0.08 if analyzers == "fake" else 0.3)
    engine = make_engine(database_url)
    watcher, sessions = observer(database_url)
    try:
        upgrade(engine)
        build_library(make_sessionmaker(engine), PLAYLIST, songs)
        report = CrashLoopReport(database=engine.dialect.name, analyzers=analyzers, songs=songs)
        command = runner_command(analyzers, "analyze", "--playlist", PLAYLIST, "--batch-size", str(batch_size))
        run_env = {"DATABASE_URL": database_url, "DISCERN_LOAD_SAMPLE_LIBRARY": "0", "HF_HUB_OFFLINE": "1",
                   # the fake's batches take about as long as their database work, so kills land in both
                   "DISCERN_FAKE_BATCH_SECONDS": "0.02", **(env or {})}
        with tempfile.TemporaryDirectory() as folder:
            finished = None  # the log of a run that finished the job before its kill, if one did
            for attempt in range(kills):
                done = finished_items(sessions)
                log = Path(folder) / f"run-{attempt}.log"
                process = start_runner(command, run_env, log)
                try:
                    if rng.random() < 0.25:  # soon after it takes the job, before any batch is stored
                        taken = _wait(lambda p=process: lease_owner_pid(sessions, None) == p.pid, process, timeout)
                    else:  # after a random share of the remaining songs, leaving songs for the kills to come
                        share = max(1, (songs - done) // (kills - attempt + 1))
                        target = min(songs - 2 * (kills - attempt), done + rng.randint(1, share))
                        taken = _wait(lambda t=target: finished_items(sessions) >= t, process, timeout)
                    time.sleep(rng.uniform(0, jitter))
                    if process.poll() is None:
                        process.send_signal(signal.SIGKILL)
                    process.wait(30)
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
                if not taken and process.returncode != 0:
                    raise RuntimeError(f"the runner failed before it was killed: {log.read_text()[-2000:]}")
                if finished_items(sessions) >= songs:  # it stored its last batch first: not a kill mid-job
                    finished = log
                    break
                report.kills += 1
                report.restarts_resumed += attempt > 0 and "resuming job" in log.read_text(errors="replace")
                report.check.add(check_library(sessions, final=False))
            if finished is None:
                finished = Path(folder) / "final.log"
                process = start_runner(command, run_env, finished)
                try:
                    process.wait(timeout)
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
                if process.returncode != 0:
                    output = finished.read_text(errors="replace")
                    report.check.problems.append(f"the final run ended with {process.returncode}: {output[-2000:]}")
            report.restarts_resumed += report.kills > 0 and "resuming job" in finished.read_text(errors="replace")
        report.check.add(check_library(sessions, final=True))
        report.seconds = time.monotonic() - started
        return report
    finally:
        engine.dispose()
        watcher.dispose()
