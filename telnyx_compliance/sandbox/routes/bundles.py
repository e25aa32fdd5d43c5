"""``/bundle_pricing``: billing bundles and user bundles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from .common import Body, QueryDep, StoreDep, read_body
from .listing import QuerySpec, ops

BUNDLES = QuerySpec(filters={"country_iso": ops("", "in"), "resource": ops("", "in")})

router = APIRouter()


class BulkItem(Body):
    billing_bundle_id: str
    quantity: int


class BulkBundlesBody(Body):
    idempotency_key: str | None = None
    items: list[BulkItem] = Field(min_length=1)


@router.get("/bundle_pricing/billing_bundles")
def list_billing_bundles(store: StoreDep, query: QueryDep) -> Any:
    return BUNDLES.page(store.bundles.list_billing_bundles(BUNDLES.filters_of(query)), query)


@router.get("/bundle_pricing/billing_bundles/{bundle_id}")
def get_billing_bundle(bundle_id: str, store: StoreDep) -> Any:
    return {"data": store.bundles.get_billing_bundle(bundle_id)}


@router.get("/bundle_pricing/user_bundles")
def list_user_bundles(store: StoreDep, query: QueryDep) -> Any:
    return BUNDLES.page(store.bundles.list_user_bundles(BUNDLES.filters_of(query)), query)


@router.post("/bundle_pricing/user_bundles/bulk", status_code=201)
async def create_user_bundles(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, BulkBundlesBody)
    items = [item.model_dump() for item in body.items]
    return {"data": store.bundles.create_user_bundles(items, body.idempotency_key)}


@router.get("/bundle_pricing/user_bundles/unused")
def unused_user_bundles(store: StoreDep, query: QueryDep) -> Any:
    return {"data": store.bundles.unused_user_bundles(BUNDLES.filters_of(query))}


@router.get("/bundle_pricing/user_bundles/{user_bundle_id}")
def get_user_bundle(user_bundle_id: str, store: StoreDep) -> Any:
    return {"data": store.bundles.get_user_bundle(user_bundle_id)}


@router.delete("/bundle_pricing/user_bundles/{user_bundle_id}")
def deactivate_user_bundle(user_bundle_id: str, store: StoreDep) -> Any:
    return {"data": store.bundles.deactivate_user_bundle(user_bundle_id)}


@router.get("/bundle_pricing/user_bundles/{user_bundle_id}/resources")
def user_bundle_resources(user_bundle_id: str, store: StoreDep) -> Any:
    return {"data": store.bundles.user_bundle_resources(user_bundle_id)}
