"""What every router shares: the sandbox state and its store (``Depends``), auth, query and body parsing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..catalog import NumberInfo, classify_number
from ..config import SandboxConfig
from ..errors import ErrorItem, SandboxError, error
from ..faults import FaultController, RequestStats
from ..hardening import check_parameters, key_accepted, parse_json_text
from ..query import Query, parse_query
from ..store import Store

NUMBER_TYPES = ("local", "toll_free", "mobile", "national", "shared_cost")
ACTIONS = ("ordering", "porting")

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SandboxState:
    """Everything a request may touch, shared by routes and the fault wrapper (``app.state.sandbox``)."""

    config: SandboxConfig
    store: Store
    stats: RequestStats
    faults: FaultController
    #: Documents may come from loopback/private/link-local URLs (``SandboxConfig.allow_private_urls``).
    allow_private_urls: bool = False
    #: What ``download_link`` URLs start with: the sandbox's own URL, never the request's ``Host``.
    public_base_url: str = "http://localhost"


# -- dependencies --------------------------------------------------------------------------------------------


async def sandbox_state(request: Request) -> SandboxState:
    return cast(SandboxState, request.app.state.sandbox)


async def sandbox_store(request: Request) -> Store:
    return (await sandbox_state(request)).store


def request_query(request: Request) -> Query:
    """The deepObject query (``filter[x][in][]=...``) as nested dicts."""
    return parse_query(request.query_params.multi_items())


async def query_of(request: Request) -> Query:
    return request_query(request)


StateDep = Annotated[SandboxState, Depends(sandbox_state)]
StoreDep = Annotated[Store, Depends(sandbox_store)]
QueryDep = Annotated[Query, Depends(query_of)]


def _unauthorized(detail: str) -> SandboxError:
    return error(401, detail, pointer="/authorization", title="Authentication failed", code="10009")


def _bearer_key(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; None when there is none."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


async def _check_key(request: Request, *, admin: bool) -> None:
    keys = (await sandbox_state(request)).config.api_keys
    if admin and not keys:
        return
    key = _bearer_key(request)
    if key is None:
        raise _unauthorized(
            "Could not understand the provided credentials: send 'Authorization: Bearer <API key>'."
        )
    if keys and not key_accepted(key, keys):
        raise _unauthorized("The API key is not valid.")


async def api_key(request: Request) -> None:
    """``/v2``: a Bearer key, one of ``api_keys`` when any are configured (any non-empty key otherwise)."""
    await _check_key(request, admin=False)


async def admin_key(request: Request) -> None:
    """The ``/_sandbox`` admin routes: the same rule while keys are configured; open without keys, which
    ``check_exposure`` allows on loopback only."""
    await _check_key(request, admin=True)


#: Methods that only read: a cross-site request of these can change nothing.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def json_or_key(request: Request) -> None:
    """Admin routes that change state take a JSON body or an API key: 415 otherwise.

    A page on another site can make a browser POST ``text/plain``, a form or nothing without asking first (a
    CORS "simple request"); ``Content-Type: application/json`` or an ``Authorization`` header needs a
    preflight, which the sandbox never grants. So without keys configured, any Bearer key does (as on /v2).
    """
    if request.method in READ_METHODS:
        return
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return
    keys = (await sandbox_state(request)).config.api_keys
    key = _bearer_key(request)
    if key is not None and (not keys or key_accepted(key, keys)):
        return
    sent = f"'{media_type[:60]}'" if media_type else "no Content-Type"
    raise error(
        415,
        f"Sandbox admin routes that change state take 'Content-Type: application/json' (or an API key in "
        f"'Authorization: Bearer <key>'); this request sent {sent}.",
    )


async def text_parameters(request: Request) -> None:
    """Path and query parameters must be text (see ``hardening.check_parameters``)."""
    check_parameters(request.path_params, request.query_params.multi_items())


# -- bodies --------------------------------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RequirementValue(Body):
    requirement_id: str
    field_value: str | None = None


class AttachGroupBody(Body):
    requirement_group_id: str = Field(min_length=1)


def validation_items(exc: ValidationError | RequestValidationError) -> list[ErrorItem]:
    items = []
    for problem in exc.errors():
        location = [str(part) for part in problem["loc"] if part != "body"]
        items.append(
            ErrorItem(f"{'.'.join(location) or 'body'}: {problem['msg']}", pointer="/" + "/".join(location))
        )
    return items


def parse_json(raw: bytes) -> dict[str, Any]:
    data = parse_json_text(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise error(422, "The request body must be a JSON object.", pointer="/")
    return data


async def read_body(request: Request, model: type[M]) -> M:
    """The JSON body validated against ``model``; problems become a 422 with one pointer each."""
    data = parse_json(await request.body())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SandboxError(422, validation_items(exc)) from None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


# -- helpers -------------------------------------------------------------------------------------------------


def invalid_input_is(status: int) -> Callable[[F], F]:
    """For operations whose spec answers invalid input with ``status`` rather than 422."""

    def decorate(route: F) -> F:
        @functools.wraps(route)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return route(*args, **kwargs)
            except SandboxError as exc:
                if exc.status != 422:
                    raise
                raise SandboxError(status, exc.items, exc.headers) from None

        return cast(F, wrapper)

    return decorate


def classify(number: str, parameter: str) -> NumberInfo:
    try:
        return classify_number(number)
    except ValueError as exc:
        raise error(422, str(exc), parameter=parameter) from None
