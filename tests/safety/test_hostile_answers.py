"""Hostile responses through the pipeline: one onboarding, the bulk runner, and the CLI an operator runs.

A small ASGI proxy stands in front of the sandbox and, by rule, answers instead of it: HTML 502 pages,
truncated JSON, missing fields, unknown enum values, empty 200s, 429s with a ``Retry-After`` in the past or
absurdly far. Every case must end in a typed error or tolerant parsing, a result line per row with a
readable error, and never a traceback for the operator.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import phonenumbers
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from configs.settings import PipelineSettings
from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import run_bulk_async
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.results_csv import latest_results
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.sandbox import SandboxServer
from tests.support import run_cli

REPO = Path(__file__).resolve().parents[2]
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=5
)
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
)
_HOP_HEADERS = {"host", "content-length", "content-encoding", "transfer-encoding", "connection"}

Answer = Callable[[httpx.Response | None], Response]


@dataclass
class Rule:
    """Answer ``method path`` (a regex searched in the path) with ``answer`` instead of the sandbox.

    ``forward``: the request reaches the sandbox first (a write commits) and its reply is replaced.
    ``when``: only requests whose body or query (or forwarded reply) contain this text. ``times``: only
    the first n matches.
    """

    method: str
    path: str
    answer: Answer
    forward: bool = False
    when: str | None = None
    times: int | None = None
    hits: int = 0


class HostileProxy:
    """An ASGI app forwarding to the sandbox except where a rule answers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PATCH", "DELETE", "PUT"])]
        )

    async def _forward(self, request: Request, body: bytes) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as upstream:
            return await upstream.request(
                request.method,
                request.url.path,
                params=list(request.query_params.multi_items()),
                content=body,
                headers=headers,
            )

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        seen = body.decode("utf-8", "replace") + "?" + str(request.url.query)
        for rule in self.rules:
            if rule.method != request.method or not re.search(rule.path, request.url.path):
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            reply = await self._forward(request, body) if rule.forward else None
            if rule.when is not None and rule.when not in seen + (reply.text if reply is not None else ""):
                if reply is not None:
                    return _relay(reply)
                continue
            rule.hits += 1
            return rule.answer(reply)
        return _relay(await self._forward(request, body))


def _relay(reply: httpx.Response) -> Response:
    headers = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS}
    return Response(reply.content, reply.status_code, headers=headers)


# -- hostile answers ------------------------------------------------------------------------------------


def html_502(_reply: httpx.Response | None) -> Response:
    return Response(HTML_502, 502, media_type="text/html")


def truncated(reply: httpx.Response | None) -> Response:
    assert reply is not None
    return Response(reply.content[: len(reply.content) // 2], 200, media_type="application/json")


def empty_200(_reply: httpx.Response | None) -> Response:
    return Response(b"", 200)


def without_id(reply: httpx.Response | None) -> Response:
    assert reply is not None
    payload = reply.json()
    payload["data"].pop("id")
    return Response(json.dumps(payload), 200, media_type="application/json")


def status_as(status: str) -> Answer:
    def answer(reply: httpx.Response | None) -> Response:
        assert reply is not None
        payload = reply.json()
        target = payload.get("data", payload)  # requirement groups come unwrapped
        target["status"] = status
        return Response(json.dumps(payload), reply.status_code, media_type="application/json")

    return answer


def field_type_as(kind: str) -> Answer:
    def answer(reply: httpx.Response | None) -> Response:
        assert reply is not None
        return Response(reply.text.replace('"textual"', f'"{kind}"'), 200, media_type="application/json")

    return answer


def too_many(retry_after: str) -> Answer:
    def answer(_reply: httpx.Response | None) -> Response:
        body = {"errors": [{"code": "10011", "title": "Too many requests", "detail": "slow down"}]}
        return Response(
            json.dumps(body), 429, headers={"Retry-After": retry_after}, media_type="application/json"
        )

    return answer


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(sandbox: SandboxServer) -> HostileProxy:
    sandbox.reset()
    return HostileProxy(sandbox.root_url)


@pytest.fixture
async def client(proxy: HostileProxy) -> AsyncIterator[AsyncTelnyx]:
    async with AsyncTelnyx(
        api_key="KEY-hostile",
        base_url="https://hostile.test/v2",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=proxy.app)),
        max_retries=2,
        retry_max_wait=0.2,
        retry_total_timeout=5,
        rate_limiter=RateLimiter(1000),
    ) as telnyx:
        yield telnyx


_numbers = iter(range(3000, 10_000))


def us_number() -> str:
    while True:
        candidate = f"+1202555{next(_numbers):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            return candidate


US_ADDRESS = {
    "street_address": "1600 Pennsylvania Ave NW",
    "locality": "Washington",
    "postal_code": "20500",
}


def us_request(customer: str) -> OnboardingRequest:
    """A US local onboarding: an address and one textual value, no document (quick)."""
    return OnboardingRequest.model_validate(
        {
            "customer_reference": customer,
            "country_code": "US",
            "address": {
                "first_name": "Maria",
                "last_name": "Schmidt",
                "business_name": f"{customer} Inc",
                "country_code": "US",
                **US_ADDRESS,
            },
            "values": {"contact_name": "Maria Schmidt"},
            "phone_numbers": [us_number()],
        }
    )


def us_row(customer: str) -> dict[str, str]:
    return {
        "customer_reference": customer,
        "country_code": "US",
        "address_first_name": "Maria",
        "address_last_name": "Schmidt",
        "address_business_name": f"{customer} Inc",
        "address_street_address": US_ADDRESS["street_address"],
        "address_locality": US_ADDRESS["locality"],
        "address_postal_code": US_ADDRESS["postal_code"],
        "phone_numbers": us_number(),
        "value_contact_name": "Maria Schmidt",
    }


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# -- one onboarding ------------------------------------------------------------------------------------

FAILING_CASES = {
    # name: (rule, words the row's error must contain)
    "html 502 on a read": (
        Rule("GET", r"/requirement_groups/[^/]+$", html_502),
        ["InternalServerError", "502 Bad Gateway", "GET /v2/requirement_groups/", "non-JSON body"],
    ),
    "html 502 on a create": (
        Rule("POST", r"/user_addresses$", html_502),
        ["InternalServerError", "502", "POST /v2/user_addresses", "<html>"],
    ),
    "truncated JSON after the write committed": (
        Rule("POST", r"/requirement_groups$", truncated, forward=True),
        ["APIResponseValidationError", "POST /v2/requirement_groups", "not valid JSON"],
    ),
    "missing id in a created resource": (
        Rule("POST", r"/user_addresses$", without_id, forward=True),
        ["OnboardingError", "user address without returning its id"],
    ),
    "unknown requirement group status": (
        Rule("GET", r"/requirement_groups/[^/]+$", status_as("under-legal-review"), forward=True),
        ["'under-legal-review'", "does not know"],
    ),
    "unknown requirement field_type": (
        Rule("GET", r"/regulatory_requirements$", field_type_as("biometric"), forward=True),
        ["cannot fill", "biometric", "Contact Name"],
    ),
    "empty 200 on the requirements": (
        Rule("GET", r"/regulatory_requirements$", empty_200),
        ["APIResponseValidationError", "GET /v2/regulatory_requirements", "empty body"],
    ),
    "429 forever with Retry-After in 2099": (
        Rule("POST", r"/user_addresses$", too_many("Thu, 01 Jan 2099 00:00:00 GMT")),
        ["RateLimitError", "429", "slow down"],
    ),
}


@pytest.mark.parametrize("case", list(FAILING_CASES))
async def test_a_hostile_answer_fails_the_onboarding_with_a_readable_typed_error(
    case: str, proxy: HostileProxy, client: AsyncTelnyx
) -> None:
    rule, words = FAILING_CASES[case]
    proxy.rules = [rule]
    started = time.monotonic()

    result = await onboard(client, us_request(f"h-{re.sub(r'[^a-z0-9]+', '-', case)}"), settings=PIPELINE)

    assert rule.hits >= 1, "the hostile rule never fired"
    assert result.status == "failed"
    assert result.error is not None and "Traceback" not in result.error and "\n" not in result.error
    for word in words:
        assert word in result.error, (word, result.error)
    assert time.monotonic() - started < 15  # an absurd Retry-After is capped, not obeyed


@pytest.mark.parametrize(
    "retry_after",
    ["Wed, 21 Oct 2015 07:28:00 GMT", "-30", "0", "1000000000", "Thu, 01 Jan 2099 00:00:00 GMT", "soon"],
)
async def test_429s_with_a_past_or_absurd_retry_after_are_waited_out_briefly_then_complete(
    retry_after: str, proxy: HostileProxy, client: AsyncTelnyx, sandbox: SandboxServer
) -> None:
    rule = Rule("POST", r"/(user_addresses|requirement_groups)$", too_many(retry_after), times=2)
    proxy.rules = [rule]
    started = time.monotonic()

    result = await onboard(client, us_request(f"ra-{abs(hash(retry_after)) % 10**8}"), settings=PIPELINE)

    assert result.status == "completed", result.error
    assert rule.hits == 2
    assert time.monotonic() - started < 10  # each wait capped at retry_max_wait (0.2 s)
    assert client.rate_limiter is not None
    assert sandbox.stats()["duplicates"] == {}


async def test_a_reply_lost_to_truncation_is_found_by_the_rerun_without_duplicates(
    proxy: HostileProxy, client: AsyncTelnyx, sandbox: SandboxServer
) -> None:
    request = us_request("h-rerun")
    proxy.rules = [Rule("POST", r"/requirement_groups$", truncated, forward=True)]
    first = await onboard(client, request, settings=PIPELINE)
    assert first.status == "failed" and "not valid JSON" in (first.error or "")

    proxy.rules = []
    second = await onboard(client, request, settings=PIPELINE)

    assert second.status == "completed", second.error
    assert sandbox.stats()["duplicates"] == {}


async def test_unknown_fields_and_enum_values_elsewhere_are_tolerated(
    proxy: HostileProxy, client: AsyncTelnyx
) -> None:
    def decorate(reply: httpx.Response | None) -> Response:
        assert reply is not None
        payload = reply.json()
        if isinstance(payload, list):  # requirement groups are listed unwrapped
            items = payload
        elif isinstance(payload.get("data"), list):
            items = payload["data"]
        else:
            items = [payload.get("data", payload)]
        for item in items:
            if isinstance(item, dict):
                item["brand_new_field"] = {"nested": [1, 2, 3]}
                item["record_type"] = "something_new"
        return Response(json.dumps(payload), reply.status_code, media_type="application/json")

    proxy.rules = [Rule(method, r"/v2/", decorate, forward=True) for method in ("GET", "POST", "PATCH")]

    result = await onboard(client, us_request("h-tolerant"), settings=PIPELINE)

    assert result.status == "completed", result.error
    assert sum(rule.hits for rule in proxy.rules) > 5


# -- the bulk runner ----------------------------------------------------------------------------------


async def test_the_bulk_runner_gives_every_row_one_line_with_its_own_readable_error(
    proxy: HostileProxy, client: AsyncTelnyx, tmp_path: Path, sandbox: SandboxServer
) -> None:
    rows = [
        us_row("good-one"),
        us_row("html-502"),
        us_row("truncated"),
        us_row("odd-status"),
        us_row("throttled"),
        {**us_row("bad-number"), "phone_numbers": "12345"},
        us_row("good-two"),
    ]
    proxy.rules = [
        Rule("POST", r"/user_addresses$", html_502, when="tc-html-502"),
        Rule("POST", r"/requirement_groups$", truncated, forward=True, when="tc-truncated"),
        # A bulk run reads no group per row: it learns its status from the submit's answer and list polls.
        Rule("POST", r"/submit_for_approval$", status_as("in-escrow"), forward=True, when="tc-odd-status"),
        Rule("POST", r"/user_addresses$", too_many("1000000000"), when="tc-throttled", times=2),
    ]
    csv_path = write_rows(tmp_path / "hostile.csv", rows)
    out = tmp_path / "results.csv"

    summary = await run_bulk_async(csv_path, client, out=out, settings=PIPELINE, max_concurrency=4)

    results = latest_results(out)
    assert sorted(results) == list(range(2, 2 + len(rows)))  # no row lost, none twice
    by_customer = {line.customer_reference: line for line in results.values()}
    assert {name: line.status for name, line in by_customer.items()} == {
        "good-one": "completed",
        "html-502": "failed",
        "truncated": "failed",
        "odd-status": "failed",
        "throttled": "completed",
        "bad-number": "invalid",
        "good-two": "completed",
    }
    assert "502 Bad Gateway" in by_customer["html-502"].error
    assert "not valid JSON" in by_customer["truncated"].error
    assert "'in-escrow'" in by_customer["odd-status"].error
    assert by_customer["odd-status"].requirement_group_status == "in-escrow"
    assert "phone_numbers" in by_customer["bad-number"].error
    for line in results.values():
        assert "Traceback" not in line.error and "\n" not in line.error
    assert summary.rows == len(rows) and summary.exit_code == 1
    assert sandbox.stats()["duplicates"] == {}


async def test_a_market_the_pipeline_cannot_read_fails_its_rows_not_the_run(
    proxy: HostileProxy, client: AsyncTelnyx, tmp_path: Path
) -> None:
    # Before the fix, the bulk prefetch re-raised the requirement's ValidationError: the whole run
    # crashed and no row got a line.
    proxy.rules = [Rule("GET", r"/regulatory_requirements$", field_type_as("biometric"), forward=True)]
    csv_path = write_rows(tmp_path / "market.csv", [us_row("m-one"), us_row("m-two")])
    out = tmp_path / "results.csv"

    summary = await run_bulk_async(csv_path, client, out=out, settings=PIPELINE)

    results = latest_results(out)
    assert sorted(results) == [2, 3] and summary.exit_code == 1
    for line in results.values():
        assert line.status == "failed" and "cannot fill" in line.error and "biometric" in line.error


# -- the CLI, as an operator runs it ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_proxy(proxy: HostileProxy) -> Iterator[tuple[HostileProxy, str]]:
    """The proxy on a real port (the CLI builds its own client from TELNYX_BASE_URL)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(proxy.app, host="127.0.0.1", port=port, log_level="error", http="h11", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the hostile proxy did not start"
        time.sleep(0.01)
    try:
        yield proxy, f"http://127.0.0.1:{port}/v2"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_cli_reports_hostile_answers_per_row_without_a_traceback(
    prefect_harness: None, served_proxy: tuple[HostileProxy, str], tmp_path: Path
) -> None:
    proxy, base_url = served_proxy
    proxy.rules = [
        Rule("POST", r"/user_addresses$", html_502, when="tc-cli-html"),
        Rule("POST", r"/requirement_groups$", truncated, forward=True, when="tc-cli-truncated"),
        Rule("POST", r"/submit_for_approval$", empty_200, when="tc-cli-empty", forward=True),
    ]
    rows = [us_row("cli-good"), us_row("cli-html"), us_row("cli-truncated"), us_row("cli-empty")]
    csv_path = write_rows(tmp_path / "cli.csv", rows)
    out = tmp_path / "cli-results.csv"

    done = run_cli(["onboard", str(csv_path), "--out", str(out), "--json"], base_url, tmp_path / "prefect")

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    results = {line.customer_reference: line for line in latest_results(out).values()}
    assert {name: line.status for name, line in results.items()} == {
        "cli-good": "completed",
        "cli-html": "failed",
        "cli-truncated": "failed",
        "cli-empty": "failed",
    }
    summary = json.loads(done.stdout)  # --json: the summary alone on stdout
    assert summary["counts"]["completed"] == 1 and summary["counts"]["failed"] == 3
    assert summary["exit_code"] == 1
    # The operator's table (stderr) lists each row that did not complete with its error.
    for name in ("cli-html", "cli-truncated", "cli-empty"):
        assert name in done.stderr
    assert "empty body" in results["cli-empty"].error


def test_the_cli_survives_a_market_it_cannot_read_and_an_unwritable_results_path(
    prefect_harness: None, served_proxy: tuple[HostileProxy, str], tmp_path: Path
) -> None:
    proxy, base_url = served_proxy
    proxy.rules = [Rule("GET", r"/regulatory_requirements$", field_type_as("biometric"), forward=True)]
    csv_path = write_rows(tmp_path / "market.csv", [us_row("cli-m-one"), us_row("cli-m-two")])
    out = tmp_path / "market-results.csv"

    done = run_cli(["onboard", str(csv_path), "--out", str(out)], base_url, tmp_path / "prefect")

    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # rows failed; before the fix: exit 2, "the file is unusable"
    assert "Traceback" not in output
    assert [line.status for line in latest_results(out).values()] == ["failed", "failed"]

    # An operator mistake the CLI did not foresee: a folder as the results file.
    (tmp_path / "a-folder").mkdir()
    done = run_cli(["onboard", str(csv_path), "--out", str(tmp_path / "a-folder")], base_url, tmp_path / "p2")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in output, output
    assert "--out" in done.stderr and "directory" in done.stderr, done.stderr
