"""Every one of the 49 operations, called through the client against Prism serving the shared spec.

Prism runs with ``--errors``: a request that breaks the contract (path, query style, body, auth) is answered
with a 4xx, which the client raises (``max_retries=0``) and fails the test. Responses must parse into models.
"""

from __future__ import annotations

import httpx
import pytest

from telnyx_compliance import AsyncPage, AsyncTelnyx, Page, Telnyx, models

pytestmark = pytest.mark.contract

UUID = "6a09cdc3-8948-47f0-aa62-74ac943d6c58"
PHONE = "+15551234567"


@pytest.fixture
async def client(prism_url: str) -> AsyncTelnyx:
    async with AsyncTelnyx(api_key="contract-key", base_url=prism_url, max_retries=0, timeout=15) as client:
        yield client  # type: ignore[misc]


async def test_bundle_pricing(client: AsyncTelnyx) -> None:
    bundles = await client.bundle_pricing.billing_bundles.list(
        filter={"country_iso": ["US", "DE"], "resource": ["+15617819942"]}, page_number=1, page_size=20
    )
    assert isinstance(bundles, AsyncPage) and isinstance(bundles.data[0], models.BillingBundleSummary)
    assert bundles.meta is not None and bundles.meta.total_results is not None
    bundle = await client.bundle_pricing.billing_bundles.retrieve(UUID)
    assert isinstance(bundle, models.BillingBundleRetrieveResponse) and bundle.data is not None

    user_bundles = client.bundle_pricing.user_bundles
    created = await user_bundles.create(items=[{"billing_bundle_id": UUID, "quantity": 1}])
    assert isinstance(created, models.UserBundleCreateResponse) and created.data
    page = await user_bundles.list(filter={"country_iso": ["US"]}, page_size=5)
    assert isinstance(page.data[0], models.UserBundle)
    unused = await user_bundles.list_unused(filter={"country_iso": ["US"]})
    assert isinstance(unused, models.UserBundleListUnusedResponse)
    assert isinstance(await user_bundles.retrieve(UUID), models.UserBundleRetrieveResponse)
    assert isinstance(await user_bundles.deactivate(UUID), models.UserBundleDeactivateResponse)
    resources = await user_bundles.list_resources(UUID)
    assert isinstance(resources, models.UserBundleListResourcesResponse) and resources.data


async def test_documents(client: AsyncTelnyx) -> None:
    links = await client.document_links.list(
        filter={"linked_record_type": "porting_order", "linked_resource_id": UUID},
        page_number=1,
        page_size=10,
    )
    assert isinstance(links.data[0], models.DocServiceDocumentLink)

    page = await client.documents.list(
        filter={
            "customer_reference": {"in": ["tc-a", "tc-b"]},
            "filename": {"contains": "bill"},
            "created_at": {"gt": "2021-04-09T22:25:27.521Z"},
        },
        sort=["filename", "-created_at"],
        page_number=1,
        page_size=25,
    )
    assert isinstance(page.data[0], models.DocServiceDocument)
    await client.documents.list(filter={"customer_reference": {"eq": "tc-a"}}).first_page()

    uploaded = await client.documents.upload(
        file=b"%PDF-1.4 test", filename="proof.pdf", customer_reference="tc-a"
    )
    assert isinstance(uploaded, models.DocumentUploadResponse) and uploaded.data is not None
    uploaded_json = await client.documents.upload_json(
        document={"file": b"%PDF-1.4 test", "filename": "proof.pdf", "customer_reference": "tc-a"}
    )
    assert isinstance(uploaded_json, models.DocumentUploadJsonResponse)
    by_url = await client.documents.upload_json(document={"url": "https://example.com/proof.pdf"})
    assert by_url.data is not None
    retrieved = await client.documents.retrieve(UUID)
    assert isinstance(retrieved, models.DocumentRetrieveResponse) and retrieved.data is not None
    assert retrieved.data.status in ("pending", "verified", "denied")
    updated = await client.documents.update(UUID, customer_reference="tc-b", filename="b.pdf")
    assert isinstance(updated, models.DocumentUpdateResponse)
    assert isinstance(await client.documents.delete(UUID), models.DocumentDeleteResponse)
    link = await client.documents.generate_download_link(UUID)
    assert link.data is not None and link.data.url
    # documents.download: Prism cannot serve content type "*"; covered with MockTransport in test_client_unit.


async def test_number_orders(client: AsyncTelnyx) -> None:
    order = await client.number_orders.create(
        phone_numbers=[
            {"phone_number": "+19705555098", "bundle_id": UUID},
            {"phone_number": "+4930123456", "requirement_group_id": UUID},
        ],
        customer_reference="tc-acme-de-local-order",
        billing_group_id="bg",
        connection_id="123",
        messaging_profile_id="mp",
    )
    assert isinstance(order, models.NumberOrderCreateResponse) and order.data is not None
    page = await client.number_orders.list(
        filter={
            "status": "pending",
            "customer_reference": "tc-acme",
            "requirements_met": True,
            "created_at": {"gt": "2024-01-01", "lt": "2025-01-01"},
            "phone_numbers_count": "1",
        },
        page_number=1,
        page_size=10,
    )
    assert isinstance(page.data[0], models.NumberOrder)
    assert isinstance(await client.number_orders.retrieve(UUID), models.NumberOrderRetrieveResponse)
    updated = await client.number_orders.update(
        UUID, customer_reference="x", regulatory_requirements=[{"requirement_id": UUID, "field_value": "v"}]
    )
    assert isinstance(updated, models.NumberOrderUpdateResponse)

    subs = await client.sub_number_orders.list(
        filter={
            "order_request_id": UUID,
            "country_code": "DE",
            "phone_number_type": "local",
            "status": "pending",
        }
    )
    assert isinstance(subs, models.SubNumberOrderListResponse) and subs.data
    sub = await client.sub_number_orders.retrieve(UUID, filter={"include_phone_numbers": True})
    assert isinstance(sub, models.SubNumberOrderRetrieveResponse)
    sub_updated = await client.sub_number_orders.update(
        UUID, regulatory_requirements=[{"requirement_id": UUID, "field_value": "v"}]
    )
    assert isinstance(sub_updated, models.SubNumberOrderUpdateResponse)
    assert isinstance(await client.sub_number_orders.cancel(UUID), models.SubNumberOrderCancelResponse)
    grouped = await client.sub_number_orders.update_requirement_group(UUID, requirement_group_id=UUID)
    assert isinstance(grouped, models.SubNumberOrderUpdateRequirementGroupResponse)

    numbers = await client.number_order_phone_numbers.list(filter={"country_code": "DE"})
    assert isinstance(numbers, models.NumberOrderPhoneNumberListResponse)
    number = await client.number_order_phone_numbers.retrieve(UUID)
    assert isinstance(number, models.NumberOrderPhoneNumberRetrieveResponse)
    requirements = await client.number_order_phone_numbers.update_requirements(
        UUID, regulatory_requirements=[{"requirement_id": UUID, "field_value": "v"}]
    )
    assert isinstance(requirements, models.NumberOrderPhoneNumberUpdateRequirementsResponse)
    number_group = await client.number_order_phone_numbers.update_requirement_group(
        UUID, requirement_group_id=UUID
    )
    assert isinstance(number_group, models.NumberOrderPhoneNumberUpdateRequirementGroupResponse)


async def test_requirements_catalog(client: AsyncTelnyx) -> None:
    types = await client.requirement_types.list(filter={"name": {"contains": "utility"}}, sort=["name"])
    assert isinstance(types, models.RequirementTypeListResponse) and types.data
    assert isinstance(await client.requirement_types.retrieve(UUID), models.RequirementTypeRetrieveResponse)
    page = await client.requirements.list(
        filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"},
        sort=["country_code"],
        page_number=1,
        page_size=50,
    )
    assert isinstance(page.data[0], models.DocReqsRequirement)
    assert isinstance(await client.requirements.retrieve(UUID), models.RequirementRetrieveResponse)
    regulatory = await client.regulatory_requirements.retrieve(
        filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"}
    )
    assert isinstance(regulatory, models.RegulatoryRequirementRetrieveResponse) and regulatory.data
    by_number = await client.phone_numbers_regulatory_requirements.retrieve(
        filter={"phone_number": "+41215470622,+41215470633"}
    )
    assert isinstance(by_number, models.PhoneNumbersRegulatoryRequirementRetrieveResponse)


async def test_requirement_groups(client: AsyncTelnyx) -> None:
    group = await client.requirement_groups.create(
        action="ordering",
        country_code="DE",
        phone_number_type="local",
        customer_reference="tc-acme-de-local-group",
        regulatory_requirements=[{"requirement_id": UUID, "field_value": "value"}],
    )
    assert isinstance(group, models.RequirementGroup)
    groups = await client.requirement_groups.list(
        filter={
            "customer_reference": "tc-acme",
            "country_code": "DE",
            "status": "approved",
            "action": "ordering",
        }
    )
    assert isinstance(groups, list) and all(isinstance(item, models.RequirementGroup) for item in groups)
    assert isinstance(await client.requirement_groups.retrieve(UUID), models.RequirementGroup)
    updated = await client.requirement_groups.update(
        UUID, customer_reference="x", regulatory_requirements=[{"requirement_id": UUID, "field_value": "v"}]
    )
    assert isinstance(updated, models.RequirementGroup)
    assert isinstance(await client.requirement_groups.submit_for_approval(UUID), models.RequirementGroup)
    assert isinstance(await client.requirement_groups.delete(UUID), models.RequirementGroup)


async def test_user_addresses(client: AsyncTelnyx) -> None:
    created = await client.user_addresses.create(
        first_name="Alfred",
        last_name="Foster",
        business_name="Acme GmbH",
        street_address="Unter den Linden 1",
        locality="Berlin",
        country_code="DE",
        postal_code="10117",
        customer_reference="tc-acme-de-local-address",
        phone_number="+4930123456",
        skip_address_verification=True,
    )
    assert isinstance(created, models.UserAddressCreateResponse) and created.data is not None
    page = await client.user_addresses.list(
        filter={"customer_reference": {"eq": "tc-acme"}, "street_address": {"contains": "Linden"}},
        sort="street_address",
        page_number=1,
        page_size=10,
    )
    assert isinstance(page.data[0], models.UserAddress)
    assert isinstance(await client.user_addresses.retrieve(UUID), models.UserAddressRetrieveResponse)


async def test_verified_numbers(client: AsyncTelnyx) -> None:
    created = await client.verified_numbers.create(phone_number=PHONE, verification_method="sms")
    assert isinstance(created, models.VerifiedNumberCreateResponse) and created.phone_number
    call = await client.verified_numbers.create(
        phone_number=PHONE, verification_method="call", extension="ww243w1"
    )
    assert call.verification_method
    page = await client.verified_numbers.list(page_number=1, page_size=25)
    assert isinstance(page.data[0], models.VerifiedNumber)
    assert isinstance(await client.verified_numbers.retrieve(PHONE), models.VerifiedNumberDataWrapper)
    verified = await client.verified_numbers.actions.submit_verification_code(
        PHONE, verification_code="123456"
    )
    assert isinstance(verified, models.VerifiedNumberDataWrapper)
    assert isinstance(await client.verified_numbers.delete(PHONE), models.VerifiedNumberDataWrapper)


async def test_auto_pagination_terminates_against_static_examples(client: AsyncTelnyx) -> None:
    items = [document async for document in client.documents.list(page_size=5)]
    assert items and all(isinstance(item, models.DocServiceDocument) for item in items)


async def test_prism_rejects_a_request_that_breaks_the_contract(prism_url: str) -> None:
    """The harness is able to fail: a bad sort value and a missing key are refused."""
    from telnyx_compliance import AuthenticationError, UnprocessableEntityError

    async with AsyncTelnyx(api_key="k", base_url=prism_url, max_retries=0) as client:
        with pytest.raises(UnprocessableEntityError):
            await client.documents.list(sort=["not-a-field"]).first_page()
    async with httpx.AsyncClient() as raw:
        response = await raw.get(f"{prism_url}/documents")
    assert response.status_code == 401
    assert AuthenticationError.__mro__[1].__name__ == "APIStatusError"


def test_sync_client_against_prism(prism_url: str) -> None:
    with Telnyx(api_key="contract-key", base_url=prism_url, max_retries=0) as client:
        page = client.documents.list(filter={"customer_reference": {"eq": "tc-a"}}, page_size=10).first_page()
        assert isinstance(page, Page) and isinstance(page.data[0], models.DocServiceDocument)
        group = client.requirement_groups.create(
            action="ordering", country_code="DE", phone_number_type="local"
        )
        assert isinstance(group, models.RequirementGroup)
        assert isinstance(client.requirement_groups.list(), list)
        address = client.user_addresses.create(
            first_name="A",
            last_name="B",
            business_name="C",
            street_address="D 1",
            locality="E",
            country_code="DE",
        )
        assert address.data is not None
        assert client.verified_numbers.retrieve(PHONE).data is not None
        assert [item for item in client.bundle_pricing.billing_bundles.list()]
