"""Is `alt-profanity-check` worth adding to the profanity concern? Measured, not assumed.

    python -m benchmarks.profanity_baseline [FILE.jsonl ...]   (default: the dev set and the sample library)

For each labelled file it prints the song-level profanity precision/recall/F1 of Discern's
compact analysis (keywords + embeddings) and of alt-profanity-check alone (a song counts
as profane when its most profane line's probability reaches a threshold), and of the two
combined (either one). alt-profanity-check is a development dependency only: on the dev
set and the sample library it found no profane song the compact analysis missed and only
added false flags (a hymn at 0.82, for one), so the runtime does not use it (README, Accuracy).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipelines.analyzers.loader import load_analyzers
from pipelines.engine import analyze_text
from pipelines.evaluate import _f1
from pipelines.lyrics import prepare

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.7, 0.8, 0.9, 0.95)


def _sample_library() -> list[dict]:
    return json.loads((ROOT / "pipelines" / "data" / "sample_library.json").read_text(encoding="utf-8"))["songs"]


def _read(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _scores(flags: list[bool], gold: list[bool]) -> str:
    tp = sum(f and g for f, g in zip(flags, gold, strict=True))
    fp = sum(f and not g for f, g in zip(flags, gold, strict=True))
    fn = sum(g and not f for f, g in zip(flags, gold, strict=True))
    precision, recall, f1 = _f1(tp, fp, fn)
    return f"P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}  ({fp} false flags, {fn} missed)"


def compare(name: str, songs: list[dict]) -> None:
    from profanity_check import predict_prob  # development dependency

    analyzers = load_analyzers("compact")
    gold = ["profanity" in song["labels"]["concerns"] for song in songs]
    ours = ["profanity" in analyze_text(song["lyrics"], analyzers).concerns for song in songs]
    worst = [float(predict_prob([line.text for line in prepare(song["lyrics"]).lines] or [""]).max()) for song in songs]
    print(f"{name}: {len(songs)} songs, {sum(gold)} labelled profane")
    print(f"  compact analysis                 {_scores(ours, gold)}")
    for threshold in THRESHOLDS:
        theirs = [p >= threshold for p in worst]
        either = [a or b for a, b in zip(ours, theirs, strict=True)]
        print(f"  alt-profanity-check >= {threshold:<4}      {_scores(theirs, gold)}")
        print(f"  either of the two (>= {threshold:<4})     {_scores(either, gold)}")


def main(argv: list[str]) -> int:
    if argv:
        for path in argv:
            compare(path, _read(path))
        return 0
    dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        compare("dev set", _read(str(dev)))
    compare("sample library", _sample_library())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
