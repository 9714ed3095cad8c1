"""The Ray engine: the same analysis as ``pipelines.engine``, spread over a Ray cluster.

Songs go through Ray Data: ``map_batches`` with a callable class (``RayAnalyzer``), so each
actor loads the models once, in its constructor, and then runs ``analyze_batch`` on one
batch of songs per call. Results stream back to the driver batch by batch as actors finish
them (``iter_batches``), so the caller can store each batch at once; ``pipelines.ray_jobs``
does that through the durable job rows, the CLI's file mode writes JSON Lines.

The workers get this package's code from the driver (the job's ``py_modules`` runtime env) and the
driver's result-shaping ``DISCERN_*`` settings, so they compute the same analyzer version;
the models' own dependencies must be installed on every node (the Docker image has them).

Ray is an optional extra: this module imports it only when it is used, and
``require_ray`` says how to install it when it is missing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.engine import AnalysisFailure, Outcome, SongInput, analyze_batch
from pipelines.result import SongAnalysis
from pipelines.settings import get_settings

log = logging.getLogger("discern.ray")

RAY_MISSING = "The Ray engine needs the optional 'ray' extra: pip install -r requirements-ray.txt"
PACKAGE_DIR = Path(__file__).resolve().parent
# Settings that name something on the driver's machine (folders, secrets): each node has its own.
NODE_LOCAL_SETTINGS = frozenset(
    {"DISCERN_DATA_DIR", "DISCERN_MODEL_CACHE_DIR", "DISCERN_LYRICS_DIR", "DISCERN_ADMIN_PASSWORD_FILE",
     "DISCERN_DATABASE_PASSWORD_FILE", "DISCERN_RAY_ADDRESS"}
)


class RayUnavailable(RuntimeError):
    """Ray is not installed (the optional extra)."""


class RayRunError(RuntimeError):
    """The cluster could not run the analysis (workers died, code or models missing)."""


def require_ray():
    """The ``ray`` module with Ray Data, or ``RayUnavailable`` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data needs pyarrow, pandas and numpy too)
    except ImportError as exc:
        raise RayUnavailable(RAY_MISSING) from exc
    return ray


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None/"": a Ray on this machine (or RAY_ADDRESS); "auto"; "host:6379"; "ray://host:10001"
    actors: int | None = None  # None: as many as the cluster's CPUs allow at cpus_per_actor each
    cpus_per_actor: float = 1.0
    batch_size: int | None = None  # songs per actor call; None: DISCERN_JOB_BATCH_SIZE

    @property
    def songs_per_batch(self) -> int:
        return self.batch_size or get_settings().discern_job_batch_size


@dataclass(frozen=True)
class AnalyzerIdentity:
    """What a job needs to know about the analyzers without holding them: the profile, the
    version (the results cache key) and any notice (e.g. hf fell back to compact)."""

    profile: str
    version: str
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class RayBatch:
    """One batch of results as an actor returned it."""

    outcomes: list[tuple[int, Outcome]]  # (the caller's key, result or failure)
    worker: str  # host:pid of the actor
    rss_mb: float  # the actor's resident memory after the batch
    cpu_s: float  # CPU seconds the actor has spent on songs since its models loaded


def connect(address: str | None = None):
    """Connect this process to Ray once: to ``address``, else to RAY_ADDRESS, else start a
    Ray on this machine; this package's code goes to the workers with the job. Later calls
    reuse the connection (a process that called ``ray.init`` itself must make ``pipelines``
    importable on its workers; ``probe_identity`` says so when it is not)."""
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "runtime_env": job_runtime_env()}
        if address:
            kwargs["address"] = address
        elif not os.environ.get("RAY_ADDRESS"):
            kwargs["include_dashboard"] = False
        ray.init(**kwargs)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI shows its own progress, the dashboard the job rows
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def job_runtime_env() -> dict[str, Any]:
    """The runtime env to start a Ray job with: this package's code, shipped to the workers
    (a local folder can only be shipped with the job, not per actor)."""
    return {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__", "*.pyc"]}


def worker_settings(cpus_per_actor: float) -> dict[str, str]:
    """The environment of every actor: the driver's ``DISCERN_*`` settings except folders and
    secrets, and encoder threads matching the CPUs the actor reserved."""
    settings = get_settings()
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("DISCERN_") and name not in NODE_LOCAL_SETTINGS and not settings.is_secret(name)
    }
    if not int(env.get("DISCERN_ENCODER_WORKERS", "0") or 0):
        env["DISCERN_ENCODER_WORKERS"] = str(max(1, int(cpus_per_actor)))
    if "HF_HUB_OFFLINE" in os.environ:  # whether the hf profile may reach the hub, as here
        env["HF_HUB_OFFLINE"] = os.environ["HF_HUB_OFFLINE"]
    return env


def runtime_env(options: RayOptions) -> dict[str, Any]:
    """Each actor's runtime env (merged with the job's, which carries the code)."""
    return {"env_vars": worker_settings(options.cpus_per_actor)}


def actor_count(options: RayOptions) -> int:
    if options.actors:
        return options.actors
    ray = require_ray()
    cpus = ray.cluster_resources().get("CPU", 1.0)
    return max(1, int(cpus // options.cpus_per_actor))


def _identity(profile: str | None) -> tuple[str, str, tuple[str, ...]]:
    from pipelines.analyzers.loader import load_analyzers

    analyzers = load_analyzers(profile)
    return analyzers.profile, analyzers.version, tuple(analyzers.notices)


def probe_identity(profile: str | None, options: RayOptions) -> AnalyzerIdentity:
    """Load the analyzers once in a short-lived Ray worker and say what they are: the
    version the actors will produce, checked before any song is sent (and before a job's
    cached songs are decided). The worker exits afterwards, freeing its memory."""
    ray = connect(options.address)
    task = ray.remote(max_calls=1)(_identity).options(
        num_cpus=options.cpus_per_actor, runtime_env=runtime_env(options), max_retries=0
    )
    try:
        found = ray.get(task.remote(profile))
    except Exception as exc:
        hint = ""
        if "No module named 'pipelines'" in str(exc):
            hint = (" (this process started Ray itself: pass runtime_env=pipelines.ray_engine.job_runtime_env()"
                    " to ray.init, or install Discern on the nodes)")
        raise RayRunError(f"the Ray workers could not load the analyzers: {_short(exc)}{hint}") from exc
    return AnalyzerIdentity(*found)


class RayAnalyzer:
    """The Ray Data callable class: one instance per actor, models loaded once in ``__init__``."""

    def __init__(self, profile: str | None, sensitivity: str) -> None:
        import psutil

        from pipelines.analyzers.loader import load_analyzers

        self.analyzers = load_analyzers(profile)
        self.sensitivity = sensitivity
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.process = psutil.Process()
        self.cpu_at_load = _cpu_seconds(self.process)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        keys = [int(k) for k in batch["key"]]
        songs = [
            SongInput(str(key), lyrics, title or "", artist or "")
            for key, lyrics, title, artist in zip(keys, batch["lyrics"], batch["title"], batch["artist"], strict=True)
        ]
        try:
            outcomes = analyze_batch(songs, self.analyzers, self.sensitivity)
        except Exception as exc:  # the whole batch broke (not one song): a failure per song, as locally
            outcomes = [AnalysisFailure(s.id, f"analysis failed: {type(exc).__name__}: {exc}") for s in songs]
        failed = [isinstance(o, AnalysisFailure) for o in outcomes]
        rss = self.process.memory_info().rss / 2**20
        cpu = _cpu_seconds(self.process) - self.cpu_at_load
        return {
            "key": np.array(keys, dtype=np.int64),
            "analysis": np.array(["" if f else json.dumps(o.to_dict()) for o, f in zip(outcomes, failed, strict=True)],
                                 dtype=object),
            "error": np.array([o.error if f else "" for o, f in zip(outcomes, failed, strict=True)], dtype=object),
            "worker": np.array([self.worker] * len(keys), dtype=object),
            "rss_mb": np.full(len(keys), rss),
            "cpu_s": np.full(len(keys), cpu),
        }


def _cpu_seconds(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _decode(batch: dict[str, Any]) -> RayBatch:
    outcomes: list[tuple[int, Outcome]] = []
    for key, analysis, error in zip(batch["key"], batch["analysis"], batch["error"], strict=True):
        key = int(key)
        outcomes.append((key, AnalysisFailure(str(key), error) if error else SongAnalysis.from_dict(json.loads(analysis))))
    worker = str(batch["worker"][0]) if len(batch["worker"]) else ""
    return RayBatch(outcomes, worker, float(max(batch["rss_mb"], default=0.0)), float(max(batch["cpu_s"], default=0.0)))


def analyze_on_ray(
    records: list[dict[str, Any]], options: RayOptions, *, profile: str | None, sensitivity: str
) -> Iterator[RayBatch]:
    """Analyse ``records`` ({"key": int, "title", "artist", "lyrics"}) on Ray, yielding each
    batch of results as soon as an actor finishes it (in no particular order).

    The records go into Ray's object store in blocks of at most ``batch_size`` songs, and
    each actor call takes one whole block: every call returns one batch, so results reach
    the caller while the other actors still run.
    """
    if not records:
        return
    ray = connect(options.address)
    from ray.data import ActorPoolStrategy

    blocks = math.ceil(len(records) / options.songs_per_batch)
    dataset = ray.data.from_items(records, override_num_blocks=blocks)  # even blocks, none over the size
    del records  # the object store holds them now
    dataset = dataset.map_batches(
        RayAnalyzer,
        fn_constructor_kwargs={"profile": profile, "sensitivity": sensitivity},
        compute=ActorPoolStrategy(size=actor_count(options)),
        num_cpus=options.cpus_per_actor,
        batch_size=None,  # a whole block per call: exactly one batch of songs
        batch_format="numpy",
        udf_modifying_row_count=False,
        runtime_env=runtime_env(options),
    )
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0):
            yield _decode(batch)
    except Exception as exc:
        raise RayRunError(f"the Ray run failed: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    """The first line that says what went wrong, not Ray's whole remote traceback."""
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):  # a remote error's last line names the real exception
        if "Error" in line or "Exception" in line:
            return line.strip()[:500]
    return (lines[0] if lines else type(exc).__name__)[:500]
