"""Property-based checks of everything that reads untrusted input: the lyrics cleaner, the
chunker, every importer (CSV, JSON/JSONL, lyrics files, zip, sample library, the
``analyze --input`` reader), the exports, and what online sources answer (the lyrics
providers and the Spotify playlist importer, in ``connector_checks``).

Each check takes one generated input and asserts what must hold for *any* input: no
exception escapes, every row is either imported or named in a problem with a message,
plainly good rows are kept, and exported cells never start a spreadsheet formula. Each
importer example runs in a transaction that is rolled back, so one database serves all.
``run_check`` drives one check with hypothesis and returns how many inputs it tried.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from pipelines.exports import clean_playlist_csv, clean_playlist_m3u, results_csv
from pipelines.importers import import_sample_library, import_upload
from pipelines.importers.records import FORMULA_TRIGGERS, TEXT_LIMITS
from pipelines.lyrics import (
    LyricLine,
    LyricsError,
    chunk_lines,
    decode_lyrics,
    prepare,
    split_long_line,
)
from pipelines.reliability import connector_checks, hostile
from pipelines.songfiles import RowProblem, read_songs
from pipelines.store.library_view import playlist_songs
from pipelines.store.repository import find_playlist, identity_key


@dataclass(frozen=True)
class InputCheck:
    name: str
    strategy: st.SearchStrategy
    check: Callable[[sessionmaker[Session], Any], None]
    needs_database: bool = True


@dataclass(frozen=True)
class CheckRun:
    name: str
    inputs: int
    seconds: float


# ------------------------------------------------------------------ helpers


def _rolled_back(sessions: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    """``work(session)`` in a transaction that is always rolled back."""
    with sessions() as session:
        session.begin()
        try:
            return work(session)
        finally:
            session.rollback()


def _report_is_consistent(report) -> None:
    for problem in report.problems:
        assert problem.message.strip(), f"a problem without a message: {problem!r}"
        assert problem.where.strip() and problem.row >= 0, f"a problem that does not say where: {problem!r}"
        str(problem)  # the CLI prints it
    report.summary()


def _is_plain(value: str, limit: int = 200) -> bool:
    """Text any importer must keep: printable, not empty, no edge spaces, short."""
    return bool(value) and value == value.strip() and value.isprintable() and len(value) <= limit


def _playlist_titles(session: Session, name: str) -> list[str]:
    playlist = find_playlist(session, name)
    return [row.title for row in playlist_songs(session, playlist.id)] if playlist else []


# ------------------------------------------------------------------ lyrics


def check_prepare(_sessions, text: str) -> None:
    try:
        prepared = prepare(text)
    except LyricsError as exc:
        assert str(exc), "a refusal without a message"
        return
    numbers = [line.number for line in prepared.lines]
    assert numbers == sorted(numbers) and all(n >= 1 for n in numbers)
    if "<" not in text:  # only <br> tags renumber lines
        assert not numbers or numbers[-1] <= len(text.splitlines())
    for line in prepared.lines:
        assert line.text and line.text == line.text.strip() and "\n" not in line.text and "\x00" not in line.text


def check_decode(_sessions, data: bytes) -> None:
    try:
        text = decode_lyrics(data)
    except LyricsError as exc:
        assert "binary" in str(exc)
        return
    assert isinstance(text, str)
    check_prepare(None, text)


def check_chunker(_sessions, case: tuple[list[str], int, str]) -> None:
    texts, max_tokens, unit = case
    count = (lambda t: len(t.split())) if unit == "words" else len
    lines = [LyricLine(i + 1, text) for i, text in enumerate(texts)]
    for line in lines:
        pieces = split_long_line(line, count, max_tokens)
        assert all(p.number == line.number for p in pieces)
        # Pieces are cut on spaces, then (a word over the limit) by characters: no other change.
        assert "".join(p.text for p in pieces).replace(" ", "") == line.text.replace(" ", ""), "a split lost text"
        assert all(count(p.text) < max_tokens or len(p.text) <= 1 for p in pieces), "a piece over the limit"
    chunks = chunk_lines(lines, count, max_tokens)
    pieces = [piece for chunk in chunks for piece in chunk.lines]
    assert [p.number for p in pieces] == sorted(p.number for p in pieces)
    assert {p.number for p in pieces} == {line.number for line in lines}


# ------------------------------------------------------------------ importers


def check_csv(sessions, case: tuple[int, list[tuple[list[str], bool]]]) -> None:
    header = hostile.CSV_HEADERS[case[0]]
    data, written = hostile.csv_document(header, case[1])

    def work(session: Session) -> None:
        report = import_upload(session, data, "fuzz.csv")
        _report_is_consistent(report)
        if not header:  # the first row is taken as the header: only consistency can be said
            return
        lowered = [h.lower() for h in header]
        title_column = next((i for i, h in enumerate(lowered) if h in ("title", "track name", "name", "song")), None)
        if title_column is None:
            assert report.imported == 0 and len(report.problems) == 1 and "title" in report.problems[0].message
            return
        assert report.rows == len(written)
        assert report.imported == report.playlist_songs
        assert report.playlist_songs + report.skipped == report.rows, "a row was neither imported nor reported"
        titles = _playlist_titles(session, "fuzz")
        keys = [identity_key(row[title_column], "") for row in written]
        uris = [row[0] for row in written] if lowered[0] == "track uri" else []
        for index, row in enumerate(written):
            title = row[title_column]
            good = (
                _is_plain(title) and not title.startswith("'") and len(row) == len(header)  # not ragged
                and keys.count(keys[index]) == 1 and (not uris or uris.count(row[0]) == 1)
                and all(_is_plain(cell) or cell == "" for cell in row)
            )
            if good:
                assert title in titles, f"the good row {row!r} was not imported: {report.problems}"

    _rolled_back(sessions, work)


def check_csv_bytes(sessions, data: bytes) -> None:
    def work(session: Session) -> None:
        report = import_upload(session, b"title,artist,lyrics\n" + data, "raw.csv")
        _report_is_consistent(report)
        assert report.playlist_songs + report.skipped <= max(report.rows, 1)

    _rolled_back(sessions, work)


def check_json(sessions, case: tuple[list[object], bool]) -> None:
    objects, as_document = case
    data = (
        hostile.json_lines([{"playlist": {"name": "fuzz"}, "songs": objects}])
        if as_document else hostile.json_lines(objects)
    )

    def work(session: Session) -> None:
        report = import_upload(session, data, "fuzz.jsonl")
        _report_is_consistent(report)
        if not report.rows:
            return
        assert report.imported == report.playlist_songs
        assert report.playlist_songs + report.skipped == report.rows, "a row was neither imported nor reported"
        titles = _playlist_titles(session, "fuzz")
        seen = [identity_key(str(o.get("title")), str(o.get("artist") or "")) for o in objects if isinstance(o, dict)]
        for obj in objects:
            if isinstance(obj, dict) and "title" in obj and set(obj) <= {"title", "artist"} and all(
                isinstance(v, str) and _is_plain(v) for v in obj.values()
            ) and seen.count(identity_key(obj["title"], obj.get("artist", ""))) == 1:
                assert obj["title"] in titles, f"the good song {obj!r} was not imported: {report.problems}"

    _rolled_back(sessions, work)


def check_json_bytes(sessions, data: bytes) -> None:
    def work(session: Session) -> None:
        report = import_upload(session, data, "raw.jsonl")
        _report_is_consistent(report)
        assert report.imported + report.skipped <= max(report.rows, 1)

    _rolled_back(sessions, work)


def check_lyrics_file(sessions, case: tuple[str, bytes]) -> None:
    name, data = case

    def work(session: Session) -> None:
        report = import_upload(session, data, name + ".txt", format="lyrics")
        _report_is_consistent(report)
        assert report.rows == 1 and report.imported + report.skipped == 1

    _rolled_back(sessions, work)


def check_zip(sessions, case: tuple[list[tuple[str, bytes]], list[int]]) -> None:
    entries, damage = case
    data = hostile.flip_bytes(hostile.zip_archive(entries), damage)

    def work(session: Session) -> None:
        report = import_upload(session, data, "fuzz.zip")
        _report_is_consistent(report)
        assert report.imported + report.skipped <= max(report.rows, 1)
        if not damage:
            assert report.imported + report.skipped == report.rows

    _rolled_back(sessions, work)


def check_sample_library(sessions, document: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "library.json"
        path.write_bytes(hostile.json_lines([document]))

        def work(session: Session) -> None:
            report = import_sample_library(session, path)
            _report_is_consistent(report)
            skipped_songs = sum(not p.kept and p.where.startswith("song ") for p in report.problems)
            assert report.imported + skipped_songs <= report.rows

        _rolled_back(sessions, work)


def check_song_reader(_sessions, case: tuple[bytes, str]) -> None:
    data, suffix = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"songs{suffix}"
        path.write_bytes(data)
        problems: list[RowProblem] = []
        songs = list(read_songs(path, problems))
    assert all(isinstance(song.lyrics, str) for song, _ in songs)
    assert all(p.message for p in problems)


# ------------------------------------------------------------------ exports


def check_exports(sessions, titles: list[str]) -> None:
    rows = [{"title": t, "artist": "Band", "lyrics": "Praise the morning"} for t in titles]
    data = hostile.json_lines(rows)

    def work(session: Session) -> None:
        report = import_upload(session, data, "export me.jsonl")
        assert report.ok, report.problems
        playlist_id = find_playlist(session, "export me").id
        for text in (results_csv(session, playlist_id), clean_playlist_csv(session, playlist_id, include_review=True)):
            for cells in csv.reader(io.StringIO(text, newline="")):
                bad = [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
                assert not bad, f"formula cells in an export: {bad}"
        m3u = clean_playlist_m3u(session, playlist_id)
        assert all(line.startswith(("#", "spotify:")) or line.endswith(".mp3") for line in m3u.splitlines())
        back = import_upload(session, results_csv(session, playlist_id).encode("utf-8"), "read back.csv")
        assert back.ok, back.problems
        assert _playlist_titles(session, "read back") == titles, "an exported title did not read back unchanged"

    _rolled_back(sessions, work)


def _storable_title(text: str) -> bool:
    already_quoted = text.startswith("'") and text[1:2] in FORMULA_TRIGGERS and text[1:2] != ""  # read back unquoted
    return (bool(text.strip()) and text == text.strip() and "\x00" not in text
            and len(text) <= TEXT_LIMITS["title"] and not already_quoted)


def _unique_by_identity(titles: list[str]) -> bool:
    keys = [identity_key(t, "Band") for t in titles]
    return len(set(keys)) == len(keys)


CHECKS: tuple[InputCheck, ...] = (
    InputCheck("lyrics cleaner (text)", hostile.lyrics_text, check_prepare, needs_database=False),
    InputCheck("lyrics decoder (bytes)", hostile.raw_bytes, check_decode, needs_database=False),
    InputCheck(
        "chunker",
        st.tuples(st.lists(st.one_of(st.text(min_size=1, max_size=400), hostile.cell_text.filter(bool)), max_size=8),
                  st.integers(2, 64), st.sampled_from(["words", "chars"])),
        check_chunker, needs_database=False,
    ),
    InputCheck("CSV importer (rows)", st.tuples(st.integers(0, len(hostile.CSV_HEADERS) - 1), hostile.csv_rows), check_csv),
    InputCheck("CSV importer (bytes)", hostile.raw_bytes, check_csv_bytes),
    InputCheck("JSON/JSONL importer (songs)", st.tuples(st.lists(hostile.song_objects, max_size=8), st.booleans()), check_json),
    InputCheck("JSON/JSONL importer (bytes)",
               st.one_of(hostile.raw_bytes, st.lists(st.sampled_from(hostile.JSON_EDGE_LINES), max_size=4).map(
                   lambda lines: "\n".join(lines).encode("utf-8"))), check_json_bytes),
    InputCheck("lyrics file importer", st.tuples(hostile.cell_text.map(lambda t: t.replace("/", "_")), hostile.raw_bytes),
               check_lyrics_file),
    InputCheck("zip importer", st.tuples(hostile.zip_entries, st.lists(st.integers(0, 10**6), max_size=3)), check_zip),
    InputCheck("sample library importer",
               st.one_of(hostile.json_values, st.fixed_dictionaries(
                   {"version": st.just(1), "songs": st.lists(hostile.song_objects, max_size=5),
                    "playlists": st.lists(hostile.json_values, max_size=3)})),
               check_sample_library),
    InputCheck("analyze --input reader", st.tuples(hostile.raw_bytes, st.sampled_from([".csv", ".jsonl", ".txt"])),
               check_song_reader, needs_database=False),
    InputCheck("lyrics sources (LRCLIB, Genius answers)", connector_checks.lyrics_cases,
               connector_checks.check_lyrics_sources),
    InputCheck("Spotify playlist importer (API answers)", connector_checks.spotify_cases,
               connector_checks.check_spotify_import),
    InputCheck("exports (formula cells, read back)",
               st.lists(hostile.cell_text.filter(_storable_title), min_size=1, max_size=6).filter(_unique_by_identity),
               check_exports),
)


def run_check(check: InputCheck, sessions: sessionmaker[Session] | None, examples: int,
              random_seed: int | None = None) -> CheckRun:
    """Try ``examples`` generated inputs on ``check``; raises on the first failing input
    (hypothesis shrinks it first and prints it). Returns how many inputs were tried."""
    tried = 0

    @settings(max_examples=examples, deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(check.strategy)
    def run(value: Any) -> None:
        nonlocal tried
        tried += 1
        check.check(sessions, value)

    if random_seed is not None:
        run = seed(random_seed)(run)
    started = time.perf_counter()
    run()
    return CheckRun(check.name, tried, time.perf_counter() - started)


def run_big_inputs(sessions: sessionmaker[Session], megabytes: int = 10) -> CheckRun:
    """Every importer given ~``megabytes`` MB files (and the ``analyze --input`` reader):
    each finishes with a report; none raises."""
    started = time.perf_counter()
    tried = 0
    for name, data in hostile.big_inputs(megabytes).values():
        tried += 1

        def work(session: Session, name: str = name, data: bytes = data) -> None:
            report = import_upload(session, data, name)
            _report_is_consistent(report)
            assert report.rows or report.problems, f"{name}: neither rows nor a problem"

        _rolled_back(sessions, work)
        check_song_reader(None, (data, Path(name).suffix))
    return CheckRun(f"importers with {megabytes} MB files", tried, time.perf_counter() - started)
