"""Analysis runs from the dashboard: queue playlist jobs for the background worker, analyse
a few songs at once (the song page's re-analyse, the ad-hoc page's save), and the
figures the runs page shows for a job. No ``st.*`` calls here."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from pipelines.analyzers.loader import AnalyzerSet
from pipelines.job_queue import OPEN_STATUSES
from pipelines.jobs import (
    JobProgress,
    JobRunner,
    RunOutcome,
    create_job,
    create_playlist_job,
    find_open_job,
    job_progress,
)


@dataclass(frozen=True)
class StartedRun:
    playlist_id: int
    job_id: int
    resumed: bool  # an unfinished job of this playlist was picked up instead of a new one
    songs: int


def start_runs(session: Session, playlist_ids: list[int], profile: str, sensitivity: str) -> list[StartedRun]:
    """One job per playlist for the background worker; an open job is resumed, not doubled."""
    started = []
    for playlist_id in playlist_ids:
        job = find_open_job(session, playlist_id, profile)
        resumed = job is not None
        if job is None:
            job = create_playlist_job(session, playlist_id, profile=profile, sensitivity=sensitivity)
        started.append(StartedRun(playlist_id, job.id, resumed, job_progress(session, job.id).total))
    return started


def analyse_now(
    sessions: sessionmaker[Session], analyzers: AnalyzerSet, song_ids: list[int], title: str, sensitivity: str,
    wait_seconds: float = 120.0,
) -> RunOutcome:
    """Analyse a few songs in this thread through a durable job (the results cache and the
    override rules apply as for any run). If the background worker claims the job first,
    wait for it to finish."""
    with sessions.begin() as session:
        job_id = create_job(session, song_ids, title=title, profile=analyzers.profile, sensitivity=sensitivity).id
    outcome = JobRunner(sessions, analyzers).run(job_id)
    deadline = time.monotonic() + wait_seconds
    while outcome.status == "busy" and time.monotonic() < deadline:
        time.sleep(0.2)
        with sessions.begin() as session:
            progress = job_progress(session, job_id)
        if progress.status not in OPEN_STATUSES:
            counts = progress.counts
            outcome = RunOutcome(job_id, progress.status, counts.get("done", 0), counts.get("cached", 0),
                                 counts.get("failed", 0), counts.get("skipped", 0))
    return outcome


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass(frozen=True)
class ProgressFigures:
    status: str
    fraction: float  # 0..1 of songs finished (any outcome)
    done: str  # "7 / 10"
    rate: str  # songs analysed per second by the models, "3.20/s"
    eta: str  # "12 s"
    failed: int
    skipped: int
    cached: int
    is_open: bool


def progress_figures(progress: JobProgress) -> ProgressFigures:
    """What the runs page shows of a job: songs finished of the total, rate, ETA."""
    is_open = progress.status in OPEN_STATUSES
    if progress.rate:
        rate = f"{progress.rate:.2f}/s" if progress.rate < 10 else f"{progress.rate:.0f}/s"
    else:
        rate = "—"
    if is_open:
        eta = duration(progress.eta_seconds) if progress.eta_seconds is not None else "—"
    else:
        eta = "finished" if progress.status == "done" else progress.status
    return ProgressFigures(
        status=progress.status,
        fraction=min(1.0, max(0.0, progress.fraction)),
        done=f"{progress.finished} / {progress.total}",
        rate=rate,
        eta=eta,
        failed=progress.failed,
        skipped=progress.counts.get("skipped", 0),
        cached=progress.counts.get("cached", 0),
        is_open=is_open,
    )
