"""Pacing by the sandbox's rate-limit headers, for real: sockets, one account window, several clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

LIMIT = 20  # requests per second of the sandbox's account


@pytest.fixture
def limited() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=5, rate_limit=LIMIT, latency_ms=20)) as sandbox:
        yield sandbox


async def _hammer(clients: list[AsyncTelnyx], seconds: float, workers: int = 8) -> None:
    until = time.monotonic() + seconds

    async def worker(client: AsyncTelnyx) -> None:
        while time.monotonic() < until:
            await client.requirement_types.list()

    await asyncio.gather(*(worker(client) for client in clients for _ in range(workers)))


def _counts(sandbox: SandboxServer) -> tuple[int, int]:
    by_status = sandbox.stats()["requests"]["by_status"]
    return int(by_status.get("200", 0)), int(by_status.get("429", 0))


async def test_a_client_told_nothing_runs_at_the_limit_the_server_advertises(limited: SandboxServer) -> None:
    async with AsyncTelnyx(api_key="k", base_url=limited.base_url, rate_limiter=RateLimiter()) as client:
        started = time.monotonic()
        await _hammer([client], 3.0)
        elapsed = time.monotonic() - started
        assert client.rate_limiter is not None and client.rate_limiter.limit == LIMIT
    ok, limited_ = _counts(limited)
    assert limited_ == 0  # it slowed before the window ran out, instead of learning from 429s
    assert ok >= 0.8 * LIMIT * elapsed  # and used what the account allows


async def test_two_clients_on_one_account_share_its_limit_instead_of_doubling_it(
    limited: SandboxServer,
) -> None:
    async with (
        AsyncTelnyx(api_key="k", base_url=limited.base_url, rate_limiter=RateLimiter()) as first,
        AsyncTelnyx(api_key="k", base_url=limited.base_url, rate_limiter=RateLimiter()) as second,
    ):
        started = time.monotonic()
        await _hammer([first, second], 4.0)
        elapsed = time.monotonic() - started
        sent = (first.stats.requests_sent, second.stats.requests_sent)
    ok, limited_ = _counts(limited)
    assert ok <= LIMIT * (elapsed + 1)  # the sandbox enforces it; the point is what the clients asked for:
    assert limited_ <= 0.05 * (ok + limited_), (ok, limited_)  # a few at the start, while both learn
    assert sum(sent) <= 1.1 * LIMIT * (elapsed + 1)  # not 2 x the limit
    assert min(sent) >= 0.3 * max(sent)  # and neither starves
