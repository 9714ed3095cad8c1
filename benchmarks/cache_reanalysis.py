"""Re-analysing an already analysed library: the results cache at work.

    python benchmarks/cache_reanalysis.py [--songs 1000] [--changed 10] [--database-url URL] [--cli]

Imports a synthetic library of original lyrics into a fresh database (a temporary SQLite
file unless ``--database-url`` names another, e.g. a PostgreSQL schema), analyses it once
with the durable job runner, then measures:

- the same playlist again: every song answered from the cache (no model runs);
- after changing the lyrics of ``--changed`` songs: exactly those are analysed again;
- with ``--cli``: ``python -m pipelines analyze --playlist`` in a fresh process, the way a
  user runs it (Python start-up and the model load included).

Prints one line per figure, then the figures as JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PLAYLIST = "Benchmark library"


def synthetic_songs(count: int) -> tuple[str, list[dict]]:
    """Original lyric-like songs: the shared generator when present, else a simple one."""
    try:
        from benchmarks.library import generate_library

        return "benchmarks/library.py", [
            {"title": s.title, "artist": s.artist, "lyrics": s.lyrics} for s in generate_library(count)
        ]
    except ImportError:
        pass
    sample = json.loads((ROOT / "pipelines" / "data" / "sample_library.json").read_text(encoding="utf-8"))
    lines = [line for song in sample["songs"] for line in song["lyrics"].splitlines() if line and line[0] != "["]
    rng = random.Random(8)
    songs = []
    for number in range(count):
        verse = rng.sample(lines, 12)
        chorus = rng.sample(lines, 4)
        text = "\n".join(["[Verse]", *verse[:6], "[Chorus]", *chorus, "[Verse]", *verse[6:], "[Chorus]", *chorus])
        songs.append({"title": f"Benchmark song {number}", "artist": f"Artist {number % 97}", "lyrics": text})
    return "sample-library lines, shuffled", songs


def timed(label: str, figures: dict, key: str, action):
    start = time.perf_counter()
    result = action()
    figures[key] = round(time.perf_counter() - start, 3)
    print(f"{label:58s} {figures[key]:8.2f} s", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10, help="songs whose lyrics change before the last pass")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--profile", default=None, help="model profile (default: DISCERN_PROFILE)")
    parser.add_argument("--cli", action="store_true", help="also time the CLI re-analysis in a fresh process")
    args = parser.parse_args()

    from sqlalchemy import select

    from pipelines.analyzers.loader import load_analyzers
    from pipelines.importers import import_upload
    from pipelines.jobs import JobRunner, create_playlist_job
    from pipelines.store.db import make_engine, make_sessionmaker
    from pipelines.store.migrate import upgrade
    from pipelines.store.models import Song
    from pipelines.store.repository import find_playlist, set_lyrics

    workdir = tempfile.TemporaryDirectory(prefix="discern-bench-")
    url = args.database_url or f"sqlite:///{Path(workdir.name) / 'library.db'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    figures: dict = {"songs": args.songs, "database": engine.dialect.name}

    source, songs = synthetic_songs(args.songs)
    print(f"library: {len(songs)} songs from {source}; database: {engine.dialect.name}", flush=True)
    data = "\n".join(json.dumps(song) for song in songs).encode()
    with sessions.begin() as session:
        report = timed(f"import {len(songs)} songs", figures, "import_s",
                       lambda: import_upload(session, data, "bench.jsonl", PLAYLIST))
    assert report.songs_created + report.songs_unchanged == len(songs), report.summary()
    analyzers = timed("load the analyzers", figures, "model_load_s", lambda: load_analyzers(args.profile))

    def run_job() -> tuple:
        with sessions.begin() as session:
            playlist_id = find_playlist(session, PLAYLIST).id
            job_id = create_playlist_job(session, playlist_id, profile=analyzers.profile, sensitivity="balanced").id
        return JobRunner(sessions, analyzers).run(job_id)

    first = timed("first analysis (models run for every song)", figures, "first_pass_s", run_job)
    figures["first_pass_songs_per_s"] = round(first.analysed / figures["first_pass_s"], 1)
    second = timed("re-analysis, nothing changed (all from the cache)", figures, "cached_pass_s", run_job)
    assert (second.analysed, second.cached) == (0, first.analysed + first.cached), second
    figures["cached_pass_songs_per_s"] = round(second.cached / figures["cached_pass_s"], 1)

    with sessions.begin() as session:
        changed = session.scalars(select(Song).order_by(Song.id).limit(args.changed)).all()
        for song in changed:
            set_lyrics(session, song, song.lyrics.text + "\nOne more line for the benchmark", "benchmark")
    third = timed(f"re-analysis after {args.changed} lyrics changed", figures, "changed_pass_s", run_job)
    assert third.analysed == args.changed, third
    figures["changed_pass_analysed"] = third.analysed

    if args.cli:
        env = {**os.environ, "DATABASE_URL": url, "DISCERN_LOAD_SAMPLE_LIBRARY": "0"}
        command = [sys.executable, "-m", "pipelines", "analyze", "--playlist", PLAYLIST]
        if args.profile:
            command += ["--profile", args.profile]
        done = timed("CLI re-analysis in a fresh process (start + model load)", figures, "cli_cached_pass_s",
                     lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True))
        assert done.returncode == 0, done.stderr[-2000:]
    print(json.dumps(figures))
    engine.dispose()
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
