"""The library's tables: playlists, songs, lyrics, analyses, verdict overrides and durable
analysis jobs.

A change here needs a migration: ``python -m pipelines db revision -m "what changed"``
writes one from the difference, and a test checks the migrations match these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

VERDICTS = ("approved", "review", "flagged")
# queued: waiting for a runner; running: a runner holds (or held) the lease; then one of
# done / cancelled / failed (the runner itself broke, not a song).
JOB_STATUSES = ("queued", "running", "done", "cancelled", "failed")
# done: analysed by this job; cached: an analysis for the same lyrics and analyzer version
# already existed; skipped: the song has no lyrics; cancelled: the job was cancelled first.
ITEM_STATUSES = ("pending", "running", "done", "cached", "failed", "skipped", "cancelled")
ITEM_FINISHED = ("done", "cached", "failed", "skipped", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL keeps the zone (timestamptz); SQLite has no zones, so values are stored as
    naive UTC and given back their zone on the way out. Lease expiry comparisons rely on it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use pipelines.store.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    # Named constraints let Alembic alter them later (SQLite batch mode needs names).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40))  # the importer that made it, e.g. "spotify-csv"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    entries: Mapped[list[PlaylistSong]] = relationship(
        back_populates="playlist", order_by="PlaylistSong.position", cascade="all, delete-orphan"
    )


class Song(Base):
    __tablename__ = "songs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    artist: Mapped[str] = mapped_column(String(500), default="")
    album: Mapped[str] = mapped_column(String(500), default="")
    genre: Mapped[str] = mapped_column(String(200), default="")
    duration_ms: Mapped[int | None]
    explicit: Mapped[bool | None]  # only when the source says; None means unknown
    # Normalised "title|first artist": how a lyrics file finds the song a CSV created.
    identity_key: Mapped[str] = mapped_column(String(1100), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # source-specific fields, e.g. sample labels
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    external_ids: Mapped[list[SongExternalId]] = relationship(back_populates="song", cascade="all, delete-orphan")
    lyrics: Mapped[Lyrics | None] = relationship(back_populates="song", cascade="all, delete-orphan")
    override: Mapped[VerdictOverride | None] = relationship(back_populates="song", cascade="all, delete-orphan")


class SongExternalId(Base):
    """An id of the song in another system: ("spotify", "spotify:track:..."), ("sample", "sample-001")."""

    __tablename__ = "song_external_ids"
    __table_args__ = (UniqueConstraint("system", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(300))

    song: Mapped[Song] = relationship(back_populates="external_ids")


class PlaylistSong(Base):
    __tablename__ = "playlist_songs"

    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)  # 1-based, the source's order
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    playlist: Mapped[Playlist] = relationship(back_populates="entries")
    song: Mapped[Song] = relationship()


class Lyrics(Base):
    """The song's current lyrics; ``content_hash`` is half of the results cache key."""

    __tablename__ = "lyrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))  # e.g. "sample library", "file:Artist - Title.lrc"
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    song: Mapped[Song] = relationship(back_populates="lyrics")


class Analysis(Base):
    """One analysis of one song's lyrics by one analyzer version.

    ``result`` is the whole ``SongAnalysis.to_dict()`` (every raw score distribution,
    evidence, timings); the scalar columns copy what lists and filters need.
    """

    __tablename__ = "analyses"
    # The results cache key; also makes a second analysis of the same thing impossible.
    __table_args__ = (
        UniqueConstraint("song_id", "analyzer_version", "lyrics_hash"),
        Index(None, "analyzer_version", "verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    analyzer_version: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str] = mapped_column(String(40))
    lyrics_hash: Mapped[str] = mapped_column(String(64))
    sensitivity: Mapped[str] = mapped_column(String(20))  # the preset ``verdict`` was derived at
    verdict: Mapped[str] = mapped_column(String(20))
    score: Mapped[int]
    emotion: Mapped[str] = mapped_column(String(40))
    sentiment: Mapped[str] = mapped_column(String(40))
    top_theme: Mapped[str | None] = mapped_column(String(40), index=True)
    concerns: Mapped[list[str]] = mapped_column(default=list)
    seconds: Mapped[float] = mapped_column(default=0.0)  # model time spent on this song
    result: Mapped[dict[str, Any]]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerdictOverride(Base):
    """A person's verdict for a song; it outlives re-analysis because it belongs to the song."""

    __tablename__ = "verdict_overrides"
    __table_args__ = (CheckConstraint(_in("verdict", VERDICTS), name="verdict"),)

    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    song: Mapped[Song] = relationship(back_populates="override")


class AnalysisJob(Base):
    """A durable request to analyse songs; one runner at a time holds its lease."""

    __tablename__ = "analysis_jobs"
    __table_args__ = (CheckConstraint(_in("status", JOB_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int | None] = mapped_column(ForeignKey("playlists.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    profile: Mapped[str] = mapped_column(String(40))
    sensitivity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # The lease: claimed and renewed with conditional UPDATEs, taken over once expired.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    run_started_at: Mapped[datetime | None]  # when the present runner took over: the rate's clock
    finished_at: Mapped[datetime | None]

    items: Mapped[list[AnalysisJobItem]] = relationship(
        back_populates="job", order_by="AnalysisJobItem.position", cascade="all, delete-orphan"
    )


class AnalysisJobItem(Base):
    __tablename__ = "analysis_job_items"
    __table_args__ = (
        UniqueConstraint("job_id", "song_id"),
        Index(None, "job_id", "status", "position"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("analysis_jobs.id", ondelete="CASCADE"))
    song_id: Mapped[int] = mapped_column(ForeignKey("songs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    analysis_id: Mapped[int | None] = mapped_column(ForeignKey("analyses.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None]

    job: Mapped[AnalysisJob] = relationship(back_populates="items")


class LibraryState(Base):
    """Small facts about the library itself, e.g. that the sample library was loaded once."""

    __tablename__ = "library_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


LOOKUP_STATUSES = ("found", "not_found", "error")


class CachedLyricsLookup(Base):
    """What one online lyrics source answered for one song query, kept until ``expires_at``
    (by default found 7 days, not found 1 day, error 12 hours) so it is not asked again."""

    __tablename__ = "lyrics_lookups"
    __table_args__ = (
        UniqueConstraint("provider", "query_key"),
        CheckConstraint(_in("status", LOOKUP_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))  # lrclib, genius
    query_key: Mapped[str] = mapped_column(String(64))  # sha256 of the normalised title|artist|album|seconds
    query: Mapped[str] = mapped_column(Text)  # the readable query, for a person looking at the table
    status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)  # raw lyrics as the source gave them (found only)
    url: Mapped[str] = mapped_column(String(1000), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    instrumental: Mapped[bool] = mapped_column(default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RemotePlaylist(Base):
    """Where a library playlist came from online (a Spotify playlist) and the version of it
    last imported: the same snapshot id again means nothing changed."""

    __tablename__ = "remote_playlists"
    __table_args__ = (UniqueConstraint("system", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), unique=True)
    system: Mapped[str] = mapped_column(String(40))  # "spotify"
    remote_id: Mapped[str] = mapped_column(String(200))
    snapshot_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
