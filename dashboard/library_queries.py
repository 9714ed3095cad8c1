"""Reads the dashboard needs beyond ``pipelines.store.library_view`` and ``pipelines.jobs``:
light per-song result fields for re-deriving verdicts, library search, playlist
membership, open jobs for the worker, and a job's failed songs.

Like the storage layer's views, every function takes an open session and returns plain
data; nothing here imports Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pipelines.job_queue import OPEN_STATUSES
from pipelines.store.models import (
    Analysis,
    AnalysisJob,
    AnalysisJobItem,
    Lyrics,
    Playlist,
    PlaylistSong,
    Song,
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
