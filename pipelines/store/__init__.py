"""The library database: SQLAlchemy models, engine/session factory, Alembic migrations and
repository functions (which take a session and never open one)."""
