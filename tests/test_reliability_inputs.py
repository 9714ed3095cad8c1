"""Bad input: property-based checks (hypothesis) of the lyrics cleaner, the chunker, every
importer and the exports with arbitrary text and bytes, on SQLite and PostgreSQL, plus
10 MB files. The checks themselves live in ``pipelines.reliability.input_checks`` so the
reliability report runs them with bigger counts; here each tries DISCERN_FUZZ_EXAMPLES
inputs (default 40)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lyrics import LyricLine, prepare, split_long_line
from pipelines.reliability.input_checks import CHECKS, run_big_inputs, run_check

EXAMPLES = int(os.environ.get("DISCERN_FUZZ_EXAMPLES", "40"))
WITHOUT_DATABASE = [c for c in CHECKS if not c.needs_database]
WITH_DATABASE = [c for c in CHECKS if c.needs_database]


@pytest.mark.parametrize("check", WITHOUT_DATABASE, ids=[c.name for c in WITHOUT_DATABASE])
def test_cleaner_chunker_and_readers_take_any_input(check):
    assert run_check(check, None, EXAMPLES).inputs >= min(EXAMPLES, 10)


@pytest.mark.parametrize("check", WITH_DATABASE, ids=[c.name for c in WITH_DATABASE])
def test_importers_and_exports_take_any_input(check, sessions):
    assert run_check(check, sessions, EXAMPLES).inputs >= min(EXAMPLES, 10)


def test_ten_megabyte_files_are_imported_or_refused_with_a_message(sessions):
    assert run_big_inputs(sessions, megabytes=10).inputs == 6


def _greedy_split(line: LyricLine, count_tokens, max_tokens: int) -> list[str]:
    """The word-by-word split the galloping one must equal (one tokenizer call per word)."""
    if count_tokens(line.text) < max_tokens:
        return [line.text]
    pieces, words = [], []
    for word in line.text.split(" "):
        if words and count_tokens(" ".join([*words, word])) >= max_tokens:
            pieces.append(" ".join(words))
            words = [word]
        else:
            words.append(word)
    return [*pieces, " ".join(words)] if words else pieces


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab ,.", max_size=12), max_size=60), st.integers(2, 30))
def test_the_fast_line_split_cuts_where_the_word_by_word_split_does(words, max_tokens):
    line = LyricLine(3, " ".join(words))
    count = lambda text: len(text.split())  # noqa: E731 - a token per word
    assert [p.text for p in split_long_line(line, count, max_tokens)] == _greedy_split(line, count, max_tokens)


def test_hostile_lyrics_lines_clean_to_plain_text():
    text = (
        "[Verse 1]\n<script>alert(1)</script>Praise <b>the</b> Lord  (x2)\n"
        "1234Embed\n" + "*** Lyrics not for commercial use ***\n" + "x" + " " * 50_000 + "y 12Embed\n"
        "<style>p{}</style><div><div>deep</div></div>\n<script>never closed"
    )
    lines = [(line.number, line.text) for line in prepare(text).lines]
    assert lines == [(2, "Praise the Lord"), (5, "x y"), (6, "deep"), (7, "never closed")]
