"""Upload (or reuse) each document, verifying the sha256 Telnyx stored (library stage ``documents_stage``).

Inside the flow's transaction, a failure before the group is submitted rolls this task back: the documents
it uploaded, and nothing links to yet, are deleted by the library's rollback,
:func:`~telnyx_compliance.onboarding.ensure.discard_uploads` (the runner's too).
"""

from __future__ import annotations

from prefect import task
from prefect.transactions import Transaction, get_transaction

from tasks._client import telnyx_client
from tasks._names import run_name
from tasks._retries import API_TASK_OPTIONS
from tasks._stages import run_stage
from telnyx_compliance.onboarding.ensure import discard_uploads
from telnyx_compliance.onboarding.results import UploadedDocument
from telnyx_compliance.onboarding.runner import StageContext, Submission, documents_stage

#: Transaction value names shared by the onboarding tasks.
UPLOADED_DOCUMENT_IDS = "uploaded_document_ids"
REQUIREMENT_GROUP_ID = "requirement_group_id"


@task(name="upload-documents", task_run_name=run_name("upload-documents"), **API_TASK_OPTIONS)
async def upload_documents(progress: Submission) -> Submission:
    """Upload each planned document, or reuse the one stored under its reference with the same sha256."""
    transaction = get_transaction()
    uploaded: list[str] = list(transaction.get(UPLOADED_DOCUMENT_IDS, [])) if transaction else []

    def remember(document: UploadedDocument) -> None:
        # Recorded as soon as each upload exists, so a failure halfway still rolls back what was uploaded.
        uploaded.append(document.document_id)
        if transaction is not None:
            transaction.set(UPLOADED_DOCUMENT_IDS, list(uploaded))

    return await run_stage(documents_stage, progress, StageContext(on_upload=remember))


@upload_documents.on_rollback  # type: ignore[arg-type]  # Prefect awaits async hooks too
async def discard_uploaded_documents(transaction: Transaction) -> None:
    """Roll back: the library's :func:`discard_uploads` on the documents this run uploaded."""
    document_ids = list(transaction.get(UPLOADED_DOCUMENT_IDS, []))
    if not document_ids:
        return
    async with telnyx_client() as client:
        deleted = await discard_uploads(client, document_ids, transaction.get(REQUIREMENT_GROUP_ID, None))
    transaction.logger.info(
        "rolled back: deleted %d unlinked document(s) %s", len(deleted), ", ".join(deleted)
    )
