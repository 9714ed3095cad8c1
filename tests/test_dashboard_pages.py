"""The dashboard's pages under Streamlit's AppTest, with a fast fake at the model boundary
(tests/fake_analyzers.py) and everything else real: a real database per test (SQLite, and
PostgreSQL when TEST_DATABASE_URL is set), the durable job runner, the background worker.

Each test asserts what a person would see: table rows, chart traces, metric and progress
values, messages.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard import resources
from dashboard.widgets import escape_markdown
from pipelines.analyzers import loader
from pipelines.jobs import JobRunner, create_playlist_job, job_progress
from pipelines.settings import get_settings
from pipelines.store.library_view import playlist_songs, song_detail
from pipelines.store.models import Song
from pipelines.store.repository import find_playlist, set_lyrics
from tests.fake_analyzers import fake_analyzer_set, load_fake_analyzers
from tests.reliability_support import (
    DashboardDatabase,
    dashboard_resources,
    reset_process_resources,
)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
TOP_HITS = "Top Hits Mix"  # 10 sample songs; with the fake: 1 flagged (profanity), 3 review


class Dashboard(DashboardDatabase):
    """The dashboard on a test database, with what the page tests do to its library."""

    def playlist_id(self, name: str = TOP_HITS) -> int:
        with self.sessions.begin() as session:
            return find_playlist(session, name).id

    def analyse(self, name: str = TOP_HITS) -> int:
        """Analyse a playlist with the fake models through the durable runner (as a finished run)."""
        analyzers = fake_analyzer_set()
        with self.sessions.begin() as session:
            job_id = create_playlist_job(session, self.playlist_id(name), profile=analyzers.profile, sensitivity="balanced").id
        assert JobRunner(self.sessions, analyzers).run(job_id).status == "done"
        return job_id

    def wait_for_job(self, job_id: int, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions.begin() as session:
                progress = job_progress(session, job_id)
            if progress.status not in ("queued", "running"):
                return progress
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish: {progress}")


@pytest.fixture
def dashboard(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("DISCERN_SENSITIVITY", raising=False)
    with dashboard_resources(database_url, tmp_path, monkeypatch, PASSWORD) as sessions:
        yield Dashboard(sessions, database_url)


# Tests of what does not depend on the database backend run on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def chart(at: AppTest, key: str) -> dict:
    return json.loads(at.get_by_key(key).proto.spec)


def frame(at: AppTest, key: str):
    """The data of the table keyed ``key`` (a selectable table, or one in a keyed container)."""
    node = at.get_by_key(key)
    return node.value if hasattr(node, "value") else node.dataframe[0].value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    return "\n".join(t.value for t in at.text)


# ------------------------------------------------------------------ library


def test_library_lists_playlists_with_counts_share_analysed_and_verdict_mix(dashboard):
    dashboard.analyse()
    at = dashboard.app()
    table = frame(at, "library-playlists")
    rows = table.set_index("playlist")
    assert list(table["playlist"]) == ["Dad's Country & Rock", "Sunday Worship Set", "Top Hits Mix", "Youth Group Road Trip"]
    assert rows.loc[TOP_HITS, ["songs", "approved", "review", "flagged"]].tolist() == [10, 6, 3, 1]
    assert rows.loc[TOP_HITS, "analysed"] == 1.0
    assert rows.loc["Sunday Worship Set", "analysed"] == 0.0  # nothing of it analysed yet (shares no song)
    assert metrics(at)["Playlists"] == "4" and metrics(at)["Songs"] == "36"

    traces = {t["name"]: t for t in chart(at, "library-verdicts-chart")["data"]}
    assert set(traces) == {"approved", "review", "flagged", "no result yet"}
    top = traces["flagged"]["y"].index(TOP_HITS)
    assert traces["flagged"]["x"][top] == 1 and traces["review"]["x"][top] == 3
    assert traces["no result yet"]["x"][traces["no result yet"]["y"].index("Sunday Worship Set")] == 10


def test_import_upload_adds_the_playlist_and_reports_each_bad_row(dashboard):
    at = dashboard.app()
    csv = (
        b"title,artist,lyrics\n"
        b"Morning Song,The Testers,\"Praise the morning\nI lift my hands\"\n"
        b",Nobody,\"a row without a title\"\n"
        b"Evening Song,The Testers,\"Thank you for the day\"\n"
    )
    at.file_uploader(key="library-import-upload").set_value(("my-list.csv", csv, "text/csv"))
    at.text_input(key="library-import-playlist").set_value("Imported in test")
    at.run()
    at.button(key="library-import-run").click().run()
    assert not at.exception
    assert "2 songs imported" in texts(at)
    problems = frame(at, "library-import-problems-0")
    assert len(problems) == 1 and problems.iloc[0]["where"] == "line 4"  # the file's line (a quoted lyric spans two)
    assert "title" in problems.iloc[0]["problem"]
    table = frame(at, "library-playlists").set_index("playlist")
    assert table.loc["Imported in test", "songs"] == 2


@sqlite_only
def test_empty_library_is_said_on_every_page(dashboard, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("DISCERN_LOAD_SAMPLE_LIBRARY", "0")
    reset_process_resources()
    at = dashboard.app()
    assert any("library is empty" in i.value for i in at.info)
    for page, phrase in [
        ("pages/playlist.py", "no playlists yet"),
        ("pages/explore.py", "library is empty"),
        ("pages/runs.py", "no playlists yet"),
        ("pages/song.py", "Choose a song"),
    ]:
        at.switch_page(page).run()
        assert not at.exception, page
        assert any(phrase in i.value for i in at.info), (page, [i.value for i in at.info])


@sqlite_only
def test_a_database_error_is_a_clear_message_not_a_stack_trace(dashboard, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/discern?connect_timeout=2")
    reset_process_resources()
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=30).run()
    for page in ("pages/library.py", "pages/playlist.py", "pages/explore.py", "pages/song.py", "pages/runs.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert any("library database is unavailable" in e.value for e in at.error), page


# ------------------------------------------------------------------ runs


def test_analysis_run_started_from_the_library_finishes_in_the_background(dashboard):
    at = dashboard.app()
    at.multiselect(key="library-pick").set_value([dashboard.playlist_id()]).run()
    at.button(key="library-analyse").click().run()
    assert not at.exception
    assert any("job" in s.value for s in at.success), [(e.type, getattr(e, "value", None)) for e in at.main]
    with dashboard.sessions.begin() as session:
        from dashboard.library_queries import open_job_ids

        (job_id,) = open_job_ids(session, "compact") or [None]
    if job_id is None:  # the worker may already have finished it
        from pipelines.jobs import list_jobs

        with dashboard.sessions.begin() as session:
            job_id = list_jobs(session, limit=1)[0].job_id
    # No reruns from here: the job goes on with no page open (the tab is "closed").
    progress = dashboard.wait_for_job(job_id)
    assert (progress.status, progress.done, progress.total) == ("done", 10, 10)

    at.switch_page("pages/runs.py").run()
    shown = metrics(at)
    assert shown["Songs done"] == "10 / 10" and shown["Failed"] == "0" and shown["ETA"] == "finished"
    assert shown["Rate"].endswith("/s")
    assert at.progress[0].value == 100


def test_runs_page_shows_partial_progress_rate_eta_and_cancels(dashboard, monkeypatch):
    # The models are "still loading", so the worker waits and the job stays where we leave it.
    loading = resources.ModelWarmup()
    monkeypatch.setattr(resources, "_warmup", loading)
    analyzers = fake_analyzer_set()
    with dashboard.sessions.begin() as session:
        job_id = create_playlist_job(session, dashboard.playlist_id(), profile=analyzers.profile, sensitivity="balanced").id
    batches = []
    JobRunner(dashboard.sessions, analyzers, batch_size=4).run(job_id, on_batch=batches.append,
                                                               should_stop=lambda: len(batches) >= 1)
    at = dashboard.app("pages/runs.py")
    assert any("still loading" in i.value for i in at.info)
    assert at.button(key="runs-start").disabled  # no new runs until the models are ready
    shown = metrics(at)
    assert shown["Songs done"] == "4 / 10"
    assert shown["Rate"].endswith("/s") and shown["ETA"].endswith("s")
    assert at.progress[0].value == 40

    at.button(key=f"runs-cancel-{job_id}").click().run()
    assert not at.exception
    with dashboard.sessions.begin() as session:
        progress = job_progress(session, job_id)
    assert progress.status == "cancelled" and progress.counts == {"done": 4, "cancelled": 6}
    assert metrics(at)["ETA"] == "cancelled"


def test_failed_songs_are_listed_per_song(dashboard, monkeypatch):
    monkeypatch.setenv("DISCERN_MAX_LYRICS_BYTES", "2000")
    get_settings.cache_clear()
    with dashboard.sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Weekend Forever"))
        set_lyrics(session, song, "dance tonight\n" * 400, "test")
    job_id = dashboard.analyse()
    at = dashboard.app("pages/runs.py")
    problems = frame(at, f"runs-problems-{job_id}")
    assert problems["title"].tolist() == ["Weekend Forever"]
    assert "over the 2,000-byte limit" in problems.iloc[0]["reason"]
    assert metrics(at)["Failed"] == "1"


# ------------------------------------------------------------------ playlist view


def _open_playlist(dashboard, name: str = TOP_HITS) -> AppTest:
    at = dashboard.app()
    at.multiselect(key="library-pick").set_value([dashboard.playlist_id(name)]).run()
    at.button(key="library-open").click().run()
    assert not at.exception
    return at


def _verdict_trace(at: AppTest, key: str) -> dict[str, list[int]]:
    return {t["name"]: t["y"] for t in chart(at, key)["data"]}


def test_playlist_view_table_charts_and_instant_sensitivity(dashboard):
    dashboard.analyse()
    at = _open_playlist(dashboard)
    table = frame(at, "playlist-songs")
    assert len(table) == 10
    block = table.set_index("title").loc["Block Don't Sleep"]
    assert (block["verdict"], block["score"], block["concerns"], block["top theme"]) == ("flagged", 10, "Profanity", "Lament")
    assert block["emotion"] == "Sadness"
    assert metrics(at)["Flagged"] == "1" and metrics(at)["Review"] == "3"

    assert _verdict_trace(at, "playlist-chart-verdicts")["by the analysis"] == [6, 3, 1]
    concerns = chart(at, "playlist-chart-concerns")["data"][0]
    assert dict(zip(concerns["x"], concerns["y"], strict=True))["Profanity"] == 1
    themes = chart(at, "playlist-chart-themes")["data"][0]
    assert dict(zip(themes["x"], themes["y"], strict=True))["Wealth"] == 2
    emotions = chart(at, "playlist-chart-emotions")["data"][0]
    assert sum(emotions["y"]) == 10
    sentiments = chart(at, "playlist-chart-sentiments")["data"][0]
    assert sum(sentiments["y"]) == 10

    # Strict: the weak profanity in "Ex Files" and the weak substance in "Champagne Skyline"
    # (a medium concern) now count, re-derived from the stored scores (no model runs).
    at.button_group(key="playlist-preset").set_value("strict").run()
    table = frame(at, "playlist-songs").set_index("title")
    assert table.loc["Ex Files", "verdict"] == "flagged" and table.loc["Champagne Skyline", "verdict"] == "flagged"
    assert _verdict_trace(at, "playlist-chart-verdicts")["by the analysis"] == [6, 1, 3]
    # Profanity switched off: neither song is held back for it any more.
    at.toggle(key="playlist-concern-profanity").set_value(False).run()
    table = frame(at, "playlist-songs").set_index("title")
    assert table.loc["Block Don't Sleep", "verdict"] == "approved" and table.loc["Ex Files", "verdict"] == "approved"


def test_playlist_filters_and_sort(dashboard):
    dashboard.analyse()
    at = _open_playlist(dashboard)
    at.multiselect(key="playlist-filter-verdict").set_value(["review"]).run()
    assert sorted(frame(at, "playlist-songs")["title"]) == ["Champagne Skyline", "Crossroads Deal", "Ex Files"]
    themes = chart(at, "playlist-chart-themes")["data"][0]
    assert sum(themes["y"]) >= 3  # the charts follow the filter
    at.multiselect(key="playlist-filter-verdict").set_value([]).run()
    at.multiselect(key="playlist-filter-concern").set_value(["materialism"]).run()
    assert sorted(frame(at, "playlist-songs")["title"]) == ["Champagne Skyline", "Crossroads Deal"]
    at.multiselect(key="playlist-filter-concern").set_value([]).run()
    at.selectbox(key="playlist-sort").set_value("most concerning first").run()
    assert frame(at, "playlist-songs")["title"].iloc[0] == "Block Don't Sleep"
    at.text_input(key="playlist-search").set_value("toothbrush").run()
    assert frame(at, "playlist-songs")["title"].tolist() == ["Second Toothbrush"]


def test_unanalysed_playlist_offers_analysis_and_export_buttons_exist(dashboard):
    at = _open_playlist(dashboard, "Sunday Worship Set")
    assert set(frame(at, "playlist-songs")["status"]) == {"not analysed"}
    assert any("have no analysis yet" in w.value for w in at.warning)
    assert not at.button(key="playlist-analyse").disabled
    for key in ("playlist-export-results-csv", "playlist-export-results-json", "playlist-export-clean-csv",
                "playlist-export-clean-m3u"):
        assert at.get_by_key(key) is not None


# ------------------------------------------------------------------ song detail and overrides


def _open_song(dashboard, title: str) -> AppTest:
    with dashboard.sessions.begin() as session:
        song_id = session.scalar(select(Song.id).where(Song.title == title))
    at = AppTest.from_file(str(ROOT / "router.py"), default_timeout=30)
    at.query_params["song"] = str(song_id)
    at.run()
    at.switch_page("pages/song.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_song_detail_shows_lyrics_with_concern_lines_scores_scripture_and_version(dashboard):
    dashboard.analyse()
    at = _open_song(dashboard, "Block Don't Sleep")
    assert "Block Don't Sleep" in texts(at)
    assert metrics(at)["Verdict"] == "flagged" and metrics(at)["Score"] == "10/100"
    lyrics = frame(at, "song-lyrics")
    marked = lyrics[lyrics["concerns"] != ""]
    assert len(marked) >= 2 and all(c.startswith("Profanity (0.90)") for c in marked["concerns"])
    assert all(any(w in line.lower() for w in ("shit", "fuck", "damn it")) for line in marked["lyrics"])
    bars = {key: chart(at, f"song-bars-{key}") for key in ("concerns", "themes", "emotions", "sentiments")}
    concern_bar = bars["concerns"]["data"][0]
    assert concern_bar["y"][0] == "Profanity" and concern_bar["x"][0] == 0.9
    scripture = frame(at, "song-scripture")
    assert "Profanity" in set(scripture["theme or concern"])
    assert any("fake-keywords-1" in c.value for c in at.caption)  # the analyzer version
    assert any("Flagged for profanity" in t.value for t in at.text)  # the explanation


def test_override_is_kept_across_reanalysis_and_shown_in_tables_charts_and_exports(dashboard):
    dashboard.analyse()
    at = _open_song(dashboard, "Champagne Skyline")
    at.selectbox(key="song-override-verdict").set_value("flagged")
    at.text_area(key="song-override-note").set_value("The whole album glorifies greed.")
    at.button(key="song-override-save").click().run()
    assert not at.exception
    assert metrics(at)["Verdict"] == "flagged (override)"
    assert "The whole album glorifies greed." in texts(at)

    # Re-analyse after the lyrics change: a new analysis, the override stays.
    with dashboard.sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Champagne Skyline"))
        set_lyrics(session, song, "Money money money\nDiamond rings and gold\nI just want money", "test")
    at.run()
    assert any("not been analysed" in i.value for i in at.info)
    at.button(key="song-reanalyse").click().run()
    assert any("Analysed again" in s.value for s in at.success)
    assert metrics(at)["Verdict"] == "flagged (override)"
    history = frame(at, "song-history")
    assert len(history) == 2 and history["current lyrics"].tolist() == [True, False]

    at = _open_playlist(dashboard)
    assert frame(at, "playlist-songs").set_index("title").loc["Champagne Skyline", "verdict"] == "flagged (override)"
    trace = _verdict_trace(at, "playlist-chart-verdicts")
    assert trace["manual override"] == [0, 0, 1] and trace["by the analysis"] == [6, 2, 1]

    from pipelines.exports import results_csv

    with dashboard.sessions.begin() as session:
        exported = results_csv(session, dashboard.playlist_id())
    line = next(row for row in exported.splitlines() if "Champagne Skyline" in row)
    assert ",flagged,review," in line and "The whole album glorifies greed." in line

    # Clearing it gives the analysis its say again.
    at = _open_song(dashboard, "Champagne Skyline")
    at.button(key="song-override-clear").click().run()
    assert metrics(at)["Verdict"] == "review"


def test_reanalyse_of_unchanged_lyrics_answers_from_the_cache(dashboard):
    dashboard.analyse()
    at = _open_song(dashboard, "Ex Files")
    at.button(key="song-reanalyse").click().run()
    assert any("Already up to date" in s.value for s in at.success)


@sqlite_only
def test_song_picker_and_an_unknown_song(dashboard):
    at = dashboard.app("pages/song.py")
    at.text_input(key="song-search").set_value("umbrella").run()
    options = at.selectbox(key="song-pick").options
    assert len(options) == 1 and "Yellow Umbrella" in options[0]
    with dashboard.sessions.begin() as session:
        umbrella = session.scalar(select(Song.id).where(Song.title == "Yellow Umbrella"))
    at.selectbox(key="song-pick").set_value(umbrella).run()
    assert "Yellow Umbrella" in texts(at)
    assert any("not been analysed" in i.value for i in at.info)
    at.query_params["song"] = "99999"
    at.run()
    assert any("no song with id 99999" in e.value for e in at.error)


@sqlite_only
def test_song_titles_are_never_rendered_as_markdown(dashboard):
    hostile = "**Bold** [link](javascript:alert(1)) <img src=x onerror=alert(1)>"
    with dashboard.sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Ex Files"))
        song.title = hostile
    dashboard.analyse()
    at = _open_song(dashboard, hostile)
    assert hostile in texts(at)
    assert not any(hostile in m.value for m in at.markdown)
    at = _open_playlist(dashboard)
    assert hostile in set(frame(at, "playlist-songs")["title"])
    assert not any(hostile in m.value for m in at.markdown)


# ------------------------------------------------------------------ explore


def test_explore_searches_lyrics_and_filters_with_the_same_charts(dashboard):
    dashboard.analyse()
    dashboard.analyse("Youth Group Road Trip")
    at = dashboard.app("pages/explore.py")
    assert len(frame(at, "explore-songs")) == 36
    at.text_input(key="explore-search").set_value("umbrella").run()
    assert frame(at, "explore-songs")["title"].tolist() == ["Yellow Umbrella"]
    with dashboard.sessions.begin() as session:
        lyric_word = song_detail(session, session.scalar(select(Song.id).where(Song.title == "Weight"))).lyrics.split()[3]
    at.text_input(key="explore-search").set_value(lyric_word).run()
    assert "Weight" in set(frame(at, "explore-songs")["title"])  # found by its lyrics

    at.text_input(key="explore-search").set_value("").run()
    at.multiselect(key="explore-filter-verdict").set_value(["flagged"]).run()
    flagged = frame(at, "explore-songs")
    assert sorted(flagged["title"]) == ["Block Don't Sleep", "Weight"]
    assert _verdict_trace(at, "explore-chart-verdicts")["by the analysis"] == [0, 0, 2]
    assert dict(zip(*(chart(at, "explore-chart-concerns")["data"][0][k] for k in ("x", "y")), strict=True))["Profanity"] == 2

    at.multiselect(key="explore-filter-verdict").set_value([]).run()
    at.multiselect(key="explore-filter-playlist").set_value(["Youth Group Road Trip"]).run()
    at.multiselect(key="explore-filter-theme").set_value(["celebration"]).run()
    assert sorted(frame(at, "explore-songs")["title"]) == ["Didn't See You Coming", "Weekend Forever"]
    at.multiselect(key="explore-filter-emotion").set_value(["joy"]).run()
    assert frame(at, "explore-songs")["title"].tolist() == ["Weekend Forever"]


# ------------------------------------------------------------------ analyse lyrics


def test_analyse_lyrics_shows_the_song_view_and_saves_only_when_asked(dashboard):
    at = dashboard.app("pages/analyse_lyrics.py")
    at.text_area(key="adhoc-text").set_value("I will kill you with my gun\nShoot them all tonight\nPraise the Lord")
    at.button(key="adhoc-run").click().run()
    assert not at.exception
    assert metrics(at)["Verdict"] == "flagged"
    lyrics = frame(at, "adhoc-0-lyrics")
    assert lyrics["concerns"].tolist()[:2] == ["Violence (0.90)", "Violence (0.90)"] and lyrics["concerns"].iloc[2] == ""
    with dashboard.sessions.begin() as session:
        assert find_playlist(session, "Analysed lyrics") is None  # nothing saved yet

    at.text_input(key="adhoc-save-title-0").set_value("Test Threat")
    at.text_input(key="adhoc-save-artist-0").set_value("Nobody")
    at.button(key="adhoc-save-0").click().run()
    assert not at.exception
    with dashboard.sessions.begin() as session:
        playlist = find_playlist(session, "Analysed lyrics")
        rows = playlist_songs(session, playlist.id)
    assert [(r.title, r.artist, r.verdict) for r in rows] == [("Test Threat", "Nobody", "flagged")]
    assert any("Saved into the library" in s.value for s in at.success)


@sqlite_only
def test_analyse_lyrics_uploads_and_refuses_binary(dashboard):
    at = dashboard.app("pages/analyse_lyrics.py")
    at.file_uploader(key="adhoc-files").set_value([
        ("Singer - Happy.lrc", b"[00:01.00]Praise the Lord\n[00:05.00]I am glad and I sing", "text/plain"),
        ("broken.txt", b"\x00\x01\x02binary", "text/plain"),
    ])
    at.run()
    at.button(key="adhoc-run").click().run()
    assert not at.exception
    assert any("binary" in e.value for e in at.error)
    assert metrics(at)["Verdict"] == "approved"
    assert "Singer - Happy.lrc" in texts(at)


@sqlite_only
def test_pages_say_models_are_loading_instead_of_freezing(dashboard, monkeypatch):
    monkeypatch.setattr(resources, "_warmup", resources.ModelWarmup())  # never finishes
    at = dashboard.app("pages/analyse_lyrics.py")
    assert any("still loading" in i.value for i in at.info)
    assert not at.text_area  # no analysis form until the models are ready
    at.switch_page("pages/library.py").run()
    at.multiselect(key="library-pick").set_value([dashboard.playlist_id()]).run()
    assert at.button(key="library-analyse").disabled
    assert len(frame(at, "library-playlists")) == 4  # the library itself works


@sqlite_only
def test_a_fallback_to_the_compact_profile_is_said_on_the_pages_users_see(dashboard, monkeypatch):
    notice = "The hf profile could not load toxicity (not in the local Hugging Face cache); using the compact profile."
    monkeypatch.setattr(loader, "load_analyzers", lambda profile=None: replace(fake_analyzer_set(), notices=[notice]))
    resources.analyzers.clear()
    for page in ("pages/library.py", "pages/analyse_lyrics.py", "pages/runs.py"):
        at = dashboard.app(page)
        assert [w.value for w in at.warning if "hf profile" in w.value] == [escape_markdown(notice)], page
    monkeypatch.setattr(loader, "load_analyzers", load_fake_analyzers)
    resources.analyzers.clear()
    assert not [w for w in dashboard.app("pages/library.py").warning if "hf profile" in w.value]


# ------------------------------------------------------------------ admin


@sqlite_only
def test_admin_refuses_a_wrong_password_and_shows_memory_with_the_right_one(dashboard):
    at = dashboard.app("pages/admin.py")
    at.text_input(key="admin-password").set_value("wrong")
    at.button(key="admin-sign-in").click().run()
    assert any("Wrong password" in e.value for e in at.error)
    assert not at.metric and not at.get("plotly_chart")

    at.text_input(key="admin-password").set_value(PASSWORD)
    at.button(key="admin-sign-in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = metrics(at)
    assert shown["Process RSS"].endswith("MB") and shown["Process USS"]
    assert any(label.startswith("Memory used (") for label in shown)
    loads = frame(at, "admin-loads")
    assert loads["model"].tolist() == ["fake-keywords"]
    time.sleep(0.1)
    at.run()
    timeline = chart(at, "admin-memory")
    assert timeline["data"][0]["name"] == "process RSS (MB)" and len(timeline["data"][0]["y"]) >= 1
    settings = frame(at, "admin-settings").set_index("setting")
    assert settings.loc["DISCERN_ADMIN_PASSWORD", "value"] == "(set)"
    assert PASSWORD not in settings["value"].to_string()


@sqlite_only
def test_admin_is_disabled_without_a_configured_password(dashboard, monkeypatch):
    monkeypatch.setenv("DISCERN_ADMIN_PASSWORD", "")
    get_settings.cache_clear()
    at = dashboard.app("pages/admin.py")
    assert any("disabled" in e.value for e in at.error)
    assert not at.text_input
