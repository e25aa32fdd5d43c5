"""``/_sandbox``: the admin routes (stats, config, verification codes, clock, reset, expiry) and the open ones
(health, downloads by token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import Field, ValidationError

from ..config import RUNTIME_KNOBS, SandboxConfig
from ..errors import ErrorItem, SandboxError
from ..store import Store, iso
from .common import (
    Body,
    StateDep,
    StoreDep,
    admin_key,
    json_or_key,
    parse_json,
    read_body,
    text_parameters,
    validation_items,
)
from .documents import file_response

#: They read and change everything, so they take the API keys once any are set; the ones that change state
#: take JSON or a key besides, so that no page on another site can drive them through a browser.
router = APIRouter(dependencies=[Depends(admin_key), Depends(json_or_key), Depends(text_parameters)])

#: No key: the health probe, and downloads by an unguessable token. A ``download_link`` URL is a pre-signed
#: URL, like Telnyx's: whoever holds it may fetch that one document until it expires (``download_link_ttl``);
#: the token (192 random bits) is the credential.
open_router = APIRouter(dependencies=[Depends(text_parameters)])


class ClockBody(Body):
    seconds: float = Field(ge=0, le=100 * 365 * 86400)  # a century: beyond, timestamps overflow


@open_router.get("/health")
def health() -> Any:
    return {"status": "ok"}


@open_router.get("/files/{token}")
def download_by_token(token: str, store: StoreDep) -> Response:
    content, document = store.documents.content_for_token(token)
    return file_response(content, document)


@router.get("/stats")
def stats(state: StateDep) -> Any:
    store = state.store
    return {
        "requests": state.stats.snapshot(),
        "resources": store.resource_counts(),
        "duplicates": store.duplicates(),
        "clock": _clock(store),
        "config": state.config.knobs(),
    }


@router.patch("/config")
async def configure(request: Request, state: StateDep) -> Any:
    changes = parse_json(await request.body())
    unknown = sorted(set(changes) - RUNTIME_KNOBS)
    if unknown:
        raise SandboxError(
            422,
            [
                ErrorItem(
                    f"'{name}' cannot be changed at run time; knobs: {', '.join(sorted(RUNTIME_KNOBS))}.",
                    pointer=f"/{name}",
                )
                for name in unknown
            ],
        )
    try:
        SandboxConfig.model_validate(state.config.model_dump() | changes)
    except ValidationError as exc:
        raise SandboxError(422, validation_items(exc)) from None
    for name, value in changes.items():
        setattr(state.config, name, value)
    state.store.config_changed()
    return {"data": state.config.knobs()}


@router.get("/verification_codes/{phone_number}")
def verification_code(phone_number: str, store: StoreDep) -> Any:
    return {"data": store.verified_numbers.verification_code(phone_number)}


@router.post("/clock/advance")
async def advance_clock(request: Request, store: StoreDep) -> Any:
    body = await read_body(request, ClockBody)
    store.advance_clock(body.seconds)
    return {"data": _clock(store)}


@router.get("/clock")
def clock(store: StoreDep) -> Any:
    return {"data": _clock(store)}


@router.post("/reset")
def reset(state: StateDep) -> Any:
    state.store.reset()
    state.stats.reset()
    state.faults.reset()
    return {"data": {"reset": True}}


@router.post("/requirement_groups/{group_id}/expire")
def expire_group(group_id: str, store: StoreDep) -> Any:
    return store.groups.expire_group(group_id)


def _clock(store: Store) -> dict[str, Any]:
    now = store.now()
    return {"now": iso(now), "timestamp": now, "offset_seconds": store.clock_offset}
