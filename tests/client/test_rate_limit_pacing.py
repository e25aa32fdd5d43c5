"""Pacing by the server's rate-limit headers, in a deterministic simulation (fake clock, no sockets).

The simulated server counts requests in fixed windows, as the sandbox and Telnyx do, and answers with
``x-ratelimit-limit/-remaining/-reset``; each simulated client runs ``workers`` concurrent requests through
queue). The real-sandbox version is in ``test_rate_limit_sandbox.py``.
``test_rate_limit_sandbox.py``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass

import pytest

from telnyx_compliance import RateLimiter


class WindowServer:
    def __init__(self, limit: int, window: float, *, whole_seconds: bool = False) -> None:
        self.limit, self.window, self.whole_seconds = limit, window, whole_seconds
        self.origin, self.index, self.count = 0.123, -1, 0
        self.ok = self.limited = 0

    def handle(self, now: float) -> tuple[int, dict[str, str]]:
        elapsed = now - self.origin
        index = int(elapsed // self.window)
        if index != self.index:
            self.index, self.count = index, 0
        reset = (index + 1) * self.window - elapsed
        status = 200 if self.count < self.limit else 429
        if status == 200:
            self.count += 1
            self.ok += 1
        else:
            self.limited += 1
        return status, {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.limit - self.count),
            "x-ratelimit-reset": str(math.ceil(reset)) if self.whole_seconds else f"{reset:.3f}",
        }


@dataclass
class Outcome:
    share_429: float
    utilisation: float  # requests accepted / what the limit allows in the time simulated
    sent: list[int]


def simulate(
    *,
    clients: int,
    limit: int,
    window: float = 1.0,
    latency: float = 0.05,
    jitter: float = 0.0,
    workers: int = 16,
    seconds: float = 30.0,
    stop_first_after: float | None = None,
    whole_seconds: bool = False,
) -> Outcome:
    rng = random.Random(7)
    now = [0.0]
    server = WindowServer(limit, window, whole_seconds=whole_seconds)
    limiters = [RateLimiter(clock=lambda: now[0]) for _ in range(clients)]
    idle = [list(range(workers)) for _ in range(clients)]
    head_busy = [False] * clients
    sent = [0] * clients
    events: list[tuple[float, int, str, tuple[object, ...]]] = []
    order = itertools.count()

    def at(time: float, kind: str, *payload: object) -> None:
        heapq.heappush(events, (time, next(order), kind, payload))

    def stopped(client: int) -> bool:
        return client == 0 and stop_first_after is not None and now[0] > stop_first_after

    def next_reservation(client: int) -> None:
        if head_busy[client] or not idle[client] or stopped(client):
            return
        head_busy[client] = True
        reservation = limiters[client].reserve_slot()
        at(max(reservation.send_at, now[0]), "send", client, idle[client].pop(0), reservation)

    for client in range(clients):
        at(0.0, "wake", client)
    while events:
        time, _, kind, payload = heapq.heappop(events)
        if time > seconds:
            break
        now[0] = time
        if kind == "wake":
            next_reservation(payload[0])  # type: ignore[arg-type]
        elif kind == "send":
            client, worker, reservation = payload
            sent[client] += 1  # type: ignore[index]
            at(time + latency / 2 + rng.uniform(0, jitter), "arrive", client, worker, reservation)
            head_busy[client] = False  # type: ignore[index]
            next_reservation(client)  # type: ignore[arg-type]
        elif kind == "arrive":
            status, headers = server.handle(time)
            at(time + latency / 2 + rng.uniform(0, jitter), "answer", *payload, status, headers)
        elif kind == "answer":
            client, worker, reservation, status, headers = payload
            limiters[client].observe(reservation, headers, status)  # type: ignore[arg-type,index]
            idle[client].append(worker)  # type: ignore[index]
            next_reservation(client)  # type: ignore[arg-type]
    total = server.ok + server.limited
    return Outcome(server.limited / max(1, total), server.ok / (limit / window * seconds), sent)


@pytest.mark.parametrize(
    ("clients", "limit", "latency", "jitter"),
    [(1, 50, 0.05, 0.0), (1, 50, 0.05, 0.01), (1, 10, 0.2, 0.0), (1, 200, 0.02, 0.005)],
)
def test_one_client_runs_at_the_advertised_limit_without_429s(
    clients: int, limit: int, latency: float, jitter: float
) -> None:
    outcome = simulate(clients=clients, limit=limit, latency=latency, jitter=jitter)
    assert outcome.share_429 == 0
    assert outcome.utilisation > 0.93  # the first round trip goes at 10/s, until an answer tells the limit


@pytest.mark.parametrize(
    ("clients", "limit", "latency", "jitter"),
    [(2, 50, 0.05, 0.0), (3, 50, 0.05, 0.0), (2, 20, 0.2, 0.0), (2, 20, 0.2, 0.02), (4, 100, 0.1, 0.01)],
)
def test_clients_sharing_an_account_share_its_limit_instead_of_doubling_it(
    clients: int, limit: int, latency: float, jitter: float
) -> None:
    outcome = simulate(clients=clients, limit=limit, latency=latency, jitter=jitter)
    assert outcome.share_429 < 0.01
    assert outcome.utilisation > 0.8
    assert min(outcome.sent) > 0.5 * max(outcome.sent)  # nobody is starved


def test_a_long_window_is_paced_over_its_length() -> None:
    outcome = simulate(clients=2, limit=1200, window=60, latency=0.1, seconds=300, workers=32)
    assert outcome.share_429 < 0.01 and outcome.utilisation > 0.95


def test_when_one_client_stops_the_other_takes_the_whole_limit() -> None:
    outcome = simulate(clients=2, limit=50, seconds=30, stop_first_after=10)
    assert outcome.share_429 < 0.01 and outcome.utilisation > 0.95
    assert outcome.sent[1] > 2 * outcome.sent[0]


def test_whole_second_resets_keep_a_lone_client_under_the_limit() -> None:
    outcome = simulate(clients=1, limit=50, whole_seconds=True)
    assert outcome.share_429 < 0.01 and outcome.utilisation > 0.75


def test_without_headers_nothing_is_paced_but_a_429_pauses_everyone() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    first = limiter.reserve_slot()
    limiter.observe(first, {}, 200)  # a server that sends no rate-limit headers
    now[0] = 1.0
    assert limiter.rate is None
    assert all(limiter.reserve_slot().send_at == now[0] for _ in range(100))
    limiter.observe(None, {}, 429)
    limiter.pause(2.0)  # what the client does with the 429's Retry-After
    assert limiter.reserve_slot().send_at - now[0] == pytest.approx(2.0)
    now[0] = 3.5
    assert limiter.reserve_slot().send_at == now[0]  # and then no pace of its own


def test_a_cap_holds_even_when_the_server_allows_more() -> None:
    outcome_limiter = RateLimiter(10, burst=1, clock=lambda: 0.0)
    outcome_limiter.observe(
        None, {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "99", "x-ratelimit-reset": "0.5"}, 200
    )
    assert outcome_limiter.rate == 10
    assert [round(outcome_limiter.reserve_slot().send_at, 3) for _ in range(3)] == [0, 0.1, 0.2]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-limit": "abc", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "1"},
        {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "nan"},
        {"x-ratelimit-limit": "0", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
        {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "-5"},
    ],
)
def test_missing_or_nonsense_headers_are_ignored(headers: dict[str, str]) -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    limiter.observe(None, headers, 200)
    assert limiter.limit is None and limiter.rate is None
