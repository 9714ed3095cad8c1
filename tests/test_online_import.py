"""Online sources into a real library database (SQLite, and PostgreSQL with
TEST_DATABASE_URL): Spotify playlist import keyed by snapshot id, lyrics fetching with the
lookup cache (found / not found / error TTLs), sources that stop (a long 429) or time out,
answers whose text no database stores (lone surrogates, NUL), and the clean copy written
back. Every HTTP answer is recorded."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from pipelines.connectors.genius import GeniusProvider
from pipelines.connectors.lyrics_cache import (
    cached_lookup,
    lookup_query,
    purge_expired,
    remember_lookup,
    time_to_live,
)
from pipelines.connectors.lyrics_fetch import fetch_missing_lyrics
from pipelines.connectors.lyrics_providers import (
    NOT_TEXT,
    LocalFilesProvider,
    LrclibProvider,
    LyricsLookup,
)
from pipelines.connectors.online import (
    available_online_sources,
    run_lyrics_fetch,
    run_spotify_import,
    write_clean_copy,
)
from pipelines.connectors.rate_limit import TokenBucket
from pipelines.connectors.spotify import SpotifyClient
from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.importers.spotify_playlist import import_spotify_playlist
from pipelines.settings import Settings
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import (
    CachedLyricsLookup,
    Lyrics,
    Playlist,
    RemotePlaylist,
    Song,
    utcnow,
)
from pipelines.store.repository import set_override
from tests.http_fixtures import RecordedServer, fixture_json, json_answer

PLAYLIST_ID = "3cEYpjA9oz9GiPac4AsH4n"
PLAYLIST_URL = f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=abc"
SETTINGS = Settings({"DISCERN_HTTP_RETRIES": "1", "DISCERN_LYRICS_PROVIDERS": "lrclib,genius",
                     "DISCERN_GENIUS_TOKEN": "genius-test-token"})
QUIET = {"bucket": TokenBucket(0), "sleep": lambda seconds: None}


def spotify_server(snapshot: str = "AAAAB3snapshotONE", page: dict | None = None) -> RecordedServer:
    playlist = fixture_json("spotify/playlist.json")
    playlist["snapshot_id"] = snapshot
    return (
        RecordedServer()
        .add("POST", "/api/token", json_answer("spotify/token_client_credentials.json"))
        .add("GET", f"/v1/playlists/{PLAYLIST_ID}", json_answer(playlist))
        .add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", json_answer(page or fixture_json("spotify/playlist_items_page.json")))
    )


def spotify(server: RecordedServer, refresh_token: str = "") -> SpotifyClient:
    return SpotifyClient("client-id", "client-secret", refresh_token=refresh_token, settings=SETTINGS,
                         transport=server.transport, **QUIET)


def library_playlist(sessions, playlist_id: int) -> list[tuple[str, str]]:
    with sessions.begin() as session:
        return [(row.title, row.spotify_uri) for row in playlist_songs(session, playlist_id)]


# ---------------------------------------------------------------- Spotify import


def test_import_a_playlist_then_the_same_snapshot_does_nothing(sessions):
    server = spotify_server()
    progress = []
    first = import_spotify_playlist(sessions, PLAYLIST_URL, lambda *a: progress.append(a), client=spotify(server))
    assert not first.unchanged and first.playlist_name == "Youth Night Mix"
    assert (first.report.rows, first.report.songs_created, first.report.playlist_songs) == (5, 3, 3)
    assert [str(p) for p in first.report.problems] == [
        "item 3: not a song but an episode", "item 4: no longer available on Spotify"
    ]
    assert library_playlist(sessions, first.playlist_id) == [
        ("Lanterns on the Water", "spotify:track:4iV5W9uYEdYUVa79Axb7Rh"),
        ("Paper Boats", "spotify:track:1301WleyT98MSxVHPZCA6M"),
        ("Hymn Sketch", "spotify:local:Church+Band+Demo:Basement+Tapes:Hymn+Sketch:188"),
    ]
    with sessions.begin() as session:
        paper = session.scalar(select(Song).where(Song.title == "Paper Boats"))
        assert (paper.artist, paper.album, paper.duration_ms, paper.explicit) == (
            "Marigold Street, Ada Stone", "Gutter Rain", 201000, True
        )
        link = session.scalar(select(RemotePlaylist))
        assert (link.system, link.remote_id, link.snapshot_id, link.playlist_id) == (
            "spotify", PLAYLIST_ID, "AAAAB3snapshotONE", first.playlist_id
        )
        playlist = session.get(Playlist, first.playlist_id)
        assert (playlist.source, playlist.description) == ("spotify", "Songs for the Saturday youth night")
        updated = playlist.updated_at
    assert progress[-1][:2] == (5, 5)

    again = RecordedServer()
    again.routes = spotify_server().routes
    second = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(again))
    assert second.unchanged and second.playlist_id == first.playlist_id
    assert "unchanged since the last import" in second.summary()
    assert again.paths("GET") == [f"/v1/playlists/{PLAYLIST_ID}"]  # no page of items read
    with sessions.begin() as session:
        assert session.scalar(select(func.count(Song.id))) == 3
        assert session.get(Playlist, first.playlist_id).updated_at == updated


def test_a_changed_snapshot_updates_membership_and_order(sessions):
    first = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    page = fixture_json("spotify/playlist_items_page.json")
    lanterns, paper = page["items"][0], page["items"][1]
    newcomer = copy.deepcopy(lanterns)
    newcomer["item"].update(name="Quiet Hours", id="6rqhFgbbKwnb9MLmUQDhG6", uri="spotify:track:6rqhFgbbKwnb9MLmUQDhG6")
    page["items"] = [paper, newcomer]  # Lanterns removed, a new song, new order
    page["total"] = 2
    changed = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server("AAAAB3snapshotTWO", page)))
    assert not changed.unchanged and changed.playlist_id == first.playlist_id
    assert [title for title, _ in library_playlist(sessions, first.playlist_id)] == ["Paper Boats", "Quiet Hours"]
    with sessions.begin() as session:
        assert session.scalar(select(RemotePlaylist.snapshot_id)) == "AAAAB3snapshotTWO"
        # The song that left the playlist stays in the library (with anything known about it).
        assert session.scalar(select(func.count(Song.id))) == 4


def test_a_playlist_of_the_same_name_from_a_csv_is_not_overwritten(sessions):
    with sessions.begin() as session:
        save_records(session, [SongRecord(row=2, title="Some Hymn", artist="Choir")],
                     ImportReport("mix.csv", "csv"), playlist="Youth Night Mix")
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    assert imported.playlist_name == "Youth Night Mix (Spotify)"
    with sessions.begin() as session:
        csv_playlist = session.scalar(select(Playlist).where(Playlist.name == "Youth Night Mix"))
        assert [entry.song.title for entry in csv_playlist.entries] == ["Some Hymn"]


def test_spotify_songs_find_the_songs_a_csv_export_created(sessions):
    with sessions.begin() as session:
        save_records(session, [SongRecord(row=2, title="Paper Boats", artist="Marigold Street, Ada Stone",
                                          external_ids={"spotify": "spotify:track:1301WleyT98MSxVHPZCA6M"},
                                          lyrics="Folded up the Sunday paper")], ImportReport("x.csv", "spotify-csv"))
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    assert imported.report.songs_created == 2 and imported.report.imported == 3


# ---------------------------------------------------------------- lyrics fetching and the cache


def lyrics_server() -> RecordedServer:
    def lrclib_get(request: httpx.Request) -> httpx.Response:
        if request.url.params["track_name"] == "Lanterns on the Water":
            return json_answer("lrclib/get_found.json")
        return json_answer("lrclib/get_not_found.json", 404)

    def lrclib_search(request: httpx.Request) -> httpx.Response:
        if request.url.params["track_name"] == "Paper Boats":
            return json_answer("lrclib/search_results.json")
        return json_answer([])

    return (
        RecordedServer()
        .add("GET", "lrclib.test/api/get", lrclib_get)
        .add("GET", "lrclib.test/api/search", lrclib_search)
        .add("GET", "api.genius.com/search", json_answer("genius/search_empty.json"))
    )


def providers(server: RecordedServer) -> list:
    return [
        LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=server.transport, **QUIET),
        GeniusProvider("genius-test-token", settings=SETTINGS, transport=server.transport, **QUIET),
    ]


def test_fetch_missing_lyrics_stores_raw_text_and_caches_every_answer(sessions):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    server = lyrics_server()
    progress = []
    report = fetch_missing_lyrics(sessions, imported.playlist_id, lambda *a: progress.append(a),
                                  settings=SETTINGS, providers=providers(server))
    assert (report.songs, report.found, report.not_found, report.errors) == (3, 2, 1, 0)
    assert report.found_by == {"lrclib": 2}
    assert [p[:2] for p in progress] == [(1, 3), (2, 3), (3, 3)]
    assert progress[2][2] == "'Hymn Sketch' by Church Band Demo: not found"
    with sessions.begin() as session:
        rows = {s.title: s.lyrics for s in session.scalars(select(Song))}
        assert rows["Lanterns on the Water"].text.startswith("[Verse 1]\nWe hung our lanterns")  # raw
        assert rows["Lanterns on the Water"].source == "lrclib: https://lrclib.test/api/get/4242"
        assert rows["Paper Boats"].text.startswith("[ar: Marigold Street]")  # synced, cleaned at analysis
        assert rows["Hymn Sketch"] is None
        cache = {(c.provider, c.query.split("|")[0], c.status) for c in session.scalars(select(CachedLyricsLookup))}
        assert cache == {
            ("lrclib", "lanterns on the water", "found"), ("lrclib", "paper boats", "found"),
            ("lrclib", "hymn sketch", "not_found"), ("genius", "hymn sketch", "not_found"),
        }
        not_found = session.scalar(select(CachedLyricsLookup).where(CachedLyricsLookup.status == "not_found"))
        assert timedelta(hours=23) < not_found.expires_at - utcnow() <= timedelta(hours=24)

    # Again: only the song without lyrics is looked at, and the cache answers for it.
    quiet = lyrics_server()
    again = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=providers(quiet))
    assert (again.songs, again.not_found, again.from_cache) == (1, 1, 1)
    assert quiet.requests == []


def test_a_cached_answer_is_asked_again_once_it_expires(sessions):
    query = lookup_query("Paper Boats", "Marigold Street", "", 201_000)
    assert query == "paper boats|marigold street||201"
    start = utcnow()
    found = LyricsLookup("found", "lrclib", text="Folded up the Sunday paper", url="https://lrclib.test/api/get/7003")
    with sessions.begin() as session:
        remember_lookup(session, "lrclib", query, found, now=start, settings=SETTINGS)
        remember_lookup(session, "genius", query, LyricsLookup("error", "genius", message="HTTP 502"), now=start,
                        settings=SETTINGS)
        remember_lookup(session, "other", query, LyricsLookup("not_found", "other"), now=start, settings=SETTINGS)
    with sessions.begin() as session:
        assert cached_lookup(session, "lrclib", query, now=start + timedelta(days=6, hours=23)) == found
        assert cached_lookup(session, "lrclib", query, now=start + timedelta(days=7, seconds=1)) is None
        assert cached_lookup(session, "genius", query, now=start + timedelta(hours=11)).message == "HTTP 502"
        assert cached_lookup(session, "genius", query, now=start + timedelta(hours=12, seconds=1)) is None
        assert cached_lookup(session, "other", query, now=start + timedelta(hours=23)).status == "not_found"
        assert cached_lookup(session, "other", query, now=start + timedelta(hours=24, seconds=1)) is None
        assert cached_lookup(session, "lrclib", "some|other||", now=start) is None
    with sessions.begin() as session:  # storing again replaces the entry
        remember_lookup(session, "lrclib", query, LyricsLookup("not_found", "lrclib"), now=start, settings=SETTINGS)
    with sessions.begin() as session:
        assert session.scalar(select(func.count(CachedLyricsLookup.id)).where(CachedLyricsLookup.provider == "lrclib")) == 1
        assert cached_lookup(session, "lrclib", query, now=start).status == "not_found"
        assert purge_expired(session, now=start + timedelta(hours=13)) == 1  # the genius error
        assert purge_expired(session, now=start + timedelta(days=2)) == 2


def test_cache_times_come_from_the_settings():
    settings = Settings({"DISCERN_LYRICS_CACHE_FOUND_HOURS": "1", "DISCERN_LYRICS_CACHE_NOT_FOUND_HOURS": "2",
                         "DISCERN_LYRICS_CACHE_ERROR_HOURS": "0"})
    assert time_to_live("found", settings) == timedelta(hours=1)
    assert time_to_live("not_found", settings) == timedelta(hours=2)
    assert time_to_live("error", Settings({})) == timedelta(hours=12)
    assert time_to_live("found", Settings({})) == timedelta(days=7)


def test_song_errors_are_cached_and_reported(sessions):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    server = RecordedServer().add("GET", "/api/get", httpx.Response(500)).add("GET", "/search", json_answer("genius/search_empty.json"))
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=providers(server))
    assert (report.errors, report.found) == (3, 0)
    assert "lrclib: LRCLIB answered HTTP 500 after 2 tries" in report.problems[0]
    with sessions.begin() as session:
        errors = list(session.scalars(select(CachedLyricsLookup).where(CachedLyricsLookup.status == "error")))
        assert len(errors) == 3
        assert all(timedelta(hours=11) < e.expires_at - utcnow() <= timedelta(hours=12) for e in errors)


def test_an_unreachable_source_stops_at_once_and_the_others_go_on(sessions, tmp_path):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    (tmp_path / "The Quiet Harbour - Lanterns on the Water.txt").write_text("Hold the light\n", encoding="utf-8")
    offline = RecordedServer().add("GET", "/api/get", httpx.ConnectError("[Errno -3] Temporary failure in name resolution"))
    genius_refused = RecordedServer().add("GET", "/search", json_answer("genius/unauthorized.json", 401))
    sources = [
        LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=offline.transport, **QUIET),
        GeniusProvider("bad-token", settings=SETTINGS, transport=genius_refused.transport, **QUIET),
        LocalFilesProvider(tmp_path, settings=SETTINGS),
    ]
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=sources)
    assert len(offline.requests) == 1 and len(genius_refused.requests) == 1  # each asked once, then dropped
    assert set(report.unavailable) == {"lrclib", "genius"}
    assert "LRCLIB is unreachable" in report.unavailable["lrclib"]
    assert "Genius refused the request (HTTP 401)" in report.unavailable["genius"]
    assert (report.found, report.not_found, report.not_tried) == (1, 2, 0)
    assert report.found_by == {"file": 1}
    with sessions.begin() as session:
        assert session.scalar(select(func.count(CachedLyricsLookup.id))) == 0  # an outage is not remembered
        assert session.scalar(select(Lyrics.source)) == "file:The Quiet Harbour - Lanterns on the Water.txt"


def test_with_every_source_unreachable_the_run_stops_after_one_try(sessions):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    offline = RecordedServer().add("GET", "/api/get", httpx.ConnectError("[Errno 101] Network is unreachable"))
    start = time.monotonic()
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=[
        LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=offline.transport, **QUIET)])
    assert time.monotonic() - start < 2
    assert report.stopped and report.not_tried == 3 and len(offline.requests) == 1
    assert "3 not tried because no lyrics source could be reached" in report.summary()


# ---------------------------------------------------------------- page functions and write-back


def test_available_online_sources_follow_the_settings(tmp_path):
    assert available_online_sources(Settings({})) == ["lrclib"]
    full = Settings({"DISCERN_SPOTIFY_CLIENT_ID": "id", "DISCERN_SPOTIFY_CLIENT_SECRET": "secret",
                     "DISCERN_SPOTIFY_REFRESH_TOKEN": "refresh", "DISCERN_GENIUS_TOKEN": "t",
                     "DISCERN_LYRICS_DIR": str(tmp_path), "DISCERN_LYRICS_PROVIDERS": "genius,lrclib,local"})
    assert available_online_sources(full) == ["spotify", "spotify-write", "genius", "lrclib", "local"]
    assert available_online_sources(Settings({"DISCERN_LYRICS_PROVIDERS": "nonsense"})) == []


def test_run_spotify_import_reports_bad_input_and_missing_settings(sessions):
    configured = Settings({"DISCERN_SPOTIFY_CLIENT_ID": "id", "DISCERN_SPOTIFY_CLIENT_SECRET": "secret"})
    result = run_spotify_import(sessions, "not a playlist", settings=configured)
    assert not result.ok and "is not a Spotify playlist" in result.message
    result = run_spotify_import(sessions, PLAYLIST_ID, settings=Settings({}))
    assert not result.ok and "DISCERN_SPOTIFY_CLIENT_ID" in result.message


def test_run_spotify_import_then_lyrics_in_one_call(sessions):
    settings = Settings({"DISCERN_SPOTIFY_CLIENT_ID": "id", "DISCERN_SPOTIFY_CLIENT_SECRET": "secret",
                         "DISCERN_LRCLIB_URL": "https://lrclib.test", "DISCERN_LYRICS_PROVIDERS": "lrclib",
                         "DISCERN_LRCLIB_RATE_PER_MINUTE": "0", "DISCERN_SPOTIFY_RATE_PER_MINUTE": "0"})
    server = spotify_server()
    server.routes.update(lyrics_server().routes)
    result = run_spotify_import(sessions, PLAYLIST_URL, settings=settings, transport=server.transport)
    assert result.ok, result.message
    assert result.spotify.report.songs_created == 3 and result.lyrics.found == 2
    assert "Lyrics: playlist 'Youth Night Mix': 3 songs without lyrics; 2 found (2 from lrclib)" in result.message


def test_clean_copy_holds_the_approved_spotify_tracks(sessions):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    with sessions.begin() as session:
        ids = {s.title: s.id for s in session.scalars(select(Song))}
        set_override(session, ids["Lanterns on the Water"], "approved")
        set_override(session, ids["Hymn Sketch"], "approved")  # a local file: cannot be added
        set_override(session, ids["Paper Boats"], "flagged")
    server = (
        RecordedServer()
        .add("POST", "/api/token", json_answer("spotify/token_refreshed.json"))
        .add("POST", "/v1/me/playlists", json_answer("spotify/me_playlist_created.json", 201))
        .add("POST", "/v1/playlists/7d2D2S200NyUE5KYs80PwO/items", json_answer("spotify/add_items.json", 201))
    )
    link, count = write_clean_copy(sessions, imported.playlist_id, client=spotify(server, refresh_token="AQDrefresh"))
    assert (link, count) == ("https://open.spotify.com/playlist/7d2D2S200NyUE5KYs80PwO", 1)
    create, add = server.requests[1], server.requests[2]
    assert json.loads(create.content) == {
        "name": "Youth Night Mix (clean)", "description": "Approved songs from Youth Night Mix, chosen with Discern",
        "public": False,
    }
    assert json.loads(add.content) == {"uris": ["spotify:track:4iV5W9uYEdYUVa79Axb7Rh"]}

    with sessions.begin() as session:
        set_override(session, ids["Lanterns on the Water"], "review")
    with pytest.raises(ValueError, match="no approved Spotify tracks"):
        write_clean_copy(sessions, imported.playlist_id, client=spotify(server, refresh_token="AQDrefresh"))


# ---------------------------------------------------------------- answers no database stores, 429s and timeouts

SONGS = {  # the imported playlist's songs: title -> artist
    "Lanterns on the Water": "The Quiet Harbour",
    "Paper Boats": "Marigold Street, Ada Stone",
    "Hymn Sketch": "Church Band Demo",
}


def lrclib_finds(request: httpx.Request) -> httpx.Response:
    """LRCLIB knowing every song asked for."""
    title = request.url.params["track_name"]
    return json_answer({"id": 1 + list(SONGS).index(title), "trackName": title,
                        "artistName": request.url.params.get("artist_name", ""), "plainLyrics": f"LRCLIB sings {title}\nla la"})


def genius_finds(request: httpx.Request) -> httpx.Response:
    """Genius knowing every song: the search finds it, its page holds its lyrics."""
    if request.url.host == "api.genius.com":
        title = next(t for t in SONGS if request.url.params["q"] == f"{t} {SONGS[t]}")
        url = f"https://genius.com/song-{list(SONGS).index(title)}"
        return json_answer({"response": {"hits": [{"type": "song", "result": {
            "title": title, "artist_names": SONGS[title], "url": url}}]}})
    title = list(SONGS)[int(request.url.path.rsplit("-", 1)[-1])]
    return httpx.Response(200, text=f'<div data-lyrics-container="true">Genius sings {title}<br>oh oh</div>')


def wire_json(text: str, status: int = 200) -> httpx.Response:
    """JSON as bytes on the wire, so "\\ud800" escapes reach the client as a server sent them."""
    return httpx.Response(status, content=text.encode("ascii"), headers={"Content-Type": "application/json"})


def test_lyrics_with_a_lone_surrogate_or_nul_are_one_song_error_and_the_others_are_fetched(sessions):
    """The reported bug: a "\\ud800" in one song's lyrics ended run_lyrics_fetch for the whole
    playlist with an encoding error naming no song."""
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))

    def lrclib(request: httpx.Request) -> httpx.Response:
        title = request.url.params["track_name"]
        if title == "Lanterns on the Water":
            return wire_json('{"id": 1, "trackName": "Lanterns on the Water", "plainLyrics": "Hold \\ud83c the light"}')
        if title == "Paper Boats":
            return wire_json('{"id": 2, "trackName": "Paper Boats", "plainLyrics": "Folded \\u0000 paper"}')
        return wire_json('{"message": "upstream \\udfff failed \\u0000"}', 500)

    server = RecordedServer().add("GET", "lrclib.test/api/get", lrclib).add("GET", "api.genius.com/search", genius_finds)
    server.add("GET", "genius.com/song-0", genius_finds)
    settings = Settings({"DISCERN_LRCLIB_URL": "https://lrclib.test", "DISCERN_LYRICS_PROVIDERS": "lrclib,genius",
                         "DISCERN_GENIUS_TOKEN": "genius-test-token", "DISCERN_HTTP_RETRIES": "0",
                         "DISCERN_LRCLIB_RATE_PER_MINUTE": "0", "DISCERN_GENIUS_RATE_PER_MINUTE": "0"})
    result = run_lyrics_fetch(sessions, imported.playlist_id, settings=settings, transport=server.transport)
    report = result.lyrics
    assert (report.found, report.errors, report.not_found) == (1, 2, 0), result.message
    assert report.found_by == {"genius": 1}  # LRCLIB's unusable text did not stop Genius being asked
    assert not result.ok and "1 found (1 from genius)" in result.message
    assert result.details == [
        f"'Paper Boats' by Marigold Street, Ada Stone: lrclib: {NOT_TEXT}; genius: Genius answered HTTP 599",
        "'Hymn Sketch' by Church Band Demo: lrclib: LRCLIB answered HTTP 500: upstream \ufffd failed ; genius:"
        " Genius answered HTTP 599",
    ]
    with sessions.begin() as session:
        lyrics = {s.title: s.lyrics for s in session.scalars(select(Song))}
        assert lyrics["Lanterns on the Water"].text == "Genius sings Lanterns on the Water\noh oh"
        assert lyrics["Paper Boats"] is None and lyrics["Hymn Sketch"] is None
        cached = {(c.provider, c.query.split("|")[0]): c for c in session.scalars(select(CachedLyricsLookup))}
        assert cached["lrclib", "lanterns on the water"].status == "error"
        assert cached["lrclib", "lanterns on the water"].message == NOT_TEXT
        assert cached["lrclib", "lanterns on the water"].text is None
        assert cached["lrclib", "hymn sketch"].message == "LRCLIB answered HTTP 500: upstream \ufffd failed "


def test_a_value_the_database_refuses_costs_that_song_only(sessions, monkeypatch):
    import pipelines.connectors.lyrics_fetch as lyrics_fetch

    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    real = lyrics_fetch.remember_lookup

    def refusing(session, provider, query, lookup, **options):
        if query.startswith("paper boats"):
            "\ud800".encode()  # what the database driver raised for the reported bug
        real(session, provider, query, lookup, **options)

    monkeypatch.setattr(lyrics_fetch, "remember_lookup", refusing)
    server = RecordedServer().add("GET", "/api/get", lrclib_finds)
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=[
        LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=server.transport, **QUIET)])
    assert (report.found, report.errors) == (2, 1)
    assert report.problems == ["'Paper Boats' by Marigold Street, Ada Stone: database: the answer could not be stored"
                               " ('utf-8' codec can't encode character '\\ud800' in position 0: surrogates not allowed);"
                               " not kept"]
    with sessions.begin() as session:
        assert {s.title for s in session.scalars(select(Song)) if s.lyrics} == {"Lanterns on the Water", "Hymn Sketch"}


def limited_after_first_song(source: str) -> RecordedServer:
    """``source`` answers the playlist's first song, then asks to wait an hour (Retry-After: 3600)."""
    def answer(request: httpx.Request) -> httpx.Response:
        asked = request.url.params.get("track_name") or request.url.params.get("q") or request.url.path
        if "Lanterns" in asked or asked == "/song-0":
            return (lrclib_finds if source == "lrclib" else genius_finds)(request)
        return json_answer({"error": "slow down"}, 429, {"Retry-After": "3600"})

    paths = ["lrclib.test/api/get"] if source == "lrclib" else ["api.genius.com/search", "genius.com/song-0"]
    server = RecordedServer()
    for path in paths:
        server.add("GET", path, answer)
    return server


def everything_found(source: str) -> RecordedServer:
    if source == "lrclib":
        return RecordedServer().add("GET", "lrclib.test/api/get", lrclib_finds)
    server = RecordedServer().add("GET", "api.genius.com/search", genius_finds)
    for n in range(len(SONGS)):
        server.add("GET", f"genius.com/song-{n}", genius_finds)
    return server


def source_on(name: str, server: RecordedServer, sleeps: list[float]):
    options = {"bucket": TokenBucket(0), "sleep": sleeps.append}
    if name == "lrclib":
        return LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=server.transport, **options)
    return GeniusProvider("genius-test-token", settings=SETTINGS, transport=server.transport, **options)


@pytest.mark.parametrize("limited, other", [("lrclib", "genius"), ("genius", "lrclib")])
def test_a_long_429_stops_that_source_for_the_run_and_the_rest_is_still_fetched(sessions, limited, other):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    slow, fine, sleeps = limited_after_first_song(limited), everything_found(other), []
    sources = [source_on(limited, slow, sleeps), source_on(other, fine, sleeps)]
    started = time.monotonic()
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS, providers=sources)
    assert time.monotonic() - started < 5 and sleeps == []  # nobody waited the hour
    assert (report.found, report.errors, report.not_tried) == (3, 0, 0)
    assert report.found_by == {limited: 1, other: 2}
    label = {"lrclib": "LRCLIB", "genius": "Genius"}[limited]
    assert set(report.unavailable) == {limited}
    assert f"{label} asks to wait 3600 s before the next request" in report.unavailable[limited]
    # Asked once about the second song (the 429), never about the third.
    asked = [r.url.params.get("track_name") or r.url.params.get("q") for r in slow.requests]
    assert not any("Hymn Sketch" in a for a in asked if a) and sum("Paper Boats" in (a or "") for a in asked) == 1
    with sessions.begin() as session:
        sources_of = {s.title: s.lyrics.source.split(":")[0] for s in session.scalars(select(Song))}
        assert sources_of == {"Lanterns on the Water": limited, "Paper Boats": other, "Hymn Sketch": other}
        cached = {(c.provider, c.query.split("|")[0], c.status) for c in session.scalars(select(CachedLyricsLookup))}
        # The source's found answer is remembered; its rate limit is not (an outage is not an answer).
        assert cached == {(limited, "lanterns on the water", "found"), (other, "paper boats", "found"),
                          (other, "hymn sketch", "found")}


@pytest.mark.parametrize("source", ["lrclib", "genius"])
def test_a_lasting_read_timeout_is_cached_as_an_error_for_the_error_hours(sessions, source):
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(spotify_server()))
    server = everything_found(source)
    slow_route = ("GET", "lrclib.test/api/get") if source == "lrclib" else ("GET", "genius.com/song-1")

    def paper_boats_times_out(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("track_name") == "Paper Boats" or request.url.path == "/song-1":
            raise httpx.ReadTimeout("timed out")
        return (lrclib_finds if source == "lrclib" else genius_finds)(request)

    server.routes[slow_route] = [paper_boats_times_out]
    sleeps: list[float] = []
    report = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS,
                                  providers=[source_on(source, server, sleeps)])
    label = {"lrclib": "LRCLIB", "genius": "Genius"}[source]
    assert (report.found, report.errors, report.unavailable) == (2, 1, {})  # the source goes on after a timeout
    assert report.problems == [f"'Paper Boats' by Marigold Street, Ada Stone: {source}: {label} did not answer in time"
                               " (read timeout) after 2 tries; try again later"]
    assert len(sleeps) == 1  # one backoff before the retry (DISCERN_HTTP_RETRIES=1)
    with sessions.begin() as session:
        error = session.scalar(select(CachedLyricsLookup).where(CachedLyricsLookup.status == "error"))
        assert (error.provider, error.query.split("|")[0]) == (source, "paper boats")
        assert "did not answer in time" in error.message
        assert timedelta(hours=11) < error.expires_at - utcnow() <= timedelta(hours=12)  # DISCERN_LYRICS_CACHE_ERROR_HOURS

    # Within those hours the song is answered from the cache: the slow source is not asked again.
    before = len(server.requests)
    again = fetch_missing_lyrics(sessions, imported.playlist_id, settings=SETTINGS,
                                 providers=[source_on(source, server, sleeps)])
    assert (again.songs, again.errors, again.from_cache) == (1, 1, 1) and len(server.requests) == before


def test_spotify_texts_no_database_stores_are_cleaned_or_named_and_good_tracks_kept(sessions):
    page = fixture_json("spotify/playlist_items_page.json")
    lanterns = page["items"][0]
    odd = []
    for changes in (
        {"name": "Broken \ud800 title"},  # the row is skipped and named
        {"name": "Artists Not A List", "artists": 7, "id": "x", "uri": "spotify:track:0000000000000000000007"},
        {"name": "Uri With NUL", "uri": "spotify:track:\x00bad"},  # imported without the id
        {"name": "Odd Type", "type": "podcast \ud800" + "x" * 5000},
    ):
        entry = copy.deepcopy(lanterns)
        entry["item"].update(changes)
        odd.append(entry)
    page["items"] = [*odd, lanterns]
    page["total"] = 5
    playlist = fixture_json("spotify/playlist.json")
    playlist.update(name="x" * 239 + " " + "Youth \ud800 Night\x00", description="Songs \x00 for \udfff the night",
                    snapshot_id="snap\ud800" + "s" * 400, external_urls={"spotify": "javascript:alert(1)"})
    server = (
        RecordedServer()
        .add("POST", "/api/token", json_answer("spotify/token_client_credentials.json"))
        .add("GET", f"/v1/playlists/{PLAYLIST_ID}", wire_json(json.dumps(playlist)))
        .add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", wire_json(json.dumps(page)))
    )
    imported = import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(server))
    assert imported.playlist_name == "x" * 239  # cut to fit, and found again by that name
    assert [str(p) for p in imported.report.problems] == [
        "item 4: not a song but a 'podcast \\ud800xxxxxxxxxxxxxxxxxxxxxx...",  # cut short, printable
        "track 1: the title contains NUL characters or broken Unicode (binary data, not text); skipped",
        "track 3: the spotify id is not a usable id (over 300 characters or binary); imported without it"
        " (the song was still imported)",
    ]
    assert [title for title, _ in library_playlist(sessions, imported.playlist_id)] == [
        "Artists Not A List", "Uri With NUL", "Lanterns on the Water"]
    with sessions.begin() as session:
        stored = session.get(Playlist, imported.playlist_id)
        link = session.scalar(select(RemotePlaylist))
        assert stored.description == "Songs  for \ufffd the night"
        assert link.snapshot_id.startswith("sha256:") and len(link.snapshot_id) == 71
        assert link.url == f"https://open.spotify.com/playlist/{PLAYLIST_ID}"  # not the javascript: link
        assert session.scalar(select(Song).where(Song.title == "Artists Not A List")).artist == ""
    again = RecordedServer()
    again.routes = server.routes
    assert import_spotify_playlist(sessions, PLAYLIST_ID, client=spotify(again)).unchanged  # same snapshot, same key
