"""Song: the lyrics with the lines that triggered each concern, score bars, explanation,
scripture references, re-analysis, and a person's verdict override with a note."""

import pandas as pd
import streamlit as st

from dashboard import resources, song_view, widgets
from dashboard.library_queries import find_songs
from dashboard.runs import analyse_now
from pipelines.store.library_view import song_detail
from pipelines.store.repository import clear_override, set_override, song_history
from pipelines.taxonomy import load_taxonomy
from pipelines.verdict import VERDICTS

st.title("Song")
taxonomy = load_taxonomy()

wanted = st.query_params.get("song")
if wanted and wanted.isdigit():
    st.session_state[widgets.SONG_ID] = int(wanted)
song_id = st.session_state.get(widgets.SONG_ID)


def _pick() -> None:
    choice = st.session_state.get("song-pick")
    if choice is not None:
        st.session_state[widgets.SONG_ID] = int(choice)
        st.query_params["song"] = str(int(choice))


with st.expander("Find a song", expanded=song_id is None, icon=":material/search:"):
    search = st.text_input("Title or artist", key="song-search")
    with widgets.library_session() as session:
        matches = find_songs(session, search)
    if matches:
        labels = {i: f"{title} — {artist}" if artist else title for i, title, artist in matches}
        st.selectbox("Song", list(labels), index=None, key="song-pick", on_change=_pick, placeholder="Choose a song",
                     format_func=labels.get)
    else:
        st.caption("No songs match." if search else "The library has no songs yet: import some on the Library page.")

for message in st.session_state.pop("song-flash", []):
    st.success(message, icon=":material/check_circle:")

if song_id is None:
    st.info("Choose a song above, or open one from a playlist or the Explore page.", icon=":material/music_note:")
    st.stop()

with widgets.library_session() as session:
    detail = song_detail(session, song_id)
    history = song_history(session, song_id) if detail is not None else []
if detail is None:
    st.error(f"There is no song with id {int(song_id)} in the library (it may have been deleted).")
    st.stop()

row = detail.row
st.text(f"{row.title}\n{row.artist}" + (f" · {row.album}" if row.album else ""))
facts = []
if detail.playlists:
    facts.append("Playlists: " + ", ".join(detail.playlists))
if detail.lyrics_source:
    facts.append(f"Lyrics from: {detail.lyrics_source}")
if facts:
    st.text("\n".join(facts))

sensitivity, enabled = widgets.sensitivity_controls(taxonomy, key="song")
override = (row.override_verdict, row.override_note or "") if row.override_verdict else None
analysis = row.analysis
version = widgets.current_version()
if detail.lyrics is None:
    st.info("No lyrics are stored for this song, so there is nothing to analyse yet. Import a lyrics file for it "
            "or fetch lyrics on the Library page.", icon=":material/lyrics:")
elif analysis is None:
    st.info("This song's current lyrics have not been analysed yet.", icon=":material/pending:")
else:
    if version and row.analyzer_version != version:
        st.warning("This result is from an older analyzer version; re-analyse to update it.", icon=":material/update:")
    song_view.render(analysis, detail.lyrics, taxonomy, sensitivity, enabled, override=override, key="song")
if analysis is None and override:
    st.metric("Verdict", f"{override[0]} (override)")
    if override[1]:
        st.text(override[1])

widgets.models_notice()
analyzers = resources.analyzers_if_ready()
label = "Re-analyse" if analysis is not None else "Analyse now"
if st.button(label, key="song-reanalyse", disabled=analyzers is None or detail.lyrics is None, icon=":material/refresh:"):
    with st.spinner("Analysing…"):
        try:
            outcome = analyse_now(widgets.database_or_stop().sessions, analyzers, [song_id], row.title,
                                  widgets.default_sensitivity())
        except Exception as exc:
            st.error(f"The analysis could not run ({type(exc).__name__}). Try again in a moment.")
            st.stop()
    if outcome.failed:
        st.session_state["song-flash"] = ["The analysis failed for this song: see the Analysis runs page for why."]
    elif outcome.cached:
        st.session_state["song-flash"] = ["Already up to date: these lyrics were analysed by this analyzer version "
                                          "(the models would give the same result)."]
    else:
        st.session_state["song-flash"] = ["Analysed again with the current models."]
    st.rerun()

st.subheader("Your verdict")
if st.session_state.get("song-override-for") != song_id:  # another song: start the form from its own values
    for stale in ("song-override-verdict", "song-override-note"):
        st.session_state.pop(stale, None)
    st.session_state["song-override-for"] = song_id
st.caption("A manual verdict wins over the analysis everywhere (tables, charts, exports), marked as an override, "
           "and is kept when the song is analysed again.")
with st.form("song-override"):
    current = override[0] if override else (row.analysed_verdict or "approved")
    verdict = st.selectbox("Verdict", VERDICTS, index=VERDICTS.index(current), key="song-override-verdict")
    note = st.text_area("Note", value=override[1] if override else "", key="song-override-note",
                        placeholder="Why: e.g. 'checked the whole song; the line is a quotation'", max_chars=2000)
    saved = st.form_submit_button("Save override", key="song-override-save", icon=":material/gavel:")
if saved:
    with widgets.library_session() as session:
        set_override(session, song_id, verdict, note.strip())
    st.session_state["song-flash"] = [f"Override saved: {verdict}."]
    st.rerun()
if override and st.button("Clear override", key="song-override-clear", icon=":material/undo:"):
    with widgets.library_session() as session:
        clear_override(session, song_id)
    st.session_state["song-flash"] = ["Override cleared: the analysis decides again."]
    st.rerun()

if history:
    st.subheader("Analysis history")
    widgets.table(
        pd.DataFrame([
            {"analysed at": a.created_at, "verdict": a.verdict, "score": a.score, "profile": a.profile,
             "analyzer version": a.analyzer_version, "current lyrics": a.lyrics_hash == row.lyrics_hash}
            for a in history
        ]),
        key="song-history", width="stretch",
    )
