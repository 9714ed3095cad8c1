"""The hf profile end to end on tiny models of the real architectures, built here.

The models (BART with MNLI labels, RoBERTa, a DistilRoBERTa-sized RoBERTa, BERT with the six
toxic-bert labels) have random weights but fixed output biases, so each answers one way
for every input ("alarm": threat, entailment, fear, negative; "calm": the opposite). That
makes the label mapping checkable through the real loading and inference code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hf_tiny_models import tiny_blueprints, train_tokenizer, write_model_set

from pipelines.analyzers.hf_models import length_batches
from pipelines.analyzers.hf_zero_shot import hypothesis, split_budget
from pipelines.analyzers.loader import forget_loaded, load_analyzers
from pipelines.analyzers.registry import (
    EMOTION_LABELS,
    PROFILES,
    SENTIMENT_LABELS,
    TOXICITY_LABELS,
    analyzer_version,
    hf_models,
)
from pipelines.engine import AnalysisFailure, SongInput, analyze_batch, analyze_text
from pipelines.lyrics import prepare
from pipelines.result import SongAnalysis
from pipelines.settings import Settings, setting

ROOT = Path(__file__).resolve().parent.parent
ZERO_SHOT, SENTIMENT, EMOTION, TOXICITY = (
    "DISCERN_HF_ZERO_SHOT_MODEL",
    "DISCERN_HF_SENTIMENT_MODEL",
    "DISCERN_HF_EMOTION_MODEL",
    "DISCERN_HF_TOXICITY_MODEL",
)
ALARM = {
    ZERO_SHOT: {"entailment": 6.0, "contradiction": -6.0},
    SENTIMENT: {"negative": 6.0},
    EMOTION: {"fear": 6.0},
    TOXICITY: {"threat": 6.0, **{k: -6.0 for k in TOXICITY_LABELS if k != "threat"}},
}
CALM = {
    ZERO_SHOT: {"entailment": -6.0, "contradiction": 6.0},
    SENTIMENT: {"positive": 6.0},
    EMOTION: {"joy": 6.0},
    TOXICITY: dict.fromkeys(TOXICITY_LABELS, -6.0),
}

CLEAN = """[Verse 1]
When the morning finds me empty
And the quiet feels too wide
You are nearer than my breathing
You are light on every side
[Chorus]
Holy, holy, You are worthy
Every heartbeat sings Your name
Holy, holy, You are worthy
Every heartbeat sings Your name"""

PROFANE = """Sunday drive with the windows down
This fucking town can go to hell
Mama's cooking and the kids are home"""

# Far over 512 tokens of the tiny tokenizer: every model input must be chunked.
LONG = "\n".join(
    f"Line {i}: the river runs along the valley where the morning light is warm and {w}"
    for i, w in enumerate(["golden", "quiet", "bright", "slow", "kind", "near"] * 20)
)


@pytest.fixture(scope="module")
def model_sets(tmp_path_factory) -> dict[str, dict[str, str]]:
    tokenizer = train_tokenizer()
    root = tmp_path_factory.mktemp("hf-models")
    return {
        name: write_model_set(root / name, tokenizer, tiny_blueprints(tokenizer, biases))
        for name, biases in (("alarm", ALARM), ("calm", CALM))
    }


def _load_hf(mp: pytest.MonkeyPatch, env: dict[str, str]):
    for name, value in env.items():
        mp.setenv(name, value)
    forget_loaded("hf")
    return load_analyzers("hf")


@pytest.fixture(scope="module")
def alarm(model_sets):
    """The hf profile on the alarm models, 4 zero-shot labels a song (2 concerns, 2 themes)."""
    with pytest.MonkeyPatch.context() as mp:
        yield _load_hf(mp, {**model_sets["alarm"], "DISCERN_HF_TOP_K_LABELS": "4"})
        forget_loaded("hf")


@pytest.fixture
def load_hf(monkeypatch):
    yield lambda env: _load_hf(monkeypatch, env)
    forget_loaded("hf")


def _zero_shot_concerns(analyzers) -> list[str]:
    safety = analyzers.analyzers[-1]
    return [safety.keys[j] for j in safety.zero_shot]


# --- registry ------------------------------------------------------------------------------


def test_registry_maps_every_model_label_onto_the_taxonomy(taxonomy):
    specs = {m.name: m for m in hf_models(Settings({}))}
    assert specs["zero-shot"].model_id == "facebook/bart-large-mnli"
    assert specs["toxicity"].model_id == "unitary/toxic-bert"
    assert all(specs[n].max_tokens == 512 for n in ("zero-shot", "sentiment", "emotion", "toxicity"))
    assert set(specs["emotion"].labels) == set(EMOTION_LABELS) == set(taxonomy.emotion_keys)
    assert set(specs["sentiment"].labels) == set(SENTIMENT_LABELS) == set(taxonomy.sentiment_keys)
    assert specs["emotion"].label_map == {k: k for k in EMOTION_LABELS}
    toxic = specs["toxicity"].label_map
    assert set(toxic) == set(TOXICITY_LABELS)
    assert {k for k, v in toxic.items() if v == "profanity"} == {"toxic", "severe_toxic", "obscene", "insult"}
    assert toxic["threat"] == "violence" and toxic["identity_hate"] == "hate"
    assert set(toxic.values()) <= set(taxonomy.concern_keys)


def test_analyzer_version_changes_with_model_ids_and_precision(taxonomy):
    def version(**env):
        return analyzer_version("hf", hf_models(Settings(env)), taxonomy)

    default = version()
    assert version(DISCERN_HF_ZERO_SHOT_MODEL="/models/my-bart") != default
    assert version(DISCERN_HF_TOXICITY_MODEL="org/other-toxic") != default
    assert version(DISCERN_HF_INT8="0") != default
    assert version(DISCERN_HF_TOP_K_LABELS="8") != default
    assert version(DISCERN_HF_MAX_PASSES="3") != default
    assert version(DISCERN_HF_MAX_PASSES="0") != default
    assert version() == default
    assert analyzer_version("compact", PROFILES["compact"], taxonomy) != default


def test_hypotheses_read_as_sentences(taxonomy):
    assert hypothesis(taxonomy.label("worship")) == "This song is about praise and adoration of God."
    assert hypothesis(taxonomy.label("sexual")).startswith("This song describes or invites sexual activity")
    assert hypothesis(taxonomy.label("gratitude")) == "This song is about thankfulness."
    assert split_budget(6, 6, 12) == (3, 3)
    assert split_budget(4, 6, 12) == (2, 2)
    assert split_budget(1, 6, 12) == (1, 0)
    assert split_budget(30, 6, 12) == (6, 12)


def test_pairs_are_batched_by_length_under_the_token_budget():
    lengths = [5, 400, 7, 60, 300, 6, 61]
    batches = length_batches(lengths, budget=512)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 512
    # short inputs travel together instead of being padded to a long one
    assert {0, 2, 5} <= set(batches[0])
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)


# --- loading and inference -----------------------------------------------------------------


def test_loads_the_four_models_quantised_once(alarm):
    import torch.ao.nn.quantized.dynamic as qd

    assert alarm.profile == "hf" and alarm.notices == []
    assert alarm.version.startswith("hf-")
    assert [a.task for a in alarm.analyzers] == ["themes", "sentiment", "emotion", "safety"]
    assert [m.name for m in alarm.loads][:4] == ["zero-shot", "sentiment", "emotion", "toxicity"]
    assert load_analyzers("hf") is alarm
    themes, sentiment, emotion, safety = alarm.analyzers
    assert themes.encoder is safety.prefilter.encoder  # one shared prefilter encoder
    assert safety.toxicity.labels == TOXICITY_LABELS
    assert emotion.classifier.labels == EMOTION_LABELS
    for classifier in (themes.scorer.classifier, sentiment.classifier, emotion.classifier, safety.toxicity):
        assert classifier.int8
        assert any(isinstance(m, qd.Linear) for m in classifier.model.modules())
    assert _zero_shot_concerns(alarm) == ["sexual", "self_harm", "occult", "blasphemy", "substance", "materialism"]


def test_engine_runs_the_hf_profile_with_mapped_labels(alarm, taxonomy):
    outcomes = analyze_batch(
        [SongInput("clean", CLEAN), SongInput("long", LONG), SongInput("empty", "")], alarm
    )
    assert not [o for o in outcomes if isinstance(o, AnalysisFailure)], outcomes
    clean, long, empty = outcomes
    for result in (clean, long):
        assert result.analyzer.profile == "hf" and result.analyzer.version == alarm.version
        scores = result.scores
        assert set(scores["concerns"]) == set(taxonomy.concern_keys)
        assert set(scores["themes"]) == set(taxonomy.theme_keys)
        assert abs(sum(scores["emotions"].values()) - 1) < 0.01
        assert abs(sum(scores["sentiments"].values()) - 1) < 0.01
        assert all(0.0 <= p <= 1.0 for group in scores.values() for p in group.values())
        # the biased models' answers, through each model's label map
        assert result.emotion == "fear" and result.sentiment == "negative"
        assert "violence" in result.concerns  # toxic-bert "threat"
        assert scores["concerns"]["hate"] < 0.05 and scores["concerns"]["profanity"] < 0.05
        assert result.verdict == "flagged"
        # 2 zero-shot concerns and 2 themes went to BART (entailment ~1); the others keep
        # half their (low) encoder score
        asked = [k for k in _zero_shot_concerns(alarm) if scores["concerns"][k] > 0.5]
        assert len(asked) == 2 and set(asked) <= set(result.concerns)
        assert sum(p > 0.9 for p in scores["themes"].values()) == 2
    lines = CLEAN.splitlines()
    for item in clean.evidence:
        assert lines[item.line - 1].strip() == item.text
    assert {e.concern for e in clean.evidence} >= {"violence"}
    assert empty.verdict == "approved" and empty.line_count == 0


def test_long_lyrics_are_chunked_within_512_tokens(alarm, monkeypatch):
    themes, sentiment, _, safety = alarm.analyzers
    for analyzer in alarm.analyzers:  # the whole song, as with DISCERN_HF_MAX_PASSES=0
        monkeypatch.setattr(analyzer, "max_passes", 0)
    doc = _doc(LONG, alarm)
    chunks = themes.preprocess(doc)["chunks"]
    assert len(chunks) > 1
    longest_hypothesis = max(themes.scorer.count_tokens(h) for h in themes.hypotheses)
    pair_specials = themes.scorer.classifier.special_tokens(pair=True)
    for chunk in chunks:
        assert themes.scorer.count_tokens(chunk) + longest_hypothesis + pair_specials <= 512
    assert len(sentiment.preprocess(doc)) > 1
    assert all(sentiment.classifier.count_tokens(c) <= 510 for c in sentiment.preprocess(doc))
    stanzas = safety.preprocess(doc)["stanzas"]
    assert len(stanzas) > len(chunks)
    # every line is analysed: the chunks together hold all of them
    assert sum(c.count("\n") + 1 for c in chunks) == len(doc.lines)


def test_only_the_prefiltered_labels_reach_the_nli_model(alarm, monkeypatch):
    themes, _, _, safety = alarm.analyzers
    classifier = themes.scorer.classifier
    asked: list[tuple[str, str]] = []
    real = classifier.logits

    def spy(texts, pairs=None):
        asked.extend(zip(texts, pairs, strict=True))
        return real(texts, pairs)

    monkeypatch.setattr(classifier, "logits", spy)
    doc = _doc(CLEAN, alarm)
    theme_input, safety_input = themes.preprocess(doc), safety.preprocess(doc)
    analyze_text(CLEAN, alarm)
    hypotheses = {h for _, h in asked}
    assert hypotheses == {themes.hypotheses[j] for j in theme_input["candidates"]} | {
        safety.hypotheses[j] for j in safety_input["candidates"]
    }
    assert len(hypotheses) == 4
    # the candidates are the compact prefilter's best-ranked labels
    prior = theme_input["prior"]
    assert sorted(prior[theme_input["candidates"]]) == sorted(np.sort(prior)[-2:])
    expected_pairs = 2 * len(theme_input["chunks"]) + 2 * len(safety_input["stanzas"])
    assert len(asked) == expected_pairs


def test_calm_models_approve_clean_lyrics_and_keywords_still_count(load_hf, model_sets):
    calm = load_hf(model_sets["calm"])
    assert calm.profile == "hf"
    clean, profane = analyze_batch([SongInput("clean", CLEAN), SongInput("profane", PROFANE)], calm)
    assert clean.verdict == "approved", clean.explanation
    assert clean.emotion == "joy" and clean.sentiment == "positive"
    assert max(clean.scores["concerns"].values()) < 0.35
    # the compact keyword scores apply as in the compact profile, with the same evidence
    assert profane.verdict == "flagged" and "profanity" in profane.concerns
    assert [(e.line, e.text) for e in profane.evidence if e.concern == "profanity"] == [
        (2, "This fucking town can go to hell")
    ]


def test_toxicity_labels_map_onto_concerns_with_line_evidence(load_hf, model_sets):
    calm = load_hf(model_sets["calm"])
    safety = calm.analyzers[-1]
    doc = _doc(CLEAN, calm)
    inputs = safety.preprocess(doc)
    toxic = np.zeros((len(doc.lines), len(TOXICITY_LABELS)), dtype=np.float32)
    toxic[1, TOXICITY_LABELS.index("identity_hate")] = 0.95  # "And the quiet feels too wide"
    toxic[3, TOXICITY_LABELS.index("obscene")] = 0.9  # "You are light on every side"
    entailment = np.zeros((len(inputs["candidates"]), len(inputs["stanzas"])))
    values = safety.postprocess({**inputs, "toxicity": toxic, "entailment": entailment}, doc)
    assert values["concerns"]["hate"] > 0.7 and values["concerns"]["profanity"] > 0.7
    assert values["concerns"]["violence"] < 0.05
    assert values["concern_lines"]["hate"] == [(3, "And the quiet feels too wide", 0.95)]
    assert values["concern_lines"]["profanity"][0][:2] == (5, "You are light on every side")


# --- long songs: each model reads at most DISCERN_HF_MAX_PASSES passages ----------------------

FAR_VIOLENT = "I'll put a bullet in your head if you cross me again"
FAR_SUBSTANCE = "Cocaine on the table and the whiskey on the floor"
# LONG with the song's only offensive lines far down (lines 101 and 111 of 122).
FAR_DOWN = "\n".join([*LONG.splitlines()[:100], FAR_VIOLENT, *LONG.splitlines()[100:109], FAR_SUBSTANCE, *LONG.splitlines()[109:]])


def _spy_model_inputs(analyzers, monkeypatch) -> dict[str, list]:
    """What each model is given, per analyzer: texts (the classifiers), premise/hypothesis
    pairs (BART, split into theme and concern hypotheses), one list entry per model call."""
    themes, sentiment, emotion, safety = analyzers.analyzers
    theme_hypotheses = set(themes.hypotheses)
    calls: dict[str, list] = {"themes": [], "concerns": [], "sentiment": [], "emotion": [], "toxicity": []}

    def spy(name, classifier):
        real = classifier.logits

        def logits(texts, pairs=None):
            if pairs is None:
                calls[name].append(list(texts))
            else:
                asked = list(zip(texts, pairs, strict=True))
                calls["themes" if asked and asked[0][1] in theme_hypotheses else "concerns"].append(asked)
            return real(texts, pairs)

        monkeypatch.setattr(classifier, "logits", logits)

    spy("zero-shot", themes.scorer.classifier)
    spy("sentiment", sentiment.classifier)
    spy("emotion", emotion.classifier)
    spy("toxicity", safety.toxicity)
    return calls


def _tokens(classifier, texts, specials: bool = False) -> int:
    extra = classifier.special_tokens() if specials else 0
    return sum(classifier.count_tokens(t) + extra for t in texts)


def test_spread_and_budget_choose_fairly():
    from pipelines.analyzers.hf_analyzers import spread, within_budget

    assert spread(5, 0) == spread(5, 5) == spread(5, 9) == [0, 1, 2, 3, 4]
    assert spread(10, 3) == [1, 5, 8] and spread(100, 1) == [50]
    assert len(set(spread(7, 6))) == 6
    # the highest priorities that fit, in song order; an item too big is skipped, not a stop
    assert within_budget([5, 5, 9, 1], np.array([0.1, 0.9, 0.8, 0.2]), 11) == [0, 1, 3]
    assert within_budget([3, 3, 3], np.zeros(3), 6) == [0, 1]


def test_a_long_song_sends_each_model_at_most_the_cap(load_hf, model_sets, monkeypatch):
    capped = load_hf({**model_sets["calm"], "DISCERN_HF_TOP_K_LABELS": "4", "DISCERN_HF_MAX_PASSES": "3"})
    themes, sentiment, emotion, safety = capped.analyzers
    doc = _doc(FAR_DOWN, capped)
    lines = doc.prepared.first_lines()
    whole = {  # what the models would read without the cap
        "themes": len(themes.scorer.chunks(lines, themes.premise_tokens)),
        "stanzas": len(safety.scorer.chunks(lines, safety.stanza_tokens)),
    }
    assert whole["themes"] > 3 and whole["stanzas"] > 12  # the cap binds
    calls = _spy_model_inputs(capped, monkeypatch)
    result = analyze_text(FAR_DOWN, capped)
    assert all(len(c) == 1 for c in calls.values()), {k: len(c) for k, c in calls.items()}  # one call each
    # themes, sentiment, emotion: 3 chunks spread over the song (themes: each with its 2 labels)
    theme_pairs = calls["themes"][0]
    assert all(h in themes.hypotheses for _, h in theme_pairs)
    assert len({p for p, _ in theme_pairs}) == 3 and len(theme_pairs) == 3 * 2
    for name in ("sentiment", "emotion"):
        assert len(calls[name][0]) == 3
    chunks = [c.text for c in themes.scorer.chunks(lines, themes.premise_tokens)]
    assert [chunks.index(p) for p in dict.fromkeys(p for p, _ in theme_pairs)] == [
        int((i + 0.5) * len(chunks) / 3) for i in range(3)
    ]
    # concerns: stanzas within 3 x 512 tokens, the one with the far-down substance line among them
    premises = list(dict.fromkeys(p for p, _ in calls["concerns"][0]))
    assert 3 < len(premises) < whole["stanzas"]
    assert _tokens(safety.scorer, premises) <= 3 * 512
    assert any(FAR_SUBSTANCE in p for p in premises)
    # toxic-bert: lines within 3 x 512 tokens, the keyword-hit line first of all
    toxic = calls["toxicity"][0]
    assert FAR_VIOLENT in toxic and len(toxic) < len(lines)
    assert _tokens(safety.toxicity, toxic, specials=True) <= 3 * 512
    # nothing silently dropped: both far-down lines are found and cited, and the result says
    # what the models did not read
    assert {"violence", "substance"} <= set(result.concerns)
    cited = {(e.concern, e.line, e.text) for e in result.evidence}
    assert ("violence", 101, FAR_VIOLENT) in cited and ("substance", 111, FAR_SUBSTANCE) in cited
    [note] = [n for n in result.notes if n.startswith("Long lyrics")]
    assert "DISCERN_HF_MAX_PASSES" in note and f"themes 3 of {whole['themes']} passages, sentiment 3 of" in note
    assert "and emotion 3 of" in note and "passages, spread evenly over it;" in note
    assert f"concerns {len(premises)} of {whole['stanzas']} stanzas and toxicity {len(toxic)} of {len(lines)} lines, those" in note
    assert SongAnalysis.from_dict(json.loads(json.dumps(result.to_dict()))).notes == result.notes


def test_every_line_keeps_a_score_when_the_models_read_part_of_the_song(load_hf, model_sets):
    capped = load_hf({**model_sets["alarm"], "DISCERN_HF_TOP_K_LABELS": "4", "DISCERN_HF_MAX_PASSES": "3"})
    safety = capped.analyzers[-1]
    doc = _doc(FAR_DOWN, capped)
    outputs = safety._forward([safety.preprocess(doc)])[0]
    scores = safety.model_scores(outputs)
    embedded = np.asarray(outputs["embedded"])
    assert scores.shape == (len(doc.lines), len(safety.keys)) and np.isfinite(scores).all()
    read = outputs["toxic_read"]
    assert 0 < read.sum() < len(read)
    violence = safety.keys.index("violence")  # toxic-bert's "threat", ~1 on the alarm models
    assert (scores[read, violence] > 0.9).all()
    assert np.allclose(scores[~read, violence], embedded[~read, violence])  # the compact score
    asked = sorted({r for rows in outputs["stanza_rows"] for r in rows})
    unasked = sorted(set(range(len(doc.lines))) - set(asked))
    assert asked and unasked
    for j in outputs["candidates"]:
        # BART's entailment (~1 on the alarm models) where it read; elsewhere the compact score, scaled
        assert scores[asked, j].max() > 0.9
        assert np.allclose(scores[unasked, j], 0.5 * embedded[unasked, j])
    values = safety.postprocess(outputs, doc)
    assert set(values["concerns"]) == set(safety.keys)


@pytest.mark.parametrize("case", ["distinct lines", "random punctuation and letters", "one line of words"])
def test_pathological_inputs_stay_within_the_default_cap(alarm, monkeypatch, case):
    # Model time grows with the tokens each model reads, so this bounds one analysis whatever
    # the input; README "The hf profile" gives the seconds this means for the real models.
    from pipelines.reliability.pathological import CASES

    cap = setting("DISCERN_HF_MAX_PASSES").default
    themes, sentiment, emotion, safety = alarm.analyzers
    assert all(a.max_passes == cap for a in alarm.analyzers)
    calls = _spy_model_inputs(alarm, monkeypatch)
    result = analyze_text(CASES[case](20_000), alarm)
    assert not isinstance(result, AnalysisFailure), result
    assert any(n.startswith("Long lyrics") for n in result.notes)
    assert len({p for p, _ in calls["themes"][0]}) <= cap
    assert len(calls["sentiment"][0]) <= cap and len(calls["emotion"][0]) <= cap
    assert _tokens(safety.scorer, {p for p, _ in calls["concerns"][0]}) <= cap * 512
    assert _tokens(safety.toxicity, calls["toxicity"][0], specials=True) <= cap * 512


def test_a_song_within_the_cap_is_analysed_exactly_as_without_it(load_hf, model_sets):
    def run(passes: str):
        analyzers = load_hf({**model_sets["alarm"], "DISCERN_HF_TOP_K_LABELS": "4", "DISCERN_HF_MAX_PASSES": passes})
        return analyzers.version, analyze_batch([SongInput("clean", CLEAN), SongInput("profane", PROFANE)], analyzers)

    capped_version, capped = run("3")
    whole_version, whole = run("0")
    assert capped_version != whole_version  # results with different caps never mix

    def comparable(result):
        data = result.to_dict()
        del data["analyzer"], data["timings"]
        return data

    assert [comparable(r) for r in capped] == [comparable(r) for r in whole]
    assert not any(n.startswith("Long lyrics") for r in capped for n in r.notes)


# --- fallback ------------------------------------------------------------------------------


def test_missing_models_fall_back_to_compact_with_a_notice(load_hf, model_sets, tmp_path):
    missing_folder = str(tmp_path / "no-such-folder")
    fallback = load_hf(
        {**model_sets["alarm"], TOXICITY: missing_folder, EMOTION: "discern-tests/not-cached-anywhere"}
    )
    assert fallback.profile == "compact"
    assert len(fallback.notices) == 1
    notice = fallback.notices[0]
    assert "toxicity" in notice and missing_folder in notice and "the folder does not exist" in notice
    assert "emotion" in notice and "not in the local Hugging Face cache" in notice
    assert "hf download discern-tests/not-cached-anywhere" in notice
    assert "DISCERN_HF_TOXICITY_MODEL" in notice and "DISCERN_HF_EMOTION_MODEL" in notice
    result = analyze_text(CLEAN, fallback)
    assert result.analyzer.profile == "compact"


def test_a_model_with_other_labels_is_refused(load_hf, model_sets):
    # the sentiment model where the emotion model belongs: its labels are not the seven
    fallback = load_hf({**model_sets["alarm"], EMOTION: model_sets["alarm"][SENTIMENT]})
    assert fallback.profile == "compact"
    assert "are not the expected" in fallback.notices[0] and "emotion" in fallback.notices[0]


def test_a_corrupt_weights_file_falls_back_to_compact_with_a_notice(load_hf, model_sets, tmp_path):
    broken = tmp_path / "toxicity"
    shutil.copytree(model_sets["alarm"][TOXICITY], broken)
    weights = next(broken.glob("*.safetensors"))
    weights.write_bytes(b"not a safetensors file" * 10)
    fallback = load_hf({**model_sets["alarm"], TOXICITY: str(broken)})
    assert fallback.profile == "compact"
    assert len(fallback.notices) == 1
    notice = fallback.notices[0]
    assert "toxicity" in notice and str(broken) in notice and "could not be read" in notice
    assert analyze_text(CLEAN, fallback).analyzer.profile == "compact"


@pytest.mark.parametrize(
    ("step", "error", "shown"),
    [
        ("quantise_int8", RuntimeError("fbgemm: unsupported layer\nsecond line"), "RuntimeError: fbgemm: unsupported layer"),
        ("copy_unquantised_weights", MemoryError(), "MemoryError: (no message)"),
    ],
)
def test_any_error_while_loading_falls_back_to_compact_naming_it(
    load_hf, model_sets, monkeypatch, caplog, step, error, shown
):
    from pipelines.analyzers import hf_models

    real = getattr(hf_models, step)
    calls = []

    def fail_on_the_emotion_model(model):  # the models before it load: they are let go
        calls.append(model.config.num_labels)
        if model.config.num_labels == len(EMOTION_LABELS):
            raise error
        return real(model)

    monkeypatch.setattr(hf_models, step, fail_on_the_emotion_model)
    with caplog.at_level("WARNING", logger="discern.models"):
        fallback = load_hf({**model_sets["alarm"], "DISCERN_HF_INT8": "1"})
    assert calls == [3, 3, 7]  # zero-shot, sentiment, emotion: loading stopped there
    assert fallback.profile == "compact"
    assert len(fallback.notices) == 1
    notice = fallback.notices[0]
    assert notice.startswith("The hf profile could not be loaded, so the compact profile is used instead.")
    assert f"emotion model ({model_sets['alarm'][EMOTION]}) failed: {shown}." in notice
    assert "second line" not in notice and "DISCERN_HF_EMOTION_MODEL" in notice
    traced = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert traced and "emotion" in traced[0].getMessage()  # the traceback is logged
    assert any(r.getMessage() == notice for r in caplog.records)
    assert analyze_text(CLEAN, fallback).analyzer.profile == "compact"


def test_torch_inter_op_threads_follow_the_setting(tmp_path, model_sets):
    script = (
        "import json, torch\n"
        "from pipelines.analyzers.loader import load_analyzers\n"
        "loaded = load_analyzers('hf')\n"
        "print(json.dumps([loaded.profile, torch.get_num_threads(), torch.get_num_interop_threads()]))\n"
    )
    env = {**os.environ, **model_sets["alarm"], "DISCERN_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.update(DISCERN_TORCH_THREADS="1", DISCERN_TORCH_INTEROP_THREADS="3")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["hf", 1, 3]


def test_inter_op_threads_fixed_earlier_are_kept_with_a_warning(tmp_path):
    # torch takes the inter-op count once: a second set raises RuntimeError, which must not fail a load
    script = (
        "import torch\n"
        "from pipelines.analyzers.loader import configure_threads\n"
        "torch.set_num_interop_threads(2)\n"
        "configure_threads(1, 3)\n"
        "print(torch.get_num_threads(), torch.get_num_interop_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "2"]
    assert "DISCERN_TORCH_INTEROP_THREADS=3 not applied; torch keeps 2 inter-op threads" in done.stderr


# --- command line --------------------------------------------------------------------------


def _cli(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[dict]]:
    songs = tmp_path / "songs.jsonl"
    songs.write_text(
        "\n".join(json.dumps({"id": i, "title": i, "lyrics": t}) for i, t in (("clean", CLEAN), ("profane", PROFANE)))
    )
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "analyze", "--profile", "hf", "--input", str(songs), "--output", str(out)],
        cwd=ROOT,
        env={**os.environ, "DISCERN_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return done, rows


def test_cli_analyzes_a_file_with_the_hf_profile(tmp_path, model_sets):
    done, rows = _cli(tmp_path, {**model_sets["alarm"], "DISCERN_HF_TOP_K_LABELS": "4"})
    assert done.returncode == 0, done.stderr
    assert "notice:" not in done.stderr
    assert [r["id"] for r in rows] == ["clean", "profane"]
    for row in rows:
        assert row["analyzer"]["profile"] == "hf"
        assert row["emotion"] == "fear" and row["sentiment"] == "negative"
        assert row["verdict"] == "flagged" and "violence" in row["concerns"]
    assert any(e["concern"] == "profanity" and e["line"] == 2 for e in rows[1]["evidence"])


def test_cli_falls_back_with_a_notice_instead_of_crashing(tmp_path, model_sets):
    done, rows = _cli(tmp_path, {**model_sets["alarm"], ZERO_SHOT: str(tmp_path / "gone")})
    assert done.returncode == 0, done.stderr
    assert "notice: The hf profile is not available" in done.stderr and "zero-shot" in done.stderr
    assert [r["analyzer"]["profile"] for r in rows] == ["compact", "compact"]


def _doc(lyrics: str, analyzers):
    from pipelines.analyzers.base import SongDoc
    from pipelines.engine import fit_lines

    return SongDoc(id="t", prepared=fit_lines(prepare(lyrics), analyzers))
