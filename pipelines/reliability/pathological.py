"""Inputs built to make one analysis slow, and their timing in a process of their own.

Each case is lyrics text of a given size shaped against one part of the pipeline: regular
expressions that could backtrack (long runs of spaces, digits, stars, unclosed tags),
the splitting of long lines, many lines, the taxonomy's keyword patterns. Two stages:

* ``prepare``: cleaning, splitting lines within the tokenizer's limit (the real
  tokenizer) and the taxonomy's keyword patterns, i.e. all the work that is not a model;
  where a quadratic algorithm would show.
* ``analyse``: the whole compact analysis, models included (linear in the tokens, so
  bounded by DISCERN_MAX_LYRICS_BYTES).

``python -m pipelines.reliability.pathological --run prepare:1000000 --run analyse`` prints
one JSON line per case as it finishes, so a caller with a timeout knows which case hung;
``timed_cases`` runs it so.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

TAXONOMY_HOSTILE = (
    "f" * 40 + "u" * 40 + "c" * 40 + " hell hell no the hell out " + "saved from the fires of " * 3
    + "kill(ed) him shoot 'em '''' --- "
)


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _random_text(size: int, alphabet: str, seed: int) -> str:
    """Text the encoder's cache cannot shortcut: nothing repeats."""
    rng = random.Random(seed)
    return "".join(rng.choices(alphabet, k=size))


CASES: dict[str, Callable[[int], str]] = {
    "one line of words": lambda n: _repeat("praise the lord with all my heart ", n),
    "one line without spaces": lambda n: _repeat("ab,cd!ef?", n),
    "many short lines": lambda n: _repeat("la la\n", n),
    "random words on one line": lambda n: _random_text(n, "abcdefghijklmnopqrstuvwxyz     ", 1),
    "random punctuation and letters": lambda n: _random_text(n, "!?.,;:'\"()-abcxyz0123", 2),
    "distinct lines": lambda n: "\n".join(f"line {i} says {i * 7919 % 10007} things" for i in range(n // 30))[:n],
    "spaces between two words": lambda n: "a" + " " * (n - 2) + "b",
    "tabs and no-break spaces": lambda n: "a" + _repeat("\t\u00a0 ", n - 2) + "b",
    "digits before Embed": lambda n: "1" * (n - 6) + "xEmbed",
    "stars and 'lyrics'": lambda n: "***" + _repeat("lyrics", n - 3),
    "unclosed script tags": lambda n: _repeat("<script>", n),
    "deeply nested HTML": lambda n: "<div>" * (n // 12) + "praise" + "</div>" * (n // 12),
    "less-than signs": lambda n: "<" * n,
    "brackets and (x2)": lambda n: _repeat("[(x2 ", n),
    "LRC timestamps": lambda n: _repeat("[00:00.00]", n),
    "regex-hostile keywords": lambda n: _repeat(TAXONOMY_HOSTILE + "\n", n),
    "combining marks and emoji": lambda n: _repeat("e\u0301\u0302 👨\u200d👩\u200d👧 ", n // 3),
}


def timed_cases(runs: list[str], timeout: float, env: dict[str, str] | None = None) -> list[dict]:
    """Run the cases in a subprocess; every finished case's figures. On a timeout the
    unfinished case is returned with ``"seconds": None`` (it hung or ran too long)."""
    import os
    import subprocess

    command = [sys.executable, "-m", "pipelines.reliability.pathological"]
    for run in runs:
        command += ["--run", run]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0:
        done = {(r["stage"], r["case"]) for r in results}
        pending = [(run.partition(":")[0], name) for run in runs for name in CASES
                   if (run.partition(":")[0], name) not in done]
        stage, name = pending[0] if pending else ("?", "?")
        results.append({"case": name, "stage": stage, "seconds": None, "error": err[-2000:]})
    return results


def run_case(name: str, size: int, stage: str, analyzers) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) one case takes at ``stage``."""
    from pipelines.analyzers.safety import keyword_scores
    from pipelines.engine import analyze_text, fit_lines
    from pipelines.lyrics import LyricsError, prepare

    text = CASES[name](size)
    started, cpu = time.perf_counter(), time.process_time()
    if stage == "prepare":
        try:
            prepared = fit_lines(prepare(text), analyzers)
        except LyricsError:
            prepared = None
        if prepared is not None:
            taxonomy = analyzers.taxonomy
            keyword_scores(prepared.distinct_lines(), taxonomy.concerns, taxonomy)
    else:
        analyze_text(text, analyzers)
    return time.perf_counter() - started, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.reliability.pathological")
    parser.add_argument("--run", action="append", metavar="STAGE[:BYTES]",
                        help="prepare or analyse, at BYTES per input (default: DISCERN_MAX_LYRICS_BYTES); repeatable")
    parser.add_argument("--case", action="append", help="only these cases (default: all)")
    args = parser.parse_args(argv)

    from pipelines.analyzers.loader import load_analyzers
    from pipelines.settings import get_settings

    analyzers = load_analyzers("compact")
    for run in args.run or ["prepare", "analyse"]:
        stage, _, size = run.partition(":")
        if stage not in ("prepare", "analyse"):
            parser.error(f"unknown stage {stage!r}")
        size = int(size) if size else get_settings().discern_max_lyrics_bytes
        for name in args.case or CASES:
            seconds, cpu = run_case(name, size, stage, analyzers)
            print(json.dumps({"case": name, "stage": stage, "bytes": size, "seconds": round(seconds, 3),
                              "cpu_seconds": round(cpu, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
