"""Verdicts from hand-written concern scores: presets, toggles, score and explanation."""

from __future__ import annotations

import pytest

from pipelines.result import ConcernEvidence
from pipelines.verdict import decide


def scores(**present: float) -> dict[str, float]:
    base = dict.fromkeys(
        ["profanity", "sexual", "violence", "self_harm", "occult", "blasphemy", "hate", "substance", "materialism"], 0.0
    )
    base.update(present)
    return base


def test_no_concern_is_approved_with_full_score(taxonomy):
    decision = decide(scores(), taxonomy)
    assert decision.verdict == "approved"
    assert decision.score == 100
    assert decision.concerns == []


def test_one_high_severity_concern_flags(taxonomy):
    evidence = [ConcernEvidence(12, "a violent line", "violence", 0.9)]
    decision = decide(scores(violence=0.9), taxonomy, evidence=evidence)
    assert decision.verdict == "flagged"
    assert decision.concerns == ["violence"]
    assert decision.score == 10
    assert "line 12" in decision.explanation and "violence" in decision.explanation


def test_medium_and_low_concerns_ask_for_review(taxonomy):
    decision = decide(scores(substance=0.8, materialism=0.7), taxonomy)
    assert decision.verdict == "review"
    assert decision.concerns == ["substance", "materialism"]  # higher severity first


def test_weak_high_severity_evidence_asks_for_review(taxonomy):
    decision = decide(scores(occult=0.45), taxonomy)
    assert decision.verdict == "review"
    assert decision.review_concerns == ["occult"]
    assert "weak" in decision.explanation


@pytest.mark.parametrize(
    ("sensitivity", "expected"),
    [("lenient", "approved"), ("balanced", "review"), ("strict", "flagged")],
)
def test_presets_change_the_verdict_without_models(taxonomy, sensitivity, expected):
    assert decide(scores(occult=0.45), taxonomy, sensitivity).verdict == expected


def test_strict_flags_substance_balanced_does_not(taxonomy):
    assert decide(scores(substance=0.9), taxonomy, "balanced").verdict == "review"
    assert decide(scores(substance=0.9), taxonomy, "strict").verdict == "flagged"


def test_a_concern_switched_off_no_longer_counts(taxonomy):
    everything = set(taxonomy.concern_keys)
    decision = decide(scores(profanity=0.99, materialism=0.7), taxonomy, enabled=everything - {"profanity"})
    assert decision.verdict == "review"
    assert decision.concerns == ["materialism"]


def test_unknown_sensitivity_is_a_clear_error(taxonomy):
    with pytest.raises(ValueError, match="lenient, balanced, strict"):
        decide(scores(), taxonomy, "paranoid")
