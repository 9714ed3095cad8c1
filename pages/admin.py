"""Admin: live memory of this server process and its container, models, threads, sessions."""

import sys
import time

import pandas as pd
import streamlit as st
from sqlalchemy.engine import make_url

from dashboard import charts, resources, widgets
from dashboard.auth import configured_password, password_matches
from dashboard.memory import snapshot
from dashboard.runs import progress_figures
from pipelines.jobs import list_jobs
from pipelines.settings import get_settings

st.title("Admin")
settings = get_settings()
expected = configured_password(st.secrets, settings)
if not expected:
    st.error(
        "The admin page is disabled: no admin password is configured. Set DISCERN_ADMIN_PASSWORD "
        "(or DISCERN_ADMIN_PASSWORD_FILE, or admin_password in .streamlit/secrets.toml) and restart."
    )
    st.stop()

if not st.session_state.get("admin-authenticated"):
    with st.form("admin-login"):
        given = st.text_input("Admin password", type="password", key="admin-password")
        submitted = st.form_submit_button("Sign in", key="admin-sign-in")
    if submitted:
        address = st.context.ip_address
        throttle, client = resources.sign_in_throttle(), address if isinstance(address, str) and address else "unknown"
        wait = throttle.wait_seconds(client)
        if wait > 0:  # the password is not even compared while the client is locked out
            st.error(f"Too many wrong passwords. Try again in {max(1, round(wait / 60))} min.", icon=":material/lock_clock:")
        elif password_matches(given, expected):
            throttle.succeeded(client)
            st.session_state["admin-authenticated"] = True
            st.rerun()
        else:
            throttle.failed(client)
            st.error("Wrong password.", icon=":material/lock:")
    st.stop()

sampler = resources.memory_sampler()
MB = 2**20


@st.fragment(run_every="2s")
def live_memory() -> None:
    now = snapshot()
    container = now.container
    cols = st.columns(4)
    cols[0].metric("Process RSS", f"{now.rss_bytes / MB:,.0f} MB")
    cols[1].metric("Process USS", f"{now.uss_bytes / MB:,.0f} MB" if now.uss_bytes is not None else "n/a")
    limit = f" of {container.limit_bytes / MB:,.0f} MB" if container.limit_bytes else ""
    cols[2].metric(f"Memory used ({container.source})", f"{container.used_bytes / MB:,.0f} MB{limit}")
    sessions = resources.active_session_count()
    cols[3].metric("Active sessions", "n/a" if sessions is None else sessions)
    st.caption(
        "Container figures come from "
        + {"cgroup v2": "cgroup v2 (memory.current / memory.max)", "cgroup v1": "cgroup v1 (memory.usage_in_bytes / limit_in_bytes)",
           "host": "the host's totals: no container memory limit is set"}[container.source]
    )
    samples = sampler.recent()
    if samples:
        ago = [s.at - time.time() for s in samples]
        st.plotly_chart(
            charts.memory_timeline(
                ago, [s.rss_bytes / MB for s in samples], [s.container.used_bytes / MB for s in samples],
                container.limit_bytes / MB if container.limit_bytes else None, container.source,
            ),
            key="admin-memory",
        )


live_memory()

st.subheader("Models")
state = resources.warm_up()
took = f", {state.finished_at - state.started_at:.1f} s after the server started them" if state.finished_at else ""
st.write(f"Warm-up: **{state.status}**{took}")
if state.error:
    st.text(state.error)
analyzers = resources.analyzers_if_ready()
if analyzers is not None:
    loads = [{"model": load.name, "id": load.model_id, "load seconds": round(load.seconds, 2),
              "memory added (MB)": round(load.rss_added_mb)} for load in analyzers.loads]
    widgets.table(pd.DataFrame(loads, columns=["model", "id", "load seconds", "memory added (MB)"]), key="admin-loads")
    registry = [{"model": m.name, "id": m.model_id, "version": m.version, "source": m.source, "tasks": ", ".join(m.tasks)}
                for m in analyzers.models]
    if registry:
        widgets.table(pd.DataFrame(registry), key="admin-registry")
    st.caption(f"Profile {analyzers.profile}, analyzer version {analyzers.version}")
    for notice in analyzers.notices:
        st.warning(notice)

st.subheader("Threads")
# Only a torch some model already loaded: importing it here would add ~180 MB to the very
# process this page measures (the compact profile's ONNX encoder runs without torch).
torch = sys.modules.get("torch")
if torch is not None and hasattr(torch, "get_num_interop_threads"):  # not one still importing
    st.write(f"torch intra-op threads: **{torch.get_num_threads()}**, inter-op threads: **{torch.get_num_interop_threads()}**"
             f" (DISCERN_TORCH_THREADS={settings.discern_torch_threads})")
else:
    st.write("torch is not loaded in this process: its models run without it.")
st.caption("Inference from every session and the job worker goes through one lock per loaded profile, so "
           "concurrent users queue instead of oversubscribing the CPU.")

st.subheader("Jobs")
try:
    worker = resources.job_runner()
    status = worker.status
    st.write(f"Background worker: **{status.state}**" + (f", job {status.job_id}" if status.job_id else "")
             + f"; {status.jobs_finished} jobs finished by this process.")
    if status.last_error:
        st.caption("Last error:")
        st.text(status.last_error)
    with resources.database().sessions.begin() as session:
        jobs = list_jobs(session, limit=20)
    rows = []
    for job in jobs:
        figures = progress_figures(job)
        rows.append({"job": job.job_id, "playlist": job.title, "status": job.status, "songs done": figures.done,
                     "failed": figures.failed, "rate": figures.rate, "ETA": figures.eta, "runner": job.lease_owner or ""})
    if rows:
        widgets.table(pd.DataFrame(rows), key="admin-jobs", width="stretch")
    else:
        st.caption("No jobs yet.")
except Exception as exc:
    st.error(f"The job list is unavailable ({type(exc).__name__}).")

st.subheader("Settings")


def _shown(name: str, value: object) -> str:
    if name == "DATABASE_URL" and value:
        try:  # a password written into the URL itself is not shown
            return make_url(str(value)).render_as_string(hide_password=True)
        except Exception:
            return "(set)"
    return str(value)


shown = [(name, _shown(name, value)) for name, value in settings.public_items()]
widgets.table(pd.DataFrame(shown, columns=["setting", "value"]), key="admin-settings")
