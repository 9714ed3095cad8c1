"""The song detail view, shared by the Song page and the ad-hoc Analyse lyrics page.

Lyrics are shown as a table of lines, never as HTML or markdown, so nothing in a song's
text can inject markup; lines that triggered a concern are highlighted and labelled.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import streamlit as st

from dashboard import charts
from pipelines.result import SongAnalysis
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import Decision, decide

VERDICT_BADGE = {"approved": ":green-badge[approved]", "review": ":orange-badge[review]", "flagged": ":red-badge[flagged]"}


def rederive(result: SongAnalysis, taxonomy: Taxonomy, sensitivity: str, enabled: Collection[str] | None) -> Decision:
    """The verdict at another sensitivity or with concerns switched off: no model runs."""
    return decide(result.scores["concerns"], taxonomy, sensitivity, enabled, result.evidence)


def lyrics_table(lyrics: str, result: SongAnalysis, taxonomy: Taxonomy, concerns: Collection[str]) -> pd.DataFrame:
    """Every original line with the concerns it triggered (only concerns in ``concerns``)."""
    flagged: dict[int, list[str]] = {}
    for evidence in result.evidence:
        if evidence.concern in concerns:
            name = taxonomy.concern(evidence.concern).name
            flagged.setdefault(evidence.line, []).append(f"{name} ({evidence.score:.2f})")
    rows = [
        {"line": number, "lyrics": text, "concerns": ", ".join(flagged.get(number, []))}
        for number, text in enumerate(lyrics.splitlines(), start=1)
    ]
    return pd.DataFrame(rows, columns=["line", "lyrics", "concerns"])


def _highlight(row: pd.Series) -> list[str]:
    colour = "background-color: #fde2e1" if row["concerns"] else ""
    return [colour] * len(row)


def render(
    result: SongAnalysis,
    lyrics: str,
    taxonomy: Taxonomy,
    sensitivity: str,
    enabled: Collection[str] | None = None,
    override: tuple[str, str] | None = None,
    key: str = "song",
) -> Decision:
    """Draw the analysis of one song; returns the verdict as derived for this view."""
    decision = rederive(result, taxonomy, sensitivity, enabled)
    shown_concerns = set(decision.concerns) | set(decision.review_concerns)
    verdict_line = f"**Verdict:** {VERDICT_BADGE[decision.verdict]}  **Score:** {decision.score}/100"
    if override:
        verdict_line = f"**Verdict:** {VERDICT_BADGE[override[0]]} (manual override; the models said {decision.verdict})"
    st.markdown(verdict_line)
    if override and override[1]:
        st.caption("Override note:")
        st.text(override[1])
    st.text(decision.explanation)
    for note in result.notes:
        st.info(note, icon=":material/info:")

    names = {label.key: label.name for group in (taxonomy.concerns, taxonomy.themes, taxonomy.emotions, taxonomy.sentiments) for label in group}
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.score_bars(result.scores["concerns"], names, "Concerns", decision.concerns), key=f"{key}-bars-concerns")
        st.plotly_chart(charts.score_bars(result.scores["emotions"], names, "Emotion", [result.emotion]), key=f"{key}-bars-emotions")
    with right:
        st.plotly_chart(charts.score_bars(result.scores["themes"], names, "Themes", result.themes), key=f"{key}-bars-themes")
        st.plotly_chart(charts.score_bars(result.scores["sentiments"], names, "Sentiment", [result.sentiment]), key=f"{key}-bars-sentiments")

    st.subheader("Lyrics")
    table = lyrics_table(lyrics, result, taxonomy, shown_concerns)
    st.dataframe(table.style.apply(_highlight, axis=1), hide_index=True, width="stretch", key=f"{key}-lyrics")

    references = [
        (label.name, ", ".join(label.scripture))
        for label in [*(taxonomy.label(k) for k in result.themes), *(taxonomy.concern(k) for k in decision.concerns)]
        if label is not None and label.scripture
    ]
    if references:
        st.subheader("Scripture to read alongside")
        st.dataframe(pd.DataFrame(references, columns=["theme or concern", "references"]), hide_index=True)
    st.caption(f"Analyzer: {result.analyzer.profile} profile, version {result.analyzer.version}")
    return decision


def models_loading_notice(status: str, error: str | None) -> None:
    if status == "failed":
        st.error(f"The analysis models could not be loaded: {error}. Analysis is unavailable; the library still works.")
    else:
        st.info("The analysis models are still loading (a few seconds after the server starts). This page will work as soon as they are ready.", icon=":material/hourglass_top:")
