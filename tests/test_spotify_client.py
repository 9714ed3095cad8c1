"""Spotify Web API client against recorded answers: playlist references, client
credentials and the OAuth code/refresh flow, paging through thousands of items, entries
that are not songs, write-back in chunks of 100, and the errors a person will meet."""

from __future__ import annotations

import base64
import copy
import json
from urllib.parse import parse_qs

import httpx
import pytest

from pipelines.connectors.http import (
    ConnectorAuthError,
    ConnectorHTTPError,
    MalformedResponse,
)
from pipelines.connectors.rate_limit import TokenBucket
from pipelines.connectors.spotify import (
    PAGE_SIZE,
    SpotifyClient,
    code_from_redirect,
    parse_playlist_id,
)
from pipelines.settings import Settings
from tests.http_fixtures import RecordedServer, fixture_json, json_answer

PLAYLIST_ID = "3cEYpjA9oz9GiPac4AsH4n"
SETTINGS = Settings({"DISCERN_HTTP_RETRIES": "2", "DISCERN_SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8888/callback"})


def spotify(server: RecordedServer, refresh_token: str = "", clock=None) -> SpotifyClient:
    options = {"clock": clock} if clock else {}
    return SpotifyClient(
        "client-id-123", "client-secret-456", refresh_token=refresh_token, settings=SETTINGS,
        transport=server.transport, bucket=TokenBucket(0), sleep=lambda s: None, **options,
    )


def token_server() -> RecordedServer:
    return RecordedServer().add("POST", "accounts.spotify.com/api/token", json_answer("spotify/token_client_credentials.json"))


def item_pages(total: int, playlist_id: str = PLAYLIST_ID) -> callable:
    """A handler serving ``total`` generated tracks in pages, like the real paging."""
    template = fixture_json("spotify/playlist_items_page.json")["items"][0]

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        limit = int(request.url.params.get("limit", 20))
        assert limit <= PAGE_SIZE
        items = []
        for n in range(offset, min(offset + limit, total)):
            entry = copy.deepcopy(template)
            entry["item"]["name"] = f"Generated Song {n + 1}"
            entry["item"]["id"] = f"{n + 1:022d}"
            entry["item"]["uri"] = f"spotify:track:{n + 1:022d}"
            items.append(entry)
        base = f"https://api.spotify.com/v1/playlists/{playlist_id}/items"
        nxt = f"{base}?offset={offset + limit}&limit={limit}&additional_types=track" if offset + limit < total else None
        return httpx.Response(200, json={"href": str(request.url), "items": items, "limit": limit, "next": nxt,
                                         "offset": offset, "previous": None, "total": total})

    return handler


@pytest.mark.parametrize(
    "reference",
    [
        PLAYLIST_ID,
        f"spotify:playlist:{PLAYLIST_ID}",
        f"spotify:user:pastordee:playlist:{PLAYLIST_ID}",
        f"https://open.spotify.com/playlist/{PLAYLIST_ID}",
        f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=abc123&pt=xyz",
        f"https://open.spotify.com/intl-de/playlist/{PLAYLIST_ID}",
        f"  https://open.spotify.com/user/pastordee/playlist/{PLAYLIST_ID}/  ",
    ],
)
def test_playlist_references(reference):
    assert parse_playlist_id(reference) == PLAYLIST_ID


@pytest.mark.parametrize("reference", ["", "hello", f"https://open.spotify.com/album/{PLAYLIST_ID}",
                                       f"https://evil.example/playlist/{PLAYLIST_ID}", "spotify:track:4iV5W9uYEdYUVa79Axb7Rh"])
def test_bad_playlist_references_say_what_is_expected(reference):
    with pytest.raises(ValueError, match="is not a Spotify playlist"):
        parse_playlist_id(reference)


def test_client_credentials_token_then_playlist():
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}", json_answer("spotify/playlist.json"))
    client = spotify(server)
    playlist = client.get_playlist(f"https://open.spotify.com/playlist/{PLAYLIST_ID}")
    assert (playlist.name, playlist.snapshot_id, playlist.total, playlist.owner) == (
        "Youth Night Mix", "AAAAB3snapshotONE", 5, "Pastor Dee"
    )
    token_request, api_request = server.requests
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"client-id-123:client-secret-456").decode()
    assert parse_qs(token_request.content.decode()) == {"grant_type": ["client_credentials"]}
    assert api_request.headers["Authorization"] == "Bearer BQDclientcredentialsTESTTOKEN0001"
    # The token is reused until it nearly expires.
    client.get_playlist(PLAYLIST_ID)
    assert server.paths("POST") == ["/api/token"]


def test_an_expiring_token_is_renewed_and_a_401_gets_one_fresh_token():
    now = [1000.0]
    server = token_server().add(
        "GET", f"/v1/playlists/{PLAYLIST_ID}",
        json_answer("spotify/playlist.json"),
        json_answer({"error": {"status": 401, "message": "The access token expired"}}, 401),
        json_answer("spotify/playlist.json"),
    )
    client = spotify(server, clock=lambda: now[0])
    client.get_playlist(PLAYLIST_ID)
    now[0] += 3590  # within a minute of expiry: renewed before the call
    client.get_playlist(PLAYLIST_ID)
    assert server.paths("POST") == ["/api/token", "/api/token", "/api/token"]  # + one after the 401
    assert len(server.paths("GET")) == 3


def test_wrong_client_secret_names_the_settings():
    server = RecordedServer().add("POST", "/api/token", json_answer("spotify/token_invalid_client.json", 400))
    with pytest.raises(ConnectorAuthError, match="Invalid client secret.*DISCERN_SPOTIFY_CLIENT_ID and DISCERN_SPOTIFY_CLIENT_SECRET"):
        spotify(server).get_playlist(PLAYLIST_ID)


def test_unconfigured_spotify_says_which_settings():
    with pytest.raises(ConnectorAuthError, match="DISCERN_SPOTIFY_CLIENT_ID and DISCERN_SPOTIFY_CLIENT_SECRET"):
        SpotifyClient.from_settings(Settings({}))


def test_missing_and_forbidden_playlists_are_explained():
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}", json_answer("spotify/playlist_not_found.json", 404))
    with pytest.raises(ConnectorHTTPError, match="no playlist .* or it is private .*spotify-login"):
        spotify(server).get_playlist(PLAYLIST_ID)
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}", json_answer({"error": {"status": 403}}, 403))
    with pytest.raises(ConnectorAuthError, match="development mode"):
        spotify(server).get_playlist(PLAYLIST_ID)


def test_one_page_of_items_skips_episodes_and_removed_tracks():
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", json_answer("spotify/playlist_items_page.json"))
    progress = []
    result = spotify(server).playlist_tracks(PLAYLIST_ID, lambda *a: progress.append(a))
    assert [t.title for t in result.tracks] == ["Lanterns on the Water", "Paper Boats", "Hymn Sketch"]
    paper = result.tracks[1]
    assert (paper.position, paper.artist, paper.album, paper.duration_ms, paper.explicit, paper.uri) == (
        2, "Marigold Street, Ada Stone", "Gutter Rain", 201000, True, "spotify:track:1301WleyT98MSxVHPZCA6M"
    )
    assert result.tracks[2].is_local and result.tracks[2].uri.startswith("spotify:local:")
    assert result.skipped == ["item 3: not a song but an episode", "item 4: no longer available on Spotify"]
    assert progress[-1][:2] == (5, 5)
    params = server.requests[1].url.params
    assert (params["limit"], params["offset"]) == (str(PAGE_SIZE), "0")


def test_older_track_shaped_entries_are_read_too():
    page = fixture_json("spotify/playlist_items_page.json")
    for entry in page["items"]:
        entry["track"] = entry.pop("item")
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", json_answer(page))
    assert len(spotify(server).playlist_tracks(PLAYLIST_ID).tracks) == 3


def test_paging_through_thousands_of_items_follows_next():
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", item_pages(2345))
    progress = []
    result = spotify(server).playlist_tracks(PLAYLIST_ID, lambda *a: progress.append(a))
    assert len(result.tracks) == 2345
    assert result.tracks[-1].title == "Generated Song 2345" and result.tracks[-1].position == 2345
    assert len(server.paths("GET")) == -(-2345 // PAGE_SIZE)
    assert [p[0] for p in progress][:2] == [50, 100] and progress[-1][:2] == (2345, 2345)


def test_paging_with_a_429_in_the_middle_waits_and_continues():
    pages = item_pages(120)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            return json_answer("spotify/rate_limited.json", 429, {"Retry-After": "2"})
        return pages(request)

    sleeps: list[float] = []
    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", flaky)
    client = SpotifyClient("id", "secret", settings=SETTINGS, transport=server.transport, bucket=TokenBucket(0),
                           sleep=sleeps.append)
    assert len(client.playlist_tracks(PLAYLIST_ID).tracks) == 120
    assert sleeps == [2.0]


def test_paging_that_does_not_advance_or_leaves_the_api_is_malformed():
    def looping(request: httpx.Request) -> httpx.Response:
        return json_answer({"items": [fixture_json("spotify/playlist_items_page.json")["items"][0]], "total": 99,
                            "next": f"https://api.spotify.com/v1/playlists/{PLAYLIST_ID}/items?offset=50&limit=50"})

    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", looping)
    with pytest.raises(MalformedResponse, match="does not advance"):
        spotify(server).playlist_tracks(PLAYLIST_ID)

    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items",
                                json_answer({"items": [], "total": 1, "next": "https://elsewhere.example/v1/x"}))
    with pytest.raises(MalformedResponse, match="not on api.spotify.com"):
        spotify(server).playlist_tracks(PLAYLIST_ID)

    server = token_server().add("GET", f"/v1/playlists/{PLAYLIST_ID}/items", json_answer({"total": 3}))
    with pytest.raises(MalformedResponse, match="no items list"):
        spotify(server).playlist_tracks(PLAYLIST_ID)


def test_oauth_authorize_url_exchange_and_refresh():
    server = RecordedServer().add(
        "POST", "/api/token",
        json_answer("spotify/token_authorization_code.json"),
        json_answer("spotify/token_refreshed.json"),
    )
    client = spotify(server)
    url, state = client.authorize_url()
    query = parse_qs(httpx.URL(url).query.decode())
    assert url.startswith("https://accounts.spotify.com/authorize?")
    assert query["client_id"] == ["client-id-123"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8888/callback"] and query["state"] == [state]
    assert "playlist-modify-private" in query["scope"][0]

    code = code_from_redirect(f"http://127.0.0.1:8888/callback?code=AQCcode123&state={state}", state)
    token = client.exchange_code(code)
    assert token.refresh_token == "AQDrefreshTESTTOKEN0001" and client.has_user
    assert parse_qs(server.requests[0].content.decode()) == {
        "grant_type": ["authorization_code"], "code": ["AQCcode123"], "redirect_uri": ["http://127.0.0.1:8888/callback"]
    }
    refreshed = client.refresh_user_token()
    assert refreshed.access_token == "BQDuseraccessTESTTOKEN0002"
    assert refreshed.refresh_token == "AQDrefreshTESTTOKEN0001"  # not rotated: the old one is kept
    assert parse_qs(server.requests[1].content.decode()) == {
        "grant_type": ["refresh_token"], "refresh_token": ["AQDrefreshTESTTOKEN0001"]
    }


def test_a_revoked_refresh_token_says_to_sign_in_again():
    server = RecordedServer().add("POST", "/api/token", json_answer("spotify/token_invalid_grant.json", 400))
    with pytest.raises(ConnectorAuthError, match="Invalid refresh token.*spotify-login again"):
        spotify(server, refresh_token="AQDold").get_playlist(PLAYLIST_ID)


def test_redirect_parsing_checks_state_and_errors():
    assert code_from_redirect("AQCbarecode") == "AQCbarecode"
    with pytest.raises(ConnectorAuthError, match="state does not match"):
        code_from_redirect("http://127.0.0.1:8888/callback?code=x&state=other", "mine")
    with pytest.raises(ConnectorAuthError, match="access_denied"):
        code_from_redirect("http://127.0.0.1:8888/callback?error=access_denied&state=mine", "mine")


def test_write_back_creates_a_private_playlist_and_adds_in_chunks_of_100():
    server = (
        RecordedServer()
        .add("POST", "/api/token", json_answer("spotify/token_refreshed.json"))
        .add("POST", "/v1/me/playlists", json_answer("spotify/me_playlist_created.json", 201))
        .add("POST", "/v1/playlists/7d2D2S200NyUE5KYs80PwO/items", json_answer("spotify/add_items.json", 201))
    )
    client = spotify(server, refresh_token="AQDrefreshTESTTOKEN0001")
    playlist_id, link = client.create_playlist("Youth Night Mix (clean)", "Approved songs", public=False)
    assert playlist_id == "7d2D2S200NyUE5KYs80PwO" and link.endswith(playlist_id)
    uris = [f"spotify:track:{n:022d}" for n in range(250)]
    assert client.add_items(playlist_id, uris) == "AAAAAafteradd"
    adds = [r for r in server.requests if r.url.path.endswith("/items")]
    assert [len(json.loads(r.content)["uris"]) for r in adds] == [100, 100, 50]
    assert json.loads(server.requests[1].content) == {"name": "Youth Night Mix (clean)", "description": "Approved songs", "public": False}
    assert all(r.headers["Authorization"] == "Bearer BQDuseraccessTESTTOKEN0002" for r in server.requests[1:])


def test_write_back_without_a_user_token_says_how_to_sign_in():
    with pytest.raises(ConnectorAuthError, match="spotify-login"):
        spotify(token_server()).create_playlist("x")
