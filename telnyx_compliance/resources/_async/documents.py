"""``client.documents`` and ``client.document_links``."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import httpx

from ..._base_client import path_param, request_body
from ..._files import FileInput, read_upload
from ..._pagination import AsyncPaginator
from ...models.documents import (
    DocServiceDocument,
    DocServiceDocumentLink,
    DocumentDeleteResponse,
    DocumentGenerateDownloadLinkResponse,
    DocumentRetrieveResponse,
    DocumentUpdateParams,
    DocumentUpdateResponse,
    DocumentUploadJsonParams,
    DocumentUploadJsonResponse,
    DocumentUploadResponse,
)
from ._resource import LOOKUP_PAGE_SIZE, AsyncAPIResource, AsyncFindExisting, finder

__all__ = ["AsyncDocumentLinksResource", "AsyncDocumentsResource"]

E = TypeVar("E", DocumentUploadResponse, DocumentUploadJsonResponse)


def _download_bytes(response: httpx.Response) -> bytes:
    return response.content


class AsyncDocumentsResource(AsyncAPIResource):
    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
        sort: Sequence[str] | None = None,
    ) -> AsyncPaginator[DocServiceDocument]:
        """``filter={"customer_reference": {"eq": "x"}}`` or ``{"customer_reference": {"in": ["a", "b"]}}``,
        ``{"filename": {"contains": "bill"}}``, ``{"created_at": {"gt": "..."}}``;
        ``sort=["-created_at"]``."""
        return AsyncPaginator(
            self._client,
            "/documents",
            DocServiceDocument,
            params={"filter": filter, "sort": sort},
            page_number=page_number,
            page_size=page_size,
        )

    async def find_by_reference(self, *customer_references: str) -> builtins.list[DocServiceDocument]:
        """Every document stored under exactly one of these references (the filter ignores case), in the
        API's order: one listing filtered ``customer_reference[in]``, read page by page."""
        wanted = set(customer_references)
        found: builtins.list[DocServiceDocument] = []
        async for document in self.list(
            filter={"customer_reference": {"in": builtins.list(customer_references)}},
            page_size=LOOKUP_PAGE_SIZE,
        ):
            if document.customer_reference in wanted:
                found.append(document)
        return found

    def _find_by_reference(self, customer_reference: str, envelope: type[E]) -> AsyncFindExisting[E]:
        async def first() -> DocServiceDocument | None:
            return next(iter(await self.find_by_reference(customer_reference)), None)

        async def shape(document: DocServiceDocument) -> E:
            return envelope(data=document)

        return finder(first, shape)

    async def upload(
        self,
        *,
        file: FileInput,
        customer_reference: str | None = None,
        filename: str | None = None,
        find_existing: AsyncFindExisting[DocumentUploadResponse] | None = None,
    ) -> DocumentUploadResponse:
        """Upload ``multipart/form-data``: a path, bytes, a binary file or ``(name, bytes[, type])``.

        With a ``customer_reference``, an upload whose outcome is unknown is looked up by that reference
        (or with ``find_existing``) before being replayed.
        """
        name, content, content_type = read_upload(file, filename)
        if find_existing is None and customer_reference:
            find_existing = self._find_by_reference(customer_reference, DocumentUploadResponse)
        return await self._client._post(
            "/documents",
            DocumentUploadResponse,
            files={"file": (name, content, content_type)},
            data={"customer_reference": customer_reference} if customer_reference else None,
            find_existing=find_existing,
        )

    async def upload_json(
        self,
        *,
        document: DocumentUploadJsonParams | Mapping[str, Any],
        find_existing: AsyncFindExisting[DocumentUploadJsonResponse] | None = None,
    ) -> DocumentUploadJsonResponse:
        """Upload as JSON: ``document={"file": <base64 str or raw bytes>, "filename": ...,
        "customer_reference": ...}`` or ``{"url": "https://..."}``."""
        fields = dict(
            document.model_dump(exclude_none=True)
            if isinstance(document, DocumentUploadJsonParams)
            else document
        )
        if isinstance(fields.get("file"), bytes | bytearray):
            fields["file"] = base64.b64encode(fields["file"]).decode("ascii")
        body = request_body(DocumentUploadJsonParams, **fields)
        reference = body.get("customer_reference")
        if find_existing is None and reference:
            find_existing = self._find_by_reference(reference, DocumentUploadJsonResponse)
        return await self._client._post(
            "/documents", DocumentUploadJsonResponse, json=body, find_existing=find_existing
        )

    async def retrieve(self, id: str) -> DocumentRetrieveResponse:
        return await self._client._get(f"/documents/{path_param(id)}", DocumentRetrieveResponse)

    async def update(
        self, document_id: str, *, customer_reference: str | None = None, filename: str | None = None
    ) -> DocumentUpdateResponse:
        body = request_body(DocumentUpdateParams, customer_reference=customer_reference, filename=filename)
        return await self._client._patch(
            f"/documents/{path_param(document_id)}", DocumentUpdateResponse, json=body
        )

    async def delete(self, id: str) -> DocumentDeleteResponse:
        return await self._client._delete(f"/documents/{path_param(id)}", DocumentDeleteResponse)

    async def download(self, id: str) -> bytes:
        """The document's bytes."""
        return await self._client._request(
            "GET", f"/documents/{path_param(id)}/download", cast=_download_bytes
        )

    async def generate_download_link(self, id: str) -> DocumentGenerateDownloadLinkResponse:
        return await self._client._get(
            f"/documents/{path_param(id)}/download_link", DocumentGenerateDownloadLinkResponse
        )


class AsyncDocumentLinksResource(AsyncAPIResource):
    def list(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[DocServiceDocumentLink]:
        """``filter={"linked_record_type": ..., "linked_resource_id": ...}``."""
        return AsyncPaginator(
            self._client,
            "/document_links",
            DocServiceDocumentLink,
            params={"filter": filter},
            page_number=page_number,
            page_size=page_size,
        )
