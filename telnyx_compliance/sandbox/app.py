"""The sandbox's HTTP surface: thin FastAPI routes over ``Store``; faults come from ``FaultInjector``.

Paths, query styles, status codes and body shapes follow the shared OpenAPI spec, quirks included (bare array
from ``GET /requirement_groups``, unwrapped group objects, unwrapped ``POST /verified_numbers``, binary
download, 201 from ``POST /bundle_pricing/user_bundles/bulk``).

Hostile input gets a 4xx in Telnyx's error format, never a 5xx: bodies are size-capped and strictly parsed
(see ``hardening.py``), documents are fetched from URLs through ``_netguard`` only, and the admin routes take
the same API keys as ``/v2`` once keys are configured.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import mimetypes
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast
from urllib.parse import quote, unquote, urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from telnyx_compliance._netguard import ALLOW_PRIVATE_ENV, FetchError, fetch_bytes, redact_url

from .catalogue import classify_number
from .config import RUNTIME_KNOBS, SandboxConfig
from .errors import ErrorItem, SandboxError, error
from .faults import FaultController, FaultInjector, RequestStats
from .hardening import (
    BodyLimit,
    SafeJSONResponse,
    check_parameters,
    has_surrogate,
    is_loopback_host,
    key_accepted,
    parse_json_text,
)
from .persistence import attach_persistence
from .query import (
    Query,
    bool_value,
    check_filter,
    enum_value,
    filter_values,
    paginate,
    parse_query,
    read_page,
    sort_records,
)
from .store import Record, Store, iso

NUMBER_TYPES = ("local", "toll_free", "mobile", "national", "shared_cost")
ACTIONS = ("ordering", "porting")

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)


@dataclass
class SandboxState:
    """Everything a request may touch, shared by routes and the fault wrapper."""

    config: SandboxConfig
    store: Store
    stats: RequestStats
    faults: FaultController
    #: Documents may come from loopback/private/link-local URLs (``SandboxConfig.allow_private_urls``).
    allow_private_urls: bool = False


# -- request bodies ----------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RequirementValue(_Body):
    requirement_id: str
    field_value: str | None = None


class CreateGroupBody(_Body):
    country_code: str = Field(min_length=2, max_length=2)
    phone_number_type: Literal["local", "toll_free", "mobile", "national", "shared_cost"]
    action: Literal["ordering", "porting"]
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


class UpdateGroupBody(_Body):
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


class AddressBody(_Body):
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


class DocumentJsonBody(_Body):
    file: str | None = None
    url: str | None = None
    filename: str | None = None
    customer_reference: str | None = None


class DocumentPatchBody(_Body):
    customer_reference: str | None = None
    filename: str | None = None


class OrderNumber(_Body):
    phone_number: str
    requirement_group_id: str | None = None
    bundle_id: str | None = None


class NumberOrderBody(_Body):
    phone_numbers: list[OrderNumber] = Field(min_length=1)
    customer_reference: str | None = None
    connection_id: str | None = None
    messaging_profile_id: str | None = None
    billing_group_id: str | None = None


class RequirementsBody(_Body):
    customer_reference: str | None = None
    regulatory_requirements: list[RequirementValue] | None = None


class AttachGroupBody(_Body):
    requirement_group_id: str = Field(min_length=1)


class BulkItem(_Body):
    billing_bundle_id: str
    quantity: int


class BulkBundlesBody(_Body):
    idempotency_key: str | None = None
    items: list[BulkItem] = Field(min_length=1)


class VerifiedNumberBody(_Body):
    phone_number: str
    verification_method: Literal["sms", "call"]
    extension: str | None = Field(default=None, max_length=50, pattern=r"^[0-9A-D*#wW]*$")


class VerifyBody(_Body):
    verification_code: str = Field(min_length=1)


class ClockBody(_Body):
    seconds: float = Field(ge=0, le=100 * 365 * 86400)  # a century: beyond, timestamps overflow


def _validation_items(exc: ValidationError | RequestValidationError) -> list[ErrorItem]:
    items = []
    for problem in exc.errors():
        location = [str(part) for part in problem["loc"] if part != "body"]
        items.append(
            ErrorItem(f"{'.'.join(location) or 'body'}: {problem['msg']}", pointer="/" + "/".join(location))
        )
    return items


def _parse_json(raw: bytes) -> dict[str, Any]:
    data = parse_json_text(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise error(422, "The request body must be a JSON object.", pointer="/")
    return data


async def read_body(request: Request, model: type[M]) -> M:
    """The JSON body validated against ``model``; problems become a 422 with one pointer each."""
    data = _parse_json(await request.body())
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SandboxError(422, _validation_items(exc)) from None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


# -- app -----------------------------------------------------------------------------------------------------


def create_app(config: SandboxConfig | None = None, *, host: str | None = None) -> FastAPI:
    """A sandbox app with its own store; the same config object is changed by ``PATCH /_sandbox/config``.

    ``host`` is the interface it will listen on: with ``allow_private_urls`` unset, documents may be fetched
    from private URLs only when that is loopback (unknown, as for an app used in-process: refused).
    """
    config = config or SandboxConfig()
    store = Store(config)
    persistence = attach_persistence(store, config.persist_path)
    allow_private = config.allow_private_urls
    if allow_private is None:
        allow_private = host is not None and is_loopback_host(host)
    state = SandboxState(
        config=config,
        store=store,
        stats=RequestStats(),
        faults=FaultController(config),
        allow_private_urls=allow_private,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if persistence is not None:
            persistence.flush(store)

    app = FastAPI(
        title="Telnyx compliance sandbox",
        version="1.0",
        lifespan=lifespan,
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.state.sandbox = state
    api = _api_router(state)
    app.include_router(api, prefix="/v2")
    app.include_router(_sandbox_router(state), prefix="/_sandbox")
    app.include_router(_sandbox_open_router(state), prefix="/_sandbox")
    _install_error_handlers(app)
    templates = sorted(
        {"/v2" + route.path for route in api.routes if isinstance(route, APIRoute)},
        key=lambda path: (path.count("{"), path),  # literal segments win: /user_bundles/unused before /{id}
    )
    # Added first, so it runs inside the fault wrapper: faults keep the server's own receive (see faults.py).
    app.add_middleware(BodyLimit, limit=lambda: config.body_limit)
    app.add_middleware(
        FaultInjector,
        controller=state.faults,
        stats=state.stats,
        templates=[(compile_path(path)[0], path) for path in templates],
    )
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SandboxError)
    async def sandbox_error(_: Request, exc: SandboxError) -> JSONResponse:
        return SafeJSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return SafeJSONResponse(SandboxError(422, _validation_items(exc)).body(), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # A sandbox bug, not the client's fault: still a Telnyx-shaped body (Starlette logs the traceback).
        logger.error("Unexpected error in %s %s: %r", request.method, request.url.path, exc)
        return SafeJSONResponse(
            error(500, "The sandbox failed to handle this request (a sandbox bug).").body(), status_code=500
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = (
            f"No route {request.method} {request.url.path}."
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return SafeJSONResponse(error(exc.status_code, detail).body(), status_code=exc.status_code)


def _unauthorized(detail: str) -> SandboxError:
    return error(401, detail, pointer="/authorization", title="Authentication failed", code="10009")


def _auth(state: SandboxState, *, admin: bool = False) -> Any:
    """``/v2``: a Bearer key, one of ``api_keys`` when any are configured (any non-empty key otherwise).

    ``admin`` (the ``/_sandbox`` routes): the same rule while keys are configured; open without keys, which
    ``check_exposure`` allows on loopback only.
    """

    async def check(request: Request) -> None:
        keys = state.config.api_keys
        if admin and not keys:
            return
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _unauthorized(
                "Could not understand the provided credentials: send 'Authorization: Bearer <API key>'."
            )
        if keys and not key_accepted(key, keys):
            raise _unauthorized("The API key is not valid.")

    return check


async def _text_parameters(request: Request) -> None:
    """Path and query parameters must be text (see ``hardening.check_parameters``)."""
    check_parameters(request.path_params, request.query_params.multi_items())


def _query(request: Request) -> Query:
    return parse_query(request.query_params.multi_items())


def _list(records: list[Record], query: Query, default_size: int = 20) -> dict[str, Any]:
    data, meta = paginate(records, read_page(query, default_size))
    return {"data": data, "meta": meta}


def _api_router(state: SandboxState) -> APIRouter:
    store = state.store
    catalogue = store.catalogue
    router = APIRouter(dependencies=[Depends(_auth(state)), Depends(_text_parameters)])

    # -- bundle pricing ------------------------------------------------------------------------------------

    bundle_filters = {"country_iso": {"", "in"}, "resource": {"", "in"}}

    @router.get("/bundle_pricing/billing_bundles")
    def list_billing_bundles(request: Request) -> Any:
        query = _query(request)
        return _list(store.list_billing_bundles(check_filter(query, bundle_filters)), query)

    @router.get("/bundle_pricing/billing_bundles/{bundle_id}")
    def get_billing_bundle(bundle_id: str) -> Any:
        return {"data": store.get_billing_bundle(bundle_id)}

    @router.get("/bundle_pricing/user_bundles")
    def list_user_bundles(request: Request) -> Any:
        query = _query(request)
        return _list(store.list_user_bundles(check_filter(query, bundle_filters)), query)

    @router.post("/bundle_pricing/user_bundles/bulk", status_code=201)
    async def create_user_bundles(request: Request) -> Any:
        body = await read_body(request, BulkBundlesBody)
        items = [item.model_dump() for item in body.items]
        return {"data": store.create_user_bundles(items, body.idempotency_key)}

    @router.get("/bundle_pricing/user_bundles/unused")
    def unused_user_bundles(request: Request) -> Any:
        return {"data": store.unused_user_bundles(check_filter(_query(request), bundle_filters))}

    @router.get("/bundle_pricing/user_bundles/{user_bundle_id}")
    def get_user_bundle(user_bundle_id: str) -> Any:
        return {"data": store.get_user_bundle(user_bundle_id)}

    @router.delete("/bundle_pricing/user_bundles/{user_bundle_id}")
    def deactivate_user_bundle(user_bundle_id: str) -> Any:
        return {"data": store.deactivate_user_bundle(user_bundle_id)}

    @router.get("/bundle_pricing/user_bundles/{user_bundle_id}/resources")
    def user_bundle_resources(user_bundle_id: str) -> Any:
        return {"data": store.user_bundle_resources(user_bundle_id)}

    # -- documents -----------------------------------------------------------------------------------------

    @router.get("/document_links")
    def list_document_links(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(query, {"linked_record_type": None, "linked_resource_id": None})
        links = sort_records(store.list_document_links(filters), None, ("created_at",))
        return _list(links, query)

    @router.get("/documents")
    def list_documents(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(
            query, {"filename": {"contains"}, "customer_reference": {"eq", "in"}, "created_at": {"gt", "lt"}}
        )
        documents = sort_records(
            store.list_documents(filters), query.get("sort"), ("filename", "created_at", "updated_at")
        )
        return _list(documents, query)

    @router.post("/documents")
    async def create_document(request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            content, filename, file_type, reference = await _multipart_document(request)
        else:
            content, filename, file_type, reference = await _json_document(request, state)
        if not content:
            raise error(422, "The uploaded file is empty.", pointer="/file")
        if len(content) > state.config.max_document_bytes:
            raise _document_too_large(state.config.max_document_bytes)
        document = store.create_document(
            content, filename=filename, content_type=file_type, customer_reference=reference
        )
        return {"data": document}

    @router.get("/documents/{document_id}")
    def get_document(document_id: str) -> Any:
        return {"data": store.get_document(document_id)}

    @router.patch("/documents/{document_id}")
    async def update_document(document_id: str, request: Request) -> Any:
        body = await read_body(request, DocumentPatchBody)
        return {"data": store.update_document(document_id, dump(body))}

    @router.delete("/documents/{document_id}")
    def delete_document(document_id: str) -> Any:
        return {"data": store.delete_document(document_id)}

    @router.get("/documents/{document_id}/download")
    def download_document(document_id: str) -> Response:
        content, document = store.document_content(document_id)
        return _file_response(content, document)

    @router.get("/documents/{document_id}/download_link")
    def document_download_link(document_id: str, request: Request) -> Any:
        try:
            token = store.create_download_token(document_id)
        except SandboxError as exc:
            if exc.status == 404:  # this operation's 404 is a bare error object (ResourceNotFound)
                return JSONResponse(exc.body()["errors"][0], status_code=404)
            raise
        return {"data": {"url": str(request.base_url).rstrip("/") + f"/_sandbox/files/{token}"}}

    # -- requirements catalogue ----------------------------------------------------------------------------

    @router.get("/requirement_types")
    def list_requirement_types(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(query, {"name": {"contains"}})
        types = [t.as_requirement_type() for t in catalogue.requirement_types]
        if "name" in filters:
            needle = str(
                filters["name"].get("contains", "") if isinstance(filters["name"], dict) else filters["name"]
            ).lower()
            types = [t for t in types if needle in t["name"].lower()]
        types = sort_records(types, query.get("sort"), ("name", "created_at", "updated_at"), default="name")
        return {
            "data": types,
            "meta": {
                "page_number": 1,
                "page_size": max(1, len(types)),
                "total_pages": 1 if types else 0,
                "total_results": len(types),
            },
        }

    @router.get("/requirement_types/{type_id}")
    def get_requirement_type(type_id: str) -> Any:
        requirement_type = catalogue.requirement_type(type_id)
        if requirement_type is None:
            raise error(404, f"The requested requirement type '{type_id}' does not exist.", pointer="/id")
        return {"data": requirement_type.as_requirement_type()}

    @router.get("/requirements")
    def list_requirements(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(query, {"country_code": None, "phone_number_type": None, "action": None})
        requirements = [
            r for r in catalogue.requirements if r.phone_number_type in ("local", "national", "toll_free")
        ]
        if "country_code" in filters:
            requirements = [r for r in requirements if r.country_code == str(filters["country_code"]).upper()]
        if "phone_number_type" in filters:
            number_type = enum_value(
                filters["phone_number_type"], ("local", "national", "toll_free"), "filter[phone_number_type]"
            )
            requirements = [r for r in requirements if r.phone_number_type == number_type]
        if "action" in filters:
            action = enum_value(
                filters["action"], ("branded_calling", "ordering", "porting"), "filter[action]"
            )
            requirements = [r for r in requirements if r.action == action]
        records = sort_records(
            [r.as_doc_reqs_requirement() for r in requirements],
            query.get("sort"),
            ("created_at", "updated_at", "country_code", "phone_number_type"),
            default="country_code",
        )
        return _list(records, query)

    @router.get("/requirements/{requirement_id}")
    def get_requirement(requirement_id: str) -> Any:
        requirement = catalogue.requirement(requirement_id)
        if requirement is None or requirement.phone_number_type not in ("local", "national", "toll_free"):
            raise error(404, f"The requested requirement '{requirement_id}' does not exist.", pointer="/id")
        return {"data": requirement.as_doc_reqs_requirement()}

    @router.get("/regulatory_requirements")
    def list_regulatory_requirements(request: Request) -> Any:
        filters = check_filter(
            _query(request),
            {
                "phone_number": None,
                "requirement_group_id": None,
                "country_code": None,
                "phone_number_type": None,
                "action": None,
            },
        )
        requirements = list(catalogue.requirements)
        if "requirement_group_id" in filters:
            requirements = [store.group_requirement(str(filters["requirement_group_id"]))]
        if "phone_number" in filters:
            info = _classify(str(filters["phone_number"]), "filter[phone_number]")
            requirements = [
                r
                for r in requirements
                if (r.country_code, r.phone_number_type) == (info.country_code, info.phone_number_type)
            ]
        if "country_code" in filters:
            requirements = [r for r in requirements if r.country_code == str(filters["country_code"]).upper()]
        if "phone_number_type" in filters:
            number_type = enum_value(filters["phone_number_type"], NUMBER_TYPES, "filter[phone_number_type]")
            requirements = [r for r in requirements if r.phone_number_type == number_type]
        if "action" in filters:
            action = enum_value(filters["action"], (*ACTIONS, "action"), "filter[action]")
            requirements = [r for r in requirements if r.action == action]
        return {"data": [r.as_regulatory_requirements() for r in requirements]}

    @router.get("/phone_numbers_regulatory_requirements")
    def list_phone_number_requirements(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(query, {"phone_number": None})
        numbers = filter_values(filters.get("phone_number", ""))
        if not numbers:
            raise error(
                422,
                "filter[phone_number] is required: one or more E.164 numbers, comma separated.",
                parameter="filter[phone_number]",
            )
        records = []
        for number in numbers:
            info = _classify(number.strip(), "filter[phone_number]")
            requirement = catalogue.find(info.country_code, info.phone_number_type, "ordering")
            records.append(
                {
                    "phone_number": info.phone_number,
                    "phone_number_type": info.phone_number_type,
                    "record_type": "phone_number_regulatory_requirements",
                    "region_information": [{"region_type": "country_code", "region_name": info.country_code}],
                    "regulatory_requirements": [
                        t.as_phone_number_requirement() for t in (requirement.types if requirement else ())
                    ],
                }
            )
        return _list(records, query)

    # -- requirement groups (unwrapped objects, bare list) -------------------------------------------------

    @router.get("/requirement_groups")
    def list_requirement_groups(request: Request) -> Any:
        filters = check_filter(
            _query(request),
            {
                "country_code": None,
                "phone_number_type": None,
                "action": None,
                "status": None,
                "customer_reference": {"eq", "in", "contains"},
            },
        )
        if "phone_number_type" in filters:
            enum_value(filters["phone_number_type"], NUMBER_TYPES, "filter[phone_number_type]")
        if "action" in filters:
            enum_value(filters["action"], (*ACTIONS, "action"), "filter[action]")
        if "status" in filters:
            enum_value(
                filters["status"],
                ("approved", "unapproved", "pending-approval", "declined", "expired"),
                "filter[status]",
            )
        return sort_records(store.list_groups(filters), None, ("created_at",))

    @router.post("/requirement_groups")
    async def create_requirement_group(request: Request) -> Any:
        body = await read_body(request, CreateGroupBody)
        return store.create_group(
            dump(body)
            | {"regulatory_requirements": [v.model_dump() for v in body.regulatory_requirements or []]}
        )

    @router.get("/requirement_groups/{group_id}")
    def get_requirement_group(group_id: str) -> Any:
        return store.get_group(group_id)

    @router.patch("/requirement_groups/{group_id}")
    async def update_requirement_group(group_id: str, request: Request) -> Any:
        body = await read_body(request, UpdateGroupBody)
        fields = dump(body)
        if body.regulatory_requirements is not None:
            fields["regulatory_requirements"] = [v.model_dump() for v in body.regulatory_requirements]
        return store.update_group(group_id, fields)

    @router.delete("/requirement_groups/{group_id}")
    def delete_requirement_group(group_id: str) -> Any:
        return store.delete_group(group_id)

    @router.post("/requirement_groups/{group_id}/submit_for_approval")
    def submit_requirement_group(group_id: str) -> Any:
        return store.submit_group(group_id)

    # -- user addresses ------------------------------------------------------------------------------------

    @router.get("/user_addresses")
    @_invalid_input_is(400)  # FindUserAddress documents 400 for a bad request, and no 422
    def list_user_addresses(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(
            query, {"customer_reference": {"eq", "contains", "in"}, "street_address": {"contains"}}
        )
        sort = query.get("sort")
        if sort not in (None, ""):
            enum_value(
                sort,
                (
                    "created_at",
                    "first_name",
                    "last_name",
                    "business_name",
                    "street_address",
                    "-created_at",
                    "-first_name",
                    "-last_name",
                    "-business_name",
                    "-street_address",
                ),
                "sort",
            )
        addresses = sort_records(
            store.list_addresses(filters),
            sort,
            ("created_at", "first_name", "last_name", "business_name", "street_address"),
        )
        return _list(addresses, query)

    @router.post("/user_addresses")
    async def create_user_address(request: Request) -> Any:
        body = await read_body(request, AddressBody)
        return {"data": store.create_address(dump(body))}

    @router.get("/user_addresses/{address_id}")
    def get_user_address(address_id: str) -> Any:
        return {"data": store.get_address(address_id)}

    # -- verified numbers ----------------------------------------------------------------------------------

    @router.get("/verified_numbers")
    def list_verified_numbers(request: Request) -> Any:
        query = _query(request)
        return _list(store.list_verified(), query, default_size=25)

    @router.post("/verified_numbers")
    async def create_verified_number(request: Request) -> Any:
        body = await read_body(request, VerifiedNumberBody)
        return store.request_verification(body.phone_number, body.verification_method)

    @router.get("/verified_numbers/{phone_number}")
    def get_verified_number(phone_number: str) -> Any:
        return {"data": store.get_verified(phone_number)}

    @router.delete("/verified_numbers/{phone_number}")
    def delete_verified_number(phone_number: str) -> Any:
        return {"data": store.delete_verified(phone_number)}

    @router.post("/verified_numbers/{phone_number}/actions/verify")
    async def verify_number(phone_number: str, request: Request) -> Any:
        body = await read_body(request, VerifyBody)
        return {"data": store.verify(phone_number, body.verification_code)}

    # -- orders --------------------------------------------------------------------------------------------

    @router.get("/number_orders")
    def list_number_orders(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(
            query,
            {
                "status": None,
                "created_at": {"gt", "lt"},
                "phone_numbers_count": None,
                "customer_reference": {"eq", "in"},
                "requirements_met": None,
            },
        )
        if "requirements_met" in filters:
            bool_value(filters["requirements_met"], "filter[requirements_met]")
        return _list(sort_records(store.list_number_orders(filters), None, ("created_at",)), query)

    @router.post("/number_orders")
    async def create_number_order(request: Request) -> Any:
        body = await read_body(request, NumberOrderBody)
        fields = dump(body) | {"phone_numbers": [n.model_dump() for n in body.phone_numbers]}
        return {"data": store.create_number_order(fields)}

    @router.get("/number_orders/{number_order_id}")
    def get_number_order(number_order_id: str) -> Any:
        return {"data": store.get_number_order(number_order_id)}

    @router.patch("/number_orders/{number_order_id}")
    async def update_number_order(number_order_id: str, request: Request) -> Any:
        return {"data": store.update_number_order(number_order_id, await _requirements_body(request))}

    @router.get("/sub_number_orders")
    def list_sub_number_orders(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(
            query,
            {
                "status": None,
                "order_request_id": None,
                "country_code": None,
                "phone_number_type": None,
                "phone_numbers_count": None,
            },
        )
        return _list(sort_records(store.list_sub_orders(filters), None, ("created_at",)), query)

    @router.post("/sub_number_orders/{sub_number_order_id}/requirement_group")
    async def attach_group_to_sub_order(sub_number_order_id: str, request: Request) -> Any:
        body = await read_body(request, AttachGroupBody)
        return {"data": store.attach_group_to_sub_order(sub_number_order_id, body.requirement_group_id)}

    @router.get("/sub_number_orders/{sub_number_order_id}")
    def get_sub_number_order(sub_number_order_id: str, request: Request) -> Any:
        filters = check_filter(_query(request), {"include_phone_numbers": None})
        include = bool_value(filters.get("include_phone_numbers", "false"), "filter[include_phone_numbers]")
        return {"data": store.get_sub_order(sub_number_order_id, include_numbers=include)}

    @router.patch("/sub_number_orders/{sub_number_order_id}")
    async def update_sub_number_order(sub_number_order_id: str, request: Request) -> Any:
        return {"data": store.update_sub_order(sub_number_order_id, await _requirements_body(request))}

    @router.patch("/sub_number_orders/{sub_number_order_id}/cancel")
    def cancel_sub_number_order(sub_number_order_id: str) -> Any:
        return {"data": store.cancel_sub_order(sub_number_order_id)}

    @router.get("/number_order_phone_numbers")
    def list_number_order_phone_numbers(request: Request) -> Any:
        query = _query(request)
        filters = check_filter(query, {"country_code": None})
        return _list(store.list_numbers(filters), query)

    @router.post("/number_order_phone_numbers/{number_id}/requirement_group")
    async def attach_group_to_number(number_id: str, request: Request) -> Any:
        body = await read_body(request, AttachGroupBody)
        return {"data": store.attach_group_to_number(number_id, body.requirement_group_id)}

    @router.get("/number_order_phone_numbers/{number_order_phone_number_id}")
    def get_number_order_phone_number(number_order_phone_number_id: str) -> Any:
        return {"data": store.get_number(number_order_phone_number_id)}

    @router.patch("/number_order_phone_numbers/{number_order_phone_number_id}")
    async def update_number_order_phone_number(number_order_phone_number_id: str, request: Request) -> Any:
        return {"data": store.update_number(number_order_phone_number_id, await _requirements_body(request))}

    return router


def _invalid_input_is(status: int) -> Callable[[F], F]:
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


async def _requirements_body(request: Request) -> dict[str, Any]:
    body = await read_body(request, RequirementsBody)
    fields = dump(body)
    if body.regulatory_requirements is not None:
        fields["regulatory_requirements"] = [v.model_dump() for v in body.regulatory_requirements]
    return fields


def _classify(number: str, parameter: str) -> Any:
    try:
        return classify_number(number)
    except ValueError as exc:
        raise error(422, str(exc), parameter=parameter) from None


def _file_response(content: bytes, document: Record) -> Response:
    filename = quote(str(document.get("filename") or document["id"]))
    return Response(
        content,
        media_type=document.get("content_type") or "application/octet-stream",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


def _content_type(content: bytes, filename: str | None, declared: str | None = None) -> str:
    if declared and declared not in ("application/octet-stream", ""):
        return declared
    guessed = mimetypes.guess_type(filename or "")[0]
    if guessed:
        return guessed
    for magic, sniffed in (
        (b"%PDF", "application/pdf"),
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
    ):
        if content.startswith(magic):
            return sniffed
    return "application/octet-stream"


def _document_too_large(limit: int) -> SandboxError:
    return error(422, f"The document is larger than the {limit} bytes this sandbox accepts.", pointer="/file")


async def _multipart_document(request: Request) -> tuple[bytes, str | None, str, str | None]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise error(422, "multipart upload needs a 'file' part.", pointer="/file")
    content = await upload.read()
    reference = form.get("customer_reference")
    filename = form.get("filename")
    name = filename if isinstance(filename, str) and filename else upload.filename
    for field, text in (("customer_reference", reference), ("filename", name)):
        if isinstance(text, str) and has_surrogate(text):
            raise error(422, f"{field} is not valid text.", pointer=f"/{field}")
    return (
        content,
        name,
        _content_type(content, name, upload.content_type),
        reference if isinstance(reference, str) else None,
    )


async def _json_document(request: Request, state: SandboxState) -> tuple[bytes, str | None, str, str | None]:
    data = _parse_json(await request.body())
    if isinstance(data.get("document"), dict) and "file" not in data and "url" not in data:
        data = data["document"]  # the official SDK nests the fields under "document"
    try:
        body = DocumentJsonBody.model_validate(data)
    except ValidationError as exc:
        raise SandboxError(422, _validation_items(exc)) from None
    limit = state.config.max_document_bytes
    if body.file:
        if len(body.file) > (limit + 2) // 3 * 4 + 4:  # no need to decode what cannot fit
            raise _document_too_large(limit)
        try:
            content = base64.b64decode(body.file, validate=True)
        except (binascii.Error, ValueError):
            raise error(422, "file must be base64 encoded.", pointer="/file") from None
        declared = None
    elif body.url:
        content, declared = await _fetch(body.url, state)
    else:
        raise error(422, "Provide the document as 'file' (base64) or 'url'.", pointer="/file")
    filename = body.filename or (_url_filename(body.url) if body.url else None)
    return content, filename, _content_type(content, filename, declared), body.customer_reference


def _url_filename(url: str) -> str | None:
    """The last segment of the URL's path: never its host, credentials or query."""
    try:
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    except ValueError:
        return None
    return name if name and not has_surrogate(name) else None


async def _fetch(url: str, state: SandboxState) -> tuple[bytes, str | None]:
    """The document at ``url`` under ``_netguard``'s rules; any failure is a 422 naming the URL redacted."""
    try:
        return await fetch_bytes(
            url,
            max_bytes=state.config.max_document_bytes,
            time_limit=state.config.url_fetch_timeout,
            allow_private=state.allow_private_urls,
        )
    except FetchError as exc:
        # The library's hint names the pipeline's switch; the sandbox has its own.
        detail = str(exc).replace(
            f"set {ALLOW_PRIVATE_ENV}=1",
            "start the sandbox with --allow-private-urls (SANDBOX_ALLOW_PRIVATE_URLS)",
        )
    except (ValueError, OSError, httpx.InvalidURL) as exc:  # e.g. a host name httpx cannot put on the wire
        detail = f"{redact_url(url)}: could not fetch it ({type(exc).__name__})"
    raise error(422, f"Could not fetch the document: {detail}", pointer="/url")


# -- sandbox-only routes -----------------------------------------------------------------------------------


def _sandbox_open_router(state: SandboxState) -> APIRouter:
    """``/_sandbox`` routes that need no key: the health probe, and downloads by an unguessable token.

    A ``download_link`` URL is a pre-signed URL, like Telnyx's: whoever holds it may fetch that one document
    until it expires (``download_link_ttl``); the token (192 random bits) is the credential.
    """
    router = APIRouter(dependencies=[Depends(_text_parameters)])
    store = state.store

    @router.get("/health")
    def health() -> Any:
        return {"status": "ok"}

    @router.get("/files/{token}")
    def download_by_token(token: str) -> Response:
        content, document = store.content_for_token(token)
        return _file_response(content, document)

    return router


def _sandbox_router(state: SandboxState) -> APIRouter:
    """The admin routes: they read and change everything, so they take the API keys once any are set."""
    router = APIRouter(dependencies=[Depends(_auth(state, admin=True)), Depends(_text_parameters)])
    store = state.store

    @router.get("/stats")
    def stats() -> Any:
        return {
            "requests": state.stats.snapshot(),
            "resources": store.resource_counts(),
            "duplicates": store.duplicates(),
            "clock": _clock(store),
            "config": state.config.knobs(),
        }

    @router.patch("/config")
    async def configure(request: Request) -> Any:
        changes = _parse_json(await request.body())
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
            raise SandboxError(422, _validation_items(exc)) from None
        for name, value in changes.items():
            setattr(state.config, name, value)
        store.config_changed()
        return {"data": state.config.knobs()}

    @router.get("/verification_codes/{phone_number}")
    def verification_code(phone_number: str) -> Any:
        return {"data": store.verification_code(phone_number)}

    @router.post("/clock/advance")
    async def advance_clock(request: Request) -> Any:
        body = await read_body(request, ClockBody)
        store.advance_clock(body.seconds)
        return {"data": _clock(store)}

    @router.get("/clock")
    def clock() -> Any:
        return {"data": _clock(store)}

    @router.post("/reset")
    def reset() -> Any:
        store.reset()
        state.stats.reset()
        state.faults.reset()
        return {"data": {"reset": True}}

    @router.post("/requirement_groups/{group_id}/expire")
    def expire_group(group_id: str) -> Any:
        return store.expire_group(group_id)

    return router


def _clock(store: Store) -> dict[str, Any]:
    now = store.now()
    return {"now": iso(now), "timestamp": now, "offset_seconds": store.clock_offset}
