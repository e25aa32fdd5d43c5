"""The storage layer's rules: which URLs, what stays inside a prefix, what a message may show."""

from __future__ import annotations

from pathlib import Path

import pytest

from telnyx_compliance import storage
from telnyx_compliance.catalog_diff import CatalogSnapshot, SnapshotStore
from telnyx_compliance.onboarding.confine import ConfinementError, RunScope, confine_parameter
from telnyx_compliance.onboarding.csv_source import CSVSourceError, results_location_for
from telnyx_compliance.onboarding.results_csv import ResultRow, ResultsMirror, ResultsWriter, latest_results

from .conftest import s3


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
