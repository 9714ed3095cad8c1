"""Playlist: the songs of the picked playlists with verdict, score, top theme, emotion and
concerns; the theme, emotion, sentiment and concern distributions and the verdict mix;
sensitivity controls that re-derive verdicts at once; the exports."""

import streamlit as st

from dashboard import resources, song_list, song_table, widgets
from dashboard.library_queries import playlist_names, song_playlists, table_songs
from dashboard.runs import start_runs
from pipelines import exports
from pipelines.taxonomy import load_taxonomy
from pipelines.verdict import all_enabled

st.title("Playlist")
taxonomy = load_taxonomy()

with widgets.library_session() as session:
    names = playlist_names(session)
if not names:
    st.info("The library has no playlists yet: import one on the Library page.", icon=":material/library_add:")
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_music:")
    st.stop()

wanted = st.query_params.get("playlist")
if wanted and wanted.isdigit() and int(wanted) in names and "playlist-pick" not in st.session_state:
    widgets.set_picked_playlists([int(wanted)])
picked = widgets.playlist_picker(names, key="playlist-pick")
if not picked:
    st.info("Pick one or more playlists to see their songs.", icon=":material/queue_music:")
    st.stop()

sensitivity, enabled = widgets.sensitivity_controls(taxonomy, key="playlist")
version = widgets.current_version()
with widgets.library_session() as session:
    rows, fields = table_songs(session, picked)  # a song in two picked playlists is listed once
    membership = song_playlists(session) if len(picked) > 1 else None

frame = song_table.song_frame(rows, fields, taxonomy, sensitivity, enabled, version, membership)
if frame.empty:
    st.info("These playlists have no songs yet.", icon=":material/music_off:")
    st.stop()

song_list.summary_metrics(frame)
outdated = int((frame["status"] == song_table.STATUS_OUTDATED).sum())
missing = int((frame["status"] == song_table.STATUS_NOT_ANALYSED).sum())
no_lyrics = int((frame["status"] == song_table.STATUS_NO_LYRICS).sum())
if missing or outdated or no_lyrics:
    parts = []
    if missing:
        parts.append(f"{missing} songs have no analysis yet")
    if outdated:
        parts.append(f"{outdated} were analysed by an older analyzer version")
    if no_lyrics:
        parts.append(f"{no_lyrics} have no lyrics (import or fetch them on the Library page)")
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.warning("; ".join(parts) + ".", icon=":material/pending:")
    analyzers = resources.analyzers_if_ready()
    if right.button("Analyse", key="playlist-analyse", disabled=analyzers is None or not (missing or outdated),
                    icon=":material/play_arrow:"):
        with widgets.library_session() as session:
            started = start_runs(session, picked, analyzers.profile, widgets.default_sensitivity())
        resources.job_runner().wake()
        st.session_state["runs-flash"] = [f"Started job {run.job_id} ({run.songs} songs)" for run in started]
        st.switch_page("pages/runs.py")

table_tab, charts_tab, export_tab = st.tabs(["Songs", "Charts", "Export"])
with table_tab:
    chosen = song_list.filters(taxonomy, key="playlist")
    order = st.selectbox("Sort by", list(song_table.SORTS), key="playlist-sort")
    shown = song_table.sort_frame(song_table.filter_frame(frame, **chosen), order)
    st.caption(f"{len(shown)} of {len(frame)} songs. Click a column header to sort, a row to open the song.")
    song_list.song_table_view(shown, key="playlist-songs", show_playlists=membership is not None)
    song_list.song_opener(shown, key="playlist")
with charts_tab:
    song_list.distributions(shown, taxonomy, key="playlist")
with export_tab:
    which = picked[0]
    if len(picked) > 1:
        which = st.selectbox("Playlist to export", picked, format_func=lambda i: names[i], key="playlist-export-which")
    include_review = st.checkbox("Clean playlist also keeps songs to review", key="playlist-export-include-review")
    st.caption(
        f"Verdicts at the {sensitivity} sensitivity with the concerns switched on above, as in the table; manual "
        "overrides win and are marked (the 'Analysed verdict' and 'Override note' columns, the 'override' field in JSON)."
    )
    sessions = widgets.database_or_stop().sessions
    base = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in names[which]).strip("_") or "playlist"

    counted = None if all_enabled(enabled, taxonomy) else sorted(enabled)

    def export(kind: str, **options):
        function, _ = exports.EXPORTS[kind]

        def build() -> str:  # runs when the button is pressed, on its own thread and session
            with sessions.begin() as session:
                return function(session, which, sensitivity=sensitivity, enabled=counted, **options)

        return build

    columns = st.columns(4)
    columns[0].download_button("Results (CSV)", export("results-csv"), f"{base}-results.csv", "text/csv",
                               key="playlist-export-results-csv", icon=":material/table:")
    columns[1].download_button("Results (JSON)", export("results-json"), f"{base}-results.json", "application/json",
                               key="playlist-export-results-json", icon=":material/data_object:")
    columns[2].download_button("Clean playlist (CSV)", export("clean-csv", include_review=include_review),
                               f"{base}-clean.csv", "text/csv", key="playlist-export-clean-csv", icon=":material/playlist_add_check:")
    columns[3].download_button("Clean playlist (M3U)", export("clean-m3u", include_review=include_review),
                               f"{base}-clean.m3u", "audio/x-mpegurl", key="playlist-export-clean-m3u", icon=":material/playlist_play:")
