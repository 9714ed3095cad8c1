"""The dashboard's process-wide resources: the only module with ``st.cache_resource``.

One copy of each per server process, shared by every session: the analyzers (the four
models), the library database (engine and session factory), the background job worker
and the memory sampler. ``warm_up`` and ``start_background_work`` are called by
``app.py`` when the server starts, so models load and queued jobs resume before the first
visitor; until the models are ready, pages say so instead of freezing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dashboard.auth import SignInThrottle
from dashboard.job_worker import QueueWorker
from dashboard.memory import MemorySampler
from pipelines.analyzers import loader
from pipelines.analyzers.loader import AnalyzerSet
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
            # Through the module attribute, so tests can put a fake at the model boundary.
            loader.load_analyzers(get_settings().discern_profile)
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
    return loader.load_analyzers(get_settings().discern_profile)


def analyzers_if_ready() -> AnalyzerSet | None:
    """The analyzers when warm-up has finished, else None (pages then show a notice)."""
    state = warm_up()
    if state.status != "ready":
        return None
    return analyzers()


@dataclass(frozen=True)
class LibraryDatabase:
    engine: Engine
    sessions: sessionmaker[Session]
    sample_loaded: bool
    sample_summary: str


def _dispose_database(database: LibraryDatabase) -> None:
    database.engine.dispose()


@st.cache_resource(show_spinner="Opening the library…", on_release=_dispose_database)
def database() -> LibraryDatabase:
    """The library database: schema upgraded on first use, the sample library imported into
    an empty one (DISCERN_LOAD_SAMPLE_LIBRARY). A failure is not cached: the next call retries."""
    from pipelines.store.db import make_engine, make_sessionmaker
    from pipelines.store.startup import prepare_database

    engine = make_engine(get_settings().database_url)
    try:
        report = prepare_database(engine)
    except Exception:
        engine.dispose()
        raise
    if report.sample_loaded:
        log.info("sample library loaded: %s", report.sample_summary)
    return LibraryDatabase(engine, make_sessionmaker(engine), report.sample_loaded, report.sample_summary)


def _stop_worker(worker: QueueWorker) -> None:
    worker.stop()


@st.cache_resource(show_spinner=False, on_release=_stop_worker)
def job_runner() -> QueueWorker:
    """One background worker thread per process: works queued analysis jobs with the durable
    runner once the models are warm, so a run goes on when its tab closes."""
    return QueueWorker(database().sessions, warm_up(), analyzers).start()


def start_background_work() -> None:
    """Start the memory sampler, open the library and start the job worker without waiting for a
    visitor (server start)."""

    def start() -> None:
        memory_sampler()  # the admin chart then covers the minutes before anyone opened it
        try:
            job_runner()
        except Exception:  # the pages show the database error to whoever visits
            log.exception("could not start the job worker")

    threading.Thread(target=start, name="discern-startup", daemon=True).start()


def _stop_sampler(sampler: MemorySampler) -> None:
    sampler.stop()


@st.cache_resource(show_spinner=False, on_release=_stop_sampler)
def memory_sampler() -> MemorySampler:
    """One sampler thread per process feeding the admin page's memory chart."""
    return MemorySampler().start()



@st.cache_resource(show_spinner=False)
def sign_in_throttle() -> SignInThrottle:
    """Wrong admin passwords counted per client across every session of this process."""
    return SignInThrottle()

def active_session_count() -> int | None:
    """Sessions connected to this server process, or None outside a running server."""
    try:
        from streamlit import runtime

        if not runtime.exists():
            return None
        return runtime.get_instance()._session_mgr.num_active_sessions()  # no public API for this
    except Exception:
        return None
