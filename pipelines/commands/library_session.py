"""What the library commands share: the prepared database and finding a playlist by name."""

from __future__ import annotations

import sys

from sqlalchemy.orm import Session, sessionmaker


def open_library() -> sessionmaker[Session]:
    """Upgrade the schema (and load the sample library into a fresh one); the session factory."""
    from pipelines.store.db import get_engine, make_sessionmaker
    from pipelines.store.startup import prepare_database

    engine = get_engine()
    prepare_database(engine)
    return make_sessionmaker(engine)


def playlist_id_or_none(session: Session, name: str) -> int | None:
    """The playlist's id; None after printing the playlists there are."""
    from pipelines.store.library_view import list_playlists
    from pipelines.store.repository import find_playlist

    playlist = find_playlist(session, name)
    if playlist is not None:
        return playlist.id
    names = ", ".join(repr(p.name) for p in list_playlists(session)) or "none yet (use `python -m pipelines import`)"
    print(f"error: no playlist named {name!r}; playlists: {names}", file=sys.stderr)
    return None
