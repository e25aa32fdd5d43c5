"""The official ``telnyx`` SDK, validating every response strictly, runs a whole onboarding on the sandbox."""

from __future__ import annotations

import base64

import telnyx

from telnyx_compliance.sandbox import SandboxServer

#: The official SDK opens its own connections.
REAL_SOCKET = "the official SDK opens its own connections"

PDF = b"%PDF-1.4\n% utility bill, Friedrichstrasse 123, Berlin\n%%EOF\n"


def test_the_official_sdk_onboards_a_german_local_number(sandbox: SandboxServer) -> None:
    client = telnyx.Telnyx(
        api_key="KEY", base_url=sandbox.base_url, _strict_response_validation=True, max_retries=0
    )

    # 1. What does a German local number need?
    per_number = client.phone_numbers_regulatory_requirements.retrieve(filter={"phone_number": "+4930123456"})
    assert per_number.data is not None and per_number.data[0].phone_number_type == "local"
    requirements = client.regulatory_requirements.retrieve(
        filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"}
    )
    assert requirements.data is not None
    needed = requirements.data[0].regulatory_requirements or []
    assert {r.field_type for r in needed} == {"address", "document", "textual"}
    catalog = client.requirements.list(filter={"country_code": "DE", "phone_number_type": "local"})
    assert catalog.data

    # 2. Address and document.
    address = client.user_addresses.create(
        customer_reference="sdk-acme-de-local-ordering-address",
        first_name="Maria",
        last_name="Schmidt",
        business_name="Acme GmbH",
        street_address="Friedrichstraße 123",
        locality="Berlin",
        postal_code="10117",
        country_code="DE",
    )
    assert address.data is not None and address.data.id
    document = client.documents.upload_json(
        document={
            "file": base64.b64encode(PDF).decode(),
            "filename": "utility-bill.pdf",
            "customer_reference": "sdk-acme-de-local-ordering-doc",
        }
    )
    assert document.data is not None and document.data.sha256 and document.data.av_scan_status == "scanned"
    assert client.documents.download(document.data.id).read() == PDF

    # 3. Group: create with the address, fill the rest, submit.
    values = {
        "address": address.data.id,
        "document": document.data.id,
    }
    first, *rest = needed
    group = client.requirement_groups.create(
        country_code="DE",
        phone_number_type="local",
        action="ordering",
        customer_reference="sdk-acme-de-local-ordering-group",
        regulatory_requirements=[
            {"requirement_id": first.id, "field_value": values.get(first.field_type, first.example)}
        ],
    )
    assert group.status == "unapproved" and group.id
    group = client.requirement_groups.update(
        group.id,
        regulatory_requirements=[
            {"requirement_id": r.id, "field_value": values.get(r.field_type or "", r.example or "")}
            for r in rest
        ],
    )
    assert all(r.field_value for r in group.regulatory_requirements or [])
    submitted = client.requirement_groups.submit_for_approval(group.id)
    assert submitted.status == "pending-approval"

    # 4. Approval on the sandbox clock.
    sandbox.advance_clock(60)
    approved = client.requirement_groups.retrieve(group.id)
    assert approved.status == "approved"
    assert {r.status for r in approved.regulatory_requirements or []} == {"approved"}
    listed = client.requirement_groups.list(filter={"customer_reference": "sdk-acme-de-local-ordering-group"})
    assert [g.id for g in listed] == [group.id]

    # 5. Order the number, attach the group: requirements met.
    order = client.number_orders.create(
        phone_numbers=[{"phone_number": "+4930123456"}], customer_reference="sdk-acme"
    )
    assert order.data is not None and order.data.requirements_met is False
    sub_number_order_id = (order.data.sub_number_orders_ids or [])[0]
    attached = client.sub_number_orders.update_requirement_group(
        sub_number_order_id, requirement_group_id=group.id
    )
    assert attached.data is not None and attached.data.requirements_met is True
    sub = client.sub_number_orders.retrieve(sub_number_order_id)
    assert sub.data is not None and sub.data.requirements_met is True and sub.data.status == "success"
    final = client.number_orders.retrieve(order.data.id or "")
    assert final.data is not None and final.data.requirements_met is True

    links = client.document_links.list(filter={"linked_resource_id": group.id})
    assert [link.document_id for link in links] == [document.data.id]


def _submitted_de_group(client: telnyx.Telnyx, name: str, pdf: bytes = PDF) -> str:
    """A DE local ordering group with every value, submitted: its id."""
    needed = (
        client.regulatory_requirements.retrieve(
            filter={"country_code": "DE", "phone_number_type": "local", "action": "ordering"}
        )
        .data[0]
        .regulatory_requirements
    )  # type: ignore[index]
    address = client.user_addresses.create(
        customer_reference=f"{name}-address",
        first_name="Maria",
        last_name="Schmidt",
        business_name="Acme GmbH",
        street_address="Friedrichstraße 123",
        locality="Berlin",
        postal_code="10117",
        country_code="DE",
    )
    document = client.documents.upload_json(
        document={"file": base64.b64encode(pdf).decode(), "filename": "bill.pdf", "customer_reference": name}
    )
    values = {"address": address.data.id, "document": document.data.id}  # type: ignore[union-attr]
    group = client.requirement_groups.create(
        country_code="DE",
        phone_number_type="local",
        action="ordering",
        customer_reference=f"{name}-group",
        regulatory_requirements=[
            {"requirement_id": r.id, "field_value": values.get(r.field_type or "", r.example or "")}
            for r in needed or []
        ],
    )
    assert client.requirement_groups.submit_for_approval(group.id or "").status == "pending-approval"
    return group.id or ""


def test_an_order_that_carries_the_group_is_met_when_the_review_approves_it(sandbox: SandboxServer) -> None:
    """``POST /number_orders`` with ``phone_numbers[].requirement_group_id``: Telnyx attaches the group to the
    sub-number orders it creates, so nothing is attached afterwards; the order is met once approved."""
    client = telnyx.Telnyx(
        api_key="KEY", base_url=sandbox.base_url, _strict_response_validation=True, max_retries=0
    )
    group_id = _submitted_de_group(client, "sdk-carry")

    order = client.number_orders.create(
        phone_numbers=[
            {"phone_number": "+4930123457", "requirement_group_id": group_id},
            {"phone_number": "+4930123458", "requirement_group_id": group_id},
        ],
        customer_reference="sdk-carry-order",
    )
    assert order.data is not None and order.data.requirements_met is False  # still under review
    assert {n.requirement_group_id for n in order.data.phone_numbers or []} == {group_id}
    (sub_id,) = order.data.sub_number_orders_ids or []
    sub = client.sub_number_orders.retrieve(sub_id)
    assert sub.data is not None and sub.data.status == "pending"
    assert (sub.data.model_extra or {}).get("requirement_group_id") == group_id

    sandbox.advance_clock(60)  # the review approves the group: no attach call follows
    final = client.number_orders.retrieve(order.data.id or "")
    assert final.data is not None and final.data.requirements_met is True and final.data.status == "success"
    assert client.sub_number_orders.retrieve(sub_id).data.requirements_met is True  # type: ignore[union-attr]
    writes = sandbox.stats()["requests"]["by_route"]
    assert "POST /v2/sub_number_orders/{sub_number_order_id}/requirement_group" not in writes


def test_an_order_cannot_carry_a_declined_group(sandbox: SandboxServer) -> None:
    client = telnyx.Telnyx(api_key="KEY", base_url=sandbox.base_url, max_retries=0)
    group_id = _submitted_de_group(client, "sdk-declined", PDF + b"\n% SANDBOX-DENY\n")
    sandbox.advance_clock(60)
    assert client.requirement_groups.retrieve(group_id).status == "declined"
    try:
        client.number_orders.create(
            phone_numbers=[{"phone_number": "+4930123459", "requirement_group_id": group_id}]
        )
    except telnyx.UnprocessableEntityError as error:
        assert "declined" in str(error)
        assert error.body["errors"][0]["source"]["pointer"] == "/phone_numbers/0/requirement_group_id"  # type: ignore[index]
    else:
        raise AssertionError("an order carrying a declined group was accepted")
    assert sandbox.stats()["resources"]["number_orders"] == 0
