"""Library: the playlists with their counts, share analysed and verdict mix; pick playlists
to open or analyse; import files (and online sources, when configured)."""

import pandas as pd
import streamlit as st

from dashboard import charts, resources, widgets
from dashboard.library_queries import library_counts, playlist_overviews
from dashboard.runs import start_runs
from pipelines.connectors.online import (
    available_online_sources,
    run_lyrics_fetch,
    run_spotify_import,
)
from pipelines.importers import import_upload
from pipelines.settings import get_settings

IMPORT_TYPES = ["csv", "tsv", "json", "jsonl", "ndjson", "zip", "txt", "lrc"]

st.title("Library")
widgets.models_notice()

with widgets.library_session() as session:
    summaries = playlist_overviews(session)
    playlist_count, song_count = library_counts(session)

left, middle, right = st.columns(3)
left.metric("Playlists", playlist_count)
middle.metric("Songs", song_count)
right.metric("Songs in playlists analysed", f"{sum(p.analysed for p in summaries)} / {sum(p.songs for p in summaries)}")

if not summaries:
    st.info(
        "The library is empty. Import a playlist export (CSV), songs as JSON Lines, or a zip of lyrics files below.",
        icon=":material/library_add:",
    )
else:
    table = pd.DataFrame(
        [
            {
                "playlist": p.name,
                "songs": p.songs,
                "with lyrics": p.with_lyrics,
                "analysed": p.analysed / p.songs if p.songs else 0.0,
                "approved": p.verdicts.get("approved", 0),
                "review": p.verdicts.get("review", 0),
                "flagged": p.verdicts.get("flagged", 0),
                "source": p.source,
                "updated": p.updated_at,
            }
            for p in summaries
        ]
    )
    widgets.table(
        table,
        key="library-playlists",
        width="stretch",
        column_config={
            "analysed": st.column_config.ProgressColumn("analysed", min_value=0.0, max_value=1.0, format="percent",
                                                        help="Share of the playlist's songs with an analysis of their current lyrics"),
            "updated": st.column_config.DatetimeColumn("updated", format="YYYY-MM-DD HH:mm"),
        },
    )
    st.plotly_chart(
        charts.playlist_verdicts(
            [p.name for p in summaries], [p.verdicts for p in summaries],
            [p.songs - sum(p.verdicts.values()) for p in summaries],
        ),
        key="library-verdicts-chart",
    )

    st.subheader("Pick playlists")
    names = {p.id: p.name for p in summaries}
    picked = widgets.playlist_picker(names, key="library-pick")
    analyzers = resources.analyzers_if_ready()
    a, b = st.columns(2)
    if a.button("Open in the playlist view", key="library-open", disabled=not picked, icon=":material/queue_music:"):
        st.switch_page("pages/playlist.py")
    analyse = b.button(
        "Analyse the picked playlists", key="library-analyse", type="primary", disabled=not picked or analyzers is None,
        icon=":material/play_arrow:",
        help=None if analyzers is not None else "Available once the models are loaded",
    )
    if analyse:
        with widgets.library_session() as session:
            started = start_runs(session, picked, analyzers.profile, widgets.default_sensitivity())
        resources.job_runner().wake()
        st.session_state["runs-flash"] = [
            f"{'Resumed' if run.resumed else 'Started'} job {run.job_id}: {run.songs} songs" for run in started
        ]
        st.switch_page("pages/runs.py")

st.subheader("Import")
settings = get_settings()
st.caption(
    "CSV playlist exports (e.g. Exportify's Spotify columns, or title/artist/lyrics columns), JSON or JSON Lines "
    f"songs, a zip of lyrics files named 'Artist - Title.txt' or '.lrc', or single lyrics files; up to "
    f"{settings.discern_max_upload_mb} MB each. Importing the same file again changes nothing."
)
uploads = st.file_uploader("Files to import", type=IMPORT_TYPES, accept_multiple_files=True, key="library-import-upload")
target = st.text_input(
    "Playlist name (optional)", key="library-import-playlist",
    help="Songs go into this playlist; empty: the name from the file (lyrics files are only added to the library).",
)
if st.button("Import", key="library-import-run", disabled=not uploads, icon=":material/upload:"):
    reports = []
    for upload in uploads:
        try:
            with widgets.library_session() as session:
                report = import_upload(session, upload.getvalue(), upload.name, target.strip() or None)
        except Exception as exc:  # an importer bug must not take the page down
            reports.append({"source": upload.name, "summary": f"import failed: {type(exc).__name__}: {exc}", "problems": []})
            continue
        reports.append({
            "source": upload.name,
            "summary": report.summary(),
            "problems": [{"row": p.row, "where": p.where, "problem": p.message, "song kept": p.kept} for p in report.problems],
        })
    st.session_state["library-import-reports"] = reports
    st.rerun()

for index, report in enumerate(st.session_state.get("library-import-reports", [])):
    with st.container(border=True):
        st.text(report["summary"])
        if report["problems"]:
            st.caption(f"{len(report['problems'])} rows with problems (the other rows were imported):")
            widgets.table(pd.DataFrame(report["problems"]), key=f"library-import-problems-{index}", width="stretch")

online = available_online_sources(settings)
lyrics_sources = [s for s in online if s not in {"spotify", "spotify-write"}]
if "spotify" in online or lyrics_sources:
    st.subheader("Online sources")
    database = widgets.database_or_stop()
if "spotify" in online:
    url = st.text_input("Spotify playlist link", key="library-spotify-url", placeholder="https://open.spotify.com/playlist/…")
    fetch = st.checkbox("Also fetch missing lyrics", value=bool(lyrics_sources), key="library-spotify-lyrics",
                        disabled=not lyrics_sources)
    if st.button("Import from Spotify", key="library-spotify-import", disabled=not url.strip(), icon=":material/cloud_download:"):
        bar = st.progress(0.0, text="Importing…")
        result = run_spotify_import(
            database.sessions, url.strip(), lambda done, total, _what: bar.progress(min(1.0, done / total) if total else 0.0),
            fetch_lyrics=fetch and bool(lyrics_sources),
        )
        # Shown after a rerun, so the counts, the table and the picker above include the playlist.
        st.session_state["library-spotify-result"] = {"ok": result.ok, "message": result.message, "details": result.details}
        st.rerun()
    if shown := st.session_state.get("library-spotify-result"):
        (st.success if shown["ok"] else st.error)("Spotify import finished." if shown["ok"] else "Spotify import had problems.")
        st.text(shown["message"])
        if shown["details"]:
            widgets.table(pd.DataFrame({"problem": shown["details"]}), key="library-spotify-problems")
if lyrics_sources and summaries:
    st.caption("Lyrics sources configured: " + ", ".join(lyrics_sources))
    if st.button("Fetch missing lyrics for the picked playlists", key="library-fetch-lyrics",
                 disabled=not widgets.picked_playlists(), icon=":material/lyrics:"):
        for playlist_id in widgets.picked_playlists():
            bar = st.progress(0.0, text="Fetching lyrics…")
            result = run_lyrics_fetch(
                database.sessions, playlist_id,
                lambda done, total, _what, bar=bar: bar.progress(min(1.0, done / total) if total else 0.0),
            )
            st.text(result.message)
            if result.details:
                widgets.table(pd.DataFrame({"problem": result.details}), key=f"library-fetch-problems-{playlist_id}")
