"""The bundled sample library (``pipelines/data/sample_library.json``): original songs
with labels, in a few playlists. A fresh install starts with it (DISCERN_LOAD_SAMPLE_LIBRARY).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from pipelines.importers.json_songs import song_record
from pipelines.importers.records import save_records, storable_name
from pipelines.importers.report import ImportReport
from pipelines.store.repository import sync_playlist

SAMPLE_LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "sample_library.json"


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def import_sample_library(session: Session, path: Path = SAMPLE_LIBRARY_PATH) -> ImportReport:
    """Import (or re-synchronise) the sample songs and playlists; safe to run again."""
    report = ImportReport(source=path.name, format="sample-library")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON or bad UTF-8
        report.problem(1, f"cannot read the sample library: {exc}", "file")
        return report
    version = document.get("version") if isinstance(document, dict) else None
    if version != 1:
        report.problem(1, f"unknown sample library version {version!r} (expected 1)", "file")
        return report
    records = []
    for number, song in enumerate(_list(document.get("songs")), start=1):
        report.rows += 1
        where = f"song {number}"
        if not isinstance(song, dict) or not song.get("id"):
            report.problem(number, "a sample song without an id; skipped", where)
            continue
        record = song_record(song, number, where, "sample library", report)
        if record is None:
            continue
        record.lyrics_source = "sample library"
        record.external_ids = {"sample": str(song["id"])}
        record.extra = {"sample_id": str(song["id"]), "labels": song.get("labels") or {}}
        records.append(record)
    saved = save_records(session, records, report)
    song_ids = {record.external_ids.get("sample"): song_id for record, song_id in saved}
    for number, playlist in enumerate(_list(document.get("playlists")), start=1):
        name = playlist.get("name") if isinstance(playlist, dict) else None
        if not isinstance(name, str) or not storable_name(name).strip():
            report.problem(number, "a sample playlist without a name; skipped", f"playlist {number}")
            continue
        name = storable_name(name).strip()
        members = []
        for sample_id in _list(playlist.get("song_ids")):
            if isinstance(sample_id, str) and sample_id in song_ids:
                members.append(song_ids[sample_id])
            else:
                report.problem(number, f"song id {sample_id!r} is not in the sample library; left out",
                               f"playlist {name!r}", kept=True)
        description = playlist.get("description")
        description = storable_name(description, limit=0) if isinstance(description, str) else ""
        sync_playlist(session, name, members, description=description, source="sample-library")
        report.playlists.append(name)
        report.playlist_songs += len(members)
    return report
