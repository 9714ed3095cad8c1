"""What an analysis of one song produces: the contract between the engine, the database,
the exports and the dashboard.

``SongAnalysis.to_dict()`` is the JSON written by ``python -m pipelines analyze`` (one line
per song) and stored in the database; ``SongAnalysis.from_dict`` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConcernEvidence:
    """One lyric line that triggered a concern."""

    line: int  # 1-based line number in the original lyrics text
    text: str
    concern: str
    score: float


@dataclass(frozen=True)
class AnalyzerInfo:
    profile: str
    version: str  # changes whenever models, taxonomy or scoring change: the cache key


@dataclass
class SongAnalysis:
    verdict: str  # approved / review / flagged (at the sensitivity it was derived with)
    score: int  # 0-100, 100 = nothing of concern
    concerns: list[str]  # concern keys present
    themes: list[str]  # theme keys present, strongest first
    emotion: str
    sentiment: str
    scores: dict[str, dict[str, float]]  # concerns/themes/emotions/sentiments -> key -> p
    evidence: list[ConcernEvidence]
    analyzer: AnalyzerInfo
    explanation: str = ""
    sensitivity: str = "balanced"
    review_concerns: list[str] = field(default_factory=list)  # under the present threshold but close
    notes: list[str] = field(default_factory=list)  # e.g. "not English", "instrumental"
    line_count: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SongAnalysis:
        values = dict(data)
        values["evidence"] = [ConcernEvidence(**e) for e in values.get("evidence", [])]
        values["analyzer"] = AnalyzerInfo(**values["analyzer"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
