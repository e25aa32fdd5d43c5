"""Verified numbers: request a code by SMS or call, submit the code an operator typed in."""

from __future__ import annotations

from typing import Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks._client import telnyx_client
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance import BadRequestError, NotFoundError, UnprocessableEntityError

VerificationMethod = Literal["sms", "call"]
RequestOutcome = Literal["requested", "already_verified"]
CodeOutcome = Literal["verified", "wrong_code", "expired", "not_pending"]

# The code is a credential of sorts: never a task parameter Prefect could show, never logged.
_OPTIONS = {**API_TASK_OPTIONS, "cache_policy": NO_CACHE, "persist_result": False}


async def _verified_at(phone_number: str) -> str | None:
    async with telnyx_client() as client:
        try:
            found = await client.verified_numbers.retrieve(phone_number)
        except NotFoundError:
            return None
    return (found.data.verified_at or "unknown time") if found.data else None


@task(name="check-verified-number", task_run_name="check-verified-{phone_number}", **_OPTIONS)
async def verified_at(phone_number: str) -> str | None:
    """When the number was verified, or None when it is not (yet)."""
    return await _verified_at(phone_number)


@task(name="request-verification", task_run_name="request-verification-{phone_number}", **_OPTIONS)
async def request_verification(
    phone_number: str, verification_method: VerificationMethod, extension: str | None
) -> RequestOutcome:
    """Have Telnyx send a code by SMS or call (dialling ``extension`` after connecting, if given)."""
    async with telnyx_client() as client:
        try:
            await client.verified_numbers.create(
                phone_number=phone_number, verification_method=verification_method, extension=extension
            )
        except UnprocessableEntityError:
            if await _verified_at(phone_number) is not None:
                return "already_verified"
            raise
    get_run_logger().info("verification code sent to %s by %s", phone_number, verification_method)
    return "requested"


@task(name="submit-verification-code", task_run_name="submit-code-{phone_number}", **_OPTIONS)
async def submit_verification_code(phone_number: str, verification_code: str) -> CodeOutcome:
    """Submit the code; a wrong or expired code is an outcome the flow acts on, not an error."""
    async with telnyx_client() as client:
        try:
            await client.verified_numbers.actions.submit_verification_code(
                phone_number, verification_code=verification_code
            )
        except BadRequestError:
            return "wrong_code"
        except UnprocessableEntityError as error:
            if "expired" in str(error).lower():
                return "expired"
            raise
        except NotFoundError:
            # Nothing pending: verified already (a retried submit whose first answer was lost) or never asked.
            return "verified" if await _verified_at(phone_number) is not None else "not_pending"
    return "verified"
