"""Read songs for batch analysis from JSON Lines or CSV (``id``, ``title``, ``artist``,
``lyrics``; other fields ignored), reporting bad rows instead of stopping."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.engine import SongInput
from pipelines.importers.json_songs import json_error, json_lines

csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based line (JSONL) or data row (CSV) number
    message: str


def read_songs(path: Path, problems: list[RowProblem]) -> Iterator[tuple[SongInput, dict]]:
    """Yield (song, full row) for each usable row; append each unusable row to ``problems``."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".csv" or (path.suffix.lower() not in {".jsonl", ".json", ".ndjson"} and not text.lstrip().startswith("{")):
        rows = _csv_rows(text)
    else:
        rows = _jsonl_rows(text, problems)
    for number, row in rows:
        if not isinstance(row, dict):
            problems.append(RowProblem(number, "not an object with id/title/artist/lyrics"))
            continue
        lyrics = row.get("lyrics")
        if lyrics is None or not isinstance(lyrics, str):
            problems.append(RowProblem(number, "no 'lyrics' text"))
            continue
        song_id = str(row.get("id") or number)
        yield SongInput(song_id, lyrics, str(row.get("title") or ""), str(row.get("artist") or "")), row


def _jsonl_rows(text: str, problems: list[RowProblem]) -> Iterator[tuple[int, object]]:
    for number, line in enumerate(json_lines(text), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as exc:  # also numbers too long to convert, too deep nesting
            problems.append(RowProblem(number, json_error(exc)))
            continue
        yield number, row


def _csv_rows(text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))  # a bare \r inside a quoted cell is text
    fields = {f.strip().lower(): f for f in reader.fieldnames or []}
    for number, row in enumerate(reader, start=1):
        yield number, {key: row.get(original) for key, original in fields.items()}
