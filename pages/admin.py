"""Admin: live memory of this server process and its container, models, threads, sessions."""

import time

import pandas as pd
import streamlit as st
import torch

from dashboard import charts, resources
from dashboard.auth import configured_password, password_matches
from dashboard.memory import snapshot
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
        submitted = st.form_submit_button("Sign in")
    if submitted and password_matches(given, expected):
        st.session_state["admin-authenticated"] = True
        st.rerun()
    if submitted:
        st.error("Wrong password.")
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
st.write(f"Warm-up: **{state.status}**" + (f" ({state.error})" if state.error else ""))
analyzers = resources.analyzers_if_ready()
if analyzers is not None:
    st.dataframe(
        pd.DataFrame(
            [{"model": load.name, "id": load.model_id, "load seconds": round(load.seconds, 2), "memory added (MB)": round(load.rss_added_mb)}
             for load in analyzers.loads]
        ),
        hide_index=True, key="admin-loads",
    )
    st.dataframe(
        pd.DataFrame([{"model": m.name, "id": m.model_id, "version": m.version, "source": m.source, "tasks": ", ".join(m.tasks)} for m in analyzers.models]),
        hide_index=True, key="admin-registry",
    )
    st.caption(f"Profile {analyzers.profile}, analyzer version {analyzers.version}")
    for notice in analyzers.notices:
        st.warning(notice)

st.subheader("Threads")
st.write(f"torch intra-op threads: **{torch.get_num_threads()}**, inter-op threads: **{torch.get_num_interop_threads()}**")
st.subheader("Settings")
st.dataframe(pd.DataFrame(settings.public_items(), columns=["setting", "value"]).astype(str), hide_index=True, key="admin-settings")
