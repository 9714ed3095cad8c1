"""Small reusable widgets and page guards: the library session, the models notice, the
sensitivity controls, and the playlists picked on one page and used on another."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dashboard import resources
from pipelines.settings import get_settings
from pipelines.taxonomy import Taxonomy
from pipelines.verdict import SENSITIVITIES

log = logging.getLogger("discern.dashboard")

# Survives page switches (widget keys of pages not shown are dropped by Streamlit).
PICKED_PLAYLISTS = "picked_playlist_ids"
SONG_ID = "song_id"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:])")


def escape_markdown(text: str) -> str:
    """``text`` shown literally inside Markdown (titles in headings, file names in messages)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _database_error(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0][:300] if detail else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def database_or_stop() -> resources.LibraryDatabase:
    """The library database, or an error on the page and nothing more of it."""
    try:
        return resources.database()
    except Exception as exc:
        log.exception("the library database is unavailable")
        st.error(
            "The library database is unavailable, so this page cannot show the library. "
            f"({escape_markdown(_database_error(exc))}) Check DATABASE_URL and that the database is running, "
            "then reload the page.",
            icon=":material/database:",
        )
        st.stop()


@contextmanager
def library_session() -> Iterator[Session]:
    """One transaction on the library for a block of a page; a database error ends the page
    with a clear message instead of a stack trace. Do not ``st.rerun`` inside the block
    (that would roll the transaction back)."""
    database = database_or_stop()
    try:
        with database.sessions.begin() as session:
            yield session
    except SQLAlchemyError as exc:
        log.exception("a library query failed")
        st.error(
            f"The library database failed while loading this page ({escape_markdown(_database_error(exc))}). "
            "Try again in a moment.",
            icon=":material/database:",
        )
        st.stop()


def models_notice() -> None:
    """Say why analysis is not available yet (models loading, or failed to load), or that
    the models in use are not the configured ones."""
    state = resources.warm_up()
    if state.status == "failed":
        st.error(
            f"The analysis models could not be loaded ({escape_markdown(state.error or '')}). "
            "Analysis is unavailable; the library still works.",
            icon=":material/error:",
        )
    elif state.status == "loading":
        waited = max(0, int(time.time() - state.started_at))
        st.info(
            f"The analysis models are still loading ({waited} s so far; they load once when the server starts). "
            "Analysis starts as soon as they are ready; everything else works now.",
            icon=":material/hourglass_top:",
        )
    else:  # ready; a fallback (hf models missing, compact used instead) concerns every user
        for notice in resources.analyzers().notices:
            st.warning(escape_markdown(notice), icon=":material/swap_horiz:")


def current_version() -> str | None:
    """The loaded analyzers' version, or None while they load."""
    analyzers = resources.analyzers_if_ready()
    return analyzers.version if analyzers is not None else None


def default_sensitivity() -> str:
    default = get_settings().discern_sensitivity
    return default if default in SENSITIVITIES else "balanced"


def sensitivity_controls(taxonomy: Taxonomy, key: str) -> tuple[str, set[str]]:
    """Sensitivity preset and per-concern switches; verdicts re-derive from stored scores."""
    with st.expander("Sensitivity", expanded=False, icon=":material/tune:"):
        sensitivity = st.segmented_control(
            "Preset", SENSITIVITIES, default=default_sensitivity(), key=f"{key}-preset",
            help="lenient flags only clear cases; strict also flags medium-severity concerns and weaker evidence.",
        ) or default_sensitivity()
        columns = st.columns(3)
        enabled = {
            concern.key
            for i, concern in enumerate(taxonomy.concerns)
            if columns[i % 3].toggle(concern.name, value=True, key=f"{key}-concern-{concern.key}", help=concern.description)
        }
    return sensitivity, enabled


def picked_playlists() -> list[int]:
    return list(st.session_state.get(PICKED_PLAYLISTS, []))


def set_picked_playlists(ids: list[int]) -> None:
    st.session_state[PICKED_PLAYLISTS] = list(ids)


def playlist_picker(playlists: dict[int, str], key: str, label: str = "Playlists") -> list[int]:
    """A multiselect of playlists that starts from (and updates) the playlists picked on
    any page; returns the picked ids."""
    remembered = [i for i in picked_playlists() if i in playlists]
    if key in st.session_state:
        # Keep the widget's value valid if a playlist was deleted meanwhile.
        st.session_state[key] = [i for i in st.session_state[key] if i in playlists]
    chosen = st.multiselect(
        label, options=list(playlists), default=remembered if key not in st.session_state else None,
        format_func=lambda i: playlists.get(i, str(i)), key=key, placeholder="Choose playlists",
    )
    set_picked_playlists(chosen)
    return chosen


def table(data, key: str, **options) -> None:
    """A read-only table inside a container keyed ``key`` (a display-only ``st.dataframe``
    has no element id of its own, so tests and browsers find it by the container's key:
    the ``st-key-<key>`` class)."""
    with st.container(key=key):
        st.dataframe(data, hide_index=options.pop("hide_index", True), **options)
