"""Engines and sessions for the library database: a SQLite file by default, PostgreSQL
when ``DATABASE_URL`` names one.

Sessions are opened only at the edge (a CLI command, a dashboard callback, the job
runner) with ``with sessions.begin() as session:``; repository functions take that session.

On SQLite every transaction takes the write lock when it begins (see ``on_begin``), so a
thread must not open a second session while its first is still open: the second waits for
the first, which waits for it, until the busy timeout ends it with "database is locked".
Finish one ``begin()`` block before starting the next.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from pipelines.settings import get_settings

# How long a SQLite connection waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# One fixed key for PostgreSQL advisory locks that serialise migrations and imports.
LIBRARY_LOCK_KEY = 0x44697363  # "Disc"


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://``/``postgres://`` URLs get the psycopg 3 driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # pysqlite's own transaction handling begins lazily and commits before DDL; turn it
        # off and emit BEGIN ourselves (below) so transactions mean what they say.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL lets the dashboard read while a job runner writes.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY (no waiting) if another connection wrote in between,
        # which is exactly what a job runner and an import running together would do.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL, **kwargs) -> Engine:
    """A configured engine for ``url`` (SQLite pragmas, psycopg 3 for PostgreSQL)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects returned from a finished ``begin()`` block stay readable.
    return sessionmaker(engine, expire_on_commit=False)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the DATABASE_URL setting), made once."""
    key = url or get_settings().database_url
    with _engines_lock:
        if key not in _engines:
            _engines[key] = make_engine(key)
        return _engines[key]


def dispose_engines() -> None:
    """Close every engine ``get_engine`` made (tests, and a process about to fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    return make_sessionmaker(get_engine(url))


def lock_library(session: Session) -> None:
    """Serialise this transaction against other imports and migrations until it ends.

    SQLite needs nothing: every transaction already holds the write lock (BEGIN IMMEDIATE).
    PostgreSQL takes a transaction-scoped advisory lock, so two importers of the same file
    cannot both decide a song is new.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LIBRARY_LOCK_KEY})
