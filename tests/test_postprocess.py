"""Analyzer postprocessing and aggregation, fed hand-written model outputs."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.analyzers.base import SongDoc
from pipelines.analyzers.context import reconcile
from pipelines.analyzers.safety import aggregate_lines, keyword_scores
from pipelines.analyzers.sentiment import sentiment_distribution
from pipelines.analyzers.themes import god_address_share, rank_themes
from pipelines.lyrics import prepare


def analyzer(analyzers, task):
    return next(a for a in analyzers.analyzers if a.task == task)


def test_one_explicit_line_is_enough_to_flag(analyzers):
    safety = analyzer(analyzers, "safety")
    n = len(safety.keys)
    doc = SongDoc("s1", prepare("[Verse]\nclean one\nclean two\nthe bad line\nclean one"))
    keywords = np.zeros((3, n), dtype=np.float32)
    keywords[2, safety.keys.index("profanity")] = 0.97
    low = np.full((3, n), 0.1, dtype=np.float32)
    values = safety.postprocess({"keywords": keywords, "similarity": low, "clean": low}, doc)
    assert values["concerns"]["profanity"] >= 0.75
    assert values["concern_lines"]["profanity"] == [(4, "the bad line", pytest.approx(0.97, abs=1e-3))]
    assert values["concern_lines"]["violence"] == []


def test_semantic_match_counts_but_not_for_lexical_only_concerns(analyzers):
    safety = analyzer(analyzers, "safety")
    n = len(safety.keys)
    doc = SongDoc("s2", prepare("a dark line\nanother"))
    similarity = np.full((2, n), 0.95, dtype=np.float32)  # far above every baseline
    clean = np.zeros((2, n), dtype=np.float32)
    values = safety.postprocess({"keywords": np.zeros((2, n)), "similarity": similarity, "clean": clean}, doc)
    assert values["concerns"]["violence"] > 0.9
    assert values["concerns"]["profanity"] == 0.0  # profanity is keywords only


def test_closer_to_clean_prototypes_damps_a_line(analyzers):
    safety = analyzer(analyzers, "safety")
    n = len(safety.keys)
    doc = SongDoc("s3", prepare("fight the good fight"))
    similarity = np.full((1, n), 0.7, dtype=np.float32)
    near = safety.postprocess({"keywords": np.zeros((1, n)), "similarity": similarity, "clean": np.zeros((1, n))}, doc)
    damped = safety.postprocess(
        {"keywords": np.zeros((1, n)), "similarity": similarity, "clean": np.full((1, n), 0.9)}, doc
    )
    assert damped["concerns"]["violence"] < near["concerns"]["violence"] * 0.5


def test_theological_phrases_do_not_trip_keywords(taxonomy):
    lines = [
        "You saved me from hell",
        "Washed in the blood of the Lamb",
        "Fight the good fight of faith",
        "I was one of the damned",
        "What the hell is this",
        "Load the gun and pull the trigger",
    ]
    found = keyword_scores(lines, taxonomy.concerns, taxonomy)
    profanity, violence = taxonomy.concern_keys.index("profanity"), taxonomy.concern_keys.index("violence")
    assert found[:4, :].max() == 0.0
    assert found[4, profanity] > 0.8
    assert found[5, violence] > 0.8


def test_aggregation_is_driven_by_the_worst_line_and_corroborated():
    single = aggregate_lines(np.array([[0.9], [0.0], [0.0]]))
    corroborated = aggregate_lines(np.array([[0.9], [0.8], [0.7]]))
    nothing = aggregate_lines(np.zeros((4, 1)))
    assert 0.7 < single[0] < corroborated[0] <= 1.0
    assert nothing[0] == 0.0
    assert aggregate_lines(np.zeros((0, 2))).tolist() == [0.0, 0.0]


def test_themes_present_are_the_top_one_and_close_ones():
    probabilities = {"worship": 0.5, "grace": 0.3, "hope": 0.1, "death": 0.1}
    assert rank_themes(probabilities) == ["worship", "grace"]


@pytest.mark.parametrize(
    ("compounds", "expected"),
    [([0.8, 0.6, 0.7], "positive"), ([-0.8, -0.5], "negative"), ([0.02, -0.03], "neutral")],
)
def test_sentiment_from_vader_compounds(compounds, expected):
    distribution = sentiment_distribution(np.array(compounds), ["negative", "neutral", "positive"])
    assert max(distribution, key=distribution.get) == expected
    assert sum(distribution.values()) == pytest.approx(1.0, abs=1e-3)


def test_context_leans_emotion_to_themes_and_derives_sentiment(taxonomy):
    themes = dict.fromkeys(taxonomy.theme_keys, 0.0) | {"heartbreak": 1.0}
    flat = dict.fromkeys(taxonomy.emotion_keys, 1 / 7)
    out = reconcile(themes, flat, {"negative": 0.3, "neutral": 0.4, "positive": 0.3}, {}, taxonomy)
    assert max(out["emotions"], key=out["emotions"].get) == "sadness"
    assert max(out["sentiments"], key=out["sentiments"].get) == "negative"
    assert sum(out["sentiments"].values()) == pytest.approx(1.0, abs=1e-3)


def test_a_contradicting_concern_suppresses_worship(taxonomy):
    themes = dict.fromkeys(taxonomy.theme_keys, 0.05) | {"worship": 0.6}
    emotions = dict.fromkeys(taxonomy.emotion_keys, 1 / 7)
    sentiments = {"negative": 0.3, "neutral": 0.4, "positive": 0.3}
    calm = reconcile(themes, emotions, sentiments, {}, taxonomy)
    mocking = reconcile(themes, emotions, sentiments, {"blasphemy": 0.95}, taxonomy)
    assert max(calm["themes"], key=calm["themes"].get) == "worship"
    assert mocking["themes"]["worship"] < calm["themes"]["worship"] / 3


def _song_outputs(keys: list[str], n_lines: int, strong: str, value: float = 0.8) -> dict[str, np.ndarray]:
    """Hand-written encoder similarities: every label at 0.2, ``strong`` at ``value``."""
    line = np.full((n_lines, len(keys)), 0.2, dtype=np.float32)
    line[:, keys.index(strong)] = value
    song = np.full(len(keys), 0.2, dtype=np.float32)
    song[keys.index(strong)] = value
    return {"line": line, "song": song}


def test_theme_postprocess_turns_similarities_into_a_distribution(analyzers):
    themes = analyzer(analyzers, "themes")
    doc = SongDoc("t1", prepare("we dance all night\nthe party never ends"))
    values = themes.postprocess({**_song_outputs(themes.keys, 2, "celebration"), "god_share": 0.0}, doc)["themes"]
    assert max(values, key=values.get) == "celebration" and values["celebration"] > 0.9
    assert sum(values.values()) == pytest.approx(1.0, abs=1e-3)


def test_whom_a_song_speaks_to_tells_lament_from_heartbreak(analyzers, taxonomy):
    themes = analyzer(analyzers, "themes")
    doc = SongDoc("t2", prepare("tears all night\nwhy did you go"))
    keys = themes.keys
    outputs = _song_outputs(keys, 2, "lament", 0.6)
    outputs["line"][:, keys.index("heartbreak")] = outputs["song"][keys.index("heartbreak")] = 0.6
    to_god = themes.postprocess({**outputs, "god_share": 0.5}, doc)["themes"]
    to_nobody = themes.postprocess({**outputs, "god_share": 0.0}, doc)["themes"]
    # Equal similarities: the address decides, by the same margin either way.
    assert to_god["lament"] == pytest.approx(to_nobody["heartbreak"], abs=1e-3)
    assert to_god["lament"] > 0.7 and to_god["heartbreak"] < 0.3
    assert [t.key for t in taxonomy.themes if t.addresses_god] == ["worship", "lament"]


@pytest.mark.parametrize(
    ("line", "addresses"),
    [
        ("Lord, I have nowhere else to go", True),
        ("I lift my eyes to You tonight", True),  # a capitalised You in mid-line
        ("my prayers feel heavy", True),
        ("You left me in the rain", False),  # a line-initial You is just capitalisation
        ("I lift my eyes to you tonight", False),
        ("goddess of the dance floor", False),
    ],
)
def test_god_address_reads_names_prayer_words_and_a_capitalised_you(taxonomy, line, addresses):
    assert god_address_share([line], taxonomy.god_address) == (1.0 if addresses else 0.0)


def test_emotion_postprocess_picks_the_strongest_class(analyzers):
    emotion = analyzer(analyzers, "emotion")
    doc = SongDoc("e1", prepare("I am so afraid\nthe dark is closing in\nhelp me"))
    values = emotion.postprocess(_song_outputs(emotion.keys, 3, "fear"), doc)["emotions"]
    assert max(values, key=values.get) == "fear" and values["fear"] > 0.9
    assert set(values) == set(emotion.keys) and sum(values.values()) == pytest.approx(1.0, abs=1e-3)
