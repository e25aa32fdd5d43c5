"""A whole bulk onboarding with a recognisable key, through the flow under the Prefect test harness; then
every output is scanned for the key, for document bytes and for download links."""

from __future__ import annotations

import asyncio
import csv
import itertools
import logging
from pathlib import Path

import phonenumbers
import pytest

from configs.settings import PipelineSettings, TelnyxSettings
from telnyx_compliance import AsyncTelnyx, AuthenticationError
from telnyx_compliance.onboarding.fake import minimal_pdf
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

KEY = "KEY-canary-7f3a9c"
PIPELINE = PipelineSettings(
    approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=20
)
DOCUMENT_MARKER = "CANARY-DOCUMENT-LINE-5b1e"
_numbers = itertools.count(4000)


def de_number() -> str:
    while True:
        candidate = f"+4930{next(_numbers):08d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            return candidate


def write_csv(folder: Path) -> tuple[Path, bytes]:
    document = minimal_pdf([DOCUMENT_MARKER, "Friedrichstrasse 123"], title="bill")
    (folder / "bill.pdf").write_bytes(document)
    rows = [
        {
            "customer_reference": customer,
            "country_code": "DE",
            "address_first_name": "Maria",
            "address_last_name": "Schmidt",
            "address_business_name": f"{customer} GmbH",
            "address_street_address": "Friedrichstrasse 123",
            "address_locality": "Berlin",
            "address_postal_code": "10117",
            "phone_numbers": number,
            "doc_proof_of_address": "bill.pdf",
            "value_business_registration_number": "HRB 123456",
            "value_tax_id": "DE123456789",
            "value_contact_name": "Maria Schmidt",
        }
        for customer, number in (("canary-one", de_number()), ("canary-two", de_number()), ("bad", "123"))
    ]
    path = folder / "secrets.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, document


async def prefect_surfaces() -> dict[str, str]:
    """Everything the Prefect API holds about the runs: logs, runs and their states, artifacts."""
    from prefect import get_client
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()
    await asyncio.sleep(0.6)
    async with get_client() as prefect:
        logs = await prefect.read_logs()
        flow_runs = await prefect.read_flow_runs()
        task_runs = await prefect.read_task_runs()
        artifacts = await prefect.read_artifacts()
    assert logs and flow_runs and artifacts
    return {
        "logs": "\n".join(log.message for log in logs),
        "flow runs": "\n".join(
            f"{run.name} {run.parameters} {run.state and run.state.message} {run.state and run.state.data}"
            for run in flow_runs
        ),
        "task runs": "\n".join(
            f"{run.name} {run.task_inputs} {run.state and run.state.message} {run.state and run.state.data}"
            for run in task_runs
        ),
        "artifacts": "\n".join(f"{a.key} {a.description} {a.data} {a.metadata_}" for a in artifacts),
    }


def assert_clean(surfaces: dict[str, str], document: bytes) -> None:
    document_text = document.decode("latin-1")
    for surface, text in surfaces.items():
        assert KEY not in text, surface
        assert DOCUMENT_MARKER not in text, surface
        assert document_text[:64] not in text, surface
        assert "/_sandbox/files/" not in text, surface


def test_a_bulk_run_and_its_401_failure_never_show_the_key_document_bytes_or_links(
    prefect_harness: None,
    sandbox: SandboxServer,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from flows.bulk_onboard import run_bulk

    caplog.set_level(logging.DEBUG)
    csv_path, document = write_csv(tmp_path)
    out = tmp_path / "results.csv"

    summary = run_bulk(
        csv_path,
        out=out,
        settings=TelnyxSettings(api_key=KEY, base_url=sandbox.base_url, rate_limit=500),
        pipeline=PIPELINE,
        max_concurrency=2,
    )
    assert summary.counts["completed"] == 2 and summary.counts["invalid"] == 1

    # The forced failure: a sandbox that accepts another key only (every call answers 401).
    with SandboxServer(SandboxConfig(seed=2, api_keys=["some-other-key"])) as strict:
        refused_out = tmp_path / "refused.csv"
        refused = run_bulk(
            csv_path,
            out=refused_out,
            settings=TelnyxSettings(api_key=KEY, base_url=strict.base_url, max_retries=1),
            pipeline=PIPELINE,
        )
        assert refused.counts["failed"] == 2, refused.counts
        failed_lines = refused_out.read_text(encoding="utf-8")
        assert "AuthenticationError" in failed_lines and "401" in failed_lines

        async def direct() -> AuthenticationError:
            async with AsyncTelnyx(api_key=KEY, base_url=strict.base_url, max_retries=0) as client:
                with pytest.raises(AuthenticationError) as raised:
                    await client.documents.list()
                assert KEY not in repr(client)
                return raised.value

        error = asyncio.run(direct())

    captured = capfd.readouterr()
    surfaces = asyncio.run(prefect_surfaces())
    surfaces.update(
        {
            "stdout": captured.out,
            "stderr": captured.err,
            "python logs": "\n".join(f"{r.getMessage()} {r.args} {r.exc_text}" for r in caplog.records),
            "results csv": out.read_text(encoding="utf-8"),
            "401 results csv": failed_lines,
            "summaries": f"{summary!r} {summary.markdown()} {refused!r} {refused.markdown()}",
            "exception": f"{error} {error!r} {error.args} {error.message} {error.errors} {error.body}",
            "exception request": f"{error.request.headers if error.request else ''} "
            f"{error.response.request.headers}",
        }
    )
    assert "Authorization" not in surfaces["python logs"]
    assert_clean(surfaces, document)
