"""Analyse lyrics ad hoc: paste text or upload .txt/.lrc files and see the song view.
Nothing is saved unless you save a result into a playlist."""

import streamlit as st

from dashboard import resources, song_view, widgets
from dashboard.runs import analyse_now
from pipelines.engine import AnalysisFailure, SongInput, analyze_batch
from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.lyrics import LyricsError, decode_lyrics
from pipelines.settings import get_settings

st.title("Analyse lyrics")
st.caption("Paste lyrics or upload .txt / .lrc files. Results are not saved unless you save them into a playlist.")

widgets.models_notice()
analyzers = resources.analyzers_if_ready()
if analyzers is None:
    st.stop()

sensitivity, enabled = widgets.sensitivity_controls(analyzers.taxonomy, key="adhoc")
limit_mb = get_settings().discern_max_upload_mb
pasted = st.text_area("Lyrics", height=220, key="adhoc-text", placeholder="Paste lyrics here")
uploads = st.file_uploader("Or upload lyrics files", type=["txt", "lrc"], accept_multiple_files=True, key="adhoc-files")

if st.button("Analyse", type="primary", key="adhoc-run"):
    texts: list[tuple[str, str]] = []
    if pasted.strip():
        texts.append(("Pasted lyrics", pasted))
    for upload in uploads or []:
        if upload.size > limit_mb * 2**20:
            st.error(f"{widgets.escape_markdown(upload.name)}: {upload.size / 2**20:.1f} MB is over the {limit_mb} MB upload limit.")
            continue
        try:
            texts.append((upload.name, decode_lyrics(upload.getvalue())))
        except LyricsError as exc:
            st.error(f"{widgets.escape_markdown(upload.name)}: {widgets.escape_markdown(str(exc))}")
    if not texts:
        st.warning("Paste some lyrics or upload a file first.")
    else:
        with st.spinner("Analysing…"):
            outcomes = analyze_batch([SongInput(name, text) for name, text in texts], analyzers, sensitivity)
        st.session_state["adhoc-results"] = list(zip(texts, outcomes, strict=True))
        st.session_state.pop("adhoc-saved", None)


def _title_from(name: str) -> tuple[str, str]:
    """('Title', 'Artist') from an upload named 'Artist - Title.txt'."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        return title.strip(), artist.strip()
    return stem.strip(), ""


def save_form(index: int, name: str, text: str) -> None:
    saved = st.session_state.get("adhoc-saved", {}).get(index)
    if saved:
        st.success("Saved into the library.", icon=":material/check_circle:")
        st.page_link("pages/song.py", label="Open the saved song", icon=":material/music_note:",
                     query_params={"song": str(saved)})
        return
    with st.expander("Save into a playlist", icon=":material/playlist_add:"):
        default_title, default_artist = _title_from(name) if name != "Pasted lyrics" else ("", "")
        with st.form(f"adhoc-save-form-{index}"):
            title = st.text_input("Title", value=default_title, key=f"adhoc-save-title-{index}")
            artist = st.text_input("Artist", value=default_artist, key=f"adhoc-save-artist-{index}")
            playlist = st.text_input("Playlist", value="Analysed lyrics", key=f"adhoc-save-playlist-{index}",
                                     help="An existing playlist's name adds the song to it; a new name creates one.")
            submitted = st.form_submit_button("Save", key=f"adhoc-save-{index}", icon=":material/save:")
        if submitted:
            if not title.strip() or not playlist.strip():
                st.error("A title and a playlist name are needed to save.")
                return
            database = widgets.database_or_stop()
            report = ImportReport(source="Analyse lyrics page", format="pasted-lyrics")
            record = SongRecord(row=1, title=title.strip(), artist=artist.strip(), lyrics=text,
                                lyrics_source="pasted on the Analyse lyrics page", where="pasted lyrics")
            with widgets.library_session() as session:
                saved_rows = save_records(session, [record], report, playlist=playlist.strip(), replace_playlist=False)
            if not saved_rows:
                st.error("The song could not be saved: "
                         + widgets.escape_markdown("; ".join(str(p) for p in report.problems)))
                return
            song_id = saved_rows[0][1]
            # The stored lyrics are normalised (line ends, edges), so analyse what was stored:
            # the evidence's line numbers then match the song page's lyrics.
            analyse_now(database.sessions, analyzers, [song_id], title.strip(), widgets.default_sensitivity())
            st.session_state.setdefault("adhoc-saved", {})[index] = song_id
            st.rerun()


results = st.session_state.get("adhoc-results", [])
if results:
    tabs = st.tabs([f"Song {i}" for i in range(1, len(results) + 1)])
    for index, (tab, ((name, text), outcome)) in enumerate(zip(tabs, results, strict=True)):
        with tab:
            st.text(name)
            if isinstance(outcome, AnalysisFailure):
                st.error(widgets.escape_markdown(outcome.error))
            else:
                song_view.render(outcome, text, analyzers.taxonomy, sensitivity, enabled, key=f"adhoc-{index}")
                save_form(index, name, text)
