"""Themes (multi-label): what the song is about, zero-shot against the taxonomy's themes."""

from __future__ import annotations

import re
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
GOD_ADDRESS_PULL = 0.08  # in similarity units: how far a song's address to God moves such themes
GOD_ADDRESS_FULL = 0.25  # share of lines naming or addressing God that counts as fully addressed


def rank_themes(probabilities: dict[str, float]) -> list[str]:
    """Theme keys present, strongest first: the top one and any close to it."""
    ranked = sorted(probabilities, key=probabilities.get, reverse=True)
    top = probabilities[ranked[0]]
    return [k for k in ranked[:MAX_THEMES] if probabilities[k] >= PRESENT_SHARE * top]


def god_address_share(lines: list[str], pattern: re.Pattern[str] | None) -> float:
    """Share of ``lines`` that name or address God (0 without a pattern)."""
    if not lines or pattern is None:
        return 0.0
    return sum(1 for line in lines if pattern.search(line)) / len(lines)


class CompactThemeAnalyzer(Analyzer):
    task = "themes"
    assigns = ("themes",)

    def __init__(self, encoder: SentenceEncoder, taxonomy: Taxonomy) -> None:
        self.encoder = encoder
        self.keys = taxonomy.theme_keys
        self.index = PrototypeIndex(encoder, taxonomy.themes)
        self.god_address = taxonomy.god_address
        self.addresses_god = np.array([t.addresses_god for t in taxonomy.themes], dtype=np.float32)

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        # Every line, repeats included: a chorus sung four times weighs four times.
        lines = [line.text for line in doc.prepared.lines]
        return {"lines": lines, "god_share": god_address_share(lines, self.god_address)}

    def _forward(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**self.index.score_song(self.encoder.encode(item["lines"])), "god_share": item["god_share"]}
            for item in inputs
        ]

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        line, song = np.asarray(outputs["line"]), np.asarray(outputs["song"])
        votes = np.mean([softmax(row, TEMPERATURE) for row in line], axis=0)
        best_lines = np.array([top_mean(line[:, i], 3) for i in range(len(self.keys))])
        raw = (
            LINE_WEIGHT * best_lines
            + (1 - LINE_WEIGHT) * song
            + VOTE_WEIGHT * TEMPERATURE * np.log(votes + 1e-6)
        )
        # Lament and heartbreak (worship and romance) read alike to a sentence encoder;
        # what tells them apart is whom the song speaks to.
        addressed = min(float(outputs.get("god_share", 0.0)) / GOD_ADDRESS_FULL, 1.0)
        raw = raw + GOD_ADDRESS_PULL * (addressed - 0.5) * self.addresses_god
        probs = softmax(raw, TEMPERATURE)
        return {"themes": {k: round(float(p), 4) for k, p in zip(self.keys, probs, strict=True)}}
