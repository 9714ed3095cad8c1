"""Spotify Web API: read a playlist (every page of it) and write a clean copy back.

Tokens: the app's client credentials read public playlists; a user's refresh token (from
the authorization-code flow, ``python -m pipelines spotify-login``) reads private ones
and is needed to write. Endpoints follow Spotify's February 2026 Web API: playlist
contents are ``/playlists/{id}/items`` (entries carry ``item``; ``track`` is still read
for apps whose API answers the older shape) and a new playlist is ``POST /me/playlists``.

Answers are untrusted: the playlist's name, description, owner and link are cleaned of NUL
characters and unpaired surrogates (``storable_text``) and a link off open.spotify.com is
not used; a track's own fields are checked where they are stored (``check_record``), so a
bad track is named in the import report and the others are kept.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from pipelines.connectors.http import (
    ConnectorAuthError,
    ConnectorHTTPError,
    MalformedResponse,
    PoliteClient,
    shown,
    storable_text,
)
from pipelines.settings import Settings, get_settings

ACCOUNTS_URL = "https://accounts.spotify.com"
API_URL = "https://api.spotify.com/v1"
PAGE_SIZE = 50  # the documented maximum of the playlist items endpoint
ADD_CHUNK = 100  # the most URIs one "add items" request takes
SCOPES = ("playlist-read-private", "playlist-read-collaborative", "playlist-modify-private", "playlist-modify-public")
_ID = r"([A-Za-z0-9]{22})"
OPEN_URL = "https://open.spotify.com/"
PLAYLIST_REF = re.compile(
    r"^(?:spotify:(?:user:[^:\s]+:)?playlist:" + _ID + r"|https?://open\.spotify\.com/(?:intl-[\w-]+/)?"
    r"(?:embed/)?(?:user/[^/\s]+/)?playlist/" + _ID + r"(?:[/?#]\S*)?|" + _ID + r")$"
)

Progress = Callable[[int, int, str], None]  # (done, total, message)


def parse_playlist_id(text: str) -> str:
    """The 22-character playlist id from an open.spotify.com link, a URI or a bare id."""
    match = PLAYLIST_REF.match((text or "").strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a Spotify playlist: give a link like https://open.spotify.com/playlist/<id>,"
            " a URI spotify:playlist:<id> or the 22-character id"
        )
    return next(group for group in match.groups() if group)


@dataclass(frozen=True)
class SpotifyPlaylist:
    id: str
    name: str
    description: str
    snapshot_id: str
    owner: str
    total: int
    url: str


@dataclass(frozen=True)
class SpotifyTrack:
    position: int  # 1-based among the playlist's tracks (episodes and removed tracks left out)
    uri: str
    title: str
    artists: tuple[str, ...]
    album: str
    duration_ms: int | None
    explicit: bool | None
    is_local: bool = False

    @property
    def artist(self) -> str:
        return ", ".join(self.artists)


@dataclass
class PlaylistTracks:
    tracks: list[SpotifyTrack] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why entries were left out, for the report


@dataclass(frozen=True)
class SpotifyToken:
    access_token: str
    expires_at: float
    refresh_token: str = ""
    scope: str = ""


class SpotifyClient:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        refresh_token: str = "",
        redirect_uri: str = "",
        api_url: str = API_URL,
        accounts_url: str = ACCOUNTS_URL,
        settings: Settings | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        **client_options: Any,
    ) -> None:
        if not client_id or not client_secret:
            raise ConnectorAuthError(
                "Spotify is not configured: set DISCERN_SPOTIFY_CLIENT_ID and DISCERN_SPOTIFY_CLIENT_SECRET"
                " (create an app at developer.spotify.com)", provider="spotify",
            )
        settings = settings or get_settings()
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.redirect_uri = redirect_uri or settings.discern_spotify_redirect_uri
        self.api_url, self.accounts_url = api_url.rstrip("/"), accounts_url.rstrip("/")
        self.clock = clock
        self._token: SpotifyToken | None = None
        self.http = PoliteClient(
            "spotify", label="Spotify", settings=settings, transport=transport,
            rate_per_minute=settings.discern_spotify_rate_per_minute, **client_options,
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **options: Any) -> SpotifyClient:
        settings = settings or get_settings()
        return cls(
            settings.discern_spotify_client_id, settings.discern_spotify_client_secret,
            refresh_token=settings.discern_spotify_refresh_token, settings=settings, **options,
        )

    def __enter__(self) -> SpotifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def has_user(self) -> bool:
        return bool(self.refresh_token)

    # ------------------------------------------------------------ tokens and OAuth
    def authorize_url(self, state: str | None = None, scopes: tuple[str, ...] = SCOPES) -> tuple[str, str]:
        """(URL to open in a browser, the state to check on the way back)."""
        if not self.redirect_uri:
            raise ValueError("set DISCERN_SPOTIFY_REDIRECT_URI to the redirect URI registered in the Spotify app")
        state = state or secrets.token_urlsafe(16)
        query = urlencode({
            "client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_uri,
            "scope": " ".join(scopes), "state": state,
        })
        return f"{self.accounts_url}/authorize?{query}", state

    def exchange_code(self, code: str) -> SpotifyToken:
        """The authorization-code step: a user's code for access and refresh tokens."""
        token = self._token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri})
        if not token.refresh_token:
            raise MalformedResponse("Spotify's token answer has no refresh_token", provider="spotify")
        self.refresh_token, self._token = token.refresh_token, token
        return token

    def refresh_user_token(self) -> SpotifyToken:
        token = self._token_request({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        # Spotify may or may not rotate the refresh token; keep the old one when it does not.
        if token.refresh_token:
            self.refresh_token = token.refresh_token
        else:
            token = SpotifyToken(token.access_token, token.expires_at, self.refresh_token, token.scope)
        return token

    def access_token(self) -> str:
        if self._token is None or self._token.expires_at - 60 <= self.clock():
            self._token = (
                self.refresh_user_token() if self.refresh_token
                else self._token_request({"grant_type": "client_credentials"})
            )
        return self._token.access_token

    def _basic_auth(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _token_request(self, form: dict[str, str]) -> SpotifyToken:
        try:
            response = self.http.request(
                "POST", f"{self.accounts_url}/api/token", data=form, headers={"Authorization": self._basic_auth()}
            )
        except ConnectorHTTPError as exc:
            if exc.status in (400, 401, 403):
                what = (
                    "the refresh token (DISCERN_SPOTIFY_REFRESH_TOKEN; run spotify-login again)"
                    if form["grant_type"] == "refresh_token"
                    else "the authorization code" if form["grant_type"] == "authorization_code"
                    else "DISCERN_SPOTIFY_CLIENT_ID and DISCERN_SPOTIFY_CLIENT_SECRET"
                )
                raise ConnectorAuthError(f"{exc}; check {what}", provider="spotify", status=exc.status) from None
            raise
        data = self.http.json_of(response)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise MalformedResponse("Spotify's token answer has no access_token", provider="spotify")
        expires_in = data.get("expires_in")
        if not isinstance(expires_in, (int, float)) or not 0 < expires_in <= 7 * 24 * 3600:  # NaN, 10**400, -1
            expires_in = 3600
        refresh, scope = data.get("refresh_token"), data.get("scope")
        return SpotifyToken(
            data["access_token"], self.clock() + expires_in,
            refresh if isinstance(refresh, str) else "", scope if isinstance(scope, str) else "",
        )

    # ------------------------------------------------------------ API calls
    def _api(self, method: str, url: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        """An API call with the bearer token; an expired token is renewed once."""
        url = url if url.startswith("http") else f"{self.api_url}{url}"
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.access_token()}"}
            response = self.http.request(method, url, headers=headers, allow=(*allow, 401), **kwargs)
            if response.status_code != 401:
                return response
            self._token = None
            if attempt:
                break
        raise ConnectorAuthError("Spotify refused a fresh access token (HTTP 401)", provider="spotify", status=401)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        data = self.http.json_of(response)
        if not isinstance(data, dict):
            raise MalformedResponse(f"Spotify answered {type(data).__name__}, not an object", provider="spotify")
        return data

    def get_playlist(self, playlist: str) -> SpotifyPlaylist:
        playlist_id = parse_playlist_id(playlist)
        response = self._api("GET", f"/playlists/{playlist_id}", allow=(403, 404))
        if response.status_code == 404:
            raise ConnectorHTTPError(
                f"Spotify has no playlist {playlist_id}, or it is private"
                + ("" if self.has_user else " (private playlists need spotify-login and DISCERN_SPOTIFY_REFRESH_TOKEN)"),
                provider="spotify", status=404,
            )
        if response.status_code == 403:
            raise ConnectorAuthError(
                f"Spotify refused access to playlist {playlist_id} (HTTP 403); apps in development mode can only"
                " read playlists of users added to the app, signed in with spotify-login",
                provider="spotify", status=403,
            )
        data = self._json(response)
        if not isinstance(data.get("name"), str) or not isinstance(data.get("snapshot_id"), str):
            raise MalformedResponse("Spotify's playlist has no name or snapshot_id", provider="spotify")
        page = data.get("items") if isinstance(data.get("items"), dict) else data.get("tracks")
        total = page.get("total") if isinstance(page, dict) and isinstance(page.get("total"), int) else 0
        owner = data.get("owner") if isinstance(data.get("owner"), dict) else {}
        owner_name = next((v for v in (owner.get("display_name"), owner.get("id")) if isinstance(v, str) and v), "")
        description = data.get("description") if isinstance(data.get("description"), str) else ""
        return SpotifyPlaylist(
            id=playlist_id, name=storable_text(data["name"], 1000), description=storable_text(description, 10_000),
            snapshot_id=data["snapshot_id"], owner=storable_text(owner_name, 200),
            total=max(0, total), url=_open_url(data, f"{OPEN_URL}playlist/{playlist_id}"),
        )

    def iter_pages(self, playlist_id: str) -> Iterator[dict[str, Any]]:
        """Every page of the playlist's items, following ``next`` (on the API host only)."""
        url: str | None = f"{self.api_url}/playlists/{playlist_id}/items"
        params: dict[str, Any] | None = {"limit": PAGE_SIZE, "offset": 0, "additional_types": "track"}
        seen: set[str] = set()
        api_host = httpx.URL(self.api_url).host
        while url:
            page = self._json(self._api("GET", url, params=params))
            items = page.get("items")
            if not isinstance(items, list):
                raise MalformedResponse("a Spotify playlist page has no items list", provider="spotify")
            yield page
            seen.add(url)
            url, params = page.get("next"), None
            if url is not None:
                if not isinstance(url, str) or _host(url) != api_host:
                    raise MalformedResponse(f"Spotify's next page {shown(url)} is not on {api_host}", provider="spotify")
                if url in seen or not items:
                    raise MalformedResponse("Spotify's paging does not advance (a repeated or empty page)", provider="spotify")

    def playlist_tracks(self, playlist: str, progress: Progress | None = None, total: int = 0) -> PlaylistTracks:
        playlist_id = parse_playlist_id(playlist)
        result = PlaylistTracks()
        read = 0
        for page in self.iter_pages(playlist_id):
            total = page["total"] if isinstance(page.get("total"), int) else total
            for entry in page["items"]:
                read += 1
                track = _track(entry, len(result.tracks) + 1)
                if isinstance(track, str):
                    result.skipped.append(f"item {read}: {track}")
                else:
                    result.tracks.append(track)
            if progress:
                progress(read, max(total, read), f"read {read} of {max(total, read)} playlist items from Spotify")
        return result

    # ------------------------------------------------------------ write-back
    def create_playlist(self, name: str, description: str = "", public: bool = False) -> tuple[str, str]:
        """A new playlist in the signed-in user's account: (id, link)."""
        if not self.has_user:
            raise ConnectorAuthError(
                "writing to Spotify needs your account: run `python -m pipelines spotify-login` and set"
                " DISCERN_SPOTIFY_REFRESH_TOKEN", provider="spotify",
            )
        data = self._json(self._api("POST", "/me/playlists", json={"name": name, "description": description, "public": public}))
        if not isinstance(data.get("id"), str) or not re.fullmatch(_ID, data["id"]):
            raise MalformedResponse("Spotify's new playlist has no id", provider="spotify")
        return data["id"], _open_url(data, f"{OPEN_URL}playlist/{data['id']}")

    def add_items(self, playlist_id: str, uris: list[str], progress: Progress | None = None) -> str:
        """Append ``uris`` in chunks of 100; returns the last snapshot id."""
        snapshot = ""
        for start in range(0, len(uris), ADD_CHUNK):
            data = self._json(self._api("POST", f"/playlists/{playlist_id}/items", json={"uris": uris[start : start + ADD_CHUNK]}))
            snapshot = data["snapshot_id"] if isinstance(data.get("snapshot_id"), str) else snapshot
            if progress:
                done = min(len(uris), start + ADD_CHUNK)
                progress(done, len(uris), f"added {done} of {len(uris)} tracks")
        return snapshot


def _host(url: str) -> str | None:
    try:
        return httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):  # a surrogate or NUL in the URL
        return None


def _open_url(data: dict[str, Any], default: str) -> str:
    """The object's open.spotify.com link (``external_urls.spotify``), else ``default``: a
    link from the answer is shown to people, so only an https link on open.spotify.com."""
    urls = data.get("external_urls") if isinstance(data.get("external_urls"), dict) else {}
    url = urls.get("spotify")
    if isinstance(url, str) and url.startswith(OPEN_URL) and len(url) <= 500 and url.isprintable():  # no NUL, surrogate
        return url
    return default


def _track(entry: Any, position: int) -> SpotifyTrack | str:
    """A playlist entry as a track, or the reason it is left out."""
    if not isinstance(entry, dict):
        return "not an object"
    track = entry.get("item") if "item" in entry else entry.get("track")
    if track is None:
        return "no longer available on Spotify"
    if not isinstance(track, dict):
        return "not an object"
    if track.get("type", "track") != "track":
        kind = track.get("type")  # named in the report: printable and short
        kind = kind if isinstance(kind, str) and kind.strip() and kind.isprintable() and len(kind) <= 40 else shown(kind, 40)
        return f"not a song but {'an' if kind[:1] in 'aeiou' else 'a'} {kind}"
    uri, name = track.get("uri"), track.get("name")
    if not isinstance(uri, str) or not isinstance(name, str) or not name.strip():
        return "a track without a uri or name"
    artists = track.get("artists") if isinstance(track.get("artists"), list) else []
    names = tuple(a["name"] for a in artists if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"])
    album = track.get("album") if isinstance(track.get("album"), dict) else {}
    duration = track.get("duration_ms")
    explicit = track.get("explicit")
    return SpotifyTrack(
        position=position, uri=uri, title=name.strip(), artists=names,
        album=album.get("name") if isinstance(album.get("name"), str) else "",
        duration_ms=duration if isinstance(duration, int) and 0 < duration < 24 * 3600 * 1000 else None,
        explicit=explicit if isinstance(explicit, bool) else None,
        is_local=bool(entry.get("is_local") or track.get("is_local")),
    )


def code_from_redirect(redirected: str, state: str | None = None) -> str:
    """The ``code`` from the URL Spotify redirected the browser to (or a bare code)."""
    text = redirected.strip()
    if "://" not in text and "?" not in text:
        return text
    query = parse_qs(urlsplit(text).query)
    if "error" in query:
        raise ConnectorAuthError(f"Spotify sign-in was not completed: {query['error'][0]}", provider="spotify")
    if state is not None and query.get("state", [None])[0] != state:
        raise ConnectorAuthError("the sign-in answer's state does not match this sign-in; start again", provider="spotify")
    if not query.get("code"):
        raise ValueError("that URL has no code= parameter; paste the whole address the browser was sent to")
    return query["code"][0]
