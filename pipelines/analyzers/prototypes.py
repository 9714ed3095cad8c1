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
        # Each label's prototype columns, padded with a column that is always -inf, so
        # one gather and one sort score every label at once.
        counts = np.bincount(self.owners, minlength=len(self.keys))
        self._columns = np.full((len(self.keys), max(2, counts.max())), len(texts))
        for i in range(len(self.keys)):
            self._columns[i, : counts[i]] = np.flatnonzero(self.owners == i)
        self._single = counts < 2

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        sims = vectors @ self.vectors.T  # [n_lines, n_prototypes]
        padded = np.concatenate([sims, np.full((sims.shape[0], 1), -np.inf, dtype=sims.dtype)], axis=1)
        top2 = np.sort(padded[:, self._columns], axis=2)[:, :, -2:]  # [n_lines, n_labels, 2]
        best, second = top2[:, :, 1], top2[:, :, 0]
        out = np.where(self._single, best, 0.65 * best + 0.35 * second)
        return out.astype(np.float32, copy=False)


    def score_song(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Per-line similarities [n_lines, n_labels] and the whole song's (its mean vector)."""
        song = vectors.mean(axis=0, keepdims=True)
        song /= np.linalg.norm(song) + 1e-9
        return {"line": self.similarity(vectors), "song": self.similarity(song)[0]}


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
