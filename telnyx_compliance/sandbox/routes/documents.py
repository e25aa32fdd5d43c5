"""``/documents`` (JSON, base64 or URL, and multipart uploads; downloads) and ``/document_links``."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from telnyx_compliance._netguard import ALLOW_PRIVATE_ENV, FetchError, fetch_bytes, redact_url

from ..errors import SandboxError, error
from ..hardening import has_surrogate
from ..store import Record
from .common import (
    Body,
    QueryDep,
    SandboxState,
    StateDep,
    StoreDep,
    dump,
    parse_json,
    read_body,
    validation_items,
)
from .listing import PLAIN, QuerySpec, ops

DOCUMENTS = QuerySpec(
    filters={
        "filename": ops("contains"),
        "customer_reference": ops("eq", "in"),
        "created_at": ops("gt", "lt"),
    },
    sorts=("filename", "created_at", "updated_at"),
)
DOCUMENT_LINKS = QuerySpec(
    filters={"linked_record_type": PLAIN, "linked_resource_id": PLAIN}, default_sort="-created_at"
)

router = APIRouter()


class DocumentJsonBody(Body):
    file: str | None = None
    url: str | None = None
    filename: str | None = None
    customer_reference: str | None = None


class DocumentPatchBody(Body):
    customer_reference: str | None = None
    filename: str | None = None


@router.get("/document_links")
def list_document_links(store: StoreDep, query: QueryDep) -> Any:
    return DOCUMENT_LINKS.page(store.documents.list_document_links(DOCUMENT_LINKS.filters_of(query)), query)


@router.get("/documents")
def list_documents(store: StoreDep, query: QueryDep) -> Any:
    return DOCUMENTS.page(store.documents.list_documents(DOCUMENTS.filters_of(query)), query)


@router.post("/documents")
async def create_document(request: Request, state: StateDep) -> Any:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        content, filename, file_type, reference = await _multipart_document(request)
    else:
        content, filename, file_type, reference = await _json_document(request, state)
    if not content:
        raise error(422, "The uploaded file is empty.", pointer="/file")
    if len(content) > state.config.max_document_bytes:
        raise _document_too_large(state.config.max_document_bytes)
    document = state.store.documents.create_document(
        content, filename=filename, content_type=file_type, customer_reference=reference
    )
    return {"data": document}


@router.get("/documents/{document_id}")
def get_document(document_id: str, store: StoreDep) -> Any:
    return {"data": store.documents.get_document(document_id)}


@router.patch("/documents/{document_id}")
async def update_document(document_id: str, request: Request, store: StoreDep) -> Any:
    body = await read_body(request, DocumentPatchBody)
    return {"data": store.documents.update_document(document_id, dump(body))}


@router.delete("/documents/{document_id}")
def delete_document(document_id: str, store: StoreDep) -> Any:
    return {"data": store.documents.delete_document(document_id)}


@router.get("/documents/{document_id}/download")
def download_document(document_id: str, store: StoreDep) -> Response:
    content, document = store.documents.document_content(document_id)
    return file_response(content, document)


@router.get("/documents/{document_id}/download_link")
def document_download_link(document_id: str, state: StateDep) -> Any:
    try:
        token = state.store.documents.create_download_token(document_id)
    except SandboxError as exc:
        if exc.status == 404:  # this operation's 404 is a bare error object (ResourceNotFound)
            return JSONResponse(exc.body()["errors"][0], status_code=404)
        raise
    # The sandbox's own URL, never the request's Host: a link must not point wherever a header says.
    return {"data": {"url": f"{state.public_base_url}/_sandbox/files/{token}"}}


# -- uploads and downloads -----------------------------------------------------------------------------------


def file_response(content: bytes, document: Record) -> Response:
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
    data = parse_json(await request.body())
    if isinstance(data.get("document"), dict) and "file" not in data and "url" not in data:
        data = data["document"]  # the official SDK nests the fields under "document"
    try:
        body = DocumentJsonBody.model_validate(data)
    except ValidationError as exc:
        raise SandboxError(422, validation_items(exc)) from None
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
