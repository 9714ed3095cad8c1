"""Fetch lyrics for the library's songs that have none: ask the configured sources in
order, remember every answer in the cache, store the first lyrics found.

Network calls happen outside database transactions: each song reads the cache in one
short transaction and writes its answers and lyrics in another, so a long fetch never
holds the library's write lock (SQLite) while it waits on the network. The functions
therefore take a ``sessionmaker`` rather than a session.

A source that cannot be used at all (no network, refused token, long rate limit) is
dropped for the rest of the run with its message; when none is left the run stops at
once, with that message, instead of trying every song.

Every answer passes ``storable_lookup`` before it is cached or stored, so lyrics with NUL
characters or an unpaired surrogate are an error for that song, named in the report,
never a database error that ends the run. Should a song's answers still fail to be
stored (a value the database refuses), that song is reported and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from pipelines.connectors.http import ConnectorError, storable_text
from pipelines.connectors.lyrics_cache import cached_lookup, lookup_query, remember_lookup
from pipelines.connectors.lyrics_providers import (
    SOURCE_LIMIT,
    LyricsLookup,
    LyricsProvider,
    build_providers,
    storable_lookup,
)
from pipelines.settings import Settings, get_settings
from pipelines.store.models import Lyrics, Playlist, PlaylistSong, Song
from pipelines.store.repository import set_lyrics

log = logging.getLogger("discern.connectors")

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass(frozen=True)
class SongQuery:
    song_id: int
    title: str
    artist: str
    album: str
    duration_ms: int | None

    @property
    def label(self) -> str:
        return f"{self.title!r} by {self.artist or 'unknown artist'}"


@dataclass
class LyricsFetchReport:
    scope: str  # "playlist 'Youth Night'" or "the library"
    songs: int = 0  # songs without lyrics when the run started
    found: int = 0
    not_found: int = 0
    errors: int = 0
    from_cache: int = 0  # songs answered without asking a source
    not_tried: int = 0  # songs left when every source had become unavailable
    sources: list[str] = field(default_factory=list)
    found_by: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # source -> why it stopped
    problems: list[str] = field(default_factory=list)  # "'Title' by Artist: lrclib: message"

    @property
    def stopped(self) -> bool:
        return self.not_tried > 0

    def summary(self) -> str:
        if not self.songs:
            return f"{self.scope}: every song already has lyrics"
        by = ", ".join(f"{n} from {s}" for s, n in sorted(self.found_by.items())) or "none"
        text = (
            f"{self.scope}: {self.songs} songs without lyrics; {self.found} found ({by}), {self.not_found} not found,"
            f" {self.errors} errors, {self.from_cache} answered from the cache"
        )
        if self.not_tried:
            text += f"; {self.not_tried} not tried because no lyrics source could be reached"
        return text


def songs_missing_lyrics(session: Session, playlist_id: int | None = None) -> list[SongQuery]:
    """Songs without lyrics: the playlist's in its order, or the whole library's."""
    query = select(Song).outerjoin(Lyrics, Lyrics.song_id == Song.id).where(Lyrics.id.is_(None))
    if playlist_id is not None:
        query = query.join(PlaylistSong, PlaylistSong.song_id == Song.id).where(
            PlaylistSong.playlist_id == playlist_id
        ).order_by(PlaylistSong.position)
    else:
        query = query.order_by(Song.id)
    songs = dict.fromkeys(session.scalars(query))  # a song twice in a playlist is fetched once
    return [SongQuery(s.id, s.title, s.artist, s.album, s.duration_ms) for s in songs]


def _ask_sources(
    sessions: sessionmaker[Session], providers: list[LyricsProvider], song: SongQuery,
    disabled: dict[str, str], settings: Settings,
) -> tuple[LyricsLookup | None, list[LyricsLookup], bool]:
    """(the lookup that found lyrics or None, every answer, whether all came from the cache)."""
    query = lookup_query(song.title, song.artist, song.album, song.duration_ms)
    usable = [p for p in providers if p.name not in disabled]
    with sessions.begin() as session:
        remembered = {p.name: cached_lookup(session, p.name, query) for p in usable if p.cacheable}
    answers: list[LyricsLookup] = []
    fresh: list[tuple[LyricsProvider, LyricsLookup]] = []
    found = None
    for provider in usable:
        lookup = remembered.get(provider.name)
        if lookup is None:
            try:
                lookup = storable_lookup(provider.find(song.title, song.artist, song.album, song.duration_ms))
            except ConnectorError as exc:
                disabled[provider.name] = storable_text(str(exc))
                log.info("lyrics source %s stopped: %s", provider.name, disabled[provider.name])
                continue
            fresh.append((provider, lookup))
        answers.append(lookup)
        if lookup.found:
            found = lookup
            break
    try:
        with sessions.begin() as session:
            for provider, lookup in fresh:
                if provider.cacheable:
                    remember_lookup(session, provider.name, query, lookup, settings=settings)
            if found is not None:
                row = session.get(Song, song.song_id)
                if row is not None and row.lyrics is None:  # nobody added lyrics meanwhile
                    where = f"{found.source}: {found.url}" if found.url and found.source in {"lrclib", "genius"} else found.source
                    set_lyrics(session, row, found.text, where[:SOURCE_LIMIT])
    except (UnicodeError, DataError) as exc:
        # A value this database refuses (storable_lookup should have caught it): this song's
        # answers are not kept, the run goes on. Lost connections and locks still raise.
        detail = str(getattr(exc, "orig", None) or exc).strip()
        reason = storable_text(detail.splitlines()[0] if detail else type(exc).__name__, 300)
        log.warning("lyrics for %s could not be stored: %s", song.label, reason)
        refused = LyricsLookup("error", "database", message=f"the answer could not be stored ({reason}); not kept")
        return None, [*answers, refused], False
    return found, answers, bool(answers) and not fresh


def fetch_missing_lyrics(
    sessions: sessionmaker[Session],
    playlist_id: int | None = None,
    progress: Progress | None = None,
    *,
    settings: Settings | None = None,
    providers: list[LyricsProvider] | None = None,
    transport: httpx.BaseTransport | None = None,
    limit: int | None = None,
) -> LyricsFetchReport:
    """Find lyrics for the songs without any (of one playlist, or the whole library)."""
    settings = settings or get_settings()
    with sessions.begin() as session:
        if playlist_id is None:
            scope = "the library"
        else:
            playlist = session.get(Playlist, playlist_id)
            if playlist is None:
                raise LookupError(f"no playlist with id {playlist_id}")
            scope = f"playlist {playlist.name!r}"
        songs = songs_missing_lyrics(session, playlist_id)[: limit or None]
    report = LyricsFetchReport(scope=scope, songs=len(songs))
    if not songs:
        return report
    own = providers is None
    providers = build_providers(settings, transport=transport) if providers is None else providers
    report.sources = [p.name for p in providers]
    if not providers:
        report.not_tried = len(songs)
        report.unavailable["sources"] = (
            "no lyrics source is configured: list some in DISCERN_LYRICS_PROVIDERS (lrclib needs nothing else)"
        )
        return report
    disabled: dict[str, str] = {}
    try:
        for done, song in enumerate(songs, start=1):
            if len(disabled) == len(providers):
                report.not_tried = len(songs) - done + 1
                break
            found, answers, cached = _ask_sources(sessions, providers, song, disabled, settings)
            report.from_cache += cached
            if found is not None:
                report.found += 1
                report.found_by[found.source.split(":")[0]] = report.found_by.get(found.source.split(":")[0], 0) + 1
                outcome = f"found ({found.source})"
            elif any(a.status == "error" for a in answers):
                report.errors += 1
                message = "; ".join(f"{a.source}: {a.message}" for a in answers if a.status == "error")
                report.problems.append(f"{song.label}: {message}")
                outcome = "error"
            elif answers:
                report.not_found += 1
                outcome = "not found"
            else:  # every source stopped while asking about this song
                report.not_tried = len(songs) - done + 1
                break
            if progress:
                progress(done, len(songs), f"{song.label}: {outcome}")
    finally:
        report.unavailable = dict(disabled)
        if own:
            for provider in providers:
                provider.close()
    return report
