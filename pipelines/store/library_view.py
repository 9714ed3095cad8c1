"""Read-only views of the library for the dashboard and the exports: playlists with their
verdict mix, songs with their present result, one song in full.

Functions take an open session and return plain dataclasses, safe to cache and to use
after the session is gone. A song's present result is its newest analysis of its current
lyrics (by the given analyzer version, when one is given); a person's override wins.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, and_, cast, func, null, select
from sqlalchemy.orm import Session

from pipelines.result import SongAnalysis
from pipelines.store.models import (
    VERDICTS,
    Analysis,
    Lyrics,
    Playlist,
    PlaylistSong,
    Song,
    SongExternalId,
    VerdictOverride,
)


def latest_analyses(analyzer_version: str | None = None) -> Select:
    """One row per song: its newest analysis of its current lyrics (by ``analyzer_version``
    when given). Analyses of older lyrics are history, not the song's result."""
    conditions = [Analysis.lyrics_hash == Lyrics.content_hash]
    if analyzer_version:
        conditions.append(Analysis.analyzer_version == analyzer_version)
    ranked = (
        select(
            Analysis.id.label("analysis_id"),
            Analysis.song_id,
            func.row_number()
            .over(partition_by=Analysis.song_id, order_by=(Analysis.created_at.desc(), Analysis.id.desc()))
            .label("rank"),
        )
        .join(Lyrics, and_(Lyrics.song_id == Analysis.song_id, *conditions))
        .subquery()
    )
    return select(ranked.c.song_id, ranked.c.analysis_id).where(ranked.c.rank == 1)


@dataclass(frozen=True)
class PlaylistSummary:
    id: int
    name: str
    description: str
    source: str
    songs: int
    with_lyrics: int
    analysed: int
    verdicts: dict[str, int]  # effective verdict (override first) -> songs
    updated_at: datetime


@dataclass(frozen=True)
class SongRow:
    """A song as a playlist or library table shows it, with its present result."""

    song_id: int
    position: int | None
    title: str
    artist: str
    album: str
    duration_ms: int | None
    explicit: bool | None
    spotify_uri: str | None
    has_lyrics: bool
    lyrics_hash: str | None
    analysis_id: int | None = None
    verdict: str | None = None  # effective: the override when there is one
    analysed_verdict: str | None = None
    score: int | None = None
    emotion: str | None = None
    sentiment: str | None = None
    top_theme: str | None = None
    concerns: list[str] = field(default_factory=list)
    analyzer_version: str | None = None
    analysed_at: datetime | None = None
    override_verdict: str | None = None
    override_note: str | None = None
    result: dict[str, Any] | None = None

    @property
    def analysis(self) -> SongAnalysis | None:
        return SongAnalysis.from_dict(self.result) if self.result else None


def _song_rows(session: Session, query: Select, analyzer_version: str | None, with_results: bool) -> list[SongRow]:
    latest = latest_analyses(analyzer_version).subquery()
    spotify = (
        select(SongExternalId.song_id, SongExternalId.value)
        .where(SongExternalId.system == "spotify")
        .subquery()
    )
    columns = [Analysis.result] if with_results else []
    query = (
        query.add_columns(Song, Lyrics.content_hash, spotify.c.value, Analysis, VerdictOverride, *columns)
        .outerjoin(Lyrics, Lyrics.song_id == Song.id)
        .outerjoin(spotify, spotify.c.song_id == Song.id)
        .outerjoin(latest, latest.c.song_id == Song.id)
        .outerjoin(Analysis, Analysis.id == latest.c.analysis_id)
        .outerjoin(VerdictOverride, VerdictOverride.song_id == Song.id)
    )
    rows = []
    for record in session.execute(query):
        position, song, lyrics_hash, uri, analysis, override = record[:6]
        rows.append(
            SongRow(
                song_id=song.id, position=position, title=song.title, artist=song.artist, album=song.album,
                duration_ms=song.duration_ms, explicit=song.explicit, spotify_uri=uri,
                has_lyrics=lyrics_hash is not None, lyrics_hash=lyrics_hash,
                analysis_id=analysis.id if analysis else None,
                verdict=override.verdict if override else (analysis.verdict if analysis else None),
                analysed_verdict=analysis.verdict if analysis else None,
                score=analysis.score if analysis else None,
                emotion=analysis.emotion if analysis else None,
                sentiment=analysis.sentiment if analysis else None,
                top_theme=analysis.top_theme if analysis else None,
                concerns=list(analysis.concerns) if analysis else [],
                analyzer_version=analysis.analyzer_version if analysis else None,
                analysed_at=analysis.created_at if analysis else None,
                override_verdict=override.verdict if override else None,
                override_note=override.note if override else None,
                result=record[6] if with_results and analysis else None,
            )
        )
    return rows


def playlist_songs(
    session: Session, playlist_id: int, analyzer_version: str | None = None, with_results: bool = False
) -> list[SongRow]:
    """The playlist's songs in order, each with its latest analysis and override.

    ``with_results`` adds the full stored ``SongAnalysis`` dict (scores, evidence) per row.
    """
    query = (
        select(PlaylistSong.position)
        .join(Song, Song.id == PlaylistSong.song_id)
        .where(PlaylistSong.playlist_id == playlist_id)
        .order_by(PlaylistSong.position)
    )
    return _song_rows(session, query, analyzer_version, with_results)


def library_songs(
    session: Session, analyzer_version: str | None = None, with_results: bool = False
) -> list[SongRow]:
    """Every song in the library (in or out of playlists), by artist and title."""
    query = select(cast(null(), Integer).label("position")).select_from(Song).order_by(Song.artist, Song.title, Song.id)
    return _song_rows(session, query, analyzer_version, with_results)


def list_playlists(session: Session, analyzer_version: str | None = None) -> list[PlaylistSummary]:
    """Every playlist with its song count, lyrics and analysis coverage and verdict mix."""
    playlists = session.scalars(select(Playlist).order_by(Playlist.name)).all()
    summaries = []
    for playlist in playlists:
        rows = playlist_songs(session, playlist.id, analyzer_version)
        verdicts = Counter(r.verdict for r in rows if r.verdict)
        summaries.append(
            PlaylistSummary(
                id=playlist.id, name=playlist.name, description=playlist.description, source=playlist.source,
                songs=len(rows), with_lyrics=sum(r.has_lyrics for r in rows),
                analysed=sum(r.analysis_id is not None for r in rows),
                verdicts={v: verdicts.get(v, 0) for v in VERDICTS}, updated_at=playlist.updated_at,
            )
        )
    return summaries


@dataclass(frozen=True)
class SongDetail:
    row: SongRow  # with the full stored result
    genre: str
    lyrics: str | None
    lyrics_source: str | None
    lyrics_fetched_at: datetime | None
    external_ids: dict[str, str]
    extra: dict[str, Any]
    playlists: list[str]


def song_detail(session: Session, song_id: int, analyzer_version: str | None = None) -> SongDetail | None:
    """Everything the song page shows: lyrics, ids, playlists, present result, override."""
    song = session.get(Song, song_id)
    if song is None:
        return None
    query = select(cast(null(), Integer).label("position")).select_from(Song).where(Song.id == song_id)
    row = _song_rows(session, query, analyzer_version, with_results=True)[0]
    lyrics = session.scalar(select(Lyrics).where(Lyrics.song_id == song_id))
    playlists = session.scalars(
        select(Playlist.name).join(PlaylistSong).where(PlaylistSong.song_id == song_id).distinct().order_by(Playlist.name)
    ).all()
    return SongDetail(
        row=row, genre=song.genre, lyrics=lyrics.text if lyrics else None,
        lyrics_source=lyrics.source if lyrics else None, lyrics_fetched_at=lyrics.fetched_at if lyrics else None,
        external_ids={e.system: e.value for e in song.external_ids}, extra=dict(song.extra or {}),
        playlists=list(playlists),
    )
