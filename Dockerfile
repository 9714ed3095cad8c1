# Discern: the Streamlit dashboard (and the CLI) in one CPU-only image.
#
#   docker build -t discern .                                      # compact profile
#   docker build -t discern:hf --build-arg BAKE_HF_MODELS=true .   # + the hf profile's models
#
# Memory limits and health-check start periods live in docker-compose*.yml, with the
# measurements they come from (benchmarks/startup.py); see the README's "Deploy" section.

FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 discern \
    && useradd --system --uid 10001 --gid discern --create-home --home-dir /home/discern discern

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index. requirements.txt pins torch==2.13.0,
# which 2.13.0+cpu already satisfies, so the next step never resolves the CUDA build,
# and its check fails the build if a CUDA torch got in anyway.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0

# Dependencies in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt \
    && python -c "import torch, sys; sys.exit(f'CUDA torch {torch.__version__} in a CPU image' if torch.version.cuda else 0)"

# One thread per process for OpenMP, MKL and torch (DISCERN_TORCH_THREADS): on a 2-core
# box that is the fastest and steadiest, and concurrent sessions do not oversubscribe.
# HF_HOME is the Hugging Face cache (the hf profile's models), on the /models volume;
# DISCERN_MODEL_CACHE_DIR holds the ONNX export of the sentence encoder, made at build.
ENV DISCERN_DATA_DIR=/data \
    HF_HOME=/models/hf \
    DISCERN_MODEL_CACHE_DIR=/opt/discern/model-cache \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    DISCERN_TORCH_THREADS=1 \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

RUN mkdir -p /data /models/hf /opt/discern/model-cache \
    && chown discern:discern /data /models /models/hf /opt/discern/model-cache
USER discern

# BAKE_HF_MODELS=true downloads the hf profile's models (DISCERN_HF_*_MODEL) into HF_HOME
# at build time, so a container runs DISCERN_PROFILE=hf without network access. It needs
# only the settings table, so code changes do not invalidate the (large) layer. A new
# named volume on /models is seeded from the image; an old one hides the baked models.
ARG BAKE_HF_MODELS=false
COPY pipelines/__init__.py pipelines/settings.py pipelines/
COPY deploy/bake_models.py deploy/
RUN if [ "${BAKE_HF_MODELS}" = "true" ]; then python deploy/bake_models.py; fi

# The app, owned by root and read-only to the user that runs it; state lives on volumes.
COPY . .
# Load the compact profile once: exports the ONNX encoder into DISCERN_MODEL_CACHE_DIR, so
# a container never spends its start doing it, and proves the models load in the image.
RUN python -c "from pipelines.analyzers.loader import load_analyzers; load_analyzers('compact')"

VOLUME ["/data", "/models"]
EXPOSE 8501

# Streamlit answers /_stcore/health within 1s of starting and the compact models are
# loaded 2.1s after (benchmarks/startup.py); 60s also covers a start without the export.
# The hf profile needs 90s (docker-compose.prod.yml); the compose files set their own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --start-interval=2s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["streamlit", "run", "app.py"]
