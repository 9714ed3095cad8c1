"""Lyrics preparation: cleaning, the line map, chunking and bad input."""

from __future__ import annotations

import pytest

from pipelines.lyrics import (
    LyricLine,
    LyricsError,
    chunk_lines,
    decode_lyrics,
    prepare,
    split_long_line,
)


def words(text: str) -> int:
    return len(text.split())


def test_section_markers_junk_and_lrc_are_removed_and_lines_keep_their_numbers():
    raw = "\n".join(
        [
            "[Verse 1]",  # 1
            "[00:12.34]Morning breaks over the hill",  # 2
            "You might also like",  # 3
            "",  # 4
            "[Chorus] ",  # 5
            "Sing it <b>loud</b> &amp; clear [x2]",  # 6
            "See Hollow Pine Live",  # 7
            "We are home12Embed",  # 8
            "[ar:Someone]",  # 9
        ]
    )
    prepared = prepare(raw)
    assert [(line.number, line.text) for line in prepared.lines] == [
        (2, "Morning breaks over the hill"),
        (6, "Sing it loud & clear"),
        (8, "We are home"),
    ]


def test_unicode_and_whitespace_are_normalised():
    prepared = prepare("Don\u2019t  \tlet\u00a0go\r\n\uff2c\uff4f\uff52\uff44")
    assert [line.text for line in prepared.lines] == ["Don't let go", "Lord"]


def test_distinct_lines_keep_first_seen_order():
    prepared = prepare("a line\nchorus\na line\nchorus\nend")
    assert prepared.distinct_lines() == ["a line", "chorus", "end"]


def test_non_english_is_noted_not_hidden():
    prepared = prepare("Te quiero mucho mi amor\nEres mi vida y mi corazón")
    assert not prepared.is_english
    assert any("English" in note for note in prepared.notes)


def test_binary_input_is_refused_with_a_clear_message():
    with pytest.raises(LyricsError, match="binary"):
        decode_lyrics(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(LyricsError, match="binary"):
        prepare("abc\x00def")


def test_wrongly_encoded_bytes_decode_with_a_note():
    text = decode_lyrics("Caf\u00e9 de la gr\u00e2ce".encode("cp1252"))
    assert text == "Caf\u00e9 de la gr\u00e2ce"
    assert prepare("bad \ufffd char").notes


def test_chunks_cover_every_line_within_the_limit():
    lines = [LyricLine(i + 1, f"line number {i} with some words in it") for i in range(200)]
    chunks = chunk_lines(lines, words, max_tokens=40)
    assert len(chunks) > 1
    assert all(sum(words(line.text) + 1 for line in chunk.lines) <= 40 for chunk in chunks)
    assert [line for chunk in chunks for line in chunk.lines] == lines  # nothing dropped


def test_a_line_longer_than_the_limit_is_split_not_truncated():
    line = LyricLine(7, " ".join(f"w{i}" for i in range(100)))
    pieces = split_long_line(line, words, max_tokens=30)
    assert all(piece.number == 7 for piece in pieces)
    assert all(words(piece.text) < 30 for piece in pieces)
    assert " ".join(piece.text for piece in pieces) == line.text


def test_a_single_enormous_word_is_cut_by_characters():
    line = LyricLine(1, "x" * 5000)
    pieces = split_long_line(line, len, max_tokens=256)
    assert "".join(piece.text for piece in pieces) == line.text
    assert all(len(piece.text) < 256 for piece in pieces)
