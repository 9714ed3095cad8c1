"""A Spotify playlist, read through the Web API, into the library.

Idempotent: the playlist's snapshot id is kept (``RemotePlaylist``); importing it again
while the snapshot is unchanged reads one small API answer and changes nothing. A changed
snapshot re-reads every page and makes the library playlist hold exactly the Spotify
playlist's songs, in its order (songs that left it stay in the library).

The network is read before the write transaction opens, so a playlist of thousands of
songs never holds the library's write lock while pages download; hence this takes a
``sessionmaker``, not a session.

What Spotify sends is untrusted: each track's title, artists, album and URI are checked by
``save_records`` (a bad track is named in the report, the others are kept), the playlist's
name is fitted to what the library stores, and a snapshot id that no column takes (too
long, NUL characters, unpaired surrogates) is kept as its SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.connectors.http import is_storable_text
from pipelines.connectors.spotify import SpotifyClient, SpotifyPlaylist, parse_playlist_id
from pipelines.importers.records import PLAYLIST_NAME_LIMIT, SongRecord, save_records, storable_name
from pipelines.importers.report import ImportReport
from pipelines.settings import Settings
from pipelines.store.models import Playlist, RemotePlaylist, utcnow

SYSTEM = "spotify"
SNAPSHOT_LIMIT = RemotePlaylist.__table__.c.snapshot_id.type.length
URL_LIMIT = RemotePlaylist.__table__.c.url.type.length
Progress = Callable[[int, int, str], None]


@dataclass
class SpotifyImport:
    report: ImportReport
    playlist_id: int  # the library playlist
    playlist_name: str
    remote: SpotifyPlaylist
    unchanged: bool  # the snapshot id was the one imported last time: nothing was read or written

    def summary(self) -> str:
        if self.unchanged:
            return (f"Spotify playlist {self.remote.name!r} is unchanged since the last import"
                    f" (snapshot {snapshot_key(self.remote.snapshot_id)}); library playlist {self.playlist_name!r}")
        return self.report.summary()


def snapshot_key(snapshot_id: str) -> str:
    """The snapshot id as stored and compared: itself, or ``sha256:<hex>`` when no column
    would take it (the same snapshot always gives the same key, a changed one another)."""
    if len(snapshot_id) <= SNAPSHOT_LIMIT and is_storable_text(snapshot_id):
        return snapshot_id
    return "sha256:" + hashlib.sha256(snapshot_id.encode("utf-8", errors="surrogatepass")).hexdigest()


def _fitted(name: str) -> str:
    """A playlist name as ``save_records`` stores it (so it is found again by that name)."""
    return storable_name(name).strip()


def _link(session: Session, remote_id: str) -> RemotePlaylist | None:
    return session.scalar(select(RemotePlaylist).where(RemotePlaylist.system == SYSTEM, RemotePlaylist.remote_id == remote_id))


def _library_name(session: Session, remote: SpotifyPlaylist, link: RemotePlaylist | None) -> str:
    """The linked playlist's name; for a first import the Spotify name, unless a playlist
    from elsewhere (a CSV, another Spotify playlist) already has it."""
    if link is not None:
        playlist = session.get(Playlist, link.playlist_id)
        if playlist is not None:
            return playlist.name
    name = _fitted(_fitted(remote.name)[: PLAYLIST_NAME_LIMIT - 60]) or f"Spotify {remote.id}"
    for candidate in (name, f"{name} (Spotify)", f"{name} (Spotify {remote.id})"):
        if session.scalar(select(Playlist.id).where(Playlist.name == candidate)) is None:
            return candidate
    return _fitted(f"{name} (Spotify {remote.id} {utcnow():%Y%m%d%H%M%S})")


def import_spotify_playlist(
    sessions: sessionmaker[Session],
    reference: str,
    progress: Progress | None = None,
    *,
    client: SpotifyClient | None = None,
    settings: Settings | None = None,
) -> SpotifyImport:
    """Import the playlist at ``reference`` (a link, URI or id). Raises ``ValueError`` for a
    reference that is not a playlist and ``ConnectorError`` when Spotify cannot answer."""
    remote_id = parse_playlist_id(reference)
    own = client is None
    client = client or SpotifyClient.from_settings(settings)
    try:
        remote = client.get_playlist(remote_id)
        with sessions.begin() as session:
            link = _link(session, remote_id)
            if link is not None and link.snapshot_id == snapshot_key(remote.snapshot_id):
                playlist = session.get(Playlist, link.playlist_id)
                if playlist is not None:
                    report = ImportReport(source=remote.url, format="spotify", playlists=[playlist.name])
                    return SpotifyImport(report, playlist.id, playlist.name, remote, unchanged=True)
        tracks = client.playlist_tracks(remote_id, progress, remote.total)
    finally:
        if own:
            client.close()
    report = ImportReport(source=remote.url, format="spotify")
    report.rows = len(tracks.tracks) + len(tracks.skipped)
    for number, reason in enumerate(tracks.skipped, start=1):
        report.problem(number, reason.split(": ", 1)[-1], reason.split(": ", 1)[0])
    records = [
        SongRecord(
            row=t.position, title=t.title, artist=t.artist, album=t.album, duration_ms=t.duration_ms,
            explicit=t.explicit, external_ids={SYSTEM: t.uri}, where=f"track {t.position}",
        )
        for t in tracks.tracks
    ]
    with sessions.begin() as session:
        link = _link(session, remote_id)  # again: another import may have finished meanwhile
        name = _library_name(session, remote, link)
        save_records(session, records, report, playlist=name, description=remote.description)
        playlist = session.scalar(select(Playlist).where(Playlist.name == name))
        if link is None:
            session.add(RemotePlaylist(playlist_id=playlist.id, system=SYSTEM, remote_id=remote_id,
                                       snapshot_id=snapshot_key(remote.snapshot_id), url=remote.url[:URL_LIMIT]))
        else:
            link.playlist_id, link.snapshot_id, link.synced_at = playlist.id, snapshot_key(remote.snapshot_id), utcnow()
        session.flush()
        return SpotifyImport(report, playlist.id, name, remote, unchanged=False)
