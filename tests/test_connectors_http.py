"""The polite HTTP client: retries with backoff, Retry-After, timeouts, rate limits and
fast failure when a host cannot be reached. Every answer is recorded; nothing goes online
except one connection to a closed port on loopback."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from pipelines.connectors import http as connectors_http
from pipelines.connectors.http import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorUnavailable,
    MalformedResponse,
    PoliteClient,
    RateLimited,
    parse_retry_after,
)
from pipelines.connectors.rate_limit import TokenBucket, shared_bucket
from pipelines.settings import Settings
from tests.http_fixtures import RecordedServer, json_answer

SETTINGS = Settings({"DISCERN_HTTP_RETRIES": "3", "DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS": "30"})


def make_client(server: RecordedServer, sleeps: list[float], settings: Settings = SETTINGS) -> PoliteClient:
    return PoliteClient(
        "test", label="Test API", base_url="https://api.example.test", settings=settings,
        transport=server.transport, bucket=TokenBucket(0), sleep=sleeps.append, rng=lambda: 0.5,
    )


def test_5xx_is_retried_with_exponential_backoff_and_jitter():
    server = RecordedServer().add(
        "GET", "/thing", httpx.Response(503), httpx.Response(502), httpx.Response(500), json_answer({"ok": True})
    )
    sleeps: list[float] = []
    status, data = make_client(server, sleeps).get_json("/thing")
    assert (status, data) == (200, {"ok": True})
    assert len(server.requests) == 4
    # base 0.5 s doubling, plus jitter rng()*0.5 = 0.25
    assert sleeps == [0.75, 1.25, 2.25]


def test_retries_run_out_with_a_clear_error():
    server = RecordedServer().add("GET", "/thing", httpx.Response(503, json={"message": "down for maintenance"}))
    sleeps: list[float] = []
    with pytest.raises(ConnectorHTTPError, match=r"Test API answered HTTP 503 after 4 tries: down for maintenance") as err:
        make_client(server, sleeps).get_json("/thing")
    assert err.value.status == 503
    assert len(server.requests) == 4 and len(sleeps) == 3


def test_429_waits_for_retry_after_seconds():
    server = RecordedServer().add(
        "GET", "/thing", json_answer("spotify/rate_limited.json", 429, {"Retry-After": "7"}), json_answer({"ok": 1})
    )
    sleeps: list[float] = []
    assert make_client(server, sleeps).get_json("/thing")[1] == {"ok": 1}
    assert sleeps == [7.0]


def test_429_with_an_http_date_retry_after():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    server = RecordedServer().add("GET", "/thing", httpx.Response(429, headers={"Retry-After": when}), json_answer([]))
    sleeps: list[float] = []
    make_client(server, sleeps).get_json("/thing")
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


def test_a_retry_after_over_the_cap_fails_at_once_instead_of_sleeping():
    server = RecordedServer().add("GET", "/thing", httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    with pytest.raises(RateLimited, match=r"asks to wait 3600 s .*DISCERN_HTTP_MAX_RETRY_AFTER_SECONDS=30"):
        make_client(server, sleeps).get_json("/thing")
    assert sleeps == [] and len(server.requests) == 1


def test_429_forever_ends_as_rate_limited():
    server = RecordedServer().add("GET", "/thing", httpx.Response(429, headers={"Retry-After": "1"}))
    sleeps: list[float] = []
    with pytest.raises(RateLimited, match="HTTP 429 after 4 tries"):
        make_client(server, sleeps).get_json("/thing")
    assert sleeps == [1.0, 1.0, 1.0]


def test_read_timeouts_are_retried_then_reported():
    server = RecordedServer().add("GET", "/slow", httpx.ReadTimeout("timed out"), json_answer({"late": True}))
    sleeps: list[float] = []
    assert make_client(server, sleeps).get_json("/slow")[1] == {"late": True}
    assert len(sleeps) == 1

    always = RecordedServer().add("GET", "/slow", httpx.ReadTimeout("timed out"))
    with pytest.raises(ConnectorHTTPError, match=r"did not answer in time \(read timeout\) after 4 tries"):
        make_client(always, []).get_json("/slow")


def test_connection_failure_is_unavailable_at_once_and_remembered():
    server = RecordedServer().add("GET", "/thing", httpx.ConnectError("[Errno -3] Temporary failure in name resolution"))
    sleeps: list[float] = []
    client = make_client(server, sleeps)
    with pytest.raises(ConnectorUnavailable, match=r"Test API is unreachable: cannot connect to api.example.test .*network"):
        client.get_json("/thing")
    assert len(server.requests) == 1 and sleeps == []
    # The next request to that host fails without trying the network again.
    with pytest.raises(ConnectorUnavailable):
        client.get_json("/other")
    assert len(server.requests) == 1


def test_connect_timeout_is_unavailable():
    server = RecordedServer().add("GET", "/thing", httpx.ConnectTimeout("timed out"))
    with pytest.raises(ConnectorUnavailable, match="no answer within the connect timeout"):
        make_client(server, []).get_json("/thing")


def test_closed_local_port_fails_fast_without_a_mock():
    client = PoliteClient("closed", base_url="http://127.0.0.1:9", settings=SETTINGS, bucket=TokenBucket(0))
    start = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="cannot connect to 127.0.0.1"):
        client.request("GET", "/api/get")
    assert time.monotonic() - start < 3


def test_a_hanging_name_lookup_is_cut_at_the_connect_timeout(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    def hanging_lookup(*args, **kwargs):
        time.sleep(5)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(connectors_http.socket, "getaddrinfo", hanging_lookup)
    settings = Settings({"DISCERN_HTTP_CONNECT_TIMEOUT_SECONDS": "1"})
    client = PoliteClient("dns", label="Slow DNS", base_url="https://lyrics.invalid", settings=settings, bucket=TokenBucket(0))
    start = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="looking up lyrics.invalid took more than 1 s"):
        client.request("GET", "/x")
    assert time.monotonic() - start < 2.5


def test_malformed_json_is_reported():
    server = RecordedServer().add("GET", "/thing", httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(MalformedResponse, match="not JSON"):
        make_client(server, []).get_json("/thing")


def test_401_is_an_auth_error_with_the_apis_message():
    server = RecordedServer().add("GET", "/search", json_answer("genius/unauthorized.json", 401))
    with pytest.raises(ConnectorAuthError, match="HTTP 401.*requires an access_token.*check the key or token"):
        make_client(server, []).get_json("/search")
    assert len(server.requests) == 1


def test_allowed_statuses_are_returned_not_raised():
    server = RecordedServer().add("GET", "/missing", json_answer("lrclib/get_not_found.json", 404))
    status, data = make_client(server, []).get_json("/missing", allow=(404,))
    assert status == 404 and data["name"] == "TrackNotFound"


def test_oversized_responses_are_refused(monkeypatch):
    monkeypatch.setattr(connectors_http, "MAX_RESPONSE_BYTES", 1000)
    server = RecordedServer().add("GET", "/big", httpx.Response(200, content=b"x" * 5000))
    with pytest.raises(MalformedResponse, match="refused"):
        make_client(server, []).request("GET", "/big")


def test_token_bucket_spaces_requests_at_the_rate():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, capacity=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    # Two tokens of burst, then one a second.
    assert slept == pytest.approx([1.0, 1.0, 1.0])
    now[0] += 10  # idle time refills up to the capacity only
    bucket.acquire()
    bucket.acquire()
    bucket.acquire()
    assert slept[3:] == pytest.approx([1.0])


def test_the_client_takes_a_token_per_attempt():
    taken: list[int] = []

    class CountingBucket(TokenBucket):
        def acquire(self) -> float:
            taken.append(1)
            return 0.0

    server = RecordedServer().add("GET", "/thing", httpx.Response(500), json_answer({}))
    client = PoliteClient("count", base_url="https://x.test", settings=SETTINGS, transport=server.transport,
                          bucket=CountingBucket(60), sleep=lambda s: None)
    client.get_json("/thing")
    assert len(taken) == 2


def test_shared_bucket_is_one_per_provider():
    a = shared_bucket("provider-x", 30)
    assert shared_bucket("provider-x", 30) is a
    assert shared_bucket("provider-y", 30) is not a


def test_parse_retry_after_forms():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_a_refusing_proxy_is_unavailable_and_bad_addresses_say_so():
    server = RecordedServer().add("GET", "/thing", httpx.ProxyError("407 Proxy Authentication Required"))
    with pytest.raises(ConnectorUnavailable, match="407 Proxy Authentication Required"):
        make_client(server, []).get_json("/thing")
    client = PoliteClient("bad", label="LRCLIB", base_url="lrclib.net", settings=SETTINGS, bucket=TokenBucket(0))
    with pytest.raises(ConnectorError, match="LRCLIB: .* is not a usable address"):
        client.get_json("/api/get")


def test_too_many_redirects_is_a_malformed_answer():
    def loop(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://api.example.test/thing"})

    server = RecordedServer().add("GET", "/thing", loop)
    with pytest.raises(MalformedResponse, match="TooManyRedirects"):
        make_client(server, []).get_json("/thing")
