"""dashboard.memory's container readings on folders laid out like /sys/fs/cgroup: cgroup v2,
cgroup v1, and neither (the host's totals from psutil)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from dashboard import memory
from dashboard.memory import container_memory, snapshot

MiB = 2**20
GiB = 2**30
V1_NO_LIMIT = "9223372036854771712"  # what cgroup v1 writes when no limit is set (2**63 - 4096)


def _cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


@pytest.fixture
def host(monkeypatch):
    """psutil's host totals, fixed: 8 GiB, 3 GiB available."""
    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: SimpleNamespace(total=8 * GiB, available=3 * GiB))
    return memory.ContainerMemory(5 * GiB, 8 * GiB, "host")


def test_cgroup_v2_reads_current_and_max(tmp_path, host):
    root = _cgroup(tmp_path, {"memory.current": f"{300 * MiB}\n", "memory.max": f"{1200 * MiB}\n"})
    reading = container_memory(root)
    assert reading == memory.ContainerMemory(300 * MiB, 1200 * MiB, "cgroup v2")
    assert reading.share_used == pytest.approx(0.25)


def test_cgroup_v2_without_a_limit_shows_the_host(tmp_path, host):
    root = _cgroup(tmp_path, {"memory.current": f"{300 * MiB}\n", "memory.max": "max\n"})
    assert container_memory(root) == host
    assert container_memory(root).share_used == pytest.approx(5 / 8)


def test_cgroup_v2_wins_over_v1_files_alongside(tmp_path, host):
    root = _cgroup(
        tmp_path,
        {
            "memory.current": str(100 * MiB),
            "memory.max": str(400 * MiB),
            "memory/memory.usage_in_bytes": str(999 * MiB),
            "memory/memory.limit_in_bytes": str(2000 * MiB),
        },
    )
    assert container_memory(root) == memory.ContainerMemory(100 * MiB, 400 * MiB, "cgroup v2")


def test_cgroup_v1_reads_usage_and_limit(tmp_path, host):
    root = _cgroup(
        tmp_path, {"memory/memory.usage_in_bytes": f"{512 * MiB}\n", "memory/memory.limit_in_bytes": f"{2 * GiB}\n"}
    )
    reading = container_memory(root)
    assert reading == memory.ContainerMemory(512 * MiB, 2 * GiB, "cgroup v1")
    assert reading.share_used == pytest.approx(0.25)


def test_cgroup_v1_no_limit_number_shows_the_host(tmp_path, host):
    root = _cgroup(
        tmp_path, {"memory/memory.usage_in_bytes": f"{512 * MiB}\n", "memory/memory.limit_in_bytes": V1_NO_LIMIT}
    )
    assert container_memory(root) == host


def test_cgroup_v1_without_a_limit_file_shows_the_host(tmp_path, host):
    root = _cgroup(tmp_path, {"memory/memory.usage_in_bytes": f"{512 * MiB}\n"})
    assert container_memory(root) == host


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({}, id="empty folder"),
        pytest.param({"cpu.max": "max 100000"}, id="no memory files"),
        pytest.param({"memory.current": "garbage", "memory.max": "1024"}, id="unreadable v2 number"),
        pytest.param({"memory/memory.usage_in_bytes": "", "memory/memory.limit_in_bytes": "1024"}, id="empty v1 file"),
    ],
)
def test_neither_cgroup_shows_the_host(tmp_path, host, files):
    assert container_memory(_cgroup(tmp_path, files)) == host


def test_a_missing_root_shows_the_real_host_totals(tmp_path):
    reading = container_memory(tmp_path / "no-cgroup-here")
    assert reading.source == "host"
    assert reading.limit_bytes == psutil.virtual_memory().total
    assert 0 < reading.used_bytes <= reading.limit_bytes
    assert 0 < reading.share_used <= 1


def test_the_default_root_is_the_real_cgroup_folder():
    import inspect

    for function in (container_memory, snapshot):
        defaults = [p.default for p in inspect.signature(function).parameters.values() if isinstance(p.default, Path)]
        assert defaults == [Path("/sys/fs/cgroup")], function.__name__
    assert container_memory().source in {"cgroup v2", "cgroup v1", "host"}


def test_snapshot_reads_the_process_and_the_given_cgroup(tmp_path, host):
    root = _cgroup(tmp_path, {"memory.current": str(300 * MiB), "memory.max": str(1200 * MiB)})
    shot = snapshot(cgroup_root=root)
    assert shot.container == memory.ContainerMemory(300 * MiB, 1200 * MiB, "cgroup v2")
    assert shot.rss_bytes == pytest.approx(psutil.Process().memory_info().rss, rel=0.5)
    assert shot.uss_bytes is None or 0 < shot.uss_bytes <= shot.rss_bytes
