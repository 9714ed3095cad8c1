"""Library database: migrations to head match the models, engine settings, upgrade on start."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, inspect, select, text

from pipelines.store.db import make_engine, make_sessionmaker, normalise_url
from pipelines.store.migrate import current_revision, head_revision, upgrade
from pipelines.store.models import Base, Playlist, Song
from pipelines.store.startup import prepare_database


def test_empty_database_migrates_to_head_and_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        assert differences == [], f"models and migrations differ; write a migration: {differences}"
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        upgrade(engine)  # at head already: nothing to do, no error
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")  # the folder is created
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_plain_postgresql_urls_get_the_psycopg3_driver():
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.db").drivername == "sqlite"


def test_foreign_keys_cascade_on_both_backends(sample_sessions):
    with sample_sessions.begin() as session:
        song_id = session.scalar(select(Song.id).order_by(Song.id).limit(1))
        session.execute(delete(Song).where(Song.id == song_id))
    with sample_sessions.begin() as session:
        assert session.scalar(text("SELECT count(*) FROM lyrics WHERE song_id = :id"), {"id": song_id}) == 0
        assert session.scalar(text("SELECT count(*) FROM playlist_songs WHERE song_id = :id"), {"id": song_id}) == 0


def test_a_fresh_install_starts_with_the_sample_library_once(database_url):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        report = prepare_database(engine, load_sample=True)
        assert report.sample_loaded
        with sessions.begin() as session:
            assert session.scalar(select(func.count(Song.id))) == 36
            assert session.scalar(select(func.count(Playlist.id))) == 4
            session.execute(delete(Playlist))
            session.execute(delete(Song))
        # A user who removed the sample songs does not get them back on the next start.
        assert not prepare_database(engine, load_sample=True).sample_loaded
        with sessions.begin() as session:
            assert session.scalar(select(func.count(Song.id))) == 0
    finally:
        engine.dispose()


def test_sample_library_is_not_loaded_when_the_setting_is_off(database_url):
    engine = make_engine(database_url)
    try:
        assert not prepare_database(engine, load_sample=False).sample_loaded
        with make_sessionmaker(engine).begin() as session:
            assert session.scalar(select(func.count(Song.id))) == 0
    finally:
        engine.dispose()
