"""A real ``python -m pipelines analyze --playlist`` killed with SIGKILL mid-run, then run
again: the same job resumes, and every song ends up analysed exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kill_support import kill_after_done
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



@pytest.mark.slow
def test_a_killed_job_resumes_and_analyses_every_song_exactly_once(sample_sessions, database_url):
    with sample_sessions.begin() as session:
        song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))
        sync_playlist(session, PLAYLIST, song_ids)
    process = _cli(database_url)
    kill_after_done(process, sample_sessions, 3, timeout=120)

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
