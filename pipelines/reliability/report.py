"""``python -m pipelines reliability-report``: every reliability check with bigger counts
than the test suite uses, and one printed report: inputs tried per property-based check,
pathological inputs timed, kills survived, runner races, database outages ridden out,
rows checked, plus the session and security tests.

Each database check runs on SQLite and, when a PostgreSQL URL is given (``--postgres``,
default TEST_DATABASE_URL), on PostgreSQL in a schema of its own that is dropped after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.reliability.library_checks import ROOT


@dataclass
class Line:
    """One row of the report."""

    area: str
    check: str
    database: str
    figures: str
    ok: bool
    seconds: float
    problems: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _databases(postgres: str | None) -> Iterator[Iterator[tuple[str, str]]]:
    """(name, URL) makers: a fresh SQLite file, and a fresh PostgreSQL schema, per use."""
    from sqlalchemy import text
    from sqlalchemy.pool import NullPool

    from pipelines.store.db import make_engine, normalise_url

    made: list[str] = []
    admin = make_engine(postgres, poolclass=NullPool) if postgres else None
    folder = tempfile.TemporaryDirectory(prefix="discern-reliability-")

    def fresh() -> Iterator[tuple[str, str]]:
        yield "sqlite", f"sqlite:///{Path(folder.name) / f'{uuid.uuid4().hex[:8]}.db'}"
        if admin is not None:
            schema = f"reliability_{uuid.uuid4().hex[:10]}"
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            made.append(schema)
            url = normalise_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
            yield "postgresql", url.render_as_string(hide_password=False)

    try:
        yield fresh
    finally:
        if admin is not None:
            with admin.begin() as connection:
                for schema in made:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        folder.cleanup()


def _timed(area: str, check: str, database: str, run) -> Line:
    started = time.monotonic()
    try:
        figures, problems = run()
    except Exception as exc:  # a failed check is a line of the report, not the end of it
        figures, problems = "", [f"{type(exc).__name__}: {str(exc)[:2000]}"]
    return Line(area, check, database, figures, not problems, time.monotonic() - started, problems)


def input_lines(fresh, examples: int, megabytes: int) -> list[Line]:
    from pipelines.reliability.input_checks import CHECKS, run_big_inputs, run_check
    from pipelines.store.db import make_engine, make_sessionmaker
    from pipelines.store.migrate import upgrade

    lines = []
    for database, url in fresh():
        engine = make_engine(url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        try:
            for check in CHECKS:
                if not check.needs_database and database != "sqlite":
                    continue

                def run(check=check, sessions=sessions):
                    result = run_check(check, sessions if check.needs_database else None, examples)
                    return f"{result.inputs} inputs", []

                lines.append(_timed("bad input", check.name, database if check.needs_database else "-", run))

            def big(sessions=sessions):
                return f"{run_big_inputs(sessions, megabytes).inputs} files of ~{megabytes} MB", []

            lines.append(_timed("bad input", "importers, big files", database, big))
        finally:
            engine.dispose()
    return lines


SAFETY_BOUND_SECONDS = 60  # not a benchmark: a quadratic algorithm takes minutes or hours at these sizes


def busy_seconds(result: dict) -> float:
    """A timed case's seconds, or its CPU seconds when fewer: on a shared machine the wall
    clock also counts other processes' work (an idle 2-core machine gives about the lower)."""
    if result["seconds"] is None:
        return float("inf")
    return min(result["seconds"], result.get("cpu_seconds", result["seconds"]))


def pathological_lines(prepare_bytes: int, timeout: float) -> list[Line]:
    from pipelines.reliability.pathological import timed_cases
    from pipelines.settings import get_settings

    limit = get_settings().discern_max_lyrics_bytes
    lines = []
    for stage, size in (("prepare", prepare_bytes), ("analyse", limit)):
        started = time.monotonic()
        results = timed_cases([f"{stage}:{size}"], timeout=timeout)
        hung = [r["case"] for r in results if r["seconds"] is None]
        worst = max((r for r in results if r["seconds"] is not None), key=lambda r: r["seconds"], default=None)
        figures = f"{len(results) - len(hung)} inputs of {size:,} bytes"
        if worst:
            figures += f"; slowest '{worst['case']}' {worst['seconds']:.1f} s ({worst['cpu_seconds']:.1f} s CPU)"
        problems = [f"did not finish: {name}" for name in hung]
        problems += [f"{r['case']}: {r['seconds']:.0f} s" for r in results if busy_seconds(r) > SAFETY_BOUND_SECONDS]
        check = "cleaning + splitting + keywords" if stage == "prepare" else "whole compact analysis"
        lines.append(Line("limits", check, "-", figures, not problems, time.monotonic() - started, problems))
    return lines


def job_lines(fresh, songs: int, kills: int, compact_kills: int, race_rounds: int, outages: int) -> list[Line]:
    from pipelines.reliability.crash_loop import crash_loop
    from pipelines.reliability.database_fault import database_fault, postgres_bin_dir
    from pipelines.reliability.runner_race import runner_race

    lines = []
    for database, url in fresh():
        def crashes(url=url):
            report = crash_loop(url, songs=songs, kills=kills, batch_size=2, timeout=600)
            problems = report.check.problems + ([f"only {report.kills} kills landed"] if report.kills < kills else [])
            return (f"{report.kills} kills survived ({report.restarts_resumed} restarts resumed the job), "
                    f"{songs} songs, {report.check.rows_checked:,} rows checked"), problems

        lines.append(_timed("crashes", "SIGKILL loop (fake models)", database, crashes))
    if compact_kills:
        for database, url in fresh():
            if database != "sqlite":
                continue

            def real_models(url=url):
                many = max(400, songs)  # the real models analyse tens of songs a second: enough work to kill it in
                report = crash_loop(url, songs=many, kills=compact_kills, analyzers="compact", timeout=900)
                problems = report.check.problems + ([f"only {report.kills} kills landed"] if report.kills < compact_kills else [])
                return (f"{report.kills} kills survived ({report.restarts_resumed} restarts resumed the job), {many} songs, "
                        f"{report.check.rows_checked:,} rows checked"), problems

            lines.append(_timed("crashes", "SIGKILL loop (compact models)", database, real_models))
    for database, url in fresh():
        def race(url=url):
            report = runner_race(url, rounds=race_rounds, songs=30)
            return (f"{report.rounds} rounds, {report.takeovers} takeovers of a frozen runner, {report.busy_refusals} "
                    f"runners stepped aside, {report.check.rows_checked:,} rows checked"), report.check.problems

        lines.append(_timed("concurrency", "two runners on one job", database, race))
    if outages and postgres_bin_dir() is not None:
        def fault():
            report = database_fault(songs=60, outages=outages, outage_seconds=4)
            problems = list(report.check.problems)
            if report.runner_exit != 0 or not report.pause_messages:
                problems.append(f"the runner ended with {report.runner_exit}: {report.output_tail[-1500:]}")
            return (f"{report.outages} outages ({report.outage_seconds:.0f} s down), {report.pause_messages} pause "
                    f"messages, runner exit {report.runner_exit}, {report.check.rows_checked:,} rows checked"), problems

        lines.append(_timed("database faults", "PostgreSQL stopped under a job", "postgresql (scratch)", fault))
    return lines


def pytest_lines(postgres: str | None) -> list[Line]:
    """The session and security tests, as the suite runs them."""
    lines = []
    for area, path in (("concurrency", "tests/test_reliability_sessions.py"), ("access", "tests/test_security_access.py"),
                       ("access", "tests/test_security_rendering.py")):
        env = {**os.environ, **({"TEST_DATABASE_URL": postgres} if postgres else {})}
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=1800)
        summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
        problems = [] if result.returncode == 0 else [result.stdout[-3000:]]
        lines.append(Line(area, Path(path).stem, "both" if postgres else "sqlite", summary, not problems,
                          time.monotonic() - started, problems))
    return lines


def print_report(lines: list[Line], out=sys.stdout) -> None:
    width = max(len(line.check) for line in lines)
    print("Discern reliability report", file=out)
    print(f"{'':1}{'area':<16} {'check':<{width}}  {'database':<20} {'result':<6} {'time':>7}  figures", file=out)
    for line in lines:
        print(f" {line.area:<16} {line.check:<{width}}  {line.database:<20} {'ok' if line.ok else 'FAILED':<6} "
              f"{line.seconds:>6.0f}s  {line.figures}", file=out)
    for line in lines:
        for problem in line.problems[:5]:
            print(f"FAILED {line.check} ({line.database}): {problem}", file=out)
    print(f"{sum(line.ok for line in lines)} of {len(lines)} checks passed; {totals(lines)}", file=out)


def totals(lines: list[Line]) -> str:
    """Inputs tried, kills survived and database rows checked, over the whole report."""
    def number(pattern: str, area: str | None = None) -> int:
        return sum(int(m.group(1).replace(",", "")) for line in lines if area in (None, line.area)
                   for m in [re.search(pattern, line.figures)] if m)

    inputs = number(r"^([\d,]+) (?:inputs|files)", "bad input") + number(r"^([\d,]+) inputs of", "limits")
    kills, rows = number(r"([\d,]+) kills survived"), number(r"([\d,]+) rows checked")
    return f"{inputs:,} inputs tried, {kills:,} kills survived, {rows:,} rows checked"


def run(args) -> int:
    from pipelines.settings import get_settings

    get_settings.cache_clear()
    postgres = None if args.no_postgres else (args.postgres or os.environ.get("TEST_DATABASE_URL") or None)
    lines: list[Line] = []
    with _databases(postgres) as fresh:
        lines += input_lines(fresh, args.examples, args.megabytes)
        lines += pathological_lines(args.prepare_bytes, timeout=args.pathological_timeout)
        lines += job_lines(fresh, args.songs, args.kills, args.compact_kills, args.race_rounds, args.outages)
    if not args.no_pytest:
        lines += pytest_lines(postgres)
    print_report(lines)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(line) for line in lines], indent=1), encoding="utf-8")
    return 0 if all(line.ok for line in lines) else 1
