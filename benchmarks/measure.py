"""The measurements, each run in a fresh child process by ``python -m benchmarks run``.

    python -m benchmarks.measure cold                       # seconds from process start to models ready
    python -m benchmarks.measure library LIBRARY.jsonl ADHOC.jsonl
    python -m benchmarks.measure server-rss LIBRARY.jsonl   # RSS with the dashboard's imports

Each prints one JSON object on its last line of stdout. The library measurement imports
the songs into a fresh database (not timed), runs an analysis job over them with the job
runner (timed: analysis and database writes), runs the same job again (every song comes
from the results cache), then analyses the ad-hoc songs one at a time as the ad-hoc page
does.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEAD_STAGES = ("themes", "sentiment", "emotion", "safety", "context")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def since_process_start() -> float:
    return time.time() - psutil.Process().create_time()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def cold() -> dict:
    from pipelines.analyzers.loader import load_analyzers

    analyzers = load_analyzers()
    return {
        "models_ready_s": since_process_start(),
        "loads": [{"name": m.name, "seconds": m.seconds} for m in analyzers.loads],
        "torch_imported": "torch" in sys.modules,
        "rss_mb": rss_mb(),
    }


class BatchTimer:
    """Wraps the job runner's ``analyze_batch`` to add up where a batch's time goes."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.heads = 0.0
        self.encode = 0.0  # the engine's one encoder pass per batch (tokenising included)
        self.songs = 0

    def __call__(self, songs, analyzers, sensitivity="balanced"):
        start = time.perf_counter()
        outcomes = self.inner(songs, analyzers, sensitivity)
        self.seconds += time.perf_counter() - start
        self.songs += len(songs)
        for outcome in outcomes:
            timings = getattr(outcome, "timings", None) or {}
            self.heads += sum(timings.get(stage, 0.0) for stage in HEAD_STAGES)
            self.encode += timings.get("encode", 0.0)
        return outcomes


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def run_job(sessions, runner, song_ids: list[int], title: str) -> tuple[float, object]:
    from pipelines.jobs import create_job

    with sessions.begin() as session:
        job_id = create_job(session, song_ids, title=title, profile=runner.analyzers.profile, sensitivity="balanced").id
    start = time.perf_counter()
    outcome = runner.run(job_id)
    return time.perf_counter() - start, outcome


def library(library_path: str, adhoc_path: str) -> dict:
    from sqlalchemy import select

    import pipelines.jobs as jobs
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import analyze_text
    from pipelines.importers.json_songs import import_json
    from pipelines.store.db import get_sessionmaker
    from pipelines.store.migrate import upgrade
    from pipelines.store.models import Song

    start = time.perf_counter()
    analyzers = load_analyzers()
    load_s = time.perf_counter() - start
    encoder = analyzers.analyzers[0].encoder
    rss_loaded = rss_mb()

    upgrade()
    sessions = get_sessionmaker()
    data = Path(library_path).read_bytes()
    with sessions.begin() as session:
        import_json(session, data, "benchmark.jsonl", playlist="Benchmark library")
    with sessions.begin() as session:
        song_ids = list(session.scalars(select(Song.id).order_by(Song.id)))

    timer = BatchTimer(jobs.analyze_batch)
    jobs.analyze_batch = timer  # observe the runner's calls; it still does all the work
    stats = getattr(encoder, "stats", None)  # older encoders kept no statistics
    tokenize_before = stats.tokenize_seconds if stats else 0.0
    runner = jobs.JobRunner(sessions, analyzers)
    cpu_before = cpu_seconds()
    total_s, first = run_job(sessions, runner, song_ids, "benchmark")
    cpu_s = cpu_seconds() - cpu_before
    encoder_stats = dict(vars(stats)) if stats else {}  # the job's, before the ad-hoc songs add theirs
    tokenize_s = (stats.tokenize_seconds - tokenize_before) if stats else 0.0
    stages = {
        "tokenise": tokenize_s,
        "encode": timer.encode - tokenize_s,
        "heads": timer.heads,
        "prepare + verdicts": max(0.0, timer.seconds - timer.encode - timer.heads),
        "database": max(0.0, total_s - timer.seconds),
    }
    analysed_songs = timer.songs

    # The same library again: every song's analysis comes from the results cache.
    cached_s, again = run_job(sessions, runner, song_ids, "benchmark, cached")

    # The ad-hoc page: one pasted song at a time, lines never seen before.
    adhoc = read_jsonl(adhoc_path)
    latencies, cpu = [], []
    for song in adhoc:
        begin, begin_cpu = time.perf_counter(), cpu_seconds()
        analyze_text(song["lyrics"], analyzers)
        latencies.append(time.perf_counter() - begin)
        cpu.append(cpu_seconds() - begin_cpu)

    return {
        "load_s": load_s,
        "rss_after_load_mb": rss_loaded,
        "songs": len(song_ids),
        "analysed": analysed_songs,
        "job": {"status": first.status, "analysed": first.analysed, "cached": first.cached, "failed": first.failed},
        "total_s": total_s,
        "songs_per_s": len(song_ids) / total_s,
        "cpu_s": cpu_s,  # less sensitive than wall time to other work on the machine
        "stages_s": stages,
        "encoder": {
            "backend": getattr(encoder, "backend", "torch"),
            "int8": getattr(encoder, "int8", False),
            "workers": getattr(encoder, "workers", 1),
            "batch_size": encoder.batch_size,
            **encoder_stats,
        },
        "cached_rerun": {"seconds": cached_s, "cached": again.cached, "analysed": again.analysed},
        "adhoc": {
            "songs": len(latencies),
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * percentile(latencies, 95),
            "max_ms": 1000 * max(latencies),
            "cpu_p50_ms": 1000 * statistics.median(cpu),
            "cpu_p95_ms": 1000 * percentile(cpu, 95),
        },
        "peak_rss_mb": peak_rss_mb(),
    }


def server_rss(library_path: str) -> dict:
    """RSS of a process holding what the dashboard holds: its libraries and the analyzers."""
    baseline = rss_mb()
    import pandas  # noqa: F401
    import plotly.express  # noqa: F401
    import sqlalchemy  # noqa: F401
    import streamlit  # noqa: F401

    import pipelines.jobs  # noqa: F401
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import SongInput, analyze_batch

    imports = rss_mb()
    analyzers = load_analyzers()
    loaded = rss_mb()
    songs = [SongInput(s["id"], s["lyrics"]) for s in read_jsonl(library_path)[:64]]
    for start in range(0, len(songs), 32):
        analyze_batch(songs[start : start + 32], analyzers)
    return {
        "interpreter_mb": baseline,
        "after_imports_mb": imports,
        "after_load_mb": loaded,
        "after_analysis_mb": rss_mb(),
        "peak_mb": peak_rss_mb(),
        "torch_imported": "torch" in sys.modules,
    }


def main(argv: list[str]) -> int:
    step, args = argv[0], argv[1:]
    result = {"cold": cold, "library": library, "server-rss": server_rss}[step](*args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
