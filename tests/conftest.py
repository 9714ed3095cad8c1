"""Shared test fixtures. Blocks are grouped by area; keep each area's fixtures together."""

from __future__ import annotations

import os

import pytest

# Weights come from installed packages; a hub lookup would fail on this machine anyway.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# --- analysis engine -------------------------------------------------------------------


@pytest.fixture(scope="session")
def analyzers():
    """The real compact profile, loaded once for the whole test session."""
    from pipelines.analyzers.loader import load_analyzers

    return load_analyzers("compact")


@pytest.fixture(scope="session")
def taxonomy():
    from pipelines.taxonomy import load_taxonomy

    return load_taxonomy()
