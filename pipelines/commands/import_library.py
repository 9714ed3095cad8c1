"""``python -m pipelines import PATH [--playlist NAME]``: import a CSV/JSON(L) playlist, a
folder or zip of lyrics files, or (``--sample``) the bundled sample library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.commands.library_session import open_library


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="import playlists, songs or lyrics files into the library")
    parser.add_argument("path", nargs="?", help="CSV (Spotify export or title/artist/lyrics), JSON/JSONL, .zip, "
                        ".txt/.lrc, or a folder of lyrics files")
    parser.add_argument("--playlist", help="playlist to import into (default: the file name; lyrics files: none)")
    parser.add_argument("--format", choices=("auto", "csv", "json", "lyrics"), default="auto",
                        help="file format (default: from the file name)")
    parser.add_argument("--sample", action="store_true", help="import the bundled sample library")
    parser.add_argument("url", nargs="?", help="with the path 'spotify': a Spotify playlist link, URI or id"
                        " (then its missing lyrics are fetched; see spotify-import)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.importers import import_path, import_sample_library

    if args.path == "spotify" and args.url and not Path(args.path).exists():  # import spotify URL
        from pipelines.commands.spotify import run_import

        return run_import(argparse.Namespace(url=args.url, no_lyrics=False))
    if args.url:
        print(f"error: unexpected {args.url!r}; only `import spotify URL` takes a second argument", file=sys.stderr)
        return 2
    if bool(args.path) == bool(args.sample):
        print("error: give a file or folder to import, or --sample", file=sys.stderr)
        return 2
    if args.path and not Path(args.path).exists():
        print(f"error: {args.path} does not exist", file=sys.stderr)
        return 2
    sessions = open_library()
    with sessions.begin() as session:
        if args.sample:
            report = import_sample_library(session)
        else:
            report = import_path(session, Path(args.path), args.playlist, args.format)
    for problem in report.problems:
        print(f"{'note' if problem.kept else 'skipped'}: {problem}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1
