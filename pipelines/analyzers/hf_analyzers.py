"""The hf profile's analyzers: the original Hugging Face models behind the same interface,
assigning the same fields as the compact analyzers, so the engine builds results,
evidence and verdicts with the same code.

- themes: bart-large-mnli over the song's chunks, for the labels the compact theme
  analyzer ranks highest (the prefilter); the others keep their compact score, scaled down.
- sentiment, emotion: the classifiers over the song's chunks (within 512 tokens), averaged
  by chunk length; model labels go to taxonomy keys through the registry's ``label_map``.
- safety: per line, toxic-bert for the concerns its labels map to; per stanza,
  bart-large-mnli for the other concerns the compact safety analyzer ranks highest. The
  compact keyword scores apply as in the compact profile, lines aggregate to the song with
  the same ``aggregate_lines`` and evidence lines are chosen the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.encoder import SentenceEncoder
from pipelines.analyzers.hf_models import HFClassifier, sigmoid, softmax
from pipelines.analyzers.hf_zero_shot import (
    ZeroShotScorer,
    hypothesis,
    split_budget,
    top_candidates,
)
from pipelines.analyzers.safety import (
    CompactSafetyAnalyzer,
    aggregate_lines,
    concern_evidence,
)
from pipelines.analyzers.themes import CompactThemeAnalyzer
from pipelines.lyrics import chunk_lines
from pipelines.taxonomy import Taxonomy

NON_CANDIDATE_SCALE = 0.5  # labels the prefilter left out keep this share of their encoder score
STANZA_TOKENS = 128  # premise size for concerns: small enough to point at the lines


def map_distribution(
    probs: np.ndarray, labels: tuple[str, ...], label_map: dict[str, str], keys: list[str]
) -> dict[str, float]:
    """A model's class probabilities as a distribution over taxonomy ``keys``."""
    out = dict.fromkeys(keys, 0.0)
    for p, label in zip(probs, labels, strict=True):
        key = label_map.get(label)
        if key in out:
            out[key] += float(p)
    total = sum(out.values()) or 1.0
    return {k: round(v / total, 4) for k, v in out.items()}


def with_keywords(keywords: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Line scores as the compact profile combines them: a keyword hit and a model score reinforce."""
    both = 1.0 - (1.0 - keywords) * (1.0 - model)
    return np.maximum(np.maximum(keywords, model), np.where(keywords > 0, both, 0.0))


class HFChunkClassifier(Analyzer):
    """A single-label classifier run over a song's chunks; subclasses name the task."""

    def __init__(self, classifier: HFClassifier, keys: list[str]) -> None:
        self.classifier = classifier
        self.keys = keys
        self.limit = classifier.max_tokens - classifier.special_tokens()

    def preprocess(self, doc: SongDoc) -> list[str]:
        return [
            c.text
            for c in chunk_lines(
                doc.prepared.first_lines(), self.classifier.count_tokens, self.limit
            )
        ]

    def _forward(self, inputs: list[list[str]]) -> list[dict[str, np.ndarray]]:
        probs = softmax(self.classifier.logits([text for texts in inputs for text in texts]))
        outputs, start = [], 0
        for texts in inputs:
            outputs.append(
                {
                    "probs": probs[start : start + len(texts)],
                    "weights": np.array([len(t) for t in texts], float),
                }
            )
            start += len(texts)
        return outputs

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        song = np.average(np.asarray(outputs["probs"]), axis=0, weights=outputs["weights"])
        spec = self.classifier.spec
        return {
            self.assigns[0]: map_distribution(
                song, self.classifier.labels, spec.label_map, self.keys
            )
        }


class HFSentimentAnalyzer(HFChunkClassifier):
    task = "sentiment"
    assigns = ("sentiments",)


class HFEmotionAnalyzer(HFChunkClassifier):
    task = "emotion"
    assigns = ("emotions",)


class HFThemeAnalyzer(Analyzer):
    task = "themes"
    assigns = ("themes",)

    def __init__(
        self, encoder: SentenceEncoder, scorer: ZeroShotScorer, taxonomy: Taxonomy, top_k: int
    ) -> None:
        # The engine encodes a batch's lines once with this encoder; the prefilter reads its cache.
        self.encoder = encoder
        self.prefilter = CompactThemeAnalyzer(encoder, taxonomy)
        self.scorer = scorer
        self.keys = taxonomy.theme_keys
        self.hypotheses = [hypothesis(label) for label in taxonomy.themes]
        self.top_k = top_k
        self.premise_tokens = scorer.premise_tokens(self.hypotheses)

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        compact = self.prefilter.postprocess(
            self.prefilter._forward([self.prefilter.preprocess(doc)])[0], doc
        )
        prior = np.array([compact["themes"][k] for k in self.keys])
        chunks = self.scorer.chunks(doc.prepared.first_lines(), self.premise_tokens)
        return {
            "prior": prior,
            "candidates": top_candidates(prior, self.top_k),
            "chunks": [c.text for c in chunks],
        }

    def _forward(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        entailment = self.scorer.score_songs(
            [item["chunks"] for item in inputs],
            [[self.hypotheses[j] for j in item["candidates"]] for item in inputs],
        )
        return [{**item, "entailment": e} for item, e in zip(inputs, entailment, strict=True)]

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        weights = np.array([len(c) for c in outputs["chunks"]], float)
        scores = NON_CANDIDATE_SCALE * np.asarray(outputs["prior"], float)
        asked = {
            j: float(np.average(row, weights=weights))
            for j, row in zip(outputs["candidates"], outputs["entailment"], strict=True)
        }
        if asked:
            # A label the prefilter ranked lower never outranks one the NLI model scored.
            scores = np.minimum(scores, min(asked.values()))
            for j, p in asked.items():
                scores[j] = p
        return {"themes": {k: round(float(p), 4) for k, p in zip(self.keys, scores, strict=True)}}


def toxicity_columns(toxicity: HFClassifier, keys: list[str]) -> list[tuple[int, int]]:
    """(toxic-bert output column, concern column) for each of its labels the taxonomy has."""
    label_map = toxicity.spec.label_map
    return [
        (i, keys.index(label_map[label]))
        for i, label in enumerate(toxicity.labels)
        if label_map.get(label) in keys
    ]


class HFSafetyAnalyzer(Analyzer):
    task = "safety"
    assigns = ("concerns", "concern_lines")

    def __init__(
        self,
        encoder: SentenceEncoder,
        toxicity: HFClassifier,
        scorer: ZeroShotScorer,
        taxonomy: Taxonomy,
        top_k: int,
    ) -> None:
        self.prefilter = CompactSafetyAnalyzer(encoder, taxonomy)
        self.taxonomy = taxonomy
        self.keys = taxonomy.concern_keys
        self.toxicity = toxicity
        self.scorer = scorer
        self.toxic_columns = toxicity_columns(toxicity, self.keys)
        covered = {j for _, j in self.toxic_columns}
        self.zero_shot = [j for j in range(len(self.keys)) if j not in covered]
        self.hypotheses = {j: hypothesis(taxonomy.concerns[j]) for j in self.zero_shot}
        self.top_k = top_k
        self.stanza_tokens = min(
            STANZA_TOKENS, scorer.premise_tokens(list(self.hypotheses.values()))
        )

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        compact = self.prefilter._forward([self.prefilter.preprocess(doc)])[0]
        keywords = np.asarray(compact["keywords"], dtype=np.float32)
        embedded = self.prefilter.line_scores({**compact, "keywords": np.zeros_like(keywords)})
        prior = aggregate_lines(self.prefilter.line_scores(compact))[self.zero_shot]
        lines = doc.prepared.first_lines()  # rows of keywords/embedded, as doc.lines
        row = {line.number: i for i, line in enumerate(lines)}
        stanzas = self.scorer.chunks(lines, self.stanza_tokens)
        safe = self.taxonomy.safe_phrases
        return {
            "keywords": keywords,
            "embedded": embedded,
            "candidates": [self.zero_shot[i] for i in top_candidates(prior, self.top_k)],
            "stanzas": [s.text for s in stanzas],
            "stanza_rows": [sorted({row[piece.number] for piece in s.lines}) for s in stanzas],
            # Theological phrases ("saved from hell") are not toxic; toxic-bert does not see them.
            "toxic_texts": [
                (safe.sub(" ", line.text) if safe else line.text).strip() for line in lines
            ],
        }

    def _forward(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        texts = [t for item in inputs for t in item["toxic_texts"] if t]
        probs = sigmoid(self.toxicity.logits(texts))
        entailment = self.scorer.score_songs(
            [item["stanzas"] for item in inputs],
            [[self.hypotheses[j] for j in item["candidates"]] for item in inputs],
        )
        outputs, start = [], 0
        for item, song_entailment in zip(inputs, entailment, strict=True):
            present = np.array([bool(t) for t in item["toxic_texts"]], dtype=bool)
            toxic = np.zeros((len(present), len(self.toxicity.labels)), dtype=np.float32)
            toxic[present] = probs[start : start + int(present.sum())]
            start += int(present.sum())
            outputs.append({**item, "toxicity": toxic, "entailment": song_entailment})
        return outputs

    def model_scores(self, outputs: dict[str, Any]) -> np.ndarray:
        """[n_lines, n_concerns] model scores before keywords."""
        embedded = np.asarray(outputs["embedded"], dtype=np.float32)
        toxic = np.asarray(outputs["toxicity"], dtype=np.float32)
        scores = np.zeros_like(embedded)
        for column, j in self.toxic_columns:
            scores[:, j] = np.maximum(scores[:, j], toxic[:, column])
        for j in self.zero_shot:
            scores[:, j] = NON_CANDIDATE_SCALE * embedded[:, j]
        for a, j in enumerate(outputs["candidates"]):
            scores[:, j] = 0.0
            for s, rows in enumerate(outputs["stanza_rows"]):
                # The stanza's entailment goes to its lines in proportion to how close each
                # is to the concern, so the line that carries it is the one shown as evidence.
                near = embedded[rows, j]
                share = near / near.max() if near.max() > 0 else np.ones_like(near)
                scores[rows, j] = np.maximum(scores[rows, j], outputs["entailment"][a, s] * share)
        return scores

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        scores = with_keywords(np.asarray(outputs["keywords"], dtype=np.float32), self.model_scores(outputs))
        return concern_evidence(self.keys, doc.prepared.first_lines(), scores)


def build_hf_analyzers(
    encoder: SentenceEncoder, classifiers: dict[str, HFClassifier], taxonomy: Taxonomy, top_k: int
) -> tuple[Analyzer, ...]:
    """The four analyzers in pipeline order; ``classifiers`` is keyed by registry model name."""
    scorer = ZeroShotScorer(classifiers["zero-shot"])
    keys = taxonomy.concern_keys
    covered = {j for _, j in toxicity_columns(classifiers["toxicity"], keys)}
    k_concerns, k_themes = split_budget(top_k, len(keys) - len(covered), len(taxonomy.themes))
    return (
        HFThemeAnalyzer(encoder, scorer, taxonomy, k_themes),
        HFSentimentAnalyzer(classifiers["sentiment"], taxonomy.sentiment_keys),
        HFEmotionAnalyzer(classifiers["emotion"], taxonomy.emotion_keys),
        HFSafetyAnalyzer(encoder, classifiers["toxicity"], scorer, taxonomy, k_concerns),
    )
