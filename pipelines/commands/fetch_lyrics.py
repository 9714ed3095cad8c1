"""``python -m pipelines fetch-lyrics [--playlist NAME]``: find lyrics online (and in
DISCERN_LYRICS_DIR) for the songs that have none."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.library_session import open_library, playlist_id_or_none
from pipelines.commands.online_progress import ProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch-lyrics", help="fetch lyrics for songs without any, from the sources in DISCERN_LYRICS_PROVIDERS"
    )
    parser.add_argument("--playlist", help="only this playlist's songs (default: every song in the library)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many songs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.connectors.lyrics_fetch import fetch_missing_lyrics

    sessions = open_library()
    playlist_id = None
    if args.playlist:
        with sessions.begin() as session:
            playlist_id = playlist_id_or_none(session, args.playlist)
        if playlist_id is None:
            return 2
    try:
        with ProgressBar("songs") as bar:
            report = fetch_missing_lyrics(sessions, playlist_id, bar.update, limit=args.limit)
    except ValueError as exc:  # an unknown source in DISCERN_LYRICS_PROVIDERS
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for source, why in report.unavailable.items():
        print(f"{source} stopped: {why}", file=sys.stderr)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    if report.stopped:
        print("error: no lyrics source could be reached; nothing more was tried", file=sys.stderr)
        return 3
    return 1 if report.errors or report.unavailable else 0
