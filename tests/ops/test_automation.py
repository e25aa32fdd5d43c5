"""The automation shipped in deployments/prefect.yaml: valid for Prefect, and it matches what it should."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def _triggers(deployment: str) -> list[dict[str, Any]]:
    config = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    (found,) = [d for d in config["deployments"] if d["name"] == deployment]
    triggers: list[dict[str, Any]] = found["triggers"]
    return triggers


def _reconcile_trigger() -> Any:
    """The reconcile deployment's trigger, parsed the way ``prefect deploy`` parses it."""
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger

    (trigger,) = _initialize_deployment_triggers(
        "reconcile-requirement-groups", _triggers("reconcile-requirement-groups")
    )
    assert isinstance(trigger, DeploymentEventTrigger)
    return trigger


def _group_resource(observed_by: str) -> Any:
    from prefect.events.schemas.events import Resource

    from tasks.events import group_event
    from telnyx_compliance.onboarding.results import GroupDecision

    decision = GroupDecision(requirement_group_id="g-1", status="approved", customer_reference="acme")
    spec = group_event(decision, observed_by=observed_by)
    return spec, Resource(spec.resource)


def test_the_trigger_runs_reconcile_once_per_burst_of_approvals() -> None:
    from datetime import timedelta

    from prefect.events.schemas.automations import Posture

    trigger = _reconcile_trigger()

    assert trigger.name == "reconcile-on-approval" and trigger.enabled
    assert trigger.expect == {"telnyx.requirement-group.approved"}
    assert trigger.posture == Posture.Reactive and trigger.threshold == 1
    assert trigger.within == timedelta(minutes=10)
    assert not trigger.for_each  # one bucket for all groups: a burst fires it once


@pytest.mark.parametrize(
    ("observed_by", "fires"),
    [("onboard_customer", True), ("bulk_onboard", True), ("reconcile_requirement_groups", False)],
)
def test_the_trigger_matches_approvals_of_the_onboarding_flows_not_reconciles_own(
    observed_by: str, fires: bool
) -> None:
    trigger = _reconcile_trigger()
    spec, resource = _group_resource(observed_by)

    assert spec.event in trigger.expect
    assert trigger.match.matches(resource) is fires


@pytest.mark.usefixtures("prefect_harness")
async def test_the_automation_is_accepted_by_the_api_and_reads_back() -> None:
    from prefect import flow, get_client
    from prefect.events.actions import RunDeployment

    @flow(name="reconcile_requirement_groups_stand_in")
    def stand_in() -> None:
        """A deployment for the automation's action to name."""

    trigger = _reconcile_trigger()
    async with get_client() as client:
        flow_id = await client.create_flow(stand_in)
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name=f"reconcile-{uuid.uuid4().hex[:8]}"
        )
        trigger.set_deployment_id(deployment_id)
        automation_id = await client.create_automation(trigger.as_automation())
        try:
            stored = await client.read_automation(automation_id)
        finally:
            await client.delete_automation(automation_id)

    assert stored is not None and stored.name == "reconcile-on-approval"
    assert stored.trigger.expect == {"telnyx.requirement-group.approved"}  # type: ignore[union-attr]
    (action,) = stored.actions
    assert isinstance(action, RunDeployment) and action.deployment_id == deployment_id
