"""Documents: upload, review, download links and tokens, and the document links of other resources."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from ..catalog import DENY_MARKER, EICAR
from ..errors import error
from ..query import operator_value
from .core import Part, Record, _locked, _writes, matches_reference, normal_time, public


class DocumentsStore(Part):
    """``/documents`` (review on the sandbox clock, downloads, tokens) and ``/document_links``."""

    @_writes
    def create_document(
        self, content: bytes, *, filename: str | None, content_type: str, customer_reference: str | None
    ) -> Record:
        document_id = self.core.new_id()
        infected = EICAR in content
        document: Record = {
            "id": document_id,
            "record_type": "document",
            "filename": filename or f"{document_id}.bin",
            "content_type": content_type,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": {"amount": len(content), "unit": "bytes"},
            "av_scan_status": "infected" if infected else "scanned",
            "status": "pending",
        }
        if customer_reference is not None:
            document["customer_reference"] = customer_reference
        self.core.stamp(document, created=True)
        document["_unlinked_since"] = document["_created"]
        self.core.sweep_by(document["_created"] + self.core.config.document_ttl)
        self.core.tables["documents"][document_id] = document
        self.core.blobs[document_id] = content
        return self._render_document(document)

    def review(self, document: Record) -> None:
        """pending -> verified/denied once the review time has passed on the sandbox clock."""
        if (
            document["status"] != "pending"
            or self.core.now() < document["_created"] + self.core.config.approve_after
        ):
            return
        content = self.core.blobs.get(document["id"], b"")
        denied = document["av_scan_status"] == "infected" or DENY_MARKER in content
        document["status"] = "denied" if denied else "verified"

    def _render_document(self, document: Record) -> Record:
        self.review(document)
        return public(document)

    @_locked
    def list_documents(self, filters: dict[str, Any]) -> list[Record]:
        documents = list(self.core.tables["documents"].values())
        if "customer_reference" in filters:
            documents = [d for d in documents if matches_reference(d, filters["customer_reference"])]
        filename = filters.get("filename")
        if filename is not None:
            needle = str(operator_value(filename, "contains") or "").lower()
            documents = [d for d in documents if needle in d["filename"].lower()]
        created = filters.get("created_at")
        if isinstance(created, dict):
            if "gt" in created:
                documents = [d for d in documents if d["created_at"] > normal_time(created["gt"], "gt")]
            if "lt" in created:
                documents = [d for d in documents if d["created_at"] < normal_time(created["lt"], "lt")]
        return [self._render_document(d) for d in documents]

    @_locked
    def get_document(self, document_id: str) -> Record:
        return self._render_document(self.core.get_record("documents", document_id, "document"))

    @_writes
    def update_document(self, document_id: str, changes: dict[str, Any]) -> Record:
        document = self.core.get_record("documents", document_id, "document")
        for key in ("customer_reference", "filename"):
            if key in changes and changes[key] is not None:
                document[key] = changes[key]
        self.core.stamp(document)
        return self._render_document(document)

    @_writes
    def delete_document(self, document_id: str) -> Record:
        document = self.core.get_record("documents", document_id, "document")
        links = [
            link for link in self.core.tables["document_links"].values() if link["document_id"] == document_id
        ]
        if links:
            linked = ", ".join(f"{link['linked_record_type']} {link['linked_resource_id']}" for link in links)
            raise error(
                422,
                f"Document {document_id} is linked to {linked}; unlink it before deleting it.",
                pointer="/id",
                title="Document is linked",
            )
        rendered = self._render_document(document)
        self.core.drop_document(document_id)
        return rendered

    @_locked
    def document_content(self, document_id: str) -> tuple[bytes, Record]:
        document = self.core.get_record("documents", document_id, "document")
        return self.core.blobs[document_id], public(document)

    @_writes
    def create_download_token(self, document_id: str) -> str:
        self.core.get_record("documents", document_id, "document")
        token = secrets.token_urlsafe(24)
        self.core.download_tokens[token] = {
            "document_id": document_id,
            "expires": self.core.now() + self.core.config.download_link_ttl,
        }
        return token

    @_locked
    def content_for_token(self, token: str) -> tuple[bytes, Record]:
        link = self.core.download_tokens.get(token)
        if link is None or link["expires"] <= self.core.now():
            raise error(404, "This download link does not exist or has expired.", pointer="/token")
        document = self.core.get_record("documents", link["document_id"], "document")
        return self.core.blobs[document["id"]], public(document)

    @_locked
    def list_document_links(self, filters: dict[str, Any]) -> list[Record]:
        links = list(self.core.tables["document_links"].values())
        for key in ("linked_record_type", "linked_resource_id"):
            if key in filters:
                links = [link for link in links if link[key] == str(filters[key])]
        return [public(link) for link in links]

    def relink(self, record_type: str, resource_id: str, document_ids: Iterable[str]) -> None:
        """Make the document links of one resource exactly ``document_ids``."""
        wanted = set(document_ids)
        links = self.core.tables["document_links"]
        mine = self._links_of(resource_id)
        for link_id in sorted(mine):
            old = links[link_id]
            if old["document_id"] not in wanted:
                del links[link_id]
                mine.discard(link_id)
                self._mark_unlinked(old["document_id"])
        existing = {links[link_id]["document_id"] for link_id in mine}
        for document_id in sorted(wanted - existing):
            link: Record = {
                "id": self.core.new_id(),
                "record_type": "document_link",
                "document_id": document_id,
                "linked_record_type": record_type,
                "linked_resource_id": resource_id,
            }
            links[link["id"]] = self.core.stamp(link, created=True)
            mine.add(link["id"])
            document = self.core.tables["documents"].get(document_id)
            if document is not None:
                document["_unlinked_since"] = None

    def _links_of(self, resource_id: str) -> set[str]:
        """The ids of ``resource_id``'s document links, from an index of the links table (built once per
        table: links change only through :meth:`relink`, which keeps it up to date)."""
        links = self.core.tables["document_links"]
        if self.core.links_index is None or self.core.links_index[0] is not links:
            index: dict[str, set[str]] = {}
            for link_id, link in links.items():
                index.setdefault(link["linked_resource_id"], set()).add(link_id)
            self.core.links_index = (links, index)
        return self.core.links_index[1].setdefault(resource_id, set())

    def _mark_unlinked(self, document_id: str) -> None:
        document = self.core.tables["documents"].get(document_id)
        if document is None:
            return
        if not any(
            link["document_id"] == document_id for link in self.core.tables["document_links"].values()
        ):
            document["_unlinked_since"] = self.core.now()
            self.core.sweep_by(self.core.now() + self.core.config.document_ttl)
