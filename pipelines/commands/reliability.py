"""``python -m pipelines reliability-report``: run every reliability check with bigger
counts than the test suite and print one report (see ``pipelines.reliability``)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reliability-report",
        help="run the reliability checks (bad input, limits, crashes, concurrency, database faults, access) and "
             "print a report; needs the development requirements (hypothesis, pytest)",
    )
    parser.add_argument("--examples", type=int, default=300, help="generated inputs per property-based check (300)")
    parser.add_argument("--megabytes", type=int, default=10, help="size of the big files given to every importer (10)")
    parser.add_argument("--prepare-bytes", type=int, default=1_000_000,
                        help="size of each pathological input for the cleaning stage (1,000,000)")
    parser.add_argument("--pathological-timeout", type=float, default=1800.0, help="seconds for each stage (1800)")
    parser.add_argument("--songs", type=int, default=300, help="songs in the crash loop's library (300)")
    parser.add_argument("--kills", type=int, default=30, help="SIGKILLs of the runner with the fake models (30)")
    parser.add_argument("--compact-kills", type=int, default=5, help="SIGKILLs of a runner with the real models (5)")
    parser.add_argument("--race-rounds", type=int, default=6, help="rounds of two runners on one job (6)")
    parser.add_argument("--outages", type=int, default=3, help="PostgreSQL stops under one job (3)")
    parser.add_argument("--postgres", help="PostgreSQL URL to test on too (default: TEST_DATABASE_URL)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-pytest", action="store_true", help="skip the session and security test files")
    parser.add_argument("--json", help="also write the report's rows to this JSON file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import hypothesis  # noqa: F401 - only checked for
    except ImportError:
        import sys

        print("error: the reliability report needs the development requirements: pip install -r requirements-dev.txt",
              file=sys.stderr)
        return 2
    from pipelines.reliability.report import run as report

    return report(args)
