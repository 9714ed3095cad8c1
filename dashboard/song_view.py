"""The song detail view, shared by the Song page and the ad-hoc Analyse lyrics page.

Lyrics are shown as a table of lines, never as HTML or markdown, so nothing in a song's
text can inject markup; lines that triggered a concern are highlighted and labelled.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import streamlit as st

from dashboard import charts, song_table, widgets
from pipelines.result import SongAnalysis
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import Decision, all_enabled, decide, explain
from pipelines.verdict import rederive as rederive_scores

VERDICT_BADGE = {"approved": ":green-badge[approved]", "review": ":orange-badge[review]", "flagged": ":red-badge[flagged]"}


def rederive(result: SongAnalysis, taxonomy: Taxonomy, sensitivity: str, enabled: Collection[str] | None) -> Decision:
    """The verdict at another sensitivity or with concerns switched off: no model runs."""
    scores = result.scores["concerns"]
    decision = rederive_scores(scores, result.verdict, result.sensitivity, taxonomy, sensitivity, enabled)
    as_analysed = sensitivity == result.sensitivity and all_enabled(enabled, taxonomy)
    held = decision.verdict != decide(scores, taxonomy, sensitivity, enabled).verdict
    if as_analysed or held:
        # The engine's own explanation: it may say more than the scores (lyrics not in English).
        explanation = result.explanation
    else:
        explanation = explain(decision.verdict, decision.concerns, decision.review_concerns, taxonomy, result.evidence)
    return Decision(decision.verdict, decision.score, decision.concerns, decision.review_concerns, explanation)


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
    names = {label.key: label.name for group in (taxonomy.concerns, taxonomy.themes, taxonomy.emotions, taxonomy.sentiments) for label in group}
    shown_verdict = override[0] if override else decision.verdict
    cols = st.columns(5)
    cols[0].metric("Verdict", song_table.verdict_label(shown_verdict, bool(override)))
    cols[1].metric("Score", f"{decision.score}/100", help="100 means nothing of concern; it falls with the strongest concern, weighted by severity.")
    cols[2].metric("Top theme", names.get(result.themes[0], result.themes[0]) if result.themes else "none")
    cols[3].metric("Emotion", names.get(result.emotion, result.emotion))
    cols[4].metric("Sentiment", names.get(result.sentiment, result.sentiment))
    if override:
        st.markdown(f"{VERDICT_BADGE[override[0]]} set by a person (manual override); the analysis says {VERDICT_BADGE[decision.verdict]}")
        if override[1]:
            st.caption("Override note:")
            st.text(override[1])
    else:
        st.markdown(f"{VERDICT_BADGE[decision.verdict]} at the {sensitivity} sensitivity")
    st.text(decision.explanation)
    if decision.concerns:
        st.caption("Concerns: " + ", ".join(names.get(k, k) for k in decision.concerns))
    for note in result.notes:
        st.info(note, icon=":material/info:")

    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.score_bars(result.scores["concerns"], names, "Concerns", decision.concerns), key=f"{key}-bars-concerns")
        st.plotly_chart(charts.score_bars(result.scores["emotions"], names, "Emotion", [result.emotion]), key=f"{key}-bars-emotions")
    with right:
        st.plotly_chart(charts.score_bars(result.scores["themes"], names, "Themes", result.themes), key=f"{key}-bars-themes")
        st.plotly_chart(charts.score_bars(result.scores["sentiments"], names, "Sentiment", [result.sentiment]), key=f"{key}-bars-sentiments")

    st.subheader("Lyrics")
    table = lyrics_table(lyrics, result, taxonomy, shown_concerns)
    # Tall enough for every line (up to a long song), so the page scrolls, not the table.
    height = min(35 * (len(table) + 1) + 3, 35 * 120)
    widgets.table(table.style.apply(_highlight, axis=1), key=f"{key}-lyrics", width="stretch", height=height)

    references = [
        (label.name, ", ".join(label.scripture))
        for label in [*(taxonomy.label(k) for k in result.themes), *(taxonomy.concern(k) for k in decision.concerns)]
        if label is not None and label.scripture
    ]
    if references:
        st.subheader("Scripture to read alongside")
        widgets.table(pd.DataFrame(references, columns=["theme or concern", "references"]), key=f"{key}-scripture")
    st.caption(f"Analyzer: {result.analyzer.profile} profile, version {result.analyzer.version}")
    return decision
