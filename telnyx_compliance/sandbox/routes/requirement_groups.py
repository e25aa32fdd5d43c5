"""``/requirement_groups``: unwrapped objects and a bare list, like the contract."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from ..store import GROUP_STATUSES
from .common import ACTIONS, NUMBER_TYPES, Body, QueryDep, RequirementValue, StoreDep, dump, read_body
from .listing import PLAIN, QuerySpec, one_of, ops

GROUPS = QuerySpec(
    filters={
        "country_code": PLAIN,
        "phone_number_type": one_of(*NUMBER_TYPES),
        "action": one_of(*ACTIONS, "action"),
        "status": one_of(*GROUP_STATUSES),
        "customer_reference": ops("eq", "in", "contains"),
    },
    default_sort="-created_at",
)

router = APIRouter()


class CreateGroupBody(Body):
    country_code: str = Field(min_length=2, max_length=2)
    phone_number_type: Literal["local", "toll_free", "mobile", "national", "shared_cost"]
    action: Literal["ordering", "porting"]
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


class UpdateGroupBody(Body):
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


@router.get("/requirement_groups")
def list_requirement_groups(store: StoreDep, query: QueryDep) -> Any:
    return GROUPS.sorted(store.groups.list_groups(GROUPS.filters_of(query)), query)


@router.post("/requirement_groups")
async def create_requirement_group(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, CreateGroupBody)
    return store.groups.create_group(
        dump(body) | {"regulatory_requirements": [v.model_dump() for v in body.regulatory_requirements or []]}
    )


@router.get("/requirement_groups/{group_id}")
def get_requirement_group(group_id: str, store: StoreDep) -> Any:
    return store.groups.get_group(group_id)


@router.patch("/requirement_groups/{group_id}")
async def update_requirement_group(group_id: str, request: Request, store: StoreDep) -> Any:
    body = await read_body(request, UpdateGroupBody)
    fields = dump(body)
    if body.regulatory_requirements is not None:
        fields["regulatory_requirements"] = [v.model_dump() for v in body.regulatory_requirements]
    return store.groups.update_group(group_id, fields)


@router.delete("/requirement_groups/{group_id}")
def delete_requirement_group(group_id: str, store: StoreDep) -> Any:
    return store.groups.delete_group(group_id)


@router.post("/requirement_groups/{group_id}/submit_for_approval")
def submit_requirement_group(group_id: str, store: StoreDep) -> Any:
    return store.groups.submit_group(group_id)
