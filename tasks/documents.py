"""Stage 4: upload (or reuse) each document, verifying the sha256 Telnyx stored.

Inside the flow's transaction, a failure before the group is submitted rolls this task back: the documents
it uploaded, and nothing links to yet, are deleted (:func:`discard_uploaded_documents`).
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.transactions import Transaction, get_transaction

from tasks._client import telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from telnyx_compliance.onboarding.plan import OnboardingPlan
from telnyx_compliance.onboarding.results import UploadedDocument
from telnyx_compliance.onboarding.steps import discard_unlinked_documents, ensure_documents

#: Transaction value names shared with the flow.
UPLOADED_DOCUMENT_IDS = "uploaded_document_ids"
REQUIREMENT_GROUP_ID = "requirement_group_id"


@task(name="upload-documents", task_run_name=run_name("upload-documents"), **API_TASK_OPTIONS)
async def upload_documents(plan: OnboardingPlan) -> list[UploadedDocument]:
    """Upload each planned document, or reuse the one stored under its reference with the same sha256."""
    transaction = get_transaction()
    uploaded: list[str] = list(transaction.get(UPLOADED_DOCUMENT_IDS, [])) if transaction else []

    def remember(document: UploadedDocument) -> None:
        # Recorded as soon as each upload exists, so a failure halfway still rolls back what was uploaded.
        uploaded.append(document.document_id)
        if transaction is not None:
            transaction.set(UPLOADED_DOCUMENT_IDS, list(uploaded))

    async with telnyx_client() as client:
        documents = await ensure_documents(client, plan, on_upload=remember)
    logger = get_run_logger()
    for document in documents:
        verb = "uploaded" if document.created else "reused"
        logger.info(
            "%s %s as document %s (sha256 %s)",
            verb,
            document.filename,
            document.document_id,
            document.sha256[:12],
        )
    return documents


@upload_documents.on_rollback  # type: ignore[arg-type]  # Prefect awaits async hooks too
async def discard_uploaded_documents(transaction: Transaction) -> None:
    """Delete the documents this run uploaded that are not linked to anything (Telnyx refuses linked ones)."""
    document_ids = list(transaction.get(UPLOADED_DOCUMENT_IDS, []))
    if not document_ids:
        return
    group_id = transaction.get(REQUIREMENT_GROUP_ID, None)
    async with telnyx_client() as client:
        deleted = await discard_unlinked_documents(
            client, document_ids, linked_to=[group_id] if group_id else []
        )
    transaction.logger.info(
        "rolled back: deleted %d unlinked document(s) %s", len(deleted), ", ".join(deleted)
    )
