"""A bulk CSV given as a URL is fetched once into the documents folder; a path is used as it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from telnyx_compliance import storage
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.csv_source import CSVSourceError, materialise_csv

CSV_TEXT = "customer_reference,country_code\nacme,DE\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "customers.csv").write_text(CSV_TEXT, encoding="utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_is_fetched_into_the_staging_folder_and_maps_to_the_same_file_on_rerun(
    served: str, tmp_path: Path
) -> None:
    base = tmp_path / "work"
    first = materialise_csv(f"{served}/customers.csv?sig=abc", base, allow_private=True)
    assert first.read_text(encoding="utf-8") == CSV_TEXT
    assert first.parent == storage.staging_dir(f"{served}/customers.csv?sig=abc", base)
    assert first.name == "customers.csv"
    again = materialise_csv(f"{served}/customers.csv?sig=abc", base, allow_private=True)
    assert again == first  # a rerun finds its results CSV next to the same file
    assert not list(first.parent.glob("*.part"))


def test_a_missing_url_says_so_without_the_query_string(served: str, tmp_path: Path) -> None:
    base = tmp_path / "work"
    with pytest.raises(CSVSourceError) as excinfo:
        materialise_csv(f"{served}/nope.csv?X-Amz-Signature=secret123", base, allow_private=True)
    assert "could not fetch it (HTTP 404)" in str(excinfo.value)
    assert "secret123" not in str(excinfo.value)
    assert not list(base.rglob("*.csv*"))  # no partial download left behind


def test_a_loopback_url_is_refused_unless_allowed(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CSVSourceError, match="refused, the host resolves to a private, loopback"):
        materialise_csv(f"{served}/customers.csv", tmp_path)
    monkeypatch.setenv("COMPLIANCE_ALLOW_PRIVATE_URLS", "1")
    assert materialise_csv(f"{served}/customers.csv", tmp_path).read_text(encoding="utf-8") == CSV_TEXT


def test_a_path_is_used_as_it_is_and_a_missing_one_is_a_clear_error(tmp_path: Path) -> None:
    csv_path = tmp_path / "local.csv"
    csv_path.write_text(CSV_TEXT, encoding="utf-8")
    assert materialise_csv(str(csv_path), tmp_path / "unused") == csv_path
    with pytest.raises(CSVSourceError, match="no such CSV file"):
        materialise_csv(str(tmp_path / "absent.csv"), tmp_path)
    assert Location.parse("https://files.example/x.csv").is_http and Location.parse(str(csv_path)).is_local


def test_a_file_url_is_read_where_it_is_like_a_path(tmp_path: Path) -> None:
    csv_path = tmp_path / "a b.csv"
    csv_path.write_text(CSV_TEXT, encoding="utf-8")
    assert materialise_csv(f"file://{tmp_path}/a%20b.csv", tmp_path / "unused") == csv_path
    with pytest.raises(CSVSourceError, match=r"file:// URLs must name a local path"):
        materialise_csv("file://host/a.csv", tmp_path / "unused")
