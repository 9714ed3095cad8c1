"""Analyse lyrics ad hoc: paste text or upload .txt/.lrc files; nothing is saved."""

import streamlit as st

from dashboard import resources, song_view
from dashboard.widgets import sensitivity_controls
from pipelines.engine import AnalysisFailure, SongInput, analyze_batch
from pipelines.lyrics import LyricsError, decode_lyrics
from pipelines.settings import get_settings

st.title("Analyse lyrics")
st.caption("Paste lyrics or upload .txt / .lrc files. Results are not saved.")

analyzers = resources.analyzers_if_ready()
if analyzers is None:
    state = resources.warm_up()
    song_view.models_loading_notice(state.status, state.error)
    st.stop()

sensitivity, enabled = sensitivity_controls(analyzers.taxonomy, key="adhoc")
limit_mb = get_settings().discern_max_upload_mb
pasted = st.text_area("Lyrics", height=220, key="adhoc-text", placeholder="Paste lyrics here")
uploads = st.file_uploader("Or upload lyrics files", type=["txt", "lrc"], accept_multiple_files=True, key="adhoc-files")

if st.button("Analyse", type="primary", key="adhoc-run"):
    texts: list[tuple[str, str]] = []
    if pasted.strip():
        texts.append(("Pasted lyrics", pasted))
    for upload in uploads or []:
        if upload.size > limit_mb * 2**20:
            st.error(f"{upload.name}: {upload.size / 2**20:.1f} MB is over the {limit_mb} MB upload limit.")
            continue
        try:
            texts.append((upload.name, decode_lyrics(upload.getvalue())))
        except LyricsError as exc:
            st.error(f"{upload.name}: {exc}")
    if not texts:
        st.warning("Paste some lyrics or upload a file first.")
    else:
        with st.spinner("Analysing…"):
            outcomes = analyze_batch([SongInput(name, text) for name, text in texts], analyzers, sensitivity)
        st.session_state["adhoc-results"] = list(zip(texts, outcomes, strict=True))

results = st.session_state.get("adhoc-results", [])
if results:
    tabs = st.tabs([name for (name, _), _ in results])
    for index, (tab, ((name, text), outcome)) in enumerate(zip(tabs, results, strict=True)):
        with tab:
            if isinstance(outcome, AnalysisFailure):
                st.error(f"{name}: {outcome.error}")
            else:
                song_view.render(outcome, text, analyzers.taxonomy, sensitivity, enabled, key=f"adhoc-{index}")
