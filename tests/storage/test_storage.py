"""The storage layer's rules: which URLs, what stays inside a prefix, what a message may show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from telnyx_compliance import storage
from telnyx_compliance.catalog_diff import CatalogSnapshot, SnapshotStore
from telnyx_compliance.onboarding.confine import ConfinementError, RunScope, confine_parameter
from telnyx_compliance.onboarding.csv_source import CSVSourceError, results_location_for
from telnyx_compliance.onboarding.results_csv import ResultRow, ResultsMirror, ResultsWriter, latest_results

from .support import s3


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("docs/a.pdf", "s3://b/batch/docs/a.pdf"),
        ("./docs/../a.pdf", "s3://b/batch/a.pdf"),
        ("s3://b/batch/docs/a.pdf", "s3://b/batch/docs/a.pdf"),
    ],
)
def test_documents_resolve_inside_the_prefix(written: str, expected: str) -> None:
    assert storage.join_under("s3://b/batch", written) == expected


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("../secret.pdf", "outside the documents prefix"),
        ("docs/../../secret.pdf", "outside the documents prefix"),
        ("/batch/a.pdf", "expected a path relative"),
        ("s3://b/batchx/a.pdf", "URL lies outside"),  # a sibling prefix, not a sub-folder
        ("s3://other/batch/a.pdf", "URL lies outside"),
        ("gs://b/batch/a.pdf", "URL lies outside"),
        ("docs\\a.pdf", "backslash"),
        ("docs/a\x00.pdf", "NUL"),
    ],
)
def test_documents_that_leave_the_prefix_are_refused(written: str, reason: str) -> None:
    with pytest.raises(storage.StorageError, match=reason):
        storage.join_under("s3://b/batch", written)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ssh://host/file.csv", "ssh:// is not supported"),
        ("github://org:repo@main/x.csv", "github:// is not supported"),
        ("zip://a.csv::s3://b/x.zip", "chained"),
        ("simplecache::s3://b/x.csv", "chained"),
    ],
)
def test_only_the_listed_schemes_are_read(location: str, reason: str) -> None:
    with pytest.raises(storage.StorageError, match=reason):
        storage.check_location(location)


def test_http_is_read_only_and_messages_never_show_credentials() -> None:
    with pytest.raises(storage.StorageError, match=r"http\(s\) is read-only") as raised:
        storage.check_location("https://bob:hunter2@files.example/r.csv?X-Amz-Signature=abc", writable=True)
    assert "hunter2" not in str(raised.value) and "abc" not in str(raised.value)
    assert storage.redact("s3://bucket/k.csv") == "s3://bucket/k.csv"


def test_a_missing_driver_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as on a machine without the [gcs] extra
    with pytest.raises(
        storage.StorageError, match=r"gs:// needs the gcsfs package .*telnyx-compliance\[gcs\]"
    ):
        storage.filesystem("gs://bucket/x.csv")


def test_memory_urls_round_trip_and_stage_with_a_size_cap(tmp_path: Path) -> None:
    storage.put_bytes("memory://t/a.bin", b"x" * 100)
    assert storage.read_bytes("memory://t/a.bin") == b"x" * 100
    assert storage.stage("memory://t/a.bin", tmp_path / "a.bin").read_bytes() == b"x" * 100
    with pytest.raises(storage.StorageError, match="more than the allowed 10"):
        storage.stage("memory://t/a.bin", tmp_path / "b.bin", max_bytes=10)
    assert not (tmp_path / "b.bin").exists() and not list(tmp_path.glob(".*part"))
    with pytest.raises(FileNotFoundError):
        storage.stage("memory://t/absent.bin", tmp_path / "c.bin")


def test_default_results_sit_beside_the_csv_on_its_store() -> None:
    assert results_location_for("s3://b/x/customers.csv", None) == "s3://b/x/customers.results.csv"
    assert results_location_for("s3://b/x/customers.csv", "s3://b/r.csv") == "s3://b/r.csv"


def test_deployment_runs_use_only_the_storage_roots(tmp_path: Path) -> None:
    scope = RunScope.for_deployment(tmp_path, storage_roots=("s3://onboarding",))
    assert confine_parameter("s3://onboarding/2026/in.csv", "csv", scope, name="CSV") == (
        "s3://onboarding/2026/in.csv"
    )
    for location in ("s3://onboarding-other/in.csv", "s3://secrets/in.csv"):
        with pytest.raises(ConfinementError, match="outside the storage roots"):
            confine_parameter(location, "csv", scope, name="CSV")
    with pytest.raises(ConfinementError, match=r"'\.\.' is refused"):
        confine_parameter("s3://onboarding/../secrets/in.csv", "csv", scope, name="CSV")
    with pytest.raises(ConfinementError, match="none configured"):
        confine_parameter("s3://onboarding/in.csv", "csv", RunScope.for_deployment(tmp_path), name="CSV")


def test_a_results_url_on_s3_never_replaces_an_object_that_is_not_ours(bucket: str) -> None:
    """Recognised by its header on a real S3 endpoint, as on disk."""
    scope = RunScope.for_deployment(Path("."), storage_roots=(f"s3://{bucket}",))
    storage.put_bytes(f"s3://{bucket}/batch/in.csv", b"customer_reference,country_code\nc1,DE\n")
    with pytest.raises(ConfinementError, match="exists and is not a results CSV"):
        confine_parameter(f"s3://{bucket}/batch/in.csv", "results", scope, name="out")
    assert confine_parameter(f"s3://{bucket}/batch/new.csv", "results", scope, name="out").endswith("new.csv")


def test_results_links_never_carry_a_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert (
        storage.browser_link("s3://b/r.csv") == "https://s3.console.aws.amazon.com/s3/object/b?prefix=r.csv"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    assert storage.browser_link("s3://b/k/r.csv") == "http://minio:9000/b/k/r.csv"
    # A key's '&', space, '%' and parentheses stay part of the key, not of the link's syntax.
    assert storage.browser_link("s3://b/k/a&b (1)%.csv") == "http://minio:9000/b/k/a%26b%20%281%29%25.csv"
    assert storage.browser_link("https://files.example/r.csv?sig=1") == "https://files.example/r.csv?..."


def test_catalog_snapshots_on_a_bucket_are_shared_by_every_worker(bucket: str, s3_endpoint: str) -> None:
    snapshot = CatalogSnapshot(taken_at="2026-11-28T00:00:00Z", markets={}, requirement_types={})
    SnapshotStore(f"s3://{bucket}/state/catalog").save(snapshot)
    assert SnapshotStore(f"s3://{bucket}/state/catalog").latest() == snapshot  # another worker reads it
    assert sorted(s3(s3_endpoint).ls(f"{bucket}/state/catalog")) == [
        f"{bucket}/state/catalog/catalog-2026-11-28T000000Z.json",
        f"{bucket}/state/catalog/latest.json",
    ]


def test_a_crash_between_the_final_object_and_removing_the_parts_keeps_the_latest_lines(
    tmp_path: Path,
) -> None:
    """The compacted lines are also the last part, so a reader that finds both still reads them last."""
    location = "memory://results-test/r.csv"
    local = tmp_path / "r.csv"
    mirror = ResultsMirror(location, every=0)
    with ResultsWriter(local, mirror) as writer:
        writer.write([ResultRow(row=2, customer_reference="c1", status="pending_approval")])
        mirror.push(local, force=True)
        writer.write([ResultRow(row=2, customer_reference="c1", status="completed")])
        # close(): compaction, then finish(): the last part, the final object, then the parts go.
        real_remove = storage.remove
        storage.remove = lambda *a, **k: (_ for _ in ()).throw(OSError("crash"))  # type: ignore[assignment]
        try:
            with pytest.raises(OSError, match="crash"):
                writer.close()
        finally:
            storage.remove = real_remove  # type: ignore[assignment]
    assert len(storage.list_files(location + ".parts")) >= 2  # the parts were not removed
    fetched = tmp_path / "fetched.csv"
    ResultsMirror(location).fetch(fetched)
    assert latest_results(fetched)[2].status == "completed"


def test_only_failed_reads_an_earlier_runs_results_from_the_store_parts_included(tmp_path: Path) -> None:
    from telnyx_compliance.onboarding.csv_source import locate_bulk
    from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS

    def text(*lines: ResultRow) -> bytes:
        rows = [",".join(RESULT_COLUMNS), *(",".join(line.cells()) for line in lines)]
        return ("\r\n".join(rows) + "\r\n").encode()

    csv_path = tmp_path / "in.csv"
    csv_path.write_text("customer_reference,country_code\nc1,DE\nc2,DE\n", encoding="utf-8")
    storage.put_bytes(
        "memory://earlier/r.csv", text(ResultRow(row=2, customer_reference="c1", status="failed"))
    )
    storage.put_bytes(  # a part from a later run that crashed: it completed row 2 and failed row 3
        "memory://earlier/r.csv.parts/00000000000000000001.csv",
        text(
            ResultRow(row=2, customer_reference="c1", status="completed"),
            ResultRow(row=3, customer_reference="c2", status="failed"),
        ),
    )
    located = locate_bulk(str(csv_path), None, "memory://earlier/r.csv", staging_root=tmp_path / "staging")
    assert located.only_failed is not None
    assert {row: line.status for row, line in latest_results(located.only_failed).items()} == {
        2: "completed",
        3: "failed",
    }
    with pytest.raises(CSVSourceError, match="no results there"):
        locate_bulk(str(csv_path), None, "memory://nothing/r.csv", staging_root=tmp_path / "staging")


@pytest.mark.parametrize(
    "location",
    [
        "s3://root/ok#/../other/in.csv",  # a URL parser cuts at '#', fsspec reads 'ok#/../other/in.csv'
        "s3://root/a?x=/../b",
        "s3://root/a.csv?versionId=1",
        "memory://root/a#b",
        "file:///tmp/a#b.csv",
    ],
)
def test_store_keys_with_a_question_mark_or_hash_are_refused(location: str) -> None:
    with pytest.raises(
        storage.StorageError, match=r"store keys with '\?' or '#' are refused; rename the object"
    ):
        storage.check_location(location)
    scope = RunScope.for_deployment(Path("."), storage_roots=("s3://root/ok",))
    with pytest.raises(ConfinementError, match=r"CSV: .* store keys with '\?' or '#' are refused"):
        confine_parameter(location, "csv", scope, name="CSV")


@pytest.mark.parametrize("written", ["a#/../../../other/x.pdf", "docs/a.pdf?x=/../../y", "docs/a#1.pdf"])
def test_a_document_cell_with_a_question_mark_or_hash_is_refused(written: str) -> None:
    with pytest.raises(storage.StorageError, match=r"store keys with '\?' or '#' are refused"):
        storage.join_under("s3://root/batch", written)


def test_prefix_checks_see_the_key_the_store_reads() -> None:
    assert not storage.under("s3://root/ok#/../other/x", "s3://root/ok")  # the key is other/x
    assert storage.parent("s3://root/a#b/c.csv") == "s3://root/a#b"
    # http(s) keeps its query: a pre-signed URL's signature is not part of the path.
    assert storage.under("https://files.example/batch/a.csv?sig=1", "https://files.example/batch")
    storage.check_location("https://files.example/batch/a.csv?X-Amz-Signature=a%2Fb#frag")


def test_percent_encoding_is_literal_in_a_store_key_and_decoded_in_a_file_url(
    bucket: str, s3_endpoint: str
) -> None:
    """s3fs sends a key's '%' as it is (botocore quotes it), so ``ok%2F..%2Fother`` is one object inside the
    prefix; a file:// path is percent-decoded, so there ``%2F..%2F`` is a '..' and refused."""
    encoded = f"s3://{bucket}/root/ok%2F..%2Fother"
    storage.check_location(encoded)
    assert storage.under(encoded, f"s3://{bucket}/root")
    storage.put_bytes(f"s3://{bucket}/other", b"outside")
    storage.put_bytes(encoded, b"inside")
    assert s3(s3_endpoint).cat_file(f"{bucket}/root/ok%2F..%2Fother") == b"inside"
    assert storage.read_bytes(encoded) == b"inside"
    assert s3(s3_endpoint).cat_file(f"{bucket}/other") == b"outside"
    for location in ("file:///srv/in/a%2F..%2F..%2Fetc/passwd", "file:///srv/in/%2e%2e/x.csv"):
        with pytest.raises(storage.StorageError, match=r"'\.\.' is refused"):
            storage.check_location(location)
    with pytest.raises(storage.StorageError, match="NUL"):
        storage.check_location("file:///srv/in/a%00.csv")


def test_a_file_url_with_a_host_is_one_clear_line_for_the_flow(prefect_harness: None, tmp_path: Path) -> None:
    import asyncio

    from configs.settings import PipelineSettings, TelnyxSettings
    from flows.bulk_onboard import bulk_onboard
    from tasks._client import use_settings

    with pytest.raises(storage.StorageError, match=r"file:// URLs must name a local path \(file:///…\)"):
        storage.check_location("file://host/x.csv")
    with use_settings(TelnyxSettings(api_key="k", base_url="http://127.0.0.1:9/v2"), PipelineSettings()):
        state = asyncio.run(bulk_onboard("file://host/x.csv", return_state=True))  # type: ignore[arg-type]
    assert state.is_failed()
    assert state.message == "csv_path: file://host/x.csv: file:// URLs must name a local path (file:///…)"


@pytest.mark.parametrize(
    "args",
    [
        ["file://host/x.csv"],
        ["in.csv", "--out", "file://host/r.csv"],
        ["in.csv", "--only-failed", "file://h/r"],
    ],
)
def test_a_file_url_with_a_host_is_one_clear_line_for_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    from typer.testing import CliRunner

    from telnyx_compliance.cli import app

    monkeypatch.setenv("TELNYX_BASE_URL", "http://127.0.0.1:9/v2")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # no server is started for a refusal
    (tmp_path / "in.csv").write_text("customer_reference,country_code\nc1,DE\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["onboard", *args])
    assert result.exit_code == 2
    assert re.match(r"error: (CSV|--out|--only-failed): file://h", result.output.strip()), result.output
    assert "file:// URLs must name a local path" in result.output and "Traceback" not in result.output
