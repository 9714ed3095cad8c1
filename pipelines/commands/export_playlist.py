"""``python -m pipelines export --playlist NAME --format FORMAT [--output FILE]``: a
playlist's results (CSV, JSON) or its clean playlist (CSV in the import format, M3U)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.commands.library_session import open_library, playlist_id_or_none
from pipelines.verdict import SENSITIVITIES

FORMATS = ("results-csv", "results-json", "clean-csv", "clean-m3u")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a playlist's results or its clean playlist")
    parser.add_argument("--playlist", required=True, help="playlist name")
    parser.add_argument("--format", choices=FORMATS, default="results-csv", help="what to write (default: results-csv)")
    parser.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")
    parser.add_argument("--sensitivity", choices=SENSITIVITIES, help="verdict preset (default: DISCERN_SENSITIVITY)")
    parser.add_argument(
        "--ignore-concern", action="append", default=[], metavar="KEY",
        help="a concern that does not count toward the verdicts (repeatable), as the dashboard's concern switches",
    )
    parser.add_argument("--include-review", action="store_true", help="clean playlist: keep songs to review too")
    parser.add_argument("--analyzer-version", help="only results of this analyzer version (default: the newest)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.exports import EXPORTS
    from pipelines.taxonomy import load_taxonomy

    keys = load_taxonomy().concern_keys
    unknown = sorted(set(args.ignore_concern) - set(keys))
    if unknown:
        print(f"unknown concern {', '.join(unknown)}; concerns are: {', '.join(keys)}", file=sys.stderr)
        return 2
    sessions = open_library()
    export, _ = EXPORTS[args.format]
    options = {"sensitivity": args.sensitivity, "analyzer_version": args.analyzer_version}
    if args.ignore_concern:
        options["enabled"] = [key for key in keys if key not in args.ignore_concern]
    if args.format.startswith("clean-"):
        options["include_review"] = args.include_review
    with sessions.begin() as session:
        playlist_id = playlist_id_or_none(session, args.playlist)
        if playlist_id is None:
            return 2
        text = export(session, playlist_id, **options)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        # newline="": the CSV writer already ends rows with \r\n as RFC 4180 says.
        Path(args.output).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.format} of {args.playlist!r} to {args.output}", file=sys.stderr)
    return 0
