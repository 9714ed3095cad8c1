"""``python -m benchmarks run``: throughput, latency, memory and start-up of the analysis engine.

    python -m benchmarks run [--songs 1000] [--adhoc 100] [--sessions 20] [--readme] [--json FILE]

Generates a synthetic library (``benchmarks/library.py``: original text, lyric-like
structure), then measures, each in a fresh process with the Docker image's thread
settings (``OMP_NUM_THREADS`` etc. from the Dockerfile's ENV):

- cold start: seconds from process start to the analyzers loaded (median of 3);
- the library: an analysis job over every song through the job runner, database writes
  included (import not timed): songs/s and where the time went; then the same job again,
  where every song comes from the results cache; then the ad-hoc page's latency, one new
  song at a time (p50/p95);
- the RSS of a process holding the dashboard's libraries and the loaded analyzers;
- with ``--sessions N`` (needs app.py): the server's peak RSS with 1 and with N browser
  sessions (``benchmarks/startup.py``).

Prints a table and writes the figures to ``benchmarks/results/`` (latest.json and one file
per commit); ``--readme`` also writes the table into README.md's Performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- performance-table:start -->", "<!-- performance-table:end -->"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "DISCERN_TORCH_THREADS")
BUDGETS = {
    "songs_per_s": 20.0,
    "adhoc_p95_ms": 250.0,
    "server_rss_mb": 700.0,
    "sessions_growth_mb": 100.0,
    "cold_start_s": 10.0,
    "cached_rerun_s": 3.0,
}


def image_thread_settings() -> dict[str, str]:
    """The Dockerfile's thread variables, so figures match the deployed configuration."""
    sys.path.insert(0, str(ROOT))
    from deploy import dockerfile

    env = dockerfile.env(dockerfile.load())
    return {k: env[k] for k in THREAD_VARIABLES if k in env}


def child(step: str, *args: str, env: dict[str, str]) -> dict:
    """Run one measurement in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", step, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmarks.measure {step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_jsonl(path: Path, songs) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for s in songs:
            handle.write(json.dumps({"id": s.id, "title": s.title, "artist": s.artist, "lyrics": s.lyrics}) + "\n")


def library_figures(songs) -> dict:
    words = [s.words for s in songs]
    lines = [line for s in songs for line in s.lyrics.splitlines() if line.strip() and not line.startswith("[")]
    per_song_distinct = sum(
        len({line for line in s.lyrics.splitlines() if line.strip() and not line.startswith("[")}) for s in songs
    )
    return {
        "songs": len(songs),
        "words_median": statistics.median(words),
        "words_max": max(words),
        "share_150_600_words": sum(150 <= w <= 600 for w in words) / len(words),
        "over_2000_words": sum(w >= 2000 for w in words),
        "lines": len(lines),
        "distinct_lines_per_song_share": per_song_distinct / len(lines),
        "distinct_lines_library": len(set(lines)),
    }


def git_commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "pipelines"], cwd=ROOT).returncode != 0
    return (proc.stdout.strip() or "unknown") + ("+changes" if dirty else "")


def sessions_figures(sessions: int, env: dict[str, str]) -> dict | None:
    if not (ROOT / "app.py").exists():
        return None
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import startup

    extra = {k: env[k] for k in ("DISCERN_ENCODER_BACKEND", "DISCERN_ENCODER_INT8", "DISCERN_ENCODER_WORKERS") if k in env}
    one = startup.measure(sessions=1, rounds=2, extra_env=extra)
    many = startup.measure(sessions=sessions, rounds=2, extra_env=extra)
    return {
        "sessions": sessions,
        "peak_rss_1_mb": one.peak_rss_mb,
        "peak_rss_n_mb": many.peak_rss_mb,
        "growth_mb": many.peak_rss_mb - one.peak_rss_mb,
        "models_ready_s": one.models_ready_s,
        "errors": sorted(set(one.script_errors) | set(many.script_errors)),
    }


def measure(args: argparse.Namespace) -> dict:
    from benchmarks.library import generate_library

    songs = generate_library(args.songs, seed=8)
    adhoc = generate_library(args.adhoc, seed=9)  # other songs: the page sees new lines
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="discern-bench-") as tmp:
        folder = Path(tmp)
        write_jsonl(folder / "library.jsonl", songs)
        write_jsonl(folder / "adhoc.jsonl", adhoc)
        env = {
            **os.environ,
            **image_thread_settings(),
            "DISCERN_DATA_DIR": str(folder / "data"),
            "DATABASE_URL": f"sqlite:///{folder / 'data' / 'bench.db'}",
            "HF_HUB_OFFLINE": "1",
        }
        warm = child("cold", env=env)  # also exports the ONNX encoder once if it is missing
        colds = [child("cold", env=env) for _ in range(3)]
        run = child("library", str(folder / "library.jsonl"), str(folder / "adhoc.jsonl"), env=env)
        server = child("server-rss", str(folder / "library.jsonl"), env=env)
        sessions = sessions_figures(args.sessions, env) if args.sessions else None
    return {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": git_commit(),
        "machine": {
            "cores": os.cpu_count(),
            "cores_available": len(os.sched_getaffinity(0)),
            "cpu": platform.processor() or platform.machine(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "threads": {k: env.get(k, "") for k in (*THREAD_VARIABLES, "DISCERN_ENCODER_WORKERS")},
        "library": library_figures(songs),
        "first_load_s": warm["models_ready_s"],
        "cold_start_s": statistics.median(c["models_ready_s"] for c in colds),
        "cold_torch_imported": colds[0]["torch_imported"],
        "run": run,
        "server_rss": server,
        "sessions": sessions,
    }


def verdicts(f: dict) -> dict[str, tuple[float, bool]]:
    run = f["run"]
    out = {
        "songs_per_s": (run["songs_per_s"], run["songs_per_s"] >= BUDGETS["songs_per_s"]),
        "adhoc_p95_ms": (run["adhoc"]["p95_ms"], run["adhoc"]["p95_ms"] < BUDGETS["adhoc_p95_ms"]),
        "server_rss_mb": (f["server_rss"]["peak_mb"], f["server_rss"]["peak_mb"] < BUDGETS["server_rss_mb"]),
        "cold_start_s": (f["cold_start_s"], f["cold_start_s"] < BUDGETS["cold_start_s"]),
        "cached_rerun_s": (run["cached_rerun"]["seconds"], run["cached_rerun"]["seconds"] < BUDGETS["cached_rerun_s"]),
    }
    if f.get("sessions"):
        growth = f["sessions"]["growth_mb"]
        out["sessions_growth_mb"] = (growth, growth < BUDGETS["sessions_growth_mb"])
    return out


def table(f: dict) -> str:
    run, lib, enc, m = f["run"], f["library"], f["run"]["encoder"], f["machine"]
    ok = verdicts(f)

    def mark(key: str) -> str:
        return "yes" if ok[key][1] else "**no**"

    stages = run["stages_s"]
    total = sum(stages.values())
    precision = "int8" if enc["int8"] else "fp32"
    rows = [
        "| measure | value | budget | holds |",
        "|---|---|---|---|",
        f"| throughput, {run['songs']:,} songs through the job runner (DB writes included) "
        f"| {run['songs_per_s']:.1f} songs/s ({run['total_s']:.1f} s) | >= 20 songs/s | {mark('songs_per_s')} |",
        f"| ad-hoc page, one new song at a time, p50 / p95 (max) "
        f"| {run['adhoc']['p50_ms']:.0f} / {run['adhoc']['p95_ms']:.0f} ms ({run['adhoc']['max_ms']:.0f}) "
        f"| p95 < 250 ms | {mark('adhoc_p95_ms')} |",
        f"| ad-hoc page, CPU time per song p50 / p95 (all threads) "
        f"| {run['adhoc']['cpu_p50_ms']:.0f} / {run['adhoc']['cpu_p95_ms']:.0f} ms | | |",
        f"| RSS: dashboard libraries + four analyzers, after analysing "
        f"| {f['server_rss']['peak_mb']:.0f} MB peak | < 700 MB | {mark('server_rss_mb')} |",
    ]
    if f.get("sessions"):
        s = f["sessions"]
        rows.append(
            f"| server peak RSS, 1 -> {s['sessions']} sessions | {s['peak_rss_1_mb']:.0f} -> "
            f"{s['peak_rss_n_mb']:.0f} MB (+{s['growth_mb']:.0f}) | < +100 MB | {mark('sessions_growth_mb')} |"
        )
    rows += [
        f"| cold start to models ready (process start, median of 3) | {f['cold_start_s']:.1f} s | < 10 s "
        f"| {mark('cold_start_s')} |",
        f"| cached re-analysis of {run['songs']:,} songs (results cache) | {run['cached_rerun']['seconds']:.2f} s "
        f"| < 3 s | {mark('cached_rerun_s')} |",
        f"| CPU time per song in that job, all threads (bounds an idle machine at cores / CPU time) "
        f"| {1000 * run['cpu_s'] / run['songs']:.0f} ms (<= {run['songs'] / run['cpu_s'] * m['cores_available']:.1f}"
        " songs/s) | | |",
        f"| peak RSS of the benchmark process | {run['peak_rss_mb']:.0f} MB | | |",
        f"| model load time (in process) | {run['load_s']:.1f} s | | |",
        "| share of time: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in stages.items()) + " | | | |",
    ]
    header = [
        f"Commit {f['commit']}, {f['when']}. Machine: {m['cores_available']} of {m['cores']} cores ({m['cpu']}), "
        f"load average {m['load_average_before'][0]:.1f} before, {m['load_average_after'][0]:.1f} after. "
        f"Threads: " + ", ".join(f"{k}={v or 'unset'}" for k, v in f["threads"].items()) + ".",
        f"Encoder: {enc['backend']} {precision}, {enc['workers']} worker threads, batches of <= {enc['batch_size']} lines; "
        + (
            f"{enc['tokens'] / max(1, run['analysed']):.0f} tokens per song encoded "
            f"({100 * enc['tokens'] / max(1, enc['padded_tokens']):.0f}% of computed tokens are not padding)."
            if "tokens" in enc else "no encoder statistics."
        ),
        f"Library: {lib['songs']:,} synthetic songs, median {lib['words_median']:.0f} words "
        f"({100 * lib['share_150_600_words']:.0f}% within 150-600, {lib['over_2000_words']} over 2,000, longest "
        f"{lib['words_max']:,}); {100 * lib['distinct_lines_per_song_share']:.0f}% of a song's lines are distinct.",
    ]
    return "\n".join(header) + "\n\n" + "\n".join(rows)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    block = f"{TABLE_START}\n{text}\n{TABLE_END}"
    if TABLE_START not in readme:
        raise SystemExit(f"README.md has no {TABLE_START} marker in its Performance section")
    head, rest = readme.split(TABLE_START, 1)
    README.write_text(head + block + rest.split(TABLE_END, 1)[1], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure and print the table")
    run.add_argument("--songs", type=int, default=1000, help="songs in the synthetic library")
    run.add_argument("--adhoc", type=int, default=100, help="songs analysed one at a time (ad-hoc latency)")
    run.add_argument("--sessions", type=int, default=0, help="also measure the server with this many sessions")
    run.add_argument("--json", type=Path, help="also write the figures here")
    run.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    figures = measure(args)
    text = table(figures)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(figures, indent=2)
    (RESULTS / "latest.json").write_text(payload)
    (RESULTS / f"{figures['commit']}.json").write_text(payload)
    if args.json:
        args.json.write_text(payload)
    if args.readme:
        write_readme(text)
    return 0 if all(holds for _, holds in verdicts(figures).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
