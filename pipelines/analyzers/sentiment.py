"""Sentiment (single label): negative, neutral or positive.

The compact profile scores lines with VADER's lexicon; the song context stage then
reconciles this with the song's emotion, which carries most of the signal in lyrics
(similarity to sentiment prototypes added nothing measurable on the dev set).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.prototypes import softmax
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

    def __init__(self, taxonomy: Taxonomy) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.vader = SentimentIntensityAnalyzer()
        self.keys = taxonomy.sentiment_keys

    def _forward(self, inputs: list[list[str]]) -> list[dict[str, np.ndarray]]:
        return [{"compound": np.array([self.vader.polarity_scores(line)["compound"] for line in lines])} for lines in inputs]

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        return {"sentiments": sentiment_distribution(np.asarray(outputs["compound"]), self.keys)}
