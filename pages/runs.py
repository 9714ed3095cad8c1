"""Analysis runs: start analysing the picked playlists, watch live progress (songs done of
the total, rate, ETA), cancel, and see which songs failed. Runs are durable jobs worked by
the server's background worker: they go on when this tab closes."""

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import resources, widgets
from dashboard.library_queries import has_open_jobs, job_problems, playlist_names
from dashboard.runs import progress_figures, start_runs
from pipelines.jobs import cancel_job, list_jobs
from pipelines.verdict import SENSITIVITIES

REFRESH = "2s"

st.title("Analysis runs")
widgets.models_notice()
try:
    worker = resources.job_runner()  # started at server start; here in case it was not
except Exception:
    worker = None
    widgets.database_or_stop()

for message in st.session_state.pop("runs-flash", []):
    st.success(message, icon=":material/play_circle:")

with widgets.library_session() as session:
    names = playlist_names(session)

analyzers = resources.analyzers_if_ready()
if not names:
    st.info("The library has no playlists yet: import one on the Library page, then analyse it here.",
            icon=":material/library_add:")
else:
    with st.container(border=True):
        picked = widgets.playlist_picker(names, key="runs-playlists", label="Playlists to analyse")
        sensitivity = st.segmented_control(
            "Store verdicts at", SENSITIVITIES, default=widgets.default_sensitivity(), key="runs-sensitivity",
            help="Pages re-derive verdicts at any sensitivity from the stored scores; this is the one stored.",
        ) or widgets.default_sensitivity()
        if st.button("Start analysis", key="runs-start", type="primary", disabled=not picked or analyzers is None,
                     icon=":material/play_arrow:"):
            with widgets.library_session() as session:
                started = start_runs(session, picked, analyzers.profile, sensitivity)
            if worker is not None:
                worker.wake()
            st.session_state["runs-flash"] = [
                f"{'Resumed' if run.resumed else 'Started'} job {run.job_id} ({run.songs} songs)" for run in started
            ]
            st.rerun()
        st.caption("Songs whose current lyrics were already analysed by this analyzer version come from the "
                   "results cache at once; the rate counts only songs the models analysed.")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def job_card(progress, problems) -> None:
    figures = progress_figures(progress)
    with st.container(border=True, key=f"runs-job-{progress.job_id}"):
        head, button = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"**Job {progress.job_id}** · {widgets.escape_markdown(progress.title)} · `{figures.status}`")
        if figures.is_open and button.button("Cancel", key=f"runs-cancel-{progress.job_id}", icon=":material/stop:"):
            with widgets.library_session() as session:
                cancelled = cancel_job(session, progress.job_id)
            st.toast(f"Job {progress.job_id} cancelled" if cancelled else f"Job {progress.job_id} had already finished")
            st.rerun()
        st.progress(figures.fraction, text=f"{figures.done} songs")
        columns = st.columns(5)
        columns[0].metric("Songs done", figures.done)
        columns[1].metric("Rate", figures.rate, help="Songs analysed per second by the models in this run (cache hits excluded)")
        columns[2].metric("ETA", figures.eta)
        columns[3].metric("Failed", figures.failed)
        columns[4].metric("From cache", figures.cached)
        if figures.is_open and analyzers is not None and progress.profile != analyzers.profile:
            st.warning(f"This job is for the {progress.profile} profile; this server runs {analyzers.profile}, so "
                       "another server (or `python -m pipelines jobs run`) has to work it.")
        if problems:
            with st.expander(f"Songs that failed or were skipped ({len(problems)})", icon=":material/error:"):
                widgets.table(
                    pd.DataFrame([{"title": p.title, "artist": p.artist, "status": p.status, "reason": p.error}
                                  for p in problems]),
                    key=f"runs-problems-{progress.job_id}", width="stretch",
                )
        st.caption(f"Created {_when(progress.created_at)}" + (f", finished {_when(progress.finished_at)}" if progress.finished_at else ""))


def live_jobs() -> None:
    with widgets.library_session() as session:
        jobs = list_jobs(session, limit=10)
        problems = {j.job_id: job_problems(session, j.job_id) for j in jobs if j.failed or j.counts.get("skipped")}
    open_jobs = [j for j in jobs if j.status in ("queued", "running")]
    if worker is not None:
        status = worker.status
        if status.state in ("models failed", "could not start"):
            st.error("The background worker cannot analyse: queued runs wait until the server is fixed and "
                     "restarted. The reason:", icon=":material/error:")
            st.text(status.last_error or "unknown")
        else:
            doing = f"working on job {status.job_id}" if status.job_id else status.state
            st.caption(f"Background worker: {doing}.")
    if not jobs:
        st.info("No analysis runs yet.", icon=":material/history:")
    for progress in jobs:
        job_card(progress, problems.get(progress.job_id, []))
    in_full_run = st.session_state.pop("runs-full-run", False)
    if st.session_state.get("runs-live") and not open_jobs and not in_full_run:
        # The last open job finished during a timed refresh: rerun the whole page, so this
        # section stops refreshing (and the start button sees the new state).
        st.session_state["runs-live"] = False
        st.rerun()


st.subheader("Runs")
with widgets.library_session() as session:
    live = has_open_jobs(session)
st.session_state["runs-live"] = live
st.session_state["runs-full-run"] = True
st.fragment(run_every=REFRESH if live else None)(live_jobs)()
