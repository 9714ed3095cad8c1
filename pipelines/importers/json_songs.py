"""Songs as JSON: JSON Lines (one object a line: title, artist, lyrics, and optionally
album, duration_ms, explicit, spotify_uri, genre, id), or one JSON document holding a
list of such objects or ``{"playlist": {"name", "description"}, "songs": [...]}`` (the
shape of Discern's own results export, so exports import back).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from pipelines.importers.records import (
    SongRecord,
    parse_bool,
    parse_duration_ms,
    playlist_name_from,
    save_records,
    spotify_uri,
)
from pipelines.importers.report import ImportReport
from pipelines.lyrics import LyricsError, decode_lyrics


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def song_record(obj: Any, row: int, where: str, source: str, report: ImportReport) -> SongRecord | None:
    """One JSON object as a record; None (and a problem) when it cannot be imported."""
    if not isinstance(obj, dict):
        report.problem(row, f"expected an object with title, artist and lyrics, got {type(obj).__name__}", where)
        return None
    title = _text(obj.get("title") or obj.get("name"))
    if not title:
        report.problem(row, "no title; skipped", where)
        return None
    lyrics = obj.get("lyrics")
    if lyrics is not None and not isinstance(lyrics, str):
        report.problem(row, "lyrics are not text; skipped", where)
        return None
    record = SongRecord(
        row=row, where=where, title=title, artist=_text(obj.get("artist")), album=_text(obj.get("album")),
        genre=_text(obj.get("genre")), lyrics=lyrics or None, lyrics_source=f"json:{source}",
    )
    for key, parse in (("duration_ms", parse_duration_ms), ("explicit", parse_bool)):
        try:
            setattr(record, key, parse(obj.get(key)))
        except ValueError as exc:
            report.problem(row, f"{key}: {exc}; left empty", where, kept=True)
    uri = obj.get("spotify_uri") or obj.get("uri")
    if uri:
        try:
            record.external_ids["spotify"] = spotify_uri(str(uri))
        except ValueError as exc:
            report.problem(row, f"spotify_uri: {exc}; imported without it", where, kept=True)
    if obj.get("id") not in (None, ""):
        record.extra["source_id"] = _text(obj.get("id"))
    return record


def read_json(data: bytes, name: str, report: ImportReport) -> tuple[list[SongRecord], dict]:
    """Records and the document's playlist fields (name, description) if it has them."""
    try:
        text = decode_lyrics(data, stray_nul=True)
    except LyricsError as exc:
        report.problem(1, f"cannot read the file as text: {exc}")
        return [], {}
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and _is_one_document(stripped)):
        return _read_document(stripped, name, report)
    report.format = "jsonl"
    records = []
    for number, line in enumerate(json_lines(text), start=1):
        if not line.strip():
            continue
        report.rows += 1
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            report.problem(number, f"{json_error(exc)}; skipped")
            continue
        record = song_record(obj, number, f"line {number}", name, report)
        if record is not None:
            records.append(record)
    return records, {}


def json_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split on "\n" only (``str.splitlines`` also splits on
    U+2028, U+0085 and other characters that JSON strings may hold unescaped)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def json_error(exc: ValueError | RecursionError) -> str:
    """What is wrong with a JSON text, in words (the parser's own errors are not all syntax:
    a number too long to convert, arrays nested too deeply)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "not usable JSON (nested too deeply)"
    return f"not usable JSON ({exc})"


def _is_one_document(text: str) -> bool:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and isinstance(document.get("songs"), list)


def _read_document(text: str, name: str, report: ImportReport) -> tuple[list[SongRecord], dict]:
    report.format = "json"
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        report.problem(getattr(exc, "lineno", 1), json_error(exc))
        return [], {}
    songs = document if isinstance(document, list) else document.get("songs", [])
    playlist = document.get("playlist") if isinstance(document, dict) else None
    records = []
    for number, obj in enumerate(songs, start=1):
        report.rows += 1
        record = song_record(obj, number, f"song {number}", name, report)
        if record is not None:
            records.append(record)
    return records, playlist if isinstance(playlist, dict) else {}


def import_json(session: Session, data: bytes, name: str, playlist: str | None = None) -> ImportReport:
    """Import JSON Lines or a JSON document into ``playlist`` (default: the document's
    playlist name, else the file name without extension)."""
    report = ImportReport(source=name, format="json")
    records, meta = read_json(data, name, report)
    if records:
        target = playlist or _text(meta.get("name")) or playlist_name_from(name)
        # The document's description belongs to the document's playlist, not to one named by the caller.
        description = None if playlist else (_text(meta.get("description")) or None)
        save_records(session, records, report, playlist=target, description=description)
    return report
