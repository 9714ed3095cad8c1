"""The analyzer interface, in the style of transformers' ``Pipeline``.

Every analyzer splits its work into ``preprocess`` (text in, model inputs out),
``_forward`` (the only method that touches a model) and ``postprocess`` (model outputs to
label scores). Postprocessing can therefore be tested with hand-written model outputs.
Like a spaCy component, each analyzer declares the fields it ``assigns`` on a ``SongDoc``;
the engine's pipeline is a plain loop over analyzers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipelines.lyrics import PreparedLyrics


@dataclass
class SongDoc:
    """One song travelling through the analyzers; each analyzer fills its ``assigns``."""

    id: str
    prepared: PreparedLyrics
    title: str = ""
    artist: str = ""
    assigned: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    # What the models read of a song they read only part of (over DISCERN_HF_MAX_PASSES), by
    # how it was chosen: {"spread evenly over it": ["themes 6 of 80 passages"]}; see ``read_part``.
    partial: dict[str, list[str]] = field(default_factory=dict)

    def read_part(self, how: str, what: str) -> None:
        """Record that a model read only part of the song (the engine adds it to the notes)."""
        self.partial.setdefault(how, []).append(what)

    @property
    def lines(self) -> list[str]:
        return self.prepared.distinct_lines()


class Analyzer(ABC):
    """Base class: subclasses set ``task`` and ``assigns`` and implement the three steps."""

    task: ClassVar[str]
    assigns: ClassVar[tuple[str, ...]]

    def preprocess(self, doc: SongDoc) -> Any:
        return doc.lines

    @abstractmethod
    def _forward(self, inputs: list[Any]) -> list[Any]:
        """Run the model over a batch of preprocessed inputs, one output per input."""

    @abstractmethod
    def postprocess(self, outputs: Any, doc: SongDoc) -> dict[str, Any]:
        """Turn one song's model outputs into the values named in ``assigns``."""

    def __call__(self, docs: list[SongDoc]) -> list[SongDoc]:
        live = [d for d in docs if not d.prepared.is_empty]
        if live:
            outputs = self._forward([self.preprocess(d) for d in live])
            for doc, output in zip(live, outputs, strict=True):
                values = self.postprocess(output, doc)
                missing = set(self.assigns) - set(values)
                if missing:
                    raise RuntimeError(f"{type(self).__name__} did not assign {sorted(missing)}")
                doc.assigned.update(values)
        return docs
