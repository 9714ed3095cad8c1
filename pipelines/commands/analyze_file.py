"""``python -m pipelines analyze --input FILE --output OUT.jsonl``: batch analysis of a file.

Results are appended batch by batch; a re-run resumes ``OUT.jsonl``, analysing only the
songs it does not hold yet (``pipelines.results_file``); ``--restart`` starts it over. The
Ray engine's file mode (``analyze_ray``) uses the same functions."""

from __future__ import annotations

import argparse
import os
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
    if Path(args.output).exists() and os.path.samefile(args.output, source):
        print(f"error: --output {args.output} is the input file", file=sys.stderr)
        return 2
    limit_mb = get_settings().discern_max_upload_mb
    if source.stat().st_size > limit_mb * 2**20:
        print(f"error: {source} is {source.stat().st_size / 2**20:.1f} MB, over the {limit_mb} MB limit"
              " (DISCERN_MAX_UPLOAD_MB)", file=sys.stderr)
        return 2
    problems: list[RowProblem] = []
    songs = [song for song, _ in read_songs(source, problems)]
    return songs, problems


def plan_output(args: argparse.Namespace, songs: list, version: str, sensitivity: str):
    """The ``ResultsPlan`` of ``--output`` for analyzers of ``version``: an earlier run's file
    resumed (its results of this version and sensitivity kept), or started over with
    ``--restart``; or an exit code after a message. Shared by the local and Ray engines."""
    from pipelines.results_file import NotAResultsFile, restart_results, resume_results

    out_path = Path(args.output)
    if args.restart:
        return restart_results(out_path, songs)
    try:
        plan = resume_results(out_path, songs, version, sensitivity)
    except NotAResultsFile as exc:
        print(f"error: {exc}, so {out_path} is not resumed: pass --restart to overwrite it, or choose"
              " another --output", file=sys.stderr)
        return 2
    if plan.resumed:
        print(plan.describe(), file=sys.stderr)
    return plan


def write_results(plan, batches: Iterable[list[tuple]], problems: list) -> int:
    """Append each batch of (song, outcome) to the plan's file as it arrives, then the summary.

    Each batch is flushed and fsynced, so an interrupted run keeps every batch that came
    back and a re-run continues after it.
    """
    from tqdm import tqdm

    from pipelines.results_file import append_batch

    failures = 0
    todo = len(plan.todo)
    with open(plan.path, "a", encoding="utf-8") as out, tqdm(total=todo, unit="song", file=sys.stderr) as bar:
        for batch in batches:
            failures += append_batch(out, batch)
            bar.update(len(batch))
    for problem in problems:
        print(f"skipped row {problem.row}: {problem.message}", file=sys.stderr)
    kept = f"; {plan.kept} kept from an earlier run" if plan.kept else ""
    print(
        f"analysed {todo - failures} of {todo} songs into {plan.path}"
        f" ({failures} failed, {len(problems)} unreadable rows{kept})",
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
    plan = plan_output(args, songs, analyzers.version, sensitivity)
    if isinstance(plan, int):
        return plan
    todo, size = plan.todo, args.batch_size or get_settings().discern_job_batch_size
    batches = (
        list(zip(todo[i : i + size], analyze_batch(todo[i : i + size], analyzers, sensitivity), strict=True))
        for i in range(0, len(todo), size)
    )
    return write_results(plan, batches, problems)
