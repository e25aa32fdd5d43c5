"""Lifecycle rules: requirement groups, documents, orders, bundles, verified numbers."""

from __future__ import annotations

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from telnyx_compliance.sandbox.catalog import DENY_MARKER
from tests.support import blocking_client

from .support import INFECTED, PDF, complete_group, create_address, get_group, requirements, submit, upload

# -- requirement groups --------------------------------------------------------------------------------------


def test_a_complete_group_is_unapproved_then_pending_then_approved_after_the_review_time(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    group = complete_group(api)
    assert group["status"] == "unapproved"
    assert submit(api, group["id"])["status"] == "pending-approval"
    sandbox.advance_clock(4)  # approve_after is 5 s
    assert get_group(api, group["id"])["status"] == "pending-approval"
    sandbox.advance_clock(2)
    approved = get_group(api, group["id"])
    assert approved["status"] == "approved"
    assert {r["status"] for r in approved["regulatory_requirements"]} == {"approved"}


def test_submitting_with_missing_values_is_a_422_naming_each_missing_requirement(api: httpx.Client) -> None:
    response = api.post(
        "/requirement_groups",
        json={"country_code": "GB", "phone_number_type": "mobile", "action": "ordering"},
    )
    group = response.json()
    refused = api.post(f"/requirement_groups/{group['id']}/submit_for_approval")
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert len(errors) == len(requirements(api, "GB", "mobile"))
    assert all(e["source"]["pointer"].startswith("/regulatory_requirements/") for e in errors)
    assert any("Identity Document" in e["detail"] for e in errors)


def _declined(sandbox: SandboxServer, api: httpx.Client, group_id: str) -> dict[str, object]:
    submit(api, group_id)
    sandbox.advance_clock(10)
    group = get_group(api, group_id)
    assert group["status"] == "declined"
    return group


def test_a_text_value_breaking_its_criteria_declines_the_group_with_a_reason(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    group = complete_group(api, overrides={"VAT Number": "DE12"})
    declined = _declined(sandbox, api, group["id"])
    statuses = {r["field_value"]: r for r in declined["regulatory_requirements"]}  # type: ignore[attr-defined]
    assert statuses["DE12"]["status"] == "declined" and "VAT Number" in statuses["DE12"]["status_reason"]
    assert "DE12" in str(declined["status_reason"])
    assert sum(r["status"] == "declined" for r in statuses.values()) == 1


def test_an_infected_document_is_flagged_and_declines_the_group(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    document = upload(api, INFECTED)
    assert document["av_scan_status"] == "infected"
    group = complete_group(api, document_id=document["id"])
    declined = _declined(sandbox, api, group["id"])
    assert "infected" in str(declined["status_reason"])
    assert api.get(f"/documents/{document['id']}").json()["data"]["status"] == "denied"


def test_a_denied_document_declines_the_group(sandbox: SandboxServer, api: httpx.Client) -> None:
    document = upload(api, PDF + DENY_MARKER)
    group = complete_group(api, document_id=document["id"])
    declined = _declined(sandbox, api, group["id"])
    assert "denied" in str(declined["status_reason"])


@pytest.mark.parametrize(
    ("country", "postal_code", "reason"),
    [("FR", "75001", "is in FR"), ("DE", "SW1A 2AA", "not in a DE locality")],
)
def test_an_address_in_the_wrong_country_or_locality_declines_the_group(
    sandbox: SandboxServer, api: httpx.Client, country: str, postal_code: str, reason: str
) -> None:
    address_id = create_address(api, country, postal_code)
    group = complete_group(api, "DE", "local", address_id=address_id)
    declined = _declined(sandbox, api, group["id"])
    assert reason in str(declined["status_reason"])


def test_a_declined_group_can_be_fixed_and_resubmitted(sandbox: SandboxServer, api: httpx.Client) -> None:
    group = complete_group(api, overrides={"Contact Name": "4"})
    _declined(sandbox, api, group["id"])
    contact = next(r for r in requirements(api, "DE", "local") if r["name"] == "Contact Name")
    fixed = api.patch(
        f"/requirement_groups/{group['id']}",
        json={"regulatory_requirements": [{"requirement_id": contact["id"], "field_value": "Jo Park"}]},
    ).json()
    assert fixed["status"] == "unapproved"
    submit(api, group["id"])
    sandbox.advance_clock(10)
    assert get_group(api, group["id"])["status"] == "approved"


def test_a_pending_group_cannot_be_changed(api: httpx.Client) -> None:
    group = complete_group(api)
    submit(api, group["id"])
    response = api.patch(f"/requirement_groups/{group['id']}", json={"customer_reference": "x"})
    assert response.status_code == 422


def test_approved_groups_expire_after_the_group_ttl_and_through_the_sandbox_route(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    sandbox.configure(group_ttl=3600)
    group = complete_group(api)
    submit(api, group["id"])
    sandbox.advance_clock(10)
    approved = get_group(api, group["id"])
    assert approved["status"] == "approved" and all(
        "expires_at" in r for r in approved["regulatory_requirements"]
    )
    sandbox.advance_clock(3600)
    assert get_group(api, group["id"])["status"] == "expired"

    other = complete_group(api)
    expired = api.post(f"{sandbox.root_url}/_sandbox/requirement_groups/{other['id']}/expire", json={}).json()
    assert expired["status"] == "expired"
    filtered = api.get("/requirement_groups", params={"filter[status]": "expired"}).json()
    assert {g["id"] for g in filtered} == {group["id"], other["id"]}


def test_unknown_requirement_ids_and_missing_resources_are_422_with_pointers(api: httpx.Client) -> None:
    address_id = create_address(api)
    base = {"country_code": "DE", "phone_number_type": "local", "action": "ordering"}
    address_requirement = next(r for r in requirements(api, "DE", "local") if r["field_type"] == "address")
    document_requirement = next(r for r in requirements(api, "DE", "local") if r["field_type"] == "document")
    response = api.post(
        "/requirement_groups",
        json=base
        | {
            "regulatory_requirements": [
                {"requirement_id": "not-a-requirement", "field_value": "x"},
                {"requirement_id": address_requirement["id"], "field_value": "no-such-address"},
                {"requirement_id": document_requirement["id"], "field_value": address_id},
            ]
        },
    )
    assert response.status_code == 422
    pointers = [e["source"]["pointer"] for e in response.json()["errors"]]
    assert pointers == [
        "/regulatory_requirements/0/requirement_id",
        "/regulatory_requirements/1/field_value",
        "/regulatory_requirements/2/field_value",
    ]
    unsupported = api.post("/requirement_groups", json=base | {"country_code": "JP"})
    assert (
        unsupported.status_code == 422
        and unsupported.json()["errors"][0]["source"]["pointer"] == "/country_code"
    )


# -- documents -----------------------------------------------------------------------------------------------


def test_documents_keep_their_bytes_hash_and_type_and_review_to_verified(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    import hashlib

    multipart = api.post(
        "/documents",
        files={"file": ("bill.png", b"\x89PNG\r\n-image-", "image/png")},
        data={"customer_reference": "r1"},
    ).json()["data"]
    assert multipart["content_type"] == "image/png" and multipart["size"] == {"amount": 13, "unit": "bytes"}
    assert multipart["sha256"] == hashlib.sha256(b"\x89PNG\r\n-image-").hexdigest()
    assert multipart["status"] == "pending" and multipart["customer_reference"] == "r1"
    download = api.get(f"/documents/{multipart['id']}/download")
    assert download.content == b"\x89PNG\r\n-image-" and download.headers["content-type"] == "image/png"
    sandbox.advance_clock(6)
    assert api.get(f"/documents/{multipart['id']}").json()["data"]["status"] == "verified"


def test_a_document_can_be_uploaded_from_a_url() -> None:
    """On a real socket: the sandbox fetches the URL, its own download link, over the network."""
    with (
        SandboxServer(SandboxConfig(seed=7, approve_after=5)) as sandbox,
        httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers, timeout=10) as api,
    ):
        _upload_from_a_url(api)


def _upload_from_a_url(api: httpx.Client) -> None:
    source = upload(api, PDF, "source.pdf")
    url = api.get(f"/documents/{source['id']}/download_link").json()["data"]["url"]
    copy = api.post("/documents", json={"url": url, "filename": "copy.pdf"}).json()["data"]
    assert copy["sha256"] == source["sha256"]
    bad = api.post("/documents", json={"url": "ftp://example.invalid/x.pdf"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["source"]["pointer"] == "/url"


def test_download_links_work_until_they_expire(sandbox: SandboxServer, api: httpx.Client) -> None:
    document = upload(api)
    url = api.get(f"/documents/{document['id']}/download_link").json()["data"]["url"]
    assert url.startswith(sandbox.root_url + "/_sandbox/files/")
    with blocking_client(sandbox, headers={}) as anyone:  # a link needs no key
        assert anyone.get(url).content == PDF
        sandbox.advance_clock(301)
        assert anyone.get(url).status_code == 404


def test_unlinked_documents_are_deleted_after_the_ttl_and_linked_ones_survive(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    loose = upload(api, filename="loose.pdf")
    used = upload(api, filename="used.pdf")
    group = complete_group(api, document_id=used["id"])
    links = api.get("/document_links", params={"filter[linked_resource_id]": group["id"]}).json()["data"]
    assert [(link["document_id"], link["linked_record_type"]) for link in links] == [
        (used["id"], "requirement_group")
    ]
    sandbox.advance_clock(1799)
    assert api.get(f"/documents/{loose['id']}").status_code == 200
    sandbox.advance_clock(2)
    assert api.get(f"/documents/{loose['id']}").status_code == 404
    assert api.get(f"/documents/{used['id']}").status_code == 200

    assert api.delete(f"/documents/{used['id']}").status_code == 422  # linked
    assert api.delete(f"/requirement_groups/{group['id']}").status_code == 200
    assert api.get("/document_links", params={"filter[linked_resource_id]": group["id"]}).json()["data"] == []
    sandbox.advance_clock(1801)
    assert api.get(f"/documents/{used['id']}").status_code == 404


def test_document_filters_sorting_and_pagination(api: httpx.Client) -> None:
    for index in range(5):
        upload(api, filename=f"file-{index}.pdf", customer_reference=f"ref-{index % 2}")
    eq = api.get("/documents", params={"filter[customer_reference][eq]": "ref-0"}).json()
    assert eq["meta"]["total_results"] == 3
    both = api.get(
        "/documents",
        params=[("filter[customer_reference][in][]", "ref-0"), ("filter[customer_reference][in][]", "ref-1")],
    )
    assert both.json()["meta"]["total_results"] == 5
    page = api.get("/documents", params={"page[number]": 2, "page[size]": 2, "sort": "filename"}).json()
    assert [d["filename"] for d in page["data"]] == ["file-2.pdf", "file-3.pdf"]
    assert page["meta"] == {"page_number": 2, "page_size": 2, "total_pages": 3, "total_results": 5}
    named = api.get("/documents", params={"filter[filename][contains]": "FILE-4"}).json()["data"]
    assert [d["filename"] for d in named] == ["file-4.pdf"]
    too_big = api.get("/documents", params={"page[size]": 251})
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["source"]["parameter"] == "page[size]"
    bad_sort = api.get("/documents", params={"sort": "size"})
    assert bad_sort.status_code == 422


def test_user_addresses_filter_on_customer_reference(api: httpx.Client) -> None:
    create_address(api, customer_reference="tc-acme-address")
    create_address(api, customer_reference="tc-other-address")
    found = api.get("/user_addresses", params={"filter[customer_reference][eq]": "TC-ACME-ADDRESS"}).json()
    assert [a["customer_reference"] for a in found["data"]] == ["tc-acme-address"]
    contains = api.get("/user_addresses", params={"filter[customer_reference][contains]": "tc-"}).json()
    assert contains["meta"]["total_results"] == 2


# -- orders --------------------------------------------------------------------------------------------------


def _order(api: httpx.Client, *numbers: str) -> dict[str, object]:
    response = api.post("/number_orders", json={"phone_numbers": [{"phone_number": n} for n in numbers]})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_an_order_splits_into_sub_orders_by_country_and_number_type(api: httpx.Client) -> None:
    order = _order(api, "+4930123456", "+4940123456", "+447400123456", "+33612345678", "+498001234567")
    subs = api.get("/sub_number_orders", params={"filter[order_request_id]": order["id"]}).json()["data"]
    assert sorted((s["country_code"], s["phone_number_type"], s["phone_numbers_count"]) for s in subs) == [
        ("DE", "local", 2),
        ("DE", "toll_free", 1),
        ("FR", "mobile", 1),
        ("GB", "mobile", 1),
    ]
    numbers = api.get("/number_order_phone_numbers").json()["data"]
    assert len(numbers) == 5 and {n["status"] for n in numbers} == {"pending"}


def test_attaching_a_pending_group_is_accepted_and_met_once_it_is_approved(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    order = _order(api, "+4930123456")
    sub_id = order["sub_number_orders_ids"][0]  # type: ignore[index]
    group = complete_group(api)
    submit(api, group["id"])
    attached = api.post(
        f"/sub_number_orders/{sub_id}/requirement_group", json={"requirement_group_id": group["id"]}
    )
    assert attached.status_code == 200 and attached.json()["data"]["requirements_met"] is False
    number = attached.json()["data"]["phone_numbers"][0]
    assert api.get(f"/number_order_phone_numbers/{number['id']}").json()["data"]["requirements_status"] == (
        "requirement-info-under-review"
    )
    sandbox.advance_clock(10)
    assert api.get(f"/sub_number_orders/{sub_id}").json()["data"]["requirements_met"] is True
    assert api.get(f"/number_orders/{order['id']}").json()["data"]["requirements_met"] is True
    assert (
        api.get("/number_orders", params={"filter[requirements_met]": "true"}).json()["meta"]["total_results"]
        == 1
    )


def test_attaching_a_group_of_another_country_type_or_action_is_a_422(api: httpx.Client) -> None:
    order = _order(api, "+4930123456")
    sub_id = order["sub_number_orders_ids"][0]  # type: ignore[index]
    for body in (
        {"country_code": "FR", "phone_number_type": "local", "action": "ordering"},
        {"country_code": "DE", "phone_number_type": "mobile", "action": "ordering"},
        {"country_code": "DE", "phone_number_type": "local", "action": "porting"},
    ):
        group = api.post("/requirement_groups", json=body).json()
        response = api.post(
            f"/sub_number_orders/{sub_id}/requirement_group", json={"requirement_group_id": group["id"]}
        )
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["source"]["pointer"] == "/requirement_group_id"


def test_a_declined_group_cannot_be_attached(sandbox: SandboxServer, api: httpx.Client) -> None:
    order = _order(api, "+4930123456")
    number_id = (order["phone_numbers"][0])["id"]  # type: ignore[index]
    group = complete_group(api, overrides={"Business Registration Number": "HRB"})
    _declined(sandbox, api, group["id"])
    response = api.post(
        f"/number_order_phone_numbers/{number_id}/requirement_group",
        json={"requirement_group_id": group["id"]},
    )
    assert response.status_code == 422


def test_cancel_works_on_pending_sub_orders_only_and_frees_the_numbers(api: httpx.Client) -> None:
    order = _order(api, "+4930123456")
    sub_id = order["sub_number_orders_ids"][0]  # type: ignore[index]
    again = api.post("/number_orders", json={"phone_numbers": [{"phone_number": "+4930123456"}]})
    assert (
        again.status_code == 422
        and again.json()["errors"][0]["source"]["pointer"] == "/phone_numbers/0/phone_number"
    )
    cancelled = api.patch(f"/sub_number_orders/{sub_id}/cancel").json()["data"]
    assert cancelled["status"] == "failure" and cancelled["requirements_met"] is False
    assert api.patch(f"/sub_number_orders/{sub_id}/cancel").status_code == 422
    assert api.get(f"/number_orders/{order['id']}").json()["data"]["status"] == "failure"
    assert (
        api.post("/number_orders", json={"phone_numbers": [{"phone_number": "+4930123456"}]}).status_code
        == 200
    )


def test_values_set_directly_on_a_number_meet_its_requirements(api: httpx.Client) -> None:
    order = _order(api, "+15125550100")
    number_id = order["phone_numbers"][0]["id"]  # type: ignore[index]
    address_id = create_address(api, "US", "78701")
    values = [
        {
            "requirement_id": r["id"],
            "field_value": address_id if r["field_type"] == "address" else r["example"],
        }
        for r in requirements(api, "US", "local")
    ]
    updated = api.patch(f"/number_order_phone_numbers/{number_id}", json={"regulatory_requirements": values})
    assert updated.status_code == 200 and updated.json()["data"]["requirements_met"] is True
    assert api.get(f"/number_orders/{order['id']}").json()["data"]["status"] == "success"


# -- bundles and verified numbers ----------------------------------------------------------------------------


def test_user_bundles_are_created_idempotently_used_by_orders_and_deactivated(api: httpx.Client) -> None:
    billing = api.get("/bundle_pricing/billing_bundles", params={"filter[country_iso]": "DE"}).json()["data"]
    assert billing and all("Germany" in b["name"] for b in billing)
    body = {
        "idempotency_key": "0b5b7b3c-7d0a-4c1b-9d55-7a1f9e5c2a11",
        "items": [{"billing_bundle_id": billing[0]["id"], "quantity": 2}],
    }
    first = api.post("/bundle_pricing/user_bundles/bulk", json=body)
    again = api.post("/bundle_pricing/user_bundles/bulk", json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    bundle_id = first.json()["data"][0]["id"]
    api.post(
        "/number_orders", json={"phone_numbers": [{"phone_number": "+4930123456", "bundle_id": bundle_id}]}
    )
    resources = api.get(f"/bundle_pricing/user_bundles/{bundle_id}/resources").json()["data"]
    assert [r["resource"] for r in resources] == ["+4930123456"]
    unused = api.get("/bundle_pricing/user_bundles/unused").json()["data"]
    assert [u["user_bundle_ids"] for u in unused] == [[first.json()["data"][1]["id"]]]
    assert api.delete(f"/bundle_pricing/user_bundles/{bundle_id}").json()["data"]["active"] is False
    assert (
        api.get("/bundle_pricing/user_bundles", params={"filter[resource]": "+4930123456"}).json()["meta"][
            "total_results"
        ]
        == 1
    )


def test_verification_codes_are_seeded_checked_and_expire(sandbox: SandboxServer, api: httpx.Client) -> None:
    phone = "+15125550100"
    api.post("/verified_numbers", json={"phone_number": phone, "verification_method": "call"})
    code = sandbox.verification_code(phone)
    assert len(code) == 6 and code.isdigit()
    assert (
        api.post(f"/verified_numbers/{phone}/actions/verify", json={"verification_code": "x"}).status_code
        == 400
    )
    sandbox.advance_clock(601)
    assert (
        api.post(f"/verified_numbers/{phone}/actions/verify", json={"verification_code": code}).status_code
        == 422
    )
    api.post("/verified_numbers", json={"phone_number": phone, "verification_method": "sms"})
    fresh = sandbox.verification_code(phone)
    assert fresh != code  # a new request sends a new code
    verified = api.post(f"/verified_numbers/{phone}/actions/verify", json={"verification_code": fresh}).json()
    assert verified["data"]["phone_number"] == phone and verified["data"]["verified_at"]
    assert api.get("/verified_numbers").json()["meta"]["total_results"] == 1

    sandbox.reset()  # same seed, same sequence of codes
    api.post("/verified_numbers", json={"phone_number": phone, "verification_method": "call"})
    assert sandbox.verification_code(phone) == code


def test_changing_a_groups_document_moves_its_link_and_leaves_other_groups_links_alone(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    first, second = upload(api, filename="first.pdf"), upload(api, filename="second.pdf")
    group = complete_group(api, document_id=first["id"])
    other = complete_group(api, document_id=first["id"])
    document_requirement = next(r for r in requirements(api, "DE", "local") if r["field_type"] == "document")
    changed = api.patch(
        f"/requirement_groups/{group['id']}",
        json={
            "regulatory_requirements": [
                {"requirement_id": document_requirement["id"], "field_value": second["id"]}
            ]
        },
    )
    assert changed.status_code == 200

    def linked(resource_id: str) -> list[str]:
        params = {"filter[linked_resource_id]": resource_id}
        return [link["document_id"] for link in api.get("/document_links", params=params).json()["data"]]

    assert linked(group["id"]) == [second["id"]]
    assert linked(other["id"]) == [first["id"]]  # still linked there: not swept
    sandbox.advance_clock(1801)
    assert api.get(f"/documents/{first['id']}").status_code == 200
