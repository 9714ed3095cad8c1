"""Cost of the hf profile: the original design, the hf profile as optimised, the compact profile.

Builds full-size random-weight versions of the four hf architectures (bart-large-mnli,
roberta-base, distilroberta-base, bert-base: same shapes, hence the same compute and
memory as the real checkpoints) with a locally built tokenizer, then runs each
configuration in its own subprocess, on the same songs, and reports seconds per song
(after loading) and the process's peak RSS:

- original: fp32, transformers pipelines, every theme and concern label through BART as a
  zero-shot candidate (one NLI pass per label per song), the three classifiers on the text;
- hf: the hf profile as shipped (int8, prefilter to DISCERN_HF_TOP_K_LABELS, batched pairs);
- hf-fp32: the same with DISCERN_HF_INT8=0 (what the prefilter alone saves);
- compact: the compact profile.

    python benchmarks/hf_profile.py [--songs 4] [--configs original,hf,hf-fp32,compact] [--readme]

``--readme`` writes the table into README.md's "The hf profile" section. The tokenizer is
the packaged encoder's (bert-base-uncased WordPiece): lyrics get realistic token counts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hf_tiny_models import blueprints, write_model_set  # noqa: E402

DEFAULT_MODELS_DIR = Path(tempfile.gettempdir()) / "discern-hf-bench"
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- hf-benchmark:start -->", "<!-- hf-benchmark:end -->"
CONFIGS = ("original", "hf", "hf-fp32", "compact")
DESCRIPTIONS = {
    "original": "(a) original design: fp32, every label through BART",
    "hf": "(b) hf profile: int8, top-k prefilter, batched",
    "hf-fp32": "(b') hf profile with DISCERN_HF_INT8=0",
    "compact": "(c) compact profile",
}

FULL_SIZE = {
    # facebook/bart-large-mnli
    "DISCERN_HF_ZERO_SHOT_MODEL": dict(vocab_size=50265, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16, decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024),
    # cardiffnlp/twitter-roberta-base-sentiment-latest (roberta-base)
    "DISCERN_HF_SENTIMENT_MODEL": dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=514),
    # j-hartmann/emotion-english-distilroberta-base (distilroberta-base)
    "DISCERN_HF_EMOTION_MODEL": dict(vocab_size=50265, hidden_size=768, num_hidden_layers=6, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=514),
    # unitary/toxic-bert (bert-base-uncased)
    "DISCERN_HF_TOXICITY_MODEL": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512),
}  # fmt: skip


def build_models(folder: Path) -> dict[str, str]:
    """Write the four full-size random-weight models once; later runs reuse them."""
    marker = folder / "paths.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from transformers import AutoTokenizer

    from pipelines.analyzers.encoder import packaged_model_path

    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path())
    tokenizer.model_max_length = 512
    paths = write_model_set(folder, tokenizer, blueprints(tokenizer, FULL_SIZE))
    marker.write_text(json.dumps(paths))
    return paths


def load_songs(count: int) -> list[dict]:
    """``count`` songs spread over the bundled sample library (all genres, not the first few)."""
    songs = json.loads((ROOT / "pipelines" / "data" / "sample_library.json").read_text())["songs"]
    step = max(1, len(songs) // count)
    return songs[::step][:count]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class Stopwatch:
    """Wall and CPU seconds of this process (CPU time is steadier on a shared machine)."""

    def __enter__(self) -> Stopwatch:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def _run_original(paths: dict[str, str], songs: list[dict]) -> dict:
    """The original design, with transformers pipelines as it was written."""
    import torch
    from transformers import pipeline

    from pipelines.analyzers.hf_zero_shot import hypothesis
    from pipelines.lyrics import prepare
    from pipelines.settings import get_settings
    from pipelines.taxonomy import load_taxonomy

    torch.set_num_threads(get_settings().discern_torch_threads)
    taxonomy = load_taxonomy()
    labels = [hypothesis(label) for label in (*taxonomy.themes, *taxonomy.concerns)]
    start = time.perf_counter()
    zero_shot = pipeline("zero-shot-classification", model=paths["DISCERN_HF_ZERO_SHOT_MODEL"], dtype=torch.float32)
    classifiers = [
        pipeline("text-classification", model=paths[s], top_k=None, dtype=torch.float32)
        for s in ("DISCERN_HF_SENTIMENT_MODEL", "DISCERN_HF_EMOTION_MODEL")
    ]
    toxicity = pipeline(
        "text-classification",
        model=paths["DISCERN_HF_TOXICITY_MODEL"],
        top_k=None,
        function_to_apply="sigmoid",
        dtype=torch.float32,
    )
    load_s = time.perf_counter() - start

    def analyse(text: str) -> None:
        zero_shot(text, candidate_labels=labels, hypothesis_template="{}", multi_label=True)
        for classifier in (*classifiers, toxicity):
            classifier(text, truncation=True)

    analyse("warm up")
    with Stopwatch() as watch:
        for song in songs:
            analyse(prepare(song["lyrics"]).text)
    return {"load_s": load_s, "watch": watch, "nli_labels": len(labels)}


def _run_profile(profile: str, songs: list[dict]) -> dict:
    from pipelines.analyzers.loader import load_analyzers
    from pipelines.engine import AnalysisFailure, SongInput, analyze_songs, analyze_text

    start = time.perf_counter()
    analyzers = load_analyzers(profile)
    load_s = time.perf_counter() - start
    if analyzers.profile != profile:
        raise SystemExit(f"{profile} did not load: {analyzers.notices}")
    analyze_text("warm up", analyzers)
    inputs = [SongInput(s["id"], s["lyrics"], s["title"], s["artist"]) for s in songs]
    with Stopwatch() as watch:
        outcomes = [o for _, o in analyze_songs(inputs, analyzers, batch_size=len(inputs))]
    failed = [o for o in outcomes if isinstance(o, AnalysisFailure)]
    if failed:
        raise SystemExit(f"{profile}: {failed[0].error}")
    return {"load_s": load_s, "watch": watch}


def run_one(config: str, models_dir: Path, count: int) -> dict:
    """One configuration, in this process (the parent starts one subprocess per configuration)."""
    songs = load_songs(count)
    paths = json.loads((models_dir / "paths.json").read_text())
    if config == "original":
        figures = _run_original(paths, songs)
    else:
        os.environ.update(paths)
        os.environ["DISCERN_HF_INT8"] = "0" if config == "hf-fp32" else "1"
        figures = _run_profile("compact" if config == "compact" else "hf", songs)
    watch = figures.pop("watch")
    return {
        "config": config,
        "songs": len(songs),
        "sec_per_song": watch.wall / len(songs),
        "cpu_sec_per_song": watch.cpu / len(songs),
        # What a long-running process keeps: checkpoints are memory-mapped, so RSS right
        # after loading says little until every weight has been read once.
        "rss_end_mb": _rss_mb(),
        "peak_rss_mb": _peak_rss_mb(),
        **figures,
    }


def table(rows: list[dict]) -> str:
    from pipelines.settings import get_settings

    settings = get_settings()
    lines = [
        "| configuration | s / song | CPU s / song | CPU speed-up vs (a) | load s | RSS after the songs MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    # CPU seconds: on a shared machine, other processes' load inflates wall time, not these.
    base = next((r["cpu_sec_per_song"] for r in rows if r["config"] == "original"), None)
    for r in rows:
        speedup = f"{base / r['cpu_sec_per_song']:.1f}x" if base else "-"
        lines.append(
            f"| {DESCRIPTIONS[r['config']]} | {r['sec_per_song']:.2f} | {r['cpu_sec_per_song']:.2f} | {speedup} "
            f"| {r['load_s']:.1f} | {r['rss_end_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    labels = next((r["nli_labels"] for r in rows if "nli_labels" in r), None)
    songs = rows[0]["songs"] if rows else 0
    lines.append("")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(
        f"{songs} songs of the bundled sample library, {os.cpu_count()} CPU cores (load average {load} at the end), "
        f"DISCERN_TORCH_THREADS={settings.discern_torch_threads}, DISCERN_HF_TOP_K_LABELS={settings.discern_hf_top_k_labels}, "
        f"DISCERN_HF_BATCH_TOKENS={settings.discern_hf_batch_tokens}"
        + (f"; (a) asks BART about {labels} labels per song." if labels else ".")
    )
    return "\n".join(lines)


def write_readme_table(text: str, attempts: int = 5) -> None:
    """Put ``text`` between the table markers of README.md, re-reading if someone else writes it."""
    for _ in range(attempts):
        before = README.read_text(encoding="utf-8") if README.exists() else ""
        if TABLE_START not in before or TABLE_END not in before:
            raise SystemExit(f"README.md has no {TABLE_START} ... {TABLE_END} block to fill")
        head, rest = before.split(TABLE_START, 1)
        after = head + TABLE_START + "\n" + text + "\n" + TABLE_END + rest.split(TABLE_END, 1)[1]
        if (README.read_text(encoding="utf-8") if README.exists() else "") == before:
            README.write_text(after, encoding="utf-8")
            return
        time.sleep(0.5)
    raise SystemExit("README.md kept changing; table not written")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=4, help="songs per configuration (the original design is slow)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {', '.join(CONFIGS)}")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="where the full-size models are written")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    parser.add_argument("--run", choices=CONFIGS, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(run_one(args.run, args.models_dir, args.songs)))
        return 0
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configurations {sorted(unknown)}")
    print(f"building full-size random-weight models in {args.models_dir} (once)...", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.hf_profile import build_models; from pathlib import Path; build_models(Path({str(args.models_dir)!r}))"],
        check=True,
    )  # fmt: skip
    rows = []
    for config in configs:
        print(f"running {config} on {args.songs} songs...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--run", config, "--songs", str(args.songs), "--models-dir", str(args.models_dir)],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr)
    text = table(rows)
    print(text)
    if args.readme:
        write_readme_table(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
