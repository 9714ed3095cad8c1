"""Zero-shot labels with an NLI model (bart-large-mnli), made affordable.

The original design asked the NLI model about every label for every song: one BART-large
pass per (song, label), ~98% of the hf profile's compute. Here the compact encoder ranks
the labels first (the prefilter) and only the top-k go to the NLI model; the pairs of all
songs in a batch are scored together, sorted by length, so padding stays small.

Multi-label scoring as in transformers' zero-shot pipeline: per (premise, hypothesis)
pair, the entailment probability of a softmax over [contradiction, entailment].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipelines.analyzers.hf_models import HFClassifier, ModelUnavailable, softmax
from pipelines.lyrics import Chunk, LyricLine, chunk_lines
from pipelines.taxonomy import Label


def hypothesis(label: Label) -> str:
    """An NLI hypothesis from the taxonomy's description of ``label``.

    Descriptions are either verb phrases ("Describes or invites sexual activity...") or
    noun phrases ("Praise and adoration of God."); each gets the template it reads in.
    """
    text = (label.description or label.name).strip().rstrip(".")
    first = text.split()[0].strip(",;:") if text else ""
    phrase = text[:1].lower() + text[1:]
    if first.endswith("s") and not first.endswith("ss"):  # "Mocks", "Boasts"; not "Thankfulness"
        return f"This song {phrase}."
    return f"This song is about {phrase}."


def split_budget(top_k: int, n_concerns: int, n_themes: int) -> tuple[int, int]:
    """NLI labels per song for (concerns, themes): half of ``top_k``, rounded up, to concerns."""
    k = max(0, top_k)
    concerns = min(n_concerns, (k + 1) // 2)
    return concerns, min(n_themes, k - concerns)


def top_candidates(prior: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest prefilter scores, best first."""
    return [int(i) for i in np.argsort(-np.asarray(prior), kind="stable")[: max(0, k)]]


class ZeroShotScorer:
    """Entailment probabilities from an NLI sequence classifier."""

    def __init__(self, classifier: HFClassifier) -> None:
        self.classifier = classifier
        labels = classifier.labels
        try:
            self.entail = next(i for i, lab in enumerate(labels) if lab.startswith("entail"))
            self.contra = next(i for i, lab in enumerate(labels) if lab.startswith("contradict"))
        except StopIteration:
            raise ModelUnavailable(
                classifier.spec,
                f"an NLI model needs entailment and contradiction labels, it has {list(labels)}",
            ) from None

    def count_tokens(self, text: str) -> int:
        return self.classifier.count_tokens(text)

    def premise_tokens(self, hypotheses: Sequence[str]) -> int:
        """Room left for the premise next to the longest hypothesis and the special tokens."""
        longest = max((self.count_tokens(h) for h in hypotheses), default=0)
        return self.classifier.max_tokens - longest - self.classifier.special_tokens(pair=True)

    def chunks(self, lines: list[LyricLine], max_tokens: int) -> list[Chunk]:
        return chunk_lines(lines, self.count_tokens, max_tokens)

    def entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        logits = self.classifier.logits(premises, hypotheses)
        return softmax(logits[:, [self.contra, self.entail]])[:, 1]

    def score_songs(
        self, premises: list[list[str]], hypotheses: list[list[str]]
    ) -> list[np.ndarray]:
        """Per song, entailment [n_hypotheses, n_premises]; every song's pairs in one batched call."""
        flat_premises: list[str] = []
        flat_hypotheses: list[str] = []
        for song_premises, song_hypotheses in zip(premises, hypotheses, strict=True):
            for h in song_hypotheses:
                flat_premises.extend(song_premises)
                flat_hypotheses.extend([h] * len(song_premises))
        probs = self.entailment(flat_premises, flat_hypotheses)
        out, start = [], 0
        for song_premises, song_hypotheses in zip(premises, hypotheses, strict=True):
            size = len(song_premises) * len(song_hypotheses)
            out.append(
                probs[start : start + size].reshape(len(song_hypotheses), len(song_premises))
            )
            start += size
        return out
