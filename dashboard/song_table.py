"""Songs as the playlist and explore tables show them: pure data in, DataFrame out.

Verdicts are re-derived from the stored concern scores at the chosen sensitivity and
with the chosen concerns switched on (no model runs), and a person's override wins and
is shown as such ("flagged (override)").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import pandas as pd

from dashboard.library_queries import ResultFields
from pipelines.store.library_view import SongRow
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import VERDICTS, rederive

VERDICT_RANK = {"flagged": 0, "review": 1, "approved": 2}
STATUS_NO_LYRICS = "no lyrics"
STATUS_NOT_ANALYSED = "not analysed"
STATUS_OUTDATED = "older analyzer version"
STATUS_ANALYSED = "analysed"

COLUMNS = [
    "song_id", "#", "title", "artist", "playlists", "verdict", "score", "top theme", "themes", "emotion", "sentiment",
    "concerns", "status", "verdict_key", "overridden", "theme_keys", "concern_keys", "emotion_key", "sentiment_key",
]
SHOWN = ["#", "title", "artist", "playlists", "verdict", "score", "concerns", "top theme", "emotion", "sentiment",
         "themes", "status"]


def verdict_label(verdict: str | None, overridden: bool) -> str:
    if verdict is None:
        return "—"
    return f"{verdict} (override)" if overridden else verdict


def song_frame(
    rows: Sequence[SongRow],
    fields: Mapping[int, ResultFields],
    taxonomy: Taxonomy,
    sensitivity: str,
    enabled: Collection[str] | None = None,
    current_version: str | None = None,
    playlists: Mapping[int, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """One row per song with its effective verdict (override first) at this sensitivity."""
    names = {label.key: label.name for group in (taxonomy.concerns, taxonomy.themes, taxonomy.emotions,
                                                 taxonomy.sentiments) for label in group}
    records = []
    for row in rows:
        result = fields.get(row.analysis_id) if row.analysis_id is not None else None
        overridden = row.override_verdict is not None
        decision = None
        if result is not None:
            decision = rederive(result.concern_scores, result.verdict, result.sensitivity, taxonomy, sensitivity, enabled)
        verdict = row.override_verdict or (decision.verdict if decision else None)
        if not row.has_lyrics:
            status = STATUS_NO_LYRICS
        elif result is None:
            status = STATUS_NOT_ANALYSED
        elif current_version and row.analyzer_version != current_version:
            status = STATUS_OUTDATED
        else:
            status = STATUS_ANALYSED
        theme_keys = list(result.themes) if result else []
        concern_keys = list(decision.concerns) if decision else []
        records.append({
            "song_id": row.song_id,
            "#": row.position,
            "title": row.title,
            "artist": row.artist,
            "playlists": ", ".join(playlists.get(row.song_id, [])) if playlists is not None else "",
            "verdict": verdict_label(verdict, overridden),
            "score": decision.score if decision else None,
            "top theme": names.get(theme_keys[0], theme_keys[0]) if theme_keys else "",
            "themes": ", ".join(names.get(k, k) for k in theme_keys),
            "emotion": names.get(row.emotion, row.emotion) if result else "",
            "sentiment": names.get(row.sentiment, row.sentiment) if result else "",
            "concerns": ", ".join(names.get(k, k) for k in concern_keys),
            "status": status,
            "verdict_key": verdict,
            "overridden": overridden,
            "theme_keys": theme_keys,
            "concern_keys": concern_keys,
            "emotion_key": row.emotion if result else None,
            "sentiment_key": row.sentiment if result else None,
        })
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["score"] = frame["score"].astype("Int64")
    frame["#"] = frame["#"].astype("Int64")
    return frame


def filter_frame(
    frame: pd.DataFrame,
    *,
    text: str = "",
    verdicts: Iterable[str] = (),
    concerns: Iterable[str] = (),
    themes: Iterable[str] = (),
    emotions: Iterable[str] = (),
    sentiments: Iterable[str] = (),
    statuses: Iterable[str] = (),
) -> pd.DataFrame:
    """Rows matching every given filter (an empty filter matches all). ``verdicts`` are
    keys; "unanalysed" matches songs without a verdict. Concerns and themes match any."""
    mask = pd.Series(True, index=frame.index)
    if text.strip():
        needle = text.strip().casefold()
        mask &= frame["title"].str.casefold().str.contains(needle, regex=False) | frame["artist"].str.casefold().str.contains(
            needle, regex=False
        )
    wanted = set(verdicts)
    if wanted:
        keys = frame["verdict_key"].fillna("unanalysed")
        mask &= keys.isin(wanted)
    for column, values in (("concern_keys", concerns), ("theme_keys", themes)):
        chosen = set(values)
        if chosen:
            mask &= frame[column].map(lambda keys, chosen=chosen: bool(chosen.intersection(keys)))
    for column, values in (("emotion_key", emotions), ("sentiment_key", sentiments), ("status", statuses)):
        chosen = set(values)
        if chosen:
            mask &= frame[column].isin(chosen)
    return frame[mask]


SORTS = {
    "playlist order": (["#", "title"], [True, True]),
    "most concerning first": (["_rank", "score"], [True, True]),
    "lowest score first": (["score", "title"], [True, True]),
    "title": (["title"], [True]),
    "artist": (["artist", "title"], [True, True]),
}


def sort_frame(frame: pd.DataFrame, order: str) -> pd.DataFrame:
    columns, ascending = SORTS.get(order, SORTS["playlist order"])
    ranked = frame.assign(_rank=frame["verdict_key"].map(lambda v: VERDICT_RANK.get(v, 3)))
    return ranked.sort_values(columns, ascending=ascending, na_position="last", kind="stable").drop(columns="_rank")


def verdict_counts(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Songs per effective verdict, split into analysed and overridden."""
    counts = {"analysis": dict.fromkeys(VERDICTS, 0), "override": dict.fromkeys(VERDICTS, 0)}
    for verdict, overridden in zip(frame["verdict_key"], frame["overridden"], strict=True):
        if verdict in VERDICTS:
            counts["override" if overridden else "analysis"][verdict] += 1
    return counts
