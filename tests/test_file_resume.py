"""``analyze --input FILE --output OUT`` resumes OUT: a real CLI process (the packaged compact
models) on real files, killed with SIGKILL half way and run again; a torn last line, lines
of another analyzer version and failure lines left by an earlier run; ``--restart``; and
files it must not touch. The Ray engine's file mode is tested in test_ray_engine.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kill_support import complete_lines, kill_after_lines

from pipelines.engine import AnalysisFailure, SongInput, analyze_songs
from pipelines.importers.sample_library import SAMPLE_LIBRARY_PATH

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SONGS = json.loads(SAMPLE_LIBRARY_PATH.read_text(encoding="utf-8"))["songs"]
FIELDS = ("id", "title", "artist", "lyrics")


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "pipelines", "analyze", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(*args: str) -> tuple[int, str]:
    process = _cli(*args)
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def _write_input(path: Path, songs: list[dict]) -> list[dict]:
    path.write_text("".join(json.dumps({k: s[k] for k in FIELDS}) + "\n" for s in songs), encoding="utf-8")
    return songs


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in {"timings", "id"}}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, Path]:
    """Six sample songs and a clean run's output of them (copied by each test that edits it)."""
    folder = tmp_path_factory.mktemp("small")
    source, out = folder / "songs.jsonl", folder / "clean.jsonl"
    _write_input(source, SAMPLE_SONGS[:6])
    code, stderr = _run("--input", str(source), "--output", str(out), "--batch-size", "2")
    assert code == 0, stderr[-3000:]
    assert "resuming" not in stderr and "analysed 6 of 6 songs" in stderr
    return source, out


@pytest.mark.slow
def test_a_killed_file_run_resumes_without_redoing_what_it_finished(tmp_path, analyzers):
    # The sample library three times over (new ids): enough songs to kill the run half way.
    songs = _write_input(tmp_path / "songs.jsonl", [
        {**song, "id": f"{song['id']}-{copy}"} for copy in range(3) for song in SAMPLE_SONGS
    ])
    source, out = tmp_path / "songs.jsonl", tmp_path / "out.jsonl"
    args = ("--input", str(source), "--output", str(out), "--batch-size", "2", "--sensitivity", "balanced")
    kill_after_lines(_cli(*args), out, 10, timeout=120)
    before = complete_lines(out)
    assert 10 <= len(before) < len(songs), "kill the run half way, not after it finished"

    code, stderr = _run(*args)
    assert code == 0, stderr[-3000:]
    left = len(songs) - len(before)
    assert f"resuming {out}: {len(before)} songs already analysed kept, {left} left to analyse" in stderr
    assert f"analysed {left} of {left} songs into {out} (0 failed, 0 unreadable rows; {len(before)} kept" in stderr

    after = out.read_bytes().splitlines(keepends=True)
    assert after[: len(before)] == before  # kept byte for byte (timings too): not analysed again
    records = [json.loads(line) for line in after]
    assert sorted(r["id"] for r in records) == sorted(s["id"] for s in songs)  # each id exactly once
    clean = analyze_songs([SongInput(s["id"], s["lyrics"], s["title"], s["artist"]) for s in songs],
                          analyzers, "balanced")
    expected = {song.id: _comparable(outcome.to_dict()) for song, outcome in clean
                if not isinstance(outcome, AnalysisFailure)}
    assert {r["id"]: _comparable(r) for r in records} == expected  # what one clean run gives


def test_a_torn_last_line_is_cut_off_and_that_song_analysed_again(small_run, tmp_path):
    source, clean = small_run
    out = tmp_path / "out.jsonl"
    lines = clean.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:4]) + lines[4][: len(lines[4]) // 2])  # killed while writing line 5

    code, stderr = _run("--input", str(source), "--output", str(out))
    assert code == 0, stderr[-3000:]
    assert f"resuming {out}: 4 songs already analysed kept, 2 left to analyse (a torn last line cut off)" in stderr
    assert "analysed 2 of 2 songs" in stderr
    after = out.read_bytes().splitlines(keepends=True)
    assert after[:4] == lines[:4] and len(after) == 6
    assert [r["id"] for r in map(json.loads, after)] == [json.loads(line)["id"] for line in lines]
    assert [_comparable(json.loads(line)) for line in after] == [_comparable(json.loads(line)) for line in lines]


def test_results_of_another_analyzer_version_and_failures_are_redone(small_run, tmp_path):
    source, clean = small_run
    out = tmp_path / "out.jsonl"
    records = _records(clean)
    current = records[0]["analyzer"]["version"]
    old = [dict(r) for r in records]
    for n in (1, 3):
        old[n]["analyzer"] = {**old[n]["analyzer"], "version": "an-older-version"}
    old[4] = {"id": records[4]["id"], "error": "analysis failed: RuntimeError: out of memory"}
    gone = {**records[0], "id": "no-longer-in-the-input"}
    out.write_text("".join(json.dumps(r) + "\n" for r in [*old, gone]), encoding="utf-8")
    kept = [line for n, line in enumerate(out.read_bytes().splitlines(keepends=True)) if n in (0, 2, 5)]

    code, stderr = _run("--input", str(source), "--output", str(out))
    assert code == 0, stderr[-3000:]
    assert (f"resuming {out}: 3 songs already analysed kept, 3 left to analyse (1 failed before, retried;"
            " 2 from another analyzer version or sensitivity, redone; 1 not in the input, dropped)") in stderr
    assert "analysed 3 of 3 songs" in stderr
    after = out.read_bytes().splitlines(keepends=True)
    assert after[:3] == kept  # the file was rewritten without the others, the rest appended
    redone = [json.loads(line) for line in after]
    assert [r["id"] for r in redone] == [records[n]["id"] for n in (0, 2, 5, 1, 3, 4)]
    assert all(r["analyzer"]["version"] == current and "error" not in r for r in redone)
    assert {r["id"]: _comparable(r) for r in redone} == {r["id"]: _comparable(r) for r in records}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temp file left behind

    # Another sensitivity is another result: redone too.
    code, stderr = _run("--input", str(source), "--output", str(out), "--sensitivity", "strict")
    assert code == 0, stderr[-3000:]
    assert "0 songs already analysed kept, 6 left to analyse (6 from another analyzer version or sensitivity" in stderr
    assert {r["sensitivity"] for r in _records(out)} == {"strict"} and len(_records(out)) == 6


def test_a_finished_file_is_kept_whole_and_restart_starts_it_over(small_run, tmp_path):
    source, clean = small_run
    out = tmp_path / "out.jsonl"
    out.write_bytes(clean.read_bytes())

    code, stderr = _run("--input", str(source), "--output", str(out))
    assert code == 0, stderr[-3000:]
    assert "6 songs already analysed kept, 0 left to analyse" in stderr and "analysed 0 of 0 songs" in stderr
    assert out.read_bytes() == clean.read_bytes()

    code, stderr = _run("--input", str(source), "--output", str(out), "--restart")
    assert code == 0, stderr[-3000:]
    assert "resuming" not in stderr and "analysed 6 of 6 songs" in stderr
    assert len(_records(out)) == 6 and out.read_bytes() != clean.read_bytes()  # analysed again (new timings)


def test_a_file_that_is_not_an_analysis_output_is_left_alone(small_run, tmp_path):
    source, _ = small_run
    other = tmp_path / "notes.jsonl"
    other.write_text('{"id": "x", "lyrics": "a song, not a result"}\n', encoding="utf-8")
    code, stderr = _run("--input", str(source), "--output", str(other))
    assert code == 2
    assert f"line 1 of {other} is not an analysis result" in stderr and "--restart" in stderr
    assert other.read_text(encoding="utf-8") == '{"id": "x", "lyrics": "a song, not a result"}\n'

    code, stderr = _run("--input", str(source), "--output", str(source), "--restart")
    assert code == 2 and "is the input file" in stderr
    assert len(source.read_text(encoding="utf-8").splitlines()) == 6


def test_restart_goes_with_input_only(tmp_path, capsys):
    from pipelines.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "--playlist", "Everything", "--restart"])
    assert exit_.value.code == 2 and "--restart go with --input" in capsys.readouterr().err
