"""``/user_addresses``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from .common import Body, StoreDep, dump, invalid_input_is, read_body, request_query
from .listing import QuerySpec, ops

ADDRESSES = QuerySpec(
    filters={"customer_reference": ops("eq", "contains", "in"), "street_address": ops("contains")},
    sorts=("created_at", "first_name", "last_name", "business_name", "street_address"),
    single_sort=True,
)

router = APIRouter()


class AddressBody(Body):
    first_name: str = Field(min_length=1)
    last_name: str = Field(min_length=1)
    business_name: str = Field(min_length=1)
    street_address: str = Field(min_length=1)
    locality: str = Field(min_length=1)
    country_code: str = Field(min_length=2, max_length=2)
    customer_reference: str | None = None
    administrative_area: str | None = None
    borough: str | None = None
    extended_address: str | None = None
    neighborhood: str | None = None
    phone_number: str | None = None
    postal_code: str | None = None
    skip_address_verification: bool | None = None


@router.get("/user_addresses")
@invalid_input_is(400)  # FindUserAddress documents 400 for a bad request, and no 422
def list_user_addresses(request: Request, store: StoreDep) -> Any:
    query = request_query(request)  # parsed here, so a malformed query is a 400 too
    return ADDRESSES.page(store.addresses.list_addresses(ADDRESSES.filters_of(query)), query)


@router.post("/user_addresses")
async def create_user_address(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, AddressBody)
    return {"data": store.addresses.create_address(dump(body))}


@router.get("/user_addresses/{address_id}")
def get_user_address(address_id: str, store: StoreDep) -> Any:
    return {"data": store.addresses.get_address(address_id)}
