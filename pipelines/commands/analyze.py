"""``python -m pipelines analyze``: analyse a file of songs (``--input``/``--output``) or a
library playlist through a durable job (``--playlist``), here or on Ray (``--engine ray``)."""

from __future__ import annotations

import argparse

from pipelines.commands.analyze_file import add_model_arguments, run_file
from pipelines.commands.analyze_ray import add_ray_arguments, check_ray_arguments, run_ray


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analyze", help="analyse songs from a JSONL/CSV file or a library playlist")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="JSON Lines or CSV with id, title, artist, lyrics (needs --output)")
    source.add_argument("--playlist", help="name of a library playlist: analysed by a resumable job, results stored")
    parser.add_argument("--output", help="with --input: JSON Lines written with one result per song; an existing"
                        " file is resumed: its results of the current analyzer version and sensitivity are kept and"
                        " only the other songs analysed (failed ones are retried)")
    parser.add_argument("--restart", action="store_true",
                        help="with --output: overwrite an existing output file instead of resuming it")
    add_model_arguments(parser)
    add_ray_arguments(parser)
    parser.set_defaults(handler=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    if args.playlist is not None:
        if args.output or args.restart:
            args.parser.error("--output and --restart go with --input; --playlist stores results in the library"
                              " (and resumes its job)")
        if args.engine == "ray":
            return run_ray(args)
        from pipelines.commands.analyze_playlist import run_playlist

        return run_playlist(args)
    if not args.output:
        args.parser.error("--input needs --output")
    if args.engine == "ray":
        return run_ray(args)
    return run_file(args)
