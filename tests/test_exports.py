"""Exports: results CSV/JSON and the clean playlist (CSV, M3U) read back through the
importers; formula cells are neutralised; overrides and sensitivity decide what is clean."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.__main__ import main
from pipelines.exports import (
    clean_playlist_csv,
    clean_playlist_m3u,
    clean_songs,
    neutralise_cell,
    results_csv,
    results_json,
    verdict_at,
)
from pipelines.importers import import_upload
from pipelines.importers.records import FORMULA_TRIGGERS, unescape_cell
from pipelines.jobs import JobRunner, create_playlist_job
from pipelines.settings import get_settings
from pipelines.store.db import dispose_engines, make_engine, make_sessionmaker
from pipelines.store.library_view import playlist_songs
from pipelines.store.migrate import upgrade
from pipelines.store.repository import find_playlist, set_override

PLAYLIST = "Youth Group Road Trip"  # approved, review and flagged songs


@pytest.fixture
def analysed(sample_sessions, analyzers):
    """The sample library with PLAYLIST analysed; returns (sessions, playlist id)."""
    with sample_sessions.begin() as session:
        playlist_id = find_playlist(session, PLAYLIST).id
        job_id = create_playlist_job(session, playlist_id, profile=analyzers.profile, sensitivity="balanced").id
    assert JobRunner(sample_sessions, analyzers).run(job_id).status == "done"
    return sample_sessions, playlist_id


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_results_csv_has_every_result_and_imports_back(analysed):
    sessions, playlist_id = analysed
    with sessions.begin() as session:
        text = results_csv(session, playlist_id)
        songs = playlist_songs(session, playlist_id)
    rows = _rows(text)
    assert [r["Track Name"] for r in rows] == [s.title for s in songs]
    assert {r["Verdict"] for r in rows} == {"approved", "review", "flagged"}
    assert all(r["concerns.violence"] != "" and r["sentiments.positive"] != "" for r in rows)
    with sessions.begin() as session:
        report = import_upload(session, text.encode(), "copy.csv")
        assert (report.songs_created, report.songs_unchanged) == (0, len(songs))
        copy = playlist_songs(session, find_playlist(session, "copy").id)
    assert [s.song_id for s in copy] == [s.song_id for s in songs]


def test_results_json_keeps_full_results_and_rebuilds_the_playlist_elsewhere(analysed, tmp_path):
    sessions, playlist_id = analysed
    with sessions.begin() as session:
        document = json.loads(results_json(session, playlist_id))
        songs = playlist_songs(session, playlist_id)
    assert document["playlist"]["name"] == PLAYLIST and len(document["songs"]) == len(songs)
    first = document["songs"][0]
    assert first["analysis"]["scores"]["emotions"] and first["lyrics"]
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        upgrade(fresh)
        with make_sessionmaker(fresh).begin() as session:
            report = import_upload(session, json.dumps(document).encode(), "export.json")
            assert report.ok and report.songs_created == len(songs) and report.lyrics_added == len(songs)
            rebuilt = playlist_songs(session, find_playlist(session, PLAYLIST).id)
        # Same lyrics, same hashes: the results cache would answer for every song.
        assert [(s.title, s.lyrics_hash) for s in rebuilt] == [(s.title, s.lyrics_hash) for s in songs]
    finally:
        fresh.dispose()


def test_clean_playlist_follows_sensitivity_and_overrides(analysed, taxonomy):
    sessions, playlist_id = analysed
    with sessions.begin() as session:
        rows = playlist_songs(session, playlist_id, with_results=True)
        flagged = next(r for r in rows if r.verdict == "flagged")
        approved = next(r for r in rows if r.verdict == "approved")
        set_override(session, flagged.song_id, "approved", "parody, fine for us")
        set_override(session, approved.song_id, "flagged", "not for the van")
        clean = [r.title for r in clean_songs(session, playlist_id)]
        with_review = clean_songs(session, playlist_id, include_review=True)
        lenient = [r.title for r in clean_songs(session, playlist_id, sensitivity="lenient")]
        strict = [r.title for r in clean_songs(session, playlist_id, sensitivity="strict")]
        csv_text = clean_playlist_csv(session, playlist_id)
        m3u = clean_playlist_m3u(session, playlist_id)
    assert flagged.title in clean and approved.title not in clean
    assert len(with_review) >= len(clean)
    assert set(strict) <= set(clean) <= set(lenient)
    for row in rows:  # the stored verdict is the balanced one; other presets re-derive from scores
        assert verdict_at(row.result, "balanced", taxonomy) == row.analysed_verdict
    assert [r["Track Name"] for r in _rows(csv_text)] == clean
    lines = m3u.splitlines()
    assert lines[:2] == ["#EXTM3U", f"#PLAYLIST:{PLAYLIST}"]
    assert len([line for line in lines if line.startswith("#EXTINF:")]) == len(clean)
    with sessions.begin() as session:
        report = import_upload(session, csv_text.encode(), "clean.csv")
        assert report.ok and report.songs_created == 0
        assert [r.title for r in playlist_songs(session, find_playlist(session, "clean").id)] == clean


def test_switched_off_concerns_do_not_count_in_any_export(analysed, taxonomy):
    sessions, playlist_id = analysed
    with sessions.begin() as session:
        rows = playlist_songs(session, playlist_id, with_results=True)
        flagged = [r for r in rows if r.verdict == "flagged"]
        assert flagged, "the playlist needs a flagged song"
        # Every concern that made a song flagged or review switched off: only clean songs are left.
        raised = {key for r in rows for key in r.concerns}
        raised |= {key for r in rows for key in r.result.get("review_concerns", [])}
        counted = [key for key in taxonomy.concern_keys if key not in raised]
        all_clean = [r.title for r in clean_songs(session, playlist_id, enabled=counted)]
        results = {r["Track Name"]: r for r in _rows(results_csv(session, playlist_id, enabled=counted))}
        document = json.loads(results_json(session, playlist_id, enabled=counted))
        everything = [r.title for r in clean_songs(session, playlist_id, enabled=taxonomy.concern_keys)]
        default = [r.title for r in clean_songs(session, playlist_id)]
    assert {r.title for r in flagged} <= set(all_clean)
    assert all(row["Verdict"] == "approved" for row in results.values())
    assert {r.title: results[r.title]["Analysed verdict"] for r in flagged} == {r.title: "flagged" for r in flagged}
    assert {song["verdict"] for song in document["songs"]} == {"approved"}
    assert document["concerns_counted"] == sorted(counted)
    assert everything == default and not {r.title for r in flagged} & set(default)



def test_formula_cells_are_neutralised_and_read_back(sessions):
    titles = ["=1+2", "+SUM(A1)", "-3", "@cmd", "\tTabbed", "Normal", "'Til the End"]
    data = "title,artist\n" + "".join(f'"{neutralise_cell(t)}",x\n' for t in titles)
    with sessions.begin() as session:
        import_upload(session, data.encode(), "tricky.csv")
        playlist_id = find_playlist(session, "tricky").id
        text = results_csv(session, playlist_id)
    cells = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert all(not cell.startswith(FORMULA_TRIGGERS) for cell in cells)
    assert cells[0] == "'=1+2" and cells[-1] == "'Til the End"
    with sessions.begin() as session:
        import_upload(session, text.encode(), "tricky again.csv")
        back = [r.title for r in playlist_songs(session, find_playlist(session, "tricky again").id)]
    assert back == titles


@given(st.text())
def test_neutralising_then_reading_gives_the_text_back(text):
    if text.startswith("'") and text[1:2] in FORMULA_TRIGGERS and text[1:2]:
        return  # already looks neutralised: read back without its quote, by design
    cell = neutralise_cell(text)
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert unescape_cell(cell) == text


def test_cli_import_analyze_export_round_trip(database_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DISCERN_LOAD_SAMPLE_LIBRARY", "0")
    get_settings.cache_clear()
    try:
        source = tmp_path / "Songs.jsonl"
        source.write_text(
            "\n".join(json.dumps({"title": f"Song {i}", "artist": "Band", "lyrics": f"We sing of the morning light {i}"})
                      for i in range(3)) + "\n{broken\n",
            encoding="utf-8",
        )
        assert main(["db", "upgrade"]) == 0
        assert main(["import", str(source)]) == 1  # one broken line, named on stderr
        assert "line 4" in capsys.readouterr().err
        assert main(["import", str(source)]) == 1
        assert "0 new" in capsys.readouterr().out
        assert main(["analyze", "--playlist", "Songs", "--batch-size", "2"]) == 0
        out = tmp_path / "clean.m3u"
        assert main(["export", "--playlist", "Songs", "--format", "clean-m3u", "-o", str(out)]) == 0
        assert out.read_text(encoding="utf-8").count("#EXTINF:-1,Band - Song") == 3
        assert main(["export", "--playlist", "Nope"]) == 2
        assert main(["export", "--playlist", "Songs", "--ignore-concern", "nonsense"]) == 2
        assert "unknown concern nonsense" in capsys.readouterr().err
        assert main(["export", "--playlist", "Songs", "--format", "results-json", "--ignore-concern", "violence"]) == 0
        assert "violence" not in json.loads(capsys.readouterr().out)["concerns_counted"]
        assert main(["jobs", "list"]) == 0
        assert "done" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
        dispose_engines()
