"""Schema migrations (Alembic), callable from code: the app upgrades on start.

No alembic.ini: the configuration is built here, so ``upgrade(engine)`` works from the
CLI, the dashboard and tests alike, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from pipelines.store.db import get_engine, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def _engine(engine_or_url: Engine | str | URL | None) -> Engine:
    if engine_or_url is None:
        return get_engine()
    if isinstance(engine_or_url, Engine):
        return engine_or_url
    return make_engine(engine_or_url)


def upgrade(engine_or_url: Engine | str | URL | None = None, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (default: the newest)."""
    engine = _engine(engine_or_url)
    command.upgrade(_config(engine), revision)


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine_or_url: Engine | str | URL | None = None) -> str | None:
    """The revision the database is at; None for an empty database."""
    with _engine(engine_or_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def make_revision(message: str, engine_or_url: Engine | str | URL | None = None) -> None:
    """Write a new migration from the difference between the models and the database."""
    engine = _engine(engine_or_url)
    # Numbered ids ("0002") keep the versions folder in upgrade order when listed.
    number = len(list((MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))) + 1
    command.revision(_config(engine), message=message, autogenerate=True, rev_id=f"{number:04d}")
