"""With the network unreachable, the CLI and the import page's functions answer within
a few seconds with a clear message. "Unreachable" is real here, not mocked: LRCLIB is
pointed at a closed port on loopback (http://127.0.0.1:9), and Spotify and Genius, whose
addresses are fixed, go through a proxy at that closed port (HTTPS_PROXY), so every
connection is refused the way it is on a machine with no network."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.connectors.online import run_lyrics_fetch, run_spotify_import
from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.settings import Settings
from pipelines.store.db import make_engine, make_sessionmaker
from pipelines.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "http://127.0.0.1:9"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")
OFFLINE = {
    "DISCERN_LRCLIB_URL": CLOSED,
    "DISCERN_LYRICS_PROVIDERS": "lrclib,genius",
    "DISCERN_GENIUS_TOKEN": "genius-token",
    "DISCERN_SPOTIFY_CLIENT_ID": "client-id",
    "DISCERN_SPOTIFY_CLIENT_SECRET": "client-secret",
    "DISCERN_LOAD_SAMPLE_LIBRARY": "0",
}


def offline_environ(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    return {**env, **OFFLINE, "DATABASE_URL": database_url, "HTTPS_PROXY": CLOSED, "HTTP_PROXY": CLOSED}


def library_with_songs_lacking_lyrics(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        records = [SongRecord(row=n, title=f"Offline Song {n}", artist="Nobody Online") for n in range(1, 4)]
        save_records(session, records, ImportReport("test", "csv"), playlist="Offline Mix")
    return engine, sessions


def run_cli(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    return done, time.monotonic() - start


def test_cli_fetch_lyrics_offline_answers_fast_with_a_clear_message(tmp_path):
    url = f"sqlite:///{tmp_path / 'library.db'}"
    engine, _ = library_with_songs_lacking_lyrics(url)
    engine.dispose()
    done, seconds = run_cli("fetch-lyrics", "--playlist", "Offline Mix", env=offline_environ(url))
    assert seconds < 15, f"took {seconds:.1f} s"
    assert done.returncode == 3, done.stderr
    assert "lrclib stopped: LRCLIB is unreachable: cannot connect to 127.0.0.1" in done.stderr
    assert "genius stopped: Genius is unreachable: cannot connect to api.genius.com" in done.stderr
    assert "Check the network connection" in done.stderr
    assert "error: no lyrics source could be reached" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [("spotify-import",), ("import", "spotify")])
def test_cli_spotify_import_offline_answers_fast_with_a_clear_message(tmp_path, command):
    url = f"sqlite:///{tmp_path / 'library.db'}"
    done, seconds = run_cli(*command, "https://open.spotify.com/playlist/3cEYpjA9oz9GiPac4AsH4n",
                            env=offline_environ(url))
    assert seconds < 15, f"took {seconds:.1f} s"
    assert done.returncode == 3, done.stderr
    assert "error: Could not import the playlist: Spotify is unreachable: cannot connect to accounts.spotify.com" in done.stderr
    assert "Traceback" not in done.stderr


def test_page_functions_offline_answer_fast_with_a_clear_message(tmp_path, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", CLOSED)
    engine, sessions = library_with_songs_lacking_lyrics(f"sqlite:///{tmp_path / 'library.db'}")
    settings = Settings(OFFLINE)
    try:
        start = time.monotonic()
        result = run_spotify_import(sessions, "spotify:playlist:3cEYpjA9oz9GiPac4AsH4n", settings=settings)
        assert time.monotonic() - start < 3
        assert not result.ok and result.spotify is None
        assert result.message.startswith("Could not import the playlist: Spotify is unreachable")

        with sessions.begin() as session:
            from pipelines.store.repository import find_playlist

            playlist_id = find_playlist(session, "Offline Mix").id
        start = time.monotonic()
        result = run_lyrics_fetch(sessions, playlist_id, settings=settings)
        assert time.monotonic() - start < 3
        assert not result.ok and result.lyrics.not_tried == 3
        assert "3 not tried because no lyrics source could be reached" in result.message
        assert "LRCLIB is unreachable" in result.message and "Genius is unreachable" in result.message
    finally:
        engine.dispose()
