"""``onboard_customer`` (and ``onboard-one``) take documents as store URLs or as Telnyx document ids."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.sandbox import SandboxServer
from tests.support import MakeRequest

from .support import s3

PIPELINE: dict[str, Any] = {
    "approval_poll_timeout": 10,
    "approval_poll_interval": 0.05,
    "approval_poll_max_interval": 0.2,
}


def _with_documents(request: OnboardingRequest, **changes: Any) -> OnboardingRequest:
    return request.model_copy(update=changes)


def _moved_to_bucket(request: OnboardingRequest, fs: Any, prefix: str) -> tuple[OnboardingRequest, str]:
    """The request's proof of address, put in the bucket and named by URL; (request, sha256 of it)."""
    path = request.documents["proof_of_address"]
    content = path.read_bytes()  # type: ignore[union-attr]
    fs.pipe_file(f"{prefix}/proof.pdf", content)
    url = f"s3://{prefix}/proof.pdf"
    updated = OnboardingRequest.model_validate(
        {**request.model_dump(mode="json"), "documents": {"proof_of_address": url}}
    )
    assert updated.documents["proof_of_address"] == url, "a URL stays a URL (a path would fold its //)"
    return updated, hashlib.sha256(content).hexdigest()


async def test_a_document_url_under_a_storage_root_is_read_from_the_store(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, make_request: MakeRequest
) -> None:
    request, sha256 = _moved_to_bucket(make_request("DE"), s3(s3_endpoint), f"{bucket}/docs")
    settings = PipelineSettings(**PIPELINE, storage_roots=f"s3://{bucket}/docs")
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        result = await onboard(client, request, settings=settings)
        assert result.status == "completed", result.error
        (document_id,) = result.document_ids
        document = (await client.documents.retrieve(document_id)).data
    assert document is not None and document.sha256 == sha256


async def test_a_document_url_outside_the_roots_is_refused_before_anything_is_written(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, make_request: MakeRequest
) -> None:
    request, _ = _moved_to_bucket(make_request("DE"), s3(s3_endpoint), f"{bucket}/private")
    before = sandbox.stats()["resources"]
    for roots in ("", f"s3://{bucket}/docs"):  # none configured; another prefix of the same bucket
        settings = PipelineSettings(**PIPELINE, storage_roots=roots)
        async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
            result = await onboard(client, request, settings=settings)
        assert result.status == "failed"
        assert "proof" in result.error and "outside the folders documents may be read from" in result.error
    assert sandbox.stats()["resources"] == before


async def test_a_document_given_by_id_is_used_as_it_is(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE")
    path = request.documents["proof_of_address"]
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        uploaded = (await client.documents.upload(file=path.read_bytes(), filename="proof.pdf")).data  # type: ignore[union-attr]
        assert uploaded is not None and uploaded.id
        by_id = _with_documents(request, documents={}, document_ids={"proof_of_address": uploaded.id})
        documents_before = sandbox.stats()["resources"]["documents"]
        result = await onboard(client, by_id, settings=PipelineSettings(**PIPELINE))
        assert result.status == "completed", result.error
        assert sandbox.stats()["resources"]["documents"] == documents_before, "nothing uploaded again"
        group = await client.requirement_groups.retrieve(result.requirement_group_id or "")
    assert uploaded.id in {r.field_value for r in group.regulatory_requirements or []}


async def test_a_document_id_that_does_not_exist_fails_the_onboarding_clearly(
    sandbox: SandboxServer, make_request: MakeRequest
) -> None:
    request = make_request("DE")
    missing = "7f3c0a3e-0000-4000-8000-000000000000"
    by_id = _with_documents(request, documents={}, document_ids={"proof_of_address": missing})
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        result = await onboard(client, by_id, settings=PipelineSettings(**PIPELINE))
    assert result.status == "failed"
    assert f"document {missing} (given for proof_of_address) does not exist in Telnyx" in result.error
    assert result.requirement_group_id is None


def test_document_ids_must_look_like_ids() -> None:
    with pytest.raises(ValueError, match="must be a Telnyx id"):
        OnboardingRequest.model_validate(
            {"customer_reference": "c1", "country_code": "DE", "document_ids": {"proof_of_address": "../x"}}
        )


@pytest.mark.usefixtures("prefect_harness")
def test_the_onboard_customer_flow_takes_a_store_url_and_a_document_id(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, make_request: MakeRequest
) -> None:
    from flows.onboard_customer import run_onboard_one

    request, sha256 = _moved_to_bucket(make_request("DE"), s3(s3_endpoint), f"{bucket}/docs")
    telnyx = TelnyxSettings(api_key="k", base_url=sandbox.base_url, retry_max_wait=0.2)
    pipeline = PipelineSettings(**PIPELINE, documents_base_dir=f"s3://{bucket}/docs")
    result = run_onboard_one(request, telnyx, pipeline)
    assert result.status == "completed", result.error

    (document_id,) = result.document_ids
    again = _with_documents(make_request("DE"), documents={}, document_ids={"proof_of_address": document_id})
    second = run_onboard_one(again, telnyx, pipeline)
    assert second.status == "completed", second.error
    assert second.document_ids in ((), (document_id,))

    async def sha_of(document_id: str) -> str | None:
        async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
            found = (await client.documents.retrieve(document_id)).data
            return found.sha256 if found else None

    assert asyncio.run(sha_of(document_id)) == sha256
