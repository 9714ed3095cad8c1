"""The lease that lets exactly one runner work an analysis job.

It is taken with one conditional UPDATE (free, expired, already ours, or held by a dead
process on this host), renewed by a heartbeat, and released when the runner stops. A
runner that lost its lease finds out at its next renewal and stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipelines.database_retry import describe
from pipelines.store.models import AnalysisJob, AnalysisJobItem, utcnow

log = logging.getLogger("discern.jobs")


def runner_id() -> str:
    """host:pid:random; the host and pid let a restarted runner see its predecessor is dead."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when ``owner`` ran on this host and its process is gone.

    A reused pid would look alive and simply wait for the lease to expire, which is safe.
    """
    try:
        host, pid, _ = (owner or "").split(":")
        if host != socket.gethostname() or int(pid) == os.getpid():
            return False
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError, OSError):
        return False
    return False


class JobLease:
    def __init__(self, sessions: sessionmaker[Session], owner: str, duration: timedelta) -> None:
        self.sessions = sessions
        self.owner = owner
        self.duration = duration

    def claim(self, job_id: int) -> bool:
        """Take the job's lease; False when another live runner holds it or the job is over."""
        with self.sessions.begin() as session:
            current = session.scalar(select(AnalysisJob.lease_owner).where(AnalysisJob.id == job_id))
            now = utcnow()
            free = [AnalysisJob.lease_owner.is_(None), AnalysisJob.lease_owner == self.owner,
                    AnalysisJob.lease_expires_at < now]
            if owner_is_dead(current):
                # Conditional on the very owner we saw: if someone else took it meanwhile, no match.
                free.append(AnalysisJob.lease_owner == current)
            taken = session.execute(
                update(AnalysisJob)
                .where(AnalysisJob.id == job_id, AnalysisJob.status.in_(("queued", "running")), or_(*free))
                .values(lease_owner=self.owner, lease_expires_at=now + self.duration, heartbeat_at=now,
                        status="running", run_started_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not taken:
                return False
            session.execute(
                update(AnalysisJob).where(AnalysisJob.id == job_id, AnalysisJob.started_at.is_(None)).values(started_at=now)
            )
            # Items a previous owner had claimed but never finished go back to the queue.
            session.execute(
                update(AnalysisJobItem)
                .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status == "running",
                       AnalysisJobItem.claimed_by != self.owner)
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
        log.info("runner %s took job %s", self.owner, job_id)
        return True

    def renew(self, session: Session, job_id: int, require_running: bool) -> bool:
        """Extend the lease in ``session``'s transaction; False when it is no longer ours
        (or, with ``require_running``, the job was cancelled)."""
        now = utcnow()
        conditions = [AnalysisJob.id == job_id, AnalysisJob.lease_owner == self.owner]
        if require_running:
            conditions.append(AnalysisJob.status == "running")
        return bool(
            session.execute(
                update(AnalysisJob).where(*conditions).values(lease_expires_at=now + self.duration, heartbeat_at=now)
            ).rowcount
        )

    def release(self, job_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(AnalysisJob).where(AnalysisJob.id == job_id, AnalysisJob.lease_owner == self.owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    @contextlib.contextmanager
    def kept_alive(self, job_id: int) -> Iterator[None]:
        """Renew the lease from a thread while the block runs (a long hf batch takes minutes)."""
        stop = threading.Event()
        interval = max(self.duration.total_seconds() / 3, 0.5)

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    with self.sessions.begin() as session:
                        self.renew(session, job_id, require_running=False)
                except Exception as exc:  # a missed heartbeat only shortens the lease; the batch goes on
                    log.warning("heartbeat of job %s failed (%s)", job_id, describe(exc))

        thread = threading.Thread(target=beat, daemon=True, name=f"lease-{job_id}")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
