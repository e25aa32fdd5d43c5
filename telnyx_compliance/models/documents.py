"""Documents and document links (``/documents``, ``/document_links``)."""

from __future__ import annotations

from typing import Literal

from .shared import RequestModel, TelnyxModel

__all__ = [
    "DocServiceDocument",
    "DocServiceDocumentLink",
    "DocumentDeleteResponse",
    "DocumentDownloadLink",
    "DocumentGenerateDownloadLinkResponse",
    "DocumentRetrieveResponse",
    "DocumentSize",
    "DocumentUpdateParams",
    "DocumentUpdateResponse",
    "DocumentUploadJsonParams",
    "DocumentUploadJsonResponse",
    "DocumentUploadResponse",
]


class DocumentSize(TelnyxModel):
    amount: int | None = None
    unit: str | None = None


class DocServiceDocument(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    av_scan_status: Literal["scanned", "infected", "pending_scan", "not_scanned"] | str | None = None
    content_type: str | None = None
    customer_reference: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: DocumentSize | None = None
    status: Literal["pending", "verified", "denied"] | str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class DocServiceDocumentLink(TelnyxModel):
    id: str | None = None
    record_type: str | None = None
    document_id: str | None = None
    linked_record_type: str | None = None
    linked_resource_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class _DocumentEnvelope(TelnyxModel):
    data: DocServiceDocument | None = None


class DocumentUploadResponse(_DocumentEnvelope):
    pass


class DocumentUploadJsonResponse(_DocumentEnvelope):
    pass


class DocumentRetrieveResponse(_DocumentEnvelope):
    pass


class DocumentUpdateResponse(_DocumentEnvelope):
    pass


class DocumentDeleteResponse(_DocumentEnvelope):
    pass


class DocumentDownloadLink(TelnyxModel):
    url: str | None = None


class DocumentGenerateDownloadLinkResponse(TelnyxModel):
    data: DocumentDownloadLink | None = None


class DocumentUploadJsonParams(RequestModel):
    """``CreateDocServiceDocumentRequest``: ``file`` is base64, or give a public ``url``."""

    customer_reference: str | None = None
    file: str | None = None
    filename: str | None = None
    url: str | None = None


class DocumentUpdateParams(RequestModel):
    customer_reference: str | None = None
    filename: str | None = None
