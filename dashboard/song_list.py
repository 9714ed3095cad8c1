"""The song table and its charts, shared by the Playlist and Explore pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, song_table
from dashboard.widgets import SONG_ID
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import VERDICTS

VERDICT_FILTERS = (*VERDICTS, "unanalysed")


def label_names(taxonomy: Taxonomy) -> dict[str, str]:
    return {label.key: label.name for group in (taxonomy.concerns, taxonomy.themes, taxonomy.emotions,
                                                taxonomy.sentiments) for label in group}


def summary_metrics(frame: pd.DataFrame) -> None:
    counts = song_table.verdict_counts(frame)
    columns = st.columns(5)
    columns[0].metric("Songs", len(frame))
    analysed = int(frame["status"].isin([song_table.STATUS_ANALYSED, song_table.STATUS_OUTDATED]).sum())
    columns[1].metric("Analysed", f"{analysed} ({analysed / len(frame):.0%})" if len(frame) else "0")
    for column, verdict in zip(columns[2:], VERDICTS, strict=True):
        overridden = counts["override"][verdict]
        column.metric(verdict.capitalize(), counts["analysis"][verdict] + overridden,
                      help=f"{overridden} of them by a manual override" if overridden else None)


def song_table_view(frame: pd.DataFrame, key: str, show_playlists: bool) -> None:
    """The sortable table (click a column header to sort); selecting a row opens the song."""
    columns = [c for c in song_table.SHOWN if show_playlists or c != "playlists"]
    event = st.dataframe(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        column_order=columns,
        column_config={
            "#": st.column_config.NumberColumn("#", width="small"),
            "score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%d",
                                                     help="100: nothing of concern"),
            "verdict": st.column_config.TextColumn("verdict", help="'(override)': set by a person, kept across re-analysis"),
        },
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if rows:
        song_id = int(frame.iloc[rows[0]]["song_id"])
        st.session_state[SONG_ID] = song_id
        st.switch_page("pages/song.py", query_params={"song": str(song_id)})


def song_opener(frame: pd.DataFrame, key: str) -> None:
    """Open a song from the table by name (the keyboard way; a row click does the same)."""
    if frame.empty:
        return
    labels = {
        int(i): f"{title} — {artist}" if artist else title
        for i, title, artist in zip(frame["song_id"], frame["title"], frame["artist"], strict=True)
    }
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    choice = left.selectbox(
        "Open a song", list(labels), index=None, key=f"{key}-open-pick", placeholder="Choose a song to see its detail",
        format_func=labels.get,
    )
    if right.button("Open song", key=f"{key}-open", disabled=choice is None, icon=":material/open_in_new:"):
        st.session_state[SONG_ID] = int(choice)
        st.switch_page("pages/song.py", query_params={"song": str(int(choice))})


def distributions(frame: pd.DataFrame, taxonomy: Taxonomy, key: str) -> None:
    """Verdict mix and the theme, emotion, sentiment and concern distributions of ``frame``."""
    analysed = frame[frame["verdict_key"].notna() & frame["emotion_key"].notna()]
    names = label_names(taxonomy)
    st.caption(f"Over the {len(frame)} songs shown ({len(analysed)} with an analysis). Verdicts at the chosen "
               "sensitivity; manual overrides are the hatched part of a bar.")
    top_left, top_right = st.columns(2)
    top_left.plotly_chart(charts.verdict_mix(song_table.verdict_counts(frame)), key=f"{key}-chart-verdicts")
    top_right.plotly_chart(
        charts.label_counts(analysed["concern_keys"], taxonomy.concern_keys, names, "Concerns (safety)"),
        key=f"{key}-chart-concerns",
    )
    middle_left, middle_right = st.columns(2)
    middle_left.plotly_chart(charts.label_counts(analysed["theme_keys"], taxonomy.theme_keys, names, "Themes"),
                             key=f"{key}-chart-themes")
    middle_right.plotly_chart(charts.label_counts(analysed["emotion_key"], taxonomy.emotion_keys, names, "Emotion"),
                              key=f"{key}-chart-emotions")
    st.plotly_chart(charts.label_counts(analysed["sentiment_key"], taxonomy.sentiment_keys, names, "Sentiment"),
                    key=f"{key}-chart-sentiments")


def filters(taxonomy: Taxonomy, key: str, search_label: str | None = "Search title or artist") -> dict:
    """The filter widgets above a song table; returns keyword arguments for ``filter_frame``."""
    names = label_names(taxonomy)
    text = st.text_input(search_label, key=f"{key}-search", placeholder="Type to filter") if search_label else ""
    a, b, c, d = st.columns(4)
    verdicts = a.multiselect("Verdict", VERDICT_FILTERS, key=f"{key}-filter-verdict", placeholder="Any")
    concerns = b.multiselect("Concern", taxonomy.concern_keys, key=f"{key}-filter-concern", placeholder="Any",
                             format_func=lambda k: names.get(k, k))
    themes = c.multiselect("Theme", taxonomy.theme_keys, key=f"{key}-filter-theme", placeholder="Any",
                           format_func=lambda k: names.get(k, k))
    emotions = d.multiselect("Emotion", taxonomy.emotion_keys, key=f"{key}-filter-emotion", placeholder="Any",
                             format_func=lambda k: names.get(k, k))
    return {"text": text, "verdicts": verdicts, "concerns": concerns, "themes": themes, "emotions": emotions}
