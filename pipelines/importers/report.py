"""What an import did, row by row: the common report of every importer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based: the line of a CSV/JSONL file (header = line 1), or the file's place in a folder
    message: str
    where: str = ""  # how a person finds the row: "line 7", "file 'Artist - Song.lrc'"
    kept: bool = False  # True: the row was imported anyway, only the named field was left out

    def __str__(self) -> str:
        where = self.where or f"row {self.row}"
        return f"{where}: {self.message}" + (" (the song was still imported)" if self.kept else "")


@dataclass
class ImportReport:
    source: str  # file, folder or upload name
    format: str  # spotify-csv, csv, jsonl, json, lyrics-files, sample-library
    rows: int = 0  # rows (or files) read
    songs_created: int = 0
    songs_updated: int = 0
    songs_unchanged: int = 0
    lyrics_added: int = 0
    lyrics_changed: int = 0  # each changed lyrics text gets re-analysed by the next job
    lyrics_unchanged: int = 0
    playlists: list[str] = field(default_factory=list)  # playlists created or synchronised
    playlist_songs: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.songs_created + self.songs_updated + self.songs_unchanged

    @property
    def skipped(self) -> int:
        return sum(not p.kept for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, row: int, message: str, where: str = "", kept: bool = False) -> None:
        self.problems.append(RowProblem(row, message, where or f"line {row}", kept))

    def summary(self) -> str:
        parts = [
            f"{self.source} ({self.format}): {self.rows} rows read, {self.imported} songs imported"
            f" ({self.songs_created} new, {self.songs_updated} updated, {self.songs_unchanged} unchanged)",
            f"lyrics {self.lyrics_added} added, {self.lyrics_changed} changed, {self.lyrics_unchanged} unchanged",
        ]
        if self.playlists:
            parts.append(f"playlist {', '.join(repr(p) for p in self.playlists)}: {self.playlist_songs} songs")
        parts.append(f"{self.skipped} rows skipped, {len(self.problems)} problems")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "imported": self.imported, "skipped": self.skipped}
