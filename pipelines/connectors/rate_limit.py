"""Request pacing: a token bucket per online source, shared by every client of that source
in the process (the CLI, the dashboard's sessions and its background worker alike)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate_per_minute`` requests per minute with bursts of up to ``capacity``.

    ``acquire`` sleeps until a token is free; ``rate_per_minute <= 0`` means no limit.
    """

    def __init__(
        self,
        rate_per_minute: float,
        capacity: float = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, float(capacity))
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds slept."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            self.sleep(wait)
        return wait


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(provider: str, rate_per_minute: float) -> TokenBucket:
    """The process's bucket for ``provider``: every client of one provider shares it."""
    with _buckets_lock:
        bucket = _buckets.get(provider)
        if bucket is None or bucket.rate != rate_per_minute / 60.0:
            bucket = _buckets[provider] = TokenBucket(rate_per_minute)
        return bucket
