"""Crashes, concurrency and database faults, on SQLite and PostgreSQL:

* a real ``analyze --playlist`` SIGKILLed at random points of its job, again and again,
  then finishing with every song analysed exactly once (``reliability.crash_loop``);
* two runner processes on one job, started together or one frozen past its lease and woken
  mid-batch after the other took over (``reliability.runner_race``);
* a runner whose database connection breaks, before and after commits that went through,
  pausing and finishing exactly once (in-process); and a private PostgreSQL server stopped
  and restarted under a running job (``reliability.database_fault``).

The runners use the keyword fake at the model boundary, so kills land in database work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from pipelines.database_retry import DatabaseRetry, database_unavailable
from pipelines.jobs import JobRunner, create_playlist_job
from pipelines.reliability.crash_loop import crash_loop
from pipelines.reliability.database_fault import database_fault, postgres_bin_dir
from pipelines.reliability.library_checks import build_library, check_library
from pipelines.reliability.runner_race import runner_race
from pipelines.store.models import Analysis, AnalysisJobItem
from pipelines.store.repository import find_playlist
from tests.fake_analyzers import fake_analyzer_set

KILLS = int(os.environ.get("DISCERN_CRASH_KILLS", "5"))


def _lost_connection(statement: str = "COMMIT") -> OperationalError:
    return OperationalError(statement, {}, psycopg.OperationalError("server closed the connection unexpectedly"))


# ------------------------------------------------------------------ classification and backoff


def test_only_a_lost_database_is_waited_for():
    assert database_unavailable(_lost_connection())
    assert database_unavailable(OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")))
    assert not database_unavailable(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: songs")))
    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not database_unavailable(ValueError("not a database error"))


def test_a_paused_step_says_so_backs_off_and_gives_up_after_its_time(caplog):
    waits: list[float] = []
    calls = iter([_lost_connection(), _lost_connection(), "stored"])

    def step(attempt: int) -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return f"{value} on attempt {attempt}"

    retry = DatabaseRetry(60, sleep=waits.append, label="job 7")
    with caplog.at_level(logging.WARNING, logger="discern.jobs"):
        assert retry("storing a batch", step) == "stored on attempt 2"
    assert waits == [0.5, 1.0]
    messages = [r.getMessage() for r in caplog.records]
    assert "database unavailable while storing a batch (OperationalError: server closed the connection" \
           " unexpectedly): job 7 paused, retrying in 0.5 s" in messages
    assert any(m.startswith("database available again after") and m.endswith("job 7 continues") for m in messages)

    with pytest.raises(OperationalError):
        DatabaseRetry(0, sleep=waits.append)("claiming", lambda _: (_ for _ in ()).throw(_lost_connection()))
    with pytest.raises(IntegrityError):  # not a connection problem: at once, no waiting
        DatabaseRetry(60, sleep=waits.append)("storing", lambda _: (_ for _ in ()).throw(IntegrityError("I", {}, None)))
    assert waits == [0.5, 1.0]


# ------------------------------------------------------------------ connections that break around commits


class BreakingSessions:
    """A session factory whose ``begin()`` blocks fail as planned: before any work (the
    server refused), or after their commit went through (the answer never arrived)."""

    def __init__(self, sessions, plan: dict[int, str]) -> None:
        self.sessions, self.plan, self.calls = sessions, plan, 0

    def __call__(self, *args, **kwargs):
        return self.sessions(*args, **kwargs)

    @contextlib.contextmanager
    def begin(self):
        self.calls += 1
        when = self.plan.get(self.calls)
        if when == "before":
            raise _lost_connection("BEGIN")
        with self.sessions.begin() as session:
            yield session
        if when == "after":
            raise _lost_connection()


@pytest.mark.parametrize("seed", range(4))
def test_a_runner_rides_out_broken_connections_and_stores_each_song_once(sessions, seed):
    import random

    build_library(sessions, "Flaky", 12)
    analyzers = fake_analyzer_set()
    with sessions.begin() as session:
        job_id = create_playlist_job(session, find_playlist(session, "Flaky").id, profile=analyzers.profile,
                                     sensitivity="balanced").id
    rng = random.Random(seed)
    plan = {call: rng.choice(["before", "after"]) for call in rng.sample(range(1, 40), 12)}
    breaking = BreakingSessions(sessions, plan)
    runner = JobRunner(breaking, analyzers, batch_size=3)
    runner.database_retry.sleep = lambda _seconds: None
    outcome = runner.run(job_id)
    assert outcome.status == "done"
    check = check_library(sessions, final=True)
    assert not check.problems, (plan, check.problems)
    with sessions.begin() as session:
        assert session.scalar(select(func.count(Analysis.id))) == 12
        assert set(session.scalars(select(AnalysisJobItem.status))) == {"done"}


def test_a_claim_whose_commit_went_through_unseen_is_taken_back(sessions):
    build_library(sessions, "Claims", 6)
    analyzers = fake_analyzer_set()
    with sessions.begin() as session:
        job_id = create_playlist_job(session, find_playlist(session, "Claims").id, profile=analyzers.profile,
                                     sensitivity="balanced").id
    runner = JobRunner(sessions, analyzers, batch_size=2)
    assert runner.claim(job_id)
    lost = runner._claim_batch_once(job_id)  # committed, but the runner never saw the answer
    again = runner._claim_batch_once(job_id, attempt=1)
    assert again == lost  # the same songs, not the next ones: nothing is left "running" forever
    assert runner._work(job_id, "balanced", again)["done"] == 2
    assert runner.run(job_id).status == "done"
    assert not check_library(sessions, final=True).problems


# ------------------------------------------------------------------ real processes


@pytest.mark.slow
def test_a_runner_killed_at_random_points_resumes_and_analyses_every_song_once(database_url):
    report = crash_loop(database_url, songs=40, kills=KILLS)
    assert not report.check.problems, report.check.problems
    assert report.kills == KILLS
    assert report.restarts_resumed == KILLS  # every restart picked the same job up again
    assert report.check.rows_checked > 40 * KILLS


@pytest.mark.slow
def test_two_runner_processes_on_one_job_never_analyse_a_song_twice(database_url):
    report = runner_race(database_url, rounds=2, songs=30)
    assert not report.check.problems, report.check.problems
    assert report.rounds == 2 and report.busy_refusals >= 1  # started together: one works, one steps aside


@pytest.mark.slow
@pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL's server programs are not installed")
def test_postgresql_stopped_under_a_job_pauses_it_and_the_job_finishes_exactly_once():
    report = database_fault(songs=30, outages=1, outage_seconds=3)
    assert report.outages == 1
    assert report.runner_exit == 0, report.output_tail
    assert report.pause_messages >= 1 and report.resumed_messages >= 1, report.output_tail
    assert "job 1 paused" in report.output_tail or report.pause_messages
    assert not report.check.problems, report.check.problems
