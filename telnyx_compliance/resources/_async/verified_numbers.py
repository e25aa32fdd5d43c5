"""``client.verified_numbers`` and ``client.verified_numbers.actions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..._base_client import path_param, request_body, validate_e164
from ..._pagination import AsyncPaginator
from ...models.verified_numbers import (
    VerificationCodeParams,
    VerifiedNumber,
    VerifiedNumberCreateParams,
    VerifiedNumberCreateResponse,
    VerifiedNumberDataWrapper,
)
from ._resource import AsyncAPIResource

if TYPE_CHECKING:
    from ..._client import AsyncTelnyx

__all__ = ["AsyncActionsResource", "AsyncVerifiedNumbersResource"]


def _number_path(phone_number: str) -> str:
    return f"/verified_numbers/{path_param(validate_e164(phone_number))}"


class AsyncActionsResource(AsyncAPIResource):
    async def submit_verification_code(
        self, phone_number: str, *, verification_code: str
    ) -> VerifiedNumberDataWrapper:
        body = request_body(VerificationCodeParams, verification_code=verification_code)
        return await self._client._post(
            f"{_number_path(phone_number)}/actions/verify", VerifiedNumberDataWrapper, json=body
        )


class AsyncVerifiedNumbersResource(AsyncAPIResource):
    def __init__(self, client: AsyncTelnyx) -> None:
        super().__init__(client)
        self.actions = AsyncActionsResource(client)

    async def create(
        self, *, phone_number: str, verification_method: Literal["sms", "call"], extension: str | None = None
    ) -> VerifiedNumberCreateResponse:
        """Start verification (sends an SMS or places a call); answered unwrapped."""
        validate_e164(phone_number)
        body = request_body(
            VerifiedNumberCreateParams,
            phone_number=phone_number,
            verification_method=verification_method,
            extension=extension,
        )
        return await self._client._post("/verified_numbers", VerifiedNumberCreateResponse, json=body)

    def list(
        self, *, page_number: int | None = None, page_size: int | None = None
    ) -> AsyncPaginator[VerifiedNumber]:
        return AsyncPaginator(
            self._client, "/verified_numbers", VerifiedNumber, page_number=page_number, page_size=page_size
        )

    async def retrieve(self, phone_number: str) -> VerifiedNumberDataWrapper:
        return await self._client._get(_number_path(phone_number), VerifiedNumberDataWrapper)

    async def delete(self, phone_number: str) -> VerifiedNumberDataWrapper:
        return await self._client._delete(_number_path(phone_number), VerifiedNumberDataWrapper)
