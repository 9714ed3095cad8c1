"""Killing a real analysis process mid-run, shared by the local and Ray kill tests."""

from __future__ import annotations

import signal
import subprocess
import time

from sqlalchemy import func, select

from pipelines.store.models import AnalysisJobItem


def done_items(sessions) -> int:
    with sessions.begin() as session:
        return session.scalar(select(func.count()).where(AnalysisJobItem.status == "done")) or 0


def kill_after_done(process: subprocess.Popen, sessions, count: int, timeout: float) -> None:
    """SIGKILL ``process`` as soon as ``count`` job items are done; fail if it ends first."""
    deadline = time.monotonic() + timeout
    try:
        while done_items(sessions) < count:
            assert process.poll() is None, f"the run ended before it was killed: {process.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, f"the run did not analyse {count} songs in {timeout:.0f} s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
