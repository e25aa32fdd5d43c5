"""Small, serialisable snapshots of what the onboarding steps saw and did on Telnyx.

Prefect task results and the bulk runner pass these around instead of API models. The requirement group
statuses are defined once, in :class:`telnyx_compliance.models.requirement_groups.GroupStatus`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from telnyx_compliance.models.requirement_groups import FINAL_GROUP_STATUSES, RequirementGroup
from telnyx_compliance.onboarding.errors import OnboardingError
from telnyx_compliance.onboarding.results import StepOutcome

#: Extra fields a reviewer's reason may come in (the spec has none; Telnyx and the sandbox add one).
_REASON_FIELDS = ("reason", "decline_reason", "status_reason", "rejection_reason", "comment", "notes")


class RequirementReview(BaseModel):
    """One requirement value in a group, with the reviewer's status and reason."""

    model_config = ConfigDict(frozen=True)

    requirement_id: str
    field_type: str | None = None
    field_value: str | None = None
    status: str | None = None
    reason: str | None = None


class GroupSnapshot(BaseModel):
    """A requirement group as last seen."""

    model_config = ConfigDict(frozen=True)

    id: str
    customer_reference: str | None = None
    status: str | None = None
    requirements: tuple[RequirementReview, ...] = ()
    #: The status was inferred (it left the pending list and is in no list of rejected groups), not read:
    #: the order that carries the group confirms it, or the group is read again.
    presumed: bool = False

    def presume(self, status: str) -> GroupSnapshot:
        """This group with ``status`` inferred for it and for each of its requirements."""
        return self.model_copy(
            update={
                "status": status,
                "presumed": True,
                "requirements": tuple(r.model_copy(update={"status": status}) for r in self.requirements),
            }
        )

    @property
    def values(self) -> dict[str, str]:
        return {r.requirement_id: r.field_value for r in self.requirements if r.field_value is not None}

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_GROUP_STATUSES

    @classmethod
    def from_api(cls, group: RequirementGroup) -> GroupSnapshot:
        if not group.id:
            raise OnboardingError("Telnyx returned a requirement group without an id")
        reviews = []
        for requirement in group.regulatory_requirements or []:
            if not requirement.requirement_id:
                continue
            extra = requirement.model_extra or {}
            reason = next((str(extra[name]) for name in _REASON_FIELDS if extra.get(name)), None)
            reviews.append(
                RequirementReview(
                    requirement_id=requirement.requirement_id,
                    field_type=requirement.field_type,
                    field_value=requirement.field_value,
                    status=requirement.status,
                    reason=reason,
                )
            )
        return cls(
            id=group.id,
            customer_reference=group.customer_reference,
            status=group.status,
            requirements=tuple(reviews),
        )


class EnsuredAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    customer_reference: str
    outcome: StepOutcome


class EnsuredGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: GroupSnapshot
    outcome: StepOutcome


class EnsuredOrder(BaseModel):
    """The number order placed for the plan's phone numbers."""

    model_config = ConfigDict(frozen=True)

    id: str
    customer_reference: str
    sub_number_order_ids: tuple[str, ...] = ()
    outcome: StepOutcome
    #: The requirement group its numbers were ordered with (this run placed it carrying the group).
    requirement_group_id: str | None = None
    requirements_met: bool | None = None


__all__ = [
    "EnsuredAddress",
    "EnsuredGroup",
    "EnsuredOrder",
    "GroupSnapshot",
    "RequirementReview",
]
