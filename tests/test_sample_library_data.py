"""Invariants of the bundled sample library (pipelines/data/sample_library.json).

The sample songs double as a small labelled evaluation set, so their labels must use the
taxonomy's keys and follow its verdict rule exactly.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipelines.taxonomy import load_taxonomy

LIBRARY_PATH = Path(__file__).resolve().parents[1] / "pipelines" / "data" / "sample_library.json"

GENRES = {"worship", "pop", "rap", "country", "rock", "hiphop", "folk", "rnb", "metal"}
VERDICTS = {"approved", "review", "flagged"}
SECTION_OR_TAG = re.compile(r"^\s*\[[^\]]*\]\s*$")
LRC_TIMESTAMP = re.compile(r"\[\d{1,3}:\d{2}(?:[.:]\d{1,3})?\]")


@pytest.fixture(scope="module")
def library() -> dict:
    with LIBRARY_PATH.open(encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="module")
def songs(library) -> list[dict]:
    return library["songs"]


def expected_verdict(concerns: list[str], taxonomy) -> str:
    severities = {taxonomy.concern(key).severity for key in concerns}
    if "high" in severities:
        return "flagged"
    if severities & {"medium", "low"}:
        return "review"
    return "approved"


def lyric_lines(lyrics: str) -> list[str]:
    """Lines that carry words: no section markers, LRC tags or empty timestamp lines."""
    lines = []
    for raw in lyrics.splitlines():
        if SECTION_OR_TAG.match(raw):
            continue
        text = LRC_TIMESTAMP.sub("", raw).strip()
        if text:
            lines.append(text)
    return lines


def test_file_is_pretty_printed_utf8_json():
    text = LIBRARY_PATH.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["version"] == 1
    assert text.startswith('{\n  "version": 1,')


def test_song_count_and_unique_ids(songs):
    assert 30 <= len(songs) <= 40
    ids = [s["id"] for s in songs]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(r"sample-\d{3}", i) for i in ids)


def test_song_fields(songs):
    for s in songs:
        assert s["title"].strip() and s["artist"].strip() and s["album"].strip(), s["id"]
        assert s["genre"] in GENRES, s["id"]
        assert isinstance(s["duration_ms"], int) and 60_000 <= s["duration_ms"] <= 600_000, s["id"]
        assert isinstance(s["explicit"], bool), s["id"]
        assert isinstance(s["lyrics"], str) and s["lyrics"].strip(), s["id"]


def test_mixed_genres(songs):
    genres = Counter(s["genre"] for s in songs)
    assert genres["worship"] >= 4
    assert genres["pop"] >= 4
    assert genres["rap"] + genres["hiphop"] >= 3
    assert genres["country"] >= 3
    assert genres["rock"] + genres["metal"] >= 4


def test_label_keys_are_valid(songs, taxonomy):
    for s in songs:
        labels = s["labels"]
        assert set(labels) == {"verdict", "concerns", "themes", "emotion", "sentiment"}, s["id"]
        assert labels["verdict"] in VERDICTS, s["id"]
        assert set(labels["concerns"]) <= set(taxonomy.concern_keys), s["id"]
        assert len(labels["concerns"]) == len(set(labels["concerns"])), s["id"]
        assert 1 <= len(labels["themes"]) <= 3, s["id"]
        assert len(labels["themes"]) == len(set(labels["themes"])), s["id"]
        assert set(labels["themes"]) <= set(taxonomy.theme_keys), s["id"]
        assert labels["emotion"] in taxonomy.emotion_keys, s["id"]
        assert labels["sentiment"] in taxonomy.sentiment_keys, s["id"]


def test_verdict_follows_the_severity_rule(songs, taxonomy):
    for s in songs:
        labels = s["labels"]
        assert labels["verdict"] == expected_verdict(labels["concerns"], taxonomy), s["id"]


def test_severities_match_the_spec(taxonomy):
    high = {"profanity", "sexual", "violence", "self_harm", "occult", "blasphemy", "hate"}
    for key in high:
        assert taxonomy.concern(key).severity == "high"
    assert taxonomy.concern("substance").severity == "medium"
    assert taxonomy.concern("materialism").severity == "low"


def test_every_concern_appears_at_least_twice(songs, taxonomy):
    counts = Counter(c for s in songs for c in s["labels"]["concerns"])
    missing = {key: counts[key] for key in taxonomy.concern_keys if counts[key] < 2}
    assert not missing, missing


def test_verdict_balance(songs):
    verdicts = Counter(s["labels"]["verdict"] for s in songs)
    assert set(verdicts) == VERDICTS
    # About half of the library is clean.
    assert 0.4 <= verdicts["approved"] / len(songs) <= 0.6, verdicts


def test_lyrics_length_and_markers(songs):
    for s in songs:
        lyrics = s["lyrics"]
        if lyrics.strip() == "[Instrumental]":
            continue
        n = len(lyric_lines(lyrics))
        assert 12 <= n <= 32, (s["id"], n)
        is_lrc = bool(LRC_TIMESTAMP.search(lyrics))
        if not is_lrc:
            assert re.search(r"^\[(Verse|Chorus)[^\]]*\]$", lyrics, re.M), s["id"]


def test_special_cases_present(songs):
    lyrics = [s["lyrics"] for s in songs]
    assert any(LRC_TIMESTAMP.search(text) for text in lyrics), "an LRC song"
    assert any(re.search(r"\d+Embed\s*$", text) for text in lyrics), "a trailing Embed"
    assert any(re.search(r"^You might also like", text, re.M) for text in lyrics)
    instrumental = [s for s in songs if s["lyrics"].strip() == "[Instrumental]"]
    assert len(instrumental) == 1
    assert instrumental[0]["labels"] == {
        "verdict": "approved",
        "concerns": [],
        "themes": ["worship"],
        "emotion": "neutral",
        "sentiment": "neutral",
    }


def test_playlists(library, songs):
    playlists = library["playlists"]
    assert len(playlists) == 4
    ids = {s["id"] for s in songs}
    names = [p["name"] for p in playlists]
    assert len(names) == len(set(names))
    membership = Counter()
    for p in playlists:
        assert p["name"].strip() and p["description"].strip()
        assert 8 <= len(p["song_ids"]) <= 12, p["name"]
        assert len(p["song_ids"]) == len(set(p["song_ids"])), p["name"]
        unknown = set(p["song_ids"]) - ids
        assert not unknown, (p["name"], unknown)
        membership.update(p["song_ids"])
    assert max(membership.values()) <= 2
    assert sum(1 for n in membership.values() if n == 2) >= 2, "some songs are shared"
