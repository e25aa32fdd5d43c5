"""Error mapping, hostile bodies, pagination, deepObject queries, secrets, rate limiting, E.164, download."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import telnyx_compliance as tc
from telnyx_compliance import (
    APIResponseValidationError,
    APIStatusError,
    AsyncTelnyx,
    MissingAPIKeyError,
    RateLimiter,
    Telnyx,
    models,
)
from telnyx_compliance._base_client import build_query, validate_e164

from .support import API_KEY, Recorder

REPO = Path(__file__).resolve().parents[2]
ERRORS = {
    "errors": [
        {
            "code": "10015",
            "title": "Invalid value",
            "detail": "country_code is not valid",
            "source": {"pointer": "/country_code"},
        },
        {
            "code": "10016",
            "title": "Missing",
            "detail": "action is required",
            "source": {"pointer": "/action"},
        },
    ]
}


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, tc.BadRequestError),
        (401, tc.AuthenticationError),
        (403, tc.PermissionDeniedError),
        (404, tc.NotFoundError),
        (409, tc.ConflictError),
        (422, tc.UnprocessableEntityError),
        (429, tc.RateLimitError),
        (500, tc.InternalServerError),
        (503, tc.InternalServerError),
        (418, tc.APIStatusError),
    ],
)
async def test_status_errors_are_mapped_with_parsed_errors(
    async_client_for: Callable[..., AsyncTelnyx], status: int, error_type: type[APIStatusError]
) -> None:
    recorder = Recorder(httpx.Response(status, json=ERRORS, headers={"X-Request-Id": "req-1"}))
    client = async_client_for(recorder, max_retries=0)
    with pytest.raises(error_type) as raised:
        await client.requirement_groups.retrieve("g1")
    error = raised.value
    assert type(error) is error_type and isinstance(error, tc.APIError)
    assert error.status_code == status and error.headers["x-request-id"] == "req-1"
    assert error.request is not None and error.response.status_code == status
    assert [e.code for e in error.errors] == ["10015", "10016"]
    assert error.errors[0].source is not None and error.errors[0].source.pointer == "/country_code"
    message = str(error)
    assert f"{status}" in message and "GET /v2/requirement_groups/g1" in message
    assert "[10015] Invalid value - country_code is not valid (source: /country_code)" in message
    assert "action is required" in message


def test_exception_hierarchy() -> None:
    assert issubclass(tc.APITimeoutError, tc.APIConnectionError)
    assert issubclass(tc.APIConnectionError, tc.APIError)
    assert issubclass(tc.APIStatusError, tc.APIError)
    for error_type in (tc.BadRequestError, tc.RateLimitError, tc.InternalServerError, tc.ConflictError):
        assert issubclass(error_type, tc.APIStatusError)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(502, text="<html><body>Bad Gateway</body></html>"), "non-JSON body: '<html>"),
        (httpx.Response(500, text='{"errors": [{"code": '), "non-JSON body"),
        (httpx.Response(500), "(empty body)"),
        (httpx.Response(400, json={"unexpected": True}), "unexpected body"),
        (httpx.Response(400, json={"errors": ["just a string"]}), "just a string"),
    ],
)
async def test_hostile_error_bodies_give_typed_errors(
    async_client_for: Callable[..., AsyncTelnyx], response: httpx.Response, expected: str
) -> None:
    client = async_client_for(Recorder(response), max_retries=0)
    with pytest.raises(APIStatusError) as raised:
        await client.documents.retrieve("d1")
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, text='{"data": {"id": '),
        httpx.Response(200),
        httpx.Response(200, json={"data": {"id": 1, "size": "huge"}}),
    ],
)
async def test_hostile_success_bodies_give_typed_errors(
    async_client_for: Callable[..., AsyncTelnyx], response: httpx.Response
) -> None:
    client = async_client_for(Recorder(response), max_retries=0)
    with pytest.raises(APIResponseValidationError) as raised:
        await client.documents.retrieve("d1")
    assert raised.value.status_code == 200 and "GET /v2/documents/d1" in str(raised.value)


async def test_models_tolerate_unknown_fields_and_enum_values(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    body = {"id": "g1", "status": "brand-new-status", "new_field": {"x": 1}, "regulatory_requirements": [{}]}
    client = async_client_for(Recorder(httpx.Response(200, json=body)))
    group = await client.requirement_groups.retrieve("g1")
    assert group.status == "brand-new-status" and group.model_extra == {"new_field": {"x": 1}}
    assert group.created_at is None


def _page(number: int, total_pages: int, ids: list[str]) -> httpx.Response:
    meta = {"page_number": number, "page_size": 2, "total_pages": total_pages, "total_results": 5}
    return httpx.Response(200, json={"data": [{"id": i} for i in ids], "meta": meta})


def _paged(request: httpx.Request) -> httpx.Response:
    number = int(request.url.params.get("page[number]", "1"))
    return _page(number, 3, {1: ["a", "b"], 2: ["c", "d"], 3: ["e"]}[number])


async def test_async_pagination_across_pages(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(_paged)
    client = async_client_for(recorder)
    page = await client.documents.list(filter={"customer_reference": {"eq": "x"}}, page_size=2)
    assert [d.id for d in page.data] == ["a", "b"] and page.meta is not None and page.meta.total_results == 5
    assert page.has_next_page()
    second = await page.get_next_page()
    assert [d.id for d in second.data] == ["c", "d"]
    assert [p.page_number async for p in page.iter_pages()] == [1, 2, 3]
    ids = [document.id async for document in client.documents.list(page_size=2)]
    assert ids == ["a", "b", "c", "d", "e"]
    assert recorder.requests[0].url.params["page[size]"] == "2"
    assert "page[number]" not in recorder.requests[0].url.params
    assert recorder.requests[1].url.params["page[number]"] == "2"
    last = await client.documents.list(page_number=3, page_size=2)
    assert not last.has_next_page()
    with pytest.raises(RuntimeError):
        await last.get_next_page()


def test_sync_pagination_across_pages(sync_client_for: Callable[..., Telnyx]) -> None:
    client = sync_client_for(Recorder(_paged))
    assert [address.id for address in client.user_addresses.list(page_size=2)] == ["a", "b", "c", "d", "e"]
    page = client.user_addresses.list(page_size=2).first_page()
    assert isinstance(page, tc.Page) and isinstance(page.data[0], models.UserAddress)
    assert [p.page_number for p in page.iter_pages()] == [1, 2, 3]


async def test_pagination_stops_when_the_server_does_not_advance(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    recorder = Recorder(lambda request: _page(2, 3, ["same"]))
    client = async_client_for(recorder)
    assert [d.id async for d in client.documents.list()] == ["same"]
    assert len(recorder.requests) == 2


def test_deep_object_query_building() -> None:
    query = build_query(
        {
            "filter": {
                "customer_reference": {"eq": "tc ref", "in": ["a", "b"]},
                "requirements_met": True,
                "country_code": None,
            },
            "page": {"number": 2, "size": None},
            "sort": ["filename", "-created_at"],
            "empty": None,
        }
    )
    assert query == [
        ("filter[customer_reference][eq]", "tc ref"),
        ("filter[customer_reference][in][]", "a"),
        ("filter[customer_reference][in][]", "b"),
        ("filter[requirements_met]", "true"),
        ("page[number]", "2"),
        ("sort", "filename"),
        ("sort", "-created_at"),
    ]


async def test_query_reaches_the_wire_encoded(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    recorder = Recorder(_page(1, 1, []))
    client = async_client_for(recorder)
    await client.documents.list(
        filter={"customer_reference": {"in": ["x&y", "z"]}}, page_number=1, page_size=5
    )
    raw = recorder.requests[0].url.query.decode()
    assert "filter%5Bcustomer_reference%5D%5Bin%5D%5B%5D=x%26y" in raw
    assert recorder.requests[0].url.params.get_list("filter[customer_reference][in][]") == ["x&y", "z"]


async def test_key_never_in_repr_logs_or_errors(
    async_client_for: Callable[..., AsyncTelnyx], caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"errors": [{"code": "1", "title": "Bad key", "detail": f"key {API_KEY} is not valid"}]}
    recorder = Recorder(httpx.Response(503), httpx.ConnectError(API_KEY), httpx.Response(401, json=echo))
    client = async_client_for(recorder)
    assert API_KEY not in repr(client) and API_KEY not in str(vars(client))
    with caplog.at_level(logging.DEBUG), pytest.raises(tc.AuthenticationError) as raised:
        await client.documents.retrieve("d1")
    assert API_KEY not in str(raised.value) and API_KEY not in repr(raised.value)
    assert raised.value.request is not None
    assert API_KEY not in raised.value.request.headers.get(
        "authorization", ""
    )  # str(headers) masks it anyway
    assert API_KEY not in caplog.text
    assert recorder.requests[0].headers.get("authorization") == "Bearer ***"


def test_api_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELNYX_API_KEY", raising=False)
    monkeypatch.delenv("TELNYX_BASE_URL", raising=False)
    with pytest.raises(MissingAPIKeyError, match="TELNYX_API_KEY"):
        AsyncTelnyx()
    monkeypatch.setenv("TELNYX_API_KEY", API_KEY)
    client = Telnyx()
    assert client.base_url == "https://api.telnyx.com/v2" and API_KEY not in repr(client)
    monkeypatch.setenv("TELNYX_BASE_URL", "http://127.0.0.1:4010/v2/")
    assert Telnyx().base_url == "http://127.0.0.1:4010/v2"


def test_rate_limiter_with_fake_clock() -> None:
    now = [100.0]
    limiter = RateLimiter(10, burst=2, clock=lambda: now[0])

    def wait() -> float:  # how long a request reserved now waits before it is sent
        return limiter.reserve_slot().send_at - now[0]

    assert [wait() for _ in range(4)] == pytest.approx([0, 0, 0.1, 0.2])
    now[0] += 1.0  # refilled to the burst
    assert wait() == pytest.approx(0)
    limiter.pause(5)
    assert [wait() for _ in range(3)] == pytest.approx([5, 5, 5.1])  # burst of 2 after the pause


async def test_rate_limiter_paces_real_requests(async_client_for: Callable[..., AsyncTelnyx]) -> None:
    limiter = RateLimiter(50, burst=1)
    client = async_client_for(Recorder(httpx.Response(200, json={"id": "g1"})), rate_limiter=limiter)
    started = time.monotonic()
    for _ in range(6):
        await client.requirement_groups.retrieve("g1")
    assert time.monotonic() - started >= 0.09  # 5 gaps of 20 ms


def test_sync_rate_limiter_is_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    limiter = RateLimiter(100, burst=1)
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: limiter.acquire_sync(), range(11)))
    assert time.monotonic() - started >= 0.09


@pytest.mark.parametrize("number", ["+4930123456", "+15551234567", "+41215470622"])
def test_e164_accepts(number: str) -> None:
    assert validate_e164(number) == number


@pytest.mark.parametrize(
    "number", ["4930123456", "+49 30 123456", "+49-30-123456", "+1", "+abc", "", "0049301234"]
)
async def test_e164_rejected_before_any_request(
    async_client_for: Callable[..., AsyncTelnyx], number: str
) -> None:
    recorder = Recorder(httpx.Response(200, json={}))
    client = async_client_for(recorder)
    with pytest.raises(ValueError, match=r"E\.164"):
        await client.verified_numbers.create(phone_number=number, verification_method="sms")
    with pytest.raises(ValueError, match=r"phone_numbers\[0\]"):
        await client.number_orders.create(phone_numbers=[{"phone_number": number}])
    with pytest.raises(ValueError, match=r"E\.164"):
        await client.phone_numbers_regulatory_requirements.retrieve(
            filter={"phone_number": f"+4930123456,{number}"}
        )
    with pytest.raises(ValueError, match=r"E\.164"):
        await client.verified_numbers.retrieve(number)
    assert recorder.requests == []


async def test_download_returns_bytes_and_upload_is_multipart(
    async_client_for: Callable[..., AsyncTelnyx],
) -> None:
    pdf = b"%PDF-1.4\x00\xff binary"
    recorder = Recorder(
        httpx.Response(200, content=pdf, headers={"content-type": "application/pdf"}),
        httpx.Response(200, json={"data": {"id": "d1", "customer_reference": "tc-doc"}}),
        httpx.Response(200, json={"data": {"id": "d2"}}),
    )
    client = async_client_for(recorder)
    assert await client.documents.download("d1") == pdf
    assert recorder.requests[0].url.path == "/v2/documents/d1/download"
    uploaded = await client.documents.upload(
        file=("proof.pdf", pdf, "application/pdf"), customer_reference="tc-doc"
    )
    assert uploaded.data is not None and uploaded.data.id == "d1"
    upload = recorder.requests[1]
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="customer_reference"' in upload.content and pdf in upload.content
    await client.documents.upload_json(document={"file": pdf, "filename": "proof.pdf"})
    assert recorder.requests[2].headers["content-type"] == "application/json"
    assert b'"file":"JVBERi0xLjQA/yBiaW5hcnk="' in recorder.requests[2].content


def test_sync_download(sync_client_for: Callable[..., Telnyx]) -> None:
    client = sync_client_for(Recorder(httpx.Response(200, content=b"bytes")))
    assert client.documents.download("d1") == b"bytes"


async def test_context_manager_closes_owned_pool() -> None:
    async with AsyncTelnyx(api_key=API_KEY, base_url="http://127.0.0.1:9/v2") as client:
        pass
    assert client._http.is_closed
    with Telnyx(api_key=API_KEY) as sync_client:
        pass
    assert sync_client._http.is_closed


def test_generated_sync_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "unasync.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_operation_exists_on_both_clients() -> None:
    operations = {
        "bundle_pricing.billing_bundles": ["list", "retrieve"],
        "bundle_pricing.user_bundles": [
            "create",
            "list",
            "list_unused",
            "retrieve",
            "deactivate",
            "list_resources",
        ],
        "document_links": ["list"],
        "documents": [
            "list",
            "upload_json",
            "upload",
            "retrieve",
            "update",
            "delete",
            "download",
            "generate_download_link",
        ],
        "number_order_phone_numbers": ["list", "retrieve", "update_requirements", "update_requirement_group"],
        "number_orders": ["create", "list", "retrieve", "update"],
        "phone_numbers_regulatory_requirements": ["retrieve"],
        "regulatory_requirements": ["retrieve"],
        "requirement_groups": ["create", "list", "retrieve", "update", "delete", "submit_for_approval"],
        "requirement_types": ["list", "retrieve"],
        "requirements": ["list", "retrieve"],
        "sub_number_orders": ["list", "retrieve", "update", "cancel", "update_requirement_group"],
        "user_addresses": ["create", "list", "retrieve"],
        "verified_numbers": ["create", "list", "retrieve", "delete"],
        "verified_numbers.actions": ["submit_verification_code"],
    }
    # 49 operations; POST /documents is exposed twice (upload: multipart, upload_json: JSON)
    assert sum(len(methods) for methods in operations.values()) == 50
    for client in (AsyncTelnyx(api_key=API_KEY), Telnyx(api_key=API_KEY)):
        for path, methods in operations.items():
            resource: object = client
            for part in path.split("."):
                resource = getattr(resource, part)
            for method in methods:
                assert callable(getattr(resource, method)), f"{path}.{method}"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b""),
        httpx.Response(200, content=b"<html>oops</html>"),
        httpx.Response(200, json={"data": {"id": 42}}),  # id of the wrong type: does not match the model
    ],
)
async def test_a_response_validation_error_carries_no_key(
    async_client_for: Callable[..., AsyncTelnyx], response: httpx.Response
) -> None:
    client = async_client_for(Recorder(response))
    with pytest.raises(tc.APIResponseValidationError) as raised:
        await client.documents.retrieve("d1")
    assert raised.value.request is not None
    # str(headers) masks Authorization by itself; the header's value is what user code could read.
    assert raised.value.request.headers.get("authorization") == "Bearer ***"
    assert API_KEY not in raised.value.response.request.headers.get("authorization", "")
