"""PrototypeIndex.similarity (one gather and one sort) equals the per-label loop it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.analyzers.prototypes import PrototypeIndex
from pipelines.taxonomy import Label


class RandomEncoder:
    """Unit vectors from a seeded generator: the index needs nothing else from an encoder."""

    def __init__(self, seed: int = 0, dimension: int = 16) -> None:
        self.rng = np.random.default_rng(seed)
        self.dimension = dimension

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def loop_similarity(index: PrototypeIndex, vectors: np.ndarray) -> np.ndarray:
    """The original implementation, label by label."""
    sims = vectors @ index.vectors.T
    out = np.zeros((vectors.shape[0], len(index.keys)), dtype=np.float32)
    for i in range(len(index.keys)):
        block = sims[:, index.owners == i]
        if block.shape[1] >= 2:
            top2 = np.sort(block, axis=1)[:, -2:]
            out[:, i] = 0.65 * top2[:, 1] + 0.35 * top2[:, 0]
        else:
            out[:, i] = block[:, 0]
    return out


def labels_with(counts: list[int], description: bool = False) -> list[Label]:
    return [
        Label(key=f"l{i}", name=f"Label {i}", description="about it" if description else "",
              prototypes=tuple(f"line {i}.{j}" for j in range(n)))
        for i, n in enumerate(counts)
    ]


@pytest.mark.parametrize(
    "counts",
    [
        [1, 2, 5, 9],  # a single prototype, exactly two, several
        [1, 1, 1],  # every label has one: the padding column alone is the second
        [0, 3],  # no prototypes: the label's name stands in
        [12, 2, 7],
    ],
)
@pytest.mark.parametrize("rows", [1, 7, 40])
def test_vectorised_similarity_equals_the_loop(counts: list[int], rows: int) -> None:
    encoder = RandomEncoder(seed=len(counts) * 100 + rows)
    index = PrototypeIndex(encoder, labels_with(counts), use_description=False)
    lines = encoder.encode([f"lyric {r}" for r in range(rows)])
    got = index.similarity(lines)
    assert got.dtype == np.float32
    assert got.shape == (rows, len(counts))
    assert np.array_equal(got, loop_similarity(index, lines))


def test_descriptions_count_as_prototypes() -> None:
    encoder = RandomEncoder(seed=3)
    index = PrototypeIndex(encoder, labels_with([1, 4], description=True), use_description=True)
    assert np.bincount(index.owners).tolist() == [2, 5]
    lines = encoder.encode(["a", "b", "c"])
    assert np.array_equal(index.similarity(lines), loop_similarity(index, lines))


def test_no_lines_gives_an_empty_matrix() -> None:
    encoder = RandomEncoder()
    index = PrototypeIndex(encoder, labels_with([2, 3]), use_description=False)
    assert index.similarity(np.zeros((0, encoder.dimension), dtype=np.float32)).shape == (0, 2)
