"""Durable analysis jobs: a job row with one item per song, worked by one runner at a time.

How a runner stays correct when processes die or two of them meet:

* The job's lease (``lease_owner``/``lease_expires_at``) is taken with one conditional
  UPDATE, so only one runner works a job. A lease is taken over once it expires, or at
  once when its owner is a dead process on this host (the common crash-and-restart case).
* Items are claimed a batch at a time with a conditional UPDATE (and FOR UPDATE SKIP
  LOCKED on PostgreSQL). A batch's results, its items' statuses and the lease renewal are
  committed in one transaction, and each item is written only if this runner still holds
  its claim: a runner whose lease was taken over cannot store anything twice. The unique
  (song, analyzer version, lyrics hash) constraint on analyses backs this up.
* A crash loses at most the batch in flight; its items go back to pending when the next
  runner takes the lease, and everything committed before stays done.
* A lost database (PostgreSQL restarting, a network cut) pauses the runner with a message
  (``pipelines.database_retry``) for up to DISCERN_DB_RETRY_SECONDS; each step is retried
  whole. A claim whose commit went through unseen is taken back on the retry; a batch
  store whose commit went through finds its items finished and writes nothing again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.analyzers.loader import AnalyzerSet
from pipelines.database_retry import DatabaseRetry
from pipelines.engine import AnalysisFailure, SongInput, analyze_batch
from pipelines.job_lease import JobLease, runner_id
from pipelines.job_queue import (
    JobProgress,
    cancel_job,
    create_job,
    create_playlist_job,
    find_open_job,
    job_progress,
    list_jobs,
    next_job_to_run,
)
from pipelines.settings import get_settings
from pipelines.store.models import Analysis, AnalysisJob, AnalysisJobItem, Lyrics, Song, utcnow
from pipelines.store.repository import cached_analysis, save_analysis

log = logging.getLogger("discern.jobs")
T = TypeVar("T")

# The queue functions are re-exported: ``pipelines.jobs`` is the one import for callers.
__all__ = [
    "JobProgress",
    "JobRunner",
    "RunOutcome",
    "cancel_job",
    "create_job",
    "create_playlist_job",
    "find_open_job",
    "job_progress",
    "list_jobs",
    "next_job_to_run",
    "runner_id",
]


@dataclass(frozen=True)
class RunOutcome:
    job_id: int
    status: str  # the job's status when the runner stopped, or "busy" (another runner holds it)
    analysed: int = 0
    cached: int = 0
    failed: int = 0
    skipped: int = 0


class JobRunner:
    """Works jobs with one loaded ``AnalyzerSet``; sessions come from ``sessions``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        analyzers: AnalyzerSet,
        *,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
        owner: str | None = None,
    ) -> None:
        settings = get_settings()
        self.sessions = sessions
        self.analyzers = analyzers
        self.batch_size = batch_size or settings.discern_job_batch_size
        self.owner = owner or runner_id()
        duration = timedelta(seconds=lease_seconds or settings.discern_job_lease_seconds)
        self.lease = JobLease(sessions, self.owner, duration)
        self.database_retry = DatabaseRetry(settings.discern_db_retry_seconds)

    def _with_database(self, job_id: int, what: str, step: Callable[[int], T]) -> T:
        """``step(attempt)``, paused and retried while the database is unavailable."""
        self.database_retry.label = f"job {job_id}"
        return self.database_retry(what, step)

    def claim(self, job_id: int) -> bool:
        """Take the job's lease; False when another live runner holds it or the job is over."""
        with self.sessions.begin() as session:
            profile = session.scalar(select(AnalysisJob.profile).where(AnalysisJob.id == job_id))
        if profile is None:
            raise LookupError(f"no analysis job {job_id}")
        if profile != self.analyzers.profile:
            raise ValueError(f"job {job_id} is for profile {profile!r}; this runner has {self.analyzers.profile!r} loaded")
        return self.lease.claim(job_id)

    def _status(self, job_id: int) -> str:
        with self.sessions.begin() as session:
            return session.scalar(select(AnalysisJob.status).where(AnalysisJob.id == job_id))

    # ------------------------------------------------------------ batches

    def _claim_batch(self, job_id: int) -> list[tuple[int, int]] | None:
        """(item id, song id) of the next pending items, claimed; None when the lease is gone
        or the job was cancelled."""
        return self._with_database(job_id, "claiming the next songs", lambda attempt: self._claim_batch_once(job_id, attempt))

    def _claim_batch_once(self, job_id: int, attempt: int = 0) -> list[tuple[int, int]] | None:
        with self.sessions.begin() as session:
            if not self.lease.renew(session, job_id, require_running=True):
                return None
            if attempt:
                # The previous try's commit may have gone through before the connection broke:
                # its items would stay "running" under this runner forever. No batch of ours is
                # in flight while claiming, so every item still running under our name is such.
                session.execute(
                    update(AnalysisJobItem)
                    .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "running",
                           AnalysisJobItem.claimed_by == self.owner)
                    .values(status="pending", claimed_by=None, claimed_at=None)
                )
            # A materialised CTE: PostgreSQL may run a plain IN (subquery) more than once, and
            # with SKIP LOCKED each run can pick other rows, claiming more than a batch.
            pending = (
                select(AnalysisJobItem.id)
                .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "pending")
                .order_by(AnalysisJobItem.position)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
                .cte("picked")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            claimed = session.execute(
                update(AnalysisJobItem)
                .where(AnalysisJobItem.id.in_(select(pending.c.id)), AnalysisJobItem.status == "pending")
                .values(status="running", claimed_by=self.owner, claimed_at=utcnow(),
                        attempts=AnalysisJobItem.attempts + 1)
                .returning(AnalysisJobItem.id, AnalysisJobItem.song_id)
            ).all()
            return sorted((row.id, row.song_id) for row in claimed)

    def _work(self, job_id: int, sensitivity: str, batch: list[tuple[int, int]]) -> dict[str, int]:
        songs, cached = self._with_database(job_id, "reading the songs to analyse", lambda _: self._read_batch(batch))
        to_run = [(item, songs[s]) for item, s in batch if s in songs and songs[s].text is not None and s not in cached]
        outcomes = {}
        if to_run:
            inputs = [SongInput(str(item), row.text, row.title, row.artist) for item, row in to_run]
            with self.lease.kept_alive(job_id):
                try:
                    results = analyze_batch(inputs, self.analyzers, sensitivity)
                except Exception as exc:  # the whole batch broke (not one song): record it on each song
                    results = [AnalysisFailure(i.id, f"analysis failed: {type(exc).__name__}: {exc}") for i in inputs]
            outcomes = {item: (row, result) for (item, row), result in zip(to_run, results, strict=True)}
        return self._store(job_id, batch, songs, cached, outcomes)

    def _read_batch(self, batch: list[tuple[int, int]]) -> tuple[dict, dict]:
        song_ids = [song_id for _, song_id in batch]
        with self.sessions.begin() as session:
            songs = {
                row.id: row
                for row in session.execute(
                    select(Song.id, Song.title, Song.artist, Lyrics.text, Lyrics.content_hash)
                    .outerjoin(Lyrics, Lyrics.song_id == Song.id)
                    .where(Song.id.in_(song_ids))
                )
            }
            cached = dict(
                session.execute(
                    select(Analysis.song_id, Analysis.id)
                    .join(Lyrics, and_(Lyrics.song_id == Analysis.song_id, Lyrics.content_hash == Analysis.lyrics_hash))
                    .where(Analysis.song_id.in_(song_ids), Analysis.analyzer_version == self.analyzers.version)
                ).all()
            )
        return songs, cached

    def _store(self, job_id, batch, songs, cached, outcomes) -> dict[str, int]:
        """Finish the batch's items (results, statuses, lease) in one transaction. Run again
        after a commit that went through unseen, it finds the items finished and writes nothing."""
        return self._with_database(job_id, "storing a batch's results",
                                   lambda _: self._store_once(job_id, batch, songs, cached, outcomes))

    def _store_once(self, job_id, batch, songs, cached, outcomes) -> dict[str, int]:
        counts = {"done": 0, "cached": 0, "failed": 0, "skipped": 0}
        with self.sessions.begin() as session:
            self.lease.renew(session, job_id, require_running=False)
            for item_id, song_id in batch:
                values: dict = {"finished_at": utcnow()}
                if item_id in outcomes:
                    row, result = outcomes[item_id]
                    if isinstance(result, AnalysisFailure):
                        values.update(status="failed", error=result.error)
                    else:
                        values.update(status="done", analysis_id=None)
                elif song_id in cached:
                    values.update(status="cached", analysis_id=cached[song_id])
                elif song_id not in songs:
                    values.update(status="failed", error="the song was deleted from the library")
                else:
                    values.update(status="skipped", error="no lyrics stored for this song")
                # Only the claim's holder may finish the item (see the module docstring).
                owned = session.execute(
                    update(AnalysisJobItem)
                    .where(AnalysisJobItem.id == item_id, AnalysisJobItem.claimed_by == self.owner,
                           AnalysisJobItem.status == "running")
                    .values(**values)
                ).rowcount
                if not owned:
                    continue
                if values["status"] == "done":
                    analysis_id, status = self._save(session, song_id, row.content_hash, result, job_id)
                    session.execute(
                        update(AnalysisJobItem).where(AnalysisJobItem.id == item_id)
                        .values(analysis_id=analysis_id, status=status)
                    )
                    values["status"] = status
                counts[values["status"]] += 1
        return counts

    def _settle_cached(self, job_id: int) -> int:
        """Finish, in one statement, every pending item whose song's current lyrics were
        already analysed by this analyzer version: re-analysing a library costs no batches."""
        return self._with_database(job_id, "settling cached songs", lambda _: self._settle_cached_once(job_id))

    def _settle_cached_once(self, job_id: int) -> int:
        hit = (
            select(Analysis.id)
            .join(Lyrics, and_(Lyrics.song_id == Analysis.song_id, Lyrics.content_hash == Analysis.lyrics_hash))
            .where(Analysis.song_id == AnalysisJobItem.song_id, Analysis.analyzer_version == self.analyzers.version)
            .limit(1)
            .scalar_subquery()
        )
        with self.sessions.begin() as session:
            if not self.lease.renew(session, job_id, require_running=True):
                return 0
            return session.execute(
                update(AnalysisJobItem)
                .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "pending", hit.is_not(None))
                .values(status="cached", analysis_id=hit, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount

    def _save(self, session: Session, song_id: int, lyrics_hash: str, result, job_id: int) -> tuple[int, str]:
        existing = cached_analysis(session, song_id, result.analyzer.version, lyrics_hash)
        if existing is not None:  # another job stored the same analysis while this batch ran
            return existing.id, "cached"
        try:
            with session.begin_nested():
                return save_analysis(session, song_id, lyrics_hash, result, job_id).id, "done"
        except IntegrityError:
            return cached_analysis(session, song_id, result.analyzer.version, lyrics_hash).id, "cached"

    def _finish(self, job_id: int) -> str:
        return self._with_database(job_id, "finishing the job", lambda _: self._finish_once(job_id))

    def _finish_once(self, job_id: int) -> str:
        with self.sessions.begin() as session:
            session.execute(
                update(AnalysisJob)
                .where(AnalysisJob.id == job_id, AnalysisJob.lease_owner == self.owner, AnalysisJob.status == "running")
                .values(status="done", finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
            )
            return session.scalar(select(AnalysisJob.status).where(AnalysisJob.id == job_id))

    # ------------------------------------------------------------ the loop

    def run(
        self, job_id: int, on_batch: Callable[[JobProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunOutcome:
        """Work the job until it is done, cancelled, taken over or ``should_stop()``."""
        retry = self._with_database
        if not retry(job_id, "taking the job", lambda _: self.claim(job_id)):
            status = retry(job_id, "reading the job", lambda _: self._status(job_id))
            return RunOutcome(job_id, "busy" if status == "running" else status)

        def read_sensitivity(_attempt: int) -> str:
            with self.sessions.begin() as session:
                return session.scalar(select(AnalysisJob.sensitivity).where(AnalysisJob.id == job_id))

        sensitivity = retry(job_id, "reading the job", read_sensitivity)
        totals = {"done": 0, "cached": self._settle_cached(job_id), "failed": 0, "skipped": 0}
        status = "running"
        while True:
            if should_stop and should_stop():
                retry(job_id, "releasing the job", lambda _: self.lease.release(job_id))
                break
            batch = self._claim_batch(job_id)
            if batch is None:  # cancelled, or another runner took the lease over
                status = retry(job_id, "reading the job", lambda _: self._status(job_id))
                retry(job_id, "releasing the job", lambda _: self.lease.release(job_id))
                break
            if not batch:
                status = self._finish(job_id)
                break
            for key, value in self._work(job_id, sensitivity, batch).items():
                totals[key] += value
            if on_batch:
                on_batch(retry(job_id, "reading progress", lambda _: self._progress(job_id)))  # outside the transaction
        return RunOutcome(job_id, status, totals["done"], totals["cached"], totals["failed"], totals["skipped"])

    def _progress(self, job_id: int) -> JobProgress:
        with self.sessions.begin() as session:
            return job_progress(session, job_id)

    def run_queued(self, should_stop: Callable[[], bool] | None = None) -> list[RunOutcome]:
        """Work queued (and abandoned) jobs of this runner's profile, oldest first, until none
        is left or ``should_stop()``."""
        outcomes: list[RunOutcome] = []
        while not (should_stop and should_stop()):
            with self.sessions.begin() as session:
                job_id = next_job_to_run(session, self.analyzers.profile)
            if job_id is None:
                break
            outcome = self.run(job_id, should_stop=should_stop)
            outcomes.append(outcome)
            if outcome.status == "busy":  # another runner got there first; let it
                break
        return outcomes

    def run_in_thread(self, job_id: int, **kwargs) -> threading.Thread:
        """Start ``run`` in a daemon thread (the dashboard's background runner)."""
        thread = threading.Thread(target=self.run, args=(job_id,), kwargs=kwargs, daemon=True, name=f"job-{job_id}")
        thread.start()
        return thread
