"""Finding 4: a CSV (or document) given as a URL is fetched like someone else's URL, not like ours.

Public hosts only (unless allowed), every redirect hop checked again, one deadline for the whole download,
a size cap, no partial file on any failure, and no credentials or query string in any message.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from telnyx_compliance._netguard import (
    FetchError,
    check_url,
    download,
    fetch_bytes,
    is_public_address,
    redact_url,
)
from telnyx_compliance.onboarding.csv_source import CSVSourceError, materialise_csv

CSV_TEXT = b"customer_reference,country_code\nacme,DE\n"
PUBLIC = "93.184.215.14"  # any globally routable address: the transport below never connects to it


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Host names resolved as the table says (the real resolver is not asked)."""
    table = {
        "files.example": PUBLIC,
        "localhost": "127.0.0.1",
        "evil.example": "10.0.0.7",
        "metadata.example": "169.254.169.254",
        "six.example": "::1",
        "mapped.example": "::ffff:127.0.0.1",
    }

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        address = table.get(host, host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return table


def _transport(routes: dict[str, httpx.Response | Any]) -> httpx.MockTransport:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        url = f"{request.url.scheme}://{request.url.host}{request.url.path}"
        seen.append(url)
        answer = routes.get(url)
        if answer is None:
            return httpx.Response(404)
        return answer() if callable(answer) else answer

    transport = httpx.MockTransport(handler)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4200/api/block_documents",
        "http://localhost/x.csv",
        "http://evil.example/x.csv",
        "http://metadata.example/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.csv",
        "http://six.example/x.csv",
        "http://mapped.example/x.csv",
        "http://0.0.0.0/x.csv",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused_by_default(
    fake_dns: dict[str, str], url: str, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="refused, the host resolves to a private"):
        check_url(url, allow_private=False)
    with pytest.raises(CSVSourceError, match="COMPLIANCE_ALLOW_PRIVATE_URLS"):
        materialise_csv(url, tmp_path)
    assert not list(tmp_path.rglob("*.csv*"))
    check_url(url, allow_private=True)  # allowed on purpose: no error


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://files.example/x.csv", "gopher://x/", "http:///x"]
)
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    with pytest.raises(FetchError):
        check_url(url, allow_private=True)


def test_a_redirect_to_a_private_host_is_refused_at_that_hop(
    fake_dns: dict[str, str], tmp_path: Path
) -> None:
    transport = _transport(
        {
            "http://files.example/a.csv": httpx.Response(
                302, headers={"location": "http://files.example/b.csv"}
            ),
            "http://files.example/b.csv": httpx.Response(
                307, headers={"location": "http://169.254.169.254/latest/meta-data/iam"}
            ),
        }
    )
    with pytest.raises(FetchError, match=r"169\.254\.169\.254/latest/meta-data/iam: refused"):
        download(
            "http://files.example/a.csv",
            tmp_path / "a.csv",
            max_bytes=1000,
            time_limit=5,
            allow_private=False,
            transport=transport,
        )
    assert transport.seen == ["http://files.example/a.csv", "http://files.example/b.csv"]  # type: ignore[attr-defined]
    assert not list(tmp_path.iterdir())


def test_redirects_are_followed_to_a_public_host_and_capped(fake_dns: dict[str, str], tmp_path: Path) -> None:
    ok = _transport(
        {
            "http://files.example/a.csv": httpx.Response(301, headers={"location": "/b.csv"}),
            "http://files.example/b.csv": httpx.Response(200, content=CSV_TEXT),
        }
    )
    target = download(
        "http://files.example/a.csv",
        tmp_path / "a.csv",
        max_bytes=1000,
        time_limit=5,
        allow_private=False,
        transport=ok,
    )
    assert target.read_bytes() == CSV_TEXT
    loop = _transport({"http://files.example/a.csv": httpx.Response(302, headers={"location": "/a.csv"})})
    with pytest.raises(FetchError, match="more than 5 redirects"):
        download(
            "http://files.example/a.csv",
            tmp_path / "b.csv",
            max_bytes=1000,
            time_limit=5,
            allow_private=False,
            transport=loop,
        )


def _trickle() -> Iterator[bytes]:
    for _ in range(50):
        time.sleep(0.05)
        yield b"x" * 10


def test_one_deadline_covers_the_whole_download_and_no_part_file_survives(
    fake_dns: dict[str, str], tmp_path: Path
) -> None:
    # Each read comes quickly, so a per-read timeout never trips; the body as a whole takes 2.5 s.
    transport = _transport({"http://files.example/slow.csv": lambda: httpx.Response(200, content=_trickle())})
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than allowed"):
        download(
            "http://files.example/slow.csv",
            tmp_path / "slow.csv",
            max_bytes=10_000,
            time_limit=0.5,
            allow_private=False,
            transport=transport,
        )
    assert time.monotonic() - started < 1.5
    assert not list(tmp_path.iterdir())


def test_the_size_cap_stops_an_endless_body_and_removes_the_part_file(
    fake_dns: dict[str, str], tmp_path: Path
) -> None:
    transport = _transport({"http://files.example/big.csv": httpx.Response(200, content=b"y" * 5000)})
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        download(
            "http://files.example/big.csv",
            tmp_path / "big.csv",
            max_bytes=1000,
            time_limit=5,
            allow_private=False,
            transport=transport,
        )
    assert not list(tmp_path.iterdir())


def test_credentials_and_signatures_never_appear_in_messages(
    fake_dns: dict[str, str], tmp_path: Path
) -> None:
    url = "https://alice:hunter2@files.example/in.csv?X-Amz-Signature=s3cr3t&X-Amz-Credential=AKIA"
    assert redact_url(url) == "https://files.example/in.csv?..."
    transport = _transport({})
    with pytest.raises(FetchError) as caught:
        download(
            url, tmp_path / "in.csv", max_bytes=10, time_limit=5, allow_private=False, transport=transport
        )
    text = str(caught.value)
    assert "HTTP 404" in text
    for secret in ("alice", "hunter2", "s3cr3t", "AKIA"):
        assert secret not in text


def test_a_fetched_csv_is_named_after_the_url_path_without_credentials_or_a_leading_dot(
    fake_dns: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import telnyx_compliance.storage as storage_module

    transport = _transport({"https://files.example/.in.csv": httpx.Response(200, content=CSV_TEXT)})
    real = storage_module.download
    monkeypatch.setattr(storage_module, "download", lambda *a, **k: real(*a, **k, transport=transport))
    path = materialise_csv("https://bob:pw@files.example/.in.csv?sig=1", tmp_path)
    assert path.name == "in.csv" and "bob" not in str(path) and "pw" not in str(path)
    assert path.read_bytes() == CSV_TEXT


async def test_the_async_fetch_follows_the_same_rules(fake_dns: dict[str, str]) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "files.example":
            return httpx.Response(302, headers={"location": "http://evil.example/x"})
        return httpx.Response(200, content=b"secret")

    with pytest.raises(FetchError, match=r"evil\.example/x: refused"):
        await fetch_bytes(
            "http://files.example/doc.pdf",
            max_bytes=100,
            time_limit=5,
            allow_private=False,
            transport=httpx.MockTransport(handler),
        )


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.192",  # 192.0.0.0/24, IETF protocol assignments (an older Python calls it global)
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::ffff:169.254.169.254",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "0.1.2.3",
        "100.64.0.1",
        "192.0.2.10",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "240.0.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "::",
        "::1",
        "64:ff9b:1::1",
        "100::1",
        "2001:db8::1",
        "fd00::1",
        "fe80::1%eth0",
        "ff02::1",
        "not an address",
    ],
)
def test_special_purpose_addresses_are_not_public(address: str, fake_dns: dict[str, str]) -> None:
    assert not is_public_address(address)
    fake_dns["special.example"] = address.split("%")[0] if ":" in address or "." in address else "::1"
    with pytest.raises(FetchError, match="refused, the host resolves to a private, loopback, link-local or"):
        check_url("http://special.example/x.csv", allow_private=False)


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001:80b::200e"]
)
def test_public_addresses_are_fetched(address: str) -> None:
    assert is_public_address(address)


def test_an_ipv6_literal_is_a_host_not_a_chained_url(fake_dns: dict[str, str], tmp_path: Path) -> None:
    from telnyx_compliance import storage
    from telnyx_compliance.onboarding.csv_source import locate_bulk

    public = "http://[2606:4700::1111]/x.csv"
    storage.check_location(public)
    transport = httpx.MockTransport(
        lambda request: (
            httpx.Response(200, content=CSV_TEXT)
            if request.url.host == "2606:4700::1111"
            else httpx.Response(404)
        )
    )
    target = download(
        public, tmp_path / "x.csv", max_bytes=1000, time_limit=5, allow_private=False, transport=transport
    )
    assert target.read_bytes() == CSV_TEXT
    for private in (
        "http://[fd00::1]/x.csv",
        "https://[::ffff:7f00:1]:8443/x.csv?sig=1",
        "http://[::1]/x.csv",
    ):
        with pytest.raises(storage.StorageError, match="refused, the host resolves to a private") as raised:
            storage.stage(private, tmp_path / "staged.csv", allow_private=False)
        assert "chained" not in str(raised.value) and "sig=1" not in str(raised.value)
        with pytest.raises(CSVSourceError, match="COMPLIANCE_ALLOW_PRIVATE_URLS"):
            locate_bulk(private, staging_root=tmp_path / "staging", allow_private=False)
    for chained in ("http://[2606:4700::1111]/a.zip::zip://x.csv", "simplecache::http://[2606:4700::1]/x"):
        with pytest.raises(storage.StorageError, match="chained"):
            storage.check_location(chained)


def test_a_planted_symlink_does_not_redirect_a_download(fake_dns: dict[str, str], tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"untouched")
    (tmp_path / "a.csv.part").symlink_to(victim)  # the partial file's name before
    (tmp_path / "a.csv").symlink_to(victim)
    transport = _transport({"http://files.example/a.csv": httpx.Response(200, content=CSV_TEXT)})
    target = download(
        "http://files.example/a.csv",
        tmp_path / "a.csv",
        max_bytes=1000,
        time_limit=5,
        allow_private=False,
        transport=transport,
    )
    assert victim.read_bytes() == b"untouched"
    assert not target.is_symlink() and target.read_bytes() == CSV_TEXT
    assert target.stat().st_mode & 0o077 == 0
