"""``python -m pipelines evaluate FILE.jsonl``: accuracy per field against the file's labels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.commands.analyze_file import add_model_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy per field against an evaluation file's labels")
    parser.add_argument("file", help="JSON Lines with id, lyrics and labels")
    parser.add_argument("--errors", action="store_true", help="also list every song with a wrong field")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_model_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import AnalysisFailure, analyze_songs
    from pipelines.evaluate import evaluate
    from pipelines.settings import get_settings
    from pipelines.songfiles import RowProblem, read_songs

    problems: list[RowProblem] = []
    rows = [(song, row) for song, row in read_songs(Path(args.file), problems) if isinstance(row.get("labels"), dict)]
    if not rows:
        print(f"error: {args.file} has no songs with labels", file=sys.stderr)
        return 2
    analyzers = load_analyzers(args.profile)
    sensitivity = args.sensitivity or get_settings().discern_sensitivity
    labels = {song.id: row["labels"] for song, row in rows}
    pairs = []
    for song, outcome in analyze_songs([s for s, _ in rows], analyzers, sensitivity, args.batch_size):
        if isinstance(outcome, AnalysisFailure):
            print(f"error: {song.id}: {outcome.error}", file=sys.stderr)
            continue
        pred = outcome.to_dict()
        pairs.append((labels[song.id], pred))
        if args.errors:
            wrong = [k for k in ("verdict", "emotion", "sentiment") if labels[song.id][k] != pred[k]]
            if set(labels[song.id]["concerns"]) != set(pred["concerns"]):
                wrong.append("concerns")
            if not pred["themes"] or pred["themes"][0] not in labels[song.id]["themes"]:
                wrong.append("themes")
            if wrong:
                print(f"{song.id} {song.title!r}: " + "; ".join(
                    f"{k} {labels[song.id][k]} -> {pred[k]}" for k in wrong))
    report = evaluate(pairs)
    if args.json:
        print(json.dumps({"songs": report.songs, **dict(report.rows()), "per_concern_f1": report.per_concern_f1}, indent=2))
    else:
        print(f"{report.songs} songs, profile {analyzers.profile} ({analyzers.version}), sensitivity {sensitivity}")
        for name, value in report.rows():
            print(f"  {name:30s} {value:.3f}")
        print("  per-concern F1: " + ", ".join(f"{k} {v:.2f}" for k, v in report.per_concern_f1.items()))
    return 0
