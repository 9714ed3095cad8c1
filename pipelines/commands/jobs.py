"""``python -m pipelines jobs list|cancel|run``: durable analysis jobs."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.library_session import open_library


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("jobs", help="list, cancel or resume analysis jobs")
    actions = parser.add_subparsers(dest="jobs_action", required=True)
    listing = actions.add_parser("list", help="the newest jobs with their progress")
    listing.add_argument("--limit", type=int, default=20)
    cancel = actions.add_parser("cancel", help="cancel a job: its pending songs are not analysed")
    cancel.add_argument("job_id", type=int)
    resume = actions.add_parser("run", help="work (or resume) a job until it is done")
    resume.add_argument("job_id", type=int)
    resume.add_argument("--batch-size", type=int, default=None, help="songs per batch (default: DISCERN_JOB_BATCH_SIZE)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.jobs import JobRunner, cancel_job, job_progress, list_jobs

    sessions = open_library()
    if args.jobs_action == "list":
        with sessions.begin() as session:
            for p in list_jobs(session, args.limit):
                rate = f", {p.rate:.1f} songs/s" if p.rate else ""
                print(f"{p.job_id:5d}  {p.status:9s}  {p.finished}/{p.total} finished, {p.done} with results,"
                      f" {p.failed} failed{rate}  {p.title!r} ({p.profile})")
        return 0
    if args.jobs_action == "cancel":
        with sessions.begin() as session:
            cancelled = cancel_job(session, args.job_id)
        print(f"job {args.job_id} {'cancelled' if cancelled else 'was not queued or running'}", file=sys.stderr)
        return 0 if cancelled else 1
    from pipelines.analyzers.loader import load_analyzers

    with sessions.begin() as session:
        profile = job_progress(session, args.job_id).profile
    outcome = JobRunner(sessions, load_analyzers(profile), batch_size=args.batch_size).run(args.job_id)
    print(f"job {args.job_id}: {outcome}", file=sys.stderr)
    return 0 if outcome.status == "done" and not outcome.failed else 1
