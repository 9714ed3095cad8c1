"""The library page's online sources (AppTest, a real database, the dashboard fixture of
tests/test_dashboard_pages.py):

- with the network unreachable, the Spotify import and the lyrics fetch answer within a few
  seconds with a clear message. Unreachable is real: LRCLIB at a closed loopback port,
  Spotify and Genius through a proxy at that port;
- without Spotify credentials the Spotify import is not offered (no control that cannot work);
- with credentials, Spotify and LRCLIB answer from recorded responses (tests/http_fixtures.py,
  the routes of tests/test_online_import.py, handed to the page's ``run_spotify_import`` as
  its transport): an import creates the playlist with its songs and lyrics and the page
  shows it; a failing answer gives a clear message and writes nothing.
"""

from __future__ import annotations

import copy
import time

import pytest
from sqlalchemy import func, select

from pipelines.connectors import online
from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.settings import get_settings
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import Playlist, RemotePlaylist, Song
from tests.http_fixtures import RecordedServer, fixture_json, json_answer
from tests.test_dashboard_pages import dashboard, frame, metrics  # noqa: F401  (the page fixture, reused)
from tests.test_online_import import PLAYLIST_ID, PLAYLIST_URL, lyrics_server, spotify_server
from tests.test_online_offline import CLOSED, OFFLINE, PROXY_VARIABLES

SPOTIFY_KEYS = ("library-spotify-url", "library-spotify-lyrics", "library-spotify-import")
SPOTIFY_SETTINGS = ("DISCERN_SPOTIFY_CLIENT_ID", "DISCERN_SPOTIFY_CLIENT_SECRET", "DISCERN_SPOTIFY_REFRESH_TOKEN")
RECORDED = {
    "DISCERN_SPOTIFY_CLIENT_ID": "client-id",
    "DISCERN_SPOTIFY_CLIENT_SECRET": "client-secret",
    "DISCERN_LYRICS_PROVIDERS": "lrclib",
    "DISCERN_LRCLIB_URL": "https://lrclib.test",
    "DISCERN_LRCLIB_RATE_PER_MINUTE": "0",
    "DISCERN_SPOTIFY_RATE_PER_MINUTE": "0",
    "DISCERN_HTTP_RETRIES": "0",
}


@pytest.fixture
def offline(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", CLOSED)
    monkeypatch.setenv("HTTP_PROXY", CLOSED)
    for name, value in OFFLINE.items():
        if name != "DISCERN_LOAD_SAMPLE_LIBRARY":  # the page fixture loads the sample library
            monkeypatch.setenv(name, value)


def page_texts(at) -> str:
    return "\n".join([t.value for t in at.text] + [e.value for e in at.error] + [s.value for s in at.success])


def test_library_page_offline_answers_fast_with_a_clear_message(offline, dashboard):  # noqa: F811
    with dashboard.sessions.begin() as session:
        records = [SongRecord(row=n, title=f"Offline Song {n}", artist="Nobody Online") for n in range(1, 4)]
        save_records(session, records, ImportReport("test", "csv"), playlist="Offline Mix")
    at = dashboard.app("pages/library.py")
    assert "Online sources" in [h.value for h in at.subheader]

    at.text_input(key="library-spotify-url").input("https://open.spotify.com/playlist/3cEYpjA9oz9GiPac4AsH4n").run()
    start = time.monotonic()
    at.button(key="library-spotify-import").click().run()
    assert time.monotonic() - start < 5
    assert not at.exception, [e.value for e in at.exception]
    assert "Spotify import had problems." in [e.value for e in at.error]
    assert "Could not import the playlist: Spotify is unreachable: cannot connect to accounts.spotify.com" in page_texts(at)

    at.multiselect(key="library-pick").set_value([dashboard.playlist_id("Offline Mix")]).run()
    start = time.monotonic()
    at.button(key="library-fetch-lyrics").click().run()
    assert time.monotonic() - start < 5
    assert not at.exception, [e.value for e in at.exception]
    shown = page_texts(at)
    assert "3 not tried because no lyrics source could be reached" in shown
    assert "LRCLIB is unreachable: cannot connect to 127.0.0.1" in shown
    assert "Genius is unreachable: cannot connect to api.genius.com" in shown


# ---------------------------------------------------------------- Spotify not configured


def widget_keys(at) -> set[str]:
    return {w.key for kind in (at.text_input, at.checkbox, at.button) for w in kind}


@pytest.fixture
def no_spotify(monkeypatch):
    for name in SPOTIFY_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def configure(monkeypatch, **environ: str | None) -> None:
    """Change settings after the page fixture read them (it clears the cache before)."""
    for name, value in environ.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("half", [None, "DISCERN_SPOTIFY_CLIENT_ID", "DISCERN_SPOTIFY_CLIENT_SECRET"])
def test_without_spotify_credentials_the_spotify_import_is_not_offered(no_spotify, monkeypatch, half, dashboard):  # noqa: F811
    configure(monkeypatch, DISCERN_LYRICS_PROVIDERS="lrclib", **({half: "set"} if half else {}))  # one is not enough
    assert bool(get_settings().discern_spotify_client_id) == (half == "DISCERN_SPOTIFY_CLIENT_ID")
    at = dashboard.app("pages/library.py")
    assert not widget_keys(at) & set(SPOTIFY_KEYS)
    # The lyrics sources that need no account are still offered.
    assert "Online sources" in [h.value for h in at.subheader]
    assert "Lyrics sources configured: lrclib" in [c.value for c in at.caption]
    assert "library-fetch-lyrics" in widget_keys(at)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_no_online_source_configured_the_section_is_absent(no_spotify, monkeypatch, dashboard):  # noqa: F811
    configure(monkeypatch, DISCERN_LYRICS_PROVIDERS="local", DISCERN_LYRICS_DIR=None)  # local without a folder
    at = dashboard.app("pages/library.py")
    assert "Online sources" not in [h.value for h in at.subheader]
    assert not widget_keys(at) & {*SPOTIFY_KEYS, "library-fetch-lyrics"}


# ---------------------------------------------------------------- Spotify from recorded answers


@pytest.fixture
def recorded(monkeypatch):
    """The online settings, and ``serve(server)``: the page's imports answer from ``server``."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DISCERN_SPOTIFY_REFRESH_TOKEN", raising=False)
    for name, value in RECORDED.items():
        monkeypatch.setenv(name, value)

    def serve(server: RecordedServer) -> RecordedServer:
        real = online.run_spotify_import  # the page imports it from this module on every run
        monkeypatch.setattr(online, "run_spotify_import",
                            lambda *args, **kwargs: real(*args, **kwargs, transport=server.transport))
        return server

    return serve


def library_counts(dashboard) -> tuple[int, int, int]:  # noqa: F811
    with dashboard.sessions.begin() as session:
        return tuple(session.scalar(select(func.count(model.id))) for model in (Playlist, Song, RemotePlaylist))


def import_from_page(dashboard, url: str = PLAYLIST_URL):  # noqa: F811
    at = dashboard.app("pages/library.py")
    assert metrics(at)["Playlists"] == "4"
    assert at.checkbox(key="library-spotify-lyrics").value  # a lyrics source is configured
    at.text_input(key="library-spotify-url").input(url).run()
    at.button(key="library-spotify-import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_importing_a_spotify_playlist_from_the_page_stores_it_and_shows_it(recorded, dashboard):  # noqa: F811
    server = spotify_server()
    server.routes.update(lyrics_server().routes)
    recorded(server)
    before = library_counts(dashboard)
    at = import_from_page(dashboard)

    assert [s.value for s in at.success] == ["Spotify import finished."] and not at.error
    shown = page_texts(at)
    assert "5 rows read, 3 songs imported (3 new, 0 updated, 0 unchanged)" in shown
    assert "playlist 'Youth Night Mix': 3 songs; 2 rows skipped, 2 problems" in shown
    assert "Lyrics: playlist 'Youth Night Mix': 3 songs without lyrics; 2 found (2 from lrclib), 1 not found" in shown
    assert list(frame(at, "library-spotify-problems")["problem"]) == [
        "item 3: not a song but an episode", "item 4: no longer available on Spotify",
    ]
    # The page shows the new playlist at once: counts, table and picker (it reruns after the import).
    assert metrics(at)["Playlists"] == "5"
    rows = frame(at, "library-playlists").set_index("playlist")
    assert rows.loc["Youth Night Mix", ["songs", "with lyrics", "source"]].tolist() == [3, 2, "spotify"]
    assert "Youth Night Mix" in at.multiselect(key="library-pick").options

    assert library_counts(dashboard) == (before[0] + 1, before[1] + 3, 1)
    with dashboard.sessions.begin() as session:
        rows = playlist_songs(session, dashboard.playlist_id("Youth Night Mix"))
        songs = [(row.title, row.spotify_uri) for row in rows]
        lyrics = {row.title: row.has_lyrics for row in rows}
    assert songs == [
        ("Lanterns on the Water", "spotify:track:4iV5W9uYEdYUVa79Axb7Rh"),
        ("Paper Boats", "spotify:track:1301WleyT98MSxVHPZCA6M"),
        ("Hymn Sketch", "spotify:local:Church+Band+Demo:Basement+Tapes:Hymn+Sketch:188"),
    ]
    assert lyrics == {"Lanterns on the Water": True, "Paper Boats": True, "Hymn Sketch": False}
    assert server.paths()[:3] == ["/api/token", f"/v1/playlists/{PLAYLIST_ID}", f"/v1/playlists/{PLAYLIST_ID}/items"]


def items_then_failure(status: int) -> RecordedServer:
    """The playlist, its first page of items (with a next page), then ``status`` for the next page."""
    first = copy.deepcopy(fixture_json("spotify/playlist_items_page.json"))
    first["total"] = 10
    first["next"] = f"https://api.spotify.com/v1/playlists/{PLAYLIST_ID}/items?offset=5&limit=5"
    server = spotify_server()
    server.routes[("GET", f"/v1/playlists/{PLAYLIST_ID}/items")] = [
        json_answer(first), json_answer({"error": {"status": status, "message": "Service unavailable"}}, status),
    ]
    server.routes.update(lyrics_server().routes)
    return server


@pytest.mark.parametrize(
    ("server", "message", "asked"),
    [
        pytest.param(
            lambda: RecordedServer()
            .add("POST", "/api/token", json_answer("spotify/token_client_credentials.json"))
            .add("GET", f"/v1/playlists/{PLAYLIST_ID}", json_answer("spotify/playlist_not_found.json", 404)),
            f"Could not import the playlist: Spotify has no playlist {PLAYLIST_ID}, or it is private"
            " (private playlists need spotify-login and DISCERN_SPOTIFY_REFRESH_TOKEN)",
            ["/api/token", f"/v1/playlists/{PLAYLIST_ID}"],
            id="playlist-404",
        ),
        pytest.param(
            lambda: items_then_failure(503),
            "Could not import the playlist: Spotify answered HTTP 503: Service unavailable",
            ["/api/token", f"/v1/playlists/{PLAYLIST_ID}", *[f"/v1/playlists/{PLAYLIST_ID}/items"] * 2],
            id="second-page-503",
        ),
        pytest.param(
            lambda: RecordedServer().add("POST", "/api/token", json_answer("spotify/token_invalid_client.json", 400)),
            "Could not import the playlist: Spotify answered HTTP 400: Invalid client secret; check"
            " DISCERN_SPOTIFY_CLIENT_ID and DISCERN_SPOTIFY_CLIENT_SECRET",
            ["/api/token"],
            id="bad-credentials",
        ),
    ],
)
def test_a_failing_spotify_answer_is_reported_and_nothing_is_half_imported(recorded, dashboard, server, message, asked):  # noqa: F811
    served = recorded(server())
    before = library_counts(dashboard)
    at = import_from_page(dashboard)

    assert [e.value for e in at.error] == ["Spotify import had problems."] and not at.success
    assert message in page_texts(at)
    assert library_counts(dashboard) == before
    assert metrics(at)["Playlists"] == "4"
    assert "Youth Night Mix" not in list(frame(at, "library-playlists")["playlist"])
    assert served.paths() == asked  # the 503 came after a first page had been read; no lyrics asked for
