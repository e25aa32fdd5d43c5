"""Small builders shared by the sandbox tests."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from telnyx_compliance.sandbox.catalog import EICAR

PDF = b"%PDF-1.4\n% sandbox test document\n%%EOF\n"
INFECTED = b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n"


def create_address(api: httpx.Client, country: str = "DE", postal_code: str = "10117", **extra: Any) -> str:
    body = {
        "first_name": "Maria",
        "last_name": "Schmidt",
        "business_name": "Acme",
        "street_address": "Friedrichstraße 123",
        "locality": "Berlin",
        "postal_code": postal_code,
        "country_code": country,
        **extra,
    }
    response = api.post("/user_addresses", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


def upload(
    api: httpx.Client, content: bytes = PDF, filename: str = "doc.pdf", **extra: Any
) -> dict[str, Any]:
    body = {"file": base64.b64encode(content).decode(), "filename": filename, **extra}
    response = api.post("/documents", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def requirements(
    api: httpx.Client, country: str, number_type: str, action: str = "ordering"
) -> list[dict[str, Any]]:
    response = api.get(
        "/regulatory_requirements",
        params={
            "filter[country_code]": country,
            "filter[phone_number_type]": number_type,
            "filter[action]": action,
        },
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"][0]["regulatory_requirements"])


def complete_group(
    api: httpx.Client,
    country: str = "DE",
    number_type: str = "local",
    *,
    address_id: str | None = None,
    document_id: str | None = None,
    overrides: dict[str, str] | None = None,
    customer_reference: str | None = None,
) -> dict[str, Any]:
    """A group with every requirement filled (examples for text), not yet submitted."""
    address_id = address_id or create_address(api, country)
    document_id = document_id or upload(api)["id"]
    values = []
    for requirement in requirements(api, country, number_type):
        value = {"address": address_id, "document": document_id}.get(
            requirement["field_type"], requirement["example"]
        )
        values.append(
            {
                "requirement_id": requirement["id"],
                "field_value": (overrides or {}).get(requirement["name"], value),
            }
        )
    body: dict[str, Any] = {
        "country_code": country,
        "phone_number_type": number_type,
        "action": "ordering",
        "regulatory_requirements": values,
    }
    if customer_reference:
        body["customer_reference"] = customer_reference
    response = api.post("/requirement_groups", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def submit(api: httpx.Client, group_id: str) -> dict[str, Any]:
    response = api.post(f"/requirement_groups/{group_id}/submit_for_approval")
    assert response.status_code == 200, response.text
    return dict(response.json())


def get_group(api: httpx.Client, group_id: str) -> dict[str, Any]:
    response = api.get(f"/requirement_groups/{group_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())
