"""``python -m pipelines db upgrade|current|revision``: the library database's schema."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema: upgrade, current revision, new migration")
    actions = parser.add_subparsers(dest="db_action", required=True)
    actions.add_parser("upgrade", help="upgrade the schema to the newest revision (the app also does it on start)")
    actions.add_parser("current", help="print the schema revision of the database and the newest one")
    revision = actions.add_parser("revision", help="write a migration from the models' difference (developers)")
    revision.add_argument("-m", "--message", required=True, help="what the migration changes")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from pipelines.settings import get_settings
    from pipelines.store.migrate import current_revision, head_revision, make_revision, upgrade

    where = make_url(get_settings().database_url).render_as_string(hide_password=True)
    if args.db_action == "upgrade":
        upgrade()
        print(f"{where}: at revision {current_revision()}")
    elif args.db_action == "current":
        print(f"{where}: at revision {current_revision() or '(empty)'}; newest is {head_revision()}")
    else:
        make_revision(args.message)
    return 0
