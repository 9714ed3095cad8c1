"""``python -m pipelines analyze``: analyse a file of songs (``--input``/``--output``)."""

from __future__ import annotations

import argparse

from pipelines.commands.analyze_file import add_model_arguments, run_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analyze", help="analyse songs from a JSONL/CSV file")
    parser.add_argument("--input", required=True, help="JSON Lines or CSV with id, title, artist, lyrics")
    parser.add_argument("--output", required=True, help="JSON Lines written with one result per song")
    add_model_arguments(parser)
    parser.set_defaults(handler=run_file)
