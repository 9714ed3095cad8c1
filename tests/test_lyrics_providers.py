"""Lyrics providers against recorded answers: LRCLIB (get, search fallback, instrumental,
not found, malformed), Genius (API search + song page parsing, auth errors, layout
changes), a local folder of lyrics files, and for both online sources 429 with
Retry-After, read timeouts and answers whose text no database stores (lone surrogates, NUL)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.connectors.genius import GeniusProvider, lyrics_from_page
from pipelines.connectors.http import (
    ConnectorAuthError,
    ConnectorUnavailable,
    RateLimited,
    is_storable_text,
)
from pipelines.connectors.lyrics_providers import (
    INSTRUMENTAL_TEXT,
    NOT_TEXT,
    LocalFilesProvider,
    LrclibProvider,
    LyricsLookup,
    artist_matches,
    build_providers,
    configured_providers,
    storable_lookup,
    title_matches,
)
from pipelines.connectors.rate_limit import TokenBucket
from pipelines.lyrics import prepare
from pipelines.settings import Settings
from tests.http_fixtures import RecordedServer, fixture_text, html_answer, json_answer

SETTINGS = Settings({"DISCERN_HTTP_RETRIES": "2", "DISCERN_GENIUS_TOKEN": "genius-test-token"})
QUIET = {"bucket": TokenBucket(0), "sleep": lambda seconds: None}


def lrclib(server: RecordedServer) -> LrclibProvider:
    return LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=server.transport, **QUIET)


def genius(server: RecordedServer) -> GeniusProvider:
    return GeniusProvider("genius-test-token", settings=SETTINGS, transport=server.transport, **QUIET)


# ---------------------------------------------------------------- LRCLIB


def test_lrclib_get_sends_title_artist_album_and_duration_and_keeps_the_raw_text():
    server = RecordedServer().add("GET", "/api/get", json_answer("lrclib/get_found.json"))
    found = lrclib(server).find("Lanterns on the Water", "The Quiet Harbour", "Tidelines", 214_400)
    assert found.status == "found" and found.source == "lrclib"
    assert found.url == "https://lrclib.test/api/get/4242"
    params = dict(server.requests[0].url.params)
    assert params == {
        "track_name": "Lanterns on the Water", "artist_name": "The Quiet Harbour", "album_name": "Tidelines", "duration": "214"
    }
    assert "Discern" in server.requests[0].headers["User-Agent"]
    # Stored raw (section markers and all); the engine's preparation cleans it.
    assert found.text.startswith("[Verse 1]\nWe hung our lanterns")
    assert [line.text for line in prepare(found.text).lines][:2] == [
        "We hung our lanterns on the water", "And watched the harbour learn to glow"
    ]


def test_lrclib_falls_back_to_search_and_picks_the_matching_track():
    server = (
        RecordedServer()
        .add("GET", "/api/get", json_answer("lrclib/get_not_found.json", 404))
        .add("GET", "/api/search", json_answer("lrclib/search_results.json"))
    )
    found = lrclib(server).find("Paper Boats", "Marigold Street, Ada Stone", "", 201_000)
    assert server.paths() == ["/api/get", "/api/search"]
    assert dict(server.requests[1].url.params) == {"track_name": "Paper Boats", "artist_name": "Marigold Street, Ada Stone"}
    assert found.status == "found" and found.url.endswith("/7003")
    # Only synced lyrics: LRC timestamps and tags go at preparation.
    assert [line.text for line in prepare(found.text).lines] == [
        "Folded up the Sunday paper", "Sent it sailing down the drain",
        "Paper boats and borrowed courage", "We will race them through the rain",
    ]


def test_lrclib_not_found_when_search_has_no_match():
    server = (
        RecordedServer()
        .add("GET", "/api/get", json_answer("lrclib/get_not_found.json", 404))
        .add("GET", "/api/search", json_answer([]))
    )
    lookup = lrclib(server).find("Unknown Song", "Nobody")
    assert lookup.status == "not_found" and "no track" in lookup.message
    assert "album_name" not in server.requests[0].url.params and "duration" not in server.requests[0].url.params


def test_lrclib_without_an_artist_only_searches_by_title():
    server = RecordedServer().add("GET", "/api/search", json_answer("lrclib/search_results.json"))
    lookup = lrclib(server).find("Paper Boats", "", "", 201_000)
    assert server.paths() == ["/api/search"] and dict(server.requests[0].url.params) == {"track_name": "Paper Boats"}
    assert lookup.status == "found" and lookup.url.endswith("/7003")  # the closest duration


def test_lrclib_instrumental_is_found_as_an_instrumental_marker():
    server = RecordedServer().add("GET", "/api/get", json_answer("lrclib/get_instrumental.json"))
    lookup = lrclib(server).find("Harbour Lights (Interlude)", "The Quiet Harbour")
    assert lookup.status == "found" and lookup.instrumental and lookup.text == INSTRUMENTAL_TEXT
    assert prepare(lookup.text).is_empty  # the engine reports "no lyrics to analyse"


@pytest.mark.parametrize(
    "answer, message",
    [
        (httpx.Response(200, text="<html>Bad gateway page</html>"), "not JSON"),
        (json_answer({"trackName": 5}), "without a trackName"),
        (json_answer({"trackName": "X", "artistName": "Y", "plainLyrics": ["a", "b"]}), "plainLyrics is list"),
        (json_answer({"unexpected": "shape"}), "without a trackName"),
    ],
)
def test_lrclib_malformed_answers_are_song_errors(answer, message):
    server = RecordedServer().add("GET", "/api/get", answer)
    lookup = lrclib(server).find("X", "Y")
    assert lookup.status == "error" and message in lookup.message


def test_lrclib_search_that_is_not_a_list_is_an_error():
    server = (
        RecordedServer()
        .add("GET", "/api/get", json_answer("lrclib/get_not_found.json", 404))
        .add("GET", "/api/search", json_answer({"tracks": []}))
    )
    assert lrclib(server).find("X", "Y").status == "error"


def test_lrclib_server_errors_after_retries_are_song_errors_and_offline_raises():
    server = RecordedServer().add("GET", "/api/get", httpx.Response(502))
    lookup = lrclib(server).find("X", "Y")
    assert lookup.status == "error" and "HTTP 502 after 3 tries" in lookup.message
    offline = RecordedServer().add("GET", "/api/get", httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ConnectorUnavailable, match="LRCLIB is unreachable"):
        lrclib(offline).find("X", "Y")


# ---------------------------------------------------------------- Genius


def test_genius_searches_with_the_token_and_reads_the_page():
    server = (
        RecordedServer()
        .add("GET", "api.genius.com/search", json_answer("genius/search.json"))
        .add("GET", "genius.com/Juniper-vale-bright-morning-road-lyrics", html_answer("genius/song_page.html"))
    )
    lookup = genius(server).find("Bright Morning Road", "Juniper Vale")
    assert lookup.status == "found" and lookup.url == "https://genius.com/Juniper-vale-bright-morning-road-lyrics"
    search, page = server.requests
    assert search.headers["Authorization"] == "Bearer genius-test-token"
    assert search.url.params["q"] == "Bright Morning Road Juniper Vale"
    assert "Authorization" not in page.headers  # the token never goes to the web page
    lines = [line.text for line in prepare(lookup.text).lines]
    assert lines == [
        "I left the porch light burning",
        "Coffee on the stove & the kettle singing",
        "Walking out to meet the morning",
        "Every step a little lighter",
        "Oh, the bright morning road",
        "Carries more than I can hold",
        "Oh, the bright morning road",
        "Leads me home",
    ]


def test_genius_page_parser_keeps_line_breaks_and_skips_page_furniture():
    text, instrumental = lyrics_from_page(fixture_text("genius/song_page.html"))
    assert not instrumental
    assert "Contributors" not in text and "You might also like" not in text and "Written By" not in text
    assert text.splitlines()[:3] == ["[Verse 1]", "I left the porch light burning", "Coffee on the stove & the kettle singing"]
    assert "[Chorus: Juniper Vale & Ada Stone]" in text.splitlines()


def test_genius_no_matching_hit_is_not_found():
    server = RecordedServer().add("GET", "/search", json_answer("genius/search.json"))
    assert genius(server).find("Bright Morning Road", "Somebody Unrelated").status == "not_found"
    empty = RecordedServer().add("GET", "/search", json_answer("genius/search_empty.json"))
    assert genius(empty).find("Anything", "Anyone").status == "not_found"


def test_genius_layout_change_is_an_error_and_instrumental_pages_are_found():
    server = (
        RecordedServer()
        .add("GET", "/search", json_answer("genius/search.json"))
        .add("GET", "/Juniper-vale-bright-morning-road-lyrics", html_answer("genius/page_without_lyrics.html"))
    )
    lookup = genius(server).find("Bright Morning Road", "Juniper Vale")
    assert lookup.status == "error" and "layout may have changed" in lookup.message

    server = (
        RecordedServer()
        .add("GET", "/search", json_answer("genius/search.json"))
        .add("GET", "/Juniper-vale-bright-morning-road-lyrics", html_answer("genius/instrumental_page.html"))
    )
    lookup = genius(server).find("Bright Morning Road", "Juniper Vale")
    assert lookup.status == "found" and lookup.instrumental


def test_genius_bad_token_stops_the_source_and_malformed_search_is_an_error():
    server = RecordedServer().add("GET", "/search", json_answer("genius/unauthorized.json", 401))
    with pytest.raises(ConnectorAuthError, match="Genius refused the request"):
        genius(server).find("X", "Y")
    malformed = RecordedServer().add("GET", "/search", json_answer({"meta": {"status": 200}}))
    lookup = genius(malformed).find("X", "Y")
    assert lookup.status == "error" and "response.hits" in lookup.message


def test_genius_refuses_page_urls_off_genius():
    data = {"response": {"hits": [{"type": "song", "result": {
        "title": "X", "artist_names": "Y", "url": "http://169.254.169.254/latest/meta-data"}}]}}
    server = RecordedServer().add("GET", "/search", json_answer(data))
    lookup = genius(server).find("X", "Y")
    assert lookup.status == "error" and "not on genius.com" in lookup.message
    assert len(server.requests) == 1


def test_genius_page_gone_is_not_found():
    server = (
        RecordedServer()
        .add("GET", "/search", json_answer("genius/search.json"))
        .add("GET", "/Juniper-vale-bright-morning-road-lyrics", httpx.Response(404, text="<html>gone</html>"))
    )
    assert genius(server).find("Bright Morning Road", "Juniper Vale").status == "not_found"


# ---------------------------------------------------------------- local files


def test_local_files_match_artist_and_title(tmp_path):
    (tmp_path / "The Quiet Harbour - Lanterns on the Water.txt").write_text("Hold the light\nHold the light\n", encoding="utf-8")
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "Marigold Street - Paper Boats.lrc").write_text("[ti: Paper Boats]\n[00:01.00] Folded up the paper\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a song file", encoding="utf-8")
    provider = LocalFilesProvider(tmp_path, settings=SETTINGS)
    found = provider.find("Lanterns On The Water", "the quiet harbour")
    assert found.status == "found" and found.source == "file:The Quiet Harbour - Lanterns on the Water.txt"
    assert provider.find("Paper Boats", "Marigold Street, Ada Stone").status == "found"
    assert provider.find("Missing", "Nobody").status == "not_found"


def test_local_files_refuse_binary_and_empty_files(tmp_path):
    (tmp_path / "A - Binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "A - Empty.txt").write_text("[Instrumental]\n", encoding="utf-8")
    provider = LocalFilesProvider(tmp_path, settings=SETTINGS)
    assert provider.find("Binary", "A").status == "error"
    assert provider.find("Empty", "A").status == "not_found"
    assert LocalFilesProvider(tmp_path / "nope", settings=SETTINGS).find("X", "Y").status == "error"


# ---------------------------------------------------------------- matching and configuration


def test_title_and_artist_matching():
    assert title_matches("Paper Boats", "Paper Boats (feat. Ada Stone)")
    assert title_matches("Paper Boats - 2011 Remaster", "paper boats")
    assert not title_matches("Paper Boats", "Paper Boats Forever")
    assert artist_matches("Marigold Street, Ada Stone", "Ada Stone & Friends")
    assert artist_matches("", "Anyone")
    assert not artist_matches("Marigold Street", "Someone Else Entirely")


def test_configured_providers_follow_the_order_and_skip_unconfigured(tmp_path):
    assert configured_providers(Settings({})) == ["lrclib"]
    settings = Settings({"DISCERN_LYRICS_PROVIDERS": "local, genius ,lrclib", "DISCERN_GENIUS_TOKEN": "t",
                         "DISCERN_LYRICS_DIR": str(tmp_path)})
    assert configured_providers(settings) == ["local", "genius", "lrclib"]
    providers = build_providers(settings, transport=RecordedServer().transport)
    assert [p.name for p in providers] == ["local", "genius", "lrclib"]
    for provider in providers:
        provider.close()
    with pytest.raises(ValueError, match="unknown sources \\['musixmatch'\\]"):
        configured_providers(Settings({"DISCERN_LYRICS_PROVIDERS": "lrclib,musixmatch"}))


HTML_PIECES = ["<div>", "</div>", "<br>", "<br/>", "</br>", "<span>", "</span>", "<a href='x'>", "</a>", "<p>",
               '<div data-lyrics-container="true">', '<div data-exclude-from-selection="true">', "&amp;", "&#x41;",
               "&bogus;", "<", ">", "</", "line of words", "\n", "<script>", "</script>", "<!-- note -->", "<img src=x>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(HTML_PIECES), max_size=40).map("".join))
def test_the_page_parser_never_fails_on_broken_html(html):
    text, instrumental = lyrics_from_page('<div data-lyrics-container="true">' + html)
    assert isinstance(text, str) and isinstance(instrumental, bool)
    assert "data-lyrics-container" not in text


# ---------------------------------------------------------------- 429, timeouts and untrusted text


def sleeping(server: RecordedServer, source: str, sleeps: list[float]):
    """The provider ``source`` on ``server``, recording every wait instead of sleeping."""
    options = {"bucket": TokenBucket(0), "sleep": sleeps.append}
    if source == "lrclib":
        return LrclibProvider("https://lrclib.test", settings=SETTINGS, transport=server.transport, **options)
    return GeniusProvider("genius-test-token", settings=SETTINGS, transport=server.transport, **options)


def found_answers(source: str, *first) -> RecordedServer:
    """A server where ``source`` finds its song, after the answers ``first`` (to its first request)."""
    if source == "lrclib":
        return RecordedServer().add("GET", "/api/get", *first, json_answer("lrclib/get_found.json"))
    return (
        RecordedServer()
        .add("GET", "api.genius.com/search", *first, json_answer("genius/search.json"))
        .add("GET", "genius.com/Juniper-vale-bright-morning-road-lyrics", html_answer("genius/song_page.html"))
    )


SONG = {"lrclib": ("Lanterns on the Water", "The Quiet Harbour"), "genius": ("Bright Morning Road", "Juniper Vale")}


@pytest.mark.parametrize("source", ["lrclib", "genius"])
def test_a_429_with_a_short_retry_after_is_waited_for_and_the_answer_kept(source):
    server = found_answers(source, json_answer({"error": "Too many requests"}, 429, {"Retry-After": "2"}))
    sleeps: list[float] = []
    lookup = sleeping(server, source, sleeps).find(*SONG[source])
    assert lookup.status == "found" and lookup.source == source
    assert sleeps == [2.0]  # the server's wait, not the backoff
    assert len(server.requests) == (2 if source == "lrclib" else 3)  # the 429, the retry (and the Genius page)


@pytest.mark.parametrize("source", ["lrclib", "genius"])
def test_a_429_with_a_long_retry_after_stops_the_source_without_waiting(source):
    server = found_answers(source, httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    label = {"lrclib": "LRCLIB", "genius": "Genius"}[source]
    with pytest.raises(RateLimited, match=rf"{label} asks to wait 3600 s .*DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS"):
        sleeping(server, source, sleeps).find(*SONG[source])
    assert sleeps == [] and len(server.requests) == 1


@pytest.mark.parametrize("source", ["lrclib", "genius"])
def test_429_after_every_retry_stops_the_source(source):
    server = found_answers(source, httpx.Response(429, headers={"Retry-After": "1"}))
    server.routes = {key: [httpx.Response(429, headers={"Retry-After": "1"})] for key in server.routes}
    sleeps: list[float] = []
    with pytest.raises(RateLimited, match="rate limiting us \\(HTTP 429 after 3 tries\\)"):
        sleeping(server, source, sleeps).find(*SONG[source])
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize("source", ["lrclib", "genius"])
def test_a_read_timeout_is_retried_and_a_lasting_one_is_an_error_for_this_song(source):
    server = found_answers(source, httpx.ReadTimeout("timed out"))
    sleeps: list[float] = []
    assert sleeping(server, source, sleeps).find(*SONG[source]).status == "found"
    assert len(sleeps) == 1  # one backoff, then the answer

    server = found_answers(source)
    route = ("GET", "/api/get") if source == "lrclib" else ("GET", "genius.com/Juniper-vale-bright-morning-road-lyrics")
    server.routes[route] = [httpx.ReadTimeout("timed out")]  # LRCLIB's only request; Genius's song page
    label = {"lrclib": "LRCLIB", "genius": "Genius"}[source]
    lookup = sleeping(server, source, []).find(*SONG[source])  # not raised: the next song may do better
    assert lookup.status == "error"
    assert f"{label} did not answer in time (read timeout) after 3 tries" in lookup.message


def raw_json(text: str, status: int = 200) -> httpx.Response:
    """A JSON body as bytes on the wire: "\\ud800" escapes stay as the server wrote them."""
    return httpx.Response(status, content=text.encode("ascii"), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000"])
def test_lrclib_lyrics_with_a_lone_surrogate_or_nul_are_refused_for_this_song(escape):
    body = '{"id": 1, "trackName": "X", "artistName": "Y", "plainLyrics": "Hold the light ' + escape + ' on the water"}'
    lookup = lrclib(RecordedServer().add("GET", "/api/get", raw_json(body))).find("X", "Y")
    assert lookup.status == "error" and lookup.text == ""
    assert lookup.message == NOT_TEXT and "broken Unicode" in lookup.message
    assert lookup.url == "https://lrclib.test/api/get/1"


def test_genius_lyrics_with_nul_and_page_urls_with_surrogates_are_song_errors():
    server = (
        RecordedServer()
        .add("GET", "/search", json_answer("genius/search.json"))
        .add("GET", "/Juniper-vale-bright-morning-road-lyrics", httpx.Response(
            200, content=b'<div data-lyrics-container="true">Hold the light\x00<br>On the water</div>',
            headers={"Content-Type": "text/html"}))
    )
    lookup = genius(server).find("Bright Morning Road", "Juniper Vale")
    assert lookup.status == "error" and lookup.message == NOT_TEXT
    for url in ("https://genius.com/\\ud800-lyrics", "https://genius.com/a\\u0000b", "https://gen\\ud800ius.com/x"):
        body = '{"response": {"hits": [{"type": "song", "result": {"title": "X", "artist_names": "Y", "url": "' + url + '"}}]}}'
        server = RecordedServer().add("GET", "/search", raw_json(body))
        lookup = genius(server).find("X", "Y")  # before: a UnicodeEncodeError or httpx.InvalidURL escaped
        assert lookup.status == "error" and "not on genius.com" in lookup.message
        assert is_storable_text(lookup.message) and len(server.requests) == 1


@pytest.mark.parametrize(
    "body, check",
    [
        ('{"id": "\\ud800", "trackName": "X", "plainLyrics": "Hold the light"}', lambda lookup: lookup.found and lookup.url == ""),
        ('{"id": {"a": 1}, "trackName": "X", "plainLyrics": "Hold the light"}', lambda lookup: lookup.found and lookup.url == ""),
        ('{"id": 7, "trackName": "X", "duration": 1' + "0" * 400 + ', "plainLyrics": "Hold"}', lambda lookup: lookup.found),
        ('{"id": 7, "trackName": "X", "duration": NaN, "plainLyrics": "Hold"}', lambda lookup: lookup.found),
        ("[" * 100_000, lambda lookup: lookup.status == "error" and "not JSON" in lookup.message),
    ],
    ids=["surrogate id", "object id", "huge duration", "NaN duration", "deep nesting"],
)
def test_lrclib_odd_answers_never_raise(body, check):
    server = (
        RecordedServer()
        .add("GET", "/api/get", json_answer("lrclib/get_not_found.json", 404))
        .add("GET", "/api/search", raw_json(body if body.startswith("[") else f"[{body}]"))
    )
    assert check(lrclib(server).find("X", "", "", 200_000))


def test_error_details_from_a_server_are_cleaned_before_they_are_kept():
    server = RecordedServer().add("GET", "/api/get", raw_json('{"message": "down \\ud800 for \\u0000 maintenance"}', 500))
    lookup = lrclib(server).find("X", "Y")
    assert lookup.status == "error" and "down \ufffd for  maintenance" in lookup.message


def test_storable_lookup_cleans_urls_and_messages_and_refuses_lyrics_that_are_not_text():
    odd = LyricsLookup("not_found", "file:Artist \udcff.txt", url="https://x.test/\ud800" + "x" * 2000, message="a\x00b \udfff")
    clean = storable_lookup(odd)
    assert (clean.status, clean.source, clean.message) == ("not_found", "file:Artist \ufffd.txt", "ab \ufffd")
    assert len(clean.url) == 1000 and is_storable_text(clean.url)
    assert storable_lookup(LyricsLookup("found", "lrclib", text="la \ud800 la")).status == "error"
    fine = LyricsLookup("found", "lrclib", text="Hold the light 🎵", url="https://lrclib.test/api/get/1")
    assert storable_lookup(fine) is fine
