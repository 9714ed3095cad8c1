"""``python -m pipelines settings``: every setting with its default and help."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("settings", help="list every setting (environment variable) with default and help")
    parser.add_argument("--markdown", action="store_true", help="print the README's settings table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.settings import SETTINGS, get_settings

    if args.markdown:
        print("| setting | type | default | what it does |")
        print("|---|---|---|---|")
        for s in SETTINGS:
            default = "(project)/data" if s.name == "DISCERN_DATA_DIR" else s.default
            print(f"| `{s.name}` | {s.type.__name__} | `{default}` | {s.help} |")
        return 0
    for name, value in get_settings().public_items():
        print(f"{name}={value}")
    return 0
