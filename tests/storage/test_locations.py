"""A location is parsed once, then asked what it is: its kind, redacted name, parent, what lies under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from telnyx_compliance.locations import ConfinementError, Location, StorageError

SECRET = "hunter2-X-Amz-Signature-abc"


@pytest.mark.parametrize(
    ("written", "kind", "scheme"),
    [
        ("data/in.csv", "local", ""),
        ("/srv/in.csv", "local", ""),
        ("C:\\data\\in.csv", "local", ""),  # a drive letter is not a scheme
        ("file:///srv/in.csv", "local", "file"),
        ("s3://bucket/batch/in.csv", "store", "s3"),
        ("S3://bucket/batch/in.csv", "store", "s3"),
        ("memory://t/a.csv", "store", "memory"),
        ("gs://bucket/in.csv", "store", "gs"),
        ("https://files.example/in.csv?sig=1", "http", "https"),
        ("HTTP://files.example/in.csv", "http", "http"),
    ],
)
def test_each_location_knows_its_kind(written: str, kind: str, scheme: str) -> None:
    location = Location.parse(written)
    assert (location.kind, location.scheme) == (kind, scheme)
    assert location.is_local is (kind == "local")
    assert location.is_store is (kind == "store")
    assert location.is_http is (kind == "http")
    assert location.text == written  # what I/O is handed is what the user wrote


def test_a_file_url_is_a_local_path_percent_decoded_and_a_store_key_is_not(tmp_path: Path) -> None:
    assert Location.parse("file:///srv/a%20b.csv").path == Path("/srv/a b.csv")
    assert Location.parse("s3://b/a%20b.csv").key == "/a%20b.csv"
    with pytest.raises(StorageError, match="is not a local path"):
        _ = Location.parse("s3://b/in.csv").path
    with pytest.raises(StorageError, match=r"file:// URLs must name a local path"):
        _ = Location.parse("file://host/in.csv").path


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        (
            f"https://bob:{SECRET}@files.example/r.csv?X-Amz-Signature={SECRET}",
            "https://files.example/r.csv?...",
        ),
        (f"s3://bucket/r.csv?{SECRET}", "s3://bucket/r.csv?..."),
        (f"s3://bucket/r.csv#{SECRET}", "s3://bucket/r.csv?..."),
        ("data/r.csv", "data/r.csv"),
    ],
)
def test_no_way_of_printing_a_location_shows_its_credentials(written: str, shown: str) -> None:
    location = Location.parse(written)
    assert location.redacted == shown
    for printed in (str(location), repr(location), f"{location}", f"{[location]}"):
        assert SECRET not in printed
        assert shown in printed


def test_a_refusal_names_the_location_redacted() -> None:
    with pytest.raises(StorageError) as raised:
        Location.parse(f"https://bob:{SECRET}@files.example/r.csv?sig={SECRET}").check(writable=True)
    assert "http(s) is read-only" in str(raised.value)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("ftp://host/in.csv", "the scheme ftp:// is not supported"),
        ("simplecache::s3://b/in.csv", "chained fsspec URLs are refused"),
        ("s3://b/batch/../other/in.csv", "'..' is refused"),
        ("s3://b/in.csv?versionId=1", "store keys with '\\?' or '#' are refused"),
        ("data/in\x00.csv", "NUL"),
    ],
)
def test_what_storage_does_not_read_is_refused_by_check(written: str, reason: str) -> None:
    with pytest.raises(StorageError, match=reason):
        Location.parse(written).check()


def test_parent_child_and_name_keep_the_kind() -> None:
    csv = Location.parse("s3://bucket/batch/in.csv")
    assert csv.parent.text == "s3://bucket/batch"
    assert csv.parent.child("in.results.csv").text == "s3://bucket/batch/in.results.csv"
    assert csv.name == "in.csv"
    assert Location.parse("s3://bucket/state/").child("catalog").text == "s3://bucket/state/catalog"
    local = Location.parse("state/catalog")
    assert local.child("latest.json").text == str(Path("state/catalog") / "latest.json")
    assert local.parent.text == "state" and local.name == "catalog"
    assert Location.parse("https://files.example/batch/in.csv?sig=1").name == "in.csv"


def test_resolved_makes_a_local_path_absolute_and_leaves_a_url_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Location.parse("in.csv").resolved().text == str(tmp_path.resolve() / "in.csv")
    assert Location.parse("file:///srv/../srv/in.csv").resolved().text == str(Path("/srv/in.csv").resolve())
    assert Location.parse("s3://b/in.csv").resolved().text == "s3://b/in.csv"


@pytest.mark.parametrize(
    ("written", "inside"),
    [
        ("s3://b/batch/docs/a.pdf", True),
        ("s3://b/batch", True),
        ("s3://b/batch2/a.pdf", False),  # by segment, not by text
        ("s3://other/batch/a.pdf", False),
        ("gs://b/batch/a.pdf", False),
        ("s3://b/batch/../secret/a.pdf", False),
        ("batch/a.pdf", False),  # a path is never under a URL
    ],
)
def test_is_under_compares_segments_of_the_key_that_is_read(written: str, inside: bool) -> None:
    assert Location.parse(written).is_under("s3://b/batch") is inside


def test_join_stays_under_the_prefix() -> None:
    prefix = Location.parse("s3://b/batch")
    assert prefix.join("docs/a.pdf").text == "s3://b/batch/docs/a.pdf"
    assert prefix.join("./docs//a.pdf").text == "s3://b/batch/docs/a.pdf"
    assert prefix.join("s3://b/batch/docs/a.pdf").text == "s3://b/batch/docs/a.pdf"
    for written, reason in [
        ("../other/a.pdf", "outside the documents prefix"),
        ("/etc/passwd", "expected a path relative"),
        ("s3://b/other/a.pdf", "outside the documents prefix"),
        ("docs\\a.pdf", "backslash"),
        ("docs/a.pdf?x", "store keys with"),
    ]:
        with pytest.raises(StorageError, match=reason):
            prefix.join(written)


def test_parse_is_idempotent_and_locations_compare_by_what_was_written() -> None:
    location = Location.parse("s3://b/in.csv")
    assert Location.parse(location) is location
    assert Location.parse(Path("data/in.csv")) == Location.parse("data/in.csv")
    assert len({Location.parse("s3://b/in.csv"), Location.parse("s3://b/in.csv")}) == 1


def test_within_confines_a_path_to_its_root_as_written_and_as_resolved(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / "secret.pdf").write_bytes(b"%PDF")
    (root / "link.pdf").symlink_to(tmp_path / "secret.pdf")
    assert Location.parse("sub/a.pdf").within(root) == (root / "sub" / "a.pdf").resolve()
    assert Location.parse(str(root / "sub" / "a.pdf")).within(root) == (root / "sub" / "a.pdf").resolve()
    for written, reason in [
        ("../secret.pdf", "outside the documents folder"),
        (str(tmp_path / "secret.pdf"), "outside the documents folder"),
        ("link.pdf", r"symbolic link \(.*link.pdf\)"),
        ("s3://b/a.pdf", "got a URL"),
        ("sub\\a.pdf", "backslash"),
        ("//server/share/a.pdf", "UNC"),
    ]:
        with pytest.raises(ConfinementError, match=reason):
            Location.parse(written).within(root)
