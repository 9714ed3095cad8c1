"""``python -m pipelines analyze --input FILE --output OUT.jsonl``: batch analysis of a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.verdict import SENSITIVITIES


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="model profile (default: DISCERN_PROFILE, 'compact')")
    parser.add_argument("--sensitivity", choices=SENSITIVITIES, default=None, help="verdict preset (default: DISCERN_SENSITIVITY)")
    parser.add_argument("--batch-size", type=int, default=None, help="songs per batch (default: DISCERN_JOB_BATCH_SIZE)")


def run_file(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import AnalysisFailure, analyze_songs
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
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    problems: list[RowProblem] = []
    songs = [song for song, _ in read_songs(source, problems)]
    analyzers = load_analyzers(args.profile)
    for notice in analyzers.notices:
        print(f"notice: {notice}", file=sys.stderr)
    failures = 0
    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as out, tqdm(total=len(songs), unit="song", file=sys.stderr) as bar:
        for song, outcome in analyze_songs(songs, analyzers, sensitivity, args.batch_size, on_batch=bar.update):
            if isinstance(outcome, AnalysisFailure):
                failures += 1
                record = {"id": song.id, "error": outcome.error}
            else:
                record = {"id": song.id, **outcome.to_dict()}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    for problem in problems:
        print(f"skipped row {problem.row}: {problem.message}", file=sys.stderr)
    print(
        f"analysed {len(songs) - failures} of {len(songs)} songs into {out_path}"
        f" ({failures} failed, {len(problems)} unreadable rows)",
        file=sys.stderr,
    )
    return 0 if not failures and not problems else 1
