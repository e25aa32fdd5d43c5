"""The sandbox's routes: one ``APIRouter`` per resource, sharing the state, store and auth through ``Depends``
(``common.py``); each list operation declares its filters and sorts once (``listing.QuerySpec``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from . import addresses, bundles, documents, number_orders, requirement_groups, requirements, verified_numbers
from .admin import open_router as sandbox_open_router
from .admin import router as sandbox_router
from .common import SandboxState, api_key, text_parameters

#: In this order (as the contract lists them); within a router, literal paths precede ``{id}`` ones.
RESOURCE_ROUTERS = (
    bundles.router,
    documents.router,
    requirements.router,
    requirement_groups.router,
    addresses.router,
    verified_numbers.router,
    number_orders.router,
)


def api_router() -> APIRouter:
    """Everything under ``/v2``: a Bearer key, text parameters, then the resource's route."""
    router = APIRouter(dependencies=[Depends(api_key), Depends(text_parameters)])
    for resource in RESOURCE_ROUTERS:
        router.include_router(resource)
    return router


def api_paths() -> list[str]:
    """The path templates of ``api_router``'s routes (without the ``/v2`` prefix)."""
    return [
        route.path
        for resource in RESOURCE_ROUTERS
        for route in resource.routes
        if isinstance(route, APIRoute)
    ]


__all__ = ["SandboxState", "api_paths", "api_router", "sandbox_open_router", "sandbox_router"]
