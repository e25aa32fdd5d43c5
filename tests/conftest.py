"""Shared fixtures: one Prefect test harness per session, one sandbox per test module.

Prefect reads its settings when first imported, so its home (a temporary folder) and analytics opt-out are
set here, before any test module imports it.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_PREFECT_HOME = tempfile.mkdtemp(prefix="prefect-home-")
atexit.register(shutil.rmtree, _PREFECT_HOME, True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_LOGGING_TO_API_BATCH_INTERVAL", "0.3")

import phonenumbers  # noqa: E402
import pytest  # noqa: E402

from telnyx_compliance.onboarding.fake import minimal_pdf, minimal_png  # noqa: E402
from telnyx_compliance.onboarding.request import OnboardingRequest  # noqa: E402
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer  # noqa: E402
from tests.support import MakeRequest  # noqa: E402

#: Environment variables of this project that a developer's shell (or a .env) might set; no test sees them.
_OWN_PREFIXES = ("TELNYX_", "COMPLIANCE_", "SANDBOX_")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path) -> Iterator[Path]:
    """Every test runs in its own temporary folder, with none of the developer's TELNYX_*, COMPLIANCE_* or
    SANDBOX_* settings: a real API key in the shell can never reach a test, and no test writes into the
    checkout. Tests that need the project files use absolute paths, and staged copies go to the test's own
    cache folder, not the user's. (Its own patcher: a test's ``monkeypatch.undo()`` does not undo this.)"""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(_OWN_PREFIXES):
                patch.delenv(name)
        patch.setenv("XDG_CACHE_HOME", str(tmp_path.with_name(tmp_path.name + "-cache")))
        patch.chdir(tmp_path)
        yield tmp_path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (SQLite in a temporary folder) shared by every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox for the test module: quick reviews (0.2 s on its clock), no faults."""
    with SandboxServer(SandboxConfig(seed=1, approve_after=0.2)) as server:
        yield server


# -- onboarding requests per market (values meet the sandbox catalog's criteria) ---------------------

#: A document line that makes the sandbox's antivirus report the file infected.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

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


@pytest.fixture
def make_request(tmp_path: Path) -> MakeRequest:
    """A valid request for a market; documents go to ``tmp_path`` (``infected=True`` adds EICAR: the row
    fails before review; ``denied=True`` adds the sandbox's deny marker: the review declines the group)."""

    def make(
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

    return make
