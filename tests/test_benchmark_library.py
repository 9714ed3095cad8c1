"""The benchmark's synthetic library: original lines, lyric structure, realistic lengths."""

from __future__ import annotations

import statistics

from benchmarks.library import MARKER, generate_library, source_lines
from pipelines.lyrics import prepare


def lyric_lines(song) -> list[str]:
    return [line for line in song.lyrics.splitlines() if line.strip() and not MARKER.match(line)]


def test_same_seed_same_library_other_seed_other_songs() -> None:
    a, b = generate_library(20, seed=1), generate_library(20, seed=1)
    assert a == b
    assert {s.lyrics for s in generate_library(20, seed=2)}.isdisjoint({s.lyrics for s in a})


def test_no_line_is_copied_from_the_source_text() -> None:
    source = {line.lower() for line in source_lines()}
    lines = {line.lower() for song in generate_library(100) for line in lyric_lines(song)}
    assert not lines & source


def test_lengths_and_structure_look_like_lyrics() -> None:
    songs = generate_library(400)
    words = [s.words for s in songs]
    assert 250 <= statistics.median(words) <= 450
    assert sum(150 <= w <= 600 for w in words) / len(words) >= 0.9
    assert any(w >= 2000 for w in words)  # a few much longer songs
    for song in songs[:50]:
        assert "[Chorus]" in song.lyrics and "[Verse 1]" in song.lyrics
        lines = lyric_lines(song)
        assert len(set(lines)) < len(lines)  # the chorus repeats
        assert not prepare(song.lyrics).is_empty
    # Songs share almost no lines, as in a real library (a shared line would be a free cache hit).
    per_song = sum(len(set(lyric_lines(s))) for s in songs)
    library = len({line for s in songs for line in lyric_lines(s)})
    assert library / per_song > 0.95


def test_titles_and_ids_are_distinct() -> None:
    songs = generate_library(300)
    assert len({s.id for s in songs}) == len({(s.title, s.artist) for s in songs}) == 300
