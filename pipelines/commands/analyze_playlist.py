"""``python -m pipelines analyze --playlist NAME``: analyse a library playlist through a
durable job. Re-running after an interruption resumes the same job; songs whose lyrics
were already analysed by this analyzer version come from the results cache."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.library_session import open_library, playlist_id_or_none


def run_playlist(args: argparse.Namespace) -> int:
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.jobs import JobRunner
    from pipelines.settings import get_settings

    sessions = open_library()
    with sessions.begin() as session:
        playlist_id = playlist_id_or_none(session, args.playlist)
    if playlist_id is None:
        return 2
    analyzers = load_analyzers(args.profile)
    for notice in analyzers.notices:
        print(f"notice: {notice}", file=sys.stderr)
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    runner = JobRunner(sessions, analyzers, batch_size=args.batch_size)
    return work_playlist_job(sessions, runner, playlist_id, args.playlist, analyzers.profile, sensitivity)


def work_playlist_job(sessions, runner, playlist_id: int, name: str, profile: str, sensitivity: str, where: str = "") -> int:
    """Resume the playlist's open job (or create one) and work it with ``runner`` to the end,
    with a progress bar; the exit code says how it ended. Shared by the local and Ray engines."""
    from tqdm import tqdm

    from pipelines.jobs import create_playlist_job, find_open_job, job_progress

    with sessions.begin() as session:
        job = find_open_job(session, playlist_id, profile)
        resumed = job is not None
        if job is None:
            job = create_playlist_job(session, playlist_id, profile=profile, sensitivity=sensitivity)
        job_id = job.id
        progress = job_progress(session, job_id)
    print(f"{'resuming' if resumed else 'started'} job {job_id}{where}: {progress.total} songs of {name!r}",
          file=sys.stderr)
    with tqdm(total=progress.total, initial=progress.finished, unit="song", file=sys.stderr) as bar:
        outcome = runner.run(job_id, on_batch=lambda update: bar.update(update.finished - bar.n))
    if outcome.status == "busy":
        print(f"error: job {job_id} is being worked by another runner; try again when it stops", file=sys.stderr)
        return 3
    with sessions.begin() as session:
        final = job_progress(session, job_id)
    counts = final.counts
    print(
        f"job {job_id} {final.status}: {final.total} songs, {counts.get('done', 0)} analysed,"
        f" {counts.get('cached', 0)} from the cache, {counts.get('failed', 0)} failed,"
        f" {counts.get('skipped', 0)} without lyrics", file=sys.stderr,
    )
    return 0 if final.status == "done" and not final.failed else 1
