"""``python -m pipelines analyze --input FILE --output OUT.jsonl``: batch analysis of a file."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from pipelines.verdict import SENSITIVITIES


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="model profile (default: DISCERN_PROFILE, 'compact')")
    parser.add_argument("--sensitivity", choices=SENSITIVITIES, default=None, help="verdict preset (default: DISCERN_SENSITIVITY)")
    parser.add_argument("--batch-size", type=int, default=None, help="songs per batch (default: DISCERN_JOB_BATCH_SIZE)")


def read_input(args: argparse.Namespace):
    """The songs of ``--input`` and its unreadable rows, or an exit code after a message."""
    from pipelines.settings import get_settings
    from pipelines.songfiles import RowProblem, read_songs

    source = Path(args.input)
    if not source.is_file():
        print(f"error: input file {source} does not exist", file=sys.stderr)
        return 2
    limit_mb = get_settings().discern_max_upload_mb
    if source.stat().st_size > limit_mb * 2**20:
        print(f"error: {source} is {source.stat().st_size / 2**20:.1f} MB, over the {limit_mb} MB limit"
              " (DISCERN_MAX_UPLOAD_MB)", file=sys.stderr)
        return 2
    problems: list[RowProblem] = []
    songs = [song for song, _ in read_songs(source, problems)]
    return songs, problems


def write_results(output: str, songs: list, batches: Iterable[list[tuple]], problems: list) -> int:
    """Write each batch of (song, outcome) to ``output`` as it arrives, then the summary.

    Each batch is flushed, so an interrupted run keeps every batch that came back.
    """
    from tqdm import tqdm

    from pipelines.engine import AnalysisFailure

    failures = 0
    out_path = Path(output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as out, tqdm(total=len(songs), unit="song", file=sys.stderr) as bar:
        for batch in batches:
            for song, outcome in batch:
                if isinstance(outcome, AnalysisFailure):
                    failures += 1
                    record = {"id": song.id, "error": outcome.error}
                else:
                    record = {"id": song.id, **outcome.to_dict()}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            bar.update(len(batch))
    for problem in problems:
        print(f"skipped row {problem.row}: {problem.message}", file=sys.stderr)
    print(
        f"analysed {len(songs) - failures} of {len(songs)} songs into {out_path}"
        f" ({failures} failed, {len(problems)} unreadable rows)",
        file=sys.stderr,
    )
    return 0 if not failures and not problems else 1


def run_file(args: argparse.Namespace) -> int:
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import analyze_batch
    from pipelines.settings import get_settings

    read = read_input(args)
    if isinstance(read, int):
        return read
    songs, problems = read
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    analyzers = load_analyzers(args.profile)
    for notice in analyzers.notices:
        print(f"notice: {notice}", file=sys.stderr)
    size = args.batch_size or get_settings().discern_job_batch_size
    batches = (
        list(zip(songs[i : i + size], analyze_batch(songs[i : i + size], analyzers, sensitivity), strict=True))
        for i in range(0, len(songs), size)
    )
    return write_results(args.output, songs, batches, problems)
