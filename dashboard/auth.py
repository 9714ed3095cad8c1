"""The admin password: from ``st.secrets`` or the settings, compared in constant time, with
a limit on wrong guesses."""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


def configured_password(secrets: object, settings: object) -> str:
    """The admin password, or '' when none is configured (then the admin page refuses).
    There is no default; a password of only spaces counts as none."""
    try:
        from_secrets = secrets.get("admin_password", "")  # type: ignore[attr-defined]
    except Exception:  # no secrets.toml at all is the normal case
        from_secrets = ""
    password = str(from_secrets or settings.discern_admin_password or "")
    return password if password.strip() else ""


def password_matches(given: str, expected: str) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class SignInThrottle:
    """Wrong admin passwords allowed per client in a sliding window; after that the client
    is refused, right password or not, until its oldest failure leaves the window. It
    lives once per server process (``resources.sign_in_throttle``), so opening a new
    session does not reset it. Memory stays bounded: at most ``max_clients`` are
    remembered, the longest idle forgotten first."""

    def __init__(
        self, max_failures: int = 5, window_s: float = 600.0, max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def wait_seconds(self, client: str) -> float:
        """0 when ``client`` may try a password now, else the seconds until it may."""
        with self._lock:
            now = self._clock()
            failures = self._recent(client, now)
            if len(failures) < self.max_failures:
                return 0.0
            return failures[-self.max_failures] + self.window_s - now

    def failed(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            failures = self._recent(client, now)
            failures.append(now)
            self._failures[client] = failures
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
