"""Safety (multi-label content concerns), scored per line and aggregated per song.

One explicit line is enough to flag a song, so a song's concern score is driven by its
worst lines, and each concern keeps the lines that triggered it as evidence.
Theological phrases ("saved from hell", "the blood of the Lamb") are removed before
keyword matching, and each concern's clean prototypes pull figurative lines back down.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.analyzers.prototypes import PrototypeIndex
from pipelines.lyrics import LyricLine
from pipelines.taxonomy import Label, Taxonomy

EVIDENCE_MIN = 0.35  # a line with a score under this is never shown as evidence
MAX_EVIDENCE = 5  # lines kept per concern, strongest first


CLEAN_LINES_PATH = Path(__file__).resolve().parent.parent / "data" / "clean_lines.txt"


def read_clean_lines(path: Path = CLEAN_LINES_PATH) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class EmbeddingCalibration:
    """Turns a line's prototype similarity into a probability-like score.

    Each concern's similarities are measured against its own baseline: the similarity
    that ordinary clean lyrics reach (``baseline_percentile`` over the clean-lines file).
    Some concerns' prototypes sit closer to everyday language than others, so one global
    threshold would over-flag some and miss others.
    """

    baseline_percentile: float = 97.0
    margin: float = 0.12  # above the baseline, where a line scores 0.5
    slope: float = 30.0
    clean_margin: float = 0.02  # a line this much closer to the concern's clean prototypes is damped

    def baselines(self, clean_similarity: np.ndarray) -> np.ndarray:
        return np.percentile(clean_similarity, self.baseline_percentile, axis=0)

    def __call__(self, positive: np.ndarray, clean: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        score = 1.0 / (1.0 + np.exp(-self.slope * (positive - baseline - self.margin)))
        return np.where(positive + self.clean_margin < clean, score * 0.3, score)


def keyword_scores(lines: list[str], concerns: tuple[Label, ...], taxonomy: Taxonomy) -> np.ndarray:
    """[n_lines, n_concerns]: the highest keyword weight matched in each line."""
    out = np.zeros((len(lines), len(concerns)), dtype=np.float32)
    for i, line in enumerate(lines):
        text = taxonomy.safe_phrases.sub(" ", line) if taxonomy.safe_phrases else line
        for j, concern in enumerate(concerns):
            for keyword in concern.keywords:
                if keyword.weight > out[i, j] and keyword.pattern.search(text):
                    out[i, j] = keyword.weight
    return out


def aggregate_lines(line_scores: np.ndarray) -> np.ndarray:
    """Song score per concern from line scores [n_lines, n_concerns].

    The worst line counts most; a second and third line corroborate it.
    """
    if line_scores.shape[0] == 0:
        return np.zeros(line_scores.shape[1], dtype=np.float32)
    ordered = np.sort(line_scores, axis=0)[::-1]
    top = ordered[0]
    support = ordered[1:3].mean(axis=0) if ordered.shape[0] > 1 else np.zeros_like(top)
    return np.clip(0.8 * top + 0.2 * support + 0.15 * np.minimum(top, support), 0.0, 1.0)


def concern_evidence(keys: list[str], lines: list[LyricLine], scores: np.ndarray) -> dict[str, Any]:
    """Song scores per concern from line scores [n_lines, n_concerns], and each concern's
    strongest lines (number, text, score) as its evidence. Shared by every profile."""
    song = aggregate_lines(scores)
    concern_lines: dict[str, list[tuple[int, str, float]]] = {}
    for j, key in enumerate(keys):
        hits = [i for i in np.argsort(-scores[:, j], kind="stable") if scores[i, j] >= EVIDENCE_MIN][:MAX_EVIDENCE]
        concern_lines[key] = [(lines[i].number, lines[i].text, round(float(scores[i, j]), 4)) for i in hits]
    return {
        "concerns": {k: round(float(p), 4) for k, p in zip(keys, song, strict=True)},
        "concern_lines": concern_lines,
    }


class CompactSafetyAnalyzer(Analyzer):
    task = "safety"
    assigns = ("concerns", "concern_lines")

    def __init__(
        self, encoder: SentenceEncoder, taxonomy: Taxonomy, calibration: EmbeddingCalibration | None = None
    ) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.concerns = taxonomy.concerns
        self.keys = taxonomy.concern_keys
        self.calibration = calibration or EmbeddingCalibration()
        self.index = PrototypeIndex(encoder, self.concerns, use_description=False)
        clean = [(c.key, p) for c in self.concerns for p in c.clean_prototypes]
        self.clean_vectors = encoder.encode([p for _, p in clean])
        self.clean_owner = np.array([self.keys.index(k) for k, _ in clean])
        self.semantic = np.array([c.semantic for c in self.concerns])
        self.baseline = self.calibration.baselines(self.index.similarity(encoder.encode(read_clean_lines())))

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        lines = doc.lines
        return {"lines": lines, "keywords": keyword_scores(lines, self.concerns, self.taxonomy)}

    def _forward(self, inputs: list[dict[str, Any]]) -> list[dict[str, np.ndarray]]:
        outputs = []
        for item in inputs:
            vectors = self.encoder.encode(item["lines"])
            clean_sims = vectors @ self.clean_vectors.T
            clean = np.full((len(item["lines"]), len(self.keys)), -1.0, dtype=np.float32)
            for j in range(len(self.keys)):
                mask = self.clean_owner == j
                if mask.any():
                    clean[:, j] = clean_sims[:, mask].max(axis=1)
            outputs.append({"keywords": item["keywords"], "similarity": self.index.similarity(vectors), "clean": clean})
        return outputs

    def line_scores(self, outputs: dict[str, Any]) -> np.ndarray:
        keywords = np.asarray(outputs["keywords"], dtype=np.float32)
        embedded = self.calibration(np.asarray(outputs["similarity"]), np.asarray(outputs["clean"]), self.baseline)
        embedded = np.where(self.semantic, embedded, 0.0)
        # A keyword hit and a semantic match reinforce each other; either alone still counts.
        both = 1.0 - (1.0 - keywords) * (1.0 - embedded)
        return np.maximum(np.maximum(keywords, embedded), np.where(keywords > 0, both, 0.0))

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        return concern_evidence(self.keys, doc.prepared.first_lines(), self.line_scores(outputs))
