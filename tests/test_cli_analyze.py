"""The batch CLI end to end, as a user runs it: a real subprocess on real files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_analyze_jsonl_reports_bad_rows_and_keeps_good_ones(tmp_path):
    source = tmp_path / "songs.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": "s1", "title": "Morning", "artist": "A", "lyrics": "Holy holy Lord\nWe praise Your name", "genre": "x"}),
                "{this is not json",
                json.dumps({"id": "s2", "title": "Night", "lyrics": "Pour another round and get wasted tonight\nDrunk again"}),
                json.dumps({"id": "s3", "title": "No lyrics"}),
                json.dumps({"id": "s4", "lyrics": "This shit town\nI'm leaving"}),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    proc = run_cli("analyze", "--input", str(source), "--output", str(out), "--sensitivity", "balanced")
    assert proc.returncode == 1  # some rows were unusable
    assert "skipped row 2: not valid JSON" in proc.stderr
    assert "skipped row 4: no 'lyrics' text" in proc.stderr
    assert "analysed 3 of 3 songs" in proc.stderr
    results = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert list(results) == ["s1", "s2", "s4"]
    for record in results.values():
        for key in ("verdict", "score", "concerns", "themes", "emotion", "sentiment", "scores", "evidence", "analyzer"):
            assert key in record
        assert record["analyzer"]["profile"] == "compact"
    assert results["s1"]["verdict"] == "approved"
    assert results["s2"]["verdict"] == "review" and "substance" in results["s2"]["concerns"]
    assert results["s4"]["verdict"] == "flagged"
    assert {"line": 1, "text": "This shit town", "concern": "profanity"}.items() <= results["s4"]["evidence"][0].items()


def test_analyze_csv_with_strict_sensitivity(tmp_path):
    source = tmp_path / "songs.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "Title", "Artist", "Lyrics", "Year"])
        writer.writerow(["c1", "Bar", "B", "Shots of tequila all night\nwe got wasted at the bar", "2020"])
    out = tmp_path / "out.jsonl"
    proc = run_cli("analyze", "--input", str(source), "--output", str(out), "--sensitivity", "strict")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert record["id"] == "c1" and record["verdict"] == "flagged"  # strict flags substance
    assert record["sensitivity"] == "strict"


def test_missing_input_is_a_clear_error(tmp_path):
    proc = run_cli("analyze", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_evaluate_prints_accuracy_per_field(tmp_path):
    labelled = tmp_path / "eval.jsonl"
    rows = [
        {"id": "e1", "lyrics": "Holy holy Lord\nWe lift Your name on high\nHallelujah", "labels": {
            "verdict": "approved", "concerns": [], "themes": ["worship"], "emotion": "joy", "sentiment": "positive"}},
        {"id": "e2", "lyrics": "This fucking town\nI hate it here", "labels": {
            "verdict": "flagged", "concerns": ["profanity"], "themes": ["heartbreak"], "emotion": "anger", "sentiment": "negative"}},
    ]
    labelled.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    proc = run_cli("evaluate", str(labelled), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["songs"] == 2
    assert report["verdict accuracy"] == 1.0
    assert report["concern micro-F1"] == 1.0
    assert set(report) >= {"sentiment accuracy", "emotion accuracy", "top theme in labelled themes"}
