"""Verified numbers: request a code by SMS or call, submit the code an operator typed in.

The outcomes and the rules behind them are the library's (``telnyx_compliance.verification``).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks._client import telnyx_client
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance import verification
from telnyx_compliance.verification import CodeOutcome, RequestOutcome, VerificationMethod

__all__ = [
    "CodeOutcome",
    "RequestOutcome",
    "VerificationMethod",
    "request_verification",
    "submit_verification_code",
    "verified_at",
]

# The code is a credential of sorts: never a task parameter Prefect could show, never logged.
_OPTIONS = {**API_TASK_OPTIONS, "cache_policy": NO_CACHE, "persist_result": False}


@task(name="check-verified-number", task_run_name="check-verified-{phone_number}", **_OPTIONS)
async def verified_at(phone_number: str) -> str | None:
    """When the number was verified, or None when it is not (yet)."""
    async with telnyx_client() as client:
        return await verification.verified_at(client, phone_number)


@task(name="request-verification", task_run_name="request-verification-{phone_number}", **_OPTIONS)
async def request_verification(
    phone_number: str, verification_method: VerificationMethod, extension: str | None
) -> RequestOutcome:
    """Have Telnyx send a code by SMS or call (dialling ``extension`` after connecting, if given)."""
    async with telnyx_client() as client:
        outcome = await verification.request_verification(
            client, phone_number, verification_method, extension
        )
    if outcome == "requested":
        get_run_logger().info("verification code sent to %s by %s", phone_number, verification_method)
    return outcome


@task(name="submit-verification-code", task_run_name="submit-code-{phone_number}", **_OPTIONS)
async def submit_verification_code(phone_number: str, verification_code: str) -> CodeOutcome:
    """Submit the code; a wrong or expired code is an outcome the flow acts on, not an error."""
    async with telnyx_client() as client:
        return await verification.submit_verification_code(client, phone_number, verification_code)
