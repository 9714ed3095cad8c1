"""Build a profile's analyzers: meant to run once per process.

``load_analyzers`` is cached per profile, so calling it twice returns the same objects;
the dashboard wraps it in ``st.cache_resource`` and the CLI calls it once. Each model load
logs one line (name, seconds, memory added) so ``docker logs`` shows models load once.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field, replace

from pipelines.analyzers.base import Analyzer
from pipelines.analyzers.registry import HF_MODEL_SETTINGS, PROFILES, ModelSpec, analyzer_version
from pipelines.settings import get_settings
from pipelines.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger("discern.models")


@dataclass(frozen=True)
class ModelLoad:
    name: str
    model_id: str
    seconds: float
    rss_added_mb: float


@dataclass
class AnalyzerSet:
    """The loaded analyzers of one profile, in pipeline order, with what loading cost."""

    profile: str
    version: str
    taxonomy: Taxonomy
    analyzers: tuple[Analyzer, ...]
    models: tuple[ModelSpec, ...]
    loads: list[ModelLoad] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # e.g. a fallback from hf to compact
    count_tokens: object = None  # callable(text) -> int of the profile's tightest tokenizer
    max_tokens: int = 256
    # Inference from concurrent callers (dashboard sessions, job threads) goes through this
    # lock so two users never oversubscribe the CPU with parallel model calls.
    lock: threading.Lock = field(default_factory=threading.Lock)


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def timed_load(name: str, model_id: str, loads: list[ModelLoad], build):
    """Run ``build()``, log and record how long it took and how much memory it added."""
    before, start = _rss_mb(), time.perf_counter()
    obj = build()
    record = ModelLoad(name, model_id, time.perf_counter() - start, _rss_mb() - before)
    loads.append(record)
    log.info("loaded model %s (%s) in %.2fs, +%.0f MB RSS", name, model_id, record.seconds, record.rss_added_mb)
    return obj


def configure_threads(threads: int, interop_threads: int = 0) -> None:
    """Set torch's intra-op threads and, when ``interop_threads`` > 0, its inter-op threads.

    torch takes the inter-op count only once, before any inter-op work has started
    (``set_num_interop_threads`` raises RuntimeError after that): a process that has already
    fixed it keeps its count, and a warning says so instead of failing the load.
    """
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if interop_threads > 0 and torch.get_num_interop_threads() != interop_threads:
        try:
            torch.set_num_interop_threads(interop_threads)
        except RuntimeError as exc:
            log.warning(
                "DISCERN_TORCH_INTEROP_THREADS=%d not applied; torch keeps %d inter-op threads (%s)",
                interop_threads,
                torch.get_num_interop_threads(),
                exc,
            )


def _load_compact(taxonomy: Taxonomy) -> AnalyzerSet:
    from pipelines.analyzers.context import SongContextStage
    from pipelines.analyzers.emotion import CompactEmotionAnalyzer
    from pipelines.analyzers.encoder import MAX_TOKENS, SentenceEncoder
    from pipelines.analyzers.safety import CompactSafetyAnalyzer
    from pipelines.analyzers.sentiment import CompactSentimentAnalyzer
    from pipelines.analyzers.themes import CompactThemeAnalyzer

    settings = get_settings()
    models = PROFILES["compact"]
    loads: list[ModelLoad] = []
    encoder_spec = models[0]
    encoder = timed_load(
        encoder_spec.name, encoder_spec.model_id, loads, lambda: SentenceEncoder(batch_size=settings.discern_batch_size)
    )
    if encoder.int8:  # int8 vectors change scores: results must not mix with fp32 ones
        models = (replace(encoder_spec, version=f"{encoder_spec.version}, onnx int8"), *models[1:])
    analyzers = timed_load(
        "compact-heads",
        "taxonomy prototypes + vader",
        loads,
        lambda: (
            CompactThemeAnalyzer(encoder, taxonomy),
            CompactSentimentAnalyzer(taxonomy),
            CompactEmotionAnalyzer(encoder, taxonomy),
            CompactSafetyAnalyzer(encoder, taxonomy),
            SongContextStage(taxonomy),  # needs all four above
        ),
    )
    return AnalyzerSet(
        profile="compact",
        version=analyzer_version("compact", models, taxonomy),
        taxonomy=taxonomy,
        analyzers=analyzers,
        models=models,
        loads=loads,
        count_tokens=encoder.count_tokens,
        max_tokens=MAX_TOKENS,
    )


def _hf_fallback_notice(missing: list) -> str:
    from pipelines.analyzers.hf_models import looks_like_path

    named = "; ".join(str(m) for m in missing)
    hub_ids = " ".join(m.spec.model_id for m in missing if not looks_like_path(m.spec.model_id))
    settings = ", ".join(HF_MODEL_SETTINGS[m.spec.name] for m in missing)
    fetch = (
        f"fetch the models once into the Hugging Face cache (`hf download {hub_ids}`, or build the Docker "
        "image with BAKE_HF_MODELS=true), or set DISCERN_HF_ALLOW_DOWNLOAD=1, or "
        if hub_ids
        else ""
    )
    return (
        f"The hf profile is not available, so the compact profile is used instead. Unavailable: {named}. "
        f"To use hf, {fetch}point {settings} at a local copy."
    )


def _hf_failure_notice(spec: ModelSpec, error: str) -> str:
    return (
        f"The hf profile could not be loaded, so the compact profile is used instead. Loading the {spec.name} "
        f"model ({spec.model_id}) failed: {error}. The log has the details; check the model files that "
        f"{HF_MODEL_SETTINGS[spec.name]} points at and the memory available."
    )


def _error_text(exc: BaseException) -> str:
    """``Type: first line of the message``, short enough for a notice."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else '(no message)'}"[:300]


def _load_hf(taxonomy: Taxonomy) -> AnalyzerSet:
    """The original Hugging Face models; the compact profile, with a notice, when one is missing."""
    from pipelines.analyzers.encoder import MAX_TOKENS, SentenceEncoder
    from pipelines.analyzers.hf_analyzers import build_hf_analyzers
    from pipelines.analyzers.hf_models import ModelUnavailable, check_available, load_classifier

    settings = get_settings()
    models = PROFILES["hf"]
    hf_specs = [m for m in models if m.name in HF_MODEL_SETTINGS]
    allow = settings.discern_hf_allow_download
    missing: list[ModelUnavailable] = []
    # Any other error (a quantisation failure, a MemoryError, ...) also falls back to compact;
    # only its text is kept, as the exception's traceback would keep a half-loaded model alive.
    failed: list[str] = []
    for spec in hf_specs:  # name every missing model before spending time on big loads
        try:
            check_available(spec, allow)
        except ModelUnavailable as exc:
            missing.append(exc)
        except Exception as exc:
            log.exception("checking the hf model %s (%s) failed", spec.name, spec.model_id)
            failed.append(_hf_failure_notice(spec, _error_text(exc)))
    loads: list[ModelLoad] = []
    classifiers = {}
    if not missing and not failed:
        # Before the encoder: it sets HF_HUB_OFFLINE, which would block an allowed download.
        for spec in hf_specs:
            try:
                classifiers[spec.name] = timed_load(
                    spec.name,
                    spec.model_id,
                    loads,
                    lambda spec=spec: load_classifier(
                        spec, allow, settings.discern_hf_int8, settings.discern_hf_batch_tokens
                    ),
                )
            except ModelUnavailable as exc:
                missing.append(exc)
                break
            except Exception as exc:
                log.exception("loading the hf model %s (%s) failed", spec.name, spec.model_id)
                failed.append(_hf_failure_notice(spec, _error_text(exc)))
                break
    if missing or failed:
        classifiers.clear()
        gc.collect()  # the models loaded before the failure
        notices = ([_hf_fallback_notice(missing)] if missing else []) + failed
        for notice in notices:
            log.warning(notice)
        # Share the compact analyzers (and their lock) if the compact profile is loaded too.
        return replace(_load_cached("compact"), notices=notices)
    encoder_spec = next(m for m in models if m.name not in HF_MODEL_SETTINGS)
    encoder = timed_load(
        encoder_spec.name, encoder_spec.model_id, loads, lambda: SentenceEncoder(batch_size=settings.discern_batch_size)
    )
    if encoder.int8:  # as in the compact profile: int8 vectors may change which labels BART is asked
        models = tuple(replace(m, version=f"{m.version}, onnx int8") if m is encoder_spec else m for m in models)
    analyzers = timed_load(
        "hf-heads",
        "prefilter prototypes + label maps",
        loads,
        lambda: build_hf_analyzers(encoder, classifiers, taxonomy, settings.discern_hf_top_k_labels),
    )
    return AnalyzerSet(
        profile="hf",
        version=analyzer_version("hf", models, taxonomy),
        taxonomy=taxonomy,
        analyzers=analyzers,
        models=models,
        loads=loads,
        count_tokens=encoder.count_tokens,  # the tightest tokenizer: lines must fit the prefilter's 256
        max_tokens=MAX_TOKENS,
    )


LOADERS = {"compact": _load_compact, "hf": _load_hf}


def load_analyzers(profile: str | None = None) -> AnalyzerSet:
    """The analyzers of ``profile`` (default: the DISCERN_PROFILE setting), built once."""
    profile = profile or get_settings().discern_profile
    if profile not in LOADERS:
        raise ValueError(f"unknown model profile {profile!r}; choose one of {', '.join(LOADERS)}")
    return _load_once(profile)


_load_lock = threading.Lock()


_loaded: dict[str, AnalyzerSet] = {}


def _load_cached(profile: str) -> AnalyzerSet:
    """Build ``profile`` once; callers hold ``_load_lock``."""
    if profile not in _loaded:
        if profile != "compact":  # the compact encoder sets torch's threads itself, if it uses torch at all
            settings = get_settings()
            configure_threads(settings.discern_torch_threads, settings.discern_torch_interop_threads)
        _loaded[profile] = LOADERS[profile](load_taxonomy())
    return _loaded[profile]


def _load_once(profile: str) -> AnalyzerSet:
    # A cache alone lets two threads build the same profile at once; the lock does not.
    with _load_lock:
        return _load_cached(profile)


def forget_loaded(profile: str | None = None) -> None:
    """Forget one loaded profile (every one when None) and re-read the settings.

    For tests that point DISCERN_* variables at other models; the next
    ``load_analyzers(profile)`` builds it again.
    """
    with _load_lock:
        if profile is None:
            _loaded.clear()
        else:
            _loaded.pop(profile, None)
    get_settings.cache_clear()
