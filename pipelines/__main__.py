"""Discern's command line: ``python -m pipelines COMMAND``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module registers its own subcommand; order is the order of ``--help``.
COMMAND_MODULES = (
    "import_library", "spotify", "fetch_lyrics", "analyze", "evaluate", "export_playlist", "jobs", "db", "settings",
    "reliability",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log model loads and progress")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"pipelines.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
