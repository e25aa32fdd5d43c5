"""``/number_orders``, ``/sub_number_orders`` and ``/number_order_phone_numbers``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from .common import AttachGroupBody, Body, QueryDep, RequirementValue, StoreDep, dump, read_body
from .listing import BOOLEAN, PLAIN, QuerySpec, ops

NUMBER_ORDERS = QuerySpec(
    filters={
        "status": PLAIN,
        "created_at": ops("gt", "lt"),
        "phone_numbers_count": PLAIN,
        "customer_reference": ops("eq", "in"),
        "requirements_met": BOOLEAN,
    },
    default_sort="-created_at",
)
SUB_NUMBER_ORDERS = QuerySpec(
    filters={
        "status": PLAIN,
        "order_request_id": PLAIN,
        "country_code": PLAIN,
        "phone_number_type": PLAIN,
        "phone_numbers_count": PLAIN,
    },
    default_sort="-created_at",
)
SUB_NUMBER_ORDER = QuerySpec(filters={"include_phone_numbers": BOOLEAN})
ORDERED_NUMBERS = QuerySpec(filters={"country_code": PLAIN})

router = APIRouter()


class OrderNumber(Body):
    phone_number: str
    requirement_group_id: str | None = None
    bundle_id: str | None = None


class NumberOrderBody(Body):
    phone_numbers: list[OrderNumber] = Field(min_length=1)
    customer_reference: str | None = None
    connection_id: str | None = None
    messaging_profile_id: str | None = None
    billing_group_id: str | None = None


class RequirementsBody(Body):
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


async def _requirements_body(request: Request) -> dict[str, Any]:
    body = await read_body(request, RequirementsBody)
    fields = dump(body)
    if body.regulatory_requirements is not None:
        fields["regulatory_requirements"] = [v.model_dump() for v in body.regulatory_requirements]
    return fields


# -- number orders -------------------------------------------------------------------------------------------


@router.get("/number_orders")
def list_number_orders(store: StoreDep, query: QueryDep) -> Any:
    return NUMBER_ORDERS.page(store.orders.list_number_orders(NUMBER_ORDERS.filters_of(query)), query)


@router.post("/number_orders")
async def create_number_order(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, NumberOrderBody)
    fields = dump(body) | {"phone_numbers": [n.model_dump() for n in body.phone_numbers]}
    return {"data": store.orders.create_number_order(fields)}


@router.get("/number_orders/{number_order_id}")
def get_number_order(number_order_id: str, store: StoreDep) -> Any:
    return {"data": store.orders.get_number_order(number_order_id)}


@router.patch("/number_orders/{number_order_id}")
async def update_number_order(number_order_id: str, request: Request, store: StoreDep) -> Any:
    return {"data": store.orders.update_number_order(number_order_id, await _requirements_body(request))}


# -- sub-number orders ---------------------------------------------------------------------------------------


@router.get("/sub_number_orders")
def list_sub_number_orders(store: StoreDep, query: QueryDep) -> Any:
    return SUB_NUMBER_ORDERS.page(store.orders.list_sub_orders(SUB_NUMBER_ORDERS.filters_of(query)), query)


@router.post("/sub_number_orders/{sub_number_order_id}/requirement_group")
async def attach_group_to_sub_order(sub_number_order_id: str, request: Request, store: StoreDep) -> Any:
    body = await read_body(request, AttachGroupBody)
    return {"data": store.orders.attach_group_to_sub_order(sub_number_order_id, body.requirement_group_id)}


@router.get("/sub_number_orders/{sub_number_order_id}")
def get_sub_number_order(sub_number_order_id: str, store: StoreDep, query: QueryDep) -> Any:
    filters = SUB_NUMBER_ORDER.filters_of(query)
    include = str(filters.get("include_phone_numbers", "false")).lower() == "true"
    return {"data": store.orders.get_sub_order(sub_number_order_id, include_numbers=include)}


@router.patch("/sub_number_orders/{sub_number_order_id}")
async def update_sub_number_order(sub_number_order_id: str, request: Request, store: StoreDep) -> Any:
    return {"data": store.orders.update_sub_order(sub_number_order_id, await _requirements_body(request))}


@router.patch("/sub_number_orders/{sub_number_order_id}/cancel")
def cancel_sub_number_order(sub_number_order_id: str, store: StoreDep) -> Any:
    return {"data": store.orders.cancel_sub_order(sub_number_order_id)}


# -- ordered numbers -----------------------------------------------------------------------------------------


@router.get("/number_order_phone_numbers")
def list_number_order_phone_numbers(store: StoreDep, query: QueryDep) -> Any:
    return ORDERED_NUMBERS.page(store.orders.list_numbers(ORDERED_NUMBERS.filters_of(query)), query)


@router.post("/number_order_phone_numbers/{number_id}/requirement_group")
async def attach_group_to_number(number_id: str, request: Request, store: StoreDep) -> Any:
    body = await read_body(request, AttachGroupBody)
    return {"data": store.orders.attach_group_to_number(number_id, body.requirement_group_id)}


@router.get("/number_order_phone_numbers/{number_order_phone_number_id}")
def get_number_order_phone_number(number_order_phone_number_id: str, store: StoreDep) -> Any:
    return {"data": store.orders.get_number(number_order_phone_number_id)}


@router.patch("/number_order_phone_numbers/{number_order_phone_number_id}")
async def update_number_order_phone_number(
    number_order_phone_number_id: str, request: Request, store: StoreDep
) -> Any:
    return {
        "data": store.orders.update_number(number_order_phone_number_id, await _requirements_body(request))
    }
