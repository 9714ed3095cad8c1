"""Importers: files and uploads into the library, each idempotent and reporting per-row
problems (``ImportReport``) without dropping the good rows.

``import_path`` (CLI) and ``import_upload`` (dashboard) pick the importer from the
format or the file name; the sessions they take are the caller's transaction.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from pipelines.importers.csv_playlist import import_csv
from pipelines.importers.json_songs import import_json
from pipelines.importers.lyrics_files import (
    folder_entries,
    import_lyrics_files,
    open_zip,
    single_file_entry,
    zip_entries,
)
from pipelines.importers.report import ImportReport, RowProblem
from pipelines.importers.sample_library import SAMPLE_LIBRARY_PATH, import_sample_library
from pipelines.settings import get_settings

FORMATS = ("auto", "csv", "json", "lyrics")

__all__ = [
    "FORMATS",
    "SAMPLE_LIBRARY_PATH",
    "ImportReport",
    "RowProblem",
    "import_path",
    "import_sample_library",
    "import_upload",
]


def detect_format(name: str) -> str | None:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix in {".json", ".jsonl", ".ndjson"}:
        return "json"
    if suffix in {".zip", ".txt", ".lrc"}:
        return "lyrics"
    return None


def _too_large(size: int, name: str) -> ImportReport | None:
    limit_mb = get_settings().discern_max_upload_mb
    if size <= limit_mb * 2**20:
        return None
    report = ImportReport(source=name, format="unknown")
    report.problem(0, f"the file is {size / 2**20:.1f} MB, over the {limit_mb} MB limit (DISCERN_MAX_UPLOAD_MB)", "file")
    return report


def import_upload(
    session: Session, data: bytes, filename: str, playlist: str | None = None, format: str = "auto"
) -> ImportReport:
    """Import one uploaded file: a CSV playlist, JSON/JSONL songs, a zip of lyrics files
    or a single .txt/.lrc lyrics file."""
    if (report := _too_large(len(data), filename)) is not None:
        return report
    kind = detect_format(filename) if format == "auto" else format
    if kind == "csv":
        return import_csv(session, data, filename, playlist)
    if kind == "json":
        return import_json(session, data, filename, playlist)
    if kind == "lyrics":
        if filename.lower().endswith(".zip"):
            try:
                archive = open_zip(data)
            except Exception as exc:  # not a zip, or a damaged one (BadZipFile, EOFError, ValueError, ...)
                report = ImportReport(source=filename, format="lyrics-files")
                report.problem(0, f"cannot read the zip file: {exc}", "file")
                return report
            return import_lyrics_files(session, zip_entries(archive), filename, playlist)
        return import_lyrics_files(session, iter([single_file_entry(filename, data)]), filename, playlist)
    report = ImportReport(source=filename, format="unknown")
    report.problem(0, "unknown file type: use .csv, .json, .jsonl, .zip, .txt or .lrc (or name the format)", "file")
    return report


def import_path(session: Session, path: Path, playlist: str | None = None, format: str = "auto") -> ImportReport:
    """Import a file, or a folder of lyrics files, from disk."""
    if path.is_dir():
        return import_lyrics_files(session, folder_entries(path), path.name, playlist)
    if (report := _too_large(path.stat().st_size, path.name)) is not None:
        return report
    return import_upload(session, path.read_bytes(), path.name, playlist, format)
