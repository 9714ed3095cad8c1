"""The dashboard's pure parts and its background worker, without a page: verdict
re-derivation and filters of the song table, chart builders, run progress figures, the
library queries (SQLite and PostgreSQL) and the job worker's life cycle."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from dashboard import charts, song_table
from dashboard.job_worker import QueueWorker
from dashboard.library_queries import (
    find_songs,
    job_problems,
    matching_song_ids,
    open_job_ids,
    playlist_names,
    playlist_overviews,
    result_fields,
    song_playlists,
    table_songs,
)
from dashboard.runs import duration, progress_figures, start_runs
from pipelines.jobs import JobProgress, JobRunner, create_playlist_job, job_progress
from pipelines.store.library_view import library_songs, list_playlists, playlist_songs
from pipelines.store.models import Song, utcnow
from pipelines.store.repository import find_playlist, set_lyrics, set_override
from pipelines.taxonomy import load_taxonomy
from pipelines.verdict import rederive
from tests.fake_analyzers import fake_analyzer_set

TOP_HITS = "Top Hits Mix"


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


# ------------------------------------------------------------------ verdicts and filters


def test_rederive_keeps_the_engines_hold_back_of_approval(taxonomy):
    scores = dict.fromkeys(taxonomy.concern_keys, 0.0)
    # Not English: the engine said "review" although no concern is present.
    assert rederive(scores, "review", "balanced", taxonomy, "lenient", None).verdict == "review"
    scores["violence"] = 0.55  # present at balanced, under even "review" at lenient
    assert rederive(scores, "flagged", "balanced", taxonomy, "lenient", None).verdict == "approved"
    assert rederive(scores, "flagged", "balanced", taxonomy, "balanced", set()).verdict == "approved"
    assert rederive(scores, "flagged", "balanced", taxonomy, "strict", {"violence"}).verdict == "flagged"


def test_song_frame_marks_overrides_missing_results_and_old_versions(sample_sessions, taxonomy):
    analyzers = fake_analyzer_set()
    with sample_sessions.begin() as session:
        playlist_id = find_playlist(session, TOP_HITS).id
        job_id = create_playlist_job(session, playlist_id, profile=analyzers.profile, sensitivity="balanced").id
    JobRunner(sample_sessions, analyzers).run(job_id)
    with sample_sessions.begin() as session:
        songs = {s.title: s for s in session.scalars(select(Song))}
        set_override(session, songs["Crossroads Deal"].id, "flagged", "checked")
        set_lyrics(session, songs["Yellow Umbrella"], "new words entirely", "test")
        rows = playlist_songs(session, playlist_id)
        fields = result_fields(session, [r.analysis_id for r in rows])
    frame = song_table.song_frame(rows, fields, taxonomy, "balanced", None, current_version="fake-keywords-1")
    by_title = frame.set_index("title")
    assert by_title.loc["Crossroads Deal", "verdict"] == "flagged (override)" and by_title.loc["Crossroads Deal", "overridden"]
    assert by_title.loc["Yellow Umbrella", "status"] == "not analysed" and by_title.loc["Yellow Umbrella", "verdict"] == "—"
    assert by_title.loc["Block Don't Sleep", "concern_keys"] == ["profanity"]
    assert song_table.verdict_counts(frame) == {
        "analysis": {"approved": 5, "review": 2, "flagged": 1}, "override": {"approved": 0, "review": 0, "flagged": 1},
    }
    older = song_table.song_frame(rows, fields, taxonomy, "balanced", None, current_version="something-newer")
    assert set(older["status"]) == {"older analyzer version", "not analysed"}

    assert list(song_table.filter_frame(frame, verdicts=["unanalysed"])["title"]) == ["Yellow Umbrella"]
    assert set(song_table.filter_frame(frame, concerns=["materialism"])["title"]) == {"Champagne Skyline", "Crossroads Deal"}
    assert list(song_table.filter_frame(frame, text="BLOCK")["title"]) == ["Block Don't Sleep"]
    ordered = song_table.sort_frame(frame, "most concerning first")["title"].tolist()
    assert ordered[:2] == ["Block Don't Sleep", "Crossroads Deal"] and ordered[-1] == "Yellow Umbrella"


# ------------------------------------------------------------------ charts


def test_verdict_mix_stacks_overrides_apart():
    figure = charts.verdict_mix({"analysis": {"approved": 4, "review": 1, "flagged": 0},
                                 "override": {"approved": 0, "review": 0, "flagged": 2}})
    assert [t.name for t in figure.data] == ["by the analysis", "manual override"]
    assert list(figure.data[1].y) == [0, 0, 2] and figure.layout.barmode == "stack"
    plain = charts.verdict_mix(["approved", "flagged", "approved"])
    assert len(plain.data) == 1 and list(plain.data[0].y) == [2, 0, 1]


def test_label_counts_and_playlist_verdicts(taxonomy):
    names = {t.key: t.name for t in taxonomy.themes}
    figure = charts.label_counts([["worship", "hope"], ["hope"], []], ["worship", "hope", "death"], names, "Themes")
    assert list(figure.data[0].x) == ["Worship", "Hope", "Death"] and list(figure.data[0].y) == [1, 2, 0]
    mix = charts.playlist_verdicts(["A", "B"], [{"approved": 2}, {"flagged": 1}], [0, 3])
    assert [t.name for t in mix.data] == ["approved", "review", "flagged", "no result yet"]
    assert list(mix.data[3].x) == [0, 3]


# ------------------------------------------------------------------ runs


def _progress(**overrides) -> JobProgress:
    values = dict(job_id=1, title="t", playlist_id=1, profile="compact", sensitivity="balanced", status="running",
                  total=200, counts={"done": 40, "cached": 10, "failed": 2, "pending": 148}, rate=2.5, eta_seconds=59.2,
                  created_at=utcnow(), started_at=utcnow(), finished_at=None, heartbeat_at=None, lease_owner="x")
    values.update(overrides)
    return JobProgress(**values)


def test_progress_figures():
    figures = progress_figures(_progress())
    assert (figures.done, figures.rate, figures.eta, figures.failed, figures.cached) == ("52 / 200", "2.50/s", "59 s", 2, 10)
    assert figures.fraction == pytest.approx(0.26) and figures.is_open
    waiting = progress_figures(_progress(status="queued", rate=None, eta_seconds=None, counts={"pending": 200}))
    assert (waiting.done, waiting.rate, waiting.eta, waiting.fraction) == ("0 / 200", "—", "—", 0.0)
    finished = progress_figures(_progress(status="done", counts={"done": 200}, eta_seconds=0.0))
    assert (finished.eta, finished.fraction, finished.is_open) == ("finished", 1.0, False)
    assert duration(3725) == "1 h 02 min" and duration(125) == "2 min 05 s"


# ------------------------------------------------------------------ queries (every backend)


def test_library_queries(sample_sessions):
    analyzers = fake_analyzer_set()
    with sample_sessions.begin() as session:
        top = find_playlist(session, TOP_HITS).id
        runs = start_runs(session, [top], analyzers.profile, "balanced")
        again = start_runs(session, [top], analyzers.profile, "balanced")  # resumes, does not double
        assert [r.resumed for r in runs + again] == [False, True] and runs[0].job_id == again[0].job_id
        assert open_job_ids(session, analyzers.profile) == [runs[0].job_id] and open_job_ids(session, "hf") == []
        song = session.scalar(select(Song).where(Song.title == "Weekend Forever"))
        set_lyrics(session, song, "x" * 10, "test")
        session.add(Song(title="Silent 100%_done", identity_key="silent|", extra={}))  # no lyrics: skipped
    JobRunner(sample_sessions, analyzers).run(runs[0].job_id)
    with sample_sessions.begin() as session:
        rows = playlist_songs(session, top)
        fields = result_fields(session, [r.analysis_id for r in rows])
        assert len(fields) == 10
        block = fields[next(r.analysis_id for r in rows if r.title == "Block Don't Sleep")]
        assert block.concern_scores["profanity"] == 0.9 and block.sensitivity == "balanced" and block.verdict == "flagged"
        assert block.themes and block.themes[0] == "lament"
        assert {s for s in matching_song_ids(session, "UMBRELLA")} == {
            session.scalar(select(Song.id).where(Song.title == "Yellow Umbrella"))}
        assert len(matching_song_ids(session, "xxxxxxxxxx")) == 1  # found in the lyrics only
        assert not matching_song_ids(session, "xxxxxxxxxx", in_lyrics=False)
        assert [t for _, t, _ in find_songs(session, "100%_")] == ["Silent 100%_done"]  # % and _ are literal
        assert not find_songs(session, "100%x")
        membership = song_playlists(session)
        yellow = session.scalar(select(Song.id).where(Song.title == "Yellow Umbrella"))
        assert membership[yellow] == ["Top Hits Mix", "Youth Group Road Trip"]
        assert job_problems(session, runs[0].job_id) == []


# ------------------------------------------------------------------ the job worker


class _Ready:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: str | None = None


def test_worker_waits_for_the_models_then_works_queued_jobs_and_stops(sample_sessions):
    analyzers = fake_analyzer_set()
    warmup = _Ready()
    worker = QueueWorker(sample_sessions, warmup, lambda: analyzers, poll_seconds=0.2).start()
    try:
        with sample_sessions.begin() as session:
            job_id = create_playlist_job(session, find_playlist(session, TOP_HITS).id, profile=analyzers.profile,
                                         sensitivity="balanced").id
        time.sleep(0.5)
        assert worker.status.state == "waiting for models"
        with sample_sessions.begin() as session:
            assert job_progress(session, job_id).status == "queued"
        warmup.done.set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sample_sessions.begin() as session:
                if job_progress(session, job_id).status == "done":
                    break
            time.sleep(0.05)
        with sample_sessions.begin() as session:
            assert job_progress(session, job_id).counts == {"done": 10}
        # A job queued later is picked up at once when a page wakes the worker.
        with sample_sessions.begin() as session:
            second = create_playlist_job(session, find_playlist(session, "Sunday Worship Set").id,
                                         profile=analyzers.profile, sensitivity="balanced").id
        worker.wake()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sample_sessions.begin() as session:
                if job_progress(session, second).status == "done":
                    break
            time.sleep(0.05)
        assert worker.status.jobs_finished == 2
    finally:
        worker.stop()
    assert worker.status.state == "stopped"


def test_worker_reports_models_that_failed_to_load(sample_sessions):
    warmup = _Ready()
    warmup.error = "OSError: no weights"
    warmup.done.set()
    worker = QueueWorker(sample_sessions, warmup, fake_analyzer_set, poll_seconds=0.1).start()
    worker._thread.join(5)
    assert worker.status.state == "models failed" and "no weights" in worker.status.last_error


def test_worker_leaves_a_job_another_live_runner_holds(sample_sessions):
    analyzers = fake_analyzer_set()
    with sample_sessions.begin() as session:
        job_id = create_playlist_job(session, find_playlist(session, TOP_HITS).id, profile=analyzers.profile,
                                     sensitivity="balanced").id
    other = JobRunner(sample_sessions, analyzers, lease_seconds=60, owner="elsewhere:1:abc")
    assert other.claim(job_id)
    warmup = _Ready()
    warmup.done.set()
    worker = QueueWorker(sample_sessions, warmup, lambda: analyzers, poll_seconds=0.1).start()
    try:
        time.sleep(0.6)
        with sample_sessions.begin() as session:
            progress = job_progress(session, job_id)
        assert progress.lease_owner == "elsewhere:1:abc" and progress.finished == 0
        assert worker.status.jobs_finished == 0
    finally:
        worker.stop()


def test_light_table_queries_agree_with_the_storage_views(sample_sessions):
    """``table_songs`` and ``playlist_overviews`` read less than ``library_view`` (no whole
    stored results) but must say the same about every song and playlist."""
    analyzers = fake_analyzer_set()
    with sample_sessions.begin() as session:
        top = find_playlist(session, TOP_HITS).id
        youth = find_playlist(session, "Youth Group Road Trip").id
        job_id = create_playlist_job(session, top, profile=analyzers.profile, sensitivity="balanced").id
    JobRunner(sample_sessions, analyzers).run(job_id)
    with sample_sessions.begin() as session:
        songs = {s.title: s for s in session.scalars(select(Song))}
        set_override(session, songs["Ex Files"].id, "approved", "fine")
        set_lyrics(session, songs["Yellow Umbrella"], "changed words", "test")
    keep = ("song_id", "position", "title", "verdict", "analysed_verdict", "score", "emotion", "top_theme", "concerns",
            "analysis_id", "override_verdict", "has_lyrics")
    with sample_sessions.begin() as session:
        rows, fields = table_songs(session, [top, youth])
        expected = playlist_songs(session, top) + [r for r in playlist_songs(session, youth)
                                                   if r.song_id not in {x.song_id for x in playlist_songs(session, top)}]
        assert [[getattr(r, k) for k in keep] for r in rows] == [[getattr(r, k) for k in keep] for r in expected]
        assert set(fields) == {r.analysis_id for r in rows if r.analysis_id}
        everything, _ = table_songs(session)
        assert [r.song_id for r in everything] == [r.song_id for r in library_songs(session)]
        overviews = {o.name: o for o in playlist_overviews(session)}
        for summary in list_playlists(session):
            overview = overviews[summary.name]
            assert (overview.songs, overview.with_lyrics, overview.analysed, overview.verdicts) == (
                summary.songs, summary.with_lyrics, summary.analysed, summary.verdicts)
        assert playlist_names(session) == {s.id: s.name for s in list_playlists(session)}


def test_the_server_entry_routes_every_request_through_the_router():
    """A first visitor's deep link (``/admin``) must go through ``router.py``'s navigation,
    not Streamlit's automatic ``pages/`` list (which would skip the router)."""
    import subprocess
    import sys
    from pathlib import Path

    probe = ("import app; from streamlit.runtime.pages_manager import PagesManager; "
             "print(PagesManager.uses_pages_directory)")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
