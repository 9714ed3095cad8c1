"""Shared test fixtures. Blocks are grouped by area; keep each area's fixtures together."""

from __future__ import annotations

import os

import pytest

# Weights come from installed packages; a hub lookup would fail on this machine anyway.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# --- analysis engine -------------------------------------------------------------------


@pytest.fixture(scope="session")
def analyzers():
    """The real compact profile, loaded once for the whole test session."""
    from pipelines.analyzers.loader import load_analyzers

    return load_analyzers("compact")


@pytest.fixture(scope="session")
def taxonomy():
    from pipelines.taxonomy import load_taxonomy

    return load_taxonomy()


# --- library store: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) ---
# Tests that take `database_url`, `library_engine` or `sessions` run once per backend.
# PostgreSQL isolation: every test gets its own schema (search_path in the URL, so a
# subprocess given the URL lands in it too), dropped afterwards. When TEST_DATABASE_URL is
# set but the server does not answer, the tests fail: they never skip silently.

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
        ),
    ]
)
def database_url(request, tmp_path):
    """URL of an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'library.db'}"
        return
    import uuid

    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from pipelines.store.db import make_engine, normalise_url

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalise_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def library_engine(database_url):
    """An engine on a database migrated to head (no songs yet)."""
    from pipelines.store.db import make_engine
    from pipelines.store.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(library_engine):
    """The session factory of the migrated test database."""
    from pipelines.store.db import make_sessionmaker

    return make_sessionmaker(library_engine)


@pytest.fixture
def sample_sessions(sessions):
    """The session factory of a test database holding the bundled sample library."""
    from pipelines.importers import import_sample_library

    with sessions.begin() as session:
        assert import_sample_library(session).ok
    return sessions


# --- end of library store fixtures ---------------------------------------------------------
