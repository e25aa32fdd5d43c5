"""Verified numbers: verification codes and the numbers verified with them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from ..catalog import classify_number
from ..errors import error
from .core import Part, Record, _locked, _writes, iso


class VerifiedNumbersStore(Part):
    """``/verified_numbers``: deterministic verification codes (from the seed), then verified numbers."""

    def _code_for(self, phone_number: str, attempt: int) -> str:
        digest = hmac.new(
            str(self.core.config.seed).encode(), f"{phone_number}/{attempt}".encode(), hashlib.sha256
        )
        return f"{int.from_bytes(digest.digest()[:8], 'big') % 1_000_000:06d}"

    @_writes
    def request_verification(self, phone_number: str, method: str) -> Record:
        try:
            info = classify_number(phone_number)
        except ValueError as exc:
            raise error(422, str(exc), pointer="/phone_number", code="10016") from None
        if info.phone_number in self.core.tables["verified_numbers"]:
            raise error(422, f"{info.phone_number} is already verified.", pointer="/phone_number")
        previous = self.core.verifications.get(info.phone_number)
        attempt = previous["attempt"] + 1 if previous else 1
        self.core.verifications[info.phone_number] = {
            "code": self._code_for(info.phone_number, attempt),
            "attempt": attempt,
            "method": method,
            "expires": self.core.now() + self.core.config.verification_code_ttl,
        }
        return {"phone_number": info.phone_number, "verification_method": method}

    @_locked
    def verification_code(self, phone_number: str) -> Record:
        pending = self.core.verifications.get(phone_number)
        if pending is None:
            raise error(404, f"No verification was requested for {phone_number}.", pointer="/phone_number")
        return {
            "phone_number": phone_number,
            "verification_code": pending["code"],
            "verification_method": pending["method"],
            "expires_at": iso(pending["expires"]),
            "expired": pending["expires"] <= self.core.now(),
        }

    @_writes
    def verify(self, phone_number: str, code: str) -> Record:
        pending = self.core.verifications.get(phone_number)
        if pending is None:
            raise error(404, f"No verification is pending for {phone_number}.", pointer="/phone_number")
        if pending["expires"] <= self.core.now():
            raise error(
                422,
                "The verification code has expired; request a new one.",
                pointer="/verification_code",
                title="Verification code expired",
            )
        # Bytes: compare_digest refuses str holding anything but ASCII (a TypeError, so a 500, for "é").
        given = code.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(str(pending["code"]).encode(), given):
            raise error(
                400,
                "The verification code is not correct.",
                pointer="/verification_code",
                title="Invalid verification code",
            )
        del self.core.verifications[phone_number]
        record = {
            "phone_number": phone_number,
            "record_type": "verified_number",
            "verified_at": datetime.fromtimestamp(self.core.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        }
        self.core.tables["verified_numbers"][phone_number] = record
        return dict(record)

    @_locked
    def list_verified(self) -> list[Record]:
        return [dict(r) for r in self.core.tables["verified_numbers"].values()]

    @_locked
    def get_verified(self, phone_number: str) -> Record:
        return dict(self.core.get_record("verified_numbers", phone_number, "verified number"))

    @_writes
    def delete_verified(self, phone_number: str) -> Record:
        record = self.core.get_record("verified_numbers", phone_number, "verified number")
        del self.core.tables["verified_numbers"][phone_number]
        return dict(record)
