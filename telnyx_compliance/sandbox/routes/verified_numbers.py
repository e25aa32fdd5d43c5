"""``/verified_numbers``: ``POST`` answers unwrapped, like the contract."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from .common import Body, QueryDep, StoreDep, read_body
from .listing import QuerySpec

#: The contract defines no filters here; unknown ones are ignored, not refused.
VERIFIED_NUMBERS = QuerySpec(page_size=25)

router = APIRouter()


class VerifiedNumberBody(Body):
    phone_number: str
    verification_method: Literal["sms", "call"]
    extension: str | None = Field(default=None, max_length=50, pattern=r"^[0-9A-D*#wW]*$")


class VerifyBody(Body):
    verification_code: str = Field(min_length=1)


@router.get("/verified_numbers")
def list_verified_numbers(store: StoreDep, query: QueryDep) -> Any:
    return VERIFIED_NUMBERS.page(store.verified_numbers.list_verified(), query)


@router.post("/verified_numbers")
async def create_verified_number(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, VerifiedNumberBody)
    return store.verified_numbers.request_verification(body.phone_number, body.verification_method)


@router.get("/verified_numbers/{phone_number}")
def get_verified_number(phone_number: str, store: StoreDep) -> Any:
    return {"data": store.verified_numbers.get_verified(phone_number)}


@router.delete("/verified_numbers/{phone_number}")
def delete_verified_number(phone_number: str, store: StoreDep) -> Any:
    return {"data": store.verified_numbers.delete_verified(phone_number)}


@router.post("/verified_numbers/{phone_number}/actions/verify")
async def verify_number(phone_number: str, request: Request, store: StoreDep) -> Any:
    body = await read_body(request, VerifyBody)
    return {"data": store.verified_numbers.verify(phone_number, body.verification_code)}
