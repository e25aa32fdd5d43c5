"""The forms the Prefect UI renders from each deployment's parameter schema tell an operator what to type."""

from __future__ import annotations

from typing import Any

import pytest


def _schema(flow_path: str) -> dict[str, Any]:
    import importlib

    module, name = flow_path.rsplit(".", 1)
    flow = getattr(importlib.import_module(module), name)
    return dict(flow.parameters.model_dump(mode="json"))


@pytest.mark.parametrize(
    "flow_path", ["flows.bulk_onboard.bulk_onboard", "flows.catalog.sync_requirements_catalog"]
)
def test_every_parameter_has_a_description(flow_path: str) -> None:
    """Prefect titles each field with the parameter's name and takes its description from the docstring's
    Args section (a description inside ``Annotated[..., Field()]`` is dropped on the way: the form showed
    bare names)."""
    properties = _schema(flow_path)["properties"]
    for name, spec in properties.items():
        assert len(spec.get("description") or "") > 40, name
        assert "<" not in spec["description"], name  # the UI renders descriptions as markdown: <x> vanishes


def test_the_bulk_form_types_and_bounds_what_it_can() -> None:
    schema = _schema("flows.bulk_onboard.bulk_onboard")
    properties = schema["properties"]
    assert schema["required"] == ["csv_path"]
    assert properties["csv_path"]["type"] == "string" and properties["csv_path"]["minLength"] == 1
    assert "s3://" in " ".join(properties["csv_path"]["examples"])
    concurrency = next(s for s in properties["max_concurrency"]["anyOf"] if s.get("type") == "integer")
    assert (concurrency["minimum"], concurrency["maximum"]) == (1, 1000)
    for name in ("out", "only_failed", "global_rate_limit", "storage_credentials"):
        assert {"type": "null"} in properties[name]["anyOf"], name  # optional: an empty field is fine


def test_the_customer_form_takes_documents_by_url_or_by_id() -> None:
    schema = _schema("flows.onboard_customer.onboard_customer")
    request = schema["definitions"]["OnboardingRequest"]["properties"]
    assert "store URL" in request["documents"]["description"]
    assert "already uploaded to Telnyx" in request["document_ids"]["description"]
