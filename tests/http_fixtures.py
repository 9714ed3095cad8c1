"""Recorded HTTP answers for the connector tests: fixture files and a routing mock transport.

``RecordedServer`` answers from a table of (method, URL path) routes with queued responses
(the last one repeats) and keeps every request it saw, so a test can assert what was sent.
No test reaches the network: every client gets ``server.transport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "http"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | BaseException


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def json_answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON response from a fixture name ("lrclib/get_found.json") or a Python value."""
    if isinstance(data, str) and data.endswith(".json"):
        data = fixture_json(data)
    return httpx.Response(status, json=data, headers=headers)


def html_answer(name: str, status: int = 200) -> httpx.Response:
    return httpx.Response(status, text=fixture_text(name), headers={"Content-Type": "text/html; charset=utf-8"})


class RecordedServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, *answers: Answer) -> RecordedServer:
        """Answer ``method path`` (``path`` is the URL path, or "host/path" to pin a host)."""
        self.routes.setdefault((method.upper(), path), []).extend(answers)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for key in ((request.method, f"{request.url.host}{request.url.path}"), (request.method, request.url.path)):
            queue = self.routes.get(key)
            if queue:
                answer = queue.pop(0) if len(queue) > 1 else queue[0]
                if isinstance(answer, BaseException):
                    raise answer
                if callable(answer) and not isinstance(answer, httpx.Response):
                    return answer(request)
                return httpx.Response(
                    answer.status_code, headers=answer.headers, content=answer.content, request=request
                )
        return httpx.Response(599, text=f"no recorded answer for {request.method} {request.url}", request=request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def paths(self, method: str | None = None) -> list[str]:
        return [r.url.path for r in self.requests if method is None or r.method == method]
