"""``AsyncTelnyx``: the hand-written async client (``_sync_client.py`` is generated from this file).

The retry and replay rules: ``docs/retries.md`` (layer 1), decided by ``_base_client.retry_verdict``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, stop_after_delay

from ._base_client import (
    BaseTelnyx,
    RetryRequest,
    Verdict,
    caster,
    logger,
    mark_outcome_unknown,
    retry_verdict,
)
from ._exceptions import APIError
from ._rate_limit import RateLimiter
from ._transport import AsyncTransports
from .resources._async import (
    AsyncBundlePricingResource,
    AsyncDocumentLinksResource,
    AsyncDocumentsResource,
    AsyncNumberOrderPhoneNumbersResource,
    AsyncNumberOrdersResource,
    AsyncPhoneNumbersRegulatoryRequirementsResource,
    AsyncRegulatoryRequirementsResource,
    AsyncRequirementGroupsResource,
    AsyncRequirementsResource,
    AsyncRequirementTypesResource,
    AsyncSubNumberOrdersResource,
    AsyncUserAddressesResource,
    AsyncVerifiedNumbersResource,
)

__all__ = ["AsyncTelnyx"]

R = TypeVar("R")


class AsyncTelnyx(BaseTelnyx):
    """The async Telnyx numbers-compliance client, one pooled ``httpx`` client per instance.

    ``api_key`` defaults to ``TELNYX_API_KEY``, ``base_url`` to ``TELNYX_BASE_URL`` or
    ``https://api.telnyx.com/v2``. ``max_retries`` bounds the retries after the first attempt and
    ``retry_total_timeout`` the seconds one call may spend retrying; ``retry_max_wait`` caps one wait.
    ``transport``: ``aiohttp`` (the default) or ``httpx`` (httpcore's pool), see ``_transport``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        retry_max_wait: float = 30.0,
        retry_total_timeout: float = 120.0,
        rate_limiter: RateLimiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        transport: str = "aiohttp",
        max_connections: int = 100,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_max_wait=retry_max_wait,
            retry_total_timeout=retry_total_timeout,
            rate_limiter=rate_limiter,
            allow_insecure_http=allow_insecure_http,
        )
        self._owns_http = http_client is None
        # The pool opens a connection only when a request finds none idle, so a run never holds more
        # connections than it had requests in flight; ``max_connections`` is a cap, not a target.
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, transport=AsyncTransports.build(transport, max_connections=max_connections)
        )
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

        self.bundle_pricing = AsyncBundlePricingResource(self)
        self.document_links = AsyncDocumentLinksResource(self)
        self.documents = AsyncDocumentsResource(self)
        self.number_order_phone_numbers = AsyncNumberOrderPhoneNumbersResource(self)
        self.number_orders = AsyncNumberOrdersResource(self)
        self.phone_numbers_regulatory_requirements = AsyncPhoneNumbersRegulatoryRequirementsResource(self)
        self.regulatory_requirements = AsyncRegulatoryRequirementsResource(self)
        self.requirement_groups = AsyncRequirementGroupsResource(self)
        self.requirement_types = AsyncRequirementTypesResource(self)
        self.requirements = AsyncRequirementsResource(self)
        self.sub_number_orders = AsyncSubNumberOrdersResource(self)
        self.user_addresses = AsyncUserAddressesResource(self)
        self.verified_numbers = AsyncVerifiedNumbersResource(self)

    async def close(self) -> None:
        """Close the pooled connections (only when the client created them)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncTelnyx:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        cast: Callable[[httpx.Response], R],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        find_existing: Callable[[], Awaitable[R | None]] | None = None,
    ) -> R:
        """Send one API call with rate limiting and retries; return ``cast(response)``.

        ``find_existing`` is consulted when a non-idempotent request fails with an unknown outcome: a
        resource it returns is the result; ``None`` lets the request be replayed.
        """
        is_idempotent = method.upper() not in ("POST",) if idempotent is None else idempotent
        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self.max_retries + 1) | stop_after_delay(self.retry_total_timeout),
            wait=self._retry_wait,
            retry=retry_if_exception_type(RetryRequest),
            before_sleep=lambda state: self._log_retry(state, method, path),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    request = self._build_request(
                        method, path, params=params, json=json, files=files, data=data
                    )
                    reservation = await self.rate_limiter.acquire() if self.rate_limiter is not None else None
                    try:
                        self.stats.record_sent()
                        response: httpx.Response | None = None
                        try:
                            sent_at = time.monotonic()
                            response = await self._http.send(request)
                            self.stats.round_trip.observe(time.monotonic() - sent_at)
                        except httpx.TransportError as exc:
                            raise self._connection_error(exc, request) from None
                        finally:  # also when cancelled: the limiter must hear of every request it let through
                            self._observe(reservation, response)
                        self._check_response(response)
                        return cast(response)
                    except APIError as error:
                        verdict = retry_verdict(error, idempotent=is_idempotent)
                        if verdict is Verdict.RETRY:
                            raise RetryRequest(error) from None
                        if verdict is Verdict.FATAL:
                            raise
                        if find_existing is None:
                            raise mark_outcome_unknown(error) from None
                        try:
                            found = await find_existing()
                        except APIError as lookup_error:
                            raise mark_outcome_unknown(error) from lookup_error
                        if found is not None:
                            self.stats.record_recovery()
                            logger.warning(
                                "%s %s failed with an unknown outcome (%s); found the resource it created",
                                method,
                                path,
                                type(error).__name__,
                            )
                            return found
                        raise RetryRequest(error) from None  # nothing was created: replaying it is safe
        except RetryRequest as spent:  # the attempts ran out: the caller sees the last error itself
            raise spent.error from None
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _get(self, path: str, cast_to: type[R], *, params: Mapping[str, Any] | None = None) -> R:
        return await self._request("GET", path, cast=caster(cast_to), params=params)

    async def _delete(self, path: str, cast_to: type[R]) -> R:
        return await self._request("DELETE", path, cast=caster(cast_to))

    async def _patch(self, path: str, cast_to: type[R], *, json: Any = None) -> R:
        return await self._request("PATCH", path, cast=caster(cast_to), json=json)

    async def _post(
        self,
        path: str,
        cast_to: type[R],
        *,
        json: Any = None,
        files: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        find_existing: Callable[[], Awaitable[R | None]] | None = None,
    ) -> R:
        return await self._request(
            "POST",
            path,
            cast=caster(cast_to),
            json=json,
            files=files,
            data=data,
            idempotent=idempotent,
            find_existing=find_existing,
        )
