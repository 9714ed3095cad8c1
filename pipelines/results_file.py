"""The JSON Lines results file of ``python -m pipelines analyze --input FILE --output OUT``,
shared by the local and the Ray engine: resumable, so an interrupted run keeps what it
finished and a re-run analyses only the rest.

One line per song: its result (``{"id": ..., **SongAnalysis.to_dict()}``) or, when it could
not be analysed, ``{"id": ..., "error": ...}``. Lines are appended batch by batch, each batch
flushed and fsynced, so a killed run leaves complete lines and at most one torn last line.

Before a run, ``resume_results`` reads what an earlier run left in the file and keeps every
result of a song still in the input made by the same analyzer version at the same
sensitivity; failure lines (retried), results of another version or sensitivity (redone)
and songs no longer in the input are dropped by rewriting the file without them (a temp file
and ``os.replace``, so a crash leaves the old file or the new one); a torn last line is cut
off by truncating the file back to the last complete line. ``restart_results`` empties the
file instead (``--restart``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pipelines.engine import AnalysisFailure, Outcome, SongInput


class NotAResultsFile(ValueError):
    """The existing output holds lines that no analyze run wrote: it is left alone."""


@dataclass
class ResultsPlan:
    """What a run still has to do: analyse ``todo`` and append it to ``path``."""

    path: Path
    todo: list[SongInput]
    kept: int = 0  # results already in the file, kept
    failures: int = 0  # failure lines dropped: those songs are tried again
    outdated: int = 0  # results of another analyzer version or sensitivity dropped: redone
    not_in_input: int = 0  # results of songs the input no longer has, dropped
    torn: bool = False  # a torn last line (a killed write) was cut off
    resumed: bool = False  # an earlier run's (non-empty) file was continued

    def describe(self) -> str:
        """The line said on stderr when a file is resumed."""
        counts = ((self.failures, "failed before, retried"),
                  (self.outdated, "from another analyzer version or sensitivity, redone"),
                  (self.not_in_input, "not in the input, dropped"))
        dropped = [f"{count} {text}" for count, text in counts if count]
        if self.torn:
            dropped.append("a torn last line cut off")
        detail = f" ({'; '.join(dropped)})" if dropped else ""
        return (
            f"resuming {self.path}: {self.kept} songs already analysed kept, {len(self.todo)} left to analyse{detail}"
            " (--restart starts the file over)"
        )


@dataclass(frozen=True)
class _Line:
    start: int  # byte offset of the line in the file
    end: int  # byte offset after it (and its newline)
    kind: str  # "result", "failure", "blank", "not json" or "foreign" (JSON, but no result)
    id: str = ""
    version: str | None = None
    sensitivity: str | None = None


def restart_results(path: Path, songs: Sequence[SongInput]) -> ResultsPlan:
    """Start ``path`` over: empty it (or create it), everything to do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        os.fsync(handle.fileno())
    return ResultsPlan(path, list(songs))


def resume_results(path: Path, songs: Sequence[SongInput], version: str, sensitivity: str) -> ResultsPlan:
    """Keep what an earlier run finished in ``path`` (see the module doc) and say what is left.

    Raises ``NotAResultsFile`` when a line other than the last is not JSON, or a line is not
    a result or failure record: the file is then not touched.
    """
    if not path.exists():
        return restart_results(path, songs)
    lines = _scan(path)
    torn = bool(lines) and lines[-1].kind == "not json"
    complete = lines[:-1] if torn else lines
    for number, line in enumerate(complete, start=1):
        if line.kind == "not json":
            raise NotAResultsFile(f"line {number} of {path} is not JSON")
        if line.kind == "foreign":
            raise NotAResultsFile(f"line {number} of {path} is not an analysis result")

    plan = ResultsPlan(path, [], torn=torn, resumed=bool(lines))
    wanted = Counter(song.id for song in songs)  # ids may repeat in an input: keep as many lines
    keep: list[_Line] = []
    for line in complete:
        if line.kind == "blank":
            continue
        if wanted[line.id] <= 0:
            plan.not_in_input += 1
        elif line.kind == "failure":
            plan.failures += 1
        elif line.version != version or line.sensitivity != sensitivity:
            plan.outdated += 1
        else:
            wanted[line.id] -= 1
            keep.append(line)
    plan.kept = len(keep)
    for song in songs:  # in input order, each id as often as the input has it and the file has not
        if wanted[song.id] > 0:
            wanted[song.id] -= 1
            plan.todo.append(song)

    if len(keep) < len(complete):  # lines dropped (or blank): rewrite the file without them
        _rewrite(path, keep)
    elif torn:
        _truncate(path, lines[-1].start)
    if keep and not _ends_with_newline(path):  # a complete last line whose newline was lost
        with open(path, "ab") as handle:
            handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    return plan


def _scan(path: Path) -> list[_Line]:
    """Each line of ``path``: its offsets and what it is (only what deciding needs is kept)."""
    lines: list[_Line] = []
    offset = 0
    with open(path, "rb") as handle:
        for raw in handle:  # a binary file splits on b"\n" only
            start, offset = offset, offset + len(raw)
            lines.append(_Line(start, offset, *_classify(raw)))
    return lines


def _classify(raw: bytes) -> tuple:
    if not raw.strip():
        return ("blank",)
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # also bytes that are not UTF-8
        return ("not json",)
    if not isinstance(record, dict) or "id" not in record:
        return ("foreign",)
    if "error" in record:
        return ("failure", str(record["id"]))
    analyzer = record.get("analyzer")
    if not isinstance(analyzer, dict):
        return ("foreign",)
    return ("result", str(record["id"]), analyzer.get("version"), record.get("sensitivity"))


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        handle.flush()
        os.fsync(handle.fileno())


def _rewrite(path: Path, keep: list[_Line]) -> None:
    """Replace ``path`` by a file of only the ``keep`` lines, atomically: a crash leaves the
    old file or the new one, never half of one."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(path, "rb") as source, os.fdopen(fd, "wb") as target:
            for line in keep:
                source.seek(line.start)
                data = source.read(line.end - line.start)
                target.write(data if data.endswith(b"\n") else data + b"\n")
            target.flush()
            os.fsync(target.fileno())
        shutil.copymode(path, temp)  # the file keeps its permissions, not mkstemp's 0600
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform that cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_batch(handle: IO[str], batch: Iterable[tuple[SongInput, Outcome]]) -> int:
    """Write one batch of (song, outcome) lines and make them durable; the number that failed."""
    failures = 0
    for song, outcome in batch:
        if isinstance(outcome, AnalysisFailure):
            failures += 1
            record = {"id": song.id, "error": outcome.error}
        else:
            record = {"id": song.id, **outcome.to_dict()}
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())
    return failures
