"""What stops one onboarding for a reason an operator can act on (not an API failure, not a plan problem)."""

from __future__ import annotations


class OnboardingError(Exception):
    """An onboarding cannot go on for a reason an operator can act on."""


class UnknownMarketError(OnboardingError):
    """Telnyx lists no requirements for this country, number type and action."""


class DocumentIntegrityError(OnboardingError):
    """Telnyx stored a document whose sha256 differs from the local file."""


__all__ = ["DocumentIntegrityError", "OnboardingError", "UnknownMarketError"]


class DocumentChangedError(OnboardingError):
    """A document's file changed (size or content) between planning and upload; nothing was sent."""
