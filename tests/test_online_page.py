"""The library page's online sources with the network unreachable: the Spotify import and
the lyrics fetch answer within a few seconds with a clear message (AppTest, a real
database, the dashboard fixture of tests/test_dashboard_pages.py). Unreachable is real:
LRCLIB at a closed loopback port, Spotify and Genius through a proxy at that port."""

from __future__ import annotations

import time

import pytest

from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from tests.test_dashboard_pages import dashboard  # noqa: F401  (the page fixture, reused)
from tests.test_online_offline import CLOSED, OFFLINE, PROXY_VARIABLES


@pytest.fixture
def offline(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", CLOSED)
    monkeypatch.setenv("HTTP_PROXY", CLOSED)
    for name, value in OFFLINE.items():
        if name != "DISCERN_LOAD_SAMPLE_LIBRARY":  # the page fixture loads the sample library
            monkeypatch.setenv(name, value)


def page_texts(at) -> str:
    return "\n".join([t.value for t in at.text] + [e.value for e in at.error] + [s.value for s in at.success])


def test_library_page_offline_answers_fast_with_a_clear_message(offline, dashboard):  # noqa: F811
    with dashboard.sessions.begin() as session:
        records = [SongRecord(row=n, title=f"Offline Song {n}", artist="Nobody Online") for n in range(1, 4)]
        save_records(session, records, ImportReport("test", "csv"), playlist="Offline Mix")
    at = dashboard.app("pages/library.py")
    assert "Online sources" in [h.value for h in at.subheader]

    at.text_input(key="library-spotify-url").input("https://open.spotify.com/playlist/3cEYpjA9oz9GiPac4AsH4n").run()
    start = time.monotonic()
    at.button(key="library-spotify-import").click().run()
    assert time.monotonic() - start < 5
    assert not at.exception, [e.value for e in at.exception]
    assert "Spotify import had problems." in [e.value for e in at.error]
    assert "Could not import the playlist: Spotify is unreachable: cannot connect to accounts.spotify.com" in page_texts(at)

    at.multiselect(key="library-pick").set_value([dashboard.playlist_id("Offline Mix")]).run()
    start = time.monotonic()
    at.button(key="library-fetch-lyrics").click().run()
    assert time.monotonic() - start < 5
    assert not at.exception, [e.value for e in at.exception]
    shown = page_texts(at)
    assert "3 not tried because no lyrics source could be reached" in shown
    assert "LRCLIB is unreachable: cannot connect to 127.0.0.1" in shown
    assert "Genius is unreachable: cannot connect to api.genius.com" in shown
