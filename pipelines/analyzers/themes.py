"""Themes (multi-label): what the song is about, zero-shot against the taxonomy's themes."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.analyzers.prototypes import PrototypeIndex, softmax, top_mean
from pipelines.taxonomy import Taxonomy

TEMPERATURE = 0.04
LINE_WEIGHT = 0.5  # weight of the best lines; the rest is the whole song's mean vector
VOTE_WEIGHT = 0.5  # weight of the share of lines leaning to each theme
PRESENT_SHARE = 0.45  # a theme is present when its probability is this share of the top one
MAX_THEMES = 3


def rank_themes(probabilities: dict[str, float]) -> list[str]:
    """Theme keys present, strongest first: the top one and any close to it."""
    ranked = sorted(probabilities, key=probabilities.get, reverse=True)
    top = probabilities[ranked[0]]
    return [k for k in ranked[:MAX_THEMES] if probabilities[k] >= PRESENT_SHARE * top]


class CompactThemeAnalyzer(Analyzer):
    task = "themes"
    assigns = ("themes",)

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy) -> None:
        self.encoder = encoder
        self.keys = taxonomy.theme_keys
        self.index = PrototypeIndex(encoder, taxonomy.themes)

    def preprocess(self, doc: SongDoc) -> list[str]:
        # Every line, repeats included: a chorus sung four times weighs four times.
        return [line.text for line in doc.prepared.lines]

    def _forward(self, inputs: list[list[str]]) -> list[dict[str, np.ndarray]]:
        return [self.index.score_song(self.encoder.encode(lines)) for lines in inputs]

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        line, song = np.asarray(outputs["line"]), np.asarray(outputs["song"])
        votes = np.mean([softmax(row, TEMPERATURE) for row in line], axis=0)
        best_lines = np.array([top_mean(line[:, i], 3) for i in range(len(self.keys))])
        raw = (
            LINE_WEIGHT * best_lines
            + (1 - LINE_WEIGHT) * song
            + VOTE_WEIGHT * TEMPERATURE * np.log(votes + 1e-6)
        )
        probs = softmax(raw, TEMPERATURE)
        return {"themes": {k: round(float(p), 4) for k, p in zip(self.keys, probs, strict=True)}}
