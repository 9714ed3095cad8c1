"""One polite HTTP client for every online source: timeouts, retries with backoff, a
per-provider rate limit, and fast failure when the network is not there.

- Connect and read timeouts on every request (``DISCERN_HTTP_TIMEOUT_SECONDS``,
  ``DISCERN_HTTP_CONNECT_TIMEOUT_SECONDS``).
- 429 and 5xx answers, read timeouts and dropped connections are retried with exponential
  backoff plus jitter; a ``Retry-After`` header is honoured up to a cap
  (``DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS``), beyond which the request fails at once with
  a message rather than sleeping for an hour.
- A token bucket per provider keeps the request rate polite, shared by every client of
  that provider in the process.
- A host that cannot be resolved or connected to raises ``ConnectorUnavailable`` at once
  (no retries), and the client remembers it, so a batch of a thousand songs offline fails
  in milliseconds, not a thousand timeouts.

- Text an answer carries is untrusted: ``is_storable_text`` / ``storable_text`` tell and
  clean what no database column takes (NUL characters, unpaired surrogates such as a JSON
  ``"\\ud800"`` escape), so one odd answer cannot stop a run when it is stored or shown.

Tests pass ``transport=httpx.MockTransport(handler)``; nothing here knows it is tested.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pipelines.connectors.rate_limit import TokenBucket, shared_bucket
from pipelines.settings import Settings, get_settings

USER_AGENT = "Discern/0.1 (self-hosted lyrics review; https://github.com/discern)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 8 * 1024 * 1024  # the largest lyrics page is well under 1 MB
BACKOFF_BASE_SECONDS = 0.5
OFFLINE_MEMORY_SECONDS = 60.0  # how long a client treats an unreachable host as down


class ConnectorError(Exception):
    """An online source could not answer; ``str()`` is a sentence a person can act on."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class ConnectorUnavailable(ConnectorError):
    """The source cannot be reached at all (no network, DNS failure, refused connection)."""


class ConnectorHTTPError(ConnectorError):
    """The source answered with an error status, after any retries."""


class ConnectorAuthError(ConnectorHTTPError):
    """401/403: a missing, wrong or expired key or token."""


class RateLimited(ConnectorHTTPError):
    """429 beyond the retries, or a Retry-After longer than we are willing to wait."""


class MalformedResponse(ConnectorError):
    """The answer was not the JSON or HTML the source documents."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def is_storable_text(value: str) -> bool:
    """False for text no database stores: NUL characters (PostgreSQL refuses them) or
    unpaired surrogates (a JSON ``"\\ud800"`` escape decodes to one; UTF-8 cannot encode it)."""
    return "\x00" not in value and not _SURROGATE.search(value)


def storable_text(value: str, limit: int = 0) -> str:
    """``value`` without NUL characters, each unpaired surrogate replaced by U+FFFD, cut to
    ``limit`` characters (0: no limit): for names, URLs and messages from an online source."""
    cleaned = _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    return cleaned[:limit] if limit else cleaned


def shown(value: Any, limit: int = 120) -> str:
    """A short, printable ``repr`` of a value from an answer, for a message."""
    text = repr(value)
    return storable_text(text if len(text) <= limit else text[: limit - 3] + "...")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _is_ip_or_local(host: str) -> bool:
    if host in {"localhost", ""}:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int, timeout: float) -> None:
    """Resolve ``host`` within ``timeout`` seconds (getaddrinfo has no timeout of its own).

    The lookup runs in a daemon thread: one that hangs is left behind and never holds up
    the answer or the process's exit.
    """
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)
        done.set()

    threading.Thread(target=lookup, name="discern-dns", daemon=True).start()
    if not done.wait(timeout):
        raise OSError(f"looking up {host} took more than {timeout:g} s")
    error = outcome[0]
    if error is not None:
        reason = error.strerror if isinstance(error, socket.gaierror) and error.strerror else str(error)
        raise OSError(f"cannot look up {host}: {reason}")


class PoliteClient:
    """An ``httpx.Client`` for one provider with the behaviour described in the module."""

    def __init__(
        self,
        provider: str,
        *,
        label: str | None = None,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        settings: Settings | None = None,
        rate_per_minute: float = 60,
        transport: httpx.BaseTransport | None = None,
        bucket: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = settings or get_settings()
        self.provider = provider
        self.label = label or provider
        self.retries = max(0, settings.discern_http_retries)
        self.max_retry_after = float(settings.discern_http_max_retry_after_seconds)
        read = float(settings.discern_http_timeout_seconds)
        connect = min(read, float(settings.discern_http_connect_timeout_seconds))
        self.connect_timeout = connect
        self.sleep, self.rng, self.clock = sleep, rng, clock
        self.bucket = bucket or shared_bucket(provider, rate_per_minute)
        # Only a real network needs the DNS guard; a proxy resolves names itself.
        self._guard_dns = transport is None and not urllib.request.getproxies()
        self._resolved: set[str] = set()
        self._down: dict[str, tuple[float, str]] = {}
        self.client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=httpx.Timeout(read, connect=connect),
            transport=transport,
            follow_redirects=True,
        )

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- requests --------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        allow: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or one whose status is in ``allow``.

        Raises ``ConnectorUnavailable``, ``ConnectorAuthError``, ``RateLimited``,
        ``ConnectorHTTPError``: each with a message naming the source and what to do.
        """
        try:
            request = self.client.build_request(method, url, **kwargs)
        except httpx.InvalidURL as exc:
            raise ConnectorError(f"{self.label}: {url!r} is not a usable address ({exc})", provider=self.provider) from None
        host = request.url.host
        self._check_reachable(request.url)
        attempt = 0
        while True:
            self.bucket.acquire()
            try:
                response = self._send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError, OSError) as exc:
                reason = _reason(exc)
                self._down[host] = (self.clock() + OFFLINE_MEMORY_SECONDS, reason)
                raise self._unavailable(host, reason) from None
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout, httpx.ReadError,
                    httpx.RemoteProtocolError, httpx.WriteError) as exc:
                if attempt >= self.retries:
                    raise ConnectorHTTPError(
                        f"{self.label} did not answer in time ({_reason(exc)}) after {attempt + 1} tries;"
                        " try again later", provider=self.provider,
                    ) from None
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            except httpx.UnsupportedProtocol as exc:
                raise ConnectorError(
                    f"{self.label}: {request.url} is not a usable address ({exc}); check the source's URL setting",
                    provider=self.provider,
                ) from None
            except httpx.HTTPError as exc:  # a bad encoding, too many redirects: this answer is unusable
                raise MalformedResponse(
                    f"{self.label} sent an unusable answer ({type(exc).__name__}: {exc})", provider=self.provider
                ) from None
            status = response.status_code
            if 200 <= status < 300 or status in allow:
                return response
            if status in RETRY_STATUSES and attempt < self.retries:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self.max_retry_after:
                    raise RateLimited(
                        f"{self.label} asks to wait {wait:.0f} s before the next request (more than"
                        f" DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS={self.max_retry_after:g}); try again later",
                        provider=self.provider, status=status,
                    )
                self.sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1
                continue
            raise self._status_error(response, attempt + 1)

    def get_json(self, url: str, *, allow: tuple[int, ...] = (), **kwargs: Any) -> tuple[int, Any]:
        """GET and decode JSON: (status, data). Undecodable JSON raises ``MalformedResponse``."""
        response = self.request("GET", url, allow=allow, **kwargs)
        return response.status_code, self.json_of(response)

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            raise MalformedResponse(
                f"{self.label} sent a response that is not JSON (HTTP {response.status_code},"
                f" {len(response.content)} bytes)", provider=self.provider, status=response.status_code,
            ) from None

    # -- internals -------------------------------------------------------------------
    def _send(self, request: httpx.Request) -> httpx.Response:
        response = self.client.send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise MalformedResponse(
                        f"{self.label} sent more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB; refused",
                        provider=self.provider,
                    )
                chunks.append(chunk)
        finally:
            response.close()
        return httpx.Response(
            response.status_code, headers=response.headers, content=b"".join(chunks), request=request
        )

    def _check_reachable(self, url: httpx.URL) -> None:
        host = url.host
        down = self._down.get(host)
        if down and down[0] > self.clock():
            raise self._unavailable(host, down[1])
        if self._guard_dns and host not in self._resolved and not _is_ip_or_local(host):
            try:
                _resolve(host, url.port or (443 if url.scheme == "https" else 80), self.connect_timeout)
            except OSError as exc:
                self._down[host] = (self.clock() + OFFLINE_MEMORY_SECONDS, str(exc))
                raise self._unavailable(host, str(exc)) from None
            self._resolved.add(host)

    def _unavailable(self, host: str, reason: str) -> ConnectorUnavailable:
        return ConnectorUnavailable(
            f"{self.label} is unreachable: cannot connect to {host} ({reason}). Check the network"
            " connection; files can still be imported offline.",
            provider=self.provider,
        )

    def _backoff(self, attempt: int) -> float:
        delay = min(self.max_retry_after, BACKOFF_BASE_SECONDS * 2**attempt)
        return delay + self.rng() * BACKOFF_BASE_SECONDS

    def _status_error(self, response: httpx.Response, tries: int) -> ConnectorHTTPError:
        status = response.status_code
        detail = _error_detail(response)
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            return ConnectorAuthError(
                f"{self.label} refused the request (HTTP {status}){suffix}; check the key or token in the settings",
                provider=self.provider, status=status,
            )
        if status == 429:
            return RateLimited(
                f"{self.label} is rate limiting us (HTTP 429 after {tries} tries); try again later",
                provider=self.provider, status=status,
            )
        retried = f" after {tries} tries" if tries > 1 else ""
        return ConnectorHTTPError(
            f"{self.label} answered HTTP {status}{retried}{suffix}", provider=self.provider, status=status
        )


def _error_detail(response: httpx.Response) -> str:
    """The short message an API puts in its error body, if any (storable: it ends up in
    the lyrics cache and in messages)."""
    return storable_text(_error_body_message(response))


def _error_body_message(response: httpx.Response) -> str:
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or "")[:200]
        for key in ("error_description", "message", "error"):
            if isinstance(data.get(key), str):
                return data[key][:200]
        meta = data.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("message"), str):
            return meta["message"][:200]
    return ""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer within the connect timeout{': ' + text if text else ''}"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout"
    return text or type(exc).__name__
