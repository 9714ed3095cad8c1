"""Reads the dashboard needs beyond ``pipelines.store.library_view`` and ``pipelines.jobs``:
light per-song result fields for re-deriving verdicts, library search, playlist
membership, open jobs for the worker, and a job's failed songs.

Like the storage layer's views, every function takes an open session and returns plain
data; nothing here imports Streamlit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, Select, cast, func, null, or_, select
from sqlalchemy.orm import Session

from pipelines.job_queue import OPEN_STATUSES
from pipelines.store.library_view import SongRow, latest_analyses
from pipelines.store.models import (
    VERDICTS,
    Analysis,
    AnalysisJob,
    AnalysisJobItem,
    Lyrics,
    Playlist,
    PlaylistSong,
    Song,
    VerdictOverride,
)

_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class ResultFields:
    """What a table needs of a stored analysis to re-derive its verdict at another
    sensitivity or with concerns switched off, without loading evidence and timings."""

    concern_scores: dict[str, float]
    themes: list[str]
    sensitivity: str
    verdict: str


def result_fields(session: Session, analysis_ids: Iterable[int]) -> dict[int, ResultFields]:
    """Concern scores and themes of the given analyses, read from the stored JSON in the
    database (JSON path extraction on SQLite and PostgreSQL alike)."""
    ids = sorted({i for i in analysis_ids if i is not None})
    out: dict[int, ResultFields] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        query = select(
            Analysis.id, Analysis.result[("scores", "concerns")], Analysis.result["themes"], Analysis.sensitivity,
            Analysis.verdict,
        ).where(Analysis.id.in_(chunk))
        for analysis_id, concerns, themes, sensitivity, verdict in session.execute(query):
            out[analysis_id] = ResultFields(dict(concerns or {}), list(themes or []), sensitivity, verdict)
    return out


def _with_results(query: Select) -> Select:
    """Add each song's lyrics hash, present analysis (scalar columns and the JSON fields a
    table needs, not the whole stored result) and override to ``query``."""
    latest = latest_analyses().subquery()
    return (
        query.add_columns(
            Song.id, Song.title, Song.artist, Song.album, Song.duration_ms, Song.explicit, Lyrics.content_hash,
            Analysis.id, Analysis.verdict, Analysis.score, Analysis.emotion, Analysis.sentiment, Analysis.top_theme,
            Analysis.concerns, Analysis.analyzer_version, Analysis.created_at, Analysis.sensitivity,
            Analysis.result[("scores", "concerns")], Analysis.result["themes"], VerdictOverride.verdict,
            VerdictOverride.note,
        )
        .outerjoin(Lyrics, Lyrics.song_id == Song.id)
        .outerjoin(latest, latest.c.song_id == Song.id)
        .outerjoin(Analysis, Analysis.id == latest.c.analysis_id)
        .outerjoin(VerdictOverride, VerdictOverride.song_id == Song.id)
    )


def _rows(session: Session, query: Select) -> tuple[list[SongRow], dict[int, ResultFields]]:
    rows: list[SongRow] = []
    fields: dict[int, ResultFields] = {}
    seen: set[int] = set()
    for record in session.execute(query):
        (position, song_id, title, artist, album, duration_ms, explicit, lyrics_hash, analysis_id, verdict, score,
         emotion, sentiment, top_theme, concerns, version, analysed_at, sensitivity, concern_scores, themes,
         override_verdict, override_note) = record
        if song_id in seen:  # a song in two of the playlists asked for is listed once
            continue
        seen.add(song_id)
        rows.append(SongRow(
            song_id=song_id, position=position, title=title, artist=artist, album=album, duration_ms=duration_ms,
            explicit=explicit, spotify_uri=None, has_lyrics=lyrics_hash is not None, lyrics_hash=lyrics_hash,
            analysis_id=analysis_id, verdict=override_verdict or verdict, analysed_verdict=verdict, score=score,
            emotion=emotion, sentiment=sentiment, top_theme=top_theme, concerns=list(concerns or []),
            analyzer_version=version, analysed_at=analysed_at, override_verdict=override_verdict,
            override_note=override_note,
        ))
        if analysis_id is not None:
            fields[analysis_id] = ResultFields(dict(concern_scores or {}), list(themes or []), sensitivity, verdict)
    return rows, fields


def table_songs(
    session: Session, playlist_ids: Sequence[int] | None = None
) -> tuple[list[SongRow], dict[int, ResultFields]]:
    """The songs a table shows, each once, with its present result and override, plus the
    result fields for re-deriving verdicts: of the given playlists (in their order), or of
    the whole library (by artist and title). One query; the stored results are not loaded
    whole, so a library of thousands of songs stays quick on every rerun."""
    if playlist_ids is None:
        query = _with_results(select(cast(null(), Integer).label("position")).select_from(Song))
        return _rows(session, query.order_by(Song.artist, Song.title, Song.id))
    order = {playlist_id: index for index, playlist_id in enumerate(playlist_ids)}
    rows: list[SongRow] = []
    fields: dict[int, ResultFields] = {}
    for playlist_id in sorted(order, key=order.get):
        query = _with_results(
            select(PlaylistSong.position).join(Song, Song.id == PlaylistSong.song_id)
            .where(PlaylistSong.playlist_id == playlist_id)
        ).order_by(PlaylistSong.position)
        more_rows, more_fields = _rows(session, query)
        known = {r.song_id for r in rows}
        rows.extend(r for r in more_rows if r.song_id not in known)
        fields.update(more_fields)
    return rows, fields


@dataclass(frozen=True)
class PlaylistOverview:
    id: int
    name: str
    source: str
    updated_at: datetime
    songs: int
    with_lyrics: int
    analysed: int
    verdicts: dict[str, int]  # effective verdict (an override first) -> songs


def playlist_names(session: Session) -> dict[int, str]:
    """Playlist id -> name, by name: for pickers."""
    return dict(session.execute(select(Playlist.id, Playlist.name).order_by(Playlist.name)).tuples().all())


def playlist_overviews(session: Session) -> list[PlaylistOverview]:
    """Every playlist with its songs, lyrics and analysis coverage and verdict mix, from one
    query over the playlists' entries (the library page's table)."""
    latest = latest_analyses().subquery()
    entries = session.execute(
        select(PlaylistSong.playlist_id, Lyrics.id, Analysis.verdict, VerdictOverride.verdict)
        .outerjoin(Lyrics, Lyrics.song_id == PlaylistSong.song_id)
        .outerjoin(latest, latest.c.song_id == PlaylistSong.song_id)
        .outerjoin(Analysis, Analysis.id == latest.c.analysis_id)
        .outerjoin(VerdictOverride, VerdictOverride.song_id == PlaylistSong.song_id)
    ).all()
    songs: Counter[int] = Counter()
    lyrics: Counter[int] = Counter()
    analysed: Counter[int] = Counter()
    verdicts: dict[int, Counter[str]] = {}
    for playlist_id, lyrics_id, verdict, override in entries:
        songs[playlist_id] += 1
        lyrics[playlist_id] += lyrics_id is not None
        analysed[playlist_id] += verdict is not None
        if override or verdict:
            verdicts.setdefault(playlist_id, Counter())[override or verdict] += 1
    playlists = session.execute(
        select(Playlist.id, Playlist.name, Playlist.source, Playlist.updated_at).order_by(Playlist.name)
    ).all()
    return [
        PlaylistOverview(
            id=p.id, name=p.name, source=p.source, updated_at=p.updated_at, songs=songs[p.id], with_lyrics=lyrics[p.id],
            analysed=analysed[p.id], verdicts={v: verdicts.get(p.id, Counter()).get(v, 0) for v in VERDICTS},
        )
        for p in playlists
    ]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.casefold()}%"


def matching_song_ids(session: Session, text: str, in_lyrics: bool = True) -> set[int]:
    """Songs whose title, artist or album (and lyrics, when asked) contain ``text``,
    ignoring case."""
    pattern = _like(text.strip())
    fields = [Song.title, Song.artist, Song.album]
    conditions = [func.lower(f).like(pattern, escape="\\") for f in fields]
    query = select(Song.id)
    if in_lyrics:
        query = query.outerjoin(Lyrics, Lyrics.song_id == Song.id)
        conditions.append(func.lower(Lyrics.text).like(pattern, escape="\\"))
    return set(session.scalars(query.where(or_(*conditions))))


def song_playlists(session: Session) -> dict[int, list[str]]:
    """Song id -> names of the playlists holding it, by name."""
    out: dict[int, list[str]] = {}
    query = (
        select(PlaylistSong.song_id, Playlist.name)
        .join(Playlist, Playlist.id == PlaylistSong.playlist_id)
        .distinct()
        .order_by(Playlist.name)
    )
    for song_id, name in session.execute(query):
        out.setdefault(song_id, []).append(name)
    return out


def find_songs(session: Session, text: str = "", limit: int = 200) -> list[tuple[int, str, str]]:
    """(id, title, artist) of songs matching ``text`` in title or artist, for a song picker."""
    query = select(Song.id, Song.title, Song.artist).order_by(Song.artist, Song.title, Song.id).limit(limit)
    if text.strip():
        pattern = _like(text.strip())
        query = query.where(or_(func.lower(Song.title).like(pattern, escape="\\"),
                                func.lower(Song.artist).like(pattern, escape="\\")))
    return [tuple(row) for row in session.execute(query)]


def open_job_ids(session: Session, profile: str) -> list[int]:
    """Queued or interrupted jobs of ``profile``, oldest first: what a worker should take."""
    query = (
        select(AnalysisJob.id)
        .where(AnalysisJob.status.in_(OPEN_STATUSES), AnalysisJob.profile == profile)
        .order_by(AnalysisJob.id)
    )
    return list(session.scalars(query))


def has_open_jobs(session: Session) -> bool:
    return session.scalar(select(func.count(AnalysisJob.id)).where(AnalysisJob.status.in_(OPEN_STATUSES))) > 0


@dataclass(frozen=True)
class ItemProblem:
    song_id: int
    title: str
    artist: str
    status: str  # failed or skipped
    error: str


def job_problems(session: Session, job_id: int, limit: int = 500) -> list[ItemProblem]:
    """The songs of a job that failed or were skipped, with the reason, in job order."""
    query = (
        select(AnalysisJobItem.song_id, Song.title, Song.artist, AnalysisJobItem.status, AnalysisJobItem.error)
        .join(Song, Song.id == AnalysisJobItem.song_id)
        .where(AnalysisJobItem.job_id == job_id, AnalysisJobItem.status.in_(("failed", "skipped")))
        .order_by(AnalysisJobItem.position)
        .limit(limit)
    )
    return [ItemProblem(s, t, a, st, e or "") for s, t, a, st, e in session.execute(query)]


def library_counts(session: Session) -> tuple[int, int]:
    """(playlists, songs) in the library."""
    return (
        session.scalar(select(func.count(Playlist.id))) or 0,
        session.scalar(select(func.count(Song.id))) or 0,
    )
