"""Fault injection and request accounting, in one ASGI wrapper around the whole app.

Only ``/v2`` requests are counted and faulted; ``/_sandbox`` routes always answer. Every request draws its
random numbers in the same order from one RNG seeded by ``SandboxConfig.seed``, so a run with the same seed
and the same request sequence sees the same faults.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from re import Pattern
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import SandboxConfig
from .errors import error_body

FAULT_KINDS = ("latency", "rate_limited", "throttled", "error", "dropped", "lost_response")


class ConnectionDropped(ConnectionAbortedError):
    """Raised to abort a connection when the server gives no way to close the socket (e.g. TestClient)."""


class RequestStats:
    """Requests by route template and status, and faults by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.by_route: dict[str, Counter[str]] = defaultdict(Counter)
            self.faults: Counter[str] = Counter()
            self.total = 0

    def record(self, route: str, status: str) -> None:
        with self._lock:
            self.by_route[route][status] += 1
            self.total += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_status: Counter[str] = Counter()
            for statuses in self.by_route.values():
                by_status.update(statuses)
            return {
                "total": self.total,
                "by_status": dict(sorted(by_status.items())),
                "by_route": {route: dict(sorted(s.items())) for route, s in sorted(self.by_route.items())},
                "faults": {kind: self.faults.get(kind, 0) for kind in FAULT_KINDS},
            }


@dataclass(frozen=True, slots=True)
class Quota:
    """The account's rate-limit state for one request, as Telnyx sends it in ``x-ratelimit-*`` headers."""

    limit: int
    remaining: int
    reset: float  # seconds until the window resets
    allowed: bool

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", f"{self.reset:.3f}".encode()),
        ]


class AccountWindow:
    """The account's limit: ``rate x window`` requests per fixed window of ``window`` seconds (real time).

    One per sandbox, shared by every client of it, as Telnyx counts per account: two processes on one key
    share the limit instead of doubling it. Windows are aligned to the sandbox's start; a refused request
    does not count.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._origin = clock()
        self._index = -1
        self._count = 0

    def take(self, rate: float, window: float) -> Quota:
        limit = max(1, round(rate * window))
        elapsed = self._clock() - self._origin
        index = int(elapsed // window)
        if index != self._index:
            self._index, self._count = index, 0
        reset = (index + 1) * window - elapsed
        allowed = self._count < limit
        if allowed:
            self._count += 1
        return Quota(limit=limit, remaining=limit - self._count, reset=reset, allowed=allowed)


@dataclass(frozen=True)
class Draw:
    """One request's fault decisions."""

    latency_s: float
    throttle: bool
    error_status: int | None
    drop: bool
    lose_response: bool


class FaultController:
    """Decides, reproducibly, which fault (if any) each request gets."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(f"faults/{self.config.seed}")
            self._window = AccountWindow()

    def draw(self) -> Draw:
        config = self.config
        with self._lock:
            rng = self._rng
            # Always draw every number, in the same order, so one knob does not shift another's sequence.
            latency = (
                rng.gauss(config.latency_ms, config.latency_jitter_ms)
                if config.latency_jitter_ms
                else (config.latency_ms)
            )
            throttle, failure, status_pick, drop, lose = (rng.random() for _ in range(5))
        return Draw(
            latency_s=max(0.0, latency) / 1000.0,
            throttle=throttle < config.throttle_rate,
            error_status=(500, 502, 503)[int(status_pick * 3) % 3] if failure < config.error_rate else None,
            drop=drop < config.drop_rate,
            lose_response=lose < config.lost_response_rate,
        )

    def quota(self) -> Quota | None:
        """Count one request against the account's window; None when the sandbox has no rate limit."""
        rate = self.config.rate_limit
        if rate <= 0:
            return None
        with self._lock:
            return self._window.take(rate, self.config.rate_limit_window)


class FaultInjector:
    """ASGI middleware: counts ``/v2`` requests and injects the configured faults into them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        controller: FaultController,
        stats: RequestStats,
        templates: list[tuple[Pattern[str], str]],
    ) -> None:
        self.app = app
        self.controller = controller
        self.stats = stats
        self.templates = templates  # (path regex, path template) of every /v2 route

    def _template(self, scope: Scope) -> str:
        for pattern, template in self.templates:
            if pattern.match(scope["path"]):
                return f"{scope['method']} {template}"
        return f"{scope['method']} (unknown route)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return
        route = self._template(scope)
        draw = self.controller.draw()
        if draw.latency_s > 0:
            self.stats.fault("latency")
            await asyncio.sleep(draw.latency_s)

        quota = self.controller.quota()
        extra = quota.headers() if quota is not None else []
        if quota is not None and not quota.allowed:
            self.stats.fault("rate_limited")
            await self._reply(
                send,
                route,
                429,
                "You have exceeded the maximum number of allowed requests.",
                retry_after=quota.reset,
                headers=extra,
            )
            return
        if draw.throttle:
            self.stats.fault("throttled")
            await self._reply(
                send,
                route,
                429,
                "Too many requests (throttled).",
                retry_after=self.controller.config.retry_after,
                headers=extra,
            )
            return
        if draw.error_status is not None:
            self.stats.fault("error")
            await self._reply(
                send, route, draw.error_status, "The sandbox injected a server error.", headers=extra
            )
            return
        if draw.drop:
            self.stats.fault("dropped")
            self.stats.record(route, "dropped")
            await _drain(receive)  # an unread body would make the close a reset instead of an EOF
            await _abort_connection(receive)
            return

        status: list[int] = []

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]

        if draw.lose_response:
            # The request is handled completely (its write commits); only the answer never arrives.
            await self.app(scope, receive, record_status)
            self.stats.fault("lost_response")
            self.stats.record(route, f"{status[0] if status else 0} lost")
            await _abort_connection(receive)
            return

        async def forward(message: Message) -> None:
            await record_status(message)
            await send(message)

        await self.app(scope, receive, forward)
        self.stats.record(route, str(status[0]) if status else "no response")

    async def _reply(
        self,
        send: Send,
        route: str,
        status: int,
        detail: str,
        retry_after: float | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body = json.dumps(error_body(status, detail)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ]
        if retry_after is not None:
            headers.append((b"retry-after", str(max(0, math.ceil(retry_after))).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.stats.record(route, str(status))


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _abort_connection(receive: Receive) -> None:
    """Close the client's connection without a response.

    uvicorn answers 500 when an app raises before responding, which is not a dropped connection; so reach the
    protocol's transport through ``receive`` (a bound method of uvicorn's request cycle) and close it.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("the sandbox dropped the connection")
    transport.close()
    # Let connection_lost run so uvicorn knows the client is gone and sends nothing more.
    for _ in range(3):
        await asyncio.sleep(0)
