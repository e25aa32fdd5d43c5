"""What an onboarding ended with: ids, statuses and reasons. Never document bytes, links or the API key.

:class:`OnboardingResult` is what the flow returns, what the bulk runner writes as a CSV line and what the
CLI prints. Documents appear by id and filename only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from telnyx_compliance.models.requirement_groups import (
    GROUP_DECISIONS,
    REJECTED_GROUP_STATUSES,
    GroupDecisionStatus,
    GroupStatus,
)
from telnyx_compliance.onboarding.errors import ErrorKind
from telnyx_compliance.onboarding.request import OnboardingKey
from telnyx_compliance.onboarding.requirements import FieldKind

OnboardingStatus = Literal["completed", "pending_approval", "declined", "failed"]
StepOutcome = Literal["created", "reused", "updated", "unchanged", "skipped", "deleted"]


class RequirementOutcome(BaseModel):
    """One requirement of the group: the value given and, once reviewed, its status and reason."""

    model_config = ConfigDict(frozen=True)

    requirement_id: str
    name: str
    key: str
    kind: FieldKind
    value: str = Field(description="Text value, document filename, or the address id.")
    status: str | None = None
    reason: str | None = None


class UploadedDocument(BaseModel):
    """A document the onboarding uses: its id and where it came from (filename, sha256), not its bytes."""

    model_config = ConfigDict(frozen=True)

    requirement_id: str
    document_id: str
    filename: str
    sha256: str
    customer_reference: str
    created: bool = Field(
        description="True when this run uploaded it, False when an earlier upload was reused."
    )


class AttachedOrder(BaseModel):
    """An order the approved group was attached to, and whether Telnyx now sees its requirements met."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["sub_number_order", "number_order_phone_number"]
    id: str
    requirements_met: bool | None = None
    linked_document_ids: tuple[str, ...] = ()


class HandOver(BaseModel):
    """What the reconcile flow needs to finish a pending onboarding later.

    Groups we created are found by their reference (``is_group_reference``); number orders we placed by
    their reference's start (``order_reference_prefix_for_group(group_reference)``). Orders given by id in
    the request are listed here, because nothing on Telnyx's side ties them to the group before it is
    attached.
    """

    model_config = ConfigDict(frozen=True)

    requirement_group_id: str
    requirement_group_reference: str
    order_reference: str | None = None
    number_order_id: str | None = None
    sub_number_order_ids: tuple[str, ...] = ()
    number_order_phone_number_ids: tuple[str, ...] = ()


class StepEvent(BaseModel):
    """One step as it happened: what it did to which resource (for hooks, logs and resume checks)."""

    model_config = ConfigDict(frozen=True)

    step: str
    outcome: StepOutcome
    resource_id: str | None = None
    detail: str = ""


class GroupDecision(BaseModel):
    """A decision on one requirement group, as a flow observed it: what an event about it carries.

    Ids, references and the reviewer's reasons only: never document bytes, links or the API key.
    """

    model_config = ConfigDict(frozen=True)

    requirement_group_id: str
    status: GroupDecisionStatus
    customer_reference: str
    #: The group's own reference (``tc-...-group``), when known.
    requirement_group_reference: str | None = None
    #: ISO country code of the market; empty when the observer does not know it (reconcile).
    country_code: str = ""
    phone_number_type: str = ""
    #: Requirement (name, or id when only that is known) -> the reviewer's reason, for declined ones.
    reasons: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, result: OnboardingResult) -> GroupDecision | None:
        """The decision ``result`` observed, or None when its group is missing or undecided."""
        status = result.requirement_group_status
        if not result.requirement_group_id or status not in GROUP_DECISIONS:
            return None
        return cls(
            requirement_group_id=result.requirement_group_id,
            status=status,  # checked just above
            customer_reference=result.customer_reference,
            requirement_group_reference=result.requirement_group_reference,
            country_code=result.country_code,
            phone_number_type=result.phone_number_type,
            reasons={} if status == GroupStatus.APPROVED else result.decline_reasons,
        )


class OnboardingResult(BaseModel):
    """The outcome of one onboarding."""

    model_config = ConfigDict(frozen=True)

    customer_reference: str
    country_code: str
    phone_number_type: str
    action: str
    status: OnboardingStatus
    address_id: str | None = None
    documents: tuple[UploadedDocument, ...] = ()
    requirement_group_id: str | None = None
    requirement_group_reference: str | None = None
    #: A status Telnyx adds later is kept as it came (``build_result`` reports it as not understood).
    requirement_group_status: GroupStatus | str | None = None
    number_order_id: str | None = None
    attached_orders: tuple[AttachedOrder, ...] = ()
    requirements: tuple[RequirementOutcome, ...] = ()
    handover: HandOver | None = None
    steps: tuple[StepEvent, ...] = ()
    error: str | None = None
    #: What kind of failure ``error`` is, decided where it was caught (None when the onboarding did not fail).
    error_kind: ErrorKind | None = None

    @property
    def transient(self) -> bool:
        """The error was a transient API failure (429, 408, 5xx, connection) the client's retries did not
        outlast: nothing is wrong with the request; running it again (every step is idempotent) may
        succeed."""
        return self.error_kind is ErrorKind.TRANSIENT

    @property
    def document_ids(self) -> tuple[str, ...]:
        return tuple(document.document_id for document in self.documents)

    @property
    def key(self) -> OnboardingKey:
        return OnboardingKey(
            customer_reference=self.customer_reference,
            country_code=self.country_code,
            phone_number_type=self.phone_number_type,
            action=self.action,
        )

    @property
    def decline_reasons(self) -> dict[str, str]:
        """Requirement name -> reason, for every requirement the reviewer did not accept."""
        return {
            outcome.name: outcome.reason or outcome.status or GroupStatus.DECLINED
            for outcome in self.requirements
            if outcome.status in REJECTED_GROUP_STATUSES or outcome.reason
        }

    @classmethod
    def failed(cls, key: OnboardingKey, error: str, *, kind: ErrorKind, **fields: object) -> OnboardingResult:
        """A result for an onboarding that stopped on an error (plan, API or unexpected) of ``kind``."""
        return cls.model_validate(
            {
                "customer_reference": key.customer_reference,
                "country_code": key.country_code,
                "phone_number_type": key.phone_number_type,
                "action": key.action,
                "status": "failed",
                "error": error,
                "error_kind": kind,
                **fields,
            }
        )
