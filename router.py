"""The dashboard's page router: page config and navigation over ``pages/``, nothing else."""

import streamlit as st

st.set_page_config(page_title="Discern", page_icon=":material/library_music:", layout="wide")

navigation = st.navigation(
    {
        "Library": [
            st.Page("pages/library.py", title="Library", icon=":material/library_music:", default=True),
            st.Page("pages/explore.py", title="Explore", icon=":material/search:"),
            st.Page("pages/playlist.py", title="Playlist", icon=":material/queue_music:"),
            st.Page("pages/song.py", title="Song", icon=":material/music_note:"),
            st.Page("pages/runs.py", title="Analysis runs", icon=":material/play_circle:"),
        ],
        "Tools": [
            st.Page("pages/analyse_lyrics.py", title="Analyse lyrics", icon=":material/edit_note:"),
            st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
        ],
    }
)
navigation.run()
