"""The one place imported rows become library songs: every importer parses its format
into ``SongRecord``s and hands them to ``save_records``.

Saving is idempotent: a song is found again by an external id (a Spotify URI, a sample
id) or, failing that, by its normalised title and first artist, so importing the same
file twice changes nothing, and a lyrics file finds the song a Spotify CSV created.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pipelines.importers.report import ImportReport
from pipelines.settings import get_settings
from pipelines.store.db import lock_library
from pipelines.store.models import Lyrics, Playlist, Song, SongExternalId
from pipelines.store.repository import identity_key, set_lyrics, sync_playlist

# Exports prefix cells that a spreadsheet would run as a formula with a quote; reading our
# own export back must give the original text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SPOTIFY_TRACK = re.compile(r"^(?:spotify:track:|https?://open\.spotify\.com/(?:intl-[\w-]+/)?track/)([A-Za-z0-9]{22})(?:[?#].*)?$")
SPOTIFY_ID = re.compile(r"^[A-Za-z0-9]{22}$")
_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit
# The columns' sizes: PostgreSQL refuses a longer value (and NUL characters), and one refused
# value would abort the whole import, so such a row is reported instead.
TEXT_LIMITS = {name: Song.__table__.c[name].type.length for name in ("title", "artist", "album", "genre")}
EXTERNAL_ID_LIMIT = SongExternalId.__table__.c.value.type.length
SOURCE_LIMIT = Lyrics.__table__.c.source.type.length
PLAYLIST_NAME_LIMIT = Playlist.__table__.c.name.type.length


@dataclass
class SongRecord:
    row: int  # where the row came from, for problems
    title: str
    artist: str = ""
    album: str = ""
    genre: str = ""
    duration_ms: int | None = None
    explicit: bool | None = None
    external_ids: dict[str, str] = field(default_factory=dict)  # system -> value
    lyrics: str | None = None
    lyrics_source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # "line 7" or "file 'x.lrc'": how a person finds the row


def unescape_cell(value: str) -> str:
    """Undo the export's formula neutralisation ("'=SUM" is the title "=SUM")."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def parse_bool(raw: Any) -> bool | None:
    """True/False from the usual spellings; None for empty; ValueError otherwise."""
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text == "":
        return None
    if text in {"true", "1", "yes", "y", "explicit"}:
        return True
    if text in {"false", "0", "no", "n", "clean"}:
        return False
    raise ValueError(f"{raw!r} is not true or false")


def parse_duration_ms(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of milliseconds") from None
    if not 0 <= value < 24 * 3600 * 1000:
        raise ValueError(f"{raw!r} is not a song length in milliseconds")
    return int(value)


def spotify_uri(raw: str) -> str:
    """``spotify:track:<id>`` from a URI, an open.spotify.com link or a bare id."""
    text = raw.strip()
    match = SPOTIFY_TRACK.match(text)
    if match:
        return f"spotify:track:{match.group(1)}"
    if SPOTIFY_ID.match(text):
        return f"spotify:track:{text}"
    if text.startswith("spotify:local:"):
        return text  # a local file in a Spotify playlist: stable enough to find it again
    raise ValueError(f"{raw!r} is not a Spotify track URI")


def playlist_name_from(name: str) -> str:
    """The default playlist name of an import: the file or folder name without extension."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return (base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base) or "Imported"


def _not_text(value: str) -> bool:
    """NUL characters or unpaired surrogates (a JSON "\\ud800" escape): no database stores them."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_record(record: SongRecord, report: ImportReport) -> bool:
    """False (and a problem) when the row cannot be stored; fields that cannot be stored
    but are not needed (lyrics, an external id) are left out with a note instead."""
    for name, limit in TEXT_LIMITS.items():
        value = getattr(record, name)
        if _not_text(value):
            report.problem(record.row, f"the {name} contains NUL characters or broken Unicode (binary data, not"
                           " text); skipped", record.where)
            return False
        if len(value) > limit:
            report.problem(record.row, f"the {name} is {len(value):,} characters long, over the limit of {limit};"
                           " skipped", record.where)
            return False
    for system, value in list(record.external_ids.items()):
        if _not_text(value) or len(value) > EXTERNAL_ID_LIMIT:
            del record.external_ids[system]
            report.problem(record.row, f"the {system} id is not a usable id (over {EXTERNAL_ID_LIMIT} characters or"
                           " binary); imported without it", record.where, kept=True)
    if record.lyrics:
        limit = get_settings().discern_max_lyrics_bytes
        size = len(record.lyrics.encode("utf-8", errors="replace"))
        if _not_text(record.lyrics):
            record.lyrics = None
            report.problem(record.row, "the lyrics contain NUL characters or broken Unicode (binary data, not"
                           " text); imported without lyrics", record.where, kept=True)
        elif size > limit:
            record.lyrics = None
            report.problem(record.row, f"the lyrics are {size:,} bytes, over the {limit:,}-byte limit"
                           " (DISCERN_MAX_LYRICS_BYTES); imported without lyrics", record.where, kept=True)
    record.lyrics_source = storable_name(record.lyrics_source, SOURCE_LIMIT)
    return True


def storable_name(name: str, limit: int = PLAYLIST_NAME_LIMIT) -> str:
    """A playlist name, description or lyrics source the database can store: no NUL
    characters or unpaired surrogates, at most ``limit`` characters (0: no limit); a name
    from a file or a document can be anything."""
    cleaned = name.replace("\x00", "").encode("utf-8", errors="replace").decode("utf-8")
    return cleaned[:limit] if limit else cleaned


def _record_key(record: SongRecord) -> tuple[str, str]:
    for system in sorted(record.external_ids):
        return system, record.external_ids[system]
    return "identity", identity_key(record.title, record.artist)


def _drop_duplicates(records: list[SongRecord], report: ImportReport) -> list[SongRecord]:
    first: dict[tuple[str, str], SongRecord] = {}
    unique = []
    for record in records:
        key = _record_key(record)
        if key in first:
            seen = first[key]
            report.problem(
                record.row,
                f"the same song as {seen.where or f'row {seen.row}'} ({record.title!r} by {record.artist or 'unknown'});"
                " imported once",
                record.where,
            )
            continue
        first[key] = record
        unique.append(record)
    return unique


class _SongIndex:
    """The library's songs that the records could match, loaded in a few queries."""

    def __init__(self, session: Session, records: list[SongRecord]) -> None:
        self.by_external: dict[tuple[str, str], Song] = {}
        self.by_identity: dict[str, list[Song]] = defaultdict(list)
        wanted: dict[str, set[str]] = defaultdict(set)
        for record in records:
            for system, value in record.external_ids.items():
                wanted[system].add(value)
        ids: set[int] = set()
        for system, values in wanted.items():
            ordered = sorted(values)
            for start in range(0, len(ordered), _IN_CHUNK):
                ids.update(
                    session.scalars(
                        select(SongExternalId.song_id).where(
                            SongExternalId.system == system, SongExternalId.value.in_(ordered[start : start + _IN_CHUNK])
                        )
                    )
                )
        keys = sorted({identity_key(r.title, r.artist) for r in records})
        for start in range(0, len(keys), _IN_CHUNK):
            ids.update(session.scalars(select(Song.id).where(Song.identity_key.in_(keys[start : start + _IN_CHUNK]))))
        ordered_ids = sorted(ids)
        for start in range(0, len(ordered_ids), _IN_CHUNK):
            songs = session.scalars(
                select(Song)
                .where(Song.id.in_(ordered_ids[start : start + _IN_CHUNK]))
                .options(selectinload(Song.external_ids), selectinload(Song.lyrics))
            )
            for song in songs:
                self.add(song)

    def add(self, song: Song) -> None:
        for ext in song.external_ids:
            self.by_external[(ext.system, ext.value)] = song
        if song not in self.by_identity[song.identity_key]:
            self.by_identity[song.identity_key].append(song)

    def find(self, record: SongRecord) -> Song | None:
        for system, value in record.external_ids.items():
            if (system, value) in self.by_external:
                return self.by_external[(system, value)]
        for song in self.by_identity.get(identity_key(record.title, record.artist), []):
            # Same title and artist but another id in the same system (a live version, a
            # remaster): a different recording, not this one.
            own = {ext.system: ext.value for ext in song.external_ids}
            if all(own.get(system, value) == value for system, value in record.external_ids.items()):
                return song
        return None


def _apply(song: Song, record: SongRecord) -> bool:
    """Copy the record's known fields onto the song; True when anything changed.

    Empty fields never blank out what another source already filled in.
    """
    changed = False
    for name in ("title", "artist", "album", "genre", "duration_ms", "explicit"):
        value = getattr(record, name)
        if value not in (None, "") and getattr(song, name) != value:
            setattr(song, name, value)
            changed = True
    key = identity_key(song.title, song.artist)
    if song.identity_key != key:
        song.identity_key = key
    if record.extra and {**(song.extra or {}), **record.extra} != (song.extra or {}):
        song.extra = {**(song.extra or {}), **record.extra}
        changed = True
    own = {(ext.system, ext.value) for ext in song.external_ids}
    systems = {ext.system for ext in song.external_ids}
    for system, value in record.external_ids.items():
        if (system, value) not in own and system not in systems:
            song.external_ids.append(SongExternalId(system=system, value=value))
            changed = True
    return changed


def save_records(
    session: Session,
    records: list[SongRecord],
    report: ImportReport,
    *,
    playlist: str | None = None,
    description: str | None = None,
    replace_playlist: bool = True,
) -> list[tuple[SongRecord, int]]:
    """Create or update a song per record, store lyrics, and optionally make ``playlist``
    hold the songs in record order. Returns (record, song id) for every record saved
    (a duplicate row is reported and left out)."""
    lock_library(session)
    records = _drop_duplicates([r for r in records if check_record(r, report)], report)
    index = _SongIndex(session, records)
    songs: list[Song] = []
    for record in records:
        song = index.find(record)
        if song is None:
            song = Song(title=record.title, identity_key="", extra={}, external_ids=[])
            _apply(song, record)
            session.add(song)
            index.add(song)
            report.songs_created += 1
        elif _apply(song, record):
            index.add(song)
            report.songs_updated += 1
        else:
            report.songs_unchanged += 1
        if record.lyrics and record.lyrics.strip():
            outcome = set_lyrics(session, song, record.lyrics, record.lyrics_source or report.format)
            setattr(report, f"lyrics_{outcome}", getattr(report, f"lyrics_{outcome}") + 1)
        songs.append(song)
    session.flush()
    song_ids = [song.id for song in songs]
    playlist = storable_name(playlist).strip() if playlist else playlist
    if playlist:
        if description is not None:
            description = storable_name(description, limit=0)
        sync_playlist(
            session, playlist, song_ids, description=description, source=report.format, replace=replace_playlist
        )
        report.playlists.append(playlist)
        report.playlist_songs = len(song_ids)
    return list(zip(records, song_ids, strict=True))
