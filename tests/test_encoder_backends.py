"""The sentence encoder's backends and batching, against the reference: transformers' own
tokenizer and the torch model, one text at a time.

Tolerances (the README's Performance section states them too):
- onnx fp32 vs torch: cosine >= 0.99999 per text;
- onnx int8 vs fp32: cosine >= 0.95 per text and >= 0.98 on average.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines.analyzers.encoder import (
    MAX_TOKENS,
    SentenceEncoder,
    model_cache_dir,
    packaged_model_path,
)
from pipelines.lyrics import prepare

TEXTS = [
    "Amazing grace, how sweet the sound",
    "I'm gonna drink until I can't feel my face",
    "We wander through the neon rain",
    "Ünïcödé café naïve, “quoted” — and an emoji 🎵",
    "",
    "oh",
    "la " * 300,  # over MAX_TOKENS: cut, [SEP] kept
    "Keep the faith that quenches arrows " * 3,
]


@pytest.fixture(scope="module")
def torch_encoder() -> SentenceEncoder:
    return SentenceEncoder(backend="torch")


@pytest.fixture(scope="module")
def onnx_encoder() -> SentenceEncoder:
    return SentenceEncoder(backend="onnx", workers=2)


def reference_tokens(texts: list[str]) -> tuple[list[list[int]], list[int]]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(packaged_model_path())
    cut = [tokenizer(t, truncation=True, max_length=MAX_TOKENS)["input_ids"] for t in texts]
    full = [len(tokenizer(t, truncation=False)["input_ids"]) for t in texts]
    return cut, full


def test_tokenisation_matches_the_model_tokenizer(onnx_encoder: SentenceEncoder) -> None:
    cut, full = reference_tokens(TEXTS)
    assert onnx_encoder._tokenize(TEXTS) == cut
    assert [onnx_encoder.count_tokens(t) for t in TEXTS] == full
    assert max(full) > MAX_TOKENS  # the long text is really cut


def test_onnx_matches_torch(torch_encoder: SentenceEncoder, onnx_encoder: SentenceEncoder) -> None:
    assert onnx_encoder.backend == "onnx" and torch_encoder.backend == "torch"
    a, b = torch_encoder._encode_uncached(TEXTS), onnx_encoder._encode_uncached(TEXTS)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() >= 0.99999
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_vectors(onnx_encoder: SentenceEncoder) -> None:
    together = onnx_encoder._encode_uncached(TEXTS)  # padded batches, several workers
    alone = np.stack([onnx_encoder._encode_uncached([t])[0] for t in TEXTS])  # no padding at all
    assert np.allclose(together, alone, atol=1e-5)


def test_cache_and_stats(onnx_encoder: SentenceEncoder) -> None:
    texts = [f"a line seen once {i}" for i in range(5)]
    before = onnx_encoder.stats.encoded
    first = onnx_encoder.encode([*texts, texts[0]])
    again = onnx_encoder.encode(texts[::-1])
    assert onnx_encoder.stats.encoded - before == 5  # repeats and the second call hit the cache
    assert np.array_equal(first[0], first[5])
    assert np.array_equal(again[::-1], first[:5])
    assert onnx_encoder.stats.padded_tokens >= onnx_encoder.stats.tokens > 0


def test_int8_stays_within_the_stated_tolerance(onnx_encoder: SentenceEncoder) -> None:
    library = json.loads((Path(__file__).resolve().parent.parent / "pipelines/data/sample_library.json").read_text())
    lines = list(dict.fromkeys(line.text for song in library["songs"] for line in prepare(song["lyrics"]).lines))
    int8 = SentenceEncoder(backend="onnx", int8=True, workers=2)
    assert int8.int8
    cosine = (onnx_encoder._encode_uncached(lines) * int8._encode_uncached(lines)).sum(axis=1)
    assert cosine.min() >= 0.95
    assert cosine.mean() >= 0.98


def test_a_failed_export_falls_back_to_torch(tmp_path, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    encoder = SentenceEncoder(backend="onnx", cache_dir=blocker / "models")
    assert encoder.backend == "torch"
    assert "ONNX encoder is not available" in caplog.text
    assert encoder.encode(["still works"]).shape == (1, encoder.dimension)


def test_int8_needs_the_onnx_backend() -> None:
    with pytest.raises(ValueError, match="onnx"):
        SentenceEncoder(backend="torch", int8=True)


def test_cache_folder_follows_the_setting_and_xdg(monkeypatch, tmp_path) -> None:
    assert model_cache_dir(str(tmp_path)) == tmp_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache_dir("") == tmp_path / "xdg" / "discern"
