"""CSV playlists: Spotify exports (Exportify-style columns such as "Track URI", "Track Name",
"Artist Name(s)", "Album Name", "Duration (ms)", "Explicit") and simple CSVs with title,
artist and lyrics. Column names are matched case-insensitively through aliases.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from pipelines.importers.records import (
    SongRecord,
    parse_bool,
    parse_duration_ms,
    playlist_name_from,
    save_records,
    spotify_uri,
    unescape_cell,
)
from pipelines.importers.report import ImportReport
from pipelines.lyrics import LyricsError, decode_lyrics

csv.field_size_limit(64 * 1024 * 1024)

# field -> header spellings (lower case) seen in Spotify export tools and hand-made files
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("track name", "title", "song", "song name", "name", "track"),
    "artist": ("artist name(s)", "artist name", "artist names", "artist", "artists", "artist(s)"),
    "album": ("album name", "album"),
    "duration_ms": ("duration (ms)", "duration_ms", "duration ms", "track duration (ms)"),
    "explicit": ("explicit",),
    "spotify": ("track uri", "spotify uri", "spotify_uri", "uri", "spotify track uri", "track id", "spotify id"),
    "genre": ("genres", "genre", "artist genres"),
    "lyrics": ("lyrics",),
    "isrc": ("isrc",),
    "id": ("id",),
}
SPOTIFY_MARKERS = {"track uri", "track name", "artist name(s)", "album name", "duration (ms)"}


def _columns(fieldnames: list[str]) -> dict[str, str]:
    """field -> the file's header for it."""
    headers = {name.strip().lower(): name for name in fieldnames if name}
    found = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in headers:
                found[key] = headers[alias]
                break
    return found


def read_csv(data: bytes, name: str, report: ImportReport) -> list[SongRecord]:
    """Parse the CSV into records; rows that cannot be imported become problems."""
    try:
        text = decode_lyrics(data, stray_nul=True)
    except LyricsError as exc:
        report.problem(1, f"cannot read the file as text: {exc}")
        return []
    stream = io.StringIO(text, newline="")
    reader = csv.DictReader(stream)
    fieldnames = reader.fieldnames or []
    columns = _columns(fieldnames)
    if SPOTIFY_MARKERS & {f.strip().lower() for f in fieldnames}:
        report.format = "spotify-csv"
    if "title" not in columns:
        report.problem(1, f"no title column: expected one of {', '.join(repr(a) for a in COLUMNS['title'])}"
                       f" (found {', '.join(repr(f) for f in fieldnames) or 'no header'})")
        return []
    records = []
    line = 1  # the header's last line; reader.line_num is the line a row ends on
    offset = stream.tell()
    for row in reader:
        raw, offset = text[offset : stream.tell()], stream.tell()
        # DictReader passes over empty lines: the row starts after them.
        blank = raw[: len(raw) - len(raw.lstrip("\r\n"))]
        start, line = line + 1 + blank.count("\n") + blank.count("\r") - blank.count("\r\n"), reader.line_num
        report.rows += 1
        if line > start and (error := _quoting_error(raw)):
            # A stray or missing quote makes the csv module read the following lines into one
            # cell; those rows would vanish into it unseen.
            report.problem(start, f"lines {start}-{line} were read as one row ({error}): a quote is missing or"
                           " extra; skipped, check the quoting")
            continue
        record = _record(row, columns, start, name, report)
        if record is not None:
            records.append(record)
    return records


def _quoting_error(raw: str) -> str | None:
    """Why the raw text of one row spanning several lines is not well-formed CSV, or None."""
    try:
        for _ in csv.reader(io.StringIO(raw, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return str(exc)
    return None


def _cell(row: dict, columns: dict[str, str], key: str) -> str:
    value = row.get(columns[key]) if key in columns else None
    return unescape_cell(value.strip()) if isinstance(value, str) else ""


def _record(row: dict, columns: dict[str, str], line: int, name: str, report: ImportReport) -> SongRecord | None:
    if None in row:
        report.problem(line, f"{len(row[None])} more cells than the header has columns; check the quoting")
        return None
    title = _cell(row, columns, "title")
    if not title:
        report.problem(line, "no track name/title; skipped")
        return None
    record = SongRecord(
        row=line, where=f"line {line}", title=title, artist=_cell(row, columns, "artist"),
        album=_cell(row, columns, "album"), genre=_cell(row, columns, "genre"),
    )
    lyrics = row.get(columns["lyrics"]) if "lyrics" in columns else None
    if lyrics and lyrics.strip():
        record.lyrics, record.lyrics_source = lyrics, f"csv:{name}"
    for key, parse, target in (("duration_ms", parse_duration_ms, "duration_ms"), ("explicit", parse_bool, "explicit")):
        raw = _cell(row, columns, key)
        try:
            setattr(record, target, parse(raw))
        except ValueError as exc:
            report.problem(line, f"{columns[key]}: {exc}; left empty", kept=True)
    raw_uri = _cell(row, columns, "spotify")
    if raw_uri:
        try:
            record.external_ids["spotify"] = spotify_uri(raw_uri)
        except ValueError as exc:
            report.problem(line, f"{columns['spotify']}: {exc}; imported without it", kept=True)
    for key in ("isrc", "id"):
        if _cell(row, columns, key):
            record.extra[key if key == "isrc" else "source_id"] = _cell(row, columns, key)
    return record


def import_csv(session: Session, data: bytes, name: str, playlist: str | None = None) -> ImportReport:
    """Import a CSV playlist into playlist ``playlist`` (default: the file name without extension)."""
    report = ImportReport(source=name, format="csv")
    records = read_csv(data, name, report)
    if records:
        save_records(session, records, report, playlist=playlist or playlist_name_from(name))
    return report
