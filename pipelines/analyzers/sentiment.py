"""Sentiment (single label): negative, neutral or positive.

The compact profile combines VADER's lexicon scores per line (strong on explicit
praise/complaint) with the encoder's similarity to sentiment prototypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.analyzers.prototypes import PrototypeIndex, softmax
from pipelines.taxonomy import Taxonomy

NEUTRAL_BAND = 0.12  # |mean compound| under this leans neutral
TEMPERATURE = 0.08


def sentiment_distribution(compounds: np.ndarray, keys: list[str]) -> dict[str, float]:
    """Distribution over negative/neutral/positive from VADER compound scores per line."""
    mean = float(np.mean(compounds)) if compounds.size else 0.0
    logits = {"negative": -mean, "neutral": NEUTRAL_BAND - abs(mean), "positive": mean}
    vector = softmax(np.array([logits.get(k, -1.0) for k in keys]), TEMPERATURE)
    return {k: round(float(p), 4) for k, p in zip(keys, vector, strict=True)}


class CompactSentimentAnalyzer(Analyzer):
    task = "sentiment"
    assigns = ("sentiments",)

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.encoder = encoder
        self.vader = SentimentIntensityAnalyzer()
        self.keys = taxonomy.sentiment_keys
        self.index = PrototypeIndex(encoder, taxonomy.sentiments, use_description=False)

    def _forward(self, inputs: list[list[str]]) -> list[dict[str, np.ndarray]]:
        outputs = []
        for lines in inputs:
            compounds = np.array([self.vader.polarity_scores(line)["compound"] for line in lines])
            outputs.append({"compound": compounds, "line": self.index.similarity(self.encoder.encode(lines))})
        return outputs

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        return {"sentiments": sentiment_distribution(np.asarray(outputs["compound"]), self.keys)}
