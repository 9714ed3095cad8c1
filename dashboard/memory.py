"""Process and container memory: one snapshot, and a ring buffer filled by one sampler
thread per process (the admin page draws the last minutes from it).

Container memory comes from cgroup v2 (``memory.current`` / ``memory.max``) or cgroup v1
(``memory.usage_in_bytes`` / ``memory.limit_in_bytes``); where no limit is set the host's
totals stand in, and the snapshot says which one it shows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psutil

# cgroup v1 reports "no limit" as a huge number near 2**63.
_V1_UNLIMITED = 2**60


@dataclass(frozen=True)
class ContainerMemory:
    used_bytes: int
    limit_bytes: int | None  # None: no limit set
    source: str  # "cgroup v2", "cgroup v1" or "host"

    @property
    def share_used(self) -> float | None:
        return self.used_bytes / self.limit_bytes if self.limit_bytes else None


@dataclass(frozen=True)
class MemorySnapshot:
    at: float  # time.time()
    rss_bytes: int
    uss_bytes: int | None  # unique set size; None where the OS will not say
    container: ContainerMemory


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def container_memory(root: Path = Path("/sys/fs/cgroup")) -> ContainerMemory:
    """The memory of the cgroup this process runs in, or the host's when unlimited."""
    current = _read_int(root / "memory.current")
    if current is not None:
        limit = _read_int(root / "memory.max")
        if limit is not None:
            return ContainerMemory(current, limit, "cgroup v2")
    else:
        usage = _read_int(root / "memory" / "memory.usage_in_bytes")
        if usage is not None:
            limit = _read_int(root / "memory" / "memory.limit_in_bytes")
            if limit is not None and limit < _V1_UNLIMITED:
                return ContainerMemory(usage, limit, "cgroup v1")
    host = psutil.virtual_memory()
    return ContainerMemory(host.total - host.available, host.total, "host")


def snapshot(process: psutil.Process | None = None, cgroup_root: Path = Path("/sys/fs/cgroup")) -> MemorySnapshot:
    process = process or psutil.Process()
    try:
        full = process.memory_full_info()
        rss, uss = full.rss, getattr(full, "uss", None)
    except (psutil.AccessDenied, AttributeError):
        rss, uss = process.memory_info().rss, None
    return MemorySnapshot(time.time(), rss, uss, container_memory(cgroup_root))


class MemorySampler:
    """Samples memory every ``interval`` seconds into a bounded ring buffer."""

    def __init__(self, interval: float = 2.0, keep_seconds: float = 600.0) -> None:
        self.interval = interval
        self.samples: deque[MemorySnapshot] = deque(maxlen=max(1, int(keep_seconds / interval)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="discern-memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval * 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(snapshot())
            self._stop.wait(self.interval)

    def recent(self) -> list[MemorySnapshot]:
        return list(self.samples)
