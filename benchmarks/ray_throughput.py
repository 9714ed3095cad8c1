"""``python -m benchmarks.ray_throughput``: songs/s of the local engine and of the Ray engine.

    python -m benchmarks.ray_throughput [--songs 300] [--batch-size 32] [--ray 1x1,2x1,1x2] [--rounds 2] [--json FILE]

On one synthetic library (``benchmarks/library.py``), in this order:

- the local engine: ``analyze_songs`` in this process (models loaded first, not timed);
- the Ray engine on a Ray started here (all cores) for each ``ACTORSxCPUS`` of ``--ray``:
  ``analyze_on_ray`` from submitting the songs to the last result. "total" includes the
  actors starting and loading their models; "steady" counts from the first result to the
  last, which is what a long run on a cluster approaches;
- once, the ``--playlist`` path with the second configuration: a job on a fresh SQLite
  library through ``RayJobRunner``, with the time the driver spent committing batches.

The engine rows stop at the same point (results back in the driver, no database), so
they compare the engines, not the storage. Every engine runs ``--rounds`` times, the
rounds interleaved, and the table keeps each engine's fastest round: on a shared machine
the load changes between runs. CPU seconds per song (the analysing processes' own CPU
time) are printed too; they move far less with the load average than wall-clock figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure_local(songs, batch_size: int) -> dict:
    from pipelines.analyzers.loader import forget_loaded, load_analyzers
    from pipelines.engine import AnalysisFailure, SongInput, analyze_songs

    forget_loaded()  # fresh models, so the encoder's line cache starts empty as in a new actor
    start = time.perf_counter()
    analyzers = load_analyzers("compact")
    load_s = time.perf_counter() - start
    inputs = [SongInput(s.id, s.lyrics, s.title, s.artist) for s in songs]
    cpu, start = _cpu_seconds(), time.perf_counter()
    failed = sum(isinstance(o, AnalysisFailure) for _, o in analyze_songs(inputs, analyzers, "balanced", batch_size))
    seconds = time.perf_counter() - start
    return {
        "engine": "local",
        "load_s": load_s,
        "total_s": seconds,
        "songs_per_s": len(songs) / seconds,
        "cpu_ms_per_song": 1000 * (_cpu_seconds() - cpu) / len(songs),
        "failed": failed,
    }


def measure_ray(songs, actors: int, cpus: float, batch_size: int) -> dict:
    from pipelines.engine import AnalysisFailure
    from pipelines.ray_engine import RayOptions, analyze_on_ray

    options = RayOptions(actors=actors, cpus_per_actor=cpus, batch_size=batch_size)
    records = [{"key": n, "title": s.title, "artist": s.artist, "lyrics": s.lyrics} for n, s in enumerate(songs)]
    start = time.perf_counter()
    first = last = None
    first_batch = failed = 0
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    for batch in analyze_on_ray(records, options, profile="compact", sensitivity="balanced"):
        last = time.perf_counter()
        if first is None:
            first, first_batch = last, len(batch.outcomes)
        failed += sum(isinstance(o, AnalysisFailure) for _, o in batch.outcomes)
        cpu[batch.worker] = max(cpu.get(batch.worker, 0.0), batch.cpu_s)
        rss[batch.worker] = max(rss.get(batch.worker, 0.0), batch.rss_mb)
    steady = (len(songs) - first_batch) / (last - first) if last and last > first else None
    return {
        "engine": f"ray {actors} actor{'s' if actors > 1 else ''} x {cpus:g} CPU",
        "actors": actors,
        "cpus_per_actor": cpus,
        "first_result_s": first - start,
        "total_s": last - start,
        "songs_per_s": len(songs) / (last - start),
        "steady_songs_per_s": steady,
        "cpu_ms_per_song": 1000 * sum(cpu.values()) / len(songs),
        "actor_rss_mb": max(rss.values()),
        "workers_seen": len(cpu),
        "failed": failed,
    }


def measure_probe():
    from pipelines.ray_engine import RayOptions, probe_identity

    start = time.perf_counter()
    identity = probe_identity("compact", RayOptions())
    return time.perf_counter() - start, identity


def measure_ray_job(songs, actors: int, cpus: float, batch_size: int, identity) -> dict:
    """The ``--playlist`` path: a durable job on a fresh SQLite library, results committed by
    the driver batch by batch; how long those commits took is what bounds a big cluster."""
    import tempfile

    from sqlalchemy import select

    from pipelines.importers.json_songs import import_json
    from pipelines.jobs import create_job
    from pipelines.ray_engine import RayOptions
    from pipelines.ray_jobs import RayJobRunner
    from pipelines.store.db import make_engine, make_sessionmaker
    from pipelines.store.migrate import upgrade
    from pipelines.store.models import Song

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/library.db")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        data = "".join(json.dumps({"id": s.id, "title": s.title, "artist": s.artist, "lyrics": s.lyrics}) + "\n"
                       for s in songs).encode()
        with sessions.begin() as session:
            import_json(session, data, "benchmark.jsonl", playlist="Benchmark library")
        with sessions.begin() as session:
            song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))
            job_id = create_job(session, song_ids, title="benchmark", profile=identity.profile,
                                sensitivity="balanced").id
        runner = RayJobRunner(sessions, identity, RayOptions(actors=actors, cpus_per_actor=cpus, batch_size=batch_size))
        store, stored = runner._store_batch, []

        def timed_store(*args):
            start = time.perf_counter()
            counts = store(*args)
            stored.append(time.perf_counter() - start)
            return counts

        runner._store_batch = timed_store
        start = time.perf_counter()
        outcome = runner.run(job_id)
        total = time.perf_counter() - start
        engine.dispose()
    return {
        "engine": f"ray job on SQLite, {actors} actor{'s' if actors > 1 else ''} x {cpus:g} CPU",
        "status": outcome.status,
        "total_s": total,
        "songs_per_s": len(songs) / total,
        "store_ms_per_batch": 1000 * sum(stored) / len(stored),
        "stored_songs_per_s": len(songs) / sum(stored),
    }


def table(figures: dict) -> str:
    rows = [
        "| engine | songs/s (total) | songs/s (steady) | first result | CPU ms/song | RSS per model holder |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures["runs"]:
        steady = f.get("steady_songs_per_s")
        first = f.get("first_result_s")
        first_cell = f"{first:.1f} s" if first is not None else "models loaded before timing ({:.1f} s)".format(f["load_s"])
        memory = f.get("actor_rss_mb", figures.get("local_rss_mb"))
        rows.append(
            f"| {f['engine']} | {f['songs_per_s']:.1f} | {f'{steady:.1f}' if steady else '—'} | {first_cell} | "
            f"{f['cpu_ms_per_song']:.0f} | {f'{memory:.0f} MB' if memory else '—'} |"
        )
    job = figures["job"]
    rows.append(
        f"| {job['engine']} ({job['status']}) | {job['songs_per_s']:.1f} | — | — | — | "
        f"driver: {job['store_ms_per_batch']:.0f} ms per committed batch ({job['stored_songs_per_s']:.0f} songs/s) |"
    )
    m = figures["machine"]
    rows.append("")
    rows.append(
        f"{figures['songs']} synthetic songs, batches of {figures['batch_size']}, fastest of {figures['rounds']} rounds, "
        f"{m['cores']} cores, "
        f"load average {m['load_before']:.1f} before, {m['load_after']:.1f} after; "
        f"the CLI's identity probe (one model load in a short-lived worker) took {figures['probe_s']:.1f} s."
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ray_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--ray", default="1x1,2x1,1x2", help="Ray configurations as ACTORSxCPUS, comma-separated")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every engine; the fastest is kept")
    parser.add_argument("--json", type=Path, default=RESULTS / "ray_throughput.json")
    args = parser.parse_args(argv)

    import psutil

    from benchmarks.library import generate_library

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    songs = generate_library(args.songs)
    load_before = os.getloadavg()[0]
    configs = [tuple(c.lower().split("x")) for c in args.ray.split(",")]
    rounds: list[dict] = []
    local_rss = probe_s = None
    for number in range(1, args.rounds + 1):
        rounds.append(measure_local(songs, args.batch_size))
        if local_rss is None:  # before this process starts Ray
            local_rss = psutil.Process().memory_info().rss / 2**20
        print(f"round {number}: local {rounds[-1]['songs_per_s']:.1f} songs/s", file=sys.stderr)
        if probe_s is None:
            from pipelines.ray_engine import connect

            connect(None)  # a Ray on this machine with every core
            probe_s, identity = measure_probe()
        for actors, cpus in configs:
            rounds.append(measure_ray(songs, int(actors), float(cpus), args.batch_size))
            print(f"round {number}: {rounds[-1]['engine']} {rounds[-1]['songs_per_s']:.1f} songs/s", file=sys.stderr)
    actors, cpus = configs[-1 if len(configs) < 2 else 1]
    job = measure_ray_job(songs, int(actors), float(cpus), args.batch_size, identity)
    print(f"{job['engine']}: {job['songs_per_s']:.1f} songs/s", file=sys.stderr)
    best: dict[str, dict] = {}
    for run in rounds:
        if run["engine"] not in best or run["songs_per_s"] > best[run["engine"]]["songs_per_s"]:
            best[run["engine"]] = run
    runs = list(best.values())
    figures = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "songs": args.songs,
        "batch_size": args.batch_size,
        "machine": {"cores": os.cpu_count(), "cpu": platform.machine(), "load_before": load_before,
                    "load_after": os.getloadavg()[0]},
        "probe_s": probe_s,
        "local_rss_mb": local_rss,
        "rounds": args.rounds,
        "runs": runs,
        "all_rounds": rounds,
        "job": job,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
