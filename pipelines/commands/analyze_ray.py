"""``python -m pipelines analyze ... --engine ray``: the analyze command on a Ray cluster.

``--input``/``--output`` writes one JSON line per song as each batch comes back (in the
order batches finish, each line with its id). ``--playlist`` works the same durable job
as the local engine, so an interrupted run resumes and cached songs are not redone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RAY_OPTIONS = ("address", "actors", "cpus_per_actor", "ray_batch_size")


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scale-out on Ray (needs the 'ray' extra: pip install -r requirements-ray.txt)")
    group.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="where the models run: this process (default) or Ray actors")
    group.add_argument("--address", default=None,
                       help="Ray cluster to use: 'auto' (this node's), host:6379 or ray://host:10001"
                            " (default: DISCERN_RAY_ADDRESS, else RAY_ADDRESS, else a Ray started on this machine)")
    group.add_argument("--actors", type=int, default=None,
                       help="Ray actors, each holding one copy of the models (default: cluster CPUs / --cpus-per-actor)")
    group.add_argument("--cpus-per-actor", type=float, default=None, help="CPUs each actor reserves (default 1)")
    group.add_argument("--ray-batch-size", type=int, default=None,
                       help="songs per actor call and per committed batch (default: DISCERN_JOB_BATCH_SIZE)")


def check_ray_arguments(args: argparse.Namespace) -> None:
    """Ray options make no sense with the local engine: say so instead of ignoring them."""
    given = [f"--{name.replace('_', '-')}" for name in RAY_OPTIONS if getattr(args, name) is not None]
    if args.engine != "ray" and given:
        args.parser.error(f"{', '.join(given)} go with --engine ray")
    for name in ("actors", "cpus_per_actor", "ray_batch_size"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            args.parser.error(f"--{name.replace('_', '-')} must be positive")


def _options(args: argparse.Namespace):
    from pipelines.ray_engine import RayOptions
    from pipelines.settings import get_settings

    return RayOptions(
        address=args.address or get_settings().discern_ray_address or None,
        actors=args.actors,
        cpus_per_actor=args.cpus_per_actor or 1.0,
        batch_size=args.ray_batch_size or args.batch_size,
    )


def run_ray(args: argparse.Namespace) -> int:
    from pipelines.ray_engine import RayRunError, RayUnavailable, require_ray

    try:
        require_ray()
    except RayUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        return _run_playlist(args) if args.playlist is not None else _run_file(args)
    except RayRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _identity(args: argparse.Namespace, options):
    from pipelines.ray_engine import connect, probe_identity

    connect(options.address)
    identity = probe_identity(args.profile, options)
    for notice in identity.notices:
        print(f"notice: {notice}", file=sys.stderr)
    return identity


def _run_file(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipelines.engine import AnalysisFailure
    from pipelines.ray_engine import analyze_on_ray
    from pipelines.settings import get_settings
    from pipelines.songfiles import RowProblem, read_songs

    source = Path(args.input)
    if not source.is_file():
        print(f"error: input file {source} does not exist", file=sys.stderr)
        return 2
    limit_mb = get_settings().discern_max_upload_mb  # the same limit as the local file mode
    if source.stat().st_size > limit_mb * 2**20:
        print(f"error: {source} is {source.stat().st_size / 2**20:.1f} MB, over the {limit_mb} MB limit"
              " (DISCERN_MAX_UPLOAD_MB)", file=sys.stderr)
        return 2
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    problems: list[RowProblem] = []
    songs = [song for song, _ in read_songs(source, problems)]
    options = _options(args)
    identity = _identity(args, options)
    records = [{"key": n, "title": s.title, "artist": s.artist, "lyrics": s.lyrics} for n, s in enumerate(songs)]
    failures = 0
    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as out, tqdm(total=len(songs), unit="song", file=sys.stderr) as bar:
        for batch in analyze_on_ray(records, options, profile=identity.profile, sensitivity=sensitivity):
            for key, outcome in batch.outcomes:
                song = songs[key]
                if isinstance(outcome, AnalysisFailure):
                    failures += 1
                    record = {"id": song.id, "error": outcome.error}
                else:
                    record = {"id": song.id, **outcome.to_dict()}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()  # an interrupted run keeps every batch that came back
            bar.update(len(batch.outcomes))
    for problem in problems:
        print(f"skipped row {problem.row}: {problem.message}", file=sys.stderr)
    print(
        f"analysed {len(songs) - failures} of {len(songs)} songs into {out_path}"
        f" ({failures} failed, {len(problems)} unreadable rows)",
        file=sys.stderr,
    )
    return 0 if not failures and not problems else 1


def _run_playlist(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipelines.commands.library_session import open_library, playlist_id_or_none
    from pipelines.jobs import create_playlist_job, find_open_job, job_progress
    from pipelines.ray_jobs import RayJobRunner
    from pipelines.settings import get_settings

    sessions = open_library()
    with sessions.begin() as session:
        playlist_id = playlist_id_or_none(session, args.playlist)
    if playlist_id is None:
        return 2
    options = _options(args)
    identity = _identity(args, options)
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    with sessions.begin() as session:
        job = find_open_job(session, playlist_id, identity.profile)
        resumed = job is not None
        if job is None:
            job = create_playlist_job(session, playlist_id, profile=identity.profile, sensitivity=sensitivity)
        progress = job_progress(session, job.id)
    print(f"{'resuming' if resumed else 'started'} job {job.id} on Ray: {progress.total} songs of {args.playlist!r}",
          file=sys.stderr)
    runner = RayJobRunner(sessions, identity, options)
    with tqdm(total=progress.total, initial=progress.finished, unit="song", file=sys.stderr) as bar:
        outcome = runner.run(job.id, on_batch=lambda update: bar.update(update.finished - bar.n))
    if outcome.status == "busy":
        print(f"error: job {job.id} is being worked by another runner; try again when it stops", file=sys.stderr)
        return 3
    with sessions.begin() as session:
        final = job_progress(session, job.id)
    counts = final.counts
    print(
        f"job {job.id} {final.status}: {final.total} songs, {counts.get('done', 0)} analysed,"
        f" {counts.get('cached', 0)} from the cache, {counts.get('failed', 0)} failed,"
        f" {counts.get('skipped', 0)} without lyrics", file=sys.stderr,
    )
    return 0 if final.status == "done" and not final.failed else 1
