"""What every entry point does first: upgrade the schema, and give a fresh install the
bundled sample library (DISCERN_LOAD_SAMPLE_LIBRARY)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from pipelines.settings import get_settings
from pipelines.store.db import get_engine, lock_library, make_sessionmaker
from pipelines.store.migrate import upgrade
from pipelines.store.models import LibraryState, Song

log = logging.getLogger("discern.store")

SAMPLE_LOADED_KEY = "sample_library_loaded"


@dataclass(frozen=True)
class StartupReport:
    sample_loaded: bool
    sample_summary: str = ""


def prepare_database(engine: Engine | None = None, load_sample: bool | None = None) -> StartupReport:
    """Upgrade the schema to head; import the sample library into an empty library once.

    "Once": a user who deletes the sample playlists does not get them back on restart.
    """
    from pipelines.importers.sample_library import import_sample_library

    engine = engine or get_engine()
    upgrade(engine)
    if load_sample is None:
        load_sample = get_settings().discern_load_sample_library
    if not load_sample:
        return StartupReport(False)
    with make_sessionmaker(engine).begin() as session:
        lock_library(session)  # two processes starting together must not both import it
        if session.get(LibraryState, SAMPLE_LOADED_KEY) is not None or session.scalar(select(func.count(Song.id))):
            return StartupReport(False)
        report = import_sample_library(session)
        session.add(LibraryState(key=SAMPLE_LOADED_KEY, value=report.source))
    log.info("loaded the sample library: %s", report.summary())
    return StartupReport(True, report.summary())
