"""Loading and running the hf profile's Hugging Face sequence classifiers.

Each model loads with ``local_files_only=True`` first; the hub is asked only when
DISCERN_HF_ALLOW_DOWNLOAD is on. A model that cannot be had raises ``ModelUnavailable``
with a reason a user can act on, and the loader falls back to the compact profile.

On CPU the ``Linear`` layers are quantised to dynamic int8 (DISCERN_HF_INT8): about 4x
less compute in BART-large and 2.5x less memory. Inputs are tokenised once, sorted by
length and cut into batches under a padded-token budget (DISCERN_HF_BATCH_TOKENS), so a
short line is never padded to a long stanza's length.
"""

from __future__ import annotations

import gc
import inspect
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipelines.analyzers.registry import ModelSpec

GENERIC_LABEL = re.compile(r"label_?\d+")


class ModelUnavailable(RuntimeError):
    """A model of the hf profile is not cached locally (and may not be downloaded) or is unusable."""

    def __init__(self, spec: ModelSpec, reason: str) -> None:
        super().__init__(f"{spec.name} ({spec.model_id}): {reason}")
        self.spec = spec
        self.reason = reason


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~")) or Path(model_id).exists()


def from_pretrained(cls, spec: ModelSpec, allow_download: bool, **kwargs):
    """``cls.from_pretrained`` from the local cache or folder, else (when allowed) the hub."""
    try:
        return cls.from_pretrained(
            spec.model_id, revision=spec.revision, local_files_only=True, **kwargs
        )
    except Exception as local_error:
        if looks_like_path(spec.model_id):
            if not Path(spec.model_id).expanduser().is_dir():
                raise ModelUnavailable(spec, "the folder does not exist") from None
            raise ModelUnavailable(
                spec, f"the folder could not be read ({_first_line(local_error)})"
            ) from None
        if not allow_download:
            raise ModelUnavailable(
                spec, "not in the local Hugging Face cache, and downloads are off"
            ) from None
    try:
        return cls.from_pretrained(
            spec.model_id, revision=spec.revision, local_files_only=False, **kwargs
        )
    except Exception as exc:
        raise ModelUnavailable(spec, f"download failed ({_first_line(exc)})") from None


def check_available(spec: ModelSpec, allow_download: bool) -> None:
    """Cheap presence check (the config only), so a missing model is named before big loads."""
    from transformers import AutoConfig

    from_pretrained(AutoConfig, spec, allow_download)


def output_labels(id2label: dict[int, str], spec: ModelSpec) -> tuple[str, ...]:
    """The model's labels in output order, as the registry spells them.

    Checkpoints that only say LABEL_0, LABEL_1... take the registry's order; a model
    whose labels are not the expected ones is refused rather than silently misread.
    """
    names = tuple(str(id2label[i]).strip().lower() for i in range(len(id2label)))
    if (
        spec.labels
        and len(names) == len(spec.labels)
        and all(GENERIC_LABEL.fullmatch(n) for n in names)
    ):
        return spec.labels
    unknown = set(names) - set(spec.labels)
    if spec.labels and unknown:
        raise ModelUnavailable(
            spec, f"its labels {list(names)} are not the expected {list(spec.labels)}"
        )
    return names


def quantise_int8(model):
    """Dynamic int8 for every ``Linear`` layer (weights int8, activations quantised per call).

    In place, so the fp32 weights are freed as each layer is replaced. fbgemm packs the
    weights: the default x86 engine picks oneDNN for some shapes, which measured 8x slower
    than fbgemm with 2 threads on a 2-core machine.
    """
    import torch

    if "fbgemm" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "fbgemm"
    with warnings.catch_warnings():
        # torch.ao's eager quantisation is marked deprecated in favour of torchao, but it is
        # the one path in this torch build that needs no extra package; it works as before.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def copy_unquantised_weights(model) -> None:
    """Copy every weight that int8 will not replace out of the memory-mapped checkpoint.

    transformers maps the safetensors file; one tensor still pointing into it (a bias, an
    embedding) keeps the whole mapping, and every page quantisation read, resident: BART
    would stay at ~2.1 GB instead of ~0.9 GB after quantising.
    """
    import torch

    replaced = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    with torch.no_grad():
        for param in model.parameters():
            if id(param) not in replaced:
                param.data = param.data.clone()
        for module in model.modules():
            for name, buffer in list(module.named_buffers(recurse=False)):
                if buffer is not None:
                    module._buffers[name] = buffer.clone()


def release_freed_memory() -> None:
    """Hand memory freed by the fp32 weights back to the OS (glibc keeps it otherwise)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


class HFClassifier:
    """A loaded sequence classifier: its tokenizer, labels and batched inference."""

    def __init__(self, spec: ModelSpec, model, tokenizer, batch_tokens: int, int8: bool) -> None:
        self.spec = spec
        self.model = model
        self.tokenizer = tokenizer
        self.labels = output_labels(model.config.id2label, spec)
        self.max_tokens = spec.max_tokens or 512
        self.batch_tokens = max(batch_tokens, self.max_tokens)
        self.int8 = int8
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        # Tokenizers may return inputs a model does not take (token_type_ids for BART).
        self.accepts = set(inspect.signature(model.forward).parameters)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special tokens the model adds around it."""
        return len(self.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def special_tokens(self, pair: bool = False) -> int:
        return self.tokenizer.num_special_tokens_to_add(pair=pair)

    def logits(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> np.ndarray:
        """Logits [len(texts), n_labels]; ``pairs`` gives a second text per item (NLI)."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        encoded = self.tokenizer(
            list(texts),
            list(pairs) if pairs is not None else None,
            truncation="only_first"
            if pairs is not None
            else True,  # callers chunk first; this guards
            max_length=self.max_tokens,
        )
        keys = [k for k in encoded if k in self.accepts]
        lengths = [len(ids) for ids in encoded["input_ids"]]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for batch in length_batches(lengths, self.batch_tokens):
            out[batch] = self._run(encoded, keys, batch, max(lengths[i] for i in batch))
        # Activations of varying shapes leave the heap fragmented; glibc would keep ~0.6 GB
        # of it after a batch of songs through BART-large.
        release_freed_memory()
        return out

    def _run(self, encoded, keys: list[str], batch: list[int], width: int) -> np.ndarray:
        import torch

        tensors = {}
        for key in keys:
            fill = self.pad_id if key == "input_ids" else 0
            rows = [encoded[key][i] + [fill] * (width - len(encoded[key][i])) for i in batch]
            tensors[key] = torch.tensor(rows, dtype=torch.long)
        with torch.inference_mode():
            return self.model(**tensors).logits.float().numpy()


def length_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices sorted by length, cut so each batch's padded size (rows x longest) fits ``budget``."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and (len(current) + 1) * lengths[i] > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def load_classifier(
    spec: ModelSpec, allow_download: bool, int8: bool, batch_tokens: int
) -> HFClassifier:
    """Tokenizer and model of ``spec``, in eval mode, quantised to int8 on CPU when asked."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = from_pretrained(AutoTokenizer, spec, allow_download)
    model = from_pretrained(
        AutoModelForSequenceClassification, spec, allow_download, dtype=torch.float32
    ).eval()
    if int8:  # the models always run on CPU here
        copy_unquantised_weights(model)
        model = quantise_int8(model)
        gc.collect()
        release_freed_memory()
    return HFClassifier(spec, model, tokenizer, batch_tokens, int8)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))
