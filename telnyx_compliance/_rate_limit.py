"""Token-bucket rate limiter shared by every request of a process (async and sync clients alike)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Allow ``rate_per_second`` requests on average with bursts of up to ``burst``.

    Reservations are made under a thread lock and may run into debt, so concurrent callers are queued in
    arrival order without busy waiting: each one learns how long to sleep and sleeps outside the lock.
    ``pause(seconds)`` (called on a 429's ``Retry-After``) holds back every caller sharing the limiter.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        self.rate = float(rate_per_second)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        if self.burst < 1:
            raise ValueError("burst must be >= 1")
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._updated = clock()
        self._paused_until = float("-inf")

    def __repr__(self) -> str:
        return f"RateLimiter(rate_per_second={self.rate}, burst={self.burst})"

    def reserve(self) -> float:
        """Take one token and return how many seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until, self._updated)
            self._tokens = min(self.burst, self._tokens + (start - self._updated) * self.rate)
            self._updated = start
            self._tokens -= 1
            debt = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return (start - now) + debt

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (never shortens an existing pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def acquire(self) -> None:
        """Wait (asynchronously) until a request may be sent."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def acquire_sync(self) -> None:
        """Thread-safe blocking variant of :meth:`acquire`, used by the sync client."""
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
