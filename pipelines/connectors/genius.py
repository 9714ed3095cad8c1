"""Genius: search the API with an access token, then read the lyrics from the song page.

The API (``GET https://api.genius.com/search?q=...`` with ``Authorization: Bearer``) finds
the song and its page URL; the API has no lyrics, so the page's
``<div data-lyrics-container="true">`` blocks are read with the standard library's HTML
parser (``<br>`` becomes a line break; parts marked ``data-exclude-from-selection`` are
page furniture and skipped). The raw text is stored; the engine's ``prepare`` cleans it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx

from pipelines.connectors.http import MalformedResponse, PoliteClient, is_storable_text, shown
from pipelines.connectors.lyrics_providers import (
    INSTRUMENTAL_TEXT,
    LyricsLookup,
    artist_matches,
    checked_lyrics,
    song_level_errors,
    title_matches,
)
from pipelines.settings import Settings, get_settings

API_URL = "https://api.genius.com"
PAGE_HOSTS = ("genius.com",)
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


class _LyricsContainers(HTMLParser):
    """Collects the text of every ``data-lyrics-container="true"`` element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = []
        self.stack: list[str] = []  # open tags inside the current container
        self.skip_depth: int | None = None  # stack depth of an excluded element
        self.instrumental = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if not self.stack:
            if tag == "div" and attributes.get("data-lyrics-container") == "true":
                self.blocks.append([])
                self.stack.append(tag)
            return
        if tag == "br":
            if self.skip_depth is None:
                self.blocks[-1].append("\n")
            return
        if tag in VOID_TAGS:
            return
        self.stack.append(tag)
        if self.skip_depth is None and (
            attributes.get("data-exclude-from-selection") == "true" or tag in {"script", "style", "template"}
        ):
            self.skip_depth = len(self.stack)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_starttag(tag, attrs)
        elif tag not in VOID_TAGS:
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or tag in VOID_TAGS or tag not in self.stack:
            return
        # Pop back to the matching open tag (HTML lets some end tags go missing).
        while self.stack:
            if self.skip_depth is not None and len(self.stack) <= self.skip_depth:
                self.skip_depth = None
            if self.stack.pop() == tag:
                break
        if not self.stack and self.blocks:
            self.blocks[-1].append("\n")

    def handle_data(self, data: str) -> None:
        if self.stack and self.skip_depth is None:
            self.blocks[-1].append(data)
        elif not self.stack and "This song is an instrumental" in data:
            self.instrumental = True


def lyrics_from_page(html: str) -> tuple[str | None, bool]:
    """(lyrics text or None when the page has no lyrics container, page says instrumental)."""
    parser = _LyricsContainers()
    parser.feed(html)
    parser.close()
    if not parser.blocks:
        return None, parser.instrumental
    text = "".join("".join(block) for block in parser.blocks)
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip("\n"), parser.instrumental


class GeniusProvider:
    name = "genius"
    cacheable = True

    def __init__(
        self, token: str, *, api_url: str = API_URL, page_hosts: tuple[str, ...] = PAGE_HOSTS,
        settings: Settings | None = None, transport: httpx.BaseTransport | None = None, **client_options: Any,
    ) -> None:
        if not token:
            raise ValueError("the Genius source needs an access token (DISCERN_GENIUS_TOKEN)")
        settings = settings or get_settings()
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.page_hosts = page_hosts
        self.max_bytes = settings.discern_max_lyrics_bytes
        self.client = PoliteClient(
            "genius", label="Genius", settings=settings, transport=transport,
            rate_per_minute=settings.discern_genius_rate_per_minute, **client_options,
        )

    def close(self) -> None:
        self.client.close()

    def find(self, title: str, artist: str, album: str = "", duration_ms: int | None = None) -> LyricsLookup:
        return song_level_errors(self.name, lambda: self._find(title, artist))

    def _find(self, title: str, artist: str) -> LyricsLookup:
        _, data = self.client.get_json(
            f"{self.api_url}/search",
            params={"q": f"{title} {artist}".strip()},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        song = self._best_hit(data, title, artist)
        if song is None:
            return LyricsLookup("not_found", self.name, message="Genius has no song with this title and artist")
        url = self._page_url(song.get("url"))
        if song.get("instrumental") is True:
            return LyricsLookup("found", self.name, text=INSTRUMENTAL_TEXT, url=url, instrumental=True)
        response = self.client.request("GET", url, allow=(404,))
        if response.status_code == 404:
            return LyricsLookup("not_found", self.name, url=url, message="the Genius song page is gone (404)")
        text, instrumental = lyrics_from_page(response.text)
        if text is None or (instrumental and not text.strip()):
            if instrumental:
                return LyricsLookup("found", self.name, text=INSTRUMENTAL_TEXT, url=url, instrumental=True)
            return LyricsLookup(
                "error", self.name, url=url,
                message="the Genius page has no lyrics container; the page layout may have changed",
            )
        if not text.strip():
            return LyricsLookup("not_found", self.name, url=url, message="the Genius page has no lyrics yet")
        return checked_lyrics(self.name, text, url, self.max_bytes)

    def _page_url(self, url: Any) -> str:
        """The hit's song page URL if it is an https URL on genius.com (the token's answer
        decides which page is read: never another host, never an unparsable URL)."""
        if isinstance(url, str) and len(url) <= 1000 and is_storable_text(url):
            try:
                parsed = httpx.URL(url)
            except (httpx.InvalidURL, ValueError):  # UnicodeError is a ValueError
                parsed = None
            if parsed is not None and parsed.scheme == "https" and parsed.host in self.page_hosts:
                return url
        raise MalformedResponse(f"Genius gave a song page URL that is not on genius.com: {shown(url)}", provider=self.name)

    def _best_hit(self, data: Any, title: str, artist: str) -> dict[str, Any] | None:
        try:
            hits = data["response"]["hits"]
        except (TypeError, KeyError):
            raise MalformedResponse("Genius search answered without response.hits", provider=self.name) from None
        if not isinstance(hits, list):
            raise MalformedResponse("Genius search hits are not a list", provider=self.name)
        for hit in hits:
            if not isinstance(hit, dict) or hit.get("type") != "song" or not isinstance(hit.get("result"), dict):
                continue
            song = hit["result"]
            primary = song.get("primary_artist") if isinstance(song.get("primary_artist"), dict) else {}
            found_artist = song.get("artist_names") or primary.get("name") or ""
            found_title = song.get("title") or ""
            if not isinstance(found_title, str) or not isinstance(found_artist, str):
                continue
            if title_matches(title, found_title) and artist_matches(artist, found_artist):
                return song
        return None
