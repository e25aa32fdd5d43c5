"""What stops one onboarding, and what kind of failure it was.

:class:`OnboardingError` and its subclasses stop one onboarding for a reason an operator can act on (not an
API failure, not a plan problem). :class:`ErrorKind` names the kind of every failure: it is decided where the
failure is caught (:func:`kind_of` for an exception, or by the code that builds the result) and travels as a
field of the result (``OnboardingResult.error_kind``, the ``error_kind`` column of the results CSV). Row
status, counting and the report read that field, never the error's text.
"""

from __future__ import annotations

from enum import StrEnum

from telnyx_compliance._exceptions import APIError, is_transient


class ErrorKind(StrEnum):
    """The kind of a failure, as written in the results CSV's ``error_kind`` column."""

    #: The row breaks the CSV format (a cell, a document path); nothing was sent for it.
    INVALID_INPUT = "invalid_input"
    #: The row cannot meet its market's requirements (or Telnyx lists none for the market); nothing was sent.
    PLAN_UNMET = "plan_unmet"
    #: Telnyx's review declined the requirement group (or it expired).
    DECLINED = "declined"
    #: An API failure its requests' retries did not outlast (429, 408, 5xx, connection): running the row
    #: again may succeed (every step finds what an earlier attempt created).
    TRANSIENT = "transient"
    #: A write whose answer was lost and could not be confirmed: it may have been applied.
    OUTCOME_UNKNOWN = "outcome_unknown"
    #: The API refused the request (a 4xx other than 408/429) or answered with something unreadable.
    REJECTED = "rejected"
    #: A check of the pipeline failed: a document changed or arrived altered, requirements not met after
    #: attaching the group, a group missing or in a status the pipeline does not know.
    CHECK_FAILED = "check_failed"
    #: An unexpected exception stopped the row: a bug, reported with its type and message.
    CRASHED = "crashed"


class OnboardingError(Exception):
    """An onboarding cannot go on for a reason an operator can act on."""

    kind: ErrorKind = ErrorKind.CHECK_FAILED


class UnknownMarketError(OnboardingError):
    """Telnyx lists no requirements for this country, number type and action."""

    kind = ErrorKind.PLAN_UNMET


class DocumentIntegrityError(OnboardingError):
    """Telnyx stored a document whose sha256 differs from the local file."""


class DocumentChangedError(OnboardingError):
    """A document's file changed (size or content) between planning and upload; nothing was sent."""


class SureDeclineError(OnboardingError):
    """Telnyx's review would surely decline the group (a document found infected by the antivirus scan, or
    denied by review): the row ends before the group is created or submitted, costing no review cycle."""


def kind_of(error: BaseException) -> ErrorKind:
    """The kind of ``error``, as the code that caught it sees it: the kind its class declares (the
    pipeline's own errors, ``PlanError``), an API failure (transient, outcome unknown or refused), or a
    crash."""
    declared = getattr(type(error), "kind", None)
    if isinstance(declared, ErrorKind):
        return declared
    if isinstance(error, APIError):
        if is_transient(error):
            return ErrorKind.TRANSIENT
        return ErrorKind.OUTCOME_UNKNOWN if error.outcome_unknown else ErrorKind.REJECTED
    return ErrorKind.CRASHED


__all__ = [
    "DocumentChangedError",
    "DocumentIntegrityError",
    "ErrorKind",
    "OnboardingError",
    "SureDeclineError",
    "UnknownMarketError",
    "kind_of",
]
