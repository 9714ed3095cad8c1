"""The label taxonomy, loaded from the versioned data file ``data/taxonomy.yaml``.

Concerns, themes, emotions and sentiments are data: adding an entry to the file adds a
label everywhere (analyzers, verdicts, charts) without code changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_PATH = Path(__file__).resolve().parent / "data" / "taxonomy.yaml"

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


@dataclass(frozen=True)
class Keyword:
    pattern: re.Pattern[str]
    weight: float


@dataclass(frozen=True)
class Label:
    key: str
    name: str
    description: str = ""
    prototypes: tuple[str, ...] = ()
    clean_prototypes: tuple[str, ...] = ()
    keywords: tuple[Keyword, ...] = ()
    scripture: tuple[str, ...] = ()
    severity: str | None = None
    emotion: str | None = None  # themes/concerns: the emotion they usually carry
    sentiment: str | None = None  # emotions: the sentiment they imply
    theme: str | None = None  # concerns: the theme they usually come with
    suppressed_by: tuple[str, ...] = ()  # themes: concerns that contradict them
    semantic: bool = True  # concerns: False when only keywords may find it
    addresses_god: bool = False  # themes: sung to or about God by definition (lament, worship)

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK.get(self.severity or "", 0)


@dataclass(frozen=True)
class Preset:
    present: float
    review: float
    flag_at: str = "high"


@dataclass(frozen=True)
class Taxonomy:
    version: str
    concerns: tuple[Label, ...]
    themes: tuple[Label, ...]
    emotions: tuple[Label, ...]
    sentiments: tuple[Label, ...]
    safe_phrases: re.Pattern[str] | None
    presets: dict[str, Preset] = field(default_factory=dict)
    god_address: re.Pattern[str] | None = None  # a line that names or addresses God
    digest: str = ""  # of the whole data: part of the analyzer version

    def concern(self, key: str) -> Label:
        return next(c for c in self.concerns if c.key == key)

    def label(self, key: str) -> Label | None:
        for group in (self.concerns, self.themes, self.emotions, self.sentiments):
            for label in group:
                if label.key == key:
                    return label
        return None

    @property
    def concern_keys(self) -> list[str]:
        return [c.key for c in self.concerns]

    @property
    def theme_keys(self) -> list[str]:
        return [t.key for t in self.themes]

    @property
    def emotion_keys(self) -> list[str]:
        return [e.key for e in self.emotions]

    @property
    def sentiment_keys(self) -> list[str]:
        return [s.key for s in self.sentiments]


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the entry."""


def _word_pattern(fragment: str) -> re.Pattern[str]:
    # Whole words only: "hell" must not match "hello", "ass" must not match "pass".
    return re.compile(rf"(?<![\w'])(?:{fragment})(?![\w])", re.IGNORECASE)


def _label(entry: dict, group: str) -> Label:
    try:
        key = entry["key"]
    except (KeyError, TypeError):
        raise TaxonomyError(f"an entry of '{group}' has no key: {entry!r}") from None
    try:
        keywords = tuple(
            Keyword(_word_pattern(k["pattern"]), float(k["weight"])) for k in entry.get("keywords", [])
        )
    except (re.error, KeyError, TypeError, ValueError) as exc:
        raise TaxonomyError(f"{group}.{key}: bad keyword entry ({exc})") from None
    severity = entry.get("severity")
    if group == "concerns" and severity not in SEVERITY_RANK:
        raise TaxonomyError(f"concerns.{key}: severity must be one of {sorted(SEVERITY_RANK)}")
    return Label(
        key=key,
        name=entry.get("name", key.replace("_", " ").title()),
        description=entry.get("description", ""),
        prototypes=tuple(entry.get("prototypes", [])),
        clean_prototypes=tuple(entry.get("clean_prototypes", [])),
        keywords=keywords,
        scripture=tuple(entry.get("scripture", [])),
        severity=severity,
        emotion=entry.get("emotion"),
        sentiment=entry.get("sentiment"),
        theme=entry.get("theme"),
        suppressed_by=tuple(entry.get("suppressed_by", [])),
        semantic=bool(entry.get("semantic", True)),
        addresses_god=bool(entry.get("addresses_god", False)),
    )


def _check_references(groups: dict[str, tuple[Label, ...]]) -> None:
    emotions = {e.key for e in groups["emotions"]}
    sentiments = {s.key for s in groups["sentiments"]}
    concerns = {c.key for c in groups["concerns"]}
    for group in ("themes", "concerns"):
        for label in groups[group]:
            if label.emotion and label.emotion not in emotions:
                raise TaxonomyError(f"{group}.{label.key}: emotion {label.emotion!r} is not an emotion key")
            if label.theme and label.theme not in {t.key for t in groups["themes"]}:
                raise TaxonomyError(f"{group}.{label.key}: theme {label.theme!r} is not a theme key")
            unknown = set(label.suppressed_by) - concerns
            if unknown:
                raise TaxonomyError(f"{group}.{label.key}: suppressed_by names unknown concerns {sorted(unknown)}")
    for label in groups["emotions"]:
        if label.sentiment and label.sentiment not in sentiments:
            raise TaxonomyError(f"emotions.{label.key}: sentiment {label.sentiment!r} is not a sentiment key")


def parse_taxonomy(data: dict) -> Taxonomy:
    groups = {}
    for group in ("concerns", "themes", "emotions", "sentiments"):
        labels = tuple(_label(e, group) for e in data.get(group, []))
        if not labels:
            raise TaxonomyError(f"the taxonomy has no {group}")
        keys = [label.key for label in labels]
        if len(set(keys)) != len(keys):
            raise TaxonomyError(f"duplicate keys in {group}: {keys}")
        groups[group] = labels
    _check_references(groups)
    phrases = data.get("safe_phrases", [])
    safe = re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in phrases) + r")\b", re.I) if phrases else None
    presets = {
        name: Preset(float(v["present"]), float(v["review"]), v.get("flag_at", "high"))
        for name, v in data.get("verdict", {}).get("presets", {}).items()
    }
    for required in ("lenient", "balanced", "strict"):
        if required not in presets:
            raise TaxonomyError(f"verdict.presets.{required} is missing")
    try:
        # Case-sensitive on purpose: "You" in mid-line is how lyrics address God.
        address = [re.compile(p) for p in data.get("god_address", [])]
    except re.error as exc:
        raise TaxonomyError(f"god_address: bad pattern ({exc})") from None
    god_address = re.compile("|".join(f"(?:{p.pattern})" for p in address)) if address else None
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return Taxonomy(
        version=str(data["version"]), safe_phrases=safe, presets=presets, god_address=god_address, digest=digest,
        **groups,
    )


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    with open(path, encoding="utf-8") as handle:
        return parse_taxonomy(yaml.safe_load(handle))
