"""Analysis jobs as rows: create one for a playlist, find an unfinished one to resume,
cancel, and read progress figures (done/total/failed, rate, ETA) for the dashboard.
The runner that works them is ``pipelines.jobs.JobRunner``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from pipelines.store.db import lock_library
from pipelines.store.models import AnalysisJob, AnalysisJobItem, Playlist, PlaylistSong, utcnow

OPEN_STATUSES = ("queued", "running")


def create_job(
    session: Session, song_ids: list[int], *, title: str, profile: str, sensitivity: str, playlist_id: int | None = None
) -> AnalysisJob:
    """A queued job with one pending item per distinct song, in the given order."""
    job = AnalysisJob(title=title, profile=profile, sensitivity=sensitivity, playlist_id=playlist_id, status="queued")
    session.add(job)
    session.flush()
    session.add_all(
        AnalysisJobItem(job_id=job.id, song_id=song_id, position=position, status="pending")
        for position, song_id in enumerate(dict.fromkeys(song_ids), start=1)
    )
    session.flush()
    return job


def create_playlist_job(session: Session, playlist_id: int, *, profile: str, sensitivity: str) -> AnalysisJob:
    """A job over the playlist's songs. Songs whose current lyrics were already analysed by
    the runner's analyzer version finish at once from the results cache."""
    playlist = session.get(Playlist, playlist_id)
    if playlist is None:
        raise LookupError(f"no playlist with id {playlist_id}")
    song_ids = list(
        session.scalars(
            select(PlaylistSong.song_id).where(PlaylistSong.playlist_id == playlist_id).order_by(PlaylistSong.position)
        )
    )
    return create_job(
        session, song_ids, title=playlist.name, profile=profile, sensitivity=sensitivity, playlist_id=playlist_id
    )


def find_open_job(session: Session, playlist_id: int, profile: str) -> AnalysisJob | None:
    """The newest queued or interrupted job of this playlist and profile: resume it rather
    than start over.

    It takes the library lock for the rest of the caller's transaction, so a caller that
    creates the job when there is none (in the same transaction) cannot race another one
    doing the same: two runners started together share one job instead of making two
    (on SQLite every transaction already holds the write lock)."""
    lock_library(session)
    return session.scalar(
        select(AnalysisJob)
        .where(AnalysisJob.playlist_id == playlist_id, AnalysisJob.profile == profile,
               AnalysisJob.status.in_(OPEN_STATUSES))
        .order_by(AnalysisJob.id.desc())
        .limit(1)
    )


def next_job_to_run(session: Session, profile: str) -> int | None:
    """The oldest job of ``profile`` that is queued, or was left running by a runner whose
    lease has expired (a background worker picks its work with this)."""
    return session.scalar(
        select(AnalysisJob.id)
        .where(AnalysisJob.profile == profile, AnalysisJob.status.in_(OPEN_STATUSES),
               or_(AnalysisJob.lease_owner.is_(None), AnalysisJob.lease_expires_at < utcnow()))
        .order_by(AnalysisJob.id)
        .limit(1)
    )


def cancel_job(session: Session, job_id: int) -> bool:
    """Stop the job: pending songs are not analysed. A batch already being analysed is
    still stored (nothing done is lost); the runner stops before its next batch."""
    cancelled = session.execute(
        update(AnalysisJob)
        .where(AnalysisJob.id == job_id, AnalysisJob.status.in_(OPEN_STATUSES))
        .values(status="cancelled", finished_at=utcnow())
    ).rowcount
    if cancelled:
        session.execute(
            update(AnalysisJobItem)
            .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "pending")
            .values(status="cancelled", finished_at=utcnow())
        )
    return bool(cancelled)


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    title: str
    playlist_id: int | None
    profile: str
    sensitivity: str
    status: str
    total: int
    counts: dict[str, int]  # item status -> items (pending, running, done, cached, failed, skipped, cancelled)
    rate: float | None  # songs analysed per second by the present run (cache hits excluded)
    eta_seconds: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    lease_owner: str | None

    @property
    def done(self) -> int:
        """Songs with a result: analysed now or found in the cache."""
        return self.counts.get("done", 0) + self.counts.get("cached", 0)

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    @property
    def finished(self) -> int:
        return self.total - self.counts.get("pending", 0) - self.counts.get("running", 0)

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


def job_progress(session: Session, job_id: int) -> JobProgress:
    job = session.get(AnalysisJob, job_id)
    if job is None:
        raise LookupError(f"no analysis job {job_id}")
    counts = dict(
        session.execute(
            select(AnalysisJobItem.status, func.count())
            .where(AnalysisJobItem.job_id == job_id)
            .group_by(AnalysisJobItem.status)
        ).all()
    )
    rate = eta = None
    if job.run_started_at is not None:
        # Only songs the models analysed in this run: cache hits are instant and would
        # promise an ETA the remaining songs cannot keep.
        analysed = session.scalar(
            select(func.count()).where(
                AnalysisJobItem.job_id == job_id,
                AnalysisJobItem.status.in_(("done", "failed")),
                AnalysisJobItem.finished_at >= job.run_started_at,
            )
        )
        end = job.finished_at or utcnow()
        elapsed = (end - job.run_started_at).total_seconds()
        if analysed and elapsed > 0:
            rate = analysed / elapsed
            remaining = counts.get("pending", 0) + counts.get("running", 0)
            eta = remaining / rate if job.status in OPEN_STATUSES else 0.0
    return JobProgress(
        job_id=job.id, title=job.title, playlist_id=job.playlist_id, profile=job.profile, sensitivity=job.sensitivity,
        status=job.status, total=sum(counts.values()), counts=counts, rate=rate, eta_seconds=eta,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
        heartbeat_at=job.heartbeat_at, lease_owner=job.lease_owner,
    )


def list_jobs(session: Session, limit: int = 20, playlist_id: int | None = None) -> list[JobProgress]:
    """The newest jobs first, with their progress."""
    query = select(AnalysisJob.id).order_by(AnalysisJob.id.desc()).limit(limit)
    if playlist_id is not None:
        query = query.where(AnalysisJob.playlist_id == playlist_id)
    return [job_progress(session, job_id) for job_id in session.scalars(query).all()]
