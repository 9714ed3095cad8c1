"""Two real runner processes on the same job, in rounds:

* ``together``: both start ``analyze --playlist`` on the same playlist at the same moment;
* ``takeover``: runner A is frozen (SIGSTOP) in the middle of its job for longer than the
  lease, runner B takes the job over, then A is woken (SIGCONT) in the middle of whatever
  it was doing (a batch being analysed, claimed or stored) while B works on.

Either way no song may be analysed twice and every song must end analysed once
(``library_checks.check_library``). A runner that loses the job stops on its own; a last
plain run finishes whatever neither did (e.g. when A froze holding SQLite's write lock).
"""

from __future__ import annotations

import random
import signal
import subprocess
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
    open_jobs,
    runner_command,
    start_runner,
)
from pipelines.store.db import make_engine, make_sessionmaker
from pipelines.store.migrate import upgrade

LEASE_SECONDS = 2


@dataclass
class RaceReport:
    database: str
    rounds: int = 0
    songs: int = 0
    takeovers: int = 0  # rounds where B took the job from a frozen, live A
    busy_refusals: int = 0  # runs that found the job held by the other and stopped
    check: LibraryCheck = field(default_factory=LibraryCheck)
    seconds: float = 0.0


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def _finish(process: subprocess.Popen, timeout: float) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def runner_race(
    database_url: str, *, rounds: int = 2, songs: int = 30, seed: int | None = None, timeout: float = 120.0,
) -> RaceReport:
    started = time.monotonic()
    rng = random.Random(seed)
    engine = make_engine(database_url)
    report = RaceReport(database=engine.dialect.name)
    env = {"DATABASE_URL": database_url, "DISCERN_LOAD_SAMPLE_LIBRARY": "0", "DISCERN_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
           "DISCERN_FAKE_BATCH_SECONDS": "0.03"}
    watcher, sessions = observer(database_url)
    try:
        upgrade(engine)
        with tempfile.TemporaryDirectory() as folder:
            for number in range(rounds):
                playlist = f"Race {number}"
                build_library(make_sessionmaker(engine), playlist, songs, first=number * songs)
                command = runner_command("fake", "analyze", "--playlist", playlist, "--batch-size", "1")
                logs = [Path(folder) / f"{number}-{name}.log" for name in ("a", "b", "last")]
                before = finished_items(sessions)
                if number % 2 == 0:
                    first = start_runner(command, env, logs[0])
                    second = start_runner(command, env, logs[1])
                    codes = [_finish(first, timeout), _finish(second, timeout)]
                else:
                    first = start_runner(command, env, logs[0])
                    target = before + rng.randint(1, songs // 2)
                    _wait_for(lambda t=target, a=first: finished_items(sessions) >= t or a.poll() is not None, timeout)
                    time.sleep(rng.uniform(0, 0.05))
                    first.send_signal(signal.SIGSTOP)
                    try:
                        time.sleep(LEASE_SECONDS + 0.5)  # A's lease runs out while it is frozen
                        second = start_runner(command, env, logs[1])
                        took = _wait_for(lambda s=second: lease_owner_pid(sessions, None) == s.pid, 20)
                        report.takeovers += took
                        if took:  # let B get some batches in before A wakes up mid-batch
                            done = finished_items(sessions)
                            more = rng.randint(1, 4)
                            _wait_for(lambda d=done + more, b=second: finished_items(sessions) >= d or b.poll() is not None,
                                      20)
                    finally:
                        first.send_signal(signal.SIGCONT)
                    codes = [_finish(first, timeout), _finish(second, timeout)]
                report.busy_refusals += codes.count(3)
                report.check.add(check_library(sessions, final=False))
                if open_jobs(sessions):  # neither finished it (A froze holding SQLite's write lock, say)
                    last = start_runner(command, env, logs[2])
                    if _finish(last, timeout) != 0:
                        report.check.problems.append(f"round {number}: the last run failed: {logs[2].read_text()[-2000:]}")
                report.rounds += 1
                report.songs += songs
        report.check.add(check_library(sessions, final=True))
    finally:
        engine.dispose()
        watcher.dispose()
    report.seconds = time.monotonic() - started
    return report
