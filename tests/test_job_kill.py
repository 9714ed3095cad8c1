"""A real ``python -m pipelines analyze --playlist`` killed with SIGKILL mid-run, then run
again: the same job resumes, and every song ends up analysed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipelines.store.models import Analysis, AnalysisJob, AnalysisJobItem, Song
from pipelines.store.repository import sync_playlist

ROOT = Path(__file__).resolve().parent.parent
PLAYLIST = "Everything"


def _cli(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DISCERN_LOAD_SAMPLE_LIBRARY": "0",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", "analyze", "--playlist", PLAYLIST, "--batch-size", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _done_items(sessions) -> int:
    with sessions.begin() as session:
        return session.scalar(select(func.count()).where(AnalysisJobItem.status == "done")) or 0


@pytest.mark.slow
def test_a_killed_job_resumes_and_analyses_every_song_exactly_once(sample_sessions, database_url):
    with sample_sessions.begin() as session:
        song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))
        sync_playlist(session, PLAYLIST, song_ids)
    process = _cli(database_url)
    deadline = time.monotonic() + 120
    try:
        while _done_items(sample_sessions) < 3:
            assert process.poll() is None, f"the runner ended before it was killed: {process.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, "the runner did not analyse 3 songs in 120 s"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    with sample_sessions.begin() as session:
        job = session.scalar(select(AnalysisJob))
        assert job.status == "running" and job.lease_owner  # left behind by the dead runner
        done_before = {
            item.song_id: item.analysis_id
            for item in session.scalars(select(AnalysisJobItem).where(AnalysisJobItem.status == "done"))
        }
    assert 3 <= len(done_before) < len(song_ids), "kill the runner mid-run, not after it finished"

    rerun = _cli(database_url)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]
    assert f"resuming job {job.id}" in stderr

    with sample_sessions.begin() as session:
        assert session.scalar(select(func.count(AnalysisJob.id))) == 1
        items = session.scalars(select(AnalysisJobItem)).all()
        assert {item.status for item in items} == {"done"}
        assert len(items) == len(song_ids)
        per_song = dict(
            session.execute(select(Analysis.song_id, func.count()).group_by(Analysis.song_id)).all()
        )
        assert per_song == dict.fromkeys(song_ids, 1)  # every song, exactly once
        # What was done before the kill was kept, not redone.
        for item in items:
            if item.song_id in done_before:
                assert item.analysis_id == done_before[item.song_id]
        assert session.scalar(select(AnalysisJob.status)) == "done"
