"""The real packaged models on a handful of texts: shapes, sanity and edge cases."""

from __future__ import annotations

import yaml

from pipelines.analyzers.loader import LOADERS, load_analyzers
from pipelines.engine import AnalysisFailure, SongInput, analyze_batch, analyze_text
from pipelines.result import SongAnalysis
from pipelines.taxonomy import TAXONOMY_PATH, load_taxonomy

WORSHIP = """[Verse]
Holy, holy, we lift our hands to You
Jesus, You are worthy of all praise
I was saved from hell by the blood of the Lamb
I will fight the good fight and finish the race
[Chorus]
Hallelujah, glory to the King"""

EXPLICIT = """Sunday drive with the windows down
This fucking town can go to hell
Mama's cooking and the kids are home"""


def test_loading_twice_returns_the_same_objects(analyzers):
    again = load_analyzers("compact")
    assert again is analyzers
    assert again.analyzers[0] is analyzers.analyzers[0]
    # one encoder object is shared by every analyzer that needs one
    encoders = {id(a.encoder) for a in analyzers.analyzers if hasattr(a, "encoder")}
    assert len(encoders) == 1
    assert [load.name for load in analyzers.loads] == ["sentence-encoder", "compact-heads"]


def test_output_has_the_documented_shape(analyzers, taxonomy):
    result = analyze_text(WORSHIP, analyzers)
    assert isinstance(result, SongAnalysis)
    data = result.to_dict()
    assert set(data["scores"]) == {"concerns", "themes", "emotions", "sentiments"}
    assert set(data["scores"]["concerns"]) == set(taxonomy.concern_keys)
    assert set(data["scores"]["themes"]) == set(taxonomy.theme_keys)
    assert set(data["scores"]["emotions"]) == set(taxonomy.emotion_keys)
    assert abs(sum(data["scores"]["emotions"].values()) - 1) < 0.01
    assert data["analyzer"]["profile"] == "compact" and data["analyzer"]["version"] == analyzers.version
    assert 0 <= data["score"] <= 100
    assert SongAnalysis.from_dict(data) == result


def test_worship_with_theological_words_is_approved(analyzers):
    result = analyze_text(WORSHIP, analyzers)
    assert result.verdict == "approved", result.explanation
    assert result.themes[0] in {"worship", "grace", "faith"}
    assert result.sentiment == "positive"


def test_one_explicit_line_flags_and_is_cited(analyzers):
    result = analyze_text(EXPLICIT, analyzers)
    assert result.verdict == "flagged"
    assert "profanity" in result.concerns
    cited = [e for e in result.evidence if e.concern == "profanity"]
    assert cited[0].line == 2 and "fucking" in cited[0].text


def test_empty_and_instrumental_are_clear_results(analyzers):
    for text in ("", "   \n", "[Instrumental]"):
        result = analyze_text(text, analyzers)
        assert result.verdict == "approved"
        assert result.line_count == 0
        assert "instrumental" in result.explanation


def test_non_english_says_so_and_does_not_approve(analyzers):
    result = analyze_text("Te quiero mucho mi amor\nEres mi vida y mi corazón\nNo puedo vivir sin ti", analyzers)
    assert result.verdict == "review"
    assert "English" in result.explanation


def test_lyrics_over_100kb_are_analysed_whole(analyzers):
    verse = "Lord You are good and Your mercy endures {}\n"
    text = "".join(verse.format(i) for i in range(2500)) + "this fucking line is at the very end\n"
    assert len(text.encode()) > 100_000
    result = analyze_text(text, analyzers)
    assert result.line_count == 2501
    assert result.verdict == "flagged"
    assert any(e.line == 2501 for e in result.evidence)


def test_bad_input_becomes_a_failure_not_a_crash(analyzers):
    songs = [
        SongInput("ok", "A simple song of thanks"),
        SongInput("binary", "PNG\x00\x00\x01\x02"),
        SongInput("notext", None),  # type: ignore[arg-type]
    ]
    outcomes = analyze_batch(songs, analyzers)
    assert isinstance(outcomes[0], SongAnalysis)
    assert isinstance(outcomes[1], AnalysisFailure) and "binary" in outcomes[1].error
    assert isinstance(outcomes[2], AnalysisFailure) and "not text" in outcomes[2].error


def test_batch_results_equal_single_results(analyzers):
    batch = analyze_batch([SongInput("a", WORSHIP), SongInput("b", EXPLICIT)], analyzers)
    alone = analyze_text(EXPLICIT, analyzers, song_id="b")
    assert batch[1].scores == alone.scores
    assert batch[1].verdict == alone.verdict


def test_a_concern_and_a_theme_added_to_the_data_file_are_analysed_without_code(tmp_path):
    data = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    data["concerns"].append({
        "key": "gambling", "name": "Gambling", "severity": "high", "description": "Celebrates betting money away.",
        "scripture": ["1 Timothy 6:10"],
        "keywords": [{"pattern": "roll the dice|place (my|your) bets?|all in at the table", "weight": 0.9}],
        "prototypes": ["I bet the rent money on one more hand", "the casino lights are calling my name"],
    })
    data["themes"].append({
        "key": "harvest", "name": "Harvest", "description": "Fields, sowing and reaping.",
        "prototypes": ["the wheat is golden in the field", "we bring the harvest in before the rain"],
    })
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    taxonomy = load_taxonomy(path)
    added = LOADERS["compact"](taxonomy)
    song = "Out in the field the wheat is tall\nWe bring the harvest in this fall\nThen Friday night I roll the dice"

    result = analyze_text(song, added)

    assert result.verdict == "flagged" and "gambling" in result.concerns
    assert [(e.line, e.concern) for e in result.evidence if e.concern == "gambling"] == [(3, "gambling")]
    assert result.themes[0] == "harvest"
    assert added.version != load_analyzers("compact").version  # old results are re-analysed
