"""Riding out a lost database: while the database cannot be reached (PostgreSQL restarting,
a network cut, SQLite locked by another writer for longer than its busy timeout), a job
runner pauses with a clear message and retries, then continues where it was.

Only steps that are safe to run again are retried: each is one transaction whose writes are
conditional on the runner's own claims, so a commit that went through just before the
connection broke is not written twice (see ``pipelines.jobs``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger("discern.jobs")
T = TypeVar("T")
FIRST_WAIT_SECONDS = 0.5
LONGEST_WAIT_SECONDS = 10.0  # so a job goes on within seconds of the database coming back
_SQLITE_TRANSIENT = ("database is locked", "unable to open database file", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """True for a lost or refused connection (worth waiting for); False for an error in the
    statement or the data (retrying would fail the same way)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):  # e.g. "no such table" is not transient
        return any(text in str(exc.orig).lower() for text in _SQLITE_TRANSIENT)
    return True


def describe(exc: BaseException) -> str:
    """The first line of the driver's message, without SQL or parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0][:200]}" if lines else type(original).__name__


class DatabaseRetry:
    """Runs a step, waiting (with backoff) while the database is unavailable, for at most
    ``seconds`` in a row; then the last error is raised."""

    def __init__(self, seconds: float, sleep: Callable[[float], None] = time.sleep, label: str = "") -> None:
        self.seconds = seconds
        self.sleep = sleep
        self.label = label  # e.g. "job 7": who is paused, for the message

    def __call__(self, what: str, step: Callable[[int], T]) -> T:
        """``step(attempt)``; ``attempt`` is 0 the first time, so a step can tidy up after a
        commit whose outcome it could not see."""
        attempt, since, wait = 0, None, FIRST_WAIT_SECONDS
        while True:
            try:
                result = step(attempt)
            except DBAPIError as exc:
                if not database_unavailable(exc):
                    raise
                now = time.monotonic()
                since = since if since is not None else now
                if now - since >= self.seconds:
                    log.error("database unavailable for %.0f s while %s (%s); giving up (DISCERN_DB_RETRY_SECONDS=%s)",
                              now - since, what, describe(exc), self.seconds)
                    raise
                log.warning("database unavailable while %s (%s): %s paused, retrying in %.1f s",
                            what, describe(exc), self.label or "the job", wait)
                self.sleep(wait)
                attempt, wait = attempt + 1, min(wait * 2, LONGEST_WAIT_SECONDS)
                continue
            if attempt:
                log.warning("database available again after %.0f s: %s continues", time.monotonic() - since,
                            self.label or "the job")
            return result
