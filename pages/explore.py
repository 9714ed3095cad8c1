"""Explore: search the whole library (title, artist, lyrics) and filter by verdict,
concern, theme, emotion and playlist, with the playlist view's charts over what is found."""

import streamlit as st

from dashboard import song_list, song_table, widgets
from dashboard.library_queries import matching_song_ids, playlist_names, song_playlists, table_songs
from pipelines.taxonomy import load_taxonomy

st.title("Explore")
taxonomy = load_taxonomy()

search = st.text_input("Search title, artist or lyrics", key="explore-search", placeholder="e.g. a word from the chorus")
with widgets.library_session() as session:
    names = list(playlist_names(session).values())
in_playlists = st.multiselect("Playlist", names, key="explore-filter-playlist", placeholder="Any playlist")
sensitivity, enabled = widgets.sensitivity_controls(taxonomy, key="explore")

with widgets.library_session() as session:
    rows, fields = table_songs(session)
    library_is_empty = not rows
    if search.strip():
        found = matching_song_ids(session, search)
        rows = [r for r in rows if r.song_id in found]
    membership = song_playlists(session)
    if in_playlists:
        wanted = set(in_playlists)
        rows = [r for r in rows if wanted.intersection(membership.get(r.song_id, []))]

if library_is_empty:
    st.info("The library is empty: import songs on the Library page.", icon=":material/library_add:")
    st.page_link("pages/library.py", label="Go to the Library", icon=":material/library_music:")
    st.stop()

frame = song_table.song_frame(rows, fields, taxonomy, sensitivity, enabled, widgets.current_version(), membership)
chosen = song_list.filters(taxonomy, key="explore", search_label=None)
shown = song_table.filter_frame(frame, **chosen)
shown = song_table.sort_frame(shown, "artist")

if shown.empty:
    st.info("No songs match these filters.", icon=":material/search_off:")
    st.stop()
song_list.summary_metrics(shown)
st.caption(f"{len(shown)} songs. Click a column header to sort, a row to open the song.")
song_list.song_table_view(shown, key="explore-songs", show_playlists=True)
song_list.song_opener(shown, key="explore")
song_list.distributions(shown, taxonomy, key="explore")
