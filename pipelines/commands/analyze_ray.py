"""``python -m pipelines analyze ... --engine ray``: the analyze command on a Ray cluster.

``--input``/``--output`` appends one JSON line per song as each batch comes back (in the
order batches finish, each line with its id), resuming an earlier run's file as the local
engine does (``pipelines.results_file``). ``--playlist`` works the same durable job
as the local engine, so an interrupted run resumes and cached songs are not redone.
"""

from __future__ import annotations

import argparse
import sys

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
    from pipelines.commands.analyze_file import plan_output, read_input, write_results
    from pipelines.ray_engine import analyze_on_ray
    from pipelines.settings import get_settings

    read = read_input(args)  # the same checks and limits as the local file mode
    if isinstance(read, int):
        return read
    songs, problems = read
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    options = _options(args)
    identity = _identity(args, options)
    plan = plan_output(args, songs, identity.version, sensitivity)  # what an earlier run finished is kept
    if isinstance(plan, int):
        return plan
    todo = plan.todo
    records = [{"key": n, "title": s.title, "artist": s.artist, "lyrics": s.lyrics} for n, s in enumerate(todo)]
    batches = (
        [(todo[key], outcome) for key, outcome in batch.outcomes]
        for batch in analyze_on_ray(records, options, profile=identity.profile, sensitivity=sensitivity)
    )
    return write_results(plan, batches, problems)


def _run_playlist(args: argparse.Namespace) -> int:
    from pipelines.commands.analyze_playlist import work_playlist_job
    from pipelines.commands.library_session import open_library, playlist_id_or_none
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
    runner = RayJobRunner(sessions, identity, options)
    return work_playlist_job(sessions, runner, playlist_id, args.playlist, identity.profile, sensitivity, where=" on Ray")
