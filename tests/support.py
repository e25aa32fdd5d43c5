"""Helpers the pipeline tests import (a test module cannot import ``conftest``: several exist)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import phonenumbers

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.fake import minimal_pdf, minimal_png
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.sandbox import SandboxServer, create_app
from telnyx_compliance.sandbox.catalog import EICAR

with warnings.catch_warnings():  # Starlette's notice about httpx in its TestClient
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]

MakeRequest = Callable[..., OnboardingRequest]

# -- onboarding requests per market (values meet the sandbox catalog's criteria) ---------------------

MARKETS: dict[tuple[str, str], dict[str, Any]] = {
    # address + one textual value, no document
    ("US", "local"): {
        "address": {
            "street_address": "1600 Pennsylvania Ave NW",
            "locality": "Washington",
            "postal_code": "20500",
        },
        "documents": {},
        "values": {"contact_name": "Maria Schmidt"},
        "number_prefix": ("+1202555", 12),
    },
    # address + proof-of-address PDF + three textual values
    ("DE", "local"): {
        "address": {"street_address": "Friedrichstrasse 123", "locality": "Berlin", "postal_code": "10117"},
        "documents": {"proof_of_address": "pdf"},
        "values": {
            "business_registration_number": "HRB 123456",
            "tax_id": "DE123456789",
            "contact_name": "Maria Schmidt",
        },
        "number_prefix": ("+4930", 13),
    },
    # business address + identity PNG + a value from acceptable_values
    ("GB", "mobile"): {
        "address": {"street_address": "10 Downing Street", "locality": "London", "postal_code": "SW1A 2AA"},
        "documents": {"identity_document": "png"},
        "values": {"contact_name": "Maria Schmidt", "type_of_end_user": "Business"},
        "number_prefix": ("+447400", 13),
    },
    # business address + registration certificate + two textual values
    ("FR", "national"): {
        "address": {"street_address": "10 Rue de Rivoli", "locality": "Paris", "postal_code": "75001"},
        "documents": {"business_registration_certificate": "pdf"},
        "values": {"business_registration_number": "732829320", "tax_id": "FR40303265045"},
        "number_prefix": ("+339", 12),
    },
}

_numbers = itertools.count(1000)


def fresh_phone_number(prefix: str, length: int) -> str:
    """A valid ``length``-character number no earlier test ordered (the sandbox sells a number once)."""
    while True:
        digits = length - len(prefix)
        candidate = f"{prefix}{next(_numbers) % 10**digits:0{digits}d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            return candidate


def build_request(
    tmp_path: Path,
    country: str = "DE",
    number_type: str = "local",
    *,
    customer: str | None = None,
    numbers: int = 1,
    infected: bool = False,
    denied: bool = False,
    values: dict[str, str] | None = None,
    address: dict[str, str] | None = None,
) -> OnboardingRequest:
    """A valid request for a market; documents go to ``tmp_path`` (``infected=True`` adds EICAR, which the
    sandbox's antivirus reports infected: the row fails before review; ``denied=True`` adds the sandbox's
    deny marker: the review declines the group)."""
    market = MARKETS[(country, number_type)]
    customer = customer or f"c-{uuid.uuid4().hex[:10]}"
    documents: dict[str, Path] = {}
    for key, kind in market["documents"].items():
        if kind == "png":
            content = minimal_png(seed=len(customer) + sum(map(ord, customer)))
        else:
            content = minimal_pdf([f"{key} of {customer}", "Friedrichstrasse 123"], title=key)
        if infected:
            content += b"\n" + EICAR + b"\n"
        if denied:
            content += b"\nSANDBOX-DENY\n"
        path = tmp_path / f"{customer}-{key}.{kind}"
        path.write_bytes(content)
        documents[key] = path
    return OnboardingRequest.model_validate(
        {
            "customer_reference": customer,
            "country_code": country,
            "phone_number_type": number_type,
            "address": {
                "first_name": "Maria",
                "last_name": "Schmidt",
                "business_name": f"{customer} Ltd",
                "country_code": country,
                **market["address"],
                **(address or {}),
            },
            "documents": documents,
            "values": {**market["values"], **(values or {})},
            "phone_numbers": [fresh_phone_number(*market["number_prefix"]) for _ in range(numbers)],
        }
    )


def count_writes(stats: dict[str, Any]) -> int:
    """POST/PATCH/DELETE requests the sandbox answered, from ``sandbox.stats()``."""
    by_route: dict[str, dict[str, int]] = stats["requests"]["by_route"]
    return sum(
        sum(statuses.values())
        for route, statuses in by_route.items()
        if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"}
    )


async def read_events(
    names: list[str],
    *,
    related: str | None = None,
    resource_prefix: str | None = None,
    at_least: int = 1,
    timeout: float = 30,
    where: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Events named ``names`` the Prefect API stored (``related``: a related resource id, such as
    ``prefect.flow-run.<id>``), once at least ``at_least`` are there: the events worker sends them after the
    flow and the server persists them in batches, so this drains the worker and polls. ``where`` keeps
    only the events it accepts (those of one run, when several tests emit the same names)."""
    import asyncio

    from prefect import get_client
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventRelatedFilter,
        EventResourceFilter,
    )

    from flows.bulk_onboard import drain_prefect_services

    await drain_prefect_services()
    event_filter = EventFilter(
        event=EventNameFilter(name=names),
        related=EventRelatedFilter(id=[related]) if related else None,
        resource=EventResourceFilter(id_prefix=[resource_prefix]) if resource_prefix else None,
    )
    deadline = asyncio.get_running_loop().time() + timeout
    async with get_client() as client:
        while True:
            page = await client.read_events(filter=event_filter, limit=50)
            events = [event for event in page.events if where is None or where(event)]
            if len(events) >= at_least or asyncio.get_running_loop().time() > deadline:
                return events
            await asyncio.sleep(0.25)


def run_cli(args: list[str], base_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``compliance ARGS`` in a child process against ``base_url``, with quick retries and polls, no API key
    from the shell, and the session's Prefect API when there is one."""
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "TELNYX_BASE_URL": base_url,
        "TELNYX_MAX_RETRIES": "2",
        "TELNYX_RETRY_MAX_WAIT": "0.2",
        "TELNYX_RETRY_TOTAL_TIMEOUT": "5",
        "COMPLIANCE_APPROVAL_POLL_INTERVAL": "0.05",
        "COMPLIANCE_APPROVAL_POLL_MAX_INTERVAL": "0.2",
        "COMPLIANCE_APPROVAL_POLL_TIMEOUT": "5",
        "PREFECT_HOME": str(home),
    }
    env.pop("TELNYX_API_KEY", None)
    api_url = PREFECT_API_URL.value()
    if api_url:  # the session's test server: no ephemeral server to start in the child
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "telnyx_compliance.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=240,
        check=False,
    )


class InProcessSandbox(SandboxServer):
    """The sandbox app in this process, with ``SandboxServer``'s helpers and URLs but no socket and no server
    thread: requests go straight to the ASGI app (Starlette's ``TestClient`` for blocking clients,
    ``httpx.ASGITransport`` for async ones). For every test that needs no real TCP: faults that drop or cut
    connections, downloads the sandbox fetches from itself, other processes and SDKs that open their own
    connections need a :class:`SandboxServer`."""

    app: Any = None

    def start(self) -> InProcessSandbox:
        self.app = create_app(self.config, host=self.host, root_url=self.root_url)
        self._http = self.client(base_url=self.root_url)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def client(self, *, base_url: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """A blocking client of the app (``base_url`` by default), answering 500s as a server would."""
        return TestClient(
            self.app,
            base_url=base_url or self.base_url,
            headers=self.auth_headers if headers is None else headers,
            raise_server_exceptions=False,
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        """What an async client (``AsyncTelnyx(http_client=httpx.AsyncClient(transport=...))``) sends with."""
        return httpx.ASGITransport(app=self.app)


def telnyx_client(sandbox: SandboxServer, **options: Any) -> AsyncTelnyx:
    """An ``AsyncTelnyx`` of ``sandbox``: through ``httpx.ASGITransport`` when it is in process."""
    if isinstance(sandbox, InProcessSandbox):
        options["http_client"] = httpx.AsyncClient(transport=sandbox.transport())
    return AsyncTelnyx(base_url=sandbox.base_url, **{"api_key": "test-key", **options})


def blocking_client(sandbox: SandboxServer, **options: Any) -> httpx.Client:
    """A blocking client of ``sandbox``'s ``base_url``, in process or over its socket."""
    headers = options.pop("headers", sandbox.auth_headers)
    if isinstance(sandbox, InProcessSandbox):
        return sandbox.client(base_url=options.pop("base_url", None), headers=headers)
    return httpx.Client(
        base_url=options.pop("base_url", sandbox.base_url), headers=headers, timeout=10, **options
    )
