"""One typed table of every setting: name, type, default and one line of help.

Settings are read from the environment once per process (``get_settings``). Every
setting must be documented in the README (a test checks), so an operator can find
what a variable does without reading code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", str, "", "SQLAlchemy URL of the library database; empty means the SQLite file under DISCERN_DATA_DIR."),
    Setting("DISCERN_DATA_DIR", str, str(PROJECT_ROOT / "data"), "Folder for the default SQLite database and other local state."),
    Setting("DISCERN_PROFILE", str, "compact", "Model profile: 'compact' (offline, packaged models) or 'hf' (the original Hugging Face models)."),
    Setting("DISCERN_SENSITIVITY", str, "balanced", "Default sensitivity preset: lenient, balanced or strict."),
    Setting("DISCERN_TORCH_THREADS", int, 1, "Intra-op torch threads per process; 1 is fastest and steadiest on a 2-core box."),
    Setting("DISCERN_TORCH_INTEROP_THREADS", int, 0, "Inter-op torch threads per process, fixed once at the first model load; 0 keeps torch's default (one per core)."),
    Setting("DISCERN_BATCH_SIZE", int, 64, "Lines or chunks encoded per model call."),
    Setting("DISCERN_ENCODER_BACKEND", str, "onnx", "Sentence encoder runtime: 'onnx' (ONNX Runtime, exported once into DISCERN_MODEL_CACHE_DIR; no torch import) or 'torch'."),
    Setting("DISCERN_ENCODER_WORKERS", int, 0, "Encoder calls run at once (onnx backend), one core each; 0 means one per available CPU core."),
    Setting("DISCERN_MODEL_CACHE_DIR", str, "", "Folder for the exported ONNX encoder; empty means $XDG_CACHE_HOME/discern (~/.cache/discern), which outlives fresh data folders."),
    Setting("DISCERN_ENCODER_INT8", bool, False, "Quantise the onnx encoder to int8: about 2x faster, vectors within cosine ~0.97 of fp32, slightly lower theme accuracy."),
    Setting("DISCERN_JOB_BATCH_SIZE", int, 32, "Songs a job runner analyses and commits per batch."),
    Setting("DISCERN_DB_RETRY_SECONDS", int, 600, "How long a job runner waits for a lost database (a restart, a network cut) before giving up, in seconds; meanwhile the job is paused with a message and then continues where it was."),
    Setting("DISCERN_JOB_LEASE_SECONDS", int, 120, "Seconds a job runner's lease lasts between heartbeats; a crashed runner's job is taken over after this (at once on the same host)."),
    Setting("DISCERN_RAY_ADDRESS", str, "", "Ray cluster address (e.g. host:6379, ray://host:10001 or auto) where the dashboard's analysis jobs run; empty runs them in the dashboard's process."),
    Setting("DISCERN_MAX_LYRICS_BYTES", int, 150_000, "Longest lyrics text accepted for import and analysis, in bytes; longer input is refused with a message. 150 KB is several times the longest songs and bounds the time of one analysis (see Reliability)."),
    Setting("DISCERN_MAX_UPLOAD_MB", int, 50, "Largest file the import page and CLI accept, in megabytes."),
    Setting("DISCERN_ADMIN_PASSWORD", str, "", "Password of the admin page; the page refuses to open while it is empty."),
    Setting("DISCERN_ADMIN_PASSWORD_FILE", str, "", "File holding the admin password (e.g. a Docker secret); read when DISCERN_ADMIN_PASSWORD is empty."),
    Setting("DISCERN_DATABASE_PASSWORD_FILE", str, "", "File holding the database password (e.g. a Docker secret); put into DATABASE_URL when that URL has no password."),
    Setting("DISCERN_LOAD_SAMPLE_LIBRARY", bool, True, "Import the bundled sample library into an empty database on start."),
    Setting("DISCERN_HF_SENTIMENT_MODEL", str, "cardiffnlp/twitter-roberta-base-sentiment-latest", "Model id or path of the hf profile's sentiment classifier."),
    Setting("DISCERN_HF_EMOTION_MODEL", str, "j-hartmann/emotion-english-distilroberta-base", "Model id or path of the hf profile's emotion classifier."),
    Setting("DISCERN_HF_TOXICITY_MODEL", str, "unitary/toxic-bert", "Model id or path of the hf profile's toxicity classifier."),
    Setting("DISCERN_HF_ZERO_SHOT_MODEL", str, "facebook/bart-large-mnli", "Model id or path of the hf profile's zero-shot (NLI) model."),
    Setting("DISCERN_HF_ALLOW_DOWNLOAD", bool, False, "Let the hf profile download missing models from the Hugging Face hub."),
    Setting("DISCERN_HF_INT8", bool, True, "Quantise the hf profile's models to dynamic int8 on CPU."),
    Setting("DISCERN_HF_TOP_K_LABELS", int, 6, "Zero-shot labels per song that the hf profile scores with the NLI model after the compact prefilter (half, rounded up, go to concerns, the rest to themes)."),
    Setting("DISCERN_HF_MAX_PASSES", int, 5, "Most 512-token passages of one song each hf model reads (0: no limit): a longer song's themes, sentiment and emotion are read from that many passages spread over it, its concerns from the stanzas and lines the compact models rank riskiest; the rest keep their compact scores and the result says so. 5 leaves songs up to ~10 KB whole and bounds the hf models to ~35 CPU seconds a song."),
    Setting("DISCERN_HF_REVISION", str, "main", "Hub revision (branch, tag or commit) of the hf profile's models; ignored for local folders."),
    Setting("DISCERN_HF_BATCH_TOKENS", int, 4096, "Most padded tokens per hf model call; bounds working memory, as bigger batches are no faster on CPU."),
    Setting("DISCERN_LYRICS_PROVIDERS", str, "lrclib,genius,local", "Online and local lyrics sources to try, in order (lrclib, genius, local); unconfigured ones are skipped."),
    Setting("DISCERN_LYRICS_DIR", str, "", "Folder of lyrics files named 'Artist - Title.txt' or '.lrc' for the local lyrics source; empty turns it off."),
    Setting("DISCERN_LRCLIB_URL", str, "https://lrclib.net", "Base URL of the LRCLIB lyrics API (no key needed); change it only for a self-hosted mirror."),
    Setting("DISCERN_GENIUS_TOKEN", str, "", "Genius API client access token; the Genius lyrics source is off while it is empty."),
    Setting("DISCERN_SPOTIFY_CLIENT_ID", str, "", "Spotify app client id; with the client secret it lets Discern import public playlists."),
    Setting("DISCERN_SPOTIFY_CLIENT_SECRET", str, "", "Spotify app client secret, from the same app as DISCERN_SPOTIFY_CLIENT_ID."),
    Setting("DISCERN_SPOTIFY_REDIRECT_URI", str, "http://127.0.0.1:8888/callback", "Redirect URI registered in the Spotify app, used by `spotify-login` for private playlists and write-back."),
    Setting("DISCERN_SPOTIFY_REFRESH_TOKEN", str, "", "Your Spotify refresh token (printed by `spotify-login`); enables private playlists and writing clean copies."),
    Setting("DISCERN_HTTP_TIMEOUT_SECONDS", int, 10, "Read timeout of every request to an online source, in seconds."),
    Setting("DISCERN_HTTP_CONNECT_TIMEOUT_SECONDS", int, 3, "Connect (and name lookup) timeout of online requests, in seconds: how long an unreachable source takes to fail."),
    Setting("DISCERN_HTTP_RETRIES", int, 3, "Retries of an online request answered with 429 or 5xx or timing out, with exponential backoff and jitter."),
    Setting("DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS", int, 30, "Longest Retry-After wait honoured; a source asking for longer fails the request at once with a message."),
    Setting("DISCERN_LRCLIB_RATE_PER_MINUTE", int, 120, "Most requests per minute to LRCLIB (a token bucket; 0 means no limit)."),
    Setting("DISCERN_GENIUS_RATE_PER_MINUTE", int, 60, "Most requests per minute to Genius, API and lyrics pages together (0 means no limit)."),
    Setting("DISCERN_SPOTIFY_RATE_PER_MINUTE", int, 120, "Most requests per minute to the Spotify Web API (0 means no limit)."),
    Setting("DISCERN_LYRICS_CACHE_FOUND_HOURS", int, 168, "How long fetched lyrics are remembered per source before asking again, in hours (7 days)."),
    Setting("DISCERN_LYRICS_CACHE_NOT_FOUND_HOURS", int, 24, "How long a source's 'no lyrics for this song' is remembered, in hours."),
    Setting("DISCERN_LYRICS_CACHE_ERROR_HOURS", int, 12, "How long a source's error for a song (bad page, server error) is remembered before retrying, in hours."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _parse(setting: Setting, raw: str) -> Any:
    if setting.type is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{setting.name}={raw!r} is not a boolean (use 1/0, true/false)")
    if setting.type is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{setting.name}={raw!r} is not an integer") from None
    return raw


def _read_secret_file(name: str, values: dict[str, Any]) -> str:
    """The content of the file named by setting ``name``, without the trailing newline."""
    path = Path(values[name])
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{name}={str(path)!r}: cannot read the file ({exc.strerror})") from None


class Settings:
    """Resolved settings; attribute names are the setting names in lower case."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.name)
            self._values[setting.name] = setting.default if raw is None else _parse(setting, raw)
        # Docker secrets arrive as files: read them here, once, so nothing else needs to know.
        if not self._values["DISCERN_ADMIN_PASSWORD"] and self._values["DISCERN_ADMIN_PASSWORD_FILE"]:
            self._values["DISCERN_ADMIN_PASSWORD"] = _read_secret_file("DISCERN_ADMIN_PASSWORD_FILE", self._values)
        self._database_password = (
            _read_secret_file("DISCERN_DATABASE_PASSWORD_FILE", self._values)
            if self._values["DISCERN_DATABASE_PASSWORD_FILE"]
            else None
        )

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._values[attr.upper()]
        except KeyError:
            raise AttributeError(attr) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def is_secret(self, name: str) -> bool:
        return "PASSWORD" in name or "TOKEN" in name or "SECRET" in name

    def public_items(self) -> list[tuple[str, Any]]:
        """Name/value pairs safe to show or log: secrets are masked, and so is a password
        written into DATABASE_URL itself."""
        return [(name, self._public(name, value)) for name, value in self._values.items()]

    def _public(self, name: str, value: Any) -> Any:
        if self.is_secret(name):
            return "(set)" if value else "(empty)"
        if name == "DATABASE_URL" and value:
            from sqlalchemy.engine import make_url

            try:
                return make_url(value).render_as_string(hide_password=True)
            except Exception:  # not a URL SQLAlchemy can read: it might hold anything
                return "(set, not a valid URL)"
        return value

    @property
    def database_url(self) -> str:
        url = self._values["DATABASE_URL"]
        if url and self._database_password is not None:
            from sqlalchemy.engine import make_url

            parsed = make_url(url)
            if parsed.password is None:
                url = parsed.set(password=self._database_password).render_as_string(hide_password=False)
        if url:
            return url
        return f"sqlite:///{Path(self._values['DISCERN_DATA_DIR']) / 'discern.db'}"


def setting(name: str) -> Setting:
    return _BY_NAME[name]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
