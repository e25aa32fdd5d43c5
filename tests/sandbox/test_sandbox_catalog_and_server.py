"""Catalog, number classification, auth, determinism, persistence and the server helpers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from telnyx_compliance.sandbox.catalog import (
    COUNTRIES,
    classify_number,
    default_catalog,
    requirement_type_id,
)

from .support import LOCAL_URL, PDF, complete_group, in_process, upload

AUTH = {"Authorization": "Bearer k"}


def test_the_catalog_covers_eight_countries_every_field_type_and_both_actions() -> None:
    catalog = default_catalog()
    assert {c.code for c in COUNTRIES} >= {"US", "CA", "GB", "DE", "FR", "ES", "AU", "BR"}
    assert {r.phone_number_type for r in catalog.requirements} == {
        "local",
        "mobile",
        "toll_free",
        "national",
    }
    assert {r.action for r in catalog.requirements} == {"ordering", "porting"}
    assert {t.field_type for t in catalog.requirement_types} == {"address", "document", "textual"}
    criteria = {
        key for t in catalog.requirement_types for key in t.as_requirement_type()["acceptance_criteria"]
    }
    assert criteria >= {
        "regex",
        "min_length",
        "max_length",
        "acceptable_values",
        "locality_limit",
        "time_limit",
    }
    names = {t.name for t in catalog.requirement_types}
    assert {"Proof of Address", "Business Registration Number", "Identity Document", "VAT Number"} <= names


@pytest.mark.parametrize(
    "requirement_type", default_catalog().requirement_types, ids=lambda t: f"{t.country_code}-{t.name}"
)
def test_every_textual_example_meets_its_own_criteria(requirement_type) -> None:  # type: ignore[no-untyped-def]
    if requirement_type.field_type == "textual":
        assert requirement_type.check_text(requirement_type.example) is None


def test_requirement_ids_are_stable_uuid5_of_country_and_name() -> None:
    assert requirement_type_id("DE", "VAT Number") == requirement_type_id("de", "VAT Number")
    assert requirement_type_id("DE", "VAT Number") != requirement_type_id("FR", "VAT Number")
    vat = default_catalog().requirement_type(requirement_type_id("DE", "VAT Number"))
    assert vat is not None and vat.check_text("DE123456789") is None and vat.check_text("FR123") is not None


@pytest.mark.parametrize(
    ("number", "country", "number_type"),
    [
        ("+447400123456", "GB", "mobile"),
        ("+442079460000", "GB", "local"),
        ("+448001234567", "GB", "toll_free"),
        ("+443001234567", "GB", "national"),
        ("+33612345678", "FR", "mobile"),
        ("+33140000000", "FR", "local"),
        ("+33800123456", "FR", "toll_free"),
        ("+4930123456", "DE", "local"),
        ("+4915112345678", "DE", "mobile"),
        ("+18005550100", "US", "toll_free"),
        ("+61291234567", "AU", "local"),
        ("+5511912345678", "BR", "mobile"),
    ],
)
def test_numbers_are_classified_by_region_and_type(number: str, country: str, number_type: str) -> None:
    info = classify_number(number)
    assert (info.country_code, info.phone_number_type) == (country, number_type)


def test_phone_number_requirements_follow_the_inferred_country_and_type() -> None:
    with in_process(SandboxConfig()) as client:
        body = client.get(
            "/v2/phone_numbers_regulatory_requirements",
            params={"filter[phone_number]": "+447400123456,+498001234567"},
            headers=AUTH,
        ).json()
    first, second = body["data"]
    assert first["region_information"] == [{"region_type": "country_code", "region_name": "GB"}]
    assert {r["id"] for r in first["regulatory_requirements"]} == {
        t.id
        for t in default_catalog().find("GB", "mobile", "ordering").types  # type: ignore[union-attr]
    }
    assert second["phone_number_type"] == "toll_free"


def test_configured_api_keys_are_the_only_ones_accepted() -> None:
    with in_process(SandboxConfig(api_keys=["good"])) as client:
        assert (
            client.get("/v2/requirement_groups", headers={"Authorization": "Bearer good"}).status_code == 200
        )
        wrong = client.get("/v2/requirement_groups", headers={"Authorization": "Bearer bad"})
        missing = client.get("/v2/requirement_groups")
    for response in (wrong, missing):
        assert response.status_code == 401
        error = response.json()["errors"][0]
        assert set(error) == {"code", "title", "detail", "source", "meta"} and error["meta"]["url"]


def test_unknown_routes_are_telnyx_shaped_404s() -> None:
    with in_process(SandboxConfig()) as client:
        response = client.get("/v2/no_such_thing", headers=AUTH)
    assert response.status_code == 404 and response.json()["errors"][0]["code"]


def test_the_same_seed_gives_the_same_ids() -> None:
    def ids(seed: int) -> list[str]:
        with in_process(SandboxConfig(seed=seed), f"{LOCAL_URL}/v2/", headers=AUTH) as client:
            group = complete_group(client)  # type: ignore[arg-type]
            return [group["id"], *(r["field_value"] for r in group["regulatory_requirements"])]

    assert ids(3) == ids(3)
    assert ids(3) != ids(4)


def test_state_survives_a_restart_with_persistence(tmp_path: Path) -> None:
    config = SandboxConfig(seed=1, persist_path=str(tmp_path / "sandbox.sqlite"))
    with SandboxServer(config) as sandbox, httpx.Client(base_url=sandbox.base_url, headers=AUTH) as api:
        document = upload(api, PDF, customer_reference="kept")
        group = complete_group(api, document_id=document["id"])
        sandbox.advance_clock(100)
    with (
        SandboxServer(config.model_copy()) as sandbox,
        httpx.Client(base_url=sandbox.base_url, headers=AUTH) as api,
    ):
        assert api.get(f"/documents/{document['id']}/download").content == PDF
        restored = api.get(f"/requirement_groups/{group['id']}").json()
        assert restored["regulatory_requirements"] == group["regulatory_requirements"]
        assert sandbox.stats()["clock"]["offset_seconds"] == 100
        new = upload(api, PDF)
        assert new["id"] not in {document["id"], group["id"]}  # the id sequence continues, no reuse


def test_the_server_helper_reports_its_urls_and_stops_cleanly() -> None:
    sandbox = SandboxServer(SandboxConfig(seed=5))
    with sandbox:
        assert sandbox.base_url == f"{sandbox.root_url}/v2"
        assert httpx.get(f"{sandbox.root_url}/_sandbox/health").json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.root_url}/_sandbox/health")


def test_serve_prints_its_base_url_and_stops_on_ctrl_c() -> None:
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "from telnyx_compliance.sandbox import SandboxConfig, serve; "
        f"serve(SandboxConfig(seed=1), host='127.0.0.1', port={port})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}/v2" in process.stdout.readline()
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200:
                    break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
