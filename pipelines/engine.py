"""Run a profile's analyzers over batches of songs (the local engine).

Songs are prepared (cleaned, long lines split within the model's token limit), the
distinct lines of a whole batch are encoded in one pass, then each analyzer runs over the
batch, and verdicts are derived. A song that cannot be analysed becomes an
``AnalysisFailure`` with a message; it never stops the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pipelines.analyzers.base import SongDoc
from pipelines.analyzers.loader import AnalyzerSet
from pipelines.analyzers.themes import rank_themes
from pipelines.lyrics import LyricLine, LyricsError, PreparedLyrics, prepare, split_long_line
from pipelines.result import AnalyzerInfo, ConcernEvidence, SongAnalysis
from pipelines.settings import get_settings
from pipelines.verdict import decide


@dataclass(frozen=True)
class SongInput:
    id: str
    lyrics: str
    title: str = ""
    artist: str = ""


@dataclass(frozen=True)
class AnalysisFailure:
    id: str
    error: str


Outcome = SongAnalysis | AnalysisFailure


def fit_lines(prepared: PreparedLyrics, analyzers: AnalyzerSet) -> PreparedLyrics:
    """Split any line over the token limit into pieces that keep its line number."""
    limit = analyzers.max_tokens - 2
    lines: list[LyricLine] = []
    for line in prepared.lines:
        # A token covers at least one character, so short lines need no tokenizer call.
        if len(line.text) < limit:
            lines.append(line)
        else:
            lines.extend(split_long_line(line, analyzers.count_tokens, limit))
    return PreparedLyrics(lines=lines, notes=prepared.notes, english_share=prepared.english_share)


def _prepare(song: SongInput, analyzers: AnalyzerSet) -> SongDoc | AnalysisFailure:
    max_bytes = get_settings().discern_max_lyrics_bytes
    if not isinstance(song.lyrics, str):
        return AnalysisFailure(song.id, "lyrics are missing or not text")
    size = len(song.lyrics.encode("utf-8", errors="replace"))
    if size > max_bytes:
        return AnalysisFailure(
            song.id, f"lyrics are {size:,} bytes, over the {max_bytes:,}-byte limit (DISCERN_MAX_LYRICS_BYTES)"
        )
    try:
        prepared = fit_lines(prepare(song.lyrics), analyzers)
    except LyricsError as exc:
        return AnalysisFailure(song.id, str(exc))
    return SongDoc(id=song.id, prepared=prepared, title=song.title, artist=song.artist)


def _empty_result(doc: SongDoc, analyzers: AnalyzerSet, sensitivity: str) -> SongAnalysis:
    taxonomy = analyzers.taxonomy
    return SongAnalysis(
        verdict="approved",
        score=100,
        concerns=[],
        themes=[],
        emotion="neutral",
        sentiment="neutral",
        scores={
            "concerns": {k: 0.0 for k in taxonomy.concern_keys},
            "themes": {k: 0.0 for k in taxonomy.theme_keys},
            "emotions": {k: float(k == "neutral") for k in taxonomy.emotion_keys},
            "sentiments": {k: float(k == "neutral") for k in taxonomy.sentiment_keys},
        },
        evidence=[],
        analyzer=AnalyzerInfo(analyzers.profile, analyzers.version),
        explanation="No lyrics to analyse (empty or instrumental).",
        sensitivity=sensitivity,
        notes=[*doc.prepared.notes, "No lyrics to analyse (empty or instrumental)."],
        line_count=0,
    )


def partial_note(partial: dict[str, list[str]]) -> str:
    """The note of a song some models read only part of (``SongDoc.partial``), e.g. "...: themes
    6 of 80 passages and sentiment 6 of 74 passages, spread evenly over it; ..."."""

    def listed(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    parts = "; ".join(f"{listed(items)}, {how}" for how, items in partial.items())
    return (
        f"Long lyrics: the hf models read part of this song (DISCERN_HF_MAX_PASSES): {parts}. "
        "Every line is still scored by the compact models."
    )


def build_result(doc: SongDoc, analyzers: AnalyzerSet, sensitivity: str) -> SongAnalysis:
    """Assemble the analyzers' assigned values into a ``SongAnalysis`` with its verdict."""
    if doc.prepared.is_empty:
        return _empty_result(doc, analyzers, sensitivity)
    taxonomy = analyzers.taxonomy
    values = doc.assigned
    concern_scores: dict[str, float] = values["concerns"]
    # Keep evidence for every concern a stricter preset could count, so re-deriving the
    # verdict at another sensitivity never needs the models again.
    lowest_review = min(p.review for p in taxonomy.presets.values())
    evidence = [
        ConcernEvidence(line=number, text=text, concern=key, score=score)
        for key, lines in values["concern_lines"].items()
        if concern_scores.get(key, 0.0) >= lowest_review
        for number, text, score in lines
    ]
    decision = decide(concern_scores, taxonomy, sensitivity, evidence=evidence)
    notes = list(doc.prepared.notes)
    if doc.partial:  # never silently: say what the models did not read of a very long song
        notes.append(partial_note(doc.partial))
    verdict, explanation = decision.verdict, decision.explanation
    if not doc.prepared.is_english and verdict == "approved":
        # Do not pretend: English-only models saying "nothing found" means little here.
        verdict = "review"
        explanation = "The lyrics do not look like English, which the models do not read reliably; a person should check them."
    emotions, sentiments = values["emotions"], values["sentiments"]
    return SongAnalysis(
        verdict=verdict,
        score=decision.score,
        concerns=decision.concerns,
        themes=rank_themes(values["themes"]),
        emotion=max(emotions, key=emotions.get),
        sentiment=max(sentiments, key=sentiments.get),
        scores={"concerns": concern_scores, "themes": values["themes"], "emotions": emotions, "sentiments": sentiments},
        evidence=evidence,
        analyzer=AnalyzerInfo(analyzers.profile, analyzers.version),
        explanation=explanation,
        sensitivity=sensitivity,
        review_concerns=decision.review_concerns,
        notes=notes,
        line_count=len(doc.prepared.lines),
        timings=dict(doc.timings),
    )


def analyze_batch(songs: list[SongInput], analyzers: AnalyzerSet, sensitivity: str = "balanced") -> list[Outcome]:
    """Analyse one batch of songs; results are in input order."""
    prepared = [_prepare(song, analyzers) for song in songs]
    docs = [p for p in prepared if isinstance(p, SongDoc)]
    if docs:
        with analyzers.lock:
            warm = getattr(analyzers.analyzers[0], "encoder", None)
            if warm is not None:
                # One encoder pass over every distinct line of the batch; analyzers then hit its cache.
                start = time.perf_counter()
                warm.encode(list(dict.fromkeys(line for doc in docs for line in doc.lines)))
                _share_time(docs, "encode", time.perf_counter() - start)
            for analyzer in analyzers.analyzers:
                start = time.perf_counter()
                analyzer(docs)
                _share_time(docs, analyzer.task, time.perf_counter() - start)
    outcomes: list[Outcome] = []
    for item in prepared:
        if isinstance(item, AnalysisFailure):
            outcomes.append(item)
            continue
        try:
            outcomes.append(build_result(item, analyzers, sensitivity))
        except Exception as exc:  # one bad song must not sink its batch
            outcomes.append(AnalysisFailure(item.id, f"analysis failed: {type(exc).__name__}: {exc}"))
    return outcomes


def _share_time(docs: list[SongDoc], stage: str, seconds: float) -> None:
    for doc in docs:
        doc.timings[stage] = round(doc.timings.get(stage, 0.0) + seconds / len(docs), 6)


def analyze_songs(
    songs: Iterable[SongInput],
    analyzers: AnalyzerSet,
    sensitivity: str = "balanced",
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[tuple[SongInput, Outcome]]:
    """Analyse ``songs`` in batches, yielding (song, outcome) as each batch finishes."""
    size = batch_size or get_settings().discern_job_batch_size
    batch: list[SongInput] = []
    for song in songs:
        batch.append(song)
        if len(batch) >= size:
            yield from zip(batch, analyze_batch(batch, analyzers, sensitivity), strict=True)
            if on_batch:
                on_batch(len(batch))
            batch = []
    if batch:
        yield from zip(batch, analyze_batch(batch, analyzers, sensitivity), strict=True)
        if on_batch:
            on_batch(len(batch))


def analyze_text(lyrics: str, analyzers: AnalyzerSet, sensitivity: str = "balanced", song_id: str = "adhoc") -> Outcome:
    """Analyse one pasted or uploaded text (the ad-hoc page)."""
    return analyze_batch([SongInput(song_id, lyrics)], analyzers, sensitivity)[0]
