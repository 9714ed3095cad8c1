"""Lyrics files: a folder or a zip of ``.txt`` and ``.lrc`` files.

Artist and title come from the file's header when it has one (LRC ``[ar:]``/``[ti:]``
tags, or ``Title:``/``Artist:`` lines at the top of a text file), else from a file name
such as ``Artist - Title.txt``. A file finds the song a playlist import created by title
and first artist, so lyrics can be added to an imported Spotify playlist.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.lyrics import LRC_TIMESTAMP, LyricsError, decode_lyrics
from pipelines.settings import get_settings

EXTENSIONS = {".txt", ".lrc"}
LRC_HEADER = re.compile(r"^\s*\[(ar|ti|al|length|au|by|offset|re|ve|#)\s*:([^\]]*)\]\s*$", re.I)
# The value is the text after the colon up to its last non-space character; the possessive
# \s*+ keeps a long run of spaces from being retried position by position.
TEXT_HEADER = re.compile(r"^\s*(title|artist|album)\s*:\s*+(.*\S)\s*$", re.I)
TRACK_NUMBER = re.compile(r"^\d{1,3}\s*[.\-_)]?\s+")


def _ignored(path: PurePosixPath) -> bool:
    # Operating-system litter in folders and zips is not the user's content.
    return any(part.startswith(".") or part == "__MACOSX" for part in path.parts) or path.name in {"Thumbs.db", "desktop.ini"}


# An entry is (name, content), or (name, message) when the file could not be read.
Entry = tuple[str, bytes | str]


def folder_entries(folder: Path) -> Iterator[Entry]:
    """Every file under ``folder``, in a stable order."""
    limit = get_settings().discern_max_lyrics_bytes
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = PurePosixPath(path.relative_to(folder).as_posix())
        if _ignored(relative):
            continue
        if path.stat().st_size > limit:
            yield str(relative), f"larger than {limit:,} bytes (DISCERN_MAX_LYRICS_BYTES); skipped"
            continue
        try:
            yield str(relative), path.read_bytes()
        except OSError as exc:
            yield str(relative), f"cannot read the file ({exc.strerror}); skipped"


def single_file_entry(name: str, data: bytes) -> Entry:
    """One uploaded lyrics file as an entry; over DISCERN_MAX_LYRICS_BYTES, the message."""
    limit = get_settings().discern_max_lyrics_bytes
    if len(data) > limit:
        return name, f"larger than {limit:,} bytes (DISCERN_MAX_LYRICS_BYTES); skipped"
    return name, data


def open_zip(data: bytes) -> zipfile.ZipFile:
    """The archive; raises ``zipfile.BadZipFile`` when ``data`` is not a zip."""
    return zipfile.ZipFile(io.BytesIO(data))


def zip_entries(archive: zipfile.ZipFile) -> Iterator[Entry]:
    """Every file in the archive, in name order."""
    settings = get_settings()
    limit = settings.discern_max_lyrics_bytes
    # Declared sizes can lie (a zip bomb): read at most one byte past each limit.
    budget = 4 * settings.discern_max_upload_mb * 2**20
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not info.filename:  # a name that starts with NUL: zipfile cuts it to nothing
                yield "(an entry without a name)", "the entry has no file name; skipped"
                continue
            name = PurePosixPath(info.filename)
            if info.is_dir() or _ignored(name):
                continue
            if budget <= 0:
                yield info.filename, "the archive unpacks to more than 4x DISCERN_MAX_UPLOAD_MB; this and later files skipped"
                return
            try:
                with archive.open(info) as handle:
                    content = handle.read(min(limit, budget) + 1)
            except Exception as exc:  # a damaged archive fails in many ways (zlib.error, EOFError, ...)
                yield info.filename, f"cannot unpack the file ({type(exc).__name__}: {exc}); skipped"
                continue
            budget -= len(content)
            if len(content) > limit:
                yield info.filename, f"larger than {limit:,} bytes (DISCERN_MAX_LYRICS_BYTES); skipped"
            else:
                yield info.filename, content


def parse_lyrics_file(name: str, text: str) -> tuple[dict[str, str], str]:
    """(header fields title/artist/album, lyrics without header or timestamps)."""
    fields: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body: list[str] = []
    if name.lower().endswith(".lrc"):
        keys = {"ar": "artist", "ti": "title", "al": "album"}
        for line in lines:
            match = LRC_HEADER.match(line)
            if match:
                if match.group(1).lower() in keys and match.group(2).strip():
                    fields[keys[match.group(1).lower()]] = match.group(2).strip()
                continue
            body.append(LRC_TIMESTAMP.sub("", line).strip())
    else:
        position = 0
        while position < len(lines) and (match := TEXT_HEADER.match(lines[position])):
            fields[match.group(1).lower()] = match.group(2)
            position += 1
        body = lines[position:]
    return fields, "\n".join(body).strip("\n")


def names_from_filename(name: str) -> tuple[str, str]:
    """(artist, title) from "Artist - Title.txt" (a leading track number is dropped)."""
    stem = PurePosixPath(name).stem
    stem = TRACK_NUMBER.sub("", stem) if TRACK_NUMBER.sub("", stem) else stem
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        return artist.strip(), title.strip()
    return "", stem.strip()


def read_lyrics_files(entries: Iterator[Entry], report: ImportReport) -> list[SongRecord]:
    records = []
    for number, (name, data) in enumerate(entries, start=1):
        report.rows += 1
        where = f"file {name!r}"
        if PurePosixPath(name).suffix.lower() not in EXTENSIONS:
            report.problem(number, "not a .txt or .lrc file; skipped", where)
            continue
        if isinstance(data, str):
            report.problem(number, data, where)
            continue
        try:
            text = decode_lyrics(data)
        except LyricsError as exc:
            report.problem(number, f"{exc}; skipped", where)
            continue
        fields, lyrics = parse_lyrics_file(name, text)
        if not lyrics.strip():
            report.problem(number, "no lyrics in the file; skipped", where)
            continue
        if "\x00" in lyrics:  # a damaged UTF-16 file: without its lyrics the file holds nothing to import
            report.problem(number, "this looks like a binary file, not lyrics text (it contains NUL bytes); skipped",
                           where)
            continue
        artist, title = names_from_filename(name)
        title = fields.get("title") or title
        if not title:
            report.problem(number, "no title in the file's header or name (use 'Artist - Title.txt'); skipped", where)
            continue
        if lost := _undecodable_bytes(data, text):
            report.problem(number, f"not UTF-8 or UTF-16 text: read as Windows-1252, {lost:,} undecodable bytes"
                           " became \ufffd in the lyrics", where, kept=True)
        records.append(
            SongRecord(
                row=number, where=where, title=title, artist=fields.get("artist") or artist,
                album=fields.get("album", ""), lyrics=lyrics, lyrics_source=f"file:{PurePosixPath(name).name}",
            )
        )
    return records


def _undecodable_bytes(data: bytes, text: str) -> int:
    """How many bytes ``decode_lyrics`` had to replace with U+FFFD (its Windows-1252
    fallback); 0 when the file was UTF-8 or UTF-16 text, whose own U+FFFD are content."""
    if "\ufffd" not in text:
        return 0
    for encoding in ("utf-8-sig", "utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig",):
        try:
            data.decode(encoding)
            return 0
        except UnicodeDecodeError:
            continue
    return text.count("\ufffd")


def import_lyrics_files(
    session: Session, entries: Iterator[Entry], name: str, playlist: str | None = None
) -> ImportReport:
    """Attach lyrics to songs (creating songs not in the library yet). With ``playlist``,
    the songs are also added to that playlist, after the songs it already has."""
    report = ImportReport(source=name, format="lyrics-files")
    records = read_lyrics_files(entries, report)
    if records:
        save_records(session, records, report, playlist=playlist, replace_playlist=False)
    return report
