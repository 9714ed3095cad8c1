"""The dashboard's process-wide resources: the only module with ``st.cache_resource``.

One copy of each per server process, shared by every session: the analyzers (the four
models), the memory sampler, and (see the storage section) the database and the job
runner. ``warm_up`` is called by ``app.py`` when the server starts, so models load before
the first visitor; until they are ready, pages say so instead of freezing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from dashboard.memory import MemorySampler
from pipelines.analyzers.loader import AnalyzerSet, load_analyzers
from pipelines.settings import get_settings

log = logging.getLogger("discern.dashboard")


@dataclass
class ModelWarmup:
    """Loads the analyzers on a background thread and remembers how it went."""

    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            load_analyzers(get_settings().discern_profile)
        except Exception as exc:  # shown on every page instead of a stack trace
            log.exception("loading the models failed")
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished_at = time.time()
            self.done.set()

    @property
    def status(self) -> str:
        if not self.done.is_set():
            return "loading"
        return "failed" if self.error else "ready"


_warmup_lock = threading.Lock()
_warmup: ModelWarmup | None = None


def warm_up() -> ModelWarmup:
    """Start loading the models once per process (idempotent); returns the warm-up state."""
    global _warmup
    with _warmup_lock:
        if _warmup is None:
            _warmup = ModelWarmup()
            threading.Thread(target=_warmup.run, name="discern-model-warmup", daemon=True).start()
        return _warmup


@st.cache_resource(show_spinner=False)
def analyzers() -> AnalyzerSet:
    """The analyzers of the configured profile: loaded once per process, shared by all sessions."""
    return load_analyzers(get_settings().discern_profile)


def analyzers_if_ready() -> AnalyzerSet | None:
    """The analyzers when warm-up has finished, else None (pages then show a notice)."""
    state = warm_up()
    if state.status != "ready":
        return None
    return analyzers()


@st.cache_resource(show_spinner=False)
def memory_sampler() -> MemorySampler:
    """One sampler thread per process feeding the admin page's memory chart."""
    return MemorySampler().start()


def active_session_count() -> int | None:
    """Sessions connected to this server process, or None outside a running server."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None
        return runtime.get_instance()._session_mgr.num_active_sessions()  # no public API for this
    except Exception:
        return None
