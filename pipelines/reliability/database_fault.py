"""PostgreSQL stopped and started again under a running job: the runner must say the
database is unavailable, pause without exiting or losing work, and finish the job exactly
once when the database is back.

The server is a private one (``ScratchPostgres``: initdb in a temporary folder, a free
port on 127.0.0.1), so stopping it cannot disturb anything else using the machine's own
PostgreSQL; it is stopped and removed when the check ends, whatever happens.
"""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.reliability.library_checks import (
    LibraryCheck,
    build_library,
    check_library,
    finished_items,
    observer,
    runner_command,
    start_runner,
)
from pipelines.store.db import make_engine, make_sessionmaker
from pipelines.store.migrate import upgrade

PLAYLIST = "Database fault"


def postgres_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


class ScratchPostgres:
    """A throwaway PostgreSQL server. As root the server runs as the ``postgres`` user
    (PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or postgres_bin_dir()
        if self.bin_dir is None:
            raise RuntimeError("PostgreSQL's initdb was not found (apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="discern-scratch-pg-"))
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bin_dir / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ScratchPostgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class FaultReport:
    songs: int
    outages: int = 0
    outage_seconds: float = 0.0
    pause_messages: int = 0  # "database unavailable ... paused" lines the runner logged
    resumed_messages: int = 0  # "database available again" lines
    runner_exit: int | None = None
    check: LibraryCheck = field(default_factory=LibraryCheck)
    output_tail: str = ""
    seconds: float = 0.0


def database_fault(
    *, songs: int = 40, outages: int = 1, outage_seconds: float = 4.0, batch_seconds: float = 0.1,
    seed: int | None = None, timeout: float = 240.0,
) -> FaultReport:
    """Run a job on a scratch PostgreSQL and take the server away ``outages`` times."""
    started = time.monotonic()
    rng = random.Random(seed)
    report = FaultReport(songs=songs)
    with ScratchPostgres() as server, tempfile.TemporaryDirectory() as folder:
        engine = make_engine(server.url)
        try:
            upgrade(engine)
            build_library(make_sessionmaker(engine), PLAYLIST, songs)
        finally:
            engine.dispose()
        env = {"DATABASE_URL": server.url, "DISCERN_LOAD_SAMPLE_LIBRARY": "0", "DISCERN_DB_RETRY_SECONDS": "120",
               "DISCERN_FAKE_BATCH_SECONDS": str(batch_seconds)}
        log = Path(folder) / "runner.log"
        process = start_runner(runner_command("fake", "analyze", "--playlist", PLAYLIST, "--batch-size", "2"), env, log)
        try:
            for outage in range(outages):
                watcher, sessions = observer(server.url)
                try:
                    target = (outage + 1) * songs // (outages + 2) + rng.randint(0, 2)
                    while finished_items(sessions) < target and process.poll() is None:
                        time.sleep(0.01)
                finally:
                    watcher.dispose()
                if process.poll() is not None:
                    break
                time.sleep(rng.uniform(0, batch_seconds))  # mid-batch: analysing, or storing
                down = time.monotonic()
                server.stop("fast")
                time.sleep(outage_seconds)
                alive = process.poll() is None
                server.start()
                report.outages += 1
                report.outage_seconds += time.monotonic() - down
                if not alive:
                    break
            report.runner_exit = process.wait(timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        output = log.read_text(errors="replace")
        report.output_tail = output[-3000:]
        report.pause_messages = output.count("database unavailable")
        report.resumed_messages = output.count("database available again")
        watcher, sessions = observer(server.url)
        try:
            report.check = check_library(sessions, final=True)
        finally:
            watcher.dispose()
    report.seconds = time.monotonic() - started
    return report
