"""Durable jobs and the results cache: cache hits and invalidation, failures per song,
cancel, one runner per job, stale-lease takeover without analysing anything twice."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from pipelines.jobs import (
    JobRunner,
    cancel_job,
    create_job,
    create_playlist_job,
    find_open_job,
    job_progress,
)
from pipelines.store.library_view import playlist_songs
from pipelines.store.models import Analysis, AnalysisJob, AnalysisJobItem, Song, utcnow
from pipelines.store.repository import find_playlist, set_lyrics, set_override

PLAYLIST = "Top Hits Mix"  # 10 sample songs


def _playlist_job(sessions, analyzers, name: str = PLAYLIST) -> int:
    with sessions.begin() as session:
        playlist = find_playlist(session, name)
        return create_playlist_job(session, playlist.id, profile=analyzers.profile, sensitivity="balanced").id


def _analyses_per_song(sessions, version: str) -> dict[int, int]:
    with sessions.begin() as session:
        return dict(
            session.execute(
                select(Analysis.song_id, func.count()).where(Analysis.analyzer_version == version).group_by(Analysis.song_id)
            ).all()
        )


def test_a_playlist_job_analyses_every_song_then_the_cache_answers(sample_sessions, analyzers):
    job_id = _playlist_job(sample_sessions, analyzers)
    seen = []
    outcome = JobRunner(sample_sessions, analyzers, batch_size=4).run(job_id, on_batch=seen.append)
    assert (outcome.status, outcome.analysed, outcome.cached) == ("done", 10, 0)
    assert [p.finished for p in seen] == [4, 8, 10]  # committed batch by batch
    with sample_sessions.begin() as session:
        progress = job_progress(session, job_id)
        rows = playlist_songs(session, find_playlist(session, PLAYLIST).id, analyzers.version, with_results=True)
    assert progress.status == "done" and progress.counts == {"done": 10} and progress.rate > 0
    assert all(r.verdict in {"approved", "review", "flagged"} for r in rows)
    stored = rows[0].analysis
    assert set(stored.scores) == {"concerns", "themes", "emotions", "sentiments"}  # raw distributions kept
    assert stored.analyzer.version == analyzers.version

    again = JobRunner(sample_sessions, analyzers).run(_playlist_job(sample_sessions, analyzers))
    assert (again.analysed, again.cached) == (0, 10)
    assert set(_analyses_per_song(sample_sessions, analyzers.version).values()) == {1}


def test_changed_lyrics_or_analyzer_version_reanalyse_exactly_those_songs(sample_sessions, analyzers):
    JobRunner(sample_sessions, analyzers).run(_playlist_job(sample_sessions, analyzers))
    with sample_sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Yellow Umbrella"))
        assert set_lyrics(session, song, "Rain on the window\nI am glad you are here", "test") == "changed"
        set_override(session, song.id, "flagged", "checked by hand")
    outcome = JobRunner(sample_sessions, analyzers).run(_playlist_job(sample_sessions, analyzers))
    assert (outcome.analysed, outcome.cached) == (1, 9)
    with sample_sessions.begin() as session:
        rows = playlist_songs(session, find_playlist(session, PLAYLIST).id, analyzers.version)
        row = next(r for r in rows if r.title == "Yellow Umbrella")
        # The override outlives re-analysis; the old analysis stays as history.
        assert (row.verdict, row.override_note) == ("flagged", "checked by hand")
        assert session.scalar(select(func.count(Analysis.id)).where(Analysis.song_id == row.song_id)) == 2

    newer = dataclasses.replace(analyzers, version=analyzers.version + "-next")
    outcome = JobRunner(sample_sessions, newer).run(_playlist_job(sample_sessions, newer))
    assert (outcome.analysed, outcome.cached) == (10, 0)


def test_failures_are_recorded_per_song_and_songs_without_lyrics_are_skipped(sample_sessions, analyzers, monkeypatch):
    with sample_sessions.begin() as session:
        songs = session.scalars(select(Song).order_by(Song.id).limit(3)).all()
        set_lyrics(session, songs[0], "word " * 300_000, "test")  # over DISCERN_MAX_LYRICS_BYTES
        bare = Song(title="No Words", identity_key="no words|", extra={})
        session.add(bare)
        session.flush()
        job_id = create_job(session, [songs[0].id, bare.id, songs[1].id], title="mixed",
                            profile=analyzers.profile, sensitivity="balanced").id
    outcome = JobRunner(sample_sessions, analyzers).run(job_id)
    assert (outcome.status, outcome.analysed, outcome.failed, outcome.skipped) == ("done", 1, 1, 1)
    with sample_sessions.begin() as session:
        items = {i.song_id: i for i in session.scalars(select(AnalysisJobItem).where(AnalysisJobItem.job_id == job_id))}
    assert items[songs[0].id].status == "failed" and "DISCERN_MAX_LYRICS_BYTES" in items[songs[0].id].error
    assert items[bare.id].status == "skipped" and "no lyrics" in items[bare.id].error
    assert items[songs[1].id].status == "done" and items[songs[1].id].analysis_id is not None


def test_cancel_stops_before_the_next_batch_and_keeps_what_was_done(sample_sessions, analyzers):
    job_id = _playlist_job(sample_sessions, analyzers)

    def cancel_after_first_batch(progress):
        with sample_sessions.begin() as session:
            assert cancel_job(session, job_id)

    outcome = JobRunner(sample_sessions, analyzers, batch_size=3).run(job_id, on_batch=cancel_after_first_batch)
    assert (outcome.status, outcome.analysed) == ("cancelled", 3)
    with sample_sessions.begin() as session:
        progress = job_progress(session, job_id)
        assert progress.counts == {"done": 3, "cancelled": 7}
        assert progress.lease_owner is None
        assert find_open_job(session, progress.playlist_id, analyzers.profile) is None
        assert not cancel_job(session, job_id)  # already over
    assert JobRunner(sample_sessions, analyzers).run(job_id).status == "cancelled"  # nothing to resume


def test_only_one_runner_works_a_job(sample_sessions, analyzers):
    job_id = _playlist_job(sample_sessions, analyzers)
    first = JobRunner(sample_sessions, analyzers, batch_size=2)
    second = JobRunner(sample_sessions, analyzers, batch_size=2)
    assert first.claim(job_id)
    assert not second.claim(job_id)
    assert second.run(job_id).status == "busy"
    assert first.run(job_id).status == "done"
    assert set(_analyses_per_song(sample_sessions, analyzers.version).values()) == {1}


def test_two_runners_racing_on_one_job_analyse_each_song_once(sample_sessions, analyzers):
    job_id = _playlist_job(sample_sessions, analyzers)
    runners = [JobRunner(sample_sessions, analyzers, batch_size=1) for _ in range(2)]
    outcomes = []
    threads = [threading.Thread(target=lambda r=r: outcomes.append(r.run(job_id))) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(o.status for o in outcomes) in (["busy", "done"], ["done", "done"])
    assert sum(o.analysed for o in outcomes) == 10
    assert _analyses_per_song(sample_sessions, analyzers.version) == dict.fromkeys(
        _analyses_per_song(sample_sessions, analyzers.version), 1
    )
    assert len(_analyses_per_song(sample_sessions, analyzers.version)) == 10


def test_a_stale_lease_is_taken_over_and_the_old_runner_cannot_store_its_batch(sample_sessions, analyzers):
    job_id = _playlist_job(sample_sessions, analyzers)
    old = JobRunner(sample_sessions, analyzers, batch_size=4, owner="elsewhere:1:dead")
    assert old.claim(job_id)
    in_flight = old._claim_batch(job_id)  # the old runner is mid-batch when it stalls
    assert len(in_flight) == 4
    new = JobRunner(sample_sessions, analyzers, batch_size=4)
    assert not new.claim(job_id)  # the lease is still valid: wait
    with sample_sessions.begin() as session:
        session.execute(update(AnalysisJob).where(AnalysisJob.id == job_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert new.run(job_id).status == "done"
    # The stalled runner wakes up and finishes its batch: none of it is stored.
    assert old._work(job_id, "balanced", in_flight) == {"done": 0, "cached": 0, "failed": 0, "skipped": 0}
    assert set(_analyses_per_song(sample_sessions, analyzers.version).values()) == {1}
    with sample_sessions.begin() as session:
        statuses = set(session.scalars(select(AnalysisJobItem.status).where(AnalysisJobItem.job_id == job_id)))
    assert statuses == {"done"}


def test_a_runner_refuses_a_job_of_another_profile(sample_sessions, analyzers):
    with sample_sessions.begin() as session:
        job_id = create_job(session, [1], title="x", profile="hf", sensitivity="balanced").id
    with pytest.raises(ValueError, match="profile"):
        JobRunner(sample_sessions, analyzers).claim(job_id)


def test_run_queued_works_every_waiting_job_oldest_first(sample_sessions, analyzers):
    first = _playlist_job(sample_sessions, analyzers)
    second = _playlist_job(sample_sessions, analyzers, "Sunday Worship Set")
    outcomes = JobRunner(sample_sessions, analyzers).run_queued()
    assert [(o.job_id, o.status) for o in outcomes] == [(first, "done"), (second, "done")]
    assert JobRunner(sample_sessions, analyzers).run_queued() == []
