"""A fast fake at the model boundary: an ``AnalyzerSet`` whose four analyzers follow the
real ``Analyzer`` interface (preprocess / ``_forward`` / postprocess) and assign the same
fields as the real ones, with keyword rules in place of models.

Everything around it (lyrics preparation, the engine, verdicts, the database, the job
runner, the pages) is real. Deterministic: the same lyrics always give the same scores.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from functools import cache
from typing import Any

from pipelines.analyzers.base import Analyzer, SongDoc
from pipelines.analyzers.loader import AnalyzerSet, ModelLoad
from pipelines.taxonomy import Taxonomy, load_taxonomy

FAKE_PROFILE = "compact"  # jobs are created for the configured profile; the fake stands in for it
FAKE_VERSION = "fake-keywords-1"

THEME_WORDS = {
    "worship": ("praise", "worship", "holy", "glory", "hallelujah"),
    "faith": ("trust", "faith", "believe"),
    "grace": ("grace", "forgive", "saved", "mercy", "cross"),
    "hope": ("hope", "morning", "rise"),
    "lament": ("why", "tears", "how long"),
    "gratitude": ("thank", "grateful"),
    "love": ("love",),
    "romance": ("baby", "kiss", "darling"),
    "heartbreak": ("alone", "goodbye", "gone"),
    "celebration": ("party", "dance", "tonight"),
    "wealth": ("money", "gold", "diamond", "rich"),
    "death": ("die", "grave", "funeral"),
}
CONCERN_WORDS = {
    "profanity": ("damn it", "shit", "fuck"),
    "sexual": ("sex", "undress"),
    "violence": ("kill", "gun", "shoot"),
    "self_harm": ("end it all", "want to die"),
    "occult": ("spell", "witch"),
    "blasphemy": ("curse god",),
    "hate": ("hate them",),
    "substance": ("drunk", "high", "weed"),
    "materialism": ("money", "diamond"),
}
EMOTION_WORDS = {
    "joy": ("praise", "glad", "joy", "dance", "sing"),
    "sadness": ("tears", "alone", "cry", "goodbye"),
    "anger": ("kill", "hate", "rage"),
    "fear": ("afraid", "fear"),
}
POSITIVE = ("love", "glad", "joy", "praise", "good", "hope", "grace")
NEGATIVE = ("hate", "tears", "kill", "alone", "cry", "die")


def _hits(line: str, words: tuple[str, ...]) -> int:
    lowered = line.lower()
    return sum(1 for word in words if re.search(rf"\b{re.escape(word)}\b", lowered))


class _KeywordAnalyzer(Analyzer):
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    def _forward(self, inputs: list[Any]) -> list[Any]:
        return [self.count(lines) for lines in inputs]

    @abstractmethod
    def count(self, lines: list[str]) -> Any:
        """Keyword counts per line set: the fake's stand-in for a model's output."""


class FakeThemeAnalyzer(_KeywordAnalyzer):
    task = "themes"
    assigns = ("themes",)

    def count(self, lines: list[str]) -> dict[str, int]:
        return {key: sum(_hits(line, words) for line in lines) for key, words in THEME_WORDS.items()}

    def postprocess(self, outputs: dict[str, int], doc: SongDoc) -> dict[str, Any]:
        total = sum(outputs.values()) or 1
        scores = {key: round(outputs.get(key, 0) / total, 4) for key in self.taxonomy.theme_keys}
        if not any(scores.values()):
            scores = {key: round(0.1 if key == "love" else 0.05, 4) for key in self.taxonomy.theme_keys}
        return {"themes": scores}


class FakeSentimentAnalyzer(_KeywordAnalyzer):
    task = "sentiment"
    assigns = ("sentiments",)

    def count(self, lines: list[str]) -> tuple[int, int]:
        return sum(_hits(line, POSITIVE) for line in lines), sum(_hits(line, NEGATIVE) for line in lines)

    def postprocess(self, outputs: tuple[int, int], doc: SongDoc) -> dict[str, Any]:
        positive, negative = outputs
        if positive > negative:
            scores = {"positive": 0.8, "neutral": 0.15, "negative": 0.05}
        elif negative > positive:
            scores = {"positive": 0.05, "neutral": 0.15, "negative": 0.8}
        else:
            scores = {"positive": 0.2, "neutral": 0.6, "negative": 0.2}
        return {"sentiments": {key: scores.get(key, 0.0) for key in self.taxonomy.sentiment_keys}}


class FakeEmotionAnalyzer(_KeywordAnalyzer):
    task = "emotion"
    assigns = ("emotions",)

    def count(self, lines: list[str]) -> dict[str, int]:
        return {key: sum(_hits(line, words) for line in lines) for key, words in EMOTION_WORDS.items()}

    def postprocess(self, outputs: dict[str, int], doc: SongDoc) -> dict[str, Any]:
        best = max(outputs, key=outputs.get) if any(outputs.values()) else "neutral"
        rest = 0.3 / (len(self.taxonomy.emotion_keys) - 1)
        return {"emotions": {key: 0.7 if key == best else round(rest, 4) for key in self.taxonomy.emotion_keys}}


class FakeSafetyAnalyzer(Analyzer):
    task = "safety"
    assigns = ("concerns", "concern_lines")

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    def preprocess(self, doc: SongDoc) -> list[tuple[int, str]]:
        seen: dict[str, int] = {}
        for line in doc.prepared.lines:
            seen.setdefault(line.text, line.number)
        return [(number, text) for text, number in seen.items()]

    def _forward(self, inputs: list[list[tuple[int, str]]]) -> list[dict[str, list[tuple[int, str]]]]:
        return [
            {key: [(n, t) for n, t in lines if _hits(t, words)] for key, words in CONCERN_WORDS.items()}
            for lines in inputs
        ]

    def postprocess(self, outputs: dict[str, list[tuple[int, str]]], doc: SongDoc) -> dict[str, Any]:
        scores, lines = {}, {}
        for key in self.taxonomy.concern_keys:
            hits = outputs.get(key, [])
            # One hit is "possible" (between review and present at balanced), two are certain.
            score = 0.0 if not hits else (0.45 if len(hits) == 1 else 0.9)
            scores[key] = score
            lines[key] = [(number, text, score) for number, text in hits]
        return {"concerns": scores, "concern_lines": lines}


@cache
def fake_analyzer_set() -> AnalyzerSet:
    """One fake set per test process (like the real loader, it is built once)."""
    taxonomy = load_taxonomy()
    return AnalyzerSet(
        profile=FAKE_PROFILE,
        version=FAKE_VERSION,
        taxonomy=taxonomy,
        analyzers=(
            FakeThemeAnalyzer(taxonomy),
            FakeSentimentAnalyzer(taxonomy),
            FakeEmotionAnalyzer(taxonomy),
            FakeSafetyAnalyzer(taxonomy),
        ),
        models=(),
        loads=[ModelLoad("fake-keywords", "tests/fake_analyzers.py", 0.01, 1.0)],
        count_tokens=lambda text: len(text.split()),
        max_tokens=256,
    )


def load_fake_analyzers(profile: str | None = None) -> AnalyzerSet:
    """Drop-in for ``pipelines.analyzers.loader.load_analyzers``."""
    return fake_analyzer_set()
