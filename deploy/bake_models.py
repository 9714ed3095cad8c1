"""Download the ``hf`` profile's models into HF_HOME: the Dockerfile's BAKE_HF_MODELS step.

The models are the ones the settings name (every ``DISCERN_HF_*_MODEL`` setting, with its
default or the value in the environment, at DISCERN_HF_REVISION), so the image holds
exactly what the hf profile loads. Only the settings table is read, so the Dockerfile can
run this before copying the rest of the code and keep the large layer cached. Per model it fetches the config and tokenizer files and one set of weights
(safetensors when the repository has them, else the PyTorch .bin), never the TensorFlow,
Flax or ONNX copies. Run: ``python deploy/bake_models.py`` (needs network access).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.settings import SETTINGS, get_settings  # noqa: E402

HF_MODEL_SETTING = re.compile(r"^DISCERN_HF_\w+_MODEL$")
# Config, tokenizer and vocabulary files a transformers pipeline reads next to the weights.
SUPPORT_FILES = ("*.json", "*.txt", "*.model", "vocab.*", "merges.txt")


def hf_model_ids() -> list[str]:
    """The model ids of the hf profile, as configured, in settings order."""
    settings = get_settings()
    return [settings[s.name] for s in SETTINGS if HF_MODEL_SETTING.match(s.name)]


def hf_revision() -> str:
    """The hub revision the hf profile loads (DISCERN_HF_REVISION)."""
    return get_settings().discern_hf_revision


def weight_files(repo_files: list[str]) -> list[str]:
    """The one set of PyTorch-loadable weights to fetch from a repository's file list."""
    top_level = [f for f in repo_files if "/" not in f]
    for pattern in (r".*\.safetensors(\.index\.json)?$", r"pytorch_model.*\.bin(\.index\.json)?$"):
        chosen = [f for f in top_level if re.fullmatch(pattern, f)]
        if chosen:
            return chosen
    raise ValueError("no safetensors or PyTorch weights at the top level of the repository")


def bake(model_ids: list[str], revision: str) -> int:
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi()
    total = 0
    for model_id in model_ids:
        if Path(model_id).exists():
            print(f"{model_id}: a local path, nothing to download")
            continue
        weights = weight_files(api.list_repo_files(model_id, revision=revision))
        folder = Path(snapshot_download(model_id, revision=revision, allow_patterns=[*SUPPORT_FILES, *weights]))
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        total += size
        print(f"{model_id}: {', '.join(weights)} ({size / 2**20:.0f} MB) in {folder}")
    print(f"baked {len(model_ids)} models, {total / 2**20:.0f} MB")
    return total


if __name__ == "__main__":
    bake(hf_model_ids(), hf_revision())
