"""The dashboard's background job worker: one thread per server process that works queued
analysis jobs with the durable runner (``pipelines.jobs.JobRunner``).

Jobs are rows, so a run goes on when the tab that started it closes, and a job a crashed
process left behind is taken over (the runner's lease rules decide when). The worker waits
for the models to be warm before it claims anything; inference is serialised by the
analyzers' lock, so jobs and ad-hoc analyses from sessions never run models in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from dashboard.library_queries import open_job_ids
from pipelines.analyzers.loader import AnalyzerSet
from pipelines.jobs import JobRunner, RunOutcome
from pipelines.ray_jobs import job_runner_for

log = logging.getLogger("discern.dashboard.jobs")


class _Warmup:  # the part of resources.ModelWarmup the worker needs (no import cycle)
    done: threading.Event
    error: str | None


@dataclass(frozen=True)
class WorkerStatus:
    state: str  # "waiting for models", "idle", "working", "stopped", "models failed", "could not start"
    job_id: int | None
    jobs_finished: int
    last_error: str | None


class QueueWorker:
    """Polls for open jobs of the loaded profile and works them one at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        warmup: _Warmup,
        analyzers: Callable[[], AnalyzerSet],
        poll_seconds: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.warmup = warmup
        self.analyzers = analyzers
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="discern-job-worker", daemon=True)
        self._state = "waiting for models"
        self._job_id: int | None = None
        self._finished = 0
        self._last_error: str | None = None

    def start(self) -> QueueWorker:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for jobs now (a page just queued one) instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in flight (its results are kept); the lease is released."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def status(self) -> WorkerStatus:
        ended = not self._thread.is_alive() and self._state not in {"models failed", "could not start"}
        state = "stopped" if ended else self._state
        return WorkerStatus(state, self._job_id, self._finished, self._last_error)

    def _run(self) -> None:
        while not self.warmup.done.wait(0.5):
            if self._stop.is_set():
                return
        if self.warmup.error:
            self._state = "models failed"
            self._last_error = self.warmup.error
            return
        try:
            # The local runner, or a Ray one when DISCERN_RAY_ADDRESS names a cluster (same job rows).
            runner = job_runner_for(self.sessions, self.analyzers())
        except Exception as exc:
            log.exception("the job worker could not start")
            self._state, self._last_error = "could not start", f"{type(exc).__name__}: {exc}"
            return
        self._state = "idle"
        while not self._stop.is_set():
            worked = False
            try:
                worked = self._work_open_jobs(runner)
            except Exception as exc:  # the database went away, say; try again at the next poll
                log.exception("the job worker failed; retrying")
                self._last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._job_id = None
                self._state = "idle"
            if not worked:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _work_open_jobs(self, runner: JobRunner) -> bool:
        with self.sessions.begin() as session:
            job_ids = open_job_ids(session, runner.analyzers.profile)
        worked = False
        for job_id in job_ids:
            if self._stop.is_set():
                break
            self._state, self._job_id = "working", job_id
            started = time.perf_counter()
            outcome: RunOutcome = runner.run(job_id, should_stop=self._stop.is_set)
            if outcome.status != "busy":  # "busy": another live runner (the CLI, say) holds it
                worked = True
                self._finished += outcome.status in {"done", "cancelled"}
                log.info("job %s %s in %.1fs: %s", job_id, outcome.status, time.perf_counter() - started, outcome)
        return worked
