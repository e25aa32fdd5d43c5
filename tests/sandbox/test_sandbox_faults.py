"""Each fault knob, with seeded draws and tolerant bounds for the rates."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .support import create_address

#: Drops close the TCP connection itself (faults.py), which only a real socket shows.
REAL_SOCKET = "connections are dropped"


def _statuses(api: httpx.Client, count: int, path: str = "/requirement_groups") -> Counter[int]:
    return Counter(api.get(path).status_code for _ in range(count))


def test_latency_adds_the_configured_mean(sandbox: SandboxServer, api: httpx.Client) -> None:
    started = time.perf_counter()
    for _ in range(5):
        api.get("/requirement_groups")
    baseline = (time.perf_counter() - started) / 5
    sandbox.configure(latency_ms=60, latency_jitter_ms=10)
    started = time.perf_counter()
    for _ in range(10):
        api.get("/requirement_groups")
    delayed = (time.perf_counter() - started) / 10
    assert 0.045 < delayed - baseline < 0.2
    assert sandbox.stats()["requests"]["faults"]["latency"] == 10


def test_rate_limit_is_one_window_per_account_advertised_in_telnyx_headers(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    sandbox.configure(rate_limit=5)
    responses = [api.get("/requirement_groups") for _ in range(15)]
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert 5 <= len(ok) <= 10 and len(limited) >= 5  # 5 per window; the run may straddle one boundary
    for response in responses:
        assert response.headers["x-ratelimit-limit"] == "5"
        assert 0 <= int(response.headers["x-ratelimit-remaining"]) <= 4
        assert 0 < float(response.headers["x-ratelimit-reset"]) <= 1.0
    remaining = [int(r.headers["x-ratelimit-remaining"]) for r in ok[:4]]
    assert remaining == sorted(remaining, reverse=True)
    error = limited[0].json()["errors"][0]
    assert (error["code"], error["title"]) == ("10011", "Too many requests")
    assert limited[0].headers["x-ratelimit-remaining"] == "0"
    assert int(limited[0].headers["retry-after"]) >= 1
    time.sleep(float(limited[-1].headers["x-ratelimit-reset"]) + 0.05)
    assert api.get("/requirement_groups").status_code == 200
    # A second client of the sandbox spends the same account.
    with httpx.Client(base_url=api.base_url, headers={"Authorization": "Bearer other"}) as other:
        spent = [other.get("/requirement_groups").status_code for _ in range(5)]
    assert 429 in spent


def test_without_a_rate_limit_no_rate_limit_headers_are_sent(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    response = api.get("/requirement_groups")
    assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers


def test_throttle_rate_answers_a_share_of_requests_429(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.configure(throttle_rate=0.3, retry_after=2)
    responses = [api.get("/requirement_groups") for _ in range(200)]
    share = sum(r.status_code == 429 for r in responses) / 200
    assert 0.2 < share < 0.4
    assert {r.headers["retry-after"] for r in responses if r.status_code == 429} == {"2"}


def test_error_rate_answers_a_share_of_requests_5xx(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.configure(error_rate=0.25)
    statuses = _statuses(api, 200)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    assert 0.15 < errors / 200 < 0.35
    assert set(statuses) <= {200, 500, 502, 503}


def test_drop_rate_closes_the_connection_before_the_write(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.configure(drop_rate=0.5)
    outcomes: Counter[str] = Counter()
    for index in range(40):
        try:
            api.post("/user_addresses", json=_address(f"drop-{index}"))
            outcomes["answered"] += 1
        except httpx.RemoteProtocolError:
            outcomes["dropped"] += 1
    assert 10 <= outcomes["dropped"] <= 30
    sandbox.configure(drop_rate=0)
    stored = api.get("/user_addresses", params={"page[size]": 250}).json()["meta"]["total_results"]
    assert stored == outcomes["answered"]  # a dropped request never reached the store
    assert sandbox.stats()["requests"]["faults"]["dropped"] == outcomes["dropped"]


def test_lost_responses_commit_the_write_then_drop_the_connection(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    sandbox.configure(lost_response_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/user_addresses", json=_address("lost-1"))
    sandbox.configure(lost_response_rate=0)
    found = api.get("/user_addresses", params={"filter[customer_reference][eq]": "lost-1"}).json()
    assert found["meta"]["total_results"] == 1
    assert sandbox.stats()["requests"]["faults"]["lost_response"] == 1


def test_faults_never_touch_sandbox_routes(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.configure(error_rate=1.0, drop_rate=1.0)
    assert sandbox.stats()["config"]["error_rate"] == 1.0
    sandbox.advance_clock(1)
    assert api.get("/requirement_groups").status_code >= 500


def test_the_same_seed_gives_the_same_faults() -> None:
    def run() -> list[int]:
        config = SandboxConfig(seed=42, throttle_rate=0.2, error_rate=0.2)
        with (
            SandboxServer(config) as sandbox,
            httpx.Client(base_url=sandbox.base_url, headers={"Authorization": "Bearer k"}) as client,
        ):
            return [client.get("/requirement_groups").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second and len(set(first)) > 1


def test_knobs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_LATENCY_MS", "25")
    monkeypatch.setenv("SANDBOX_DROP_RATE", "0.1")
    monkeypatch.setenv("SANDBOX_API_KEYS", "one, two")
    monkeypatch.setenv("SANDBOX_APPROVE_AFTER", "0.5")
    config = SandboxConfig()
    assert (config.latency_ms, config.drop_rate, config.api_keys, config.approve_after) == (
        25,
        0.1,
        ["one", "two"],
        0.5,
    )
    flagged = SandboxConfig.from_flags(latency_ms=80, drop_rate=None, seed=9)  # unset flags fall back to env
    assert (flagged.latency_ms, flagged.drop_rate, flagged.seed) == (80, 0.1, 9)


def test_invalid_or_unknown_knobs_are_rejected(sandbox: SandboxServer) -> None:
    response = httpx.patch(f"{sandbox.root_url}/_sandbox/config", json={"error_rate": 2, "seed": 3})
    assert response.status_code == 422
    assert {e["source"]["pointer"] for e in response.json()["errors"]} == {"/seed"}
    response = httpx.patch(f"{sandbox.root_url}/_sandbox/config", json={"error_rate": 2})
    assert response.status_code == 422 and response.json()["errors"][0]["source"]["pointer"] == "/error_rate"


def _address(reference: str) -> dict[str, str]:
    return {
        "customer_reference": reference,
        "first_name": "Jo",
        "last_name": "Park",
        "business_name": "Acme",
        "street_address": "1 Main Street",
        "locality": "Austin",
        "country_code": "US",
    }


def test_stats_count_requests_by_route_and_status_resources_and_duplicates(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    create_address(api, customer_reference="tc-acme-address")
    create_address(api, customer_reference="tc-acme-address")
    create_address(api, customer_reference="tc-solo-address")
    api.get("/user_addresses/does-not-exist")
    stats = sandbox.stats()
    assert stats["requests"]["by_route"]["POST /v2/user_addresses"] == {"200": 3}
    assert stats["requests"]["by_route"]["GET /v2/user_addresses/{address_id}"] == {"404": 1}
    assert stats["resources"]["user_addresses"] == 3
    assert stats["duplicates"] == {"user_addresses": {"tc-acme-address": 2}}
