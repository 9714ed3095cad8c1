"""Emotion (single label): the dominant one of the seven classes."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.analyzers.prototypes import PrototypeIndex, softmax, top_mean
from pipelines.taxonomy import Taxonomy

TEMPERATURE = 0.03


class CompactEmotionAnalyzer(Analyzer):
    task = "emotion"
    assigns = ("emotions",)

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy) -> None:
        self.encoder = encoder
        self.keys = taxonomy.emotion_keys
        self.index = PrototypeIndex(encoder, taxonomy.emotions, use_description=False)

    def _forward(self, inputs: list[list[str]]) -> list[dict[str, np.ndarray]]:
        return [self.index.score_song(self.encoder.encode(lines)) for lines in inputs]

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        line, song = np.asarray(outputs["line"]), np.asarray(outputs["song"])
        raw = np.array([0.5 * top_mean(line[:, i], 4) + 0.5 * song[i] for i in range(len(self.keys))])
        probs = softmax(raw, TEMPERATURE)
        return {"emotions": {k: round(float(p), 4) for k, p in zip(self.keys, probs, strict=True)}}
