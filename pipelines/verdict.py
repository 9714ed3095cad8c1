"""From concern scores to a verdict, a 0-100 score and a plain-language explanation.

Pure functions of the stored scores: changing the sensitivity preset or switching a
concern off re-derives verdicts instantly, without running any model again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from pipelines.result import ConcernEvidence
from pipelines.taxonomy import SEVERITY_RANK, Taxonomy

SENSITIVITIES = ("lenient", "balanced", "strict")
VERDICTS = ("approved", "review", "flagged")
# How much a concern of each severity lowers the 0-100 score at full strength.
SEVERITY_WEIGHT = {"high": 1.0, "medium": 0.6, "low": 0.35}


@dataclass(frozen=True)
class Decision:
    verdict: str
    score: int
    concerns: list[str]
    review_concerns: list[str]
    explanation: str


def decide(
    concern_scores: Mapping[str, float],
    taxonomy: Taxonomy,
    sensitivity: str = "balanced",
    enabled: Collection[str] | None = None,
    evidence: Sequence[ConcernEvidence] = (),
) -> Decision:
    """The verdict for one song. ``enabled`` limits which concerns count (None: all)."""
    if sensitivity not in taxonomy.presets:
        raise ValueError(f"unknown sensitivity {sensitivity!r}; use one of {', '.join(SENSITIVITIES)}")
    preset = taxonomy.presets[sensitivity]
    flag_rank = SEVERITY_RANK[preset.flag_at]
    counted = [c for c in taxonomy.concerns if (enabled is None or c.key in enabled) and c.key in concern_scores]
    present = [c for c in counted if concern_scores[c.key] >= preset.present]
    doubtful = [
        c for c in counted
        if preset.review <= concern_scores[c.key] < preset.present and c.severity_rank >= flag_rank
    ]
    present.sort(key=lambda c: (-c.severity_rank, -concern_scores[c.key]))
    if any(c.severity_rank >= flag_rank for c in present):
        verdict = "flagged"
    elif present or doubtful:
        verdict = "review"
    else:
        verdict = "approved"
    worst = max((concern_scores[c.key] * SEVERITY_WEIGHT[c.severity] for c in counted), default=0.0)
    score = int(round(100 * (1.0 - min(max(worst, 0.0), 1.0))))
    explanation = explain(verdict, [c.key for c in present], [c.key for c in doubtful], taxonomy, evidence)
    return Decision(verdict, score, [c.key for c in present], [c.key for c in doubtful], explanation)


def all_enabled(enabled: Collection[str] | None, taxonomy: Taxonomy) -> bool:
    return enabled is None or set(taxonomy.concern_keys) <= set(enabled)


def rederive(
    concern_scores: Mapping[str, float], stored_verdict: str, stored_sensitivity: str, taxonomy: Taxonomy,
    sensitivity: str, enabled: Collection[str] | None = None,
) -> Decision:
    """A stored result's decision at ``sensitivity`` with only ``enabled`` concerns counting.

    The engine holds back "approved" for reasons beyond the scores (lyrics that are not
    English); a preset change or a switched-off concern must not undo that.
    """
    decision = decide(concern_scores, taxonomy, sensitivity, enabled)
    if (
        decision.verdict == "approved"
        and stored_verdict != "approved"
        and stored_sensitivity in taxonomy.presets
        and decide(concern_scores, taxonomy, stored_sensitivity).verdict == "approved"
    ):
        return Decision(stored_verdict, decision.score, decision.concerns, decision.review_concerns, decision.explanation)
    return decision


def explain(
    verdict: str,
    present: Sequence[str],
    doubtful: Sequence[str],
    taxonomy: Taxonomy,
    evidence: Sequence[ConcernEvidence],
) -> str:
    def described(key: str) -> str:
        label = taxonomy.concern(key)
        lines = [e for e in evidence if e.concern == key]
        where = f' (line {lines[0].line}: "{_short(lines[0].text)}")' if lines else ""
        return f"{label.name.lower()}{where}"

    if verdict == "approved":
        return "No content concerns found."
    parts = []
    if present:
        lead = "Flagged for" if verdict == "flagged" else "Worth a look for"
        parts.append(f"{lead} " + "; ".join(described(k) for k in present) + ".")
    if doubtful:
        parts.append("Possible " + ", ".join(taxonomy.concern(k).name.lower() for k in doubtful) + ": the evidence is weak, so a person should decide.")
    return " ".join(parts)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
