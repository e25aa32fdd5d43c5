"""Pacing every request of a process to the rate Telnyx allows (async and sync clients alike).

Telnyx advertises its limit on its responses: ``x-ratelimit-limit`` requests per window,
``x-ratelimit-remaining`` of them left, ``x-ratelimit-reset`` seconds until the window resets; beyond it
comes a 429 with error code ``10011``. The limit belongs to the account, so every process and worker using
one key shares it. :class:`RateLimiter` paces by those headers:

* **Spread what is left over the time that is left.** Each request goes ``time left / budget left`` after
  the previous one, so a lone client runs at exactly the advertised rate and every client slows *before*
  the window runs out: when another process spends the same account, the server's ``remaining`` falls
  faster than this process's own count and both slow down, sharing the limit instead of doubling it.
* **Count what the server has not seen yet.** A response's ``remaining`` does not include the requests
  this process reserved after it; they are subtracted. Windows are placed in *send* time (the send time of
  a request plus its ``reset``), so requests arrive inside the window they were paced for.
* **Count what the others spend meanwhile.** Another client's spending shows in ``limit - remaining``
  beyond this process's own; its rate is measured between answers, and what it will have spent since the
  latest answer (that rate x the time since) is taken off the budget before each request.
* **A cap.** ``rate_per_second`` (``TELNYX_RATE_LIMIT``) is an optional ceiling on top, a token bucket
  with ``burst``.
* **Without headers** (a server that sends none) requests are not paced beyond the cap: a 429's
  ``Retry-After`` holds every caller back (``pause``), as that server asks. (Slowing down on every 429
  would confuse a limit with random throttling, and throttle a run to a crawl.)
* ``pause(seconds)`` holds every caller back (the client calls it for a 429 that carries no window).
* Until the first answer the limit is unknown: without a cap, requests go at 10 per second for that
  round trip.

Reservations are made under a thread lock and may run ahead of time, so concurrent callers are queued in
arrival order without busy waiting: each learns how long to sleep and sleeps outside the lock.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RateLimitHeaders", "RateLimiter", "Reservation"]

#: Requests of a new window wait this long after its start, and a window's budget is spread so that it
#: ends this long before the window does: jitter in the time a request takes to reach the server must not
#: land it in a window it was not paced for.
_START_GUARD = 0.005
_END_GUARD = 0.010
#: Requests per second before the first answer (for about one round trip).
_LEARNING_RATE = 10.0
#: Telnyx's windows are whole seconds: the first ``reset`` seen may be the tail of a window, not its length.
_MIN_WINDOW = 1.0
#: Weight of the newest observation in the running estimates (round trip, other clients' rate).
_SMOOTHING = 0.35


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` of one response."""

    limit: int
    remaining: int
    reset: float

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateLimitHeaders | None:
        """The three headers, or None when any is missing or not a number (a server that sends none)."""
        if headers is None:
            return None
        try:
            limit = int(float(headers["x-ratelimit-limit"]))
            remaining = int(float(headers["x-ratelimit-remaining"]))
            reset = float(headers["x-ratelimit-reset"])
        except (KeyError, TypeError, ValueError):
            return None
        if limit < 1 or not math.isfinite(reset) or reset < 0 or reset > 86_400:
            return None
        return cls(limit=limit, remaining=max(0, min(remaining, limit)), reset=reset)


@dataclass(frozen=True, slots=True)
class Reservation:
    """One request's place in the pacing: when it may be sent and which window it was paced into."""

    send_at: float
    epoch: int
    position: int


class RateLimiter:
    """Paces requests by the server's rate-limit headers, under an optional cap of ``rate_per_second``.

    ``RateLimiter()`` learns the limit from the first response; ``RateLimiter(20)`` never exceeds 20/s
    either. One instance is shared by every concurrent request of a process (see the module docstring).
    """

    def __init__(
        self,
        rate_per_second: float | None = None,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_second is not None and rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        self.cap = float(rate_per_second) if rate_per_second is not None else None
        self.burst = float(burst) if burst is not None else max(1.0, self.cap or 1.0)
        if self.burst < 1:
            raise ValueError("burst must be >= 1")
        self._clock = clock
        self._lock = threading.Lock()
        self._paused_until = float("-inf")
        # the cap: a token bucket
        self._tokens = self.burst
        self._updated = clock()
        # the server's window, learned from its headers
        self.limit: int | None = None
        self._window = 0.0  # its length: the longest reset seen
        self._window_end: float | None = None  # in send time
        self._epoch = 0
        self._reserved = 0  # reservations paced into the current window
        self._remaining = 0.0  # what this process may still send in it
        self._next_send = float("-inf")
        self._others_rate = 0.0  # requests per second other clients spend of the account
        self._others_seen: tuple[float, int] | None = None  # (send time, spent by others): latest answer
        self._send_times: list[float] = []  # of this window's reservations, by position
        self._round_trip = 0.0
        self._round_trip_jitter = 0.0  # mean deviation of the round trip
        #: Every ``reset`` so far a whole number (the window's end is then known only to the second).
        self._coarse = True
        self._last_answer: tuple[float, int] | None = None  # (send time, remaining) of this window's latest
        self._answers = 0
        self._queue: deque[_Waiter] = deque()

    def __repr__(self) -> str:
        learned = f"{self.limit}/{self._window:g}s" if self.limit is not None else "not learned"
        return f"RateLimiter(cap={self.cap}, server limit {learned})"

    # -- what the pace is now -----------------------------------------------------------------------------

    @property
    def rate(self) -> float | None:
        """Requests per second this limiter lets through at most right now; None when unpaced."""
        rates = [self.cap] if self.cap is not None else []
        if self.limit is not None:
            rates.append(self.limit / self._window_length)
        return min(rates) if rates else None

    # -- reserving ----------------------------------------------------------------------------------------

    def reserve_slot(self) -> Reservation:
        """Take a place for one request; pass it to :meth:`observe` with the answer."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            if self.cap is not None:
                start = self._take_token(start)
            epoch, position = self._epoch, 0
            if self.limit is not None and self._window_end is not None:
                start = self._pace_in_window(max(start, self._next_send))
                epoch, position = self._epoch, self._reserved - 1
            elif self.cap is None and not self._answers:
                # Before the first answer the limit is unknown: without a cap, go gently until one
                # teaches it.
                start = max(start, self._next_send)
                self._next_send = start + 1.0 / _LEARNING_RATE
            return Reservation(send_at=start, epoch=epoch, position=position)

    def _take_token(self, start: float) -> float:
        assert self.cap is not None
        start = max(start, self._updated)
        self._tokens = min(self.burst, self._tokens + (start - self._updated) * self.cap)
        self._updated = start
        self._tokens -= 1
        return start + (-self._tokens / self.cap if self._tokens < 0 else 0.0)

    @property
    def _window_length(self) -> float:
        return max(self._window, _MIN_WINDOW)

    def _roll(self, at: float) -> None:
        """Move the current window forward until it holds ``at``; a new window has its whole budget."""
        assert self._window_end is not None and self.limit is not None
        if at < self._window_end:
            return
        length = self._window_length
        windows = math.floor((at - self._window_end) / length) + 1
        self._window_end += windows * length
        self._epoch += 1
        self._reserved = 0
        self._remaining = float(self.limit)
        if self._others_seen is None:
            self._others_rate *= 1 - _SMOOTHING  # nothing measured in that window: let it fade
        self._others_seen = None
        self._send_times = []
        self._last_answer = None

    def _budget(self, at: float) -> float:
        """What this process may still send in the current window at ``at``: the estimate of the latest
        answer, less what other clients will have spent since."""
        seen = self._others_seen[0] if self._others_seen is not None else self._window_start
        return self._remaining - self._others_rate * max(0.0, at - max(seen, self._window_start))

    @property
    def _window_start(self) -> float:
        assert self._window_end is not None
        return self._window_end - self._window_length

    def _pace_in_window(self, start: float) -> float:
        assert self._window_end is not None and self.limit is not None
        fresh = start >= self._window_end
        self._roll(start)
        if self._budget(start) < 1:
            start = self._window_end
            fresh = True
            self._roll(start)
        if fresh:
            start += _START_GUARD
        budget = max(1.0, self._budget(start))
        end_guard = min(_END_GUARD, 0.02 * self._window_length)
        self._next_send = start + max(0.0, self._window_end - end_guard - start) / budget
        self._remaining -= 1
        self._reserved += 1
        self._send_times.append(start)
        return start

    # -- learning -----------------------------------------------------------------------------------------

    def observe(
        self, reservation: Reservation | None, headers: Mapping[str, str] | None, status: int | None
    ) -> None:
        """Learn from the answer to a reserved request (``headers``/``status`` None: no answer came)."""
        quota = RateLimitHeaders.parse(headers)
        with self._lock:
            self._answers += 1
            if quota is None:
                return
            now = self._clock()
            sent_at = reservation.send_at if reservation is not None else now
            round_trip = max(0.0, now - sent_at)
            deviation = abs(round_trip - self._round_trip)
            self._round_trip_jitter += _SMOOTHING * (deviation - self._round_trip_jitter)
            self._round_trip += _SMOOTHING * (round_trip - self._round_trip)
            if quota.limit != self.limit:
                self.limit = quota.limit
                self._window = 0.0
            self._window = max(self._window, quota.reset)
            self._coarse = self._coarse and quota.reset == int(quota.reset)
            end = sent_at + quota.reset
            tolerance = max(0.01, 0.25 * self._window_length)
            if self._coarse:
                tolerance = max(tolerance, 1.0)
            later = self._later_reservations(reservation)
            renewed = (
                self._last_answer is not None
                and sent_at > self._last_answer[0]
                and quota.remaining > self._last_answer[1]
            )
            if self._window_end is None or end > self._window_end + tolerance or (renewed and self._coarse):
                # The server is in a window this process has not paced yet: start pacing in it.
                self._window_end = end
                self._epoch += 1
                self._reserved = later
                self._remaining = float(quota.remaining - later)
                self._others_seen = None
                self._send_times = [sent_at] * later
                self._last_answer = (sent_at, quota.remaining)
                return
            if end < self._window_end - tolerance:
                return  # the answer of an earlier window
            if self._last_answer is None or sent_at > self._last_answer[0]:
                self._last_answer = (sent_at, quota.remaining)
            if self._coarse:
                # Whole-second resets are upper bounds of the end: the smallest is the closest.
                self._window_end = min(self._window_end, end)
            else:
                # The quickest request to reach the server places the window's end latest: pace by it, so
                # that no request paced into the next window reaches the server before this one ends.
                self._window_end = max(self._window_end, end)
            self._remaining = min(self._remaining, float(quota.remaining - later))
            if reservation is not None and reservation.epoch == self._epoch:
                # What the account spent beyond this process's own requests so far in this window, and how
                # fast that grew since the previous answer. Own requests sent after this one, within the
                # round trip's jitter, may have overtaken it: they are not the others'.
                overtaking = bisect.bisect_right(self._send_times, sent_at + 2 * self._round_trip_jitter)
                own = max(reservation.position + 1, min(overtaking, self._reserved))
                others = max(0, (quota.limit - quota.remaining) - own)
                elapsed = sent_at - self._window_start
                if elapsed > 0.1 * self._window_length:  # an average over a tiny interval says nothing
                    rate = min(others / elapsed, quota.limit / self._window_length)
                    self._others_rate += _SMOOTHING * (rate - self._others_rate)
                    self._others_seen = (sent_at, others)

    def _later_reservations(self, reservation: Reservation | None) -> int:
        """Reservations of the current window made after ``reservation``: the server has not counted them."""
        if reservation is None or reservation.epoch != self._epoch:
            return self._reserved
        return max(0, self._reserved - reservation.position - 1)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (never shortens an existing pause)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    # -- waiting ------------------------------------------------------------------------------------------

    def _enqueue(self, waiter: _Waiter) -> bool:
        """Queue ``waiter``; True when it is at the head (it may reserve at once)."""
        with self._lock:
            self._queue.append(waiter)
            return self._queue[0] is waiter

    def _leave(self, waiter: _Waiter) -> None:
        """Take ``waiter`` out of the queue; if it was the head, the next one may reserve."""
        with self._lock:
            was_head = bool(self._queue) and self._queue[0] is waiter
            try:
                self._queue.remove(waiter)
            except ValueError:
                return
            if not was_head:
                return
            waiting = list(self._queue)
        for following in waiting:
            if following.wake():
                return
            self._leave(following)  # its event loop is gone
            return

    async def acquire(self) -> Reservation:
        """Wait (asynchronously) until a request may be sent; pass the reservation to :meth:`observe`.

        Callers queue in arrival order and only the head reserves a slot, so each slot is computed from
        the freshest answers (a slot reserved ahead of time could not learn that the window filled up).
        """
        waiter = _Waiter(asyncio.get_running_loop())
        assert waiter.future is not None
        try:
            if not self._enqueue(waiter):
                await waiter.future
            reservation = self.reserve_slot()
            wait = reservation.send_at - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
        finally:
            self._leave(waiter)
        return reservation

    def acquire_sync(self) -> Reservation:
        """Thread-safe blocking variant of :meth:`acquire`, used by the sync client."""
        waiter = _Waiter(None)
        try:
            if not self._enqueue(waiter):
                waiter.event.wait()
            reservation = self.reserve_slot()
            wait = reservation.send_at - self._clock()
            if wait > 0:
                time.sleep(wait)
        finally:
            self._leave(waiter)
        return reservation


class _Waiter:
    """A caller queued for its turn to reserve: an asyncio future of its loop, or a thread's event."""

    __slots__ = ("event", "future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None
        self.event = threading.Event()

    def wake(self) -> bool:
        """Let it reserve; False when its event loop is closed (it will never run again)."""
        if self.loop is None or self.future is None:
            self.event.set()
            return True
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
