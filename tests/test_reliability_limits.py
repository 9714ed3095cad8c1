"""Limits: DISCERN_MAX_UPLOAD_MB and DISCERN_MAX_LYRICS_BYTES are enforced with a clear
message everywhere input arrives (CLI import and analyze, the dashboard's import and
Analyse lyrics pages, the engine), and inputs built to be slow finish within a bound,
measured in a subprocess with a timeout so a hang cannot hang the suite."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from pipelines.engine import AnalysisFailure, analyze_text
from pipelines.reliability.pathological import CASES, timed_cases
from pipelines.reliability.report import SAFETY_BOUND_SECONDS, busy_seconds
from pipelines.settings import get_settings, setting
from pipelines.store.models import Lyrics, Song
from tests import reliability_support
from tests.fake_analyzers import fake_analyzer_set
from tests.reliability_support import run_cli

dashboard_database = reliability_support.dashboard_database  # the fixture

SMALL_LIMITS = {"DISCERN_MAX_UPLOAD_MB": "1", "DISCERN_MAX_LYRICS_BYTES": "2000"}


@pytest.mark.slow
def test_pathological_inputs_finish_within_a_bound():
    # The work that is not a model, at twice the lyrics limit (where quadratic regexes or
    # line splitting would show), then the whole compact analysis of each case.
    results = timed_cases(["prepare:300000", "analyse:5000"], timeout=600)
    hung = [r for r in results if r["seconds"] is None]
    assert not hung, f"did not finish: {hung}"
    assert len(results) == 2 * len(CASES)
    slow = [r for r in results if busy_seconds(r) > SAFETY_BOUND_SECONDS]  # wall, or CPU if the box is busy
    assert not slow, slow


def test_the_lyrics_limit_default_bounds_one_analysis():
    assert setting("DISCERN_MAX_LYRICS_BYTES").default == 150_000  # README: a 100 KB text is analysed whole


def test_the_engine_refuses_lyrics_over_the_limit_with_the_setting_named(monkeypatch):
    monkeypatch.setenv("DISCERN_MAX_LYRICS_BYTES", "2000")
    get_settings.cache_clear()
    try:
        outcome = analyze_text("praise the Lord\n" * 200, fake_analyzer_set())
        assert isinstance(outcome, AnalysisFailure)
        assert "3,200 bytes, over the 2,000-byte limit (DISCERN_MAX_LYRICS_BYTES)" in outcome.error
        assert not isinstance(analyze_text("praise the Lord\n" * 100, fake_analyzer_set()), AnalysisFailure)
    finally:
        get_settings.cache_clear()


def test_cli_import_enforces_both_limits(tmp_path):
    env = {**SMALL_LIMITS, "DATABASE_URL": f"sqlite:///{tmp_path / 'library.db'}", "DISCERN_LOAD_SAMPLE_LIBRARY": "0"}
    big = tmp_path / "big.csv"
    big.write_bytes(b"title,lyrics\n" + b"Song,la la la\n" * 80_000)  # 1.1 MB
    result = run_cli("import", str(big), env=env)
    assert result.returncode == 1
    assert "over the 1 MB limit (DISCERN_MAX_UPLOAD_MB)" in result.stderr

    mixed = tmp_path / "mixed.csv"
    mixed.write_text('title,lyrics\nShort,"la la"\nLong,"' + "la " * 1000 + '"\n', encoding="utf-8")
    result = run_cli("import", str(mixed), env=env)
    assert result.returncode == 1
    assert "line 3: the lyrics are 3,000 bytes, over the 2,000-byte limit (DISCERN_MAX_LYRICS_BYTES)" in result.stderr
    assert "2 songs imported" in result.stdout  # the song is kept, without the lyrics

    lyrics = tmp_path / "Band - Long.txt"
    lyrics.write_text("la " * 1000, encoding="utf-8")
    result = run_cli("import", str(lyrics), env=env)
    assert "larger than 2,000 bytes (DISCERN_MAX_LYRICS_BYTES); skipped" in result.stderr


def test_cli_analyze_input_enforces_both_limits(tmp_path):
    songs = tmp_path / "songs.jsonl"
    songs.write_text(json.dumps({"id": "long", "lyrics": "la " * 1000}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("analyze", "--input", str(songs), "--output", str(out), env=SMALL_LIMITS)
    assert result.returncode == 1
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["id"] == "long" and "DISCERN_MAX_LYRICS_BYTES" in record["error"]

    songs.write_bytes(b'{"id": "x", "lyrics": "la"}\n' * 50_000)  # 1.3 MB
    result = run_cli("analyze", "--input", str(songs), "--output", str(out), env=SMALL_LIMITS, timeout=60)
    assert result.returncode == 2 and "over the 1 MB limit (DISCERN_MAX_UPLOAD_MB)" in result.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dashboard_import_and_analyse_pages_enforce_both_limits(dashboard_database, monkeypatch):
    for name, value in SMALL_LIMITS.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    at = dashboard_database.app()
    at.file_uploader(key="library-import-upload").set_value([
        ("big.csv", b"title,lyrics\n" + b"Song,la la la\n" * 80_000, "text/csv"),
        ("long.csv", ('title,lyrics\nLong Song,"' + "la " * 1000 + '"\n').encode(), "text/csv"),
    ])
    at.run()
    at.button(key="library-import-run").click().run()
    assert not at.exception
    shown = "\n".join(t.value for t in at.text)
    assert "0 songs imported" in shown and "1 songs imported" in shown
    problems = [p for key in ("library-import-problems-0", "library-import-problems-1")
                for p in at.get_by_key(key).dataframe[0].value["problem"]]
    assert any("over the 1 MB limit (DISCERN_MAX_UPLOAD_MB)" in p for p in problems)
    assert any("over the 2,000-byte limit (DISCERN_MAX_LYRICS_BYTES)" in p for p in problems)
    with dashboard_database.sessions.begin() as session:
        song = session.scalar(select(Song).where(Song.title == "Long Song"))
        assert song is not None and session.scalar(select(Lyrics).where(Lyrics.song_id == song.id)) is None

    at.switch_page("pages/analyse_lyrics.py").run()
    at.text_area(key="adhoc-text").set_value("la " * 1000)
    at.file_uploader(key="adhoc-files").set_value([("Huge.txt", b"la " * 400_000, "text/plain")])
    at.run()
    at.button(key="adhoc-run").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("over the 1 MB upload limit" in e for e in errors)
    assert any("over the 2,000\\-byte limit \\(DISCERN\\_MAX\\_LYRICS\\_BYTES\\)" in e for e in errors), errors
