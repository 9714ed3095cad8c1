"""Song context: reconcile the compact analyzers' distributions with each other.

The sentence encoder alone reads a line's topic better than its mood. Songs about
heartbreak are usually sad and songs of praise joyful, so the song's themes and concerns
lean its emotion toward the emotions the taxonomy gives them; the emotion implies most of
the sentiment; a concern raises the theme it implies (a song about suicide is about
death); and a theme the taxonomy says a concern contradicts (worship in a song that
mocks God) is scaled down. All of these links are data in the taxonomy file.

This stage runs no model: its ``_forward`` passes the earlier analyzers' outputs through.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.taxonomy import Taxonomy

THEME_PULL = 1.5  # weight of the theme hints on the emotion logits
CONCERN_PULL = 1.5  # weight of the concern hints on the emotion logits
CONCERN_THEME_PULL = 0.3  # share of a concern's score added to the theme it implies
EMOTION_SHARE_OF_SENTIMENT = 0.8  # the rest comes from the sentiment analyzer itself


def _normalised(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values()) or 1.0
    return {k: round(v / total, 4) for k, v in values.items()}


def reconcile(
    themes: dict[str, float],
    emotions: dict[str, float],
    sentiments: dict[str, float],
    concerns: dict[str, float],
    taxonomy: Taxonomy,
) -> dict[str, dict[str, float]]:
    """Adjusted theme, emotion and sentiment distributions for one song."""
    adjusted_themes = {}
    for label in taxonomy.themes:
        against = max((concerns.get(c, 0.0) for c in label.suppressed_by), default=0.0)
        adjusted_themes[label.key] = themes.get(label.key, 0.0) * (1.0 - against)
    for concern in taxonomy.concerns:
        if concern.theme in adjusted_themes:
            # Only a concern that is clearly there says what the song is about.
            strength = min(max((concerns.get(concern.key, 0.0) - 0.35) / 0.3, 0.0), 1.0)
            adjusted_themes[concern.theme] += CONCERN_THEME_PULL * strength
    adjusted_themes = _normalised(adjusted_themes) if sum(adjusted_themes.values()) else dict(themes)

    keys = taxonomy.emotion_keys
    logits = np.log(np.array([emotions.get(k, 0.0) for k in keys]) + 1e-6)
    for labels, scores, pull in (
        (taxonomy.themes, adjusted_themes, THEME_PULL),
        (taxonomy.concerns, concerns, CONCERN_PULL),
    ):
        for label in labels:
            if label.emotion in keys:
                logits[keys.index(label.emotion)] += pull * scores.get(label.key, 0.0)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    adjusted_emotions = {k: round(float(p), 4) for k, p in zip(keys, probs, strict=True)}

    # Half from the whole emotion distribution, half from the dominant emotion, so a
    # song reported as joyful is not called negative because four small negative
    # emotions add up.
    dominant = max(adjusted_emotions, key=adjusted_emotions.get)
    implied = dict.fromkeys(taxonomy.sentiment_keys, 0.0)
    for label in taxonomy.emotions:
        if label.sentiment in implied:
            implied[label.sentiment] += 0.5 * adjusted_emotions[label.key] + 0.5 * (label.key == dominant)
    share = EMOTION_SHARE_OF_SENTIMENT
    adjusted_sentiments = _normalised(
        {k: share * implied[k] + (1 - share) * sentiments.get(k, 0.0) for k in implied}
    )
    return {"themes": adjusted_themes, "emotions": adjusted_emotions, "sentiments": adjusted_sentiments}


class SongContextStage(Analyzer):
    task = "context"
    assigns = ("themes", "emotions", "sentiments")

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        values = doc.assigned
        return {k: values[k] for k in ("themes", "emotions", "sentiments", "concerns")}

    def _forward(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return inputs

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        return reconcile(
            outputs["themes"], outputs["emotions"], outputs["sentiments"], outputs["concerns"], self.taxonomy
        )
