"""The database cache of lyrics lookups: what each source answered for a song, kept for a
time that depends on the answer (DISCERN_LYRICS_CACHE_FOUND_HOURS, _NOT_FOUND_HOURS,
_ERROR_HOURS), so a playlist fetched again does not ask LRCLIB or Genius again, and a song
no source knows is not looked up on every run.

Like the repository, these functions take the caller's session and never commit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.connectors.lyrics_providers import LyricsLookup, normalise
from pipelines.settings import Settings, get_settings
from pipelines.store.models import CachedLyricsLookup, utcnow


def lookup_query(title: str, artist: str, album: str = "", duration_ms: int | None = None) -> str:
    """The readable, normalised query a cache entry is for."""
    seconds = str(round(duration_ms / 1000)) if duration_ms else ""
    return "|".join((normalise(title), normalise(artist), normalise(album), seconds))


def query_key(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def time_to_live(status: str, settings: Settings | None = None) -> timedelta:
    settings = settings or get_settings()
    hours = {
        "found": settings.discern_lyrics_cache_found_hours,
        "not_found": settings.discern_lyrics_cache_not_found_hours,
        "error": settings.discern_lyrics_cache_error_hours,
    }[status]
    return timedelta(hours=max(0, hours))


def cached_lookup(session: Session, provider: str, query: str, now: datetime | None = None) -> LyricsLookup | None:
    """The source's remembered answer for ``query``, or None when there is none or it expired."""
    row = session.scalar(
        select(CachedLyricsLookup).where(
            CachedLyricsLookup.provider == provider, CachedLyricsLookup.query_key == query_key(query)
        )
    )
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return LyricsLookup(
        status=row.status, source=provider, text=row.text or "", url=row.url, message=row.message,
        instrumental=row.instrumental,
    )


def remember_lookup(
    session: Session, provider: str, query: str, lookup: LyricsLookup,
    now: datetime | None = None, settings: Settings | None = None,
) -> None:
    """Store (or replace) the source's answer for ``query`` with the TTL of its status."""
    now = now or utcnow()
    ttl = time_to_live(lookup.status, settings)
    if ttl <= timedelta(0):
        return
    values = {
        "query": query, "status": lookup.status, "text": lookup.text if lookup.status == "found" else None,
        "url": lookup.url[:1000], "message": lookup.message, "instrumental": lookup.instrumental,
        "fetched_at": now, "expires_at": now + ttl,
    }
    key = query_key(query)
    condition = (CachedLyricsLookup.provider == provider, CachedLyricsLookup.query_key == key)
    row = session.scalar(select(CachedLyricsLookup).where(*condition))
    if row is None:
        try:
            # A savepoint: another process may store the same query at the same moment.
            with session.begin_nested():
                session.add(CachedLyricsLookup(provider=provider, query_key=key, **values))
            return
        except IntegrityError:
            row = session.scalar(select(CachedLyricsLookup).where(*condition))
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete expired entries; returns how many went."""
    result = session.execute(delete(CachedLyricsLookup).where(CachedLyricsLookup.expires_at <= (now or utcnow())))
    return result.rowcount or 0
