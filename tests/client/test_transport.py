"""The aiohttp transport under httpx: what reached the server decides which httpx error a failure becomes.

A raw asyncio TCP server plays each case, because these are socket-level events no mock transport has.
The mapping is what keeps a POST from being replayed blindly: only "never sent" may look like
``ConnectError``/``ConnectTimeout``; a lost answer must read as an unknown outcome.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIConnectionError
from telnyx_compliance._transport import AiohttpTransport, AsyncTransports

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


def _answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def test_a_refused_connection_is_never_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/v2/user_addresses", json={})


async def test_a_connection_closed_after_the_request_is_an_unknown_outcome() -> None:
    received: list[bytes] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append((await _read_request(reader))[1])

    async with raw_server(swallow) as (url, _), httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{url}/v2/user_addresses", json={"a": 1})
    assert received == [b'{"a":1}']


async def test_the_client_does_not_replay_a_post_whose_answer_was_lost() -> None:
    """Through AsyncTelnyx: the lost answer is an unknown outcome, never "not sent": one POST, no replay."""
    posts: list[bytes] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        posts.append((await _read_request(reader))[0])

    async with (
        raw_server(swallow) as (url, _),
        AsyncTelnyx(api_key="k", base_url=f"{url}/v2", max_retries=3) as client,
    ):
        with pytest.raises(APIConnectionError) as raised:
            await client.user_addresses.create(
                business_name="Acme",
                country_code="DE",
                first_name="A",
                last_name="B",
                locality="Berlin",
                street_address="Street 1",
                customer_reference="r",
            )
    assert "outcome of this request" in str(raised.value)  # found nothing to recover, so it says so
    assert sum(head.startswith(b"POST ") for head in posts) == 1


async def test_no_answer_in_time_is_a_read_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(2)

    async with (
        raw_server(stall) as (url, _),
        httpx.AsyncClient(transport=AiohttpTransport(), timeout=httpx.Timeout(0.2)) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/v2/documents")


async def test_answers_keep_their_headers_and_compressed_bodies_are_decoded() -> None:
    body = gzip.compress(json.dumps({"data": [1, 2]}).encode())

    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            headers = {"Content-Encoding": "gzip", "x-ratelimit-remaining": "7", "Set-Cookie": "a=1"}
            writer.write(_answer(200, body, headers))
            await writer.drain()

    async with raw_server(gzipped) as (url, _), httpx.AsyncClient(transport=AiohttpTransport()) as client:
        answer = await client.get(f"{url}/v2/documents")
        again = await client.get(f"{url}/v2/documents")
    assert answer.json() == {"data": [1, 2]} == again.json()
    assert answer.headers["x-ratelimit-remaining"] == "7"


async def test_never_more_connections_than_the_cap() -> None:
    async def slow_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            await asyncio.sleep(0.02)
            writer.write(_answer(200, b"{}"))
            await writer.drain()

    transport = AsyncTransports.build("aiohttp", max_connections=3)
    async with raw_server(slow_ok) as (url, connections), httpx.AsyncClient(transport=transport) as client:
        answers = await asyncio.gather(*(client.get(f"{url}/v2/x") for _ in range(30)))
    assert all(answer.status_code == 200 for answer in answers)
    assert 1 <= len(connections) <= 3


def test_an_unknown_transport_name_is_refused() -> None:
    with pytest.raises(ValueError, match="expected one of aiohttp, httpx"):
        AsyncTransports.build("curl", max_connections=1)


async def test_the_settings_choose_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from telnyx_compliance.settings import TelnyxSettings

    monkeypatch.setenv("TELNYX_BASE_URL", "http://127.0.0.1:4010/v2")
    async with TelnyxSettings().async_client() as default:
        assert isinstance(default._http._transport, AiohttpTransport)
    monkeypatch.setenv("TELNYX_HTTP_TRANSPORT", "httpx")
    monkeypatch.setenv("TELNYX_MAX_CONNECTIONS", "7")
    async with TelnyxSettings().async_client() as chosen:
        assert isinstance(chosen._http._transport, httpx.AsyncHTTPTransport)
        assert chosen._http._transport._pool._max_connections == 7
    monkeypatch.setenv("TELNYX_HTTP_TRANSPORT", "curl")
    with pytest.raises(ValidationError, match="http_transport"):
        TelnyxSettings()
