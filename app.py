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


app = st.App("router.py", lifespan=lifespan)
