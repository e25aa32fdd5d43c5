"""Retries, Retry-After, budgets, and the no-blind-replay rule for ambiguous POSTs (MockTransport)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from telnyx_compliance import (
    APIConnectionError,
    APITimeoutError,
    AsyncTelnyx,
    InternalServerError,
    RateLimiter,
    RateLimitError,
    Telnyx,
    models,
)
from telnyx_compliance._base_client import MIN_RETRY_AFTER, parse_retry_after

from .support import API_KEY, Recorder

GROUP = {"id": "g1", "customer_reference": "tc-ref", "status": "unapproved"}
ADDRESS = {"data": {"id": "a1", "customer_reference": "tc-ref"}}


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


async def test_429_with_retry_after_seconds_then_success(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": []}), ok(GROUP))
    client = async_client_for(recorder)
    group = await client.requirement_groups.retrieve("g1")
    assert group.id == "g1"
    assert recorder.waits == [3.0]
    assert client.stats.rate_limited == 1 and client.stats.retries == 1 and client.stats.requests_sent == 2


async def test_429_with_http_date_then_success(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": when}), ok(GROUP))
    client = async_client_for(recorder)
    await client.requirement_groups.retrieve("g1")
    assert len(recorder.waits) == 1 and 3.0 < recorder.waits[0] <= 5.0


def test_retry_after_parsing_caps_and_floors() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("2.5", cap=30) == 2.5
    assert parse_retry_after("100000", cap=30) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:10 GMT", cap=30, now=now) == 10
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", cap=30, now=now) == MIN_RETRY_AFTER
    assert parse_retry_after("-5", cap=30) == MIN_RETRY_AFTER
    assert parse_retry_after("soon", cap=30) is None
    assert parse_retry_after(None, cap=30) is None


async def test_absurd_retry_after_is_capped(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "86400"}), ok(GROUP))
    client = async_client_for(recorder, retry_max_wait=2.0)
    await client.requirement_groups.retrieve("g1")
    assert recorder.waits == [2.0]


async def test_429_pauses_the_shared_rate_limiter(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    limiter = RateLimiter(1000)
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "0.3"}), ok(GROUP))
    client = async_client_for(recorder, rate_limiter=limiter)
    started = time.monotonic()
    await client.requirement_groups.retrieve("g1")
    assert recorder.waits == [0.3] and len(recorder.requests) == 2
    # tenacity's sleep is faked here, so only the limiter paused by the 429 can have held the retry back
    assert time.monotonic() - started >= 0.25
    now = time.monotonic()
    limiter.pause(0.5)
    assert (
        limiter.reserve_slot().send_at - time.monotonic() >= 0.45
    )  # and any other client sharing it waits too
    assert time.monotonic() - now < 0.1


async def test_5xx_storm_then_success_with_jittered_backoff(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    recorder = Recorder(*(httpx.Response(503, text="busy") for _ in range(4)), ok(GROUP))
    client = async_client_for(recorder, retry_max_wait=30.0)
    await client.requirement_groups.retrieve("g1")
    assert len(recorder.requests) == 5
    assert len(recorder.waits) == 4
    for attempt, wait in enumerate(recorder.waits, start=1):
        assert 0 <= wait <= 0.5 * 2 ** (attempt - 1)
    assert client.stats.server_errors == 4 and client.stats.by_status == {503: 4, 200: 1}


async def test_connection_errors_are_retried(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok(GROUP))
    client = async_client_for(recorder)
    await client.requirement_groups.retrieve("g1")
    assert len(recorder.requests) == 3 and client.stats.connection_errors == 2


async def test_budget_exhaustion_raises_the_last_error(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(
        httpx.Response(500, json={"errors": [{"code": "10007", "title": "Unexpected error"}]})
    )
    client = async_client_for(recorder, max_retries=3)
    with pytest.raises(InternalServerError, match="10007"):
        await client.requirement_groups.retrieve("g1")
    assert len(recorder.requests) == 4

    recorder = Recorder(httpx.ConnectTimeout("no route"))
    client = async_client_for(recorder, max_retries=2)
    with pytest.raises(APITimeoutError):
        await client.documents.retrieve("d1")
    assert len(recorder.requests) == 3

    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "1"}))
    client = async_client_for(recorder, max_retries=1)
    with pytest.raises(RateLimitError):
        await client.documents.retrieve("d1")
    assert len(recorder.requests) == 2


async def test_total_retry_time_is_bounded(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(httpx.Response(503))
    client = async_client_for(recorder, max_retries=50, retry_total_timeout=0.0)
    with pytest.raises(InternalServerError):
        await client.documents.retrieve("d1")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ReadError("reset"),
        httpx.WriteError("broken pipe"),
    ],
)
async def test_ambiguous_post_without_reference_is_not_replayed(
    async_client_for: Callable[..., AsyncTelnyx], failure: httpx.Response | Exception
) -> None:
    recorder = Recorder(failure, ok({"phone_number": "+15551234567", "verification_method": "sms"}))
    client = async_client_for(recorder)
    with pytest.raises((InternalServerError, APIConnectionError)) as raised:
        await client.verified_numbers.create(phone_number="+15551234567", verification_method="sms")
    assert len(recorder.requests) == 1
    assert raised.value.outcome_unknown and "outcome of this request is unknown" in str(raised.value)


async def test_post_never_sent_is_retried(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.PoolTimeout("pool"), ok(GROUP))
    client = async_client_for(recorder)
    group = await client.requirement_groups.create(
        action="ordering", country_code="DE", phone_number_type="local"
    )
    assert group.id == "g1" and len(recorder.requests) == 3


async def test_ambiguous_create_recovers_the_resource_found_by_reference(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("timed out after sending")
        assert request.url.params["filter[customer_reference][eq]"] == "tc-ref"
        return ok({"data": [{"id": "a-other", "customer_reference": "TC-REF"}, ADDRESS["data"]], "meta": {}})

    recorder = Recorder(route)
    client = async_client_for(recorder)
    created = await client.user_addresses.create(
        first_name="A",
        last_name="B",
        business_name="C",
        street_address="D",
        locality="E",
        country_code="DE",
        customer_reference="tc-ref",
    )
    assert isinstance(created, models.UserAddressCreateResponse) and created.data is not None
    assert created.data.id == "a1"
    assert [request.method for request in recorder.requests] == ["POST", "GET"]
    assert client.stats.recovered_by_lookup == 1


async def test_ambiguous_create_replays_only_when_nothing_found(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    recorder = Recorder(httpx.Response(500), ok([]), ok(GROUP))
    client = async_client_for(recorder)
    group = await client.requirement_groups.create(
        action="ordering", country_code="DE", phone_number_type="local", customer_reference="tc-ref"
    )
    assert group.id == "g1"
    assert [(r.method, r.url.params.get("filter[customer_reference]")) for r in recorder.requests] == [
        ("POST", None),
        ("GET", "tc-ref"),
        ("POST", None),
    ]


async def test_custom_find_existing_and_failed_lookup(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    calls: list[str] = []

    async def find_existing() -> models.DocumentUploadResponse | None:
        calls.append("looked up")
        return models.DocumentUploadResponse(data=models.DocServiceDocument(id="d-found"))

    recorder = Recorder(httpx.RemoteProtocolError("dropped"))
    client = async_client_for(recorder)
    found = await client.documents.upload(file=b"pdf", filename="a.pdf", find_existing=find_existing)
    assert found.data is not None and found.data.id == "d-found" and calls == ["looked up"]

    # the lookup itself fails: the create is not replayed, the original error says the outcome is unknown
    recorder = Recorder(httpx.Response(503), httpx.Response(400, json={"errors": [{"title": "bad filter"}]}))
    client = async_client_for(recorder)
    with pytest.raises(InternalServerError) as raised:
        await client.documents.upload(file=b"pdf", filename="a.pdf", customer_reference="tc-doc")
    assert raised.value.outcome_unknown
    assert [request.method for request in recorder.requests] == ["POST", "GET"]


def test_sync_client_retries_and_recovers(sync_client_for: Callable[..., Telnyx]) -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "1"}), ok(GROUP))
    client = sync_client_for(recorder)
    assert client.requirement_groups.retrieve("g1").id == "g1"
    assert recorder.waits == [1.0]

    recorder = Recorder(httpx.ReadTimeout("slow"), ok([GROUP]))
    client = sync_client_for(recorder)
    group = client.requirement_groups.create(
        action="ordering", country_code="DE", phone_number_type="local", customer_reference="tc-ref"
    )
    assert group.id == "g1" and [r.method for r in recorder.requests] == ["POST", "GET"]


async def test_retries_are_logged_without_the_key(
    async_client_for: Callable[..., AsyncTelnyx], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(httpx.Response(503), httpx.ConnectError(f"refused {API_KEY}"), ok(GROUP))
    client = async_client_for(recorder)
    with caplog.at_level(logging.DEBUG, logger="telnyx_compliance"):
        await client.requirement_groups.retrieve("g1")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert (
        "GET /requirement_groups/g1" in warnings[0].getMessage() and "status 503" in warnings[0].getMessage()
    )
    assert "attempt 2" in warnings[0].getMessage()
    assert all(API_KEY not in record.getMessage() for record in caplog.records)
    assert API_KEY not in caplog.text
