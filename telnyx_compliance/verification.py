"""Verified numbers: request a code by SMS or call, submit the code an operator typed in.

The rules that turn the API's answers into outcomes live here (``tasks/verification.py`` only wraps them for
Prefect): a 422 on a request for a number already verified is ``already_verified``; a 400 on a code is a
wrong code, a 422 saying "expired" an expired one, a 404 means nothing is pending (verified already, when a
retried submit's first answer was lost, or never asked).
"""

from __future__ import annotations

from typing import Literal

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import BadRequestError, NotFoundError, UnprocessableEntityError

__all__ = [
    "CodeOutcome",
    "RequestOutcome",
    "VerificationMethod",
    "request_verification",
    "submit_verification_code",
    "verified_at",
]

VerificationMethod = Literal["sms", "call"]
RequestOutcome = Literal["requested", "already_verified"]
CodeOutcome = Literal["verified", "wrong_code", "expired", "not_pending"]


async def verified_at(client: AsyncTelnyx, phone_number: str) -> str | None:
    """When the number was verified, or None when it is not (yet)."""
    try:
        found = await client.verified_numbers.retrieve(phone_number)
    except NotFoundError:
        return None
    return (found.data.verified_at or "unknown time") if found.data else None


async def request_verification(
    client: AsyncTelnyx, phone_number: str, verification_method: VerificationMethod, extension: str | None
) -> RequestOutcome:
    """Have Telnyx send a code by SMS or call (dialling ``extension`` after connecting, if given)."""
    try:
        await client.verified_numbers.create(
            phone_number=phone_number, verification_method=verification_method, extension=extension
        )
    except UnprocessableEntityError:
        if await verified_at(client, phone_number) is not None:
            return "already_verified"
        raise
    return "requested"


async def submit_verification_code(
    client: AsyncTelnyx, phone_number: str, verification_code: str
) -> CodeOutcome:
    """Submit the code; a wrong or expired code is an outcome the caller acts on, not an error."""
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
        return "verified" if await verified_at(client, phone_number) is not None else "not_pending"
    return "verified"
