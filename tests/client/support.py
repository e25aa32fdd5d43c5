"""Shared by the client tests: a scripted MockTransport handler, where the contract and Prism are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

API_KEY = "KEY-super-secret-0123456789"
REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / "tools" / "prism" / "node_modules" / ".bin" / "prism"


def spec_path() -> Path:
    """The vendored OpenAPI contract the client is checked against (contracts/README.md)."""
    return REPO / "contracts" / "numbers-compliance.openapi.yml"


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and records every request and every retry wait."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request.read()
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    async def async_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
