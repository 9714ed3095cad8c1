"""What the import page and the CLI call for online sources.

- ``available_online_sources(settings)``: which sources are configured, to offer them.
- ``run_spotify_import(sessions, url, progress)``: import a Spotify playlist, then fetch
  lyrics for its songs without any; never raises for a network or input problem, it
  answers with ``ok=False`` and a message a person can act on.
- ``run_lyrics_fetch(sessions, playlist_id, progress)``: lyrics only.
- ``write_clean_copy(sessions, playlist_id)``: the playlist's approved songs as a new
  private playlist in the signed-in user's Spotify account.

The lower-level pieces (``import_spotify_playlist``, ``fetch_missing_lyrics``) raise
instead; they are re-exported here for callers that want that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session, sessionmaker

from pipelines.connectors.http import ConnectorError
from pipelines.connectors.lyrics_fetch import LyricsFetchReport, fetch_missing_lyrics
from pipelines.connectors.lyrics_providers import configured_providers
from pipelines.connectors.spotify import SpotifyClient, parse_playlist_id
from pipelines.importers.spotify_playlist import SpotifyImport, import_spotify_playlist
from pipelines.settings import Settings, get_settings
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import Playlist

__all__ = [
    "OnlineResult",
    "available_online_sources",
    "fetch_missing_lyrics",
    "import_spotify_playlist",
    "run_lyrics_fetch",
    "run_spotify_import",
    "write_clean_copy",
]

Progress = Callable[[int, int, str], None]


def available_online_sources(settings: Settings | None = None) -> list[str]:
    """Configured sources, in the order to offer them:

    ``spotify`` (client id and secret set), ``spotify-write`` (a user's refresh token too:
    private playlists and clean copies), then the lyrics sources in DISCERN_LYRICS_PROVIDERS
    order that have what they need (``lrclib``, ``genius`` with a token, ``local`` with a
    folder). An unknown name in DISCERN_LYRICS_PROVIDERS is left out here; fetching says why.
    """
    settings = settings or get_settings()
    sources = []
    if settings.discern_spotify_client_id and settings.discern_spotify_client_secret:
        sources.append("spotify")
        if settings.discern_spotify_refresh_token:
            sources.append("spotify-write")
    with contextlib.suppress(ValueError):
        sources.extend(configured_providers(settings))
    return sources


@dataclass
class OnlineResult:
    ok: bool
    message: str  # one paragraph for a person: what happened, or what went wrong and what to do
    spotify: SpotifyImport | None = None
    lyrics: LyricsFetchReport | None = None
    playlist_id: int | None = None
    details: list[str] = field(default_factory=list)  # per-song problems, sources that stopped


def _lyrics_details(report: LyricsFetchReport) -> list[str]:
    return [f"{source} stopped: {why}" for source, why in report.unavailable.items()] + report.problems


def run_lyrics_fetch(
    sessions: sessionmaker[Session], playlist_id: int | None, progress: Progress | None = None,
    *, settings: Settings | None = None, transport: httpx.BaseTransport | None = None,
) -> OnlineResult:
    try:
        report = fetch_missing_lyrics(sessions, playlist_id, progress, settings=settings, transport=transport)
    except (LookupError, ValueError) as exc:  # no such playlist; unknown source name
        return OnlineResult(False, str(exc).strip("'\""), playlist_id=playlist_id)
    message = report.summary()
    if report.stopped:
        message += ". " + " ".join(f"{why}" for why in report.unavailable.values())
    return OnlineResult(not report.stopped and not report.errors, message, lyrics=report,
                        playlist_id=playlist_id, details=_lyrics_details(report))


def run_spotify_import(
    sessions: sessionmaker[Session], url: str, progress: Progress | None = None,
    *, fetch_lyrics: bool = True, settings: Settings | None = None, transport: httpx.BaseTransport | None = None,
) -> OnlineResult:
    """Import the Spotify playlist at ``url``, then (optionally) fetch its missing lyrics."""
    settings = settings or get_settings()
    try:
        parse_playlist_id(url)  # a typo is reported before any setting or network is needed
        with SpotifyClient.from_settings(settings, transport=transport) as client:
            imported = import_spotify_playlist(sessions, url, progress, client=client)
    except ValueError as exc:
        return OnlineResult(False, str(exc))
    except ConnectorError as exc:
        return OnlineResult(False, f"Could not import the playlist: {exc}")
    result = OnlineResult(True, imported.summary(), spotify=imported, playlist_id=imported.playlist_id,
                          details=[str(p) for p in imported.report.problems])
    if fetch_lyrics:
        lyrics = run_lyrics_fetch(sessions, imported.playlist_id, progress, settings=settings, transport=transport)
        result.lyrics = lyrics.lyrics
        result.message += f"\nLyrics: {lyrics.message}"
        result.details += lyrics.details
        result.ok = result.ok and lyrics.ok
    return result


def write_clean_copy(
    sessions: sessionmaker[Session], playlist_id: int, name: str | None = None, progress: Progress | None = None,
    *, client: SpotifyClient | None = None, settings: Settings | None = None,
) -> tuple[str, int]:
    """Create a private Spotify playlist of the songs whose verdict is ``approved`` (a
    person's override counts) and that are Spotify tracks; returns (link, tracks added)."""
    with sessions.begin() as session:
        playlist = session.get(Playlist, playlist_id)
        if playlist is None:
            raise LookupError(f"no playlist with id {playlist_id}")
        rows = playlist_songs(session, playlist_id)
        title = name or f"{playlist.name} (clean)"
        description = f"Approved songs from {playlist.name}, chosen with Discern"
    uris = list(dict.fromkeys(
        r.spotify_uri for r in rows if r.verdict == "approved" and (r.spotify_uri or "").startswith("spotify:track:")
    ))
    if not uris:
        raise ValueError("no approved Spotify tracks in this playlist yet: analyse it (and import it from Spotify) first")
    own = client is None
    client = client or SpotifyClient.from_settings(settings)
    try:
        spotify_id, link = client.create_playlist(title[:100], description[:300], public=False)
        client.add_items(spotify_id, uris, progress)
    finally:
        if own:
            client.close()
    return link, len(uris)
