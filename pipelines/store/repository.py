"""Library writes and lookups: song identities, lyrics, playlists, analyses (the results
cache) and verdict overrides. Read views for the dashboard are in ``library_view``.

Every function takes an open session and never opens, commits or closes one: the caller
(a CLI command, a dashboard callback, the job runner) owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pipelines.result import SongAnalysis
from pipelines.store.models import (
    VERDICTS,
    Analysis,
    Lyrics,
    Playlist,
    PlaylistSong,
    Song,
    VerdictOverride,
    utcnow,
)

# ---------------------------------------------------------------- identities and hashes

_NOT_WORD = re.compile(r"[^\w]+")
_KEY_PART = 540


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def identity_key(title: str, artist: str) -> str:
    """How songs from sources without a shared id find each other: normalised title and
    first artist ("Artist Name(s)" lists several, a lyrics file names one)."""
    first_artist = re.split(r",|;| feat\.? | ft\.? | featuring ", artist or "", maxsplit=1, flags=re.I)[0]
    # Normalising can lengthen text (NFKD of one ligature is up to 18 characters); each part
    # is cut so the key always fits its column (1,100 characters).
    return f"{_normalise(title)[:_KEY_PART]}|{_normalise(first_artist)[:_KEY_PART]}"


def normalise_lyrics(text: str) -> str:
    """The stored form of lyrics: Unix line ends, no trailing spaces or blank edges."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_lyrics(text).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- writes


def set_lyrics(session: Session, song: Song, text: str, source: str, fetched_at: datetime | None = None) -> str:
    """Store ``text`` as the song's lyrics: "added", "changed" or "unchanged".

    ``session`` owns ``song`` (its lyrics load through it when not loaded yet).
    A change gives the lyrics a new hash, so the next job re-analyses this song only.
    """
    stored = normalise_lyrics(text)
    digest = content_hash(stored)
    current = song.lyrics
    if current is None:
        song.lyrics = Lyrics(text=stored, source=source, content_hash=digest, fetched_at=fetched_at or utcnow())
        return "added"
    if current.content_hash == digest:
        return "unchanged"
    current.text, current.source, current.content_hash = stored, source, digest
    current.fetched_at = fetched_at or utcnow()
    return "changed"


def sync_playlist(
    session: Session, name: str, song_ids: list[int], *, description: str | None = None, source: str = "import",
    replace: bool = True,
) -> tuple[Playlist, bool]:
    """Make playlist ``name`` hold ``song_ids`` in that order; returns (playlist, changed).

    ``replace=False`` only appends the songs not already in it (a folder of lyrics added
    to an existing playlist must not reorder or drop the playlist's other songs).
    """
    playlist = session.scalar(select(Playlist).where(Playlist.name == name))
    changed = False
    if playlist is None:
        playlist = Playlist(name=name, description=description or "", source=source)
        session.add(playlist)
        session.flush()
        changed = True
    elif description is not None and playlist.description != description:
        playlist.description = description
        changed = True
    current = list(
        session.scalars(
            select(PlaylistSong.song_id).where(PlaylistSong.playlist_id == playlist.id).order_by(PlaylistSong.position)
        )
    )
    if replace:
        wanted = song_ids
    else:
        present = set(current)
        wanted = current + [s for s in dict.fromkeys(song_ids) if s not in present]
    if wanted != current:
        session.execute(delete(PlaylistSong).where(PlaylistSong.playlist_id == playlist.id))
        session.add_all(
            PlaylistSong(playlist_id=playlist.id, position=i, song_id=s) for i, s in enumerate(wanted, start=1)
        )
        playlist.updated_at = utcnow()
        changed = True
    session.flush()
    return playlist, changed


def save_analysis(
    session: Session, song_id: int, lyrics_hash: str, analysis: SongAnalysis, job_id: int | None = None
) -> Analysis:
    row = Analysis(
        song_id=song_id,
        analyzer_version=analysis.analyzer.version,
        profile=analysis.analyzer.profile,
        lyrics_hash=lyrics_hash,
        sensitivity=analysis.sensitivity,
        verdict=analysis.verdict,
        score=analysis.score,
        emotion=analysis.emotion,
        sentiment=analysis.sentiment,
        top_theme=analysis.themes[0] if analysis.themes else None,
        concerns=list(analysis.concerns),
        seconds=round(sum(analysis.timings.values()), 6),
        result=analysis.to_dict(),
        job_id=job_id,
    )
    session.add(row)
    session.flush()
    return row


def cached_analysis(session: Session, song_id: int, analyzer_version: str, lyrics_hash: str) -> Analysis | None:
    """The results cache: an analysis of exactly these lyrics by exactly this analyzer version."""
    return session.scalar(
        select(Analysis).where(
            Analysis.song_id == song_id, Analysis.analyzer_version == analyzer_version, Analysis.lyrics_hash == lyrics_hash
        )
    )


def set_override(session: Session, song_id: int, verdict: str, note: str = "") -> None:
    """A person's verdict for the song; kept across re-analysis until cleared."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    if session.get(Song, song_id) is None:
        raise LookupError(f"no song with id {song_id}")
    override = session.get(VerdictOverride, song_id)
    if override is None:
        session.add(VerdictOverride(song_id=song_id, verdict=verdict, note=note))
    else:
        override.verdict, override.note = verdict, note
    session.flush()


def clear_override(session: Session, song_id: int) -> bool:
    return session.execute(delete(VerdictOverride).where(VerdictOverride.song_id == song_id)).rowcount > 0


def delete_playlist(session: Session, playlist_id: int) -> bool:
    """Remove the playlist (its songs, lyrics and analyses stay in the library)."""
    return session.execute(delete(Playlist).where(Playlist.id == playlist_id)).rowcount > 0


# ---------------------------------------------------------------- reads


def find_playlist(session: Session, name: str) -> Playlist | None:
    return session.scalar(select(Playlist).where(Playlist.name == name))


def song_history(session: Session, song_id: int) -> list[Analysis]:
    """Every stored analysis of the song, newest first (older lyrics and versions included)."""
    return list(
        session.scalars(select(Analysis).where(Analysis.song_id == song_id).order_by(Analysis.created_at.desc(), Analysis.id.desc()))
    )
