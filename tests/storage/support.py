"""Onboarding batches on a bucket: a CSV and its documents written locally, then put under a prefix."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements


async def write_batch(
    base_url: str, folder: Path, n: int, seed: int, overrides: Sequence[tuple[str, str]] = ()
) -> Path:
    """``folder/onboarding.csv`` with ``n`` valid DE rows, documents in ``folder/documents``; ``overrides``
    replace one cell of each of the first rows (``("doc_proof_of_address", "../x.pdf")`` for row 2, ...)."""
    async with AsyncTelnyx(api_key="storage-tests", base_url=base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    folder.mkdir(parents=True, exist_ok=True)
    rows = fake_rows(requirements, RequirementMapping.load(), n, folder, seed, country="DE")
    for row, (column, value) in zip(rows, overrides, strict=False):
        row[column] = value
    path = folder / "onboarding.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    return path


def put_folder(fs: Any, folder: Path, prefix: str) -> None:
    """Every file under ``folder`` to ``prefix`` (``bucket/batch``), keeping relative paths."""
    for path in folder.rglob("*"):
        if path.is_file():
            fs.pipe_file(f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes())


def read_results(fs: Any, key: str) -> dict[str, dict[str, str]]:
    """The results CSV object ``key`` by customer reference."""
    text = fs.cat_file(key).decode("utf-8-sig")
    return {row["customer_reference"]: row for row in csv.DictReader(text.splitlines())}


def aws_env(endpoint: str) -> dict[str, str]:
    """The AWS environment a worker would have, pointing at the test endpoint."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-access-key",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def s3(endpoint: str) -> Any:
    """A client of the test's own (not the pipeline's cached one)."""
    import s3fs

    return s3fs.S3FileSystem(
        endpoint_url=endpoint,
        key="testing-key-id",
        secret="testing-secret-access-key",
        skip_instance_cache=True,
        use_listings_cache=False,
    )
