"""Verified numbers (``/verified_numbers``)."""

from __future__ import annotations

from typing import Literal

from .shared import RequestModel, TelnyxModel

__all__ = [
    "VerificationCodeParams",
    "VerifiedNumber",
    "VerifiedNumberCreateParams",
    "VerifiedNumberCreateResponse",
    "VerifiedNumberDataWrapper",
]


class VerifiedNumber(TelnyxModel):
    """``VerifiedNumberResponse``."""

    phone_number: str | None = None
    record_type: Literal["verified_number"] | str | None = None
    verified_at: str | None = None


class VerifiedNumberDataWrapper(TelnyxModel):
    data: VerifiedNumber | None = None


class VerifiedNumberCreateResponse(TelnyxModel):
    """``CreateVerifiedNumberResponse`` (unwrapped)."""

    phone_number: str | None = None
    verification_method: Literal["sms", "call"] | str | None = None


class VerifiedNumberCreateParams(RequestModel):
    phone_number: str
    verification_method: Literal["sms", "call"]
    extension: str | None = None


class VerificationCodeParams(RequestModel):
    verification_code: str
