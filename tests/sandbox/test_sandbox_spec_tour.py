"""A scripted tour of all 49 operations; every response (errors too) is validated against the shared spec.

The tour runs once per module (its steps build on each other: a group needs a document, an order a group);
each operation then has its own test id, passing when the tour got a 2xx from it.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxServer
from telnyx_compliance.sandbox.catalog import requirement_type_id
from tests.support import blocking_client

from .support import API_KEY, DEFAULT_KNOBS, SpecChecker, spec_path

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class Tour:
    """Sends a request, checks its status, validates the response, records which operation answered what."""

    def __init__(self, client: httpx.Client, spec: SpecChecker) -> None:
        self.client = client
        self.spec = spec
        self.statuses: dict[str, set[int]] = defaultdict(set)

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text[:500])
        operation_id = self.spec.check(response)
        self.statuses[operation_id].add(status)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content


def _values(requirements: list[dict[str, Any]], address_id: str, document_id: str) -> list[dict[str, str]]:
    by_type = {"address": address_id, "document": document_id}
    return [
        {"requirement_id": r["id"], "field_value": by_type.get(r["field_type"], r["example"])}
        for r in requirements
    ]


#: Every operationId of the contract, for one test id each.
OPERATION_IDS = sorted(SpecChecker(spec_path()).operation_ids)


@pytest.fixture(scope="module")
def toured(server: SandboxServer, spec: SpecChecker) -> dict[str, set[int]]:
    """The statuses each operation answered during the tour, on the module's sandbox (reset first)."""
    server.reset()
    server.configure(**DEFAULT_KNOBS)
    with blocking_client(server, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        return _tour(server, client, spec)


def test_the_contract_has_49_operations(spec: SpecChecker) -> None:
    assert len(spec.operation_ids) == 49 == len(OPERATION_IDS)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_the_operation_answers_as_the_spec_says(operation_id: str, toured: dict[str, set[int]]) -> None:
    assert any(status < 300 for status in toured[operation_id]), toured.get(operation_id)


def _tour(sandbox: SandboxServer, api: httpx.Client, spec: SpecChecker) -> dict[str, set[int]]:
    call = Tour(api, spec)

    # -- catalog ------------------------------------------------------------------------------------------
    types = call(
        "GET", "/requirement_types", 200, params={"filter[name][contains]": "address", "sort": "-name"}
    )
    assert types["data"] and all("address" in t["name"].lower() for t in types["data"])
    call("GET", f"/requirement_types/{types['data'][0]['id']}", 200)
    call("GET", "/requirement_types/00000000-0000-4000-8000-000000000000", 404)
    call("GET", "/requirement_types", 422, params={"filter[colour]": "red"})
    requirements = call(
        "GET",
        "/requirements",
        200,
        params={
            "filter[country_code]": "DE",
            "filter[phone_number_type]": "local",
            "filter[action]": "ordering",
        },
    )
    assert len(requirements["data"]) == 1
    call("GET", f"/requirements/{requirements['data'][0]['id']}", 200)
    call("GET", "/requirements", 422, params={"sort": "colour"})
    regulatory = call(
        "GET",
        "/regulatory_requirements",
        200,
        params={
            "filter[country_code]": "DE",
            "filter[phone_number_type]": "local",
            "filter[action]": "ordering",
        },
    )
    de_local = regulatory["data"][0]["regulatory_requirements"]
    call("GET", "/regulatory_requirements", 200, params={"filter[phone_number]": "+447400123456"})
    call("GET", "/regulatory_requirements", 422, params={"filter[phone_number]": "12"})
    per_number = call(
        "GET",
        "/phone_numbers_regulatory_requirements",
        200,
        params={"filter[phone_number]": "+4930123456,+33612345678"},
    )
    assert [n["phone_number_type"] for n in per_number["data"]] == ["local", "mobile"]
    call("GET", "/phone_numbers_regulatory_requirements", 422, params={"filter[phone_number]": "+999"})

    # -- bundles --------------------------------------------------------------------------------------------
    billing = call("GET", "/bundle_pricing/billing_bundles", 200, params={"filter[country_iso][]": "DE"})
    bundle_id = billing["data"][0]["id"]
    call("GET", f"/bundle_pricing/billing_bundles/{bundle_id}", 200)
    call("GET", "/bundle_pricing/billing_bundles/00000000-0000-4000-8000-000000000000", 404)
    created = call(
        "POST",
        "/bundle_pricing/user_bundles/bulk",
        201,
        json={"items": [{"billing_bundle_id": bundle_id, "quantity": 2}]},
    )
    user_bundle_id, spare_bundle_id = (b["id"] for b in created["data"])
    call(
        "POST",
        "/bundle_pricing/user_bundles/bulk",
        422,
        json={"items": [{"billing_bundle_id": "nope", "quantity": 1}]},
    )
    call("GET", "/bundle_pricing/user_bundles", 200, params={"page[size]": 1})
    call("GET", "/bundle_pricing/user_bundles/unused", 200)
    call("GET", f"/bundle_pricing/user_bundles/{user_bundle_id}", 200)
    call("GET", "/bundle_pricing/user_bundles/00000000-0000-4000-8000-000000000000", 404)
    call("DELETE", f"/bundle_pricing/user_bundles/{spare_bundle_id}", 200)
    call("DELETE", f"/bundle_pricing/user_bundles/{spare_bundle_id}", 422)

    # -- addresses and documents ----------------------------------------------------------------------------
    address = call(
        "POST",
        "/user_addresses",
        200,
        json={
            "customer_reference": "tour-address",
            "first_name": "Maria",
            "last_name": "Schmidt",
            "business_name": "Acme GmbH",
            "street_address": "Friedrichstraße 123",
            "locality": "Berlin",
            "postal_code": "10117",
            "country_code": "DE",
        },
    )["data"]
    call("POST", "/user_addresses", 422, json={"first_name": "Maria"})
    call("GET", "/user_addresses", 200, params={"filter[customer_reference][eq]": "tour-address"})
    call("GET", f"/user_addresses/{address['id']}", 200)
    call("GET", "/user_addresses/00000000-0000-4000-8000-000000000000", 404)

    document = call(
        "POST",
        "/documents",
        200,
        json={
            "file": base64.b64encode(PDF).decode(),
            "filename": "proof.pdf",
            "customer_reference": "tour-doc",
        },
    )["data"]
    spare = call(
        "POST",
        "/documents",
        200,
        files={"file": ("spare.pdf", PDF, "application/pdf")},
        data={"customer_reference": "x"},
    )["data"]
    call("POST", "/documents", 422, json={"filename": "nothing.pdf"})
    listed = call(
        "GET",
        "/documents",
        200,
        params=[("filter[customer_reference][in][]", "tour-doc"), ("sort", "-created_at")],
    )
    assert [d["id"] for d in listed["data"]] == [document["id"]]
    call("GET", "/documents", 422, params={"filter[owner]": "me"})
    call("GET", f"/documents/{document['id']}", 200)
    call("GET", "/documents/00000000-0000-4000-8000-000000000000", 404)
    call("PATCH", f"/documents/{document['id']}", 200, json={"filename": "proof-of-address.pdf"})
    assert call("GET", f"/documents/{document['id']}/download", 200) == PDF
    link = call("GET", f"/documents/{document['id']}/download_link", 200)
    assert api.get(link["data"]["url"]).content == PDF
    call("GET", "/documents/00000000-0000-4000-8000-000000000000/download_link", 404)
    call("DELETE", f"/documents/{spare['id']}", 200)

    # -- requirement groups ---------------------------------------------------------------------------------
    call("POST", "/requirement_groups", 422, json={"country_code": "DE", "action": "ordering"})
    group = call(
        "POST",
        "/requirement_groups",
        200,
        json={
            "country_code": "DE",
            "phone_number_type": "local",
            "action": "ordering",
            "customer_reference": "tour-group",
            "regulatory_requirements": _values(de_local[:1], address["id"], document["id"]),
        },
    )
    assert group["status"] == "unapproved"
    call("POST", f"/requirement_groups/{group['id']}/submit_for_approval", 422)
    call(
        "PATCH",
        f"/requirement_groups/{group['id']}",
        200,
        json={"regulatory_requirements": _values(de_local, address["id"], document["id"])},
    )
    call("DELETE", f"/documents/{document['id']}", 422)  # linked to the group now
    submitted = call("POST", f"/requirement_groups/{group['id']}/submit_for_approval", 200)
    assert submitted["status"] == "pending-approval"
    groups = call("GET", "/requirement_groups", 200, params={"filter[customer_reference]": "tour-group"})
    assert isinstance(groups, list) and [g["id"] for g in groups] == [group["id"]]
    call("GET", "/requirement_groups", 422, params={"filter[status]": "happy"})
    sandbox.advance_clock(10)
    assert call("GET", f"/requirement_groups/{group['id']}", 200)["status"] == "approved"
    call("GET", "/requirement_groups/00000000-0000-4000-8000-000000000000", 404)
    other = call(
        "POST",
        "/requirement_groups",
        200,
        json={"country_code": "FR", "phone_number_type": "mobile", "action": "ordering"},
    )
    call("DELETE", f"/requirement_groups/{other['id']}", 200)
    call("DELETE", f"/requirement_groups/{other['id']}", 404)
    links = call("GET", "/document_links", 200, params={"filter[linked_resource_id]": group["id"]})
    assert [link["document_id"] for link in links["data"]] == [document["id"]]
    call("GET", "/document_links", 422, params={"filter[document]": "x"})

    # -- orders ---------------------------------------------------------------------------------------------
    order = call(
        "POST",
        "/number_orders",
        200,
        json={
            "customer_reference": "tour-order",
            "phone_numbers": [
                {"phone_number": "+4930123456", "bundle_id": user_bundle_id},
                {"phone_number": "+447400123456"},
            ],
        },
    )["data"]
    assert len(order["sub_number_orders_ids"]) == 2
    call("POST", "/number_orders", 422, json={"phone_numbers": [{"phone_number": "+12"}]})
    call("GET", "/number_orders", 200, params={"filter[customer_reference]": "tour-order"})
    call("GET", f"/number_orders/{order['id']}", 200)
    call("GET", "/number_orders/00000000-0000-4000-8000-000000000000", 404)
    call("PATCH", f"/number_orders/{order['id']}", 200, json={"customer_reference": "tour-order-2"})
    subs = call("GET", "/sub_number_orders", 200, params={"filter[order_request_id]": order["id"]})["data"]
    de_sub = next(s for s in subs if s["country_code"] == "DE")
    gb_sub = next(s for s in subs if s["country_code"] == "GB")
    call("GET", f"/sub_number_orders/{de_sub['id']}", 200, params={"filter[include_phone_numbers]": "true"})
    call("GET", "/sub_number_orders/00000000-0000-4000-8000-000000000000", 404)
    call(
        "PATCH",
        f"/sub_number_orders/{gb_sub['id']}",
        200,
        json={
            "regulatory_requirements": [
                {"requirement_id": requirement_type_id("GB", "Contact Name"), "field_value": "Jo"}
            ]
        },
    )
    call(
        "PATCH",
        f"/sub_number_orders/{gb_sub['id']}",
        422,
        json={"regulatory_requirements": [{"requirement_id": "x"}]},
    )
    attached = call(
        "POST",
        f"/sub_number_orders/{de_sub['id']}/requirement_group",
        200,
        json={"requirement_group_id": group["id"]},
    )
    assert attached["data"]["requirements_met"] is True
    call(
        "POST",
        f"/sub_number_orders/{gb_sub['id']}/requirement_group",
        422,
        json={"requirement_group_id": group["id"]},
    )
    numbers = call("GET", "/number_order_phone_numbers", 200, params={"filter[country_code]": "DE"})["data"]
    assert [n["phone_number"] for n in numbers] == ["+4930123456"] and numbers[0]["requirements_met"] is True
    call("GET", f"/number_order_phone_numbers/{numbers[0]['id']}", 200)
    call("GET", "/number_order_phone_numbers/00000000-0000-4000-8000-000000000000", 404)
    call(
        "PATCH",
        f"/number_order_phone_numbers/{numbers[0]['id']}",
        200,
        json={
            "regulatory_requirements": [
                {"requirement_id": requirement_type_id("DE", "Contact Name"), "field_value": "Jo"}
            ]
        },
    )
    call(
        "POST",
        f"/number_order_phone_numbers/{numbers[0]['id']}/requirement_group",
        200,
        json={"requirement_group_id": group["id"]},
    )
    call("POST", f"/number_order_phone_numbers/{numbers[0]['id']}/requirement_group", 422, json={})
    call("GET", f"/bundle_pricing/user_bundles/{user_bundle_id}/resources", 200)
    call("GET", "/bundle_pricing/user_bundles/00000000-0000-4000-8000-000000000000/resources", 404)
    cancelled = call("PATCH", f"/sub_number_orders/{gb_sub['id']}/cancel", 200)["data"]
    assert cancelled["status"] == "failure"
    call("PATCH", f"/sub_number_orders/{de_sub['id']}/cancel", 422)  # already complete

    # -- verified numbers -----------------------------------------------------------------------------------
    phone = "+15125550100"
    assert call(
        "POST", "/verified_numbers", 200, json={"phone_number": phone, "verification_method": "sms"}
    ) == {
        "phone_number": phone,
        "verification_method": "sms",
    }
    call("POST", "/verified_numbers", 422, json={"phone_number": phone, "verification_method": "fax"})
    call("POST", f"/verified_numbers/{phone}/actions/verify", 400, json={"verification_code": "000000x"})
    code = sandbox.verification_code(phone)
    call("POST", f"/verified_numbers/{phone}/actions/verify", 200, json={"verification_code": code})
    call("GET", "/verified_numbers", 200)
    call("GET", f"/verified_numbers/{phone}", 200)
    call("DELETE", f"/verified_numbers/{phone}", 200)
    call("GET", f"/verified_numbers/{phone}", 404)
    call("DELETE", f"/verified_numbers/{phone}", 404)

    # -- auth -----------------------------------------------------------------------------------------------
    anonymous = Tour(blocking_client(sandbox, headers={}), spec)
    anonymous("GET", "/requirement_groups", 401)
    anonymous("GET", "/bundle_pricing/billing_bundles", 401)
    anonymous("GET", "/verified_numbers", 401)

    assert set(call.statuses) <= spec.operation_ids
    return dict(call.statuses)


def test_the_checker_rejects_a_response_that_breaks_the_spec(spec: SpecChecker) -> None:
    request = httpx.Request("GET", "http://sandbox/v2/documents")
    wrong = httpx.Response(200, json={"data": [{"id": 5, "status": "lost"}]}, request=request)
    with pytest.raises(Exception, match=r"(?i)invalid|validat"):
        spec.check(wrong)
