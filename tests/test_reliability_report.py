"""The one command that runs every reliability check and prints the report, with counts
small enough for the suite (the README's figures come from its default counts)."""

from __future__ import annotations

import json

import pytest

from tests.reliability_support import run_cli


@pytest.mark.slow
def test_the_reliability_report_runs_every_check_and_prints_its_figures(tmp_path):
    rows = tmp_path / "report.json"
    result = run_cli(
        "reliability-report", "--examples", "3", "--megabytes", "1", "--prepare-bytes", "20000", "--kills", "1",
        "--compact-kills", "0", "--race-rounds", "1", "--outages", "0", "--no-postgres", "--no-pytest",
        "--json", str(rows), env={"DISCERN_MAX_LYRICS_BYTES": "3000"}, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = json.loads(rows.read_text(encoding="utf-8"))
    areas = {line["area"] for line in lines}
    assert {"bad input", "limits", "crashes", "concurrency"} <= areas
    assert all(line["ok"] for line in lines)
    assert "3 inputs" in result.stdout and "1 kills survived" in result.stdout and "rows checked" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith(f"{len(lines)} of {len(lines)} checks passed")
    assert "1 kills survived" in result.stdout.rstrip().splitlines()[-1]
