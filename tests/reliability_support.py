"""What the reliability and security tests share: a dashboard on a real test database with
the fast fake models (tests/fake_analyzers.py), as the page tests use, and CLI runs with a
given environment. Import the fixture into a test module to use it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import resources
from pipelines.analyzers import loader
from pipelines.settings import get_settings
from pipelines.store.db import dispose_engines, make_engine, make_sessionmaker
from tests.fake_analyzers import load_fake_analyzers

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "reliability test admin password"


@dataclass
class DashboardDatabase:
    sessions: object
    url: str

    def app(self, page: str | None = None, timeout: float = 60) -> AppTest:
        at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=timeout)
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at


def reset_process_resources() -> None:
    st.cache_resource.clear()  # stops the job worker and the sampler, disposes the engine
    get_settings.cache_clear()
    dispose_engines()


@contextlib.contextmanager
def dashboard_resources(database_url: str, tmp_path: Path, monkeypatch, password: str = ADMIN_PASSWORD):
    """The dashboard's process resources (the fake models) on a fresh database holding the
    sample library; yields a sessionmaker of that database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DISCERN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DISCERN_ADMIN_PASSWORD", password)
    monkeypatch.setenv("DISCERN_LOAD_SAMPLE_LIBRARY", "1")
    monkeypatch.setattr(loader, "load_analyzers", load_fake_analyzers)
    monkeypatch.setattr(resources, "_warmup", None)
    reset_process_resources()
    assert resources.warm_up().done.wait(10)
    resources.database()  # the first visit's work: upgrade the schema, load the sample library
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        reset_process_resources()
        engine.dispose()


@pytest.fixture
def dashboard_database(database_url, tmp_path, monkeypatch):
    """The dashboard's process resources on a fresh database holding the sample library."""
    with dashboard_resources(database_url, tmp_path, monkeypatch) as sessions:
        yield DashboardDatabase(sessions, database_url)


def run_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m pipelines ARGS`` in a fresh process with ``env`` added to this one's."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=timeout,
    )
