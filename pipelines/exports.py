"""Exports of a playlist: every result as CSV or JSON, and the "clean playlist" (songs whose
verdict passes the chosen sensitivity) as CSV in the import's own format and as M3U.

Every export reads back through the importers: the CSVs start with the Spotify-export
columns, and the JSON has the shape ``importers.json_songs`` reads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.importers.records import FORMULA_TRIGGERS
from pipelines.settings import get_settings
from pipelines.store.library_view import SongRow, playlist_songs
from pipelines.store.models import Lyrics, Playlist, utcnow
from pipelines.taxonomy import Taxonomy, load_taxonomy
from pipelines.verdict import all_enabled, rederive

IMPORT_COLUMNS = ("Track URI", "Track Name", "Artist Name(s)", "Album Name", "Duration (ms)", "Explicit")
SCORE_GROUPS = ("concerns", "themes", "emotions", "sentiments")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise_cell(h) for h in header])
    for row in rows:
        writer.writerow([neutralise_cell("" if v is None else v) for v in row])
    return out.getvalue()


def verdict_at(
    result: Mapping[str, Any], sensitivity: str, taxonomy: Taxonomy, enabled: Collection[str] | None = None
) -> str:
    """The verdict of a stored result at another sensitivity, or with only ``enabled``
    concerns counting, from its stored concern scores (no model runs)."""
    stored = result["verdict"]
    scores = result.get("scores", {}).get("concerns")
    if not scores or (sensitivity == result.get("sensitivity") and all_enabled(enabled, taxonomy)):
        return stored
    return rederive(scores, stored, result.get("sensitivity", "balanced"), taxonomy, sensitivity, enabled).verdict


def effective_verdict(
    row: SongRow, sensitivity: str, taxonomy: Taxonomy, enabled: Collection[str] | None = None
) -> str | None:
    """A person's override first; else the analysis's verdict at ``sensitivity`` with
    ``enabled`` concerns (None: all)."""
    if row.override_verdict:
        return row.override_verdict
    if row.result is None:
        return None
    return verdict_at(row.result, sensitivity, taxonomy, enabled)


def _import_cells(row: SongRow) -> list[Any]:
    explicit = "" if row.explicit is None else ("true" if row.explicit else "false")
    return [row.spotify_uri or "", row.title, row.artist, row.album, row.duration_ms, explicit]


def results_csv(
    session: Session, playlist_id: int, analyzer_version: str | None = None, sensitivity: str | None = None,
    enabled: Collection[str] | None = None,
) -> str:
    """Every song of the playlist with its result: import columns, verdicts, every score."""
    sensitivity = sensitivity or get_settings().discern_sensitivity
    taxonomy = load_taxonomy()
    rows = playlist_songs(session, playlist_id, analyzer_version, with_results=True)
    keys = {group: _score_keys(rows, group) for group in SCORE_GROUPS}
    header = [
        *IMPORT_COLUMNS, "Position", "Verdict", "Analysed verdict", "Override note", "Score", "Concerns", "Themes",
        "Emotion", "Sentiment", "Explanation", "Profile", "Analyzer version", "Analysed at",
        *(f"{group}.{key}" for group in SCORE_GROUPS for key in keys[group]),
    ]
    out = []
    for row in rows:
        result = row.result or {}
        scores = result.get("scores", {})
        out.append([
            *_import_cells(row), row.position, effective_verdict(row, sensitivity, taxonomy, enabled), row.analysed_verdict,
            row.override_note, row.score, ";".join(row.concerns), ";".join(result.get("themes", [])), row.emotion,
            row.sentiment, result.get("explanation"), result.get("analyzer", {}).get("profile"), row.analyzer_version,
            row.analysed_at.isoformat() if row.analysed_at else None,
            *(scores.get(group, {}).get(key) for group in SCORE_GROUPS for key in keys[group]),
        ])
    return _csv(header, out)


def _score_keys(rows: list[SongRow], group: str) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        for key in (row.result or {}).get("scores", {}).get(group, {}):
            keys.setdefault(key)
    return list(keys)


def results_json(
    session: Session, playlist_id: int, analyzer_version: str | None = None, sensitivity: str | None = None,
    include_lyrics: bool = True, enabled: Collection[str] | None = None,
) -> str:
    """The playlist and every song's full stored result (scores, evidence, timings)."""
    sensitivity = sensitivity or get_settings().discern_sensitivity
    taxonomy = load_taxonomy()
    playlist = session.get(Playlist, playlist_id)
    if playlist is None:
        raise LookupError(f"no playlist with id {playlist_id}")
    rows = playlist_songs(session, playlist_id, analyzer_version, with_results=True)
    lyrics = {}
    if include_lyrics:
        lyrics = dict(
            session.execute(select(Lyrics.song_id, Lyrics.text).where(Lyrics.song_id.in_([r.song_id for r in rows])))
            .tuples()
            .all()
        )
    songs = [
        {
            "position": row.position, "title": row.title, "artist": row.artist, "album": row.album,
            "duration_ms": row.duration_ms, "explicit": row.explicit, "spotify_uri": row.spotify_uri,
            **({"lyrics": lyrics.get(row.song_id)} if include_lyrics else {}),
            "verdict": effective_verdict(row, sensitivity, taxonomy, enabled),
            "override": {"verdict": row.override_verdict, "note": row.override_note} if row.override_verdict else None,
            "analysis": row.result,
        }
        for row in rows
    ]
    document = {
        "format": "discern-results", "version": 1, "exported_at": utcnow().isoformat(), "sensitivity": sensitivity,
        "concerns_counted": sorted(enabled) if enabled is not None else list(taxonomy.concern_keys),
        "analyzer_version": analyzer_version, "playlist": {"name": playlist.name, "description": playlist.description},
        "songs": songs,
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def clean_songs(
    session: Session, playlist_id: int, sensitivity: str | None = None, analyzer_version: str | None = None,
    include_review: bool = False, enabled: Collection[str] | None = None,
) -> list[SongRow]:
    """The playlist's songs whose verdict passes: approved (or also "review" when asked).
    Songs without a result are left out: nothing is known about them yet."""
    sensitivity = sensitivity or get_settings().discern_sensitivity
    taxonomy = load_taxonomy()
    passing = {"approved", "review"} if include_review else {"approved"}
    rows = playlist_songs(session, playlist_id, analyzer_version, with_results=True)
    return [row for row in rows if effective_verdict(row, sensitivity, taxonomy, enabled) in passing]


def clean_playlist_csv(session: Session, playlist_id: int, **options: Any) -> str:
    """The clean playlist in the Spotify-export columns the CSV importer reads."""
    return _csv(IMPORT_COLUMNS, (_import_cells(row) for row in clean_songs(session, playlist_id, **options)))


def _one_line(text: str) -> str:
    return " ".join(text.split())  # a newline in a title must not start a new M3U entry


def clean_playlist_m3u(session: Session, playlist_id: int, **options: Any) -> str:
    """The clean playlist as extended M3U. Entries point at the Spotify URI when known,
    else at "Artist - Title.mp3"; players and converters match on the #EXTINF line."""
    playlist = session.get(Playlist, playlist_id)
    if playlist is None:
        raise LookupError(f"no playlist with id {playlist_id}")
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(playlist.name)}"]
    for row in clean_songs(session, playlist_id, **options):
        seconds = round(row.duration_ms / 1000) if row.duration_ms else -1
        name = _one_line(f"{row.artist} - {row.title}" if row.artist else row.title)
        lines.append(f"#EXTINF:{seconds},{name}")
        lines.append(row.spotify_uri or f"{name.replace('/', '_')}.mp3")
    return "\n".join(lines) + "\n"


EXPORTS = {
    "results-csv": (results_csv, "csv"),
    "results-json": (results_json, "json"),
    "clean-csv": (clean_playlist_csv, "csv"),
    "clean-m3u": (clean_playlist_m3u, "m3u"),
}
