"""Lyrics sources behind one interface, tried in the order of ``DISCERN_LYRICS_PROVIDERS``.

Every provider answers ``find(title, artist, album, duration_ms)`` with a ``LyricsLookup``:
``found`` (with the raw text, checked with the engine's ``prepare`` but stored as the
source gave it: the engine cleans at analysis), ``not_found``, or ``error`` for a problem
with this one song (a malformed answer, a server error after retries). A problem with the
whole source (no network, a refused key, a long rate-limit wait) raises a
``ConnectorError`` instead: the caller stops asking that source for the rest of the run.

Every text of an answer is untrusted: lyrics with NUL characters or an unpaired surrogate
(a JSON ``"\\ud800"``) are refused as an ``error`` for that song, and ``storable_lookup``
cleans the URL and message of any lookup before it is cached or stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import httpx

from pipelines.connectors.http import (
    ConnectorAuthError,
    ConnectorHTTPError,
    ConnectorUnavailable,
    MalformedResponse,
    PoliteClient,
    RateLimited,
    is_storable_text,
    storable_text,
)
from pipelines.lyrics import LyricsError, decode_lyrics, prepare
from pipelines.settings import Settings, get_settings

STATUSES = ("found", "not_found", "error")
PROVIDER_NAMES = ("lrclib", "genius", "local")
# What an instrumental track's lyrics are stored as: a bracketed note that ``prepare``
# drops, so the engine reports "no lyrics to analyse (empty or instrumental)".
INSTRUMENTAL_TEXT = "[Instrumental]"
NOT_TEXT = (
    "the lyrics contain NUL characters or broken Unicode (an unpaired surrogate such as a JSON \\ud800):"
    " not text that can be stored; refused"
)
URL_LIMIT = 1000  # the cache's url column
SOURCE_LIMIT = 200  # the lyrics' source column
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class LyricsLookup:
    status: str  # found / not_found / error
    source: str  # the provider's name
    text: str = ""  # raw lyrics as the source gave them (found only)
    url: str = ""  # where they came from, for a person to check
    message: str = ""  # why not found / what went wrong
    instrumental: bool = False

    @property
    def found(self) -> bool:
        return self.status == "found"


class LyricsProvider(Protocol):
    name: str
    cacheable: bool  # False for sources that are cheap and may change (local files)

    def find(self, title: str, artist: str, album: str = "", duration_ms: int | None = None) -> LyricsLookup: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- matching

_PARENS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_DASH_SUFFIX = re.compile(r"\s+-\s+.*$")
_ARTIST_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bx\b|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b)\s*", re.I)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def title_matches(wanted: str, found: str) -> bool:
    """Same title, ignoring "(feat. X)", "[Live]" and " - Remastered 2011" decorations."""
    if normalise(wanted) == normalise(found):
        return True
    bare = lambda t: normalise(_DASH_SUFFIX.sub("", _PARENS.sub("", t)))  # noqa: E731
    return bool(bare(wanted)) and bare(wanted) == bare(found)


def artists(text: str) -> set[str]:
    return {normalise(a) for a in _ARTIST_SPLIT.split(text or "") if normalise(a)}


def artist_matches(wanted: str, found: str) -> bool:
    """At least one artist in common ("A, B" matches "B & C"); an unknown artist matches."""
    if not wanted.strip():
        return True
    return normalise(wanted) == normalise(found) or bool(artists(wanted) & artists(found))


def checked_lyrics(source: str, text: str, url: str = "", max_bytes: int | None = None) -> LyricsLookup:
    """A found lookup for ``text`` if ``prepare`` finds lyric lines in it."""
    limit = max_bytes if max_bytes is not None else get_settings().discern_max_lyrics_bytes
    if not is_storable_text(text):
        return LyricsLookup("error", source, url=url, message=NOT_TEXT)
    size = len(text.encode("utf-8", errors="replace"))
    if size > limit:
        return LyricsLookup("error", source, url=url, message=f"the lyrics are {size:,} bytes, over the {limit:,}-byte limit")
    try:
        prepared = prepare(text)
    except LyricsError as exc:
        return LyricsLookup("error", source, url=url, message=f"the text is not usable lyrics: {exc}")
    if prepared.is_empty:
        return LyricsLookup("not_found", source, url=url, message="the source's lyrics text is empty")
    return LyricsLookup("found", source, text=text, url=url)


def storable_lookup(lookup: LyricsLookup) -> LyricsLookup:
    """``lookup`` as the database can store it: found lyrics that are not storable text
    become an ``error`` (with ``NOT_TEXT``); the source, URL and message are cleaned of NUL
    characters and unpaired surrogates and cut to their columns. Applied to every answer
    before it is cached or stored, whatever the provider."""
    source = storable_text(lookup.source, SOURCE_LIMIT)
    url = storable_text(lookup.url, URL_LIMIT)
    message = storable_text(lookup.message)
    if lookup.found and not is_storable_text(lookup.text):
        return LyricsLookup("error", source, url=url, message=NOT_TEXT)
    if (source, url, message) == (lookup.source, lookup.url, lookup.message):
        return lookup
    return replace(lookup, source=source, url=url, message=message)


def song_level_errors(source: str, call: Callable[[], LyricsLookup]) -> LyricsLookup:
    """Run ``call``; a problem with this song becomes an ``error`` lookup, a problem with the
    whole source (unreachable, refused key, rate limited) propagates."""
    try:
        return call()
    except (ConnectorUnavailable, ConnectorAuthError, RateLimited):
        raise
    except (ConnectorHTTPError, MalformedResponse) as exc:
        return LyricsLookup("error", source, message=str(exc))


# ---------------------------------------------------------------- LRCLIB


class LrclibProvider:
    """LRCLIB (https://lrclib.net): an open lyrics database with a public API, no key.

    ``GET /api/get`` matches title, artist, album and duration exactly; when it answers 404
    ``GET /api/search`` is asked by title and artist and the best match is taken.
    """

    name = "lrclib"
    cacheable = True

    def __init__(
        self, base_url: str | None = None, *, settings: Settings | None = None,
        transport: httpx.BaseTransport | None = None, **client_options: Any,
    ) -> None:
        settings = settings or get_settings()
        self.base_url = (base_url or settings.discern_lrclib_url).rstrip("/")
        self.max_bytes = settings.discern_max_lyrics_bytes
        self.client = PoliteClient(
            "lrclib", label="LRCLIB", base_url=self.base_url, settings=settings, transport=transport,
            rate_per_minute=settings.discern_lrclib_rate_per_minute, **client_options,
        )

    def close(self) -> None:
        self.client.close()

    def find(self, title: str, artist: str, album: str = "", duration_ms: int | None = None) -> LyricsLookup:
        return song_level_errors(self.name, lambda: self._find(title, artist, album, duration_ms))

    def _find(self, title: str, artist: str, album: str, duration_ms: int | None) -> LyricsLookup:
        if artist.strip():  # the exact match needs an artist; without one, search by title
            params: dict[str, Any] = {"track_name": title, "artist_name": artist}
            if album:
                params["album_name"] = album
            if duration_ms:
                params["duration"] = round(duration_ms / 1000)
            status, data = self.client.get_json("/api/get", params=params, allow=(404,))
            if status == 200:
                return self._record(self._as_record(data))
        search = {"track_name": title, **({"artist_name": artist} if artist.strip() else {})}
        _, results = self.client.get_json("/api/search", params=search)
        if not isinstance(results, list):
            raise MalformedResponse(f"LRCLIB search answered {type(results).__name__}, not a list", provider=self.name)
        candidates = [
            record for record in map(self._as_record, results)
            if title_matches(title, record["trackName"]) and artist_matches(artist, record["artistName"])
        ]
        if not candidates:
            return LyricsLookup("not_found", self.name, message="LRCLIB has no track with this title and artist")

        def rank(record: dict[str, Any]) -> tuple[float, int]:
            gap = abs(record["duration"] - duration_ms / 1000) if duration_ms and record["duration"] else 999.0
            has_text = bool(record["plainLyrics"] or record["syncedLyrics"] or record["instrumental"])
            return (0 if has_text else 1, gap)

        return self._record(min(candidates, key=rank))

    def _as_record(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("trackName"), str):
            raise MalformedResponse("LRCLIB sent a track without a trackName", provider=self.name)
        record_id = data.get("id")
        if not (
            (isinstance(record_id, int) and not isinstance(record_id, bool) and 0 <= record_id < 10**18)
            or (isinstance(record_id, str) and _RECORD_ID.fullmatch(record_id))
        ):
            record_id = None  # no usable id: the lookup has no URL, nothing worse
        duration = data.get("duration")
        record = {
            "id": record_id,
            "trackName": data["trackName"],
            "artistName": data.get("artistName") if isinstance(data.get("artistName"), str) else "",
            # A song's length in seconds; NaN, infinity or 10**400 are not one.
            "duration": duration if isinstance(duration, (int, float)) and 0 <= duration < 86_400 else 0,
            "instrumental": data.get("instrumental") is True,
        }
        for field in ("plainLyrics", "syncedLyrics"):
            value = data.get(field)
            if value is not None and not isinstance(value, str):
                raise MalformedResponse(f"LRCLIB's {field} is {type(value).__name__}, not text", provider=self.name)
            record[field] = value or ""
        return record

    def _record(self, record: dict[str, Any]) -> LyricsLookup:
        url = f"{self.base_url}/api/get/{record['id']}" if record.get("id") is not None else ""
        if record["instrumental"]:
            return LyricsLookup("found", self.name, text=INSTRUMENTAL_TEXT, url=url, instrumental=True)
        # Plain text when there is one; synced (LRC) lyrics otherwise: prepare() drops the timestamps.
        text = record["plainLyrics"] or record["syncedLyrics"]
        if not text.strip():
            return LyricsLookup("not_found", self.name, url=url, message="LRCLIB knows the track but has no lyrics for it")
        return checked_lyrics(self.name, text, url, self.max_bytes)


# ---------------------------------------------------------------- local files


class LocalFilesProvider:
    """A folder of ``Artist - Title.txt`` / ``.lrc`` files (subfolders included)."""

    name = "local"
    cacheable = False  # reading a file is cheap, and the folder may change at any time

    def __init__(self, folder: str | Path, *, settings: Settings | None = None) -> None:
        self.folder = Path(folder)
        self.max_bytes = (settings or get_settings()).discern_max_lyrics_bytes
        self._index: dict[tuple[str, str], Path] | None = None

    def close(self) -> None:
        pass

    def index(self) -> dict[tuple[str, str], Path]:
        if self._index is None:
            index: dict[tuple[str, str], Path] = {}
            # .txt first, so a plain file wins over an .lrc of the same song.
            files = sorted(self.folder.rglob("*"), key=lambda p: (p.suffix.lower() != ".txt", str(p)))
            for path in files:
                if path.suffix.lower() not in {".txt", ".lrc"} or not path.is_file() or " - " not in path.stem:
                    continue
                artist, title = path.stem.split(" - ", 1)
                index.setdefault((normalise(title), normalise(artist)), path)
            self._index = index
        return self._index

    def find(self, title: str, artist: str, album: str = "", duration_ms: int | None = None) -> LyricsLookup:
        if not self.folder.is_dir():
            return LyricsLookup("error", self.name, message=f"the lyrics folder {self.folder} does not exist")
        index = self.index()
        path = index.get((normalise(title), normalise(artist)))
        if path is None:  # "A, B" in the library, "A - Title.txt" on disk
            path = next((p for (t, a), p in index.items() if t == normalise(title) and a in artists(artist)), None)
        if path is None:
            return LyricsLookup("not_found", self.name, message=f"no 'Artist - Title' file in {self.folder}")
        try:
            text = decode_lyrics(path.read_bytes())
        except (OSError, LyricsError) as exc:
            return LyricsLookup("error", self.name, url=str(path), message=f"cannot read {path.name}: {exc}")
        lookup = checked_lyrics(self.name, text, str(path), self.max_bytes)
        return LyricsLookup(lookup.status, f"file:{path.name}", lookup.text, lookup.url, lookup.message)


# ---------------------------------------------------------------- configuration


def provider_order(settings: Settings) -> list[str]:
    """The provider names of DISCERN_LYRICS_PROVIDERS; an unknown name is an error."""
    names = [n.strip().lower() for n in settings.discern_lyrics_providers.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROVIDER_NAMES]
    if unknown:
        raise ValueError(
            f"DISCERN_LYRICS_PROVIDERS names unknown sources {unknown}; use some of {', '.join(PROVIDER_NAMES)}"
        )
    return list(dict.fromkeys(names))


def configured_providers(settings: Settings) -> list[str]:
    """The providers in order that have what they need (Genius a token, local a folder)."""
    usable = []
    for name in provider_order(settings):
        if name == "genius" and not settings.discern_genius_token:
            continue
        if name == "local" and not settings.discern_lyrics_dir:
            continue
        usable.append(name)
    return usable


def build_providers(
    settings: Settings | None = None, *, transport: httpx.BaseTransport | None = None, **client_options: Any
) -> list[LyricsProvider]:
    """Provider objects for the configured sources, in order (close them when done)."""
    from pipelines.connectors.genius import GeniusProvider

    settings = settings or get_settings()
    providers: list[LyricsProvider] = []
    for name in configured_providers(settings):
        if name == "lrclib":
            providers.append(LrclibProvider(settings=settings, transport=transport, **client_options))
        elif name == "genius":
            providers.append(GeniusProvider(settings.discern_genius_token, settings=settings, transport=transport, **client_options))
        else:
            providers.append(LocalFilesProvider(settings.discern_lyrics_dir, settings=settings))
    return providers
