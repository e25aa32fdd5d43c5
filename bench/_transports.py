"""CPU per API call of each HTTP stack: ``python -m bench._transports VARIANT URL N C``, one process each.

Makes ``N`` calls of ``GET /regulatory_requirements?filter[...]`` (the first call of every row), ``C`` at a
time, and prints one JSON line: the process's CPU seconds spent on the calls (imports and start-up left
out) and the wall time. The sandbox answers in its own process, so its CPU is not counted.

Variants:

* ``sdk``: the official ``AsyncTelnyx`` as a user gets it (httpx's default pool);
* ``sdk-aiohttp``: the official SDK with ``DefaultAioHttpClient`` (the SDK's documented aiohttp option);
* ``ours-httpx``: this project's client on httpcore's pool (``TELNYX_HTTP_TRANSPORT=httpx``), 100 connections;
* ``ours-httpx-bounded``: the same, the pool bounded to 16 connections;
* ``ours-httpx-aiohttp``: this project's client over the ``httpx-aiohttp`` package's transport;
* ``ours-httpx2``: this project's client, the requests sent by pydantic's ``httpx2`` fork (its pool has the
  httpcore#1035 fix) behind a thin adapter;
* ``ours``: this project's client as shipped (``_transport.AiohttpTransport``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

FILTER = {"country_code": "DE", "phone_number_type": "local", "action": "ordering"}
VARIANTS = (
    "sdk",
    "sdk-aiohttp",
    "ours-httpx",
    "ours-httpx-bounded",
    "ours-httpx-aiohttp",
    "ours-httpx2",
    "ours",
)


class _Httpx2Adapter(httpx.AsyncBaseTransport):
    """httpx's transport interface over an ``httpx2.AsyncClient`` (its own pool does the work)."""

    def __init__(self) -> None:
        import httpx2

        self._client = httpx2.AsyncClient(limits=httpx2.Limits(max_connections=100))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._client.request(
            request.method, str(request.url), headers=request.headers.raw, content=await request.aread()
        )
        return httpx.Response(answer.status_code, headers=answer.headers.raw, content=answer.content)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _ours(base_url: str, variant: str) -> tuple[Callable[[], Awaitable[Any]], Any]:
    from telnyx_compliance._client import AsyncTelnyx

    http: httpx.AsyncClient | None = None
    options: dict[str, Any] = {}
    if variant == "ours-httpx":
        options = {"transport": "httpx", "max_connections": 100}
    elif variant == "ours-httpx-bounded":
        options = {"transport": "httpx", "max_connections": 16}
    elif variant == "ours-httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        http = httpx.AsyncClient(timeout=30.0, transport=AiohttpTransport())
    elif variant == "ours-httpx2":
        http = httpx.AsyncClient(timeout=30.0, transport=_Httpx2Adapter())
    client = AsyncTelnyx(api_key="bench", base_url=base_url, http_client=http, **options)

    async def call() -> Any:
        return await client.regulatory_requirements.retrieve(filter=FILTER)

    return call, client


async def _sdk(base_url: str, variant: str) -> tuple[Callable[[], Awaitable[Any]], Any]:
    import telnyx

    http = telnyx.DefaultAioHttpClient() if variant == "sdk-aiohttp" else None
    client = telnyx.AsyncTelnyx(api_key="bench", base_url=base_url, http_client=http)

    async def call() -> Any:
        return await client.regulatory_requirements.retrieve(filter=FILTER)

    return call, client


async def measure(variant: str, base_url: str, calls: int, concurrency: int) -> dict[str, Any]:
    call, client = await (_sdk if variant.startswith("sdk") else _ours)(base_url, variant)
    await call()  # the first connection and lazy imports are not the steady state
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await (client.close() if hasattr(client, "close") else client.aclose())
    return {"variant": variant, "calls": calls, "cpu_ms_per_call": cpu / calls * 1000, "wall": wall}


if __name__ == "__main__":
    name, url, n, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(measure(name, url, n, c))), flush=True)
