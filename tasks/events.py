"""Prefect events the flows emit: one per requirement-group decision they observe, one per bulk run.

Automations react to them (``deployments/prefect.yaml`` runs reconcile on approvals; a notification on
declines is one automation away, see ``deployments/README.md``). Event names::

    telnyx.requirement-group.approved    a group was approved
    telnyx.requirement-group.declined    a group was declined; payload.reasons: requirement -> reason
    telnyx.requirement-group.expired     a group expired; payload.reasons as for declined
    telnyx.bulk-onboarding.summary       a bulk run ended; payload: its counts

The resource of a group event is ``telnyx.requirement-group.<group id>``, named after the customer
reference; the flow run that saw it is added as a related resource by Prefect. A group event's id is
derived from the group and the decision, so a decision seen again (a rerun, reconcile every 15 minutes)
is stored, and starts automations, once.

Payloads carry ids, references, counts and reviewers' reasons: never the API key, document bytes or
download links. Every text in them (and in the resource's labels) has its control characters escaped
(``telnyx_compliance._text.escape_controls``): a reference or reason from a CSV or an answer cannot break the
line of a notification an automation sends, or drive the terminal of whoever reads it. The builders are pure
(tested without a Prefect API); :func:`emit` sends one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prefect.events import emit_event

from telnyx_compliance._text import escape_controls
from telnyx_compliance.models.requirement_groups import GROUP_DECISIONS, GroupStatus
from telnyx_compliance.onboarding.bulk import BulkSummary
from telnyx_compliance.onboarding.reconcile import GroupOutcome
from telnyx_compliance.onboarding.results import GroupDecision, OnboardingResult

GROUP_EVENT_PREFIX = "telnyx.requirement-group"
APPROVED_EVENT = f"{GROUP_EVENT_PREFIX}.approved"
DECLINED_EVENT = f"{GROUP_EVENT_PREFIX}.declined"
EXPIRED_EVENT = f"{GROUP_EVENT_PREFIX}.expired"
BULK_SUMMARY_EVENT = "telnyx.bulk-onboarding.summary"
#: Label naming the flow that observed a group decision (automations may exclude one, e.g. reconcile's own).
OBSERVED_BY_LABEL = "telnyx.observed-by"

#: Namespace of the deterministic ids of group events.
_EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-8b0a-4f55-9d1e-7a2c4b5e6f70")
#: A reviewer's reason is cut to this many characters (the event stays far below Prefect's size limit).
_MAX_REASON = 500
_MAX_REASONS = 50


@dataclass(frozen=True)
class EventSpec:
    """What :func:`prefect.events.emit_event` gets: name, resource labels, payload and (maybe) an id; their
    texts (keys and values, at any depth) with control characters escaped."""

    event: str
    resource: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)
    id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "resource", _escaped(self.resource))
        object.__setattr__(self, "payload", _escaped(self.payload))


def _escaped(value: Any) -> Any:
    """``value`` with every string in it (keys too) free of control characters."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_escaped(item) for item in value)
    return value


def group_event(decision: GroupDecision, observed_by: str) -> EventSpec:
    """The event of one requirement-group decision, as seen by the flow ``observed_by``."""
    resource = {
        "prefect.resource.id": f"{GROUP_EVENT_PREFIX}.{decision.requirement_group_id}",
        "prefect.resource.name": decision.customer_reference,
        "telnyx.customer-reference": decision.customer_reference,
        OBSERVED_BY_LABEL: observed_by,
    }
    if decision.country_code:
        resource["telnyx.country"] = decision.country_code.upper()
    if decision.phone_number_type:
        resource["telnyx.phone-number-type"] = decision.phone_number_type
    payload: dict[str, Any] = {
        "requirement_group_id": decision.requirement_group_id,
        "requirement_group_reference": decision.requirement_group_reference,
        "customer_reference": decision.customer_reference,
        "country_code": decision.country_code or None,
        "status": decision.status,
    }
    if decision.status != GroupStatus.APPROVED:
        payload["reasons"] = {
            requirement[:200]: reason[:_MAX_REASON]
            for requirement, reason in list(decision.reasons.items())[:_MAX_REASONS]
        }
    # One event per decision per observing run: a retry of the run does not announce it twice, while a
    # later run (a rerun, reconcile's next round, a group declined again after a resubmission) does.
    from prefect.runtime import flow_run

    event_id = uuid.uuid5(
        _EVENT_NAMESPACE, f"{decision.requirement_group_id}/{decision.status}/{flow_run.id or uuid.uuid4()}"
    )
    return EventSpec(
        event=f"{GROUP_EVENT_PREFIX}.{decision.status}", resource=resource, payload=payload, id=event_id
    )


def result_events(result: OnboardingResult, observed_by: str) -> list[EventSpec]:
    """The group event of one onboarding's result; none while its group is pending or missing."""
    decision = GroupDecision.of(result)
    return [] if decision is None else [group_event(decision, observed_by)]


def decisions_of_reconcile(outcomes: Iterable[GroupOutcome]) -> list[GroupDecision]:
    """The decisions a reconcile run observed: groups approved and attached now (an approved group with
    nothing left to attach is not news), declined and expired groups with their reasons."""
    decisions = []
    for outcome in outcomes:
        if outcome.action == "attached":
            status = "approved"
        elif outcome.action in {"declined", "expired"}:
            status = outcome.action
        else:
            continue
        decisions.append(
            GroupDecision(
                requirement_group_id=outcome.group_id,
                status=status,  # one of the three, by the branches above
                customer_reference=outcome.customer_reference,
                requirement_group_reference=outcome.customer_reference or None,
                # per requirement id; else the group-level reason Telnyx gave
                reasons=dict(outcome.requirement_reasons)
                or ({"group": "; ".join(outcome.reasons)} if outcome.reasons else {}),
            )
        )
    return decisions


def bulk_summary_event(summary: BulkSummary, flow_run_id: object) -> EventSpec:
    """The event of one bulk run: its counts, and where its results are (a path on the worker)."""
    counts = summary.as_dict()
    return EventSpec(
        event=BULK_SUMMARY_EVENT,
        resource={
            "prefect.resource.id": f"telnyx.bulk-onboarding.{flow_run_id}",
            "prefect.resource.name": summary.csv_path.name,
        },
        payload={
            "csv": summary.csv_path.name,
            "results": str(summary.results_path),
            "rows": counts["rows"],
            "counts": counts["counts"],
            "carried_over": counts["carried_over"],
            "onboardings": counts["onboardings"],
            "handed_over": counts["handed_over"],
            "errors": dict(summary.errors.most_common(20)),
            "decisions": {status.value: summary.decision_counts[status] for status in GROUP_DECISIONS},
            "exit_code": counts["exit_code"],
        },
    )


def emit(spec: EventSpec) -> None:
    """Send one event (queued; Prefect's events worker delivers it, with the run context as related)."""
    emit_event(event=spec.event, resource=spec.resource, payload=spec.payload, id=spec.id)
