"""Discern's server entry: ``streamlit run app.py``.

``st.App`` serves the dashboard (pages are routed by ``router.py``) and gives us a
lifespan hook, which loads the models when the server starts rather than on the first
visitor's click, and opens the library and starts the job worker, so analysis jobs
queued before a restart resume without anyone visiting.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import streamlit as st

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@asynccontextmanager
async def lifespan(_app):
    from dashboard.resources import start_background_work, warm_up

    warm_up()  # returns at once; the models load on a background thread
    start_background_work()  # likewise: database upgrade, then the job worker (waits for the models)
    yield


def _route_with_navigation_only() -> None:
    """Let ``router.py``'s ``st.navigation`` route every request, the first one included.

    Streamlit treats a ``pages/`` folder beside the main script as the old automatic page
    list until some session has run ``st.navigation``; so on a fresh server, a first visitor
    arriving on a deep link (``/admin``, ``/song?song=3``) would get that page run on its own,
    without the router's page config and navigation. The flag has no public setting.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except (ImportError, AttributeError):  # a Streamlit without the flag has nothing to switch off
        logging.getLogger("discern.dashboard").warning("could not switch off the pages/ folder routing")


_route_with_navigation_only()
app = st.App("router.py", lifespan=lifespan)
