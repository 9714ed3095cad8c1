"""Property-based checks of what online sources answer: the lyrics providers (LRCLIB and
Genius, through ``fetch_missing_lyrics``) and the Spotify playlist importer, each given
generated HTTP answers (any JSON, odd Unicode, unpaired surrogates, NUL characters, huge
strings, deep nesting, bytes that are not JSON, error statuses, 429s, read timeouts and
refused connections) by a mock transport. Nothing here touches the network.

What must hold for any answers:

- nothing raises out of a lyrics fetch; a Spotify import either finishes or, when the
  playlist or a page of it is malformed, refuses with a ``ConnectorError`` and a message;
- every song of the fetch is counted once (found, not found, error or not tried) and every
  song with an error is named in the report; every playlist item is imported or named;
- a good answer is kept: a source that answered a song well and had not stopped gave that
  song its lyrics; every well-formed Spotify track is in the library playlist, in order;
- everything stored (lyrics, the lookup cache, playlist and song texts, the snapshot id)
  and every message reported is text a database and a page can hold.

Each example runs in one database transaction that is rolled back (the code under test
commits savepoints inside it), so one database serves every example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.connectors.genius import GeniusProvider
from pipelines.connectors.http import ConnectorError, is_storable_text
from pipelines.connectors.lyrics_cache import lookup_query
from pipelines.connectors.lyrics_fetch import fetch_missing_lyrics
from pipelines.connectors.lyrics_providers import LrclibProvider
from pipelines.connectors.rate_limit import TokenBucket
from pipelines.connectors.spotify import SpotifyClient
from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.importers.spotify_playlist import import_spotify_playlist
from pipelines.reliability import hostile
from pipelines.settings import Settings
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import (
    CachedLyricsLookup,
    Playlist,
    RemotePlaylist,
    Song,
)
from pipelines.store.repository import find_playlist

SETTINGS = Settings({
    "DISCERN_HTTP_RETRIES": "1", "DISCERN_GENIUS_TOKEN": "fuzz-token", "DISCERN_LYRICS_PROVIDERS": "lrclib,genius",
})
QUIET = {"bucket": TokenBucket(0), "sleep": lambda seconds: None}


@contextmanager
def rolled_back_sessions(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """A session factory whose every ``begin()`` block is a savepoint of one outer
    transaction, rolled back at the end: code that commits leaves nothing behind."""
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        finally:
            outer.rollback()


def _storable(value: str | None) -> bool:
    return value is None or is_storable_text(value)


# ------------------------------------------------------------------ hostile answers


class Mark:
    """A placeholder in a generated answer, filled in per song (its title, its page URL)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


TITLE, ARTIST, PAGE = Mark("title"), Mark("artist"), Mark("page url")
BAND = "The Fuzz Band"
SONG_TITLES = ("Lanterns on the Water", "Ελληνικά 中文 🎵 song", '=HYPERLINK("x") <b>bold</b>', "x" * 300)
GOOD_LYRICS = ("Praise the morning light\nWe sing until the night", "Folded up the Sunday paper\nSent it down the drain")
EDGE_TEXT = (
    "lone \ud800 surrogate", "\udfff", "nul \x00 inside", "\x00", "emoji 🎵🙏🏽 and \u202eRTL", "<script>alert(1)</script>",
    "", " ", "[Instrumental]", "[00:01.00] la la", "la la la\n" * 20_000, "x" * 200_000,
)
EDGE_URLS = (
    "https://genius.com/\ud800", "https://genius.com/a\x00b", "http://169.254.169.254/latest/meta-data",
    "javascript:alert(1)", "https://genius.com.evil.example/x", "https://gen\ud800ius.com/x", "https://genius.com/" + "x" * 5000,
)
RAW_BODIES = (
    b"", b"<html>Bad gateway</html>", b"[" * 100_000, b'{"trackName": "T", "duration": ' + b"9" * 5000 + b"}",
    b'{"trackName": "T", "duration": 1' + b"0" * 400 + b"}", b"NaN", b'{"a": 1,}', b"\xff\xfe\x00\x00", b"null",
)
answer_text = st.one_of(hostile.lyrics_text, hostile.cell_text, st.sampled_from(EDGE_TEXT))
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | answer_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


def _fill(value: Any, marks: dict[Mark, str]) -> Any:
    if isinstance(value, Mark):
        return marks[value]
    if isinstance(value, list):
        return [_fill(v, marks) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, marks) for k, v in value.items()}
    return value


# An HTTP answer: ("json", status, value, ascii) / ("raw", status, bytes) / ("html", status, text)
# / ("429", Retry-After) / ("timeout",) / ("connect",) / ("good",), the last one per route, or
# ("twist", field, value): the good answer with one field replaced (lyrics that are good text
# but for a surrogate are rare in purely random answers; these make them common).
statuses = st.sampled_from([200, 200, 200, 200, 404, 500, 400, 401, 403, 429])
hostile_final = st.one_of(
    st.tuples(st.just("raw"), statuses, st.one_of(st.sampled_from(RAW_BODIES), st.binary(max_size=100))),
    st.tuples(st.just("429"), st.sampled_from(["0", "1", "3600", "soon"])),
    st.sampled_from([("timeout",), ("connect",)]),
)
transient = st.sampled_from([("429", "0"), ("429", "1"), ("raw", 503, b""), ("timeout",)])
STOPPING = {401, 403, 429}


def answers(final: st.SearchStrategy) -> st.SearchStrategy:
    """A route's answers: at most one passing trouble (retried), then the final answer."""
    return st.tuples(st.lists(transient, max_size=1), final).map(lambda pair: [*pair[0], pair[1]])


def _stops(answer: tuple) -> bool:
    """Whether this final answer makes the client raise a source-wide error."""
    return answer[0] in {"429", "connect"} or (answer[0] in {"json", "raw", "html"} and answer[1] in STOPPING)


def _response(answer: tuple, marks: dict[Mark, str]) -> httpx.Response:
    kind = answer[0]
    if kind == "timeout":
        raise httpx.ReadTimeout("timed out")
    if kind == "connect":
        raise httpx.ConnectError("[Errno 111] Connection refused")
    if kind == "429":
        return httpx.Response(429, headers={"Retry-After": answer[1]}, json={"error": "slow down"})
    if kind == "raw":
        return httpx.Response(answer[1], content=answer[2])
    if kind == "html":
        return httpx.Response(answer[1], content=_fill(answer[2], marks).encode("utf-8", errors="surrogatepass"),
                              headers={"Content-Type": "text/html; charset=utf-8"})
    _, status, value, ascii_only = answer
    text = json.dumps(_fill(value, marks), ensure_ascii=ascii_only)
    return httpx.Response(status, content=text.encode("utf-8", errors="surrogatepass"),
                          headers={"Content-Type": "application/json"})


class Route:
    """The queued answers of one route (the last one repeats), like tests/http_fixtures."""

    def __init__(self, queue: list[tuple]) -> None:
        self.queue = list(queue)

    def next(self) -> tuple[tuple, bool]:
        """(the answer, whether it is the final one)."""
        if len(self.queue) > 1:
            return self.queue.pop(0), False
        return self.queue[0], True


# ------------------------------------------------------------------ lyrics sources

lrclib_record = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.integers(), answer_text, any_json),
    "trackName": st.one_of(st.just(TITLE), answer_text, any_json),
    "artistName": st.one_of(st.just(ARTIST), answer_text, any_json),
    "plainLyrics": st.one_of(answer_text, any_json),
    "syncedLyrics": st.one_of(answer_text, st.none()),
    "instrumental": st.one_of(st.booleans(), any_json),
    "duration": st.one_of(st.integers(), st.floats(), any_json),
})
lrclib_json = st.one_of(lrclib_record, st.lists(lrclib_record, max_size=3), any_json)
LYRICS_FIELDS = ("plainLyrics", "syncedLyrics", "lyrics")  # "lyrics": appended to the good lyrics
twisted_text = st.one_of(st.sampled_from(EDGE_TEXT), answer_text)
SCALARS = (0, 7, -1, 2.5, True, False, None, "", 10**30, 10**400, float("nan"), float("inf"), [], {})
twisted_value = st.one_of(st.sampled_from(SCALARS), st.sampled_from(SCALARS), twisted_text, any_json)
lrclib_twist = st.one_of(
    st.tuples(st.just("twist"), st.sampled_from(LYRICS_FIELDS), twisted_text),
    st.tuples(st.just("twist"), st.sampled_from(["id", "trackName", "artistName", "duration", "instrumental"]),
              twisted_value),
)
lrclib_final = st.one_of(
    st.just(("good",)),
    lrclib_twist,
    st.tuples(st.just("json"), statuses, lrclib_json, st.booleans()),
    hostile_final,
)
genius_hit = st.fixed_dictionaries({
    "type": st.one_of(st.just("song"), any_json),
    "result": st.one_of(st.fixed_dictionaries({
        "title": st.one_of(st.just(TITLE), answer_text, any_json),
        "artist_names": st.one_of(st.just(ARTIST), answer_text, any_json),
        "url": st.one_of(st.just(PAGE), st.sampled_from(EDGE_URLS), answer_text, any_json),
    }, optional={"instrumental": st.one_of(st.booleans(), any_json)}), any_json),
})
genius_search_json = st.one_of(
    st.builds(lambda hits: {"response": {"hits": hits}}, st.lists(st.one_of(genius_hit, any_json), max_size=3)),
    any_json,
)
genius_search_final = st.one_of(
    st.just(("good",)),
    st.tuples(st.just("twist"), st.sampled_from(["url", "title", "instrumental"]),
              st.one_of(st.sampled_from(EDGE_URLS), twisted_value)),
    st.tuples(st.just("json"), statuses, genius_search_json, st.booleans()),
    hostile_final,
)
CONTAINER = '<div data-lyrics-container="true">'
page_html = st.one_of(
    st.builds(lambda text: CONTAINER + text + "</div>", answer_text),
    st.builds(lambda text: CONTAINER + text.replace("\n", "<br>") + "</div>", answer_text),
    st.lists(st.sampled_from([CONTAINER, "</div>", "<br>", "&#0;", "&#xD800;", "&#x110000;", "&amp;", "<script>",
                              "This song is an instrumental", '<div data-exclude-from-selection="true">']
                             + list(EDGE_TEXT[:8])), max_size=12).map("".join),
)
genius_page_final = st.one_of(
    st.just(("good",)),
    st.tuples(st.just("twist"), st.just("lyrics"), twisted_text),
    st.tuples(st.just("html"), st.sampled_from([200, 200, 200, 404, 500, 403]), page_html),
    hostile_final,
)
song_answers = st.fixed_dictionaries({
    "lrclib get": answers(lrclib_final), "lrclib search": answers(lrclib_final),
    "genius search": answers(genius_search_final), "genius page": answers(genius_page_final),
})
lyrics_cases = st.lists(song_answers, min_size=1, max_size=len(SONG_TITLES))


def _good_answer(route: str, index: int, marks: dict[Mark, str], twist: tuple = ()) -> httpx.Response:
    """The good answer of ``route`` for song ``index``, with ``twist`` (field, value) applied."""
    title, lyrics = SONG_TITLES[index], GOOD_LYRICS[index % len(GOOD_LYRICS)]
    name, value = twist or (None, None)
    if name == "lyrics":
        lyrics += "\n" + value
    if route == "genius page":
        html = CONTAINER + lyrics.replace("\n", "<br>") + "</div>"
        return httpx.Response(200, content=html.encode("utf-8", errors="surrogatepass"),
                              headers={"Content-Type": "text/html; charset=utf-8"})
    if route.startswith("lrclib"):
        body: Any = {"id": 100 + index, "trackName": title, "artistName": BAND, "plainLyrics": lyrics, "duration": 200}
        if name in ("plainLyrics", "syncedLyrics"):
            body["plainLyrics"] = None if name == "syncedLyrics" else body["plainLyrics"]
            body[name] = value
        elif name is not None and name != "lyrics":
            body[name] = value
        body = [body] if route == "lrclib search" else body
    else:
        result = {"title": title, "artist_names": BAND, "url": marks[PAGE]}
        if name is not None:
            result[name] = value
        body = {"response": {"hits": [{"type": "song", "result": result}]}}
    text = json.dumps(body)  # ASCII: a surrogate or NUL goes as a \u escape, as a real server would send it
    return httpx.Response(200, content=text.encode(), headers={"Content-Type": "application/json"})


@dataclass
class LyricsServer:
    """Answers LRCLIB and Genius per song and remembers where a source was stopped."""

    cases: list[dict[str, list[tuple]]]
    routes: dict[tuple[str, int], Route] = field(default_factory=dict)
    stopped_at: dict[str, int] = field(default_factory=dict)  # source -> index of the song that stopped it

    def __post_init__(self) -> None:
        for index, case in enumerate(self.cases):
            for route, queue in case.items():
                self.routes[(route, index)] = Route(queue)

    def handler(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        if host == "lrclib.test":
            route, index = f"lrclib {path.rsplit('/', 1)[-1]}", SONG_TITLES.index(request.url.params["track_name"])
        elif host == "api.genius.com":
            query = request.url.params["q"]
            route, index = "genius search", next(i for i, t in enumerate(SONG_TITLES) if query == f"{t} {BAND}")
        elif host == "genius.com" and path.startswith("/fuzz-song-"):
            route, index = "genius page", int(path.rsplit("-", 1)[-1])
        else:  # a URL the code should never have asked for
            raise AssertionError(f"a request to an address no answer gave: {request.url}")
        answer, final = self.routes[(route, index)].next()
        if final and _stops(answer):
            self.stopped_at.setdefault(route.split()[0], index)
        marks = {TITLE: SONG_TITLES[index], ARTIST: BAND, PAGE: f"https://genius.com/fuzz-song-{index}"}
        if answer[0] in ("good", "twist"):
            return _good_answer(route, index, marks, answer[1:])
        return _response(answer, marks)

    def good(self, route: str, index: int) -> bool:
        return self.cases[index][route][-1] == ("good",)


def check_lyrics_sources(sessions: sessionmaker[Session], cases: list[dict[str, list[tuple]]]) -> None:
    server = LyricsServer(cases)
    transport = httpx.MockTransport(server.handler)
    providers = [
        LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=transport, **QUIET),
        GeniusProvider("fuzz-token", settings=SETTINGS, transport=transport, **QUIET),
    ]
    records = [SongRecord(row=i + 1, title=t, artist=BAND) for i, t in enumerate(SONG_TITLES[: len(cases)])]
    with rolled_back_sessions(sessions) as inner:
        with inner.begin() as session:
            save_records(session, records, ImportReport("fuzz", "fuzz"), playlist="fuzz lyrics")
            playlist_id = find_playlist(session, "fuzz lyrics").id
        try:
            report = fetch_missing_lyrics(inner, playlist_id, settings=SETTINGS, providers=providers)
        finally:
            for provider in providers:
                provider.close()

        assert report.songs == len(cases)
        assert report.found + report.not_found + report.errors + report.not_tried == report.songs, report.summary()
        assert len(report.problems) == report.errors, report.problems
        labels = [f"{t!r} by {BAND}: " for t in SONG_TITLES[: len(cases)]]
        for problem in report.problems:
            assert any(problem.startswith(label) for label in labels), f"a problem that names no song: {problem!r}"
        texts = [report.summary(), *report.problems, *report.unavailable.values()]
        assert all(is_storable_text(t) for t in texts), f"a message a page cannot show: {texts!r}"
        assert set(report.unavailable) == set(server.stopped_at), (report.unavailable, server.stopped_at)

        with inner.begin() as session:
            ids = [row.song_id for row in playlist_songs(session, playlist_id)]
            stored = {s.title: s.lyrics for s in session.scalars(select(Song).where(Song.id.in_(ids)))}
            assert sum(lyrics is not None for lyrics in stored.values()) == report.found
            for lyrics in stored.values():
                assert lyrics is None or (_storable(lyrics.text) and _storable(lyrics.source)), "unstorable lyrics stored"
            queries = [lookup_query(t, BAND) for t in SONG_TITLES[: len(cases)]]
            for row in session.scalars(select(CachedLyricsLookup).where(CachedLyricsLookup.query.in_(queries))):
                assert all(_storable(v) for v in (row.query, row.text, row.url, row.message)), "unstorable cache entry"
                assert row.status != "found" or row.text, "a found entry without its text"

    for index in range(len(cases)):
        title = SONG_TITLES[index]
        alive = {source: server.stopped_at.get(source, len(cases)) > index for source in ("lrclib", "genius")}
        if server.good("lrclib get", index) and alive["lrclib"]:
            assert stored[title] is not None and stored[title].text == GOOD_LYRICS[index % len(GOOD_LYRICS)], (
                f"LRCLIB's good answer for {title!r} was lost: {report.summary()} {report.problems}")
        elif server.good("genius search", index) and server.good("genius page", index) and alive["genius"]:
            assert stored[title] is not None, f"Genius's good answer for {title!r} was lost: {report.problems}"


# ------------------------------------------------------------------ Spotify playlists

PLAYLIST_ID = "3cEYpjA9oz9GiPac4AsH4n"
DUPLICATE_URIS = ("spotify:track:4iV5W9uYEdYUVa79Axb7Rh", "spotify:track:1301WleyT98MSxVHPZCA6M")
GOOD_TRACK = Mark("good track")
track_object = st.one_of(
    st.fixed_dictionaries({
        "name": st.one_of(st.just("A Hostile Song"), answer_text, any_json),
        "uri": st.one_of(st.sampled_from(DUPLICATE_URIS), answer_text, any_json),
    }, optional={
        "artists": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({"name": answer_text}), any_json), max_size=3),
                             any_json),
        "album": st.one_of(st.fixed_dictionaries({"name": st.one_of(answer_text, any_json)}), any_json),
        "duration_ms": st.one_of(st.integers(), st.floats(), any_json),
        "explicit": any_json,
        "type": st.one_of(st.just("track"), st.just("episode"), answer_text, any_json),
        "is_local": any_json,
    }),
    any_json,
)
TRACK_FIELDS = ("name", "uri", "artists", "album", "duration_ms", "explicit", "type", "is_local", "id")
playlist_entry = st.one_of(
    st.just(GOOD_TRACK),
    st.just(GOOD_TRACK),
    *[st.tuples(st.just("twist"), st.sampled_from(TRACK_FIELDS), twisted_value)] * 3,
    st.fixed_dictionaries({}, optional={"item": st.one_of(track_object, st.none()), "is_local": any_json}),
    st.fixed_dictionaries({"track": track_object}),
    any_json,
)
PAGE_FAULTS = (None,) * 8 + ("not an object", "no items", "next elsewhere", "next surrogate")
playlist_dict = st.fixed_dictionaries({
    "name": st.one_of(st.just("Youth Night Mix"), st.just("Youth Night Mix"), answer_text, any_json),
    "snapshot_id": st.one_of(st.just("AAAAB3snapshot"), st.just("AAAAB3snapshot"), answer_text, st.just("s" * 500),
                             any_json),
}, optional={
    "description": st.one_of(answer_text, any_json),
    "owner": st.one_of(st.fixed_dictionaries({"display_name": st.one_of(answer_text, any_json)}), any_json),
    "external_urls": st.one_of(st.fixed_dictionaries({"spotify": st.one_of(
        st.sampled_from(["javascript:alert(1)", "https://open.spotify.com/playlist/\ud800x"]), answer_text, any_json)}),
        any_json),
    "items": st.one_of(st.fixed_dictionaries({"total": any_json}), any_json),
})
# Mostly a playlist object (a malformed one stops the import before any track is read).
playlist_object = st.one_of(playlist_dict, playlist_dict, playlist_dict, any_json)
spotify_cases = st.fixed_dictionaries({
    "playlist": playlist_object,
    "pages": st.one_of(
        st.just([([], 0, None)]),  # an empty playlist
        st.lists(st.tuples(st.lists(playlist_entry, min_size=1, max_size=6), any_json, st.sampled_from(PAGE_FAULTS)),
                 min_size=1, max_size=3),
    ),
    "expires_in": st.one_of(st.just(3600), st.integers(), st.floats(), any_json),
})


def _good_track(number: int) -> dict[str, Any]:
    uri = f"spotify:track:GOOD{number:018d}"  # no generated text is ever this
    return {"item": {"name": f"Good Song {number}", "uri": uri, "type": "track", "duration_ms": 200_000,
                     "artists": [{"name": BAND}], "album": {"name": "Good Album"}, "explicit": False}}


def _spotify_pages(pages: list[tuple[list[Any], Any, str | None]]) -> tuple[list[Any], list[str]]:
    """The page bodies (good tracks numbered in playlist order) and the good titles."""
    bodies, good = [], []
    base = f"https://api.spotify.com/v1/playlists/{PLAYLIST_ID}/items"
    for number, (entries, total, fault) in enumerate(pages):
        items = []
        for entry in entries:
            if entry is GOOD_TRACK:
                items.append(_good_track(len(good) + 1))
                good.append(f"Good Song {len(good) + 1}")
            elif isinstance(entry, tuple):  # a good track with one field replaced: not counted as good
                track = _good_track(0)
                track["item"][entry[1]] = entry[2]
                items.append(track)
            else:
                items.append(entry)
        following = f"{base}?offset={number + 1}&limit=50" if number + 1 < len(pages) else None
        body: Any = {"items": items, "total": total, "next": following}
        if fault == "not an object":
            body = [items]
        elif fault == "no items":
            body = {"total": total, "next": following}
        elif fault == "next elsewhere":
            body["next"] = "https://elsewhere.example/v1/items"
        elif fault == "next surrogate":
            body["next"] = f"{base}/\ud800"
        bodies.append(body)
    return bodies, good


def _well_formed(case: dict[str, Any]) -> bool:
    playlist = case["playlist"]
    return (
        isinstance(playlist, dict) and isinstance(playlist.get("name"), str) and isinstance(playlist.get("snapshot_id"), str)
        and all(fault is None for _, _, fault in case["pages"])
        and all(entries for entries, _, _ in case["pages"][:-1])  # an empty page before the last one stops paging
    )


def check_spotify_import(sessions: sessionmaker[Session], case: dict[str, Any]) -> None:
    bodies, good = _spotify_pages(case["pages"])

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/api/token":
            token = {"access_token": "BQDfuzz", "token_type": "Bearer", "expires_in": case["expires_in"]}
            return httpx.Response(200, content=json.dumps(token).encode())  # NaN and Infinity as sent
        if path == f"/v1/playlists/{PLAYLIST_ID}":
            text = json.dumps(case["playlist"])  # ASCII: surrogates and NUL as \u escapes, as a server would
            return httpx.Response(200, content=text.encode(), headers={"Content-Type": "application/json"})
        if path == f"/v1/playlists/{PLAYLIST_ID}/items":
            number = int(request.url.params.get("offset", "0"))
            if number < len(bodies):
                return httpx.Response(200, content=json.dumps(bodies[number]).encode())
            return httpx.Response(404, json={"error": {"status": 404, "message": "no such page"}})
        return httpx.Response(404, json={"error": {"status": 404, "message": f"nothing at {path}"}})

    client = SpotifyClient("fuzz-id", "fuzz-secret", settings=SETTINGS, transport=httpx.MockTransport(handler), **QUIET)
    with rolled_back_sessions(sessions) as inner:
        try:
            imported = import_spotify_playlist(inner, PLAYLIST_ID, client=client)
        except ConnectorError as exc:
            assert not _well_formed(case), f"a well-formed playlist was refused: {exc}"
            assert str(exc).strip() and is_storable_text(str(exc)), f"a refusal without a usable message: {exc!r}"
            return
        finally:
            client.close()
        report = imported.report
        assert not imported.unchanged
        entries = sum(len(entries) for entries, _, _ in case["pages"])
        assert report.rows == entries, (report.rows, entries)
        assert report.playlist_songs + report.skipped == report.rows, f"an item neither imported nor named: {report.problems}"
        for problem in report.problems:
            assert problem.message.strip() and problem.where.strip(), f"a problem that does not say what or where: {problem!r}"
            assert is_storable_text(str(problem)), f"a problem a page cannot show: {problem!r}"
        assert is_storable_text(imported.summary()) and is_storable_text(report.summary())

        with inner.begin() as session:
            titles = [row.title for row in playlist_songs(session, imported.playlist_id)]
            kept = [t for t in titles if t in good]
            assert kept == good, f"good tracks lost or out of order: {good} -> {titles}; {report.problems}"
            playlist = session.get(Playlist, imported.playlist_id)
            assert playlist.name == imported.playlist_name and playlist.name.strip()
            link = session.scalar(select(RemotePlaylist).where(RemotePlaylist.playlist_id == playlist.id))
            texts = [playlist.name, playlist.description, link.snapshot_id, link.url]
            ids = [row.song_id for row in playlist_songs(session, playlist.id)]
            for song in session.scalars(select(Song).where(Song.id.in_(ids))):
                texts += [song.title, song.artist, song.album, *(e.value for e in song.external_ids)]
            assert all(_storable(t) for t in texts), "an unstorable text was stored"
            assert link.url.startswith("https://open.spotify.com/"), f"a playlist link off Spotify: {link.url!r}"
