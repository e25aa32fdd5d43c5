"""The sandbox's HTTP app: the routers of ``routes/`` over ``Store``; faults come from ``FaultInjector``.

Paths, query styles, status codes and body shapes follow the shared OpenAPI spec, quirks included (bare array
from ``GET /requirement_groups``, unwrapped group objects, unwrapped ``POST /verified_numbers``, binary
download, 201 from ``POST /bundle_pricing/user_bundles/bulk``).

Hostile input gets a 4xx in Telnyx's error format, never a 5xx: bodies are size-capped and strictly parsed
(see ``hardening.py``), documents are fetched from URLs through ``_netguard`` only, and the admin routes take
the same API keys as ``/v2`` once keys are configured. On loopback a foreign ``Host`` is a 421 (DNS
rebinding), admin writes need JSON or a key (cross-site POSTs), and links are built on the sandbox's own URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from telnyx_compliance._safe_logging import library_logger

from .config import SandboxConfig
from .errors import SandboxError, error
from .faults import FaultController, FaultInjector, RequestStats
from .hardening import BodyLimit, HostAllowList, SafeJSONResponse, allowed_hosts, is_loopback_host
from .persistence import attach_persistence
from .routes import SandboxState, api_paths, api_router, sandbox_open_router, sandbox_router
from .routes.common import validation_items
from .store import Store

__all__ = ["SandboxState", "create_app"]

logger = library_logger(__name__)


def create_app(
    config: SandboxConfig | None = None, *, host: str | None = None, root_url: str | None = None
) -> FastAPI:
    """A sandbox app with its own store; the same config object is changed by ``PATCH /_sandbox/config``.

    ``host`` is the interface it will listen on: with ``allow_private_urls`` unset, documents may be fetched
    from private URLs only when that is loopback (unknown, as for an app used in-process: refused); requests
    must name an allowed host (``hardening.allowed_hosts``). ``root_url`` is the URL it serves on
    (``http://127.0.0.1:4010``): download links start with ``config.public_base_url``, else with it, else with
    ``http://localhost``.
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
        public_base_url=(config.public_base_url or root_url or "http://localhost").rstrip("/"),
    )
    hosts = allowed_hosts(config, host, root_url)

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
    api = api_router()
    app.include_router(api, prefix="/v2")
    app.include_router(sandbox_router, prefix="/_sandbox")
    app.include_router(sandbox_open_router, prefix="/_sandbox")
    _install_error_handlers(app)
    templates = sorted(
        {"/v2" + path for path in api_paths()},
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
    if hosts is not None:  # added last, so outermost: a foreign Host reaches nothing, not even the stats
        app.add_middleware(HostAllowList, allowed=hosts)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SandboxError)
    async def sandbox_error(_: Request, exc: SandboxError) -> JSONResponse:
        return SafeJSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return SafeJSONResponse(SandboxError(422, validation_items(exc)).body(), status_code=422)

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
