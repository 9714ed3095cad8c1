"""Alembic environment: runs migrations on the engine handed over by ``pipelines.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from pipelines.store.db import LIBRARY_LOCK_KEY
from pipelines.store.models import Base, UtcDateTime


def render_item(type_: str, obj, autogen_context):
    # Migrations must not import the models (they change; old migrations must not), so the
    # UTC wrapper is written as the column type it stores.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two processes starting at once (dashboard and a CLI) must not both migrate;
            # the second waits here, then finds the schema already at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LIBRARY_LOCK_KEY})
        context.run_migrations()
