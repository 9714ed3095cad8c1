"""The Ray engine on a real local Ray (2 CPUs): the same results as the local engine on the
sample library, the same job rules (cache, cancel, stop and resume, a SIGKILLed run
resumed without redoing anything, in the file mode too), on SQLite and PostgreSQL; and the
message when the optional extra is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kill_support import complete_lines, kill_after_done, kill_after_lines
from sqlalchemy import delete, func, select

from pipelines.engine import AnalysisFailure, SongInput, analyze_songs
from pipelines.importers.sample_library import SAMPLE_LIBRARY_PATH
from pipelines.ray_engine import RAY_MISSING, RayOptions, RayUnavailable, require_ray
from pipelines.store.models import Analysis, AnalysisJob, AnalysisJobItem, Lyrics, Song

ROOT = Path(__file__).resolve().parent.parent
PLAYLIST = "Everything"
SAMPLE_SONGS = json.loads(SAMPLE_LIBRARY_PATH.read_text(encoding="utf-8"))["songs"]


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray for the module (Ray 2.60 has no local mode); its address for CLI runs."""
    import ray

    from pipelines.ray_engine import job_runtime_env

    ray.init(num_cpus=2, include_dashboard=False, runtime_env=job_runtime_env())
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_results(analyzers) -> dict[str, dict]:
    """The local engine's results for the sample library, by song id (timings left out)."""
    songs = [SongInput(s["id"], s["lyrics"], s["title"], s["artist"]) for s in SAMPLE_SONGS]
    return {song.id: _comparable(outcome) for song, outcome in analyze_songs(songs, analyzers, "balanced")}


def _comparable(outcome) -> dict:
    assert not isinstance(outcome, AnalysisFailure), outcome
    data = outcome if isinstance(outcome, dict) else outcome.to_dict()
    return {k: v for k, v in data.items() if k not in {"timings", "id"}}


def _cli(*args: str, database_url: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "DISCERN_LOAD_SAMPLE_LIBRARY": "0", "HF_HUB_OFFLINE": "1"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-m", "pipelines", "analyze", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _everything_job(sessions, profile: str) -> int:
    from pipelines.jobs import create_job

    with sessions.begin() as session:
        song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))
        return create_job(session, song_ids, title=PLAYLIST, profile=profile, sensitivity="balanced").id


def _stored(sessions, job_id: int) -> dict[int, tuple[str, int | None]]:
    with sessions.begin() as session:
        return {item.song_id: (item.status, item.analysis_id)
                for item in session.scalars(select(AnalysisJobItem).where(AnalysisJobItem.job_id == job_id))}


# --- the optional extra ------------------------------------------------------------------


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(RayUnavailable, match="pip install -r requirements-ray.txt"):
        require_ray()

    source = tmp_path / "songs.jsonl"
    source.write_text(json.dumps({"id": "s1", "lyrics": "Holy holy Lord"}) + "\n", encoding="utf-8")
    blocked = ("import sys; sys.modules['ray'] = None; from pipelines.__main__ import main; "
               f"sys.exit(main(['analyze', '--input', {str(source)!r}, '--output', {str(tmp_path / 'out.jsonl')!r},"
               " '--engine', 'ray']))")
    proc = subprocess.run([sys.executable, "-c", blocked], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert RAY_MISSING in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_ray_options_go_with_the_ray_engine_only(tmp_path, capsys):
    from pipelines.__main__ import main

    source = tmp_path / "songs.jsonl"
    source.write_text(json.dumps({"id": "s1", "lyrics": "Holy holy Lord"}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "--input", str(source), "--output", str(tmp_path / "o.jsonl"), "--actors", "2"])
    assert exit_.value.code == 2 and "--actors go with --engine ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["analyze", "--input", str(source), "--output", str(tmp_path / "o.jsonl"), "--engine", "ray",
              "--cpus-per-actor", "0"])
    assert "--cpus-per-actor must be positive" in capsys.readouterr().err


# --- same results as the local engine ----------------------------------------------------


@pytest.mark.slow
def test_the_cli_file_mode_on_ray_gives_the_local_engines_results(ray_address, local_results, tmp_path):
    source, out = tmp_path / "sample.jsonl", tmp_path / "ray.jsonl"
    source.write_text("".join(json.dumps({k: s[k] for k in ("id", "title", "artist", "lyrics")}) + "\n"
                              for s in SAMPLE_SONGS), encoding="utf-8")
    proc = _cli("--input", str(source), "--output", str(out), "--engine", "ray", "--address", ray_address,
                "--actors", "2", "--ray-batch-size", "5")
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    assert f"analysed {len(SAMPLE_SONGS)} of {len(SAMPLE_SONGS)} songs" in stderr
    results = {record["id"]: _comparable(record) for record in map(json.loads, out.read_text().splitlines())}
    assert results == local_results  # verdicts, scores, evidence, version: everything but timings


@pytest.mark.slow
def test_the_dashboards_worker_runs_jobs_on_the_configured_ray_with_the_local_engines_results(
    ray_address, sample_sessions, analyzers, local_results, monkeypatch
):
    from dashboard.job_worker import QueueWorker
    from pipelines.jobs import JobRunner, job_progress
    from pipelines.ray_jobs import RayJobRunner, job_runner_for
    from pipelines.settings import get_settings

    assert type(job_runner_for(sample_sessions, analyzers)) is JobRunner  # DISCERN_RAY_ADDRESS empty: local
    monkeypatch.setenv("DISCERN_RAY_ADDRESS", ray_address)
    monkeypatch.setenv("DISCERN_JOB_BATCH_SIZE", "6")
    get_settings.cache_clear()
    try:
        assert isinstance(job_runner_for(sample_sessions, analyzers), RayJobRunner)
        warmup = type("Ready", (), {"done": threading.Event(), "error": None})()
        warmup.done.set()
        job_id = _everything_job(sample_sessions, analyzers.profile)  # what the runs page queues
        worker = QueueWorker(sample_sessions, warmup, lambda: analyzers, poll_seconds=0.2).start()
        seen, deadline = [], time.monotonic() + 240
        try:
            while time.monotonic() < deadline:
                with sample_sessions.begin() as session:
                    progress = job_progress(session, job_id)  # what the dashboard shows
                seen.append(progress.finished)
                if progress.status == "done":
                    break
                time.sleep(0.05)
        finally:
            worker.stop()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert progress.status == "done" and progress.counts == {"done": 36}, worker.status
    assert any(0 < n < 36 for n in seen)  # committed batch by batch while it ran
    with sample_sessions.begin() as session:
        stored = session.execute(select(Song.title, Analysis.result).join(Analysis, Analysis.song_id == Song.id)).all()
        assert session.get(AnalysisJob, job_id).lease_owner is None
    by_title = {s["title"]: s["id"] for s in SAMPLE_SONGS}
    assert {by_title[title]: _comparable(result) for title, result in stored} == local_results

    rerun = RayJobRunner(sample_sessions, analyzers, RayOptions(actors=2, batch_size=6))
    outcome = rerun.run(_everything_job(sample_sessions, analyzers.profile))
    assert (outcome.status, outcome.analysed, outcome.cached) == ("done", 0, 36)  # nothing went to Ray
    with sample_sessions.begin() as session:
        assert session.scalar(select(func.count(Analysis.id))) == 36



@pytest.mark.slow
def test_a_killed_ray_file_run_resumes_without_redoing_what_it_finished(ray_address, local_results, tmp_path):
    source, out = tmp_path / "sample.jsonl", tmp_path / "ray.jsonl"
    source.write_text("".join(json.dumps({k: s[k] for k in ("id", "title", "artist", "lyrics")}) + "\n"
                              for s in SAMPLE_SONGS), encoding="utf-8")
    args = ("--input", str(source), "--output", str(out), "--engine", "ray", "--address", ray_address,
            "--actors", "1", "--ray-batch-size", "1")
    kill_after_lines(_cli(*args), out, 3, timeout=180)
    before = complete_lines(out)
    assert 3 <= len(before) < len(SAMPLE_SONGS), "kill the run half way, not after it finished"

    rerun = _cli(*args)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]
    left = len(SAMPLE_SONGS) - len(before)
    assert f"resuming {out}: {len(before)} songs already analysed kept, {left} left to analyse" in stderr
    assert f"analysed {left} of {left} songs" in stderr  # only those went to Ray
    after = out.read_bytes().splitlines(keepends=True)
    assert after[: len(before)] == before  # kept byte for byte (timings too): not analysed again
    records = [json.loads(line) for line in after]
    assert sorted(r["id"] for r in records) == sorted(local_results)  # each song exactly once
    assert {r["id"]: _comparable(r) for r in records} == local_results


# --- the job rules: stop and resume, cancel, a killed run --------------------------------


@pytest.mark.slow
def test_a_stopped_ray_job_resumes_where_it_stopped_and_a_cancel_ends_it(ray_address, sample_sessions, analyzers):
    from pipelines.jobs import cancel_job
    from pipelines.ray_jobs import RayJobRunner

    options = RayOptions(actors=1, batch_size=4)
    with sample_sessions.begin() as session:  # a song without lyrics is skipped, as locally, without Ray
        session.execute(delete(Lyrics).where(Lyrics.song_id == session.scalar(select(func.max(Song.id)))))
    job_id = _everything_job(sample_sessions, analyzers.profile)
    batches = []
    stopped = RayJobRunner(sample_sessions, analyzers, options).run(
        job_id, on_batch=batches.append, should_stop=lambda: len(batches) >= 2
    )
    # 35 songs to analyse in 9 blocks of at most 4: two batches are 7 or 8 songs.
    assert (stopped.status, stopped.skipped) == ("running", 1) and stopped.analysed in (7, 8)
    before = _stored(sample_sessions, job_id)
    done_before = {song: ids for song, ids in before.items() if ids[0] == "done"}
    statuses = [status for status, _ in before.values()]
    assert len(done_before) == stopped.analysed
    assert (statuses.count("skipped"), statuses.count("pending")) == (1, 35 - stopped.analysed)  # none left claimed
    with sample_sessions.begin() as session:
        assert session.get(AnalysisJob, job_id).lease_owner is None

    def cancel(progress) -> None:  # the runs page's cancel button, after the resumed run's first batch
        with sample_sessions.begin() as session:
            cancel_job(session, job_id)

    resumed = RayJobRunner(sample_sessions, analyzers, options).run(job_id, on_batch=cancel)
    assert resumed.status == "cancelled" and resumed.analysed in (3, 4)  # the batch in flight is kept
    after = _stored(sample_sessions, job_id)
    assert {song: after[song] for song in done_before} == done_before  # kept, not redone
    statuses = [status for status, _ in after.values()]
    done = len(done_before) + resumed.analysed
    assert (statuses.count("done"), statuses.count("skipped"), statuses.count("cancelled")) == (done, 1, 35 - done)
    with sample_sessions.begin() as session:
        assert session.get(AnalysisJob, job_id).lease_owner is None
        assert session.scalar(select(func.count(Analysis.id))) == done




def test_a_ray_job_rides_out_broken_connections_and_stores_each_song_once(ray_address, sample_sessions, analyzers):
    """Every database step of the Ray runner goes through the runner's retry: connections
    that break before a step or after a commit the runner never saw cost nothing."""
    import random

    from pipelines.ray_jobs import RayJobRunner
    from tests.test_reliability_jobs import BreakingSessions

    job_id = _everything_job(sample_sessions, analyzers.profile)
    rng = random.Random(7)
    plan = {call: rng.choice(["before", "after"]) for call in rng.sample(range(1, 25), 10)}
    breaking = BreakingSessions(sample_sessions, plan)
    runner = RayJobRunner(breaking, analyzers, RayOptions(actors=1, batch_size=6))
    runner.database_retry.sleep = lambda _seconds: None
    outcome = runner.run(job_id)
    assert outcome.status == "done" and breaking.calls > max(plan)  # every planned break happened
    stored = _stored(sample_sessions, job_id)
    assert {status for status, _ in stored.values()} == {"done"} and len(stored) == len(SAMPLE_SONGS)
    with sample_sessions.begin() as session:
        assert session.scalar(select(func.count(Analysis.id))) == len(SAMPLE_SONGS)  # each song once
        assert session.get(AnalysisJob, job_id).lease_owner is None


@pytest.mark.slow
def test_a_killed_ray_run_resumes_and_analyses_every_song_exactly_once(ray_address, sample_sessions, database_url):
    from pipelines.store.repository import sync_playlist

    with sample_sessions.begin() as session:
        song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))
        sync_playlist(session, PLAYLIST, song_ids)
    args = ("--playlist", PLAYLIST, "--engine", "ray", "--address", ray_address, "--actors", "1",
            "--ray-batch-size", "1")
    process = _cli(*args, database_url=database_url)
    kill_after_done(process, sample_sessions, 3, timeout=180)

    with sample_sessions.begin() as session:
        job = session.scalar(select(AnalysisJob))
        assert job.status == "running" and job.lease_owner  # left behind by the dead driver
        done_before = {item.song_id: (item.analysis_id, item.finished_at) for item in
                       session.scalars(select(AnalysisJobItem).where(AnalysisJobItem.status == "done"))}
        created_before = dict(session.execute(select(Analysis.id, Analysis.created_at)).all())
    assert 3 <= len(done_before) < len(song_ids), "kill the run half way, not after it finished"

    rerun = _cli(*args, database_url=database_url)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr[-3000:]
    assert f"resuming job {job.id} on Ray" in stderr
    assert f"{len(song_ids)} songs, {len(song_ids)} analysed" in stderr

    with sample_sessions.begin() as session:
        assert session.scalar(select(func.count(AnalysisJob.id))) == 1
        items = session.scalars(select(AnalysisJobItem)).all()
        assert {item.status for item in items} == {"done"} and len(items) == len(song_ids)
        per_song = dict(session.execute(select(Analysis.song_id, func.count()).group_by(Analysis.song_id)).all())
        assert per_song == dict.fromkeys(song_ids, 1)  # every song, exactly once
        for item in items:  # what was finished before the kill was kept, not redone
            if item.song_id in done_before:
                assert (item.analysis_id, item.finished_at) == done_before[item.song_id]
        created_after = dict(session.execute(select(Analysis.id, Analysis.created_at)).all())
        assert {k: created_after[k] for k in created_before} == created_before
        assert session.scalar(select(AnalysisJob.status)) == "done"
