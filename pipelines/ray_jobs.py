"""Analysis jobs worked on a Ray cluster, by the same rules as the local runner.

``RayJobRunner`` is a ``pipelines.jobs.JobRunner`` whose songs are analysed by Ray actors
(``pipelines.ray_engine``) instead of in this process. Everything else is the local
runner's own code: the job's lease (one runner per job, taken over from a dead one), the
results cache (songs whose current lyrics this analyzer version already analysed finish
at once, by lyrics hash), and the write of each batch (``JobRunner._store``: an item is
finished only by the runner holding its claim, an analysis is stored once per song,
version and lyrics hash). So the dashboard's progress, cancel and resume work unchanged.

What differs is claiming: Ray Data needs its input up front, so the runner claims every
pending item of the job at once and sends the songs that need the models to Ray; results
are committed batch by batch as actors return them. A run killed half way leaves its
unfinished items claimed by a dead runner; the next runner takes the lease and puts them
back to pending (``JobLease.claim``), and everything committed before stays done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipelines.jobs import JobProgress, JobRunner, RunOutcome
from pipelines.ray_engine import (
    AnalyzerIdentity,
    RayBatch,
    RayOptions,
    RayRunError,
    analyze_on_ray,
    probe_identity,
    require_ray,
)
from pipelines.settings import get_settings
from pipelines.store.models import Analysis, AnalysisJob, AnalysisJobItem, Lyrics, Song, utcnow

log = logging.getLogger("discern.ray")

SETTLE_CHUNK = 500  # items finished per transaction when they need no model


@dataclass(frozen=True)
class _Claimed:
    """What the runner keeps of a claimed item while Ray analyses it (not the lyrics)."""

    song_id: int
    content_hash: str


class RayJobRunner(JobRunner):
    """Works jobs on Ray. ``analyzers`` only needs ``profile`` and ``version`` (an
    ``AnalyzerIdentity``, or the dashboard's loaded ``AnalyzerSet``): the models run in the actors."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        analyzers,
        options: RayOptions,
        *,
        lease_seconds: int | None = None,
        owner: str | None = None,
    ) -> None:
        super().__init__(sessions, analyzers, batch_size=options.songs_per_batch, lease_seconds=lease_seconds, owner=owner)
        self.options = options

    # ------------------------------------------------------------ claims

    def _claim_all(self, job_id: int, _attempt: int = 0) -> list[tuple[int, int]] | None:
        """Claim every pending item; None when the lease is gone or the job was cancelled.
        Returns every item this runner holds, so a retry after a commit that went through
        unseen returns the same claim."""
        with self.sessions.begin() as session:
            if not self.lease.renew(session, job_id, require_running=True):
                return None
            session.execute(
                update(AnalysisJobItem)
                .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "pending")
                .values(status="running", claimed_by=self.owner, claimed_at=utcnow(),
                        attempts=AnalysisJobItem.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            claimed = session.execute(select(AnalysisJobItem.id, AnalysisJobItem.song_id).where(*self._mine(job_id))).all()
        return sorted((row.id, row.song_id) for row in claimed)

    def _mine(self, job_id: int):
        return (AnalysisJobItem.job_id == job_id, AnalysisJobItem.claimed_by == self.owner,
                AnalysisJobItem.status == "running")

    def _unclaim(self, job_id: int, status: str = "pending", error: str | None = None) -> int:
        """Put this runner's unfinished items back to pending (stopped, failed run) or end
        them (``cancelled``)."""
        values: dict = {"status": status}
        if status == "pending":
            values.update(claimed_by=None, claimed_at=None)
        else:
            values.update(finished_at=utcnow(), error=error)
        with self.sessions.begin() as session:
            return session.execute(update(AnalysisJobItem).where(*self._mine(job_id)).values(**values)).rowcount

    # ------------------------------------------------------------ songs

    def _songs_to_analyse(
        self, job_id: int, claimed: list[tuple[int, int]], totals: dict[str, int]
    ) -> tuple[list[dict], dict[int, _Claimed]]:
        """Finish the claimed items that need no model (cached, no lyrics, deleted) as the
        local runner does, counting them in ``totals``; the Ray records and claim details of
        the others."""
        rows, cached = self._with_database(job_id, "reading the claimed songs", lambda _: self._read_claimed(job_id))
        by_item = {row.id: row for row in rows}
        songs = {row.song_id: row for row in rows if row.song_id is not None}
        records, pending = [], {}
        for item_id, song_id in claimed:
            row = by_item.get(item_id)
            if row is not None and row.song_id is not None and row.text is not None and song_id not in cached:
                records.append({"key": item_id, "title": row.title or "", "artist": row.artist or "", "lyrics": row.text})
                pending[item_id] = _Claimed(song_id, row.content_hash)
        settled = [(item_id, song_id) for item_id, song_id in claimed if item_id not in pending]
        for start in range(0, len(settled), SETTLE_CHUNK):
            for key, value in self._store(job_id, settled[start:start + SETTLE_CHUNK], songs, cached, {}).items():
                totals[key] += value
        return records, pending

    def _read_claimed(self, job_id: int) -> tuple[list, dict[int, int]]:
        """This runner's claimed items with their songs and lyrics, and the songs whose
        current lyrics this analyzer version already analysed (song id -> analysis id)."""
        with self.sessions.begin() as session:
            rows = session.execute(
                select(AnalysisJobItem.id, Song.id.label("song_id"), Song.title, Song.artist, Lyrics.text,
                       Lyrics.content_hash)
                .outerjoin(Song, Song.id == AnalysisJobItem.song_id)
                .outerjoin(Lyrics, Lyrics.song_id == Song.id)
                .where(*self._mine(job_id))
            ).all()
            cached = dict(
                session.execute(
                    select(Analysis.song_id, Analysis.id)
                    .join(Lyrics, and_(Lyrics.song_id == Analysis.song_id, Lyrics.content_hash == Analysis.lyrics_hash))
                    .join(AnalysisJobItem, AnalysisJobItem.song_id == Analysis.song_id)
                    .where(*self._mine(job_id), Analysis.analyzer_version == self.analyzers.version)
                ).all()
            )
        return rows, cached

    def _store_batch(self, job_id: int, batch: RayBatch, pending: dict[int, _Claimed]) -> dict[str, int]:
        mismatch = next(
            (o.analyzer.version for _, o in batch.outcomes if hasattr(o, "analyzer") and o.analyzer.version != self.analyzers.version),
            None,
        )
        if mismatch:
            raise RayRunError(
                f"the Ray workers produced analyzer version {mismatch}, but this job runs {self.analyzers.version}: "
                "the cluster's models or DISCERN_* settings differ from this machine's"
            )
        known = [(key, outcome) for key, outcome in batch.outcomes if key in pending]
        items = [(key, pending[key].song_id) for key, _ in known]
        songs = {pending[key].song_id: pending[key] for key, _ in known}
        outcomes = {key: (pending[key], outcome) for key, outcome in known}
        return self._store(job_id, items, songs, {}, outcomes)

    # ------------------------------------------------------------ the run

    def _state(self, job_id: int) -> tuple[str, str | None]:
        with self.sessions.begin() as session:
            row = session.execute(
                select(AnalysisJob.status, AnalysisJob.lease_owner).where(AnalysisJob.id == job_id)
            ).one()
        return row.status, row.lease_owner

    def run(
        self, job_id: int, on_batch: Callable[[JobProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunOutcome:
        """Work the job on Ray until it is done, cancelled, taken over or ``should_stop()``."""
        # Every database step goes through the runner's retry (a lost database pauses the
        # run for up to DISCERN_DB_RETRY_SECONDS); each is safe to run again whole.
        retry = self._with_database
        if not retry(job_id, "taking the job", lambda _: self.claim(job_id)):
            status, _ = retry(job_id, "reading the job", lambda _: self._state(job_id))
            return RunOutcome(job_id, "busy" if status == "running" else status)

        def read_sensitivity(_attempt: int) -> str:
            with self.sessions.begin() as session:
                return session.scalar(select(AnalysisJob.sensitivity).where(AnalysisJob.id == job_id))

        sensitivity = retry(job_id, "reading the job", read_sensitivity)
        totals = {"done": 0, "cached": self._settle_cached(job_id), "failed": 0, "skipped": 0}
        claimed = retry(job_id, "claiming the songs", lambda attempt: self._claim_all(job_id, attempt))
        if claimed is None:  # cancelled, or another runner took the lease over
            retry(job_id, "releasing the job", lambda _: self.lease.release(job_id))
            return RunOutcome(job_id, retry(job_id, "reading the job", lambda _: self._state(job_id))[0],
                              **_outcome_counts(totals))
        status, ended = "running", False
        try:
            with self.lease.kept_alive(job_id):
                records, pending = self._songs_to_analyse(job_id, claimed, totals)
                stream = analyze_on_ray(records, self.options, profile=self.analyzers.profile, sensitivity=sensitivity)
                del records
                try:
                    for batch in stream:
                        for key, value in self._store_batch(job_id, batch, pending).items():
                            totals[key] += value
                        if on_batch:  # read outside the callback: SQLite allows one writer at a time
                            on_batch(retry(job_id, "reading progress", lambda _: self._progress(job_id)))
                        status, owner = retry(job_id, "reading the job", lambda _: self._state(job_id))
                        if status != "running" or owner != self.owner:  # cancelled or taken over
                            break
                        if should_stop and should_stop():
                            break
                    else:
                        ended = True
                finally:
                    stream.close()  # stops the Ray execution and its actors when we left early
        except BaseException:
            # A failed or interrupted run leaves its songs for the next one; if even that
            # cannot reach the database, the next runner takes them back with the lease.
            try:
                self._unclaim(job_id)
                self.lease.release(job_id)
            except Exception:
                log.exception("job %s: could not give the songs back; the next runner takes them over", job_id)
            raise
        if status == "cancelled":
            retry(job_id, "ending the job's songs", lambda _: self._unclaim(job_id, "cancelled"))
        elif ended:
            lost = retry(job_id, "ending the job's songs",
                         lambda _: self._unclaim(job_id, "failed", "no result came back from the Ray workers"))
            if lost:
                log.warning("job %s: %d songs came back from Ray without a result", job_id, lost)
            return RunOutcome(job_id, self._finish(job_id), **_outcome_counts(totals))
        else:
            retry(job_id, "giving the songs back", lambda _: self._unclaim(job_id))
        retry(job_id, "releasing the job", lambda _: self.lease.release(job_id))
        return RunOutcome(job_id, retry(job_id, "reading the job", lambda _: self._state(job_id))[0],
                          **_outcome_counts(totals))


def _outcome_counts(totals: dict[str, int]) -> dict[str, int]:
    return {"analysed": totals["done"], "cached": totals["cached"], "failed": totals["failed"], "skipped": totals["skipped"]}


@cache
def _probed(profile: str | None, options: RayOptions) -> AnalyzerIdentity:
    return probe_identity(profile, options)


def run_job_on_ray(
    sessions: sessionmaker[Session],
    job_id: int,
    options: RayOptions,
    *,
    analyzers=None,
    on_batch: Callable[[JobProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Work one job on Ray. Without ``analyzers`` (something with ``profile`` and
    ``version``), the cluster is asked once per process which version its actors produce."""
    if analyzers is None:
        with sessions.begin() as session:
            profile = session.scalar(select(AnalysisJob.profile).where(AnalysisJob.id == job_id))
        analyzers = _probed(profile, options)
    return RayJobRunner(sessions, analyzers, options).run(job_id, on_batch=on_batch, should_stop=should_stop)


def job_runner_for(sessions: sessionmaker[Session], analyzers) -> JobRunner:
    """The dashboard's runner: the local ``JobRunner``, or a ``RayJobRunner`` on the cluster
    at DISCERN_RAY_ADDRESS when that setting is set. Both have the same ``run`` and work the
    same job rows, so progress, cancel and resume look the same."""
    address = get_settings().discern_ray_address
    if not address:
        return JobRunner(sessions, analyzers)
    require_ray()  # without the extra, say how to install it once instead of failing every job
    return RayJobRunner(sessions, analyzers, RayOptions(address=address))
