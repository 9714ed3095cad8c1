"""A library for the crash, race and fault checks, the runner processes they start, and
what must hold in the database afterwards: every song analysed exactly once, no
duplicate or half-written analysis, job items consistent with the analyses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from pipelines.importers.records import SongRecord, save_records
from pipelines.importers.report import ImportReport
from pipelines.store.db import make_engine, make_sessionmaker, normalise_url
from pipelines.store.models import (
    ITEM_FINISHED,
    VERDICTS,
    Analysis,
    AnalysisJob,
    AnalysisJobItem,
    Lyrics,
)

ROOT = Path(__file__).resolve().parents[2]
VERSES = (
    "Praise the Lord in the morning light\nI lift my hands to sing",
    "Damn it all I am tired of you\nShit gets old",
    "We dance tonight and party till the morning\nBaby kiss me",
    "I will kill you with my gun\nShoot them all tonight",
    "Money and diamonds and gold\nI am rich and getting richer",
    "Tears on my pillow alone again\nGoodbye my love",
    "Grace and mercy saved me\nAt the cross I believe",
)


def build_library(sessions: sessionmaker[Session], playlist: str, songs: int, first: int = 0) -> None:
    """``songs`` songs with distinct lyrics in ``playlist`` (songs ``first``.. of the run)."""
    records = [
        SongRecord(row=i + 1, title=f"Song {first + i}", artist="Reliability Band", lyrics=f"{VERSES[i % len(VERSES)]}\nline {first + i}",
                   lyrics_source="reliability")
        for i in range(songs)
    ]
    with sessions.begin() as session:
        report = ImportReport(source=playlist, format="reliability")
        save_records(session, records, report, playlist=playlist)
        assert report.ok, report.problems


def observer(database_url: str) -> tuple[Engine, sessionmaker[Session]]:
    """An engine for watching runners: on SQLite without the application's BEGIN IMMEDIATE,
    so reading never waits for the write lock (a frozen runner may hold it for long)."""
    parsed = normalise_url(database_url)
    engine = create_engine(parsed) if parsed.get_backend_name() == "sqlite" else make_engine(parsed)
    return engine, make_sessionmaker(engine)


def runner_command(analyzers: str, *args: str) -> list[str]:
    """The CLI with real models (``compact``) or the keyword fake (``fake``)."""
    module = "pipelines" if analyzers == "compact" else "pipelines.reliability.fake_cli"
    return [sys.executable, "-m", module, *args]


def start_runner(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """A runner process whose stdout and stderr go to ``log_path`` (read it afterwards)."""
    handle = open(log_path, "ab")  # noqa: SIM115 - the child holds it; closed with the process
    try:
        return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT)
    finally:
        handle.close()


def finished_items(sessions: sessionmaker[Session], playlist_job: int | None = None) -> int:
    with sessions.begin() as session:
        query = select(func.count()).where(AnalysisJobItem.status.in_(ITEM_FINISHED))
        if playlist_job is not None:
            query = query.where(AnalysisJobItem.job_id == playlist_job)
        return session.scalar(query) or 0


def lease_owner_pid(sessions: sessionmaker[Session], job_id: int | None) -> int | None:
    """The pid in the lease of ``job_id`` (or of the newest job), if any."""
    with sessions.begin() as session:
        query = select(AnalysisJob.lease_owner).order_by(AnalysisJob.id.desc()).limit(1)
        if job_id is not None:
            query = select(AnalysisJob.lease_owner).where(AnalysisJob.id == job_id)
        owner = session.scalar(query)
    try:
        return int((owner or "").split(":")[1])
    except (IndexError, ValueError):
        return None


def open_jobs(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return session.scalar(select(func.count()).where(AnalysisJob.status.in_(("queued", "running")))) or 0


@dataclass
class LibraryCheck:
    rows_checked: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: LibraryCheck) -> None:
        self.rows_checked += other.rows_checked
        self.problems += other.problems


def check_library(sessions: sessionmaker[Session], final: bool) -> LibraryCheck:
    """What must hold at any moment (after a kill, mid-race), and when ``final`` also that
    every song with lyrics was analysed by its job's own batch and every job finished.

    The checks start from a library nothing had analysed, so an item "cached" from an
    analysis of its own job means that analysis was written outside the batch that finished
    the item (a half-written batch, adopted later), which is as wrong as a duplicate."""
    result = LibraryCheck()
    with sessions.begin() as session:
        analyses = session.execute(
            select(Analysis.id, Analysis.song_id, Analysis.analyzer_version, Analysis.lyrics_hash, Analysis.verdict,
                   Analysis.score, Analysis.emotion, Analysis.sentiment, Analysis.result, Analysis.job_id)
        ).all()
        items = session.execute(
            select(AnalysisJobItem.id, AnalysisJobItem.job_id, AnalysisJobItem.song_id, AnalysisJobItem.status,
                   AnalysisJobItem.analysis_id)
        ).all()
        hashes = dict(session.execute(select(Lyrics.song_id, Lyrics.content_hash)).all())
        jobs = dict(session.execute(select(AnalysisJob.id, AnalysisJob.status)).all())
    result.rows_checked = len(analyses) + len(items) + len(jobs)
    problems = result.problems
    per_song = Counter((a.song_id, a.analyzer_version) for a in analyses)
    problems += [f"song {song} analysed {n} times by {version}" for (song, version), n in per_song.items() if n > 1]
    by_id = {a.id: a for a in analyses}
    for a in analyses:
        stored = a.result if isinstance(a.result, dict) else {}
        complete = (
            a.verdict in VERDICTS and isinstance(a.score, int) and 0 <= a.score <= 100 and a.emotion and a.sentiment
            and stored.get("verdict") == a.verdict and {"scores", "analyzer", "evidence"} <= set(stored)
            and a.lyrics_hash == hashes.get(a.song_id)
        )
        if not complete:
            problems.append(f"analysis {a.id} of song {a.song_id} is incomplete or does not match its lyrics")
    referenced = Counter(i.analysis_id for i in items if i.analysis_id is not None)
    for item in items:
        if item.status in ("done", "cached"):
            analysis = by_id.get(item.analysis_id)
            if analysis is None or analysis.song_id != item.song_id:
                problems.append(f"item {item.id} is {item.status} without its song's analysis")
            elif item.status == "cached" and analysis.job_id == item.job_id:
                problems.append(f"item {item.id} of song {item.song_id} adopted an analysis its own job wrote outside a batch")
    for a in analyses:  # an analysis no finished item points to was written outside a batch commit
        if a.job_id is not None and not referenced[a.id]:
            problems.append(f"analysis {a.id} of song {a.song_id} is not the result of any finished job item")
    done_by_song = Counter(i.song_id for i in items if i.status == "done")
    problems += [f"song {song} was analysed ('done') by {n} job items" for song, n in done_by_song.items() if n > 1]
    if final:
        problems += [f"job {job} ended {status}" for job, status in jobs.items() if status != "done"]
        problems += [f"item {i.id} of song {i.song_id} ended {i.status}" for i in items if i.status not in ("done", "cached")]
        analysed = {a.song_id for a in analyses}
        problems += [f"song {song} was never analysed" for song in hashes if song not in analysed]
    return result
