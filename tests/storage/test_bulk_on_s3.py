"""Bulk onboarding with the CSV, its documents and the results on S3 (moto's server: a real endpoint)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import pytest

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.bulk import BulkRun
from telnyx_compliance.onboarding.csv_source import CSVSourceError, locate_bulk
from telnyx_compliance.sandbox import SandboxServer
from telnyx_compliance.settings import PipelineSettings
from tests.support import run_cli

from .support import put_folder, read_results, s3, write_batch

FAST = PipelineSettings(approval_poll_interval=0.05, approval_poll_max_interval=0.2, approval_poll_timeout=10)


def test_compliance_onboard_reads_the_csv_and_documents_from_a_bucket_and_writes_results_there(
    prefect_harness: None,
    sandbox: SandboxServer,
    bucket: str,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's "done when": ``compliance onboard s3://bucket/in.csv --out s3://bucket/results.csv``."""
    local = asyncio.run(write_batch(sandbox.base_url, tmp_path / "batch", 6, seed=3))
    fs = s3(s3_endpoint)
    put_folder(fs, local.parent, f"{bucket}/batch")
    before = sandbox.stats()["resources"]

    done = run_cli(
        ["onboard", f"s3://{bucket}/batch/onboarding.csv", "--out", f"s3://{bucket}/results.csv", "--json"],
        sandbox.base_url,
        tmp_path / "home",
    )

    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["results"] == f"s3://{bucket}/results.csv"
    assert summary["counts"]["completed"] == 6
    results = read_results(fs, f"{bucket}/results.csv")
    assert {row["status"] for row in results.values()} == {"completed"} and len(results) == 6
    assert not fs.exists(f"{bucket}/results.csv.parts"), "the parts go once the final object is written"
    # The documents came from the bucket, byte for byte: one upload per customer.
    assert sandbox.stats()["resources"]["documents"] == before["documents"] + 6
    assert sandbox.stats()["duplicates"] == {}
    listed = httpx.get(
        f"{sandbox.base_url}/documents", params={"page[size]": 250}, headers={"Authorization": "Bearer k"}
    ).json()["data"]
    expected = hashlib.sha256((local.parent / "documents" / "proof_of_address.pdf").read_bytes()).hexdigest()
    assert expected in {document["sha256"] for document in listed}


async def test_documents_outside_the_csv_prefix_are_refused_per_row_and_the_others_go_on(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, tmp_path: Path
) -> None:
    fs = s3(s3_endpoint)
    fs.pipe_file(f"{bucket}/secret.pdf", b"%PDF-1.4 not yours")
    local = await write_batch(
        sandbox.base_url,
        tmp_path / "batch",
        5,
        seed=4,
        overrides=[
            ("doc_proof_of_address", "../secret.pdf"),
            ("doc_proof_of_address", f"s3://{bucket}/secret.pdf"),
            ("doc_proof_of_address", "documents/missing.pdf"),
        ],
    )
    put_folder(fs, local.parent, f"{bucket}/batch")
    locations = await asyncio.to_thread(
        locate_bulk, f"s3://{bucket}/batch/onboarding.csv", None, staging_root=tmp_path / "staging"
    )
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        summary = await BulkRun(locations.csv, client, locations=locations, settings=FAST).run()

    assert summary.counts["completed"] == 2 and summary.counts["invalid"] == 3
    results = read_results(fs, f"{bucket}/batch/onboarding.results.csv")
    errors = [row["error"] for row in results.values() if row["status"] == "invalid"]
    assert all(e.startswith("doc_proof_of_address: ") for e in errors)  # the column; the row is its own cell
    assert any("../secret.pdf': the path resolves outside the documents prefix" in e for e in errors)
    assert any("URL lies outside the documents prefix" in e for e in errors)
    assert any("not found (looked in s3://" in e for e in errors)
    assert all("not yours" not in row["error"] for row in results.values())


async def test_a_crashed_run_leaves_parts_and_the_rerun_skips_what_they_record(
    sandbox: SandboxServer, bucket: str, s3_endpoint: str, tmp_path: Path
) -> None:
    fs = s3(s3_endpoint)
    local = await write_batch(sandbox.base_url, tmp_path / "batch", 12, seed=5)
    put_folder(fs, local.parent, f"{bucket}/batch")
    csv_url, out = f"s3://{bucket}/batch/onboarding.csv", f"s3://{bucket}/out/results.csv"

    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        locations = await asyncio.to_thread(locate_bulk, csv_url, out, staging_root=tmp_path / "a")
        finished: list[int] = []
        run = BulkRun(
            locations.csv,
            client,
            locations=locations,
            settings=FAST,
            max_concurrency=1,
            on_row=lambda line: finished.append(line.row),
        )
        task = run.start()
        while len(finished) < 4:
            await asyncio.sleep(0.01)
        task.cancel()  # the worker dies mid-run
        with pytest.raises(asyncio.CancelledError):
            await task

    assert not fs.exists(f"{bucket}/out/results.csv"), "no final object from a run that did not end"
    parts = fs.ls(f"{bucket}/out/results.csv.parts")
    assert parts, "the lines written so far are on the store, as parts"
    created = sandbox.stats()["resources"]["requirement_groups"]

    # Another machine (another staging folder) reruns it: the rows in the parts are carried over.
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        locations = await asyncio.to_thread(locate_bulk, csv_url, out, staging_root=tmp_path / "b")
        summary = await BulkRun(locations.csv, client, locations=locations, settings=FAST).run()

    assert summary.carried_over >= 4
    assert summary.counts["completed"] == 12
    assert sandbox.stats()["resources"]["requirement_groups"] - created <= 12 - summary.carried_over
    assert sandbox.stats()["duplicates"] == {}
    results = read_results(fs, f"{bucket}/out/results.csv")
    assert len(results) == 12 and {row["status"] for row in results.values()} == {"completed"}
    assert not fs.exists(f"{bucket}/out/results.csv.parts")


def test_bad_locations_are_refused_before_anything_is_read(bucket: str, tmp_path: Path) -> None:
    for csv_url, out, expected in [
        (f"s3://{bucket}/absent.csv", None, "no such CSV object"),
        (f"ssh://host/{bucket}/in.csv", None, "ssh:// is not supported"),
        (f"simplecache::s3://{bucket}/in.csv", None, "chained fsspec URLs are refused"),
        (str(tmp_path / "in.csv"), "https://files.example/results.csv", "http(s) is read-only"),
    ]:
        with pytest.raises(CSVSourceError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            locate_bulk(csv_url, out, staging_root=tmp_path / "staging")
