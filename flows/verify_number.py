"""``verify_number`` (ops-triggered): verify a phone number with a code an operator types in the Prefect UI.

Requests a code by SMS or call (with an extension to dial), then pauses the run with
``apause_flow_run(wait_for_input=VerificationCodeInput)``: the UI shows a *Resume* form where the operator
types the code. A wrong code pauses again (at most ``max_attempts`` codes); an expired code, or an operator
ticking *request_new_code*, sends a new code (at most ``max_code_requests`` in all). The run ends Completed
with the verified number, or Failed saying why.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from prefect.states import Completed, Failed
from pydantic import BaseModel, Field

from tasks.verification import request_verification, submit_verification_code, verified_at
from telnyx_compliance._text import escape_markdown


class VerificationCodeInput(RunInput):
    """What the operator types in the Resume form."""

    verification_code: str = Field(
        default="",
        max_length=16,
        description="The code the number received (SMS) or heard (call).",
    )
    request_new_code: bool = Field(
        default=False, description="Tick to have a new code sent instead (the code never arrived or expired)."
    )


class VerifiedNumberReport(BaseModel):
    phone_number: str
    verification_method: str
    verified_at: str
    codes_tried: int = 0


def _prompt(phone_number: str, method: str, note: str, attempt: int, max_attempts: int) -> str:
    channel = "by SMS" if method == "sms" else "by phone call"
    return (
        f"**{note}**\n\nA verification code was sent {channel} to **{phone_number}**. "
        f"Type it below and press *Submit* (code {attempt} of at most {max_attempts}), "
        "or tick *request_new_code* to have a new one sent."
    )


@flow(name="verify_number", flow_run_name="verify-{phone_number}", persist_result=False)
async def verify_number(
    phone_number: str,
    verification_method: Literal["sms", "call"] = "sms",
    extension: str | None = None,
    max_attempts: int = 3,
    max_code_requests: int = 3,
    timeout_seconds: int = 3600,
    poll_interval_seconds: int = 5,
) -> State[VerifiedNumberReport]:
    """Verify ``phone_number`` (E.164) by SMS or call; pauses until an operator enters the code in the UI."""
    logger = get_run_logger()
    already = await verified_at(phone_number)
    if already is not None:
        return await _done(phone_number, verification_method, already, 0, "was already verified")
    if await request_verification(phone_number, verification_method, extension) == "already_verified":
        verified = await verified_at(phone_number) or "unknown time"
        return await _done(phone_number, verification_method, verified, 0, "was already verified")
    codes_requested, tried = 1, 0
    note = "Code sent."
    while True:
        prompt = _prompt(phone_number, verification_method, note, tried + 1, max_attempts)
        try:
            answer = await apause_flow_run(
                wait_for_input=VerificationCodeInput.with_initial_data(description=prompt),
                timeout=timeout_seconds,
                poll_interval=poll_interval_seconds,
            )
        except FlowPauseTimeout:
            return Failed(message=f"No code was entered for {phone_number} within {timeout_seconds} s.")
        code = answer.verification_code.strip()
        if answer.request_new_code or not code:
            if codes_requested >= max_code_requests:
                return Failed(
                    message=f"{phone_number}: {codes_requested} codes were sent; none was verified."
                )
            await request_verification(phone_number, verification_method, extension)
            codes_requested += 1
            note = "A new code was sent."
            continue
        tried += 1
        outcome = await submit_verification_code(phone_number, code)
        if outcome == "verified":
            verified = await verified_at(phone_number) or "unknown time"
            return await _done(phone_number, verification_method, verified, tried, "is verified")
        if outcome == "not_pending":
            return Failed(message=f"{phone_number}: no verification is pending; start a new run.")
        if tried >= max_attempts:
            return Failed(message=f"{phone_number}: {tried} code(s) entered, none accepted ({outcome}).")
        if outcome == "expired":
            if codes_requested >= max_code_requests:
                return Failed(message=f"{phone_number}: the code expired and {codes_requested} were sent.")
            await request_verification(phone_number, verification_method, extension)
            codes_requested += 1
            note = "That code had expired: a new code was sent."
        else:
            note = "That code was not correct; try again."
        logger.warning("%s: %s", phone_number, note)


async def _done(
    phone_number: str, method: str, verified: str, tried: int, what: str
) -> State[VerifiedNumberReport]:
    report = VerifiedNumberReport(
        phone_number=phone_number, verification_method=method, verified_at=verified, codes_tried=tried
    )
    await acreate_markdown_artifact(
        markdown=f"# Verified number\n\n**{escape_markdown(phone_number)}** {what} (verified at "
        f"{escape_markdown(verified)}, by {method}).\n",
        key="verified-number",
        description=f"{phone_number} {what}",
    )
    get_run_logger().info("%s %s (verified at %s)", phone_number, what, verified)
    return Completed(message=f"{phone_number} {what}", data=report)
