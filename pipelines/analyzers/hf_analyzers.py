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

Per song, each model reads at most DISCERN_HF_MAX_PASSES passages of up to 512 tokens
(``max_passes``; 0 reads everything), so a very long text cannot make one analysis take
minutes. Over the cap, the chunk readers (themes, sentiment, emotion) read that many chunks
spread evenly over the song; the concern stanzas and toxic-bert's lines are chosen, within
the same number of tokens, by the compact models' scores (keyword hits and the riskiest
lines first), and every other line keeps its compact score. What each model read is
recorded with ``SongDoc.read_part`` and the engine states it in the result's notes.
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
from pipelines.settings import get_settings
from pipelines.taxonomy import Taxonomy

NON_CANDIDATE_SCALE = 0.5  # labels the prefilter left out keep this share of their encoder score
STANZA_TOKENS = 128  # premise size for concerns: small enough to point at the lines
# How a model over DISCERN_HF_MAX_PASSES chose what it read of a song (see SongDoc.read_part).
SPREAD = "spread evenly over it"
RISKIEST = "those the compact models rank riskiest (keyword hits first)"


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


def spread(total: int, cap: int) -> list[int]:
    """Indices of ``cap`` of ``total`` items spread evenly (the middle of each of ``cap`` equal
    parts); all of them when ``cap`` is 0 or not below ``total``."""
    if cap <= 0 or total <= cap:
        return list(range(total))
    return [int((i + 0.5) * total / cap) for i in range(cap)]


def within_budget(costs: list[int], priority: np.ndarray, budget: int) -> list[int]:
    """Indices, in their original order, of the highest-``priority`` items whose ``costs``
    (tokens) fit ``budget`` together; ties go to the earlier item."""
    chosen, used = [], 0
    for i in np.argsort(-np.asarray(priority, dtype=np.float64), kind="stable"):
        if used + costs[i] <= budget:
            chosen.append(int(i))
            used += costs[i]
    return sorted(chosen)


def with_keywords(keywords: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Line scores as the compact profile combines them: a keyword hit and a model score reinforce."""
    both = 1.0 - (1.0 - keywords) * (1.0 - model)
    return np.maximum(np.maximum(keywords, model), np.where(keywords > 0, both, 0.0))


class HFChunkClassifier(Analyzer):
    """A single-label classifier run over a song's chunks; subclasses name the task."""

    def __init__(self, classifier: HFClassifier, keys: list[str], max_passes: int = 0) -> None:
        self.classifier = classifier
        self.keys = keys
        self.limit = classifier.max_tokens - classifier.special_tokens()
        self.max_passes = max_passes

    def preprocess(self, doc: SongDoc) -> list[str]:
        chunks = chunk_lines(doc.prepared.first_lines(), self.classifier.count_tokens, self.limit)
        keep = spread(len(chunks), self.max_passes)
        if len(keep) < len(chunks):
            doc.read_part(SPREAD, f"{self.task} {len(keep)} of {len(chunks):,} passages")
        return [chunks[i].text for i in keep]

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
        self,
        encoder: SentenceEncoder,
        scorer: ZeroShotScorer,
        taxonomy: Taxonomy,
        top_k: int,
        max_passes: int = 0,
    ) -> None:
        # The engine encodes a batch's lines once with this encoder; the prefilter reads its cache.
        self.encoder = encoder
        self.prefilter = CompactThemeAnalyzer(encoder, taxonomy)
        self.scorer = scorer
        self.keys = taxonomy.theme_keys
        self.hypotheses = [hypothesis(label) for label in taxonomy.themes]
        self.top_k = top_k
        self.max_passes = max_passes
        self.premise_tokens = scorer.premise_tokens(self.hypotheses)

    def preprocess(self, doc: SongDoc) -> dict[str, Any]:
        compact = self.prefilter.postprocess(
            self.prefilter._forward([self.prefilter.preprocess(doc)])[0], doc
        )
        prior = np.array([compact["themes"][k] for k in self.keys])
        chunks = self.scorer.chunks(doc.prepared.first_lines(), self.premise_tokens)
        # A long song's themes are estimated from a fair sample of it: chunks spread evenly.
        keep = spread(len(chunks), self.max_passes if self.top_k > 0 else 0)
        if len(keep) < len(chunks):
            doc.read_part(SPREAD, f"themes {len(keep)} of {len(chunks):,} passages")
        return {
            "prior": prior,
            "candidates": top_candidates(prior, self.top_k),
            "chunks": [chunks[i].text for i in keep],
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
        max_passes: int = 0,
    ) -> None:
        self.prefilter = CompactSafetyAnalyzer(encoder, taxonomy)
        self.taxonomy = taxonomy
        self.keys = taxonomy.concern_keys
        self.toxicity = toxicity
        self.scorer = scorer
        self.toxic_columns = toxicity_columns(toxicity, self.keys)
        covered = {j for _, j in self.toxic_columns}
        self.covered = sorted(covered)
        self.zero_shot = [j for j in range(len(self.keys)) if j not in covered]
        self.hypotheses = {j: hypothesis(taxonomy.concerns[j]) for j in self.zero_shot}
        self.top_k = top_k
        self.max_passes = max_passes
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
        stanza_rows = [sorted({row[piece.number] for piece in s.lines}) for s in stanzas]
        candidates = [self.zero_shot[i] for i in top_candidates(prior, self.top_k)]
        safe = self.taxonomy.safe_phrases
        # Theological phrases ("saved from hell") are not toxic; toxic-bert does not see them.
        toxic_texts = [(safe.sub(" ", line.text) if safe else line.text).strip() for line in lines]
        read = np.ones(len(lines), dtype=bool)  # lines toxic-bert reads
        if self.max_passes > 0:
            compact_lines = with_keywords(keywords, embedded)  # the compact profile's line scores
            keep = self._riskiest_stanzas(stanzas, stanza_rows, compact_lines, candidates)
            if len(keep) < len(stanzas):
                doc.read_part(RISKIEST, f"concerns {len(keep)} of {len(stanzas):,} stanzas")
                stanzas, stanza_rows = [stanzas[i] for i in keep], [stanza_rows[i] for i in keep]
            keep = self._riskiest_lines(toxic_texts, keywords, compact_lines)
            if len(keep) < len(lines):
                doc.read_part(RISKIEST, f"toxicity {len(keep)} of {len(lines):,} lines")
                read[:] = False
                read[keep] = True
        return {
            "keywords": keywords,
            "embedded": embedded,
            "candidates": candidates,
            "stanzas": [s.text for s in stanzas],
            "stanza_rows": stanza_rows,
            "toxic_texts": [t if r else "" for t, r in zip(toxic_texts, read, strict=True)],
            "toxic_read": read,
        }

    def _riskiest_stanzas(
        self,
        stanzas: list,
        stanza_rows: list[list[int]],
        compact_lines: np.ndarray,
        candidates: list[int],
    ) -> list[int]:
        """The stanzas BART reads, within ``max_passes`` full inputs of tokens: those whose
        lines the compact models score highest for the candidate concerns."""
        if not candidates:  # BART is asked about no concern, so it reads no stanza
            return list(range(len(stanzas)))
        costs = [self.scorer.count_tokens(s.text) for s in stanzas]
        budget = self.max_passes * self.scorer.classifier.max_tokens
        if sum(costs) <= budget:
            return list(range(len(stanzas)))
        priority = np.array(
            [float(compact_lines[np.ix_(rows, candidates)].max()) for rows in stanza_rows]
        )
        return within_budget(costs, priority, budget)

    def _riskiest_lines(
        self, texts: list[str], keywords: np.ndarray, compact_lines: np.ndarray
    ) -> list[int]:
        """The lines toxic-bert reads, within ``max_passes`` full inputs of tokens: every line
        with a keyword hit for its concerns first, then the lines the compact models score highest."""
        specials = self.toxicity.special_tokens()
        costs = [self.toxicity.count_tokens(t) + specials if t else 0 for t in texts]
        budget = self.max_passes * self.toxicity.max_tokens
        if sum(costs) <= budget:
            return list(range(len(texts)))
        columns = self.covered
        if not columns:
            return within_budget(costs, np.zeros(len(texts)), budget)
        hit = (keywords[:, columns] > 0).any(axis=1)
        return within_budget(costs, hit + compact_lines[:, columns].max(axis=1), budget)

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
        read = np.asarray(outputs.get("toxic_read", np.ones(len(embedded), dtype=bool)), dtype=bool)
        for j in self.covered:
            # Lines toxic-bert did not read (a long song over the cap) keep their compact score.
            scores[~read, j] = embedded[~read, j]
        for j in self.zero_shot:
            scores[:, j] = NON_CANDIDATE_SCALE * embedded[:, j]
        asked = sorted({r for rows in outputs["stanza_rows"] for r in rows})
        for a, j in enumerate(outputs["candidates"]):
            # Lines of stanzas BART did not read keep the non-candidate share of their compact score.
            scores[asked, j] = 0.0
            for s, rows in enumerate(outputs["stanza_rows"]):
                # The stanza's entailment goes to its lines in proportion to how close each
                # is to the concern, so the line that carries it is the one shown as evidence.
                near = embedded[rows, j]
                share = near / near.max() if near.max() > 0 else np.ones_like(near)
                scores[rows, j] = np.maximum(scores[rows, j], outputs["entailment"][a, s] * share)
        return scores

    def postprocess(self, outputs: dict[str, Any], doc: SongDoc) -> dict[str, Any]:
        scores = with_keywords(
            np.asarray(outputs["keywords"], dtype=np.float32), self.model_scores(outputs)
        )
        return concern_evidence(self.keys, doc.prepared.first_lines(), scores)


def build_hf_analyzers(
    encoder: SentenceEncoder,
    classifiers: dict[str, HFClassifier],
    taxonomy: Taxonomy,
    top_k: int,
    max_passes: int | None = None,
) -> tuple[Analyzer, ...]:
    """The four analyzers in pipeline order; ``classifiers`` is keyed by registry model name.
    ``max_passes`` caps each model's inputs per song (default DISCERN_HF_MAX_PASSES; 0: no cap)."""
    passes = max(0, get_settings().discern_hf_max_passes if max_passes is None else max_passes)
    scorer = ZeroShotScorer(classifiers["zero-shot"])
    keys = taxonomy.concern_keys
    covered = {j for _, j in toxicity_columns(classifiers["toxicity"], keys)}
    k_concerns, k_themes = split_budget(top_k, len(keys) - len(covered), len(taxonomy.themes))
    return (
        HFThemeAnalyzer(encoder, scorer, taxonomy, k_themes, passes),
        HFSentimentAnalyzer(classifiers["sentiment"], taxonomy.sentiment_keys, passes),
        HFEmotionAnalyzer(classifiers["emotion"], taxonomy.emotion_keys, passes),
        HFSafetyAnalyzer(encoder, classifiers["toxicity"], scorer, taxonomy, k_concerns, passes),
    )
