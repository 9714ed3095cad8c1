"""Killing a real analysis process mid-run, shared by the local and Ray kill tests."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from pipelines.store.models import AnalysisJobItem


def done_items(sessions) -> int:
    with sessions.begin() as session:
        return session.scalar(select(func.count()).where(AnalysisJobItem.status == "done")) or 0


def complete_lines(path: Path) -> list[bytes]:
    """The complete result lines of a JSON Lines output (newline-ended, valid JSON), as bytes."""
    if not path.exists():
        return []
    *ended, _rest = path.read_bytes().split(b"\n")  # _rest: a line still being written, if any
    complete = []
    for line in ended:
        try:
            json.loads(line)
        except ValueError:
            break
        complete.append(line + b"\n")
    return complete


def kill_after_done(process: subprocess.Popen, sessions, count: int, timeout: float) -> None:
    """SIGKILL ``process`` as soon as ``count`` job items are done; fail if it ends first."""
    kill_when(process, lambda: done_items(sessions) >= count, f"analyse {count} songs", timeout)


def kill_after_lines(process: subprocess.Popen, output: Path, count: int, timeout: float) -> None:
    """SIGKILL ``process`` as soon as its ``output`` file holds ``count`` complete lines."""
    kill_when(process, lambda: len(complete_lines(output)) >= count, f"write {count} lines", timeout)


def kill_when(process: subprocess.Popen, ready: Callable[[], bool], what: str, timeout: float) -> None:
    """SIGKILL ``process`` as soon as ``ready()``; fail if it ends first or takes too long."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert process.poll() is None, f"the run ended before it was killed: {process.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, f"the run did not {what} in {timeout:.0f} s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
