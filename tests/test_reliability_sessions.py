"""Twenty dashboard sessions working at once, each on its own thread with its own AppTest
(its own session state), sharing one process's resources as real visitors do: the models
(the keyword fake), the database engine and the background job worker. Each session must
see its own correct result, and the database must hold what each one did.

AppTest is written for one run at a time: every run installs a mock Streamlit runtime and
test config globally and removes them when it ends, which would pull the runtime from
under the other sessions, and compiles the page scripts in a script cache of its own
(CPython 3.11's compiler is not safe to run on several threads at once). ``one_runtime``
installs one shared runtime and one script cache for the whole test instead, as a real
server has for all its sessions.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from unittest.mock import MagicMock

import pytest
from sqlalchemy import select
from streamlit.runtime import Runtime
from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test, local_script_runner

from pipelines.jobs import JobRunner, create_playlist_job
from pipelines.store.library_view import playlist_songs, song_detail
from pipelines.store.models import Song, VerdictOverride
from pipelines.store.repository import find_playlist
from tests import reliability_support
from tests.fake_analyzers import fake_analyzer_set
from tests.reliability_support import ROOT

dashboard_database = reliability_support.dashboard_database  # the fixture
SESSIONS = 20


@pytest.fixture
def one_runtime(monkeypatch):
    """One mock runtime, script cache and AppTest config for all sessions; yields
    the count of script runs in flight at once."""

    class PerRunRuntime(Runtime):  # where AppTest's per-run install and removal now go
        pass

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    monkeypatch.setattr(app_test, "Runtime", PerRunRuntime)
    scripts = ScriptCache()  # compiles each page once, under its lock
    # AppTest makes one cache for the pages and its script runner another for the main
    # script: both must be the shared one, or two threads compile at once.
    monkeypatch.setattr(app_test, "ScriptCache", lambda: scripts)
    monkeypatch.setattr(local_script_runner, "ScriptCache", lambda: scripts)
    monkeypatch.setattr(app_test, "patch_config_options", lambda _options: contextlib.nullcontext())
    monkeypatch.setattr(Runtime, "_instance", runtime)
    from streamlit import config

    previous = config.get_option("global.appTest")
    config.set_option("global.appTest", True)
    overlap = {"now": 0, "most": 0}
    lock = threading.Lock()
    run = AppTest._run

    def counted_run(self, *args, **kwargs):
        with lock:
            overlap["now"] += 1
            overlap["most"] = max(overlap["most"], overlap["now"])
        try:
            return run(self, *args, **kwargs)
        finally:
            with lock:
                overlap["now"] -= 1

    monkeypatch.setattr(AppTest, "_run", counted_run)
    yield overlap  # the most script runs that were in flight at once
    config.set_option("global.appTest", previous)


def _song_page(song_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120)
    at.query_params["song"] = str(song_id)
    at.run()
    at.switch_page("pages/song.py").run()
    return at


def _adhoc(index: int, violent: bool) -> Callable[[], dict]:
    marker = f"Session {index} sings of the morning"
    text = marker + ("\nI will kill you with my gun\nShoot them all tonight" if violent else "\nI am glad and I sing")

    def visit() -> dict:
        at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=120)
        at.run()
        at.switch_page("pages/analyse_lyrics.py").run()
        at.text_area(key="adhoc-text").set_value(text)
        at.button(key="adhoc-run").click().run()
        lyrics = at.get_by_key("adhoc-0-lyrics").dataframe[0].value
        verdict = next(m.value for m in at.metric if m.label == "Verdict")
        return {"exceptions": [e.value for e in at.exception], "verdict": verdict, "lines": list(lyrics["lyrics"]),
                "expected": ("flagged" if violent else "approved", text.splitlines())}

    return visit


def _song_view(song_id: int, title: str, lyrics: str) -> Callable[[], dict]:
    def visit() -> dict:
        at = _song_page(song_id)
        table = at.get_by_key("song-lyrics").dataframe[0].value
        return {"exceptions": [e.value for e in at.exception], "title": at.text[0].value.splitlines()[0],
                "lines": list(table["lyrics"]), "expected": (title, lyrics.splitlines())}

    return visit


def _override(song_id: int, note: str) -> Callable[[], dict]:
    def visit() -> dict:
        at = _song_page(song_id)
        at.selectbox(key="song-override-verdict").set_value("review")
        at.text_area(key="song-override-note").set_value(note)
        at.button(key="song-override-save").click().run()
        verdict = next(m.value for m in at.metric if m.label == "Verdict")
        return {"exceptions": [e.value for e in at.exception], "verdict": verdict, "shown": note in
                "\n".join(t.value for t in at.text), "expected": ("review (override)", True)}

    return visit


@pytest.mark.slow
def test_twenty_sessions_at_once_each_get_their_own_correct_result(dashboard_database, one_runtime):
    sessions = dashboard_database.sessions
    analyzers = fake_analyzer_set()
    with sessions.begin() as session:
        playlist_id = find_playlist(session, "Top Hits Mix").id
        job_id = create_playlist_job(session, playlist_id, profile=analyzers.profile, sensitivity="balanced").id
    assert JobRunner(sessions, analyzers).run(job_id).status == "done"
    with sessions.begin() as session:
        analysed = [row.song_id for row in playlist_songs(session, playlist_id)]
        others = session.scalars(select(Song.id).where(Song.id.not_in(analysed)).order_by(Song.id).limit(2)).all()
        songs = [session.get(Song, song_id) for song_id in [*analysed, *others]]
        lyrics = {song.id: song_detail(session, song.id).lyrics for song in songs}

    visits: list[Callable[[], dict]] = [_adhoc(i, violent=i % 2 == 0) for i in range(8)]
    visits += [_song_view(song.id, song.title, lyrics[song.id]) for song in songs[:6]]
    overrides = {song.id: f"checked by session {n} for song {song.id}" for n, song in enumerate(songs[6:12])}
    visits += [_override(song_id, note) for song_id, note in overrides.items()]
    assert len(visits) == SESSIONS

    results: list[dict | BaseException | None] = [None] * SESSIONS
    start = threading.Barrier(SESSIONS)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = visits[index]()
        except BaseException as exc:  # reported below with its session
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"session-{i}") for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads), "a session hung"

    for index, result in enumerate(results):
        assert isinstance(result, dict), f"session {index}: {result!r}"
        assert not result["exceptions"], f"session {index}: {result['exceptions']}"
        expected = result.pop("expected")
        got = tuple(v for k, v in result.items() if k != "exceptions")
        assert got == expected, f"session {index} saw {got}, expected {expected}"
    with sessions.begin() as session:
        stored = {o.song_id: (o.verdict, o.note) for o in session.scalars(select(VerdictOverride))}
    assert stored == {song_id: ("review", note) for song_id, note in overrides.items()}
    assert one_runtime["most"] >= SESSIONS // 2, f"at most {one_runtime['most']} sessions ran at once"
