"""Zero-shot by similarity: label prototype sentences embedded once, lines scored against them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.taxonomy import Label


class PrototypeIndex:
    """The prototype vectors of a label set, embedded once when the analyzer is built.

    ``similarity(vectors)`` gives, per line and label, the mean of the line's two best
    cosine similarities to that label's prototypes (one lucky match counts less than two).
    """

    def __init__(self, encoder: SentenceEncoder, labels: Sequence[Label], use_description: bool = True) -> None:
        self.keys = [label.key for label in labels]
        texts: list[str] = []
        owners: list[int] = []
        for i, label in enumerate(labels):
            examples = list(label.prototypes)
            if use_description and label.description:
                examples.append(label.description)
            if not examples:
                examples = [label.name]
            texts.extend(examples)
            owners.extend([i] * len(examples))
        self.vectors = encoder.encode(texts)
        self.owners = np.asarray(owners)

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ self.vectors.T  # [n_lines, n_prototypes]
        out = np.zeros((vectors.shape[0], len(self.keys)), dtype=np.float32)
        for i in range(len(self.keys)):
            block = sims[:, self.owners == i]
            if block.shape[1] >= 2:
                top2 = np.sort(block, axis=1)[:, -2:]
                out[:, i] = 0.65 * top2[:, 1] + 0.35 * top2[:, 0]
            else:
                out[:, i] = block[:, 0]
        return out


def softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = (x - x.max()) / temperature
    e = np.exp(z)
    return e / e.sum()


def top_mean(column: np.ndarray, k: int) -> float:
    """Mean of the ``k`` largest values (fewer when the song is short)."""
    if column.size == 0:
        return 0.0
    k = max(1, min(k, column.size))
    return float(np.sort(column)[-k:].mean())
